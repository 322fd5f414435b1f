package controlplane

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/policy"
	"github.com/hallmark-dev/hallmark/scan"
	"github.com/hallmark-dev/hallmark/state"
	"github.com/hallmark-dev/hallmark/vsa"
)

// The policy gate: the policy file's versions, the gate that judges a
// build's findings (recording the verdict, feeding the findings tracker and
// signing a verification summary for a verdict that lets the build go on),
// the tracker's operations, and webhooks. Exceptions are in exception.go.

// DefaultPolicy is the policy in force until a security-admin stores one:
// the built-in profiles, each project judged by the profile its registry
// entry names.
const DefaultPolicy = `apiVersion: hallmark.dev/policy/v1
kind: Policy
default_profile: medium
`

// VerifiedLevelPrefix starts the verified level of a passing summary: the
// level is the prefix and the profile's name in upper case, such as
// HALLMARK_GATE_HIGH.
const VerifiedLevelPrefix = "HALLMARK_GATE_"

// SLA is how long a tracked finding of each severity may stay unfixed.
var SLA = map[scan.Severity]time.Duration{
	scan.Critical: 7 * 24 * time.Hour,
	scan.High:     30 * 24 * time.Hour,
	scan.Medium:   90 * 24 * time.Hour,
	scan.Low:      180 * 24 * time.Hour,
}

// slaDefault is the SLA of findings without a severity.
const slaDefault = 90 * 24 * time.Hour

// policyCache keeps the parsed policy of the newest version seen.
type policyCache struct {
	mu      sync.Mutex
	version int64
	digest  string
	pol     *policy.Policy
}

var defaultPolicy = sync.OnceValue(func() *policy.Policy {
	pol, err := policy.Parse([]byte(DefaultPolicy))
	if err != nil {
		panic("controlplane: the default policy does not parse: " + err.Error())
	}
	return pol
})

// currentPolicy returns the policy in force and its version (0 for the
// default).
func (p *Plane) currentPolicy(ctx context.Context) (*policy.Policy, int64, error) {
	stored, err := p.db.Policy(ctx, 0)
	if errors.Is(err, state.ErrNotFound) {
		return defaultPolicy(), 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	c := &p.policies
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pol != nil && c.version == stored.Version && c.digest == stored.Digest {
		return c.pol, c.version, nil
	}
	pol, err := policy.Parse(stored.Body)
	if err != nil {
		// Stored policies were parsed when they were stored: this one was
		// changed in the database, or by an incompatible program.
		return nil, 0, fmt.Errorf("controlplane: stored policy version %d no longer parses: %w", stored.Version, err)
	}
	if pol.Digest() != stored.Digest {
		return nil, 0, fmt.Errorf("controlplane: stored policy version %d has digest %s, recorded %s", stored.Version, pol.Digest(), stored.Digest)
	}
	c.version, c.digest, c.pol = stored.Version, stored.Digest, pol
	return pol, stored.Version, nil
}

func (p *Plane) setPolicy(ctx context.Context, who auth.Principal, req *api.PolicyRequest) (*api.PolicyVersion, error) {
	if err := authorize(who, auth.ManagePolicy, ""); err != nil {
		return nil, err
	}
	if len(req.Policy) > policy.MaxSize {
		return nil, api.Errorf(http.StatusRequestEntityTooLarge, "policy of %d bytes: at most %d", len(req.Policy), policy.MaxSize)
	}
	if len(req.Comment) > 1024 {
		return nil, api.Errorf(http.StatusBadRequest, "comment of %d bytes: at most 1024", len(req.Comment))
	}
	pol, err := policy.Parse([]byte(req.Policy))
	if err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "%v", err)
	}
	// Every project the policy assigns must exist: a typo would otherwise
	// leave the real project on its registry profile without a word.
	projects, err := p.db.Projects(ctx)
	if err != nil {
		return nil, err
	}
	for _, pr := range projects {
		if _, err := pol.ProfileOf(pr.Name, pr.Profile); err != nil {
			return nil, api.Errorf(http.StatusBadRequest, "project %s: %v", pr.Name, err)
		}
	}
	now := p.now()
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "policy.set", "", "policy", map[string]string{"digest": pol.Digest(), "comment": truncate(req.Comment, 500)}),
	}}); err != nil {
		return nil, err
	}
	v, err := p.db.AddPolicy(ctx, state.Policy{Digest: pol.Digest(), Body: []byte(req.Policy), Author: who.String(), Comment: req.Comment, Created: now})
	if err != nil {
		return nil, err
	}
	return &api.PolicyVersion{Version: v, Digest: pol.Digest(), Author: who.String(), Comment: req.Comment, Created: now}, nil
}

func (p *Plane) getPolicy(ctx context.Context, who auth.Principal, req *api.PolicyRef) (*api.PolicyVersion, error) {
	if err := authorize(who, auth.ReadPolicy, ""); err != nil {
		return nil, err
	}
	if req.Version < 0 {
		return nil, api.Errorf(http.StatusBadRequest, "policy version %d: want 1 or more, or 0 for the current one", req.Version)
	}
	stored, err := p.db.Policy(ctx, req.Version)
	if errors.Is(err, state.ErrNotFound) {
		if req.Version != 0 {
			return nil, api.Errorf(http.StatusNotFound, "no policy version %d", req.Version)
		}
		return &api.PolicyVersion{Version: 0, Digest: defaultPolicy().Digest(), Policy: DefaultPolicy, Author: "built-in"}, nil
	}
	if err != nil {
		return nil, err
	}
	return &api.PolicyVersion{Version: stored.Version, Digest: stored.Digest, Policy: string(stored.Body), Author: stored.Author, Comment: stored.Comment, Created: stored.Created}, nil
}

func (p *Plane) policyHistory(ctx context.Context, who auth.Principal, _ *api.Empty) (*api.PolicyVersions, error) {
	if err := authorize(who, auth.ReadPolicy, ""); err != nil {
		return nil, err
	}
	all, err := p.db.Policies(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.PolicyVersions{Versions: []api.PolicyVersion{}}
	for _, v := range all {
		out.Versions = append(out.Versions, api.PolicyVersion{Version: v.Version, Digest: v.Digest, Author: v.Author, Comment: v.Comment, Created: v.Created})
	}
	return out, nil
}

var fingerprintRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkGate checks a gate request's shape, as an *api.Error.
func checkGate(req *api.GateRequest) error {
	switch {
	case len(req.Subjects) == 0:
		return api.Errorf(http.StatusBadRequest, "no subjects: a verdict is about the artifacts it lets through")
	case len(req.Subjects) > api.MaxSubjects:
		return api.Errorf(http.StatusRequestEntityTooLarge, "%d subjects: at most %d", len(req.Subjects), api.MaxSubjects)
	case len(req.Findings) > api.MaxFindings:
		return api.Errorf(http.StatusRequestEntityTooLarge, "%d findings: at most %d", len(req.Findings), api.MaxFindings)
	case len(req.Components) > api.MaxComponents:
		return api.Errorf(http.StatusRequestEntityTooLarge, "%d components: at most %d", len(req.Components), api.MaxComponents)
	case len(req.Labels) > 64:
		return api.Errorf(http.StatusBadRequest, "%d labels: at most 64", len(req.Labels))
	}
	for i, s := range req.Subjects {
		if s.Name == "" || len(s.Name) > 1024 {
			return api.Errorf(http.StatusBadRequest, "subjects[%d]: name: want 1 to 1024 bytes", i)
		}
		if _, err := parseDigest(s.Digest); err != nil {
			return api.Errorf(http.StatusBadRequest, "subjects[%d] %q: digest %q: want sha256:<64 lower-case hex>", i, s.Name, truncate(s.Digest, 80))
		}
	}
	for i := range req.Findings {
		f := &req.Findings[i]
		if f.ID == "" || f.Kind == "" {
			return api.Errorf(http.StatusBadRequest, "findings[%d]: kind and id are required", i)
		}
		if !fingerprintRE.MatchString(f.Fingerprint) {
			return api.Errorf(http.StatusBadRequest, "findings[%d] %s: fingerprint %q: want 64 lower-case hex digits", i, truncate(f.ID, 80), truncate(f.Fingerprint, 80))
		}
	}
	for i, c := range req.Components {
		if c.PURL == "" {
			return api.Errorf(http.StatusBadRequest, "components[%d]: purl is required", i)
		}
	}
	for k, v := range req.Labels {
		if k == "" || len(k) > 128 || len(v) > 1024 {
			return api.Errorf(http.StatusBadRequest, "label %q: want a name of 1 to 128 bytes and a value of at most 1024", truncate(k, 80))
		}
	}
	return nil
}

func (p *Plane) gate(ctx context.Context, who auth.Principal, req *api.GateRequest) (*api.GateResponse, error) {
	if err := authorize(who, auth.Gate, req.Project); err != nil {
		return nil, err
	}
	if err := p.project(ctx, req.Project); err != nil {
		return nil, err
	}
	if err := checkGate(req); err != nil {
		return nil, err
	}
	if req.Nonce == "" {
		return nil, api.Errorf(http.StatusBadRequest, "request has no nonce: every change carries a fresh one")
	}
	if !req.DryRun {
		// The key that will sign a passing verdict must be there before
		// anything is judged or recorded.
		if _, _, err := p.signingKey(ctx, DefaultKey, req.Project); err != nil {
			var ae *api.Error
			if errors.As(err, &ae) {
				return nil, api.Errorf(ae.Status, "verdicts are signed with the project's key %q: %s (a security-admin creates it: hallmark key generate --name %s)", DefaultKey, ae.Message, DefaultKey)
			}
			return nil, err
		}
	}
	pol, version, err := p.currentPolicy(ctx)
	if err != nil {
		return nil, err
	}
	proj, err := p.db.Project(ctx, req.Project)
	if err != nil {
		return nil, err
	}
	exceptions, err := p.policyExceptions(ctx, req.Project)
	if err != nil {
		return nil, err
	}
	components := make([]inventory.Component, len(req.Components))
	for i, c := range req.Components {
		components[i] = inventory.Component{PURL: c.PURL, Licenses: c.Licenses}
	}
	labels := map[string]any{}
	for k, v := range req.Labels {
		labels[k] = v
	}
	subjects := slices.Clone(req.Subjects)
	slices.SortFunc(subjects, func(a, b api.Subject) int { return strings.Compare(a.Name, b.Name) })
	now := p.now()
	verdict := pol.Evaluate(policy.Input{
		Project: req.Project, Profile: proj.Profile, Findings: req.Findings, Components: components,
		Exceptions: exceptions, Now: now, DryRun: req.DryRun,
		Build: map[string]any{"subject": map[string]any{"name": subjects[0].Name, "version": ""}, "labels": labels},
	})
	id := newID("v")
	resp := &api.GateResponse{ID: id, Verdict: *verdict, Policy: version}

	detail := map[string]string{
		"verdict": id, "result": string(verdict.Result), "profile": verdict.Profile, "policy": strconv.FormatInt(version, 10),
		"fail": strconv.Itoa(verdict.Counts.Fail), "warn": strconv.Itoa(verdict.Counts.Warn),
		"excepted": strconv.Itoa(verdict.Counts.Excepted), "subject": subjects[0].Name + "@" + subjects[0].Digest,
	}
	if req.DryRun {
		detail["dryRun"] = "true"
	}
	for _, d := range verdict.Decisions {
		if d.Action == policy.Excepted {
			detail["exception:"+d.ExceptionID] = d.FindingID
		}
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{p.event(who, "gate.evaluate", req.Project, id, detail)}}); err != nil {
		return nil, err
	}
	// A verdict that lets the build go on is signed and logged; on fail
	// nothing is signed, and a dry run is advice, not a verdict.
	if !req.DryRun && verdict.Result != policy.Fail {
		if resp.Bundle, resp.DSSE, err = p.signVerdict(ctx, who, id, version, verdict, subjects); err != nil {
			return nil, err
		}
	}
	subjectsJSON, _ := json.Marshal(subjects)
	countsJSON, _ := json.Marshal(verdict.Counts)
	verdictJSON, err := json.Marshal(resp.Verdict)
	if err != nil {
		return nil, err
	}
	byFingerprint := make(map[string]*scan.Finding, len(req.Findings))
	for i := range req.Findings {
		byFingerprint[req.Findings[i].Fingerprint] = &req.Findings[i]
	}
	var tracked []state.Tracked
	for _, d := range verdict.Decisions {
		if d.Action == policy.Pass || d.Fingerprint == "" {
			continue
		}
		f, ok := byFingerprint[d.Fingerprint]
		if !ok {
			// A licence decision: the component stands for the finding.
			f = &scan.Finding{Kind: d.Kind, ID: d.FindingID, Severity: d.Severity, Summary: d.Reason, Fingerprint: d.Fingerprint}
			f.Package.PURL = d.Package
		}
		fj, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		sla, ok := SLA[d.Severity]
		if !ok {
			sla = slaDefault
		}
		tracked = append(tracked, state.Tracked{Fingerprint: d.Fingerprint, Action: string(d.Action), Rule: d.Rule,
			Severity: string(d.Severity), Due: now.Add(sla), Finding: fj})
	}
	changes, err := p.db.AddVerdict(ctx, state.Verdict{
		ID: id, Project: req.Project, Result: string(verdict.Result), DryRun: req.DryRun, Profile: verdict.Profile,
		PolicyVersion: version, Subjects: string(subjectsJSON), Counts: string(countsJSON), Verdict: verdictJSON,
		Bundle: resp.Bundle, Actor: who.String(), Time: now,
	}, scopeOf(subjects), tracked)
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		if c.Status == state.FindingOpen {
			resp.New++
		}
	}
	p.notifyGate(ctx, req.Project, id, verdict, changes, byFingerprint, tracked)
	return resp, nil
}

// scopeOf names what a verdict judged, for the tracker: a finding not seen
// again by a verdict of the same scope is fixed.
func scopeOf(subjects []api.Subject) string {
	names := make([]string, len(subjects))
	for i, s := range subjects {
		names[i] = s.Name
	}
	return strings.Join(names, "\n")
}

// signVerdict signs a verdict as an SLSA verification summary with the
// project's default key, logged and timestamped, and returns the bundle and
// the bare DSSE envelope.
func (p *Plane) signVerdict(ctx context.Context, who auth.Principal, id string, version int64, v *policy.Verdict, subjects []api.Subject) (json.RawMessage, json.RawMessage, error) {
	s := vsa.Summary{
		VerifierID:      p.issuer() + "/gate",
		VerifierVersion: map[string]string{"hallmark": Version},
		TimeVerified:    v.Time,
		ResourceURI:     p.issuer() + "/projects/" + v.Project,
		PolicyURI:       p.issuer() + "/policies/" + strconv.FormatInt(version, 10),
		PolicyDigest:    map[string]string{"sha256": strings.TrimPrefix(v.PolicyDigest, "sha256:")},
		Result:          vsa.Passed,
		VerifiedLevels:  []string{VerifiedLevelPrefix + strings.ToUpper(v.Profile)},
		SLSAVersion:     "1.0",
	}
	for _, sub := range subjects {
		s.Subjects = append(s.Subjects, vsa.Subject{Name: sub.Name, Digest: map[string]string{"sha256": strings.TrimPrefix(sub.Digest, "sha256:")}})
	}
	statement, err := vsa.Statement(s)
	if err != nil {
		return nil, nil, fmt.Errorf("controlplane: verdict %s: %w", id, err)
	}
	signed, err := p.signItems(ctx, who, &api.SignRequest{Nonce: api.Nonce(), Project: v.Project,
		Items: []api.SignItem{{PayloadType: vsa.PayloadType, Payload: statement}}}, "")
	if err != nil {
		return nil, nil, err
	}
	b, err := bundle.Parse(signed.Bundles[0])
	if err != nil {
		return nil, nil, err
	}
	env, err := dsse.Marshal(b.GetDsseEnvelope())
	if err != nil {
		return nil, nil, err
	}
	return signed.Bundles[0], env, nil
}

// Version is the control plane's version, recorded in the summaries it signs.
var Version = "dev"

func (p *Plane) listVerdicts(ctx context.Context, who auth.Principal, req *api.VerdictRequest) (*api.Verdicts, error) {
	if err := p.readProjects(who, req.Project); err != nil {
		return nil, err
	}
	if req.Limit <= 0 || req.Limit > 10000 {
		req.Limit = 1000
	}
	vs, err := p.db.Verdicts(ctx, req.Project, req.Since, req.Limit)
	if err != nil {
		return nil, err
	}
	out := &api.Verdicts{Verdicts: []api.VerdictSummary{}}
	for _, v := range vs {
		if auth.Authorize(who, auth.ReadProject, v.Project) != nil {
			continue
		}
		s := api.VerdictSummary{ID: v.ID, Project: v.Project, Result: v.Result, DryRun: v.DryRun, Profile: v.Profile, Policy: v.PolicyVersion, Actor: v.Actor, Time: v.Time}
		if err := errors.Join(json.Unmarshal([]byte(v.Subjects), &s.Subjects), json.Unmarshal([]byte(v.Counts), &s.Counts)); err != nil {
			return nil, fmt.Errorf("controlplane: verdict %s: %w", v.ID, err)
		}
		out.Verdicts = append(out.Verdicts, s)
	}
	return out, nil
}

// readProjects checks that who may read project, or, for "", at least
// something: listings then keep what who may read.
func (p *Plane) readProjects(who auth.Principal, project string) error {
	if project != "" {
		if err := checkName("project", project); err != nil {
			return err
		}
	}
	return authorize(who, auth.ReadProject, cmp.Or(project, who.Project))
}

// newID returns a fresh identifier: prefix, "-", 16 hex digits.
func newID(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

var findingStatuses = []string{state.FindingOpen, state.FindingAcknowledged, state.FindingFixed, state.FindingReopened}

func (p *Plane) listFindings(ctx context.Context, who auth.Principal, req *api.FindingRequest) (*api.TrackedFindings, error) {
	if err := p.readProjects(who, req.Project); err != nil {
		return nil, err
	}
	if req.Status != "" && !slices.Contains(findingStatuses, req.Status) {
		return nil, api.Errorf(http.StatusBadRequest, "status %q: want one of %s", truncate(req.Status, 40), strings.Join(findingStatuses, ", "))
	}
	if req.Limit <= 0 || req.Limit > 10000 {
		req.Limit = 1000
	}
	f := state.FindingFilter{Project: req.Project, Status: req.Status, Limit: req.Limit}
	if req.Overdue {
		f.DueBefore = p.now()
	}
	all, err := p.db.Findings(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &api.TrackedFindings{Findings: []api.TrackedFinding{}}
	for _, t := range all {
		if auth.Authorize(who, auth.ReadProject, t.Project) != nil {
			continue
		}
		tf, err := trackedOut(t)
		if err != nil {
			return nil, err
		}
		out.Findings = append(out.Findings, tf)
	}
	return out, nil
}

func trackedOut(t state.Finding) (api.TrackedFinding, error) {
	out := api.TrackedFinding{Fingerprint: t.Fingerprint, Project: t.Project, Status: t.Status, Owner: t.Owner, Action: t.Action,
		Rule: t.Rule, Subject: t.Scope, FirstSeen: t.FirstSeen, LastSeen: t.LastSeen, Due: t.Due, Fixed: t.Fixed, Builds: t.Builds, LastBuild: t.LastBuild}
	if err := json.Unmarshal(t.Finding, &out.Finding); err != nil {
		return out, fmt.Errorf("controlplane: finding %s: %w", t.Fingerprint, err)
	}
	return out, nil
}

// finding returns the tracked finding id names (a fingerprint or a unique
// prefix of at least 8 hex digits) among those who may read, in project if
// given.
func (p *Plane) finding(ctx context.Context, who auth.Principal, project, id string) (state.Finding, error) {
	if project != "" {
		if err := authorize(who, auth.ReadProject, project); err != nil {
			return state.Finding{}, err
		}
	}
	id = strings.ToLower(id)
	if len(id) < 8 || len(id) > 64 || strings.Trim(id, "0123456789abcdef") != "" {
		return state.Finding{}, api.Errorf(http.StatusBadRequest, "finding %q: want its fingerprint, or at least its first 8 hex digits", truncate(id, 80))
	}
	all, err := p.db.Findings(ctx, state.FindingFilter{Project: project, Prefix: id, Limit: 10})
	if err != nil {
		return state.Finding{}, err
	}
	all = slices.DeleteFunc(all, func(t state.Finding) bool { return auth.Authorize(who, auth.ReadProject, t.Project) != nil })
	switch len(all) {
	case 0:
		return state.Finding{}, api.Errorf(http.StatusNotFound, "no tracked finding %s", id)
	case 1:
		return all[0], nil
	}
	return state.Finding{}, api.Errorf(http.StatusBadRequest, "finding %s is ambiguous: give more of its fingerprint (or a project)", id)
}

func (p *Plane) showFinding(ctx context.Context, who auth.Principal, req *api.FindingRequest) (*api.TrackedFinding, error) {
	t, err := p.finding(ctx, who, req.Project, req.ID)
	if err != nil {
		return nil, err
	}
	tf, err := trackedOut(t)
	return &tf, err
}

func (p *Plane) assignFinding(ctx context.Context, who auth.Principal, req *api.FindingRequest) (*api.TrackedFinding, error) {
	check := func(state.Finding) error {
		if strings.TrimSpace(req.Owner) == "" || len(req.Owner) > 256 {
			return api.Errorf(http.StatusBadRequest, "owner: want 1 to 256 bytes")
		}
		return nil
	}
	apply := func(t state.Finding) error { return p.db.SetFindingOwner(ctx, t.Project, t.Fingerprint, req.Owner) }
	return p.changeFinding(ctx, who, req, "finding.assign", check, apply, map[string]string{"owner": truncate(req.Owner, 256)})
}

func (p *Plane) ackFinding(ctx context.Context, who auth.Principal, req *api.FindingRequest) (*api.TrackedFinding, error) {
	check := func(t state.Finding) error {
		if t.Status != state.FindingOpen && t.Status != state.FindingReopened {
			return api.Errorf(http.StatusConflict, "finding %s is %s: only open or reopened findings are acknowledged", t.Fingerprint[:12], t.Status)
		}
		if strings.TrimSpace(req.Comment) == "" {
			return api.Errorf(http.StatusBadRequest, "an acknowledgement needs a comment saying what will be done")
		}
		return nil
	}
	apply := func(t state.Finding) error { return p.db.AcknowledgeFinding(ctx, t.Project, t.Fingerprint) }
	return p.changeFinding(ctx, who, req, "finding.ack", check, apply, map[string]string{"comment": truncate(req.Comment, 500)})
}

// changeFinding finds the finding, checks that who may manage it and that
// check accepts the change, audits it and applies it.
func (p *Plane) changeFinding(ctx context.Context, who auth.Principal, req *api.FindingRequest, action string, check, apply func(state.Finding) error, detail map[string]string) (*api.TrackedFinding, error) {
	t, err := p.finding(ctx, who, req.Project, req.ID)
	if err != nil {
		return nil, err
	}
	if err := authorize(who, auth.ManageFindings, t.Project); err != nil {
		return nil, err
	}
	if len(req.Comment) > 4096 {
		return nil, api.Errorf(http.StatusBadRequest, "comment of %d bytes: at most 4096", len(req.Comment))
	}
	if err := check(t); err != nil {
		return nil, err
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{p.event(who, action, t.Project, "finding:"+t.Fingerprint, detail)}}); err != nil {
		return nil, err
	}
	if err := apply(t); err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return nil, api.Errorf(http.StatusConflict, "finding %s changed meanwhile", t.Fingerprint[:12])
		}
		return nil, err
	}
	if t, err = p.finding(ctx, who, t.Project, t.Fingerprint); err != nil {
		return nil, err
	}
	tf, err := trackedOut(t)
	return &tf, err
}
