package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/internal/yamlnode"

	"cel.dev/cel-go/common/types"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/scan"
)

// License is the Kind of a licence decision, and Config the Kind of a
// decision about the policy itself (a project without a profile).
const (
	License scan.Kind = "license"
	Config  scan.Kind = "policy"
)

// Input is what one evaluation judges.
type Input struct {
	Project string
	// Profile is the profile the project's registry entry assigns it; the
	// policy's projects override it, default_profile stands in when it is
	// empty or unknown to the policy (see Policy.ProfileOf).
	Profile  string
	Findings []scan.Finding
	// Components are judged by their licences.
	Components []inventory.Component
	// Exceptions may include other projects' exceptions: they are ignored.
	Exceptions []Exception
	// Now decides which exceptions have expired.
	Now time.Time
	// Build is what rules see as build, besides project and profile,
	// which Evaluate sets: subject {name, version} and labels by
	// convention (both are present, empty, when Build lacks them).
	// Values must be CEL-compatible: strings, bools, numbers, time.Time,
	// and lists and string-keyed maps of those.
	Build map[string]any
	// DryRun marks the verdict as advisory: the result is computed the
	// same, and the caller reports it without failing.
	DryRun bool
}

// Decision is the fate of one finding, or of one licence violation.
type Decision struct {
	// Fingerprint is the finding's; for a licence decision, the hex
	// SHA-256 of "license", the rule and the component's purl.
	Fingerprint string `json:"fingerprint"`
	// FindingID is the finding's ID; for a licence, the licence
	// expression ("NOASSERTION" when unknown).
	FindingID string        `json:"finding_id"`
	Kind      scan.Kind     `json:"kind"`
	Severity  scan.Severity `json:"severity,omitempty"`
	// Package is the purl of the finding's package or of the component.
	Package string `json:"package,omitempty"`
	Action  Action `json:"action"`
	// Rule names what decided: "malicious", "vulnerability.fail_on=high",
	// "vulnerability.warn_on=low", "vulnerability.unscored=fail",
	// "vulnerability.fixable_only", "hardening.fail_on=high",
	// "sast.warn_on=low", "license.deny", "license.allow",
	// "license.unknown", "rule:<name>", "kind.unknown", "policy.profile".
	// An excepted decision keeps the rule that would have decided.
	Rule string `json:"rule"`
	// ExceptionID is the exception that applies (Action excepted).
	ExceptionID string `json:"exception_id,omitempty"`
	Reason      string `json:"reason"`
}

// Counts are the number of decisions of each action.
type Counts struct {
	Fail     int `json:"fail"`
	Warn     int `json:"warn"`
	Pass     int `json:"pass"`
	Excepted int `json:"excepted"`
}

// Verdict is the gate's answer for one build.
type Verdict struct {
	// Result is fail when any decision fails, else warn when any warns,
	// else pass. Excepted decisions count as neither.
	Result Action `json:"result"`
	// DryRun is set when the input asked for a dry run: Result is what
	// the gate would decide, and must not fail the build.
	DryRun       bool      `json:"dry_run,omitempty"`
	Project      string    `json:"project"`
	Profile      string    `json:"profile"`
	PolicyDigest string    `json:"policy_digest"`
	Time         time.Time `json:"time"`
	// Decisions are sorted: fail, warn, excepted, pass; then by severity
	// (worst first), finding id, package, fingerprint.
	Decisions []Decision `json:"decisions"`
	Counts    Counts     `json:"counts"`
	// Hint, when Result is fail, says how to request exceptions.
	Hint string `json:"hint,omitempty"`
}

// maxHints is how many failing decisions the hint spells out commands for.
const maxHints = 5

// Evaluate judges in under the project's profile. It never fails: a project
// without a profile fails every finding with rule "policy.profile".
func (p *Policy) Evaluate(in Input) *Verdict {
	v := &Verdict{
		DryRun:       in.DryRun,
		Project:      in.Project,
		PolicyDigest: p.digest,
		Time:         in.Now,
		Decisions:    make([]Decision, 0, len(in.Findings)),
	}
	prof, err := p.profileOf(in.Project, in.Profile)
	if err != nil {
		for i := range in.Findings {
			f := &in.Findings[i]
			d := Decision{Fingerprint: f.Fingerprint, FindingID: f.ID, Kind: f.Kind, Severity: f.Severity,
				Package: f.Package.PURL, Action: Fail, Rule: "policy.profile", Reason: err.Error()}
			if isMalicious(f) {
				d.Rule, d.Reason = "malicious", "malicious package: it fails in every profile"
			}
			v.Decisions = append(v.Decisions, d)
		}
		if len(v.Decisions) == 0 {
			v.Decisions = append(v.Decisions, Decision{Kind: Config, Action: Fail, Rule: "policy.profile", Reason: err.Error()})
		}
		v.finish()
		v.Hint = fmt.Sprintf("assign project %s a profile in the policy's projects, or set default_profile", shellQuote(in.Project))
		return v
	}
	v.Profile = prof.Name
	ev := evaluator{pol: p, prof: prof, in: &in}
	ev.init()
	for i := range in.Findings {
		v.Decisions = append(v.Decisions, ev.finding(&in.Findings[i]))
	}
	ev.licenses(&v.Decisions)
	v.finish()
	if v.Result == Fail {
		v.Hint = hint(v, prof)
	}
	return v
}

// finish sorts the decisions, counts them and sets the result.
func (v *Verdict) finish() {
	perm := make([]int32, len(v.Decisions))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(i, j int32) int { return compareDecisions(&v.Decisions[i], &v.Decisions[j]) })
	// Put decision perm[i] at i, in place, one cycle at a time.
	ds := v.Decisions
	for i := range perm {
		if perm[i] == int32(i) {
			continue
		}
		tmp, j := ds[i], int32(i)
		for {
			k := perm[j]
			perm[j] = j
			if k == int32(i) {
				ds[j] = tmp
				break
			}
			ds[j] = ds[k]
			j = k
		}
	}
	for _, d := range v.Decisions {
		switch d.Action {
		case Fail:
			v.Counts.Fail++
		case Warn:
			v.Counts.Warn++
		case Excepted:
			v.Counts.Excepted++
		default:
			v.Counts.Pass++
		}
	}
	switch {
	case v.Counts.Fail > 0:
		v.Result = Fail
	case v.Counts.Warn > 0:
		v.Result = Warn
	default:
		v.Result = Pass
	}
}

// compareDecisions orders decisions as Verdict.Decisions documents. (Not
// cmp.Or, which would compare every field every time.)
func compareDecisions(a, b *Decision) int {
	if c := cmp.Compare(b.Action.rank(), a.Action.rank()); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Severity.Rank(), a.Severity.Rank()); c != 0 {
		return c
	}
	for _, c := range [...][2]string{
		{a.FindingID, b.FindingID}, {a.Package, b.Package}, {a.Fingerprint, b.Fingerprint},
		{string(a.Kind), string(b.Kind)}, {a.Rule, b.Rule}, {a.Reason, b.Reason},
	} {
		if c := strings.Compare(c[0], c[1]); c != 0 {
			return c
		}
	}
	return 0
}

// evaluator holds what one Evaluate prepares once.
type evaluator struct {
	pol  *Policy
	prof *Profile
	in   *Input
	exc  *exceptionIndex
	act  activation
	fv   findingVal
	// reasons caches threshold reasons without a score, by kind,
	// severity rank and outcome (fail, warn, pass).
	reasons [3][6][3]string
	names   [3]kindNames // vulnerability, hardening, sast
}

// kindNames are the rule names of one kind's thresholds.
type kindNames struct {
	failOn, warnOn, unscored string
}

func (ev *evaluator) init() {
	ev.exc = newExceptionIndex(ev.in.Exceptions, ev.in.Project, ev.prof, ev.in.Now)
	for i, k := range []struct {
		kind string
		t    *Thresholds
	}{{"vulnerability", &ev.prof.Vulnerabilities.Thresholds}, {"hardening", &ev.prof.Hardening}, {"sast", &ev.prof.SAST}} {
		ev.names[i] = kindNames{
			failOn:   k.kind + ".fail_on=" + k.t.FailOn.String(),
			warnOn:   k.kind + ".warn_on=" + k.t.WarnOn.String(),
			unscored: k.kind + ".unscored=" + string(k.t.Unscored),
		}
	}
	if len(ev.pol.rules) > 0 {
		b := make(map[string]any, len(ev.in.Build)+4)
		for k, val := range ev.in.Build {
			b[k] = val
		}
		b["project"] = ev.in.Project
		b["profile"] = ev.prof.Name
		if _, ok := b["subject"]; !ok {
			b["subject"] = map[string]any{"name": "", "version": ""}
		}
		if _, ok := b["labels"]; !ok {
			b["labels"] = map[string]any{}
		}
		ev.act.build = types.DefaultTypeAdapter.NativeToValue(b)
	}
}

// isMalicious reports whether f is a malicious-package finding: of kind
// malicious, or with a MAL- id or alias whatever its kind says.
func isMalicious(f *scan.Finding) bool {
	if f.Kind == scan.Malicious || strings.HasPrefix(f.ID, "MAL-") {
		return true
	}
	for _, a := range f.Aliases {
		if strings.HasPrefix(a, "MAL-") {
			return true
		}
	}
	return false
}

// effective returns the severity and score a finding is judged by: the
// worse of its severity and its CVSS score's rating (an out-of-range score
// is ignored), and the score, -1 when none is known.
func effective(f *scan.Finding) (scan.Severity, float64) {
	sev := f.Severity
	if sev.Rank() < 0 {
		sev = scan.Unknown
	}
	score := f.Score()
	if !(score >= 0 && score <= 10) {
		return sev, -1
	}
	if s := scan.FromScore(score); s.Rank() > sev.Rank() {
		sev = s
	}
	return sev, score
}

func (ev *evaluator) finding(f *scan.Finding) Decision {
	d := Decision{Fingerprint: f.Fingerprint, FindingID: f.ID, Kind: f.Kind, Severity: f.Severity, Package: f.Package.PURL}
	malicious := isMalicious(f)
	switch {
	case malicious:
		d.Action, d.Rule, d.Reason = Fail, "malicious", "malicious package: it fails in every profile"
	case f.Kind == scan.Vulnerability:
		ev.threshold(&d, f, &ev.prof.Vulnerabilities.Thresholds, 0)
		if d.Action == Fail && ev.prof.Vulnerabilities.FixableOnly && !f.Fixable() {
			d.Action, d.Rule = Warn, "vulnerability.fixable_only"
			d.Reason += ", but no fixed version is known and fixable_only is set"
		}
	case f.Kind == scan.Hardening:
		ev.threshold(&d, f, &ev.prof.Hardening, 1)
	case f.Kind == scan.SAST:
		ev.threshold(&d, f, &ev.prof.SAST, 2)
	default:
		d.Action, d.Rule, d.Reason = Fail, "kind.unknown", "unknown finding kind "+strconv.Quote(yamlnode.Clip(string(f.Kind)))
	}
	if len(ev.pol.rules) > 0 && d.Action != Fail {
		ev.act.finding = nil
		for i := range ev.pol.rules {
			r := &ev.pol.rules[i]
			if r.Action.rank() <= d.Action.rank() {
				continue
			}
			if ev.act.finding == nil {
				ev.fv = findingVal{f: f}
				ev.act.finding = &ev.fv
			}
			ok, err := r.match(&ev.act)
			switch {
			case err != nil:
				d.Action, d.Rule, d.Reason = r.Action, "rule:"+r.Name, "rule error (counts as a match): "+err.Error()
			case ok:
				d.Action, d.Rule, d.Reason = r.Action, "rule:"+r.Name, "rule "+r.Name+" matched"
			}
		}
	}
	if d.Action == Fail || d.Action == Warn {
		if px := ev.exc.lookup(f.Fingerprint, f); px != nil {
			ev.except(&d, px, malicious)
		}
	}
	return d
}

// threshold decides d by the thresholds t of kind k (an index of names).
func (ev *evaluator) threshold(d *Decision, f *scan.Finding, t *Thresholds, k int) {
	names := &ev.names[k]
	sev, score := effective(f)
	if sev == scan.Unknown {
		d.Action, d.Rule, d.Reason = t.Unscored.action(), names.unscored, "no severity is known: unscored is "+string(t.Unscored)
		return
	}
	byScore := score >= 0 && (t.FailOn.Score != 0 || t.WarnOn.Score != 0)
	var outcome int
	switch {
	case t.FailOn.reached(sev, score):
		d.Action, d.Rule, outcome = Fail, names.failOn, 0
	case t.WarnOn.reached(sev, score):
		d.Action, d.Rule, outcome = Warn, names.warnOn, 1
	default:
		d.Action, d.Rule, outcome = Pass, names.warnOn, 2
	}
	cached := &ev.reasons[k][sev.Rank()][outcome]
	if !byScore && *cached != "" {
		d.Reason = *cached
		return
	}
	what := "severity " + string(sev)
	if byScore {
		what = "CVSS score " + strconv.FormatFloat(score, 'f', -1, 64)
	}
	switch outcome {
	case 0:
		d.Reason = what + " reaches fail_on " + t.FailOn.String()
	case 1:
		d.Reason = what + " is below fail_on " + t.FailOn.String() + " and reaches warn_on " + t.WarnOn.String()
	default:
		d.Reason = what + " is below warn_on " + t.WarnOn.String()
	}
	if !byScore {
		*cached = d.Reason
	}
}

// except applies px to d when it can, or says in d.Reason why not.
func (ev *evaluator) except(d *Decision, px *prepared, malicious bool) {
	switch {
	case malicious:
		d.Reason += "; exception " + px.e.ID + " does not apply: malicious packages cannot be excepted"
	case px.why != "":
		d.Reason += "; exception " + px.e.ID + " does not apply: " + px.why
	default:
		d.Action, d.ExceptionID = Excepted, px.e.ID
		d.Reason += "; excepted by " + px.e.ID + " until " + date(px.e.Expires) + ": " + yamlnode.Clip(px.e.Reason)
	}
}

// licenses appends a decision for each component whose licence is denied,
// not allowed, or unknown (unless unknown is ignore).
func (ev *evaluator) licenses(ds *[]Decision) {
	lp := &ev.prof.Licenses
	if len(lp.Allow) == 0 && len(lp.Deny) == 0 && lp.Unknown == ModeIgnore {
		return
	}
	cache := map[string]licenseResult{}
	for i := range ev.in.Components {
		c := &ev.in.Components[i]
		key := strings.Join(c.Licenses, "\x00")
		r, ok := cache[key]
		if !ok {
			r = judgeLicenses(c.Licenses, ev.prof)
			cache[key] = r
		}
		var act Action
		var rule string
		switch r.status {
		case licDenied:
			act, rule = lp.Action, "license.deny"
		case licNotAllowed:
			act, rule = lp.Action, "license.allow"
		case licUnknown:
			act, rule = lp.Unknown.action(), "license.unknown"
		default:
			continue
		}
		if act == Pass {
			continue
		}
		purl := c.PURL
		if purl == "" {
			purl = string(c.Ecosystem) + "/" + c.Name + "@" + c.Version
		}
		d := Decision{
			Fingerprint: licenseFingerprint(rule, purl),
			FindingID:   r.expr,
			Kind:        License,
			Package:     purl,
			Action:      act,
			Rule:        rule,
			Reason:      r.reason,
		}
		if px := ev.exc.lookup(d.Fingerprint, nil); px != nil {
			ev.except(&d, px, false)
		}
		*ds = append(*ds, d)
	}
}

func licenseFingerprint(rule, purl string) string {
	return scan.Fingerprint("license", rule, purl)
}

// hint tells how to get past the failing decisions of v.
func hint(v *Verdict, prof *Profile) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fix the failing findings, or request an exception for each (profile %s: expiry at most %s, %d approval(s) from approvers other than the requester):",
		prof.Name, days(prof.Exceptions.MaxExpiry), prof.Exceptions.ApprovalsRequired)
	n := 0
	for _, d := range v.Decisions {
		if d.Action != Fail {
			continue
		}
		if n == maxHints {
			fmt.Fprintf(&b, "\n  ... and %d more failing decision(s)", v.Counts.Fail-maxHints)
			break
		}
		n++
		b.WriteString("\n  ")
		switch {
		case d.Rule == "malicious":
			fmt.Fprintf(&b, "remove %s (%s): malicious packages cannot be excepted", shellQuote(d.Package), d.FindingID)
		case d.Kind == scan.Vulnerability && d.Package != "":
			fmt.Fprintf(&b, "hallmark exception request --vuln %s --package %s --project %s --reason TEXT --expires DATE",
				shellQuote(d.FindingID), shellQuote(d.Package), shellQuote(v.Project))
		default:
			fmt.Fprintf(&b, "hallmark exception request --finding %s --project %s --reason TEXT --expires DATE",
				shellQuote(d.Fingerprint), shellQuote(v.Project))
		}
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
