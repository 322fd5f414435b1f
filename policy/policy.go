// Package policy is the security gate's evaluation core: it reads a policy
// file (risk profiles, thresholds per finding kind, licence lists, exception
// caps, custom CEL rules, the profile of each project) and turns the findings
// of one build into a [Verdict]: pass, warn or fail, with a [Decision] for
// every finding and the rule that made it. It is a pure library: it stores
// nothing, reads no files and signs nothing; the control plane gives it the
// policy, the findings, the components and the exceptions it knows of.
//
// # Format
//
// A policy is one YAML document (docs/policy.md, policy/schema/policy-v1.schema.json):
//
//	apiVersion: hallmark.dev/policy/v1
//	kind: Policy
//	default_profile: high          # optional: the profile of unassigned projects
//	profiles:                      # optional: override or add to the built-ins
//	  high:
//	    vulnerabilities: {fail_on: high, warn_on: low, fixable_only: false, unscored: fail}
//	    hardening: {fail_on: high, warn_on: low, unscored: warn}
//	    sast: {fail_on: high, warn_on: low, unscored: warn}
//	    licenses: {allow: [MIT, Apache-2.0], deny: [AGPL-3.0-only], unknown: warn, action: fail}
//	    exceptions: {max_expiry: 60d, approvals_required: 2}
//	  payments:
//	    extends: critical
//	    exceptions: {approvals_required: 3}
//	rules:
//	  - name: called-in-prod
//	    expression: finding.reachability == "called" && build.labels.env == "prod"
//	    action: fail
//	projects:
//	  shop: high
//	  billing: payments
//
// The built-in profiles critical, high, medium and low (see [Builtin]) are
// always present; a profile of the file with a built-in's name changes only
// the keys it sets, and a new profile names the profile it starts from with
// extends. A threshold is a severity (critical, high, medium, low), "never",
// or for vulnerabilities a CVSS base score in (0, 10].
//
// # Invariants
//
// Parse is strict: unknown keys, keys given twice, YAML aliases, a second
// document, values of the wrong type or out of range, an unknown profile
// named by extends, projects or default_profile, a cycle of extends, a CEL
// rule that does not compile or cannot give a bool are all errors. The file
// is at most [MaxSize] bytes, with at most [MaxRules] rules. Malicious
// packages fail in every profile: no key can change that, and no exception
// applies to them. A [Policy] is immutable once parsed and safe for
// concurrent use.
//
// # Errors
//
// Parse errors are *[ParseError] values naming the line, the column and the
// key path:
//
//	policy: line 7, column 7: profiles.high.vulnerabilities: unknown key "fial_on" (known: fail_on, warn_on, fixable_only, unscored)
//	policy: line 12, column 17: rules[0] "reach": expression: 1:9: undeclared reference to 'findin'
//
// Evaluate never fails: what it cannot judge (a finding of an unknown kind,
// a project without a profile, a rule that errors) fails closed, with a
// Decision saying why.
package policy

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/internal/yamlnode"
	"github.com/hallmark-dev/hallmark/scan"
)

// APIVersion and Kind are the values the file's apiVersion and kind must have.
const (
	APIVersion = "hallmark.dev/policy/v1"
	Kind       = "Policy"
)

// Limits on what Parse accepts.
const (
	MaxSize          = 1 << 20 // bytes of the policy file
	MaxRules         = 200
	MaxProfiles      = 100
	MaxListEntries   = 1000 // licences in one allow or deny list
	MaxExpression    = 4096 // bytes of one CEL expression
	MaxRuleCost      = 100000
	maxName          = 256 // bytes of a profile, project or rule name
	maxExpiryCeiling = 3650 * 24 * time.Hour
	maxApprovals     = 100
)

// Action is what a decision does to the build, and the verdict's result.
type Action string

// The actions. A Verdict's Result is never Excepted.
const (
	Fail     Action = "fail"
	Warn     Action = "warn"
	Pass     Action = "pass"
	Excepted Action = "excepted" // would fail or warn, but an exception applies
)

// rank orders actions by how much they weigh on the build.
func (a Action) rank() int {
	switch a {
	case Fail:
		return 3
	case Warn:
		return 2
	case Excepted:
		return 1
	}
	return 0
}

// Mode is what a finding or licence that cannot be judged (no severity, no
// known licence) gets: fail, warn or ignore.
type Mode string

// The modes.
const (
	ModeFail   Mode = "fail"
	ModeWarn   Mode = "warn"
	ModeIgnore Mode = "ignore"
)

func (m Mode) action() Action {
	switch m {
	case ModeFail:
		return Fail
	case ModeWarn:
		return Warn
	}
	return Pass
}

// Threshold is the level at or above which a finding triggers an action.
// The zero Threshold is "never".
type Threshold struct {
	// Severity is critical, high, medium or low; "" for a score threshold
	// or never.
	Severity scan.Severity
	// Score is a CVSS base score in (0, 10], used when Severity is "";
	// 0 with Severity "" means never.
	Score float64
}

// Never reports whether t is never reached.
func (t Threshold) Never() bool { return t.Severity == "" && t.Score == 0 }

// String returns t as the file writes it: "high", "7.5" or "never".
func (t Threshold) String() string {
	switch {
	case t.Severity != "":
		return string(t.Severity)
	case t.Score != 0:
		return strconv.FormatFloat(t.Score, 'f', -1, 64)
	}
	return "never"
}

// MarshalText writes t as String does.
func (t Threshold) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// reached reports whether a finding of effective severity sev (known: low
// to critical, or none) and highest CVSS base score (-1 if none) reaches t.
// A score threshold compares the score when there is one, else the lower
// bound of the severity's range on the CVSS qualitative scale.
func (t Threshold) reached(sev scan.Severity, score float64) bool {
	switch {
	case t.Severity != "":
		return sev.Rank() >= t.Severity.Rank()
	case t.Score == 0:
		return false
	case score >= 0:
		return score >= t.Score
	}
	return severityFloor(sev) >= t.Score
}

func severityFloor(s scan.Severity) float64 {
	switch s {
	case scan.Critical:
		return 9
	case scan.High:
		return 7
	case scan.Medium:
		return 4
	case scan.Low:
		return 0.1
	}
	return 0
}

// Thresholds are the levels of one finding kind: at or above FailOn a
// finding fails, else at or above WarnOn it warns, else it passes. A finding
// without a severity gets Unscored.
type Thresholds struct {
	FailOn   Threshold `json:"fail_on"`
	WarnOn   Threshold `json:"warn_on"`
	Unscored Mode      `json:"unscored"`
}

// VulnerabilityPolicy are the thresholds for known vulnerabilities. With
// FixableOnly, a vulnerability that would fail but has no known fixed
// version warns instead.
type VulnerabilityPolicy struct {
	Thresholds
	FixableOnly bool `json:"fixable_only"`
}

// LicensePolicy judges the components' licences. Allow and Deny hold SPDX
// licence identifiers (a licence with an exception, "GPL-2.0-only WITH
// Classpath-exception-2.0", is one entry; "UNLICENSED" may be listed).
// Deny wins over Allow; an empty Allow allows every licence not denied. An
// expression with OR is acceptable when any alternative is, with AND when
// all are. A component whose licence is denied, or not allowed, gets Action
// (fail or warn); one without a licence that can be read gets Unknown.
type LicensePolicy struct {
	Allow   []string `json:"allow"`
	Deny    []string `json:"deny"`
	Unknown Mode     `json:"unknown"`
	Action  Action   `json:"action"`
}

// ExceptionPolicy caps the exceptions of a profile's projects: an
// exception's Expires - Created must be at most MaxExpiry, and it needs
// ApprovalsRequired approvals from distinct approvers other than the
// requester.
type ExceptionPolicy struct {
	MaxExpiry         time.Duration `json:"max_expiry"`
	ApprovalsRequired int           `json:"approvals_required"`
}

// Profile is a resolved risk profile: the built-in defaults with the file's
// changes applied.
type Profile struct {
	Name            string              `json:"name"`
	Vulnerabilities VulnerabilityPolicy `json:"vulnerabilities"`
	Hardening       Thresholds          `json:"hardening"`
	SAST            Thresholds          `json:"sast"`
	Licenses        LicensePolicy       `json:"licenses"`
	Exceptions      ExceptionPolicy     `json:"exceptions"`

	allow, deny map[string]bool
}

func (p *Profile) clone() *Profile {
	c := *p
	c.Licenses.Allow = slices.Clone(p.Licenses.Allow)
	c.Licenses.Deny = slices.Clone(p.Licenses.Deny)
	c.allow, c.deny = nil, nil
	return &c
}

// index builds the licence lookup sets.
func (p *Profile) index() {
	p.allow = make(map[string]bool, len(p.Licenses.Allow))
	for _, l := range p.Licenses.Allow {
		p.allow[l] = true
	}
	p.deny = make(map[string]bool, len(p.Licenses.Deny))
	for _, l := range p.Licenses.Deny {
		p.deny[l] = true
	}
}

const day = 24 * time.Hour

// builtins are the built-in profiles, by name.
var builtins = map[string]Profile{
	// A critical-risk application fails on medium and above, and on any
	// vulnerability without a severity.
	"critical": {
		Name: "critical",
		Vulnerabilities: VulnerabilityPolicy{Thresholds: Thresholds{
			FailOn: Threshold{Severity: scan.Medium}, WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeFail}},
		Hardening:  Thresholds{FailOn: Threshold{Severity: scan.Medium}, WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn},
		SAST:       Thresholds{FailOn: Threshold{Severity: scan.Medium}, WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn},
		Licenses:   LicensePolicy{Unknown: ModeWarn, Action: Fail},
		Exceptions: ExceptionPolicy{MaxExpiry: 30 * day, ApprovalsRequired: 2},
	},
	// A high-risk application fails on high and critical, and on any
	// vulnerability without a severity.
	"high": {
		Name: "high",
		Vulnerabilities: VulnerabilityPolicy{Thresholds: Thresholds{
			FailOn: Threshold{Severity: scan.High}, WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeFail}},
		Hardening:  Thresholds{FailOn: Threshold{Severity: scan.High}, WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn},
		SAST:       Thresholds{FailOn: Threshold{Severity: scan.High}, WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn},
		Licenses:   LicensePolicy{Unknown: ModeWarn, Action: Fail},
		Exceptions: ExceptionPolicy{MaxExpiry: 60 * day, ApprovalsRequired: 2},
	},
	// A medium-risk application fails on critical only.
	"medium": {
		Name: "medium",
		Vulnerabilities: VulnerabilityPolicy{Thresholds: Thresholds{
			FailOn: Threshold{Severity: scan.Critical}, WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn}},
		Hardening:  Thresholds{FailOn: Threshold{Severity: scan.Critical}, WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn},
		SAST:       Thresholds{FailOn: Threshold{Severity: scan.Critical}, WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn},
		Licenses:   LicensePolicy{Unknown: ModeIgnore, Action: Fail},
		Exceptions: ExceptionPolicy{MaxExpiry: 90 * day, ApprovalsRequired: 1},
	},
	// A low-risk application only warns (malicious packages still fail).
	"low": {
		Name: "low",
		Vulnerabilities: VulnerabilityPolicy{Thresholds: Thresholds{
			WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn}},
		Hardening:  Thresholds{WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn},
		SAST:       Thresholds{WarnOn: Threshold{Severity: scan.Low}, Unscored: ModeWarn},
		Licenses:   LicensePolicy{Unknown: ModeIgnore, Action: Warn},
		Exceptions: ExceptionPolicy{MaxExpiry: 180 * day, ApprovalsRequired: 1},
	},
}

// Builtin returns a copy of the built-in profile name (critical, high,
// medium or low), or nil.
func Builtin(name string) *Profile {
	p, ok := builtins[name]
	if !ok {
		return nil
	}
	return p.clone()
}

// Rule is a custom rule: when Expression is true for a finding, the finding
// gets Action (fail or warn) unless something else already gives it a
// heavier one.
type Rule struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Expression  string `json:"expression"`
	Action      Action `json:"action"`

	prg cel.Program
}

// Policy is a parsed policy file.
type Policy struct {
	defaultProfile string
	profiles       map[string]*Profile
	projects       map[string]string
	rules          []Rule
	digest         string
}

// Profile returns the resolved profile of project: the one projects assigns
// it, else default_profile. It fails when the project has neither.
func (p *Policy) Profile(project string) (*Profile, error) {
	prof, err := p.profileOf(project, "")
	if err != nil {
		return nil, err
	}
	return prof.clone(), nil
}

// ProfileNamed returns a copy of the resolved profile name, or nil if the
// policy has none of that name.
func (p *Policy) ProfileNamed(name string) *Profile {
	prof, ok := p.profiles[name]
	if !ok {
		return nil
	}
	return prof.clone()
}

// ProfileOf returns the name of the profile project is judged by: the one
// the policy's projects assign it, else assigned (the profile its registry
// entry names, "" for none) when the policy defines it, else
// default_profile. The policy's own assignment wins, for it is the security
// team's versioned record.
func (p *Policy) ProfileOf(project, assigned string) (string, error) {
	prof, err := p.profileOf(project, assigned)
	if err != nil {
		return "", err
	}
	return prof.Name, nil
}

func (p *Policy) profileOf(project, assigned string) (*Profile, error) {
	name, ok := p.projects[project]
	if !ok {
		if _, known := p.profiles[assigned]; known {
			name = assigned
		} else {
			name = p.defaultProfile
		}
	}
	if name == "" {
		return nil, fmt.Errorf("policy: project %q has no profile: the policy's projects do not name it, its registry entry names none the policy defines, and it sets no default_profile", project)
	}
	return p.profiles[name], nil
}

// Profiles returns the names of the policy's profiles, built-ins included,
// sorted.
func (p *Policy) Profiles() []string {
	return slices.Sorted(maps.Keys(p.profiles))
}

// Rules returns the policy's custom rules, in file order.
func (p *Policy) Rules() []Rule {
	rs := make([]Rule, len(p.rules))
	for i, r := range p.rules {
		rs[i] = Rule{Name: r.Name, Description: r.Description, Expression: r.Expression, Action: r.Action}
	}
	return rs
}

// Digest returns "sha256:" and the hex SHA-256 of the policy's canonical
// form: the JSON encoding of the resolved profiles (built-ins included),
// projects, default profile and rules, with object keys sorted. Two files
// that differ only in layout, comments or keys set to their defaults have
// the same digest; any change in what the policy decides changes it.
func (p *Policy) Digest() string { return p.digest }

func (p *Policy) computeDigest() error {
	c := struct {
		APIVersion     string              `json:"apiVersion"`
		DefaultProfile string              `json:"default_profile"`
		Profiles       map[string]*Profile `json:"profiles"`
		Projects       map[string]string   `json:"projects"`
		Rules          []Rule              `json:"rules"`
	}{APIVersion, p.defaultProfile, p.profiles, p.projects, p.rules}
	if c.Rules == nil {
		c.Rules = []Rule{}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("policy: canonical form: %w", err)
	}
	p.digest = digest.SHA256(sha256.Sum256(b)).String()
	return nil
}

// ParseError is a policy file that cannot be used.
type ParseError struct {
	Line, Column int    // 1-based; 0 when the error is about the whole file
	Path         string // key path such as "profiles.high.vulnerabilities", "" for the whole file
	Err          error
}

// Error is the text of the yamlnode.Error it holds the fields of, after
// the package's name.
func (e *ParseError) Error() string {
	return "policy: " + (&yamlnode.Error{Line: e.Line, Column: e.Column, Path: e.Path, Err: e.Err}).Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// ErrUnknownProfile is wrapped by errors about a profile name that the
// policy does not define.
var ErrUnknownProfile = errors.New("unknown profile")

func profileNames(m map[string]*Profile) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
