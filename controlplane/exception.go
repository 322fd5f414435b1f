package controlplane

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/notify"
	"github.com/hallmark-dev/hallmark/policy"
	"github.com/hallmark-dev/hallmark/scan"
	"github.com/hallmark-dev/hallmark/state"
	"github.com/hallmark-dev/hallmark/vex"
)

// Exceptions: requested by a project's builders or approvers (or a
// security-admin), with a scope, a reason and an expiry within the caps of
// the project's profile; approved by as many distinct approvers of the
// project as the profile requires, never the requester; rejected by any one
// of them; revocable. Every step is audited before it is stored. An approval
// is a person's sign-off, so it needs an approver's own credential: the
// local operator (who holds the data directory, and so could forge
// anything) cannot give one.

// policyExceptions returns the project's approved exceptions as the policy
// evaluates them (expiry and approvals are checked again there).
func (p *Plane) policyExceptions(ctx context.Context, project string) ([]policy.Exception, error) {
	all, err := p.db.Exceptions(ctx, project)
	if err != nil {
		return nil, err
	}
	var out []policy.Exception
	for _, e := range all {
		if e.Status == state.ExceptionApproved {
			out = append(out, policyException(e))
		}
	}
	return out, nil
}

// policyException is e as the policy checks and evaluates it, with its
// approvals.
func policyException(e state.Exception) policy.Exception {
	pe := policy.Exception{ID: e.ID, Project: e.Project, Vulnerability: e.Vulnerability, Package: e.Package,
		Fingerprint: e.Fingerprint, Reason: e.Reason, Requester: e.Requester, Created: e.Created, Expires: e.Expires,
		Justification: e.Justification}
	for _, v := range e.Votes {
		if v.Decision == "approve" {
			pe.Approvals = append(pe.Approvals, policy.Approval{By: v.Approver, At: v.Time})
		}
	}
	return pe
}

// profileFor returns the policy in force and the resolved profile of project.
func (p *Plane) profileFor(ctx context.Context, project string) (*policy.Policy, *policy.Profile, error) {
	pol, _, err := p.currentPolicy(ctx)
	if err != nil {
		return nil, nil, err
	}
	proj, err := p.db.Project(ctx, project)
	if err != nil {
		return nil, nil, err
	}
	name, err := pol.ProfileOf(project, proj.Profile)
	if err != nil {
		return nil, nil, api.Errorf(http.StatusConflict, "%v", err)
	}
	return pol, pol.ProfileNamed(name), nil
}

func (p *Plane) requestException(ctx context.Context, who auth.Principal, req *api.ExceptionRequest) (*api.Exception, error) {
	if err := authorize(who, auth.RequestExc, req.Project); err != nil {
		return nil, err
	}
	if err := p.project(ctx, req.Project); err != nil {
		return nil, err
	}
	if len(req.Impact) > policy.MaxReason {
		return nil, api.Errorf(http.StatusBadRequest, "impact of %d bytes: at most %d", len(req.Impact), policy.MaxReason)
	}
	pol, prof, err := p.profileFor(ctx, req.Project)
	if err != nil {
		return nil, err
	}
	e := state.Exception{
		ID: newID("ex"), Project: req.Project, Profile: prof.Name, Vulnerability: req.Vulnerability, Package: req.Package,
		Reason: req.Reason, Justification: req.Justification, Impact: req.Impact, Requester: who.Subject,
		Required: prof.Exceptions.ApprovalsRequired, Created: p.now(), Expires: req.Expires.UTC(),
	}
	if req.Finding != "" {
		if req.Vulnerability != "" || req.Package != "" {
			return nil, api.Errorf(http.StatusBadRequest, "scope: give a finding, or a vulnerability and a package, not both")
		}
		t, err := p.finding(ctx, who, req.Project, req.Finding)
		if err != nil {
			return nil, err
		}
		e.Fingerprint = t.Fingerprint
	}
	if err := pol.CheckException(policyException(e), prof.Name); err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "%v", err)
	}
	detail := map[string]string{"vulnerability": e.Vulnerability, "package": e.Package, "fingerprint": e.Fingerprint,
		"expires": e.Expires.Format(time.RFC3339), "reason": truncate(e.Reason, 500), "required": strconv.Itoa(e.Required)}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{p.event(who, "exception.request", e.Project, e.ID, detail)}}); err != nil {
		return nil, err
	}
	if err := p.db.AddException(ctx, e); err != nil {
		return nil, err
	}
	return exceptionOut(e, p.now()), nil
}

// exceptionOut is e as the API shows it; an exception past its expiry that
// was pending or approved shows as expired.
func exceptionOut(e state.Exception, now time.Time) *api.Exception {
	out := &api.Exception{ID: e.ID, Project: e.Project, Profile: e.Profile, Vulnerability: e.Vulnerability, Package: e.Package,
		Fingerprint: e.Fingerprint, Reason: e.Reason, Justification: e.Justification, Impact: e.Impact, Requester: e.Requester,
		Created: e.Created, Expires: e.Expires, Status: e.Status, Required: e.Required, Votes: []api.Vote{}, RevokedBy: e.RevokedBy}
	if (e.Status == state.ExceptionPending || e.Status == state.ExceptionApproved) && !now.Before(e.Expires) {
		out.Status = "expired"
	}
	for _, v := range e.Votes {
		out.Votes = append(out.Votes, api.Vote{By: v.Approver, Decision: v.Decision, Comment: v.Comment, At: v.Time})
	}
	return out
}

// exception returns the exception id; callers check what who may do with it.
func (p *Plane) exception(ctx context.Context, who auth.Principal, id string) (state.Exception, error) {
	if id == "" || len(id) > 64 {
		return state.Exception{}, api.Errorf(http.StatusBadRequest, "exception id %q: want the id 'exception request' printed", truncate(id, 80))
	}
	e, err := p.db.Exception(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return state.Exception{}, api.Errorf(http.StatusNotFound, "no exception %q", id)
	}
	return e, err
}

func (p *Plane) approveException(ctx context.Context, who auth.Principal, req *api.ExceptionRef) (*api.Exception, error) {
	return p.vote(ctx, who, req, "approve")
}

func (p *Plane) rejectException(ctx context.Context, who auth.Principal, req *api.ExceptionRef) (*api.Exception, error) {
	return p.vote(ctx, who, req, "reject")
}

// vote records who's decision on an exception, after every check the
// sign-off process makes.
func (p *Plane) vote(ctx context.Context, who auth.Principal, req *api.ExceptionRef, decision string) (*api.Exception, error) {
	e, err := p.exception(ctx, who, req.ID)
	if err != nil {
		return nil, err
	}
	if err := authorize(who, auth.Approve, e.Project); err != nil {
		return nil, err
	}
	now := p.now()
	switch {
	case who.Role != auth.Approver:
		return nil, api.Errorf(http.StatusForbidden, "an %s is a sign-off by an approver of project %s: use an approver's token (HALLMARK_TOKEN), not %s", decisionNoun(decision), e.Project, who)
	case who.Subject == e.Requester:
		return nil, api.Errorf(http.StatusForbidden, "%s requested exception %s and cannot %s it: approvers other than the requester decide", who.Subject, e.ID, decision)
	case strings.TrimSpace(req.Comment) == "":
		return nil, api.Errorf(http.StatusBadRequest, "an %s needs a comment (--comment) saying why", decisionNoun(decision))
	case len(req.Comment) > policy.MaxReason:
		return nil, api.Errorf(http.StatusBadRequest, "comment of %d bytes: at most %d", len(req.Comment), policy.MaxReason)
	case !now.Before(e.Expires):
		return nil, api.Errorf(http.StatusConflict, "exception %s expired on %s: request a new one", e.ID, e.Expires.Format(time.RFC3339))
	case e.Status != state.ExceptionPending:
		return nil, api.Errorf(http.StatusConflict, "exception %s is %s: only pending exceptions take votes", e.ID, e.Status)
	}
	for _, v := range e.Votes {
		if v.Approver == who.Subject {
			return nil, api.Errorf(http.StatusConflict, "%s already voted %s on exception %s", who.Subject, v.Decision, e.ID)
		}
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "exception."+decision, e.Project, e.ID, map[string]string{"comment": truncate(req.Comment, 500), "requester": e.Requester}),
	}}); err != nil {
		return nil, err
	}
	after, err := p.db.VoteException(ctx, e.ID, state.Vote{Approver: who.Subject, Decision: decision, Comment: req.Comment, Time: now})
	switch {
	case errors.Is(err, state.ErrExists):
		return nil, api.Errorf(http.StatusConflict, "%s already voted on exception %s", who.Subject, e.ID)
	case errors.Is(err, state.ErrDecided):
		return nil, api.Errorf(http.StatusConflict, "exception %s was decided meanwhile", e.ID)
	case err != nil:
		return nil, err
	}
	if after.Status != e.Status {
		if err := p.commit(ctx, state.Write{Nonce: api.Nonce(), Audit: []audit.Event{
			p.event(who, "exception.decided", e.Project, e.ID, map[string]string{"status": after.Status, "approvals": strconv.Itoa(countVotes(after, "approve")), "required": strconv.Itoa(after.Required)}),
		}}); err != nil {
			return nil, err
		}
	}
	return exceptionOut(after, now), nil
}

func decisionNoun(decision string) string {
	if decision == "approve" {
		return "approval"
	}
	return "rejection"
}

func countVotes(e state.Exception, decision string) int {
	n := 0
	for _, v := range e.Votes {
		if v.Decision == decision {
			n++
		}
	}
	return n
}

func (p *Plane) revokeException(ctx context.Context, who auth.Principal, req *api.ExceptionRef) (*api.Exception, error) {
	e, err := p.exception(ctx, who, req.ID)
	if err != nil {
		return nil, err
	}
	// The requester may withdraw their own request; otherwise revoking is
	// for the project's approvers and security-admins.
	if who.Subject != e.Requester || auth.Authorize(who, auth.RequestExc, e.Project) != nil {
		if err := authorize(who, auth.RevokeExc, e.Project); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(req.Comment) == "" {
		return nil, api.Errorf(http.StatusBadRequest, "a revocation needs a comment (--comment) saying why")
	}
	if e.Status != state.ExceptionPending && e.Status != state.ExceptionApproved {
		return nil, api.Errorf(http.StatusConflict, "exception %s is %s already", e.ID, e.Status)
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "exception.revoke", e.Project, e.ID, map[string]string{"comment": truncate(req.Comment, 500)}),
	}}); err != nil {
		return nil, err
	}
	if err := p.db.RevokeException(ctx, e.ID, who.Subject, p.now()); errors.Is(err, state.ErrDecided) {
		return nil, api.Errorf(http.StatusConflict, "exception %s was decided meanwhile", e.ID)
	} else if err != nil {
		return nil, err
	}
	after, err := p.db.Exception(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	return exceptionOut(after, p.now()), nil
}

var exceptionStatuses = []string{state.ExceptionPending, state.ExceptionApproved, state.ExceptionRejected, state.ExceptionRevoked, "expired"}

func (p *Plane) listExceptions(ctx context.Context, who auth.Principal, req *api.ExceptionList) (*api.Exceptions, error) {
	if err := p.readProjects(who, req.Project); err != nil {
		return nil, err
	}
	if req.Status != "" && !slices.Contains(exceptionStatuses, req.Status) {
		return nil, api.Errorf(http.StatusBadRequest, "status %q: want one of %s", truncate(req.Status, 40), strings.Join(exceptionStatuses, ", "))
	}
	if req.Expiring < 0 {
		return nil, api.Errorf(http.StatusBadRequest, "expiring %s: want a positive duration", req.Expiring)
	}
	all, err := p.db.Exceptions(ctx, req.Project)
	if err != nil {
		return nil, err
	}
	now := p.now()
	out := &api.Exceptions{Exceptions: []api.Exception{}}
	for _, e := range all {
		if auth.Authorize(who, auth.ReadProject, e.Project) != nil {
			continue
		}
		x := exceptionOut(e, now)
		if req.Status != "" && x.Status != req.Status {
			continue
		}
		if req.Expiring > 0 && (x.Status != state.ExceptionApproved || x.Expires.After(now.Add(req.Expiring))) {
			continue
		}
		out.Exceptions = append(out.Exceptions, *x)
	}
	return out, nil
}

func (p *Plane) showException(ctx context.Context, who auth.Principal, req *api.ExceptionRef) (*api.Exception, error) {
	e, err := p.exception(ctx, who, req.ID)
	if err != nil {
		return nil, err
	}
	if err := authorize(who, auth.ReadProject, e.Project); err != nil {
		return nil, err
	}
	return exceptionOut(e, p.now()), nil
}

// exportVEX writes the project's approved, unexpired vulnerability
// exceptions as an OpenVEX document and signs it with the project's default
// key (a message signature over the document's SHA-256, logged and
// timestamped). An exception with a justification is a not_affected
// statement; one without is affected, with the exception as its action
// statement.
func (p *Plane) exportVEX(ctx context.Context, who auth.Principal, req *api.VEXRequest) (*api.VEX, error) {
	if err := authorize(who, auth.ReadProject, req.Project); err != nil {
		return nil, err
	}
	if err := p.project(ctx, req.Project); err != nil {
		return nil, err
	}
	all, err := p.db.Exceptions(ctx, req.Project)
	if err != nil {
		return nil, err
	}
	now := p.now()
	doc := vex.Document{Author: p.issuer() + " (hallmark exceptions of project " + req.Project + ")", Role: "security approver", Timestamp: now.UTC().Truncate(time.Second)}
	for _, e := range all {
		if exceptionOut(e, now).Status != state.ExceptionApproved {
			continue
		}
		vuln, pkg := e.Vulnerability, e.Package
		if e.Fingerprint != "" {
			t, err := p.db.Findings(ctx, state.FindingFilter{Project: e.Project, Prefix: e.Fingerprint, Limit: 1})
			if err != nil {
				return nil, err
			}
			var f scan.Finding
			if len(t) == 0 || json.Unmarshal(t[0].Finding, &f) != nil || f.Kind != scan.Vulnerability || f.Package.PURL == "" {
				continue // not a vulnerability: VEX has nothing to say about it
			}
			vuln, pkg = f.ID, f.Package.PURL
		}
		st := vex.Statement{Vulnerability: vuln, Products: []string{cmp.Or(req.Product, pkg)}, Timestamp: e.Decided}
		if req.Product != "" {
			st.Subcomponents = []string{pkg}
		}
		if e.Justification != "" {
			st.Status, st.Justification, st.ImpactStatement = vex.NotAffected, e.Justification, e.Impact
		} else {
			st.Status = vex.Affected
			st.ActionStatement = fmt.Sprintf("Accepted by hallmark exception %s until %s: %s", e.ID, e.Expires.Format(time.RFC3339), cmp.Or(e.Impact, e.Reason))
		}
		doc.Statements = append(doc.Statements, st)
	}
	if len(doc.Statements) == 0 {
		return nil, api.Errorf(http.StatusNotFound, "project %s has no approved, unexpired exception of a vulnerability to export", req.Project)
	}
	body, err := doc.JSON()
	if err != nil {
		return nil, fmt.Errorf("controlplane: VEX of %s: %w", req.Project, err)
	}
	sum := sha256.Sum256(body)
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "exception.vex", req.Project, "sha256:"+hex.EncodeToString(sum[:]), map[string]string{"statements": strconv.Itoa(len(doc.Statements))}),
	}}); err != nil {
		return nil, err
	}
	signed, err := p.signItems(ctx, who, &api.SignRequest{Nonce: api.Nonce(), Project: req.Project,
		Items: []api.SignItem{{Digest: "sha256:" + hex.EncodeToString(sum[:])}}}, state.RecordDocument)
	if err != nil {
		return nil, err
	}
	return &api.VEX{Document: body, Bundle: signed.Bundles[0], Statements: len(doc.Statements)}, nil
}

// webhookTarget is a webhook's wire form: notify.Target in lower camel case.
type webhookTarget struct {
	Format        string            `json:"format"`
	URL           string            `json:"url"`
	Headers       map[string]string `json:"headers,omitempty"`
	JiraProject   string            `json:"jiraProject,omitempty"`
	JiraIssueType string            `json:"jiraIssueType,omitempty"`
	GitHubLabels  []string          `json:"githubLabels,omitempty"`
	Events        []string          `json:"events,omitempty"`
	MinSeverity   string            `json:"minSeverity,omitempty"`
}

func (w webhookTarget) target(name string) notify.Target {
	return notify.Target{Name: name, Format: w.Format, URL: w.URL, Headers: w.Headers, JiraProject: w.JiraProject,
		JiraIssueType: w.JiraIssueType, GitHubLabels: w.GitHubLabels, Events: w.Events, MinSeverity: scan.Severity(w.MinSeverity)}
}

func (p *Plane) addWebhook(ctx context.Context, who auth.Principal, req *api.Webhook) (*api.Webhook, error) {
	if err := authorize(who, auth.ManagePolicy, ""); err != nil {
		return nil, err
	}
	if err := checkName("webhook", req.Name); err != nil {
		return nil, err
	}
	var w webhookTarget
	dec := json.NewDecoder(bytes.NewReader(req.Target))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "webhook %s: target: %s", req.Name, jsonError(err))
	}
	t := w.target(req.Name)
	if err := t.Validate(); err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "%v", err)
	}
	canonical, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "webhook.add", "", "webhook:"+req.Name, map[string]string{"format": w.Format}),
	}}); err != nil {
		return nil, err
	}
	if err := p.db.AddWebhook(ctx, state.Webhook{Name: req.Name, Target: canonical, Created: p.now(), CreatedBy: who.String()}); errors.Is(err, state.ErrExists) {
		return nil, api.Errorf(http.StatusConflict, "webhook %q exists", req.Name)
	} else if err != nil {
		return nil, err
	}
	return &api.Webhook{Name: req.Name, Target: redact(w)}, nil
}

// redact returns w with its header values hidden: they are credentials.
func redact(w webhookTarget) json.RawMessage {
	hs := map[string]string{}
	for k := range w.Headers {
		hs[k] = "(hidden)"
	}
	w.Headers = hs
	out, _ := json.Marshal(w)
	return out
}

func (p *Plane) listWebhooks(ctx context.Context, who auth.Principal, _ *api.Empty) (*api.Webhooks, error) {
	if err := authorize(who, auth.ReadAdmin, ""); err != nil {
		return nil, err
	}
	ws, err := p.db.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.Webhooks{Webhooks: []api.Webhook{}}
	for _, w := range ws {
		var t webhookTarget
		if err := json.Unmarshal(w.Target, &t); err != nil {
			return nil, fmt.Errorf("controlplane: webhook %s: %w", w.Name, err)
		}
		out.Webhooks = append(out.Webhooks, api.Webhook{Name: w.Name, Target: redact(t)})
	}
	return out, nil
}

func (p *Plane) removeWebhook(ctx context.Context, who auth.Principal, req *api.Webhook) (*api.Empty, error) {
	if err := authorize(who, auth.ManagePolicy, ""); err != nil {
		return nil, err
	}
	if err := checkName("webhook", req.Name); err != nil {
		return nil, err
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{p.event(who, "webhook.remove", "", "webhook:"+req.Name, nil)}}); err != nil {
		return nil, err
	}
	if err := p.db.RemoveWebhook(ctx, req.Name); errors.Is(err, state.ErrNotFound) {
		return nil, api.Errorf(http.StatusNotFound, "no webhook %q", req.Name)
	} else if err != nil {
		return nil, err
	}
	return &api.Empty{}, nil
}

// notifyTimeout bounds the delivery of one gate's notifications, retries
// included.
const notifyTimeout = 2 * time.Minute

// notifyGate tells the webhooks about a gate's new and reopened findings and
// a failing verdict. Deliveries run in the background (Close waits for
// them); a failed delivery is logged, never fails the gate.
func (p *Plane) notifyGate(ctx context.Context, project, build string, v *policy.Verdict, changes []state.TrackerChange, findings map[string]*scan.Finding, tracked []state.Tracked) {
	hooks, err := p.db.Webhooks(ctx)
	if err != nil {
		p.logger.Error("reading webhooks", "err", err)
		return
	}
	if len(hooks) == 0 {
		return
	}
	due := make(map[string]time.Time, len(tracked))
	for _, t := range tracked {
		due[t.Fingerprint] = t.Due
	}
	var events []notify.Event
	for _, c := range changes {
		f, ok := findings[c.Fingerprint]
		if !ok {
			continue // licence decisions are in the verdict
		}
		e := notify.Event{Type: notify.FindingNew, Project: project, Status: c.Status, Build: build, Finding: *f,
			FirstSeen: v.Time, LastSeen: v.Time, Due: due[c.Fingerprint]}
		if c.Status == state.FindingReopened {
			e.Type = notify.FindingReopened
		}
		events = append(events, e)
	}
	if v.Result == policy.Fail && !v.DryRun {
		events = append(events, notify.Event{Type: notify.VerdictFail, Project: project, Build: build})
	}
	var targets []notify.Target
	for _, h := range hooks {
		var w webhookTarget
		if err := json.Unmarshal(h.Target, &w); err != nil {
			p.logger.Error("webhook", "name", h.Name, "err", err)
			continue
		}
		targets = append(targets, w.target(h.Name))
	}
	p.notifying.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
		defer cancel()
		sender := &notify.Sender{Client: p.notifyClient}
		for _, t := range targets {
			for _, e := range events {
				if _, err := sender.Send(ctx, t, e); err != nil {
					p.logger.Warn("notification not delivered", "webhook", t.Name, "event", e.Type, "err", err)
				}
			}
		}
	})
}
