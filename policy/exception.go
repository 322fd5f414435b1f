package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/internal/yamlnode"

	"github.com/package-url/packageurl-go"

	"github.com/hallmark-dev/hallmark/scan"
	"github.com/hallmark-dev/hallmark/vex"
)

// Exception is a documented request to let a failing (or warning) finding
// pass, as the control plane stores it.
//
// Its scope is either Fingerprint, one exact finding (the only way to
// except a hardening, SAST or licence decision), or Vulnerability and
// Package together: Vulnerability matches a finding's ID or any of its
// aliases, exactly; Package is a purl that matches the finding's package by
// type, namespace and name, and by version only when it has one (qualifiers
// and subpath are not compared).
type Exception struct {
	ID            string
	Project       string
	Vulnerability string
	Package       string
	Fingerprint   string
	Reason        string
	Requester     string
	Approvals     []Approval
	Created       time.Time
	Expires       time.Time
	Revoked       bool
	// Justification is an OpenVEX status justification
	// (vulnerable_code_not_in_execute_path, ...), or "".
	Justification string
}

// Approval is one approver's sign-off.
type Approval struct {
	By string
	At time.Time
}

// Justifications returns the status justifications of the OpenVEX
// specification (v0.2.0, "Status Justifications") that an exception's
// Justification may name.
func Justifications() []string { return slices.Clone(justifications) }

// justifications are package vex's, which the control plane writes an
// exception's Justification into and which refuses any other.
var justifications = []string{
	vex.ComponentNotPresent,
	vex.VulnerableCodeNotPresent,
	vex.VulnerableCodeNotInExecutePath,
	vex.VulnerableCodeCannotBeControlledByAdversary,
	vex.InlineMitigationsAlreadyExist,
}

// Limits on an exception's text.
const (
	MaxReason = 4096 // bytes of Reason
	maxField  = 1024 // bytes of the other strings
)

// CheckException checks an exception request against the caps of the named
// profile: a scope (a vulnerability and a package, or a fingerprint, not
// both), a project, a requester, a reason, a creation time and an expiry
// after it, Expires - Created at most the profile's max_expiry, and a valid
// OpenVEX justification if one is given. Approvals are not checked: a
// request has none yet. Errors start with "policy: exception" and the id.
func (p *Policy) CheckException(e Exception, profile string) error {
	prof, ok := p.profiles[profile]
	if !ok {
		return fmt.Errorf("policy: exception %s: %w %q (profiles: %s)", exceptionName(&e), ErrUnknownProfile, profile, profileNames(p.profiles))
	}
	if err := checkRequest(&e, prof); err != nil {
		return fmt.Errorf("policy: exception %s: %w", exceptionName(&e), err)
	}
	return nil
}

func exceptionName(e *Exception) string {
	if e.ID == "" {
		return "request"
	}
	return strconv.Quote(yamlnode.Clip(e.ID))
}

// checkRequest checks what CheckException documents.
func checkRequest(e *Exception, prof *Profile) error {
	for _, f := range []struct{ name, v string }{
		{"id", e.ID}, {"project", e.Project}, {"vulnerability", e.Vulnerability}, {"package", e.Package},
		{"fingerprint", e.Fingerprint}, {"requester", e.Requester}, {"justification", e.Justification},
	} {
		if len(f.v) > maxField {
			return fmt.Errorf("%s of %d bytes is over the limit of %d", f.name, len(f.v), maxField)
		}
	}
	if _, err := scope(e); err != nil {
		return err
	}
	switch {
	case e.Project == "":
		return errors.New("project is missing")
	case strings.TrimSpace(e.Requester) == "":
		return errors.New("requester is missing")
	case strings.TrimSpace(e.Reason) == "":
		return errors.New("reason is missing: an exception needs a rationale")
	case len(e.Reason) > MaxReason:
		return fmt.Errorf("reason of %d bytes is over the limit of %d", len(e.Reason), MaxReason)
	case e.Justification != "" && !slices.Contains(justifications, e.Justification):
		return fmt.Errorf("justification %q is not an OpenVEX justification (%s)", yamlnode.Clip(e.Justification), strings.Join(justifications, ", "))
	}
	return checkExpiry(e, prof)
}

func checkExpiry(e *Exception, prof *Profile) error {
	switch {
	case e.Expires.IsZero():
		return errors.New("expiry is missing: every exception expires")
	case e.Created.IsZero():
		return errors.New("creation time is missing")
	case !e.Expires.After(e.Created):
		return fmt.Errorf("expires %s, not after its creation %s", date(e.Expires), date(e.Created))
	case e.Expires.Sub(e.Created) > prof.Exceptions.MaxExpiry:
		return fmt.Errorf("lasts %s, more than profile %s's max_expiry of %s", days(e.Expires.Sub(e.Created)), prof.Name, days(prof.Exceptions.MaxExpiry))
	}
	return nil
}

// scope returns the parsed package of e's vulnerability and package scope,
// or nil for a fingerprint scope, and fails for any other scope.
func scope(e *Exception) (*packageurl.PackageURL, error) {
	switch {
	case e.Fingerprint != "" && (e.Vulnerability != "" || e.Package != ""):
		return nil, errors.New("scope: give a fingerprint, or a vulnerability and a package, not both")
	case e.Fingerprint != "":
		return nil, nil
	case e.Vulnerability == "" && e.Package == "":
		return nil, errors.New("scope is missing: give a vulnerability and a package, or a fingerprint")
	case e.Vulnerability == "":
		return nil, errors.New("scope: a package without a vulnerability is too wide: give the vulnerability too")
	case e.Package == "":
		return nil, errors.New("scope: a vulnerability without a package is too wide: give the package (a purl) too")
	}
	pu, err := packageurl.FromString(e.Package)
	if err != nil {
		return nil, fmt.Errorf("scope: package %q is not a package URL: %w", yamlnode.Clip(e.Package), err)
	}
	if pu.Type == "" || pu.Name == "" {
		return nil, fmt.Errorf("scope: package %q has no type or no name", yamlnode.Clip(e.Package))
	}
	return &pu, nil
}

// date formats t for messages.
func date(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// days formats d in days when it is a whole number of them.
func days(d time.Duration) string {
	if d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// prepared is an exception of the evaluated project, checked once.
type prepared struct {
	e    *Exception
	purl *packageurl.PackageURL
	// why is "" when the exception applies, else why it does not.
	why string
}

// exceptionIndex finds the exceptions that match a finding. Indices into
// list are in exception id order, so the smallest matching one wins.
type exceptionIndex struct {
	list          []prepared
	byFingerprint map[string][]int
	byVuln        map[string][]int
}

// newExceptionIndex prepares the exceptions of project for evaluation at
// now under prof. Exceptions of other projects are left out: they never
// apply, and a verdict does not mention them.
func newExceptionIndex(exs []Exception, project string, prof *Profile, now time.Time) *exceptionIndex {
	idx := &exceptionIndex{
		byFingerprint: map[string][]int{},
		byVuln:        map[string][]int{},
	}
	order := make([]int, 0, len(exs))
	for i := range exs {
		if exs[i].Project == project {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(exs[a].ID, exs[b].ID) })
	idx.list = make([]prepared, 0, len(order))
	for _, i := range order {
		e := &exs[i]
		pu, err := scope(e)
		if err != nil {
			// No scope that could match anything: not indexed.
			continue
		}
		n := len(idx.list)
		idx.list = append(idx.list, prepared{e: e, purl: pu, why: applies(e, prof, now)})
		if e.Fingerprint != "" {
			idx.byFingerprint[e.Fingerprint] = append(idx.byFingerprint[e.Fingerprint], n)
		} else {
			idx.byVuln[e.Vulnerability] = append(idx.byVuln[e.Vulnerability], n)
		}
	}
	return idx
}

// applies returns "" when e (of the evaluated project, with a valid scope)
// applies at now under prof, else why it does not.
func applies(e *Exception, prof *Profile, now time.Time) string {
	if e.Revoked {
		return "revoked"
	}
	if err := checkExpiry(e, prof); err != nil {
		return err.Error()
	}
	if !now.Before(e.Expires) {
		return "expired " + date(e.Expires)
	}
	if strings.TrimSpace(e.Reason) == "" {
		return "it has no reason"
	}
	if strings.TrimSpace(e.Requester) == "" {
		return "it has no requester"
	}
	n := 0
	var seen []string
	for _, a := range e.Approvals {
		if a.By == "" || a.By == e.Requester || slices.Contains(seen, a.By) ||
			a.At.IsZero() || a.At.After(now) || a.At.Before(e.Created) || !a.At.Before(e.Expires) {
			continue
		}
		seen = append(seen, a.By)
		n++
	}
	if need := prof.Exceptions.ApprovalsRequired; n < need {
		return fmt.Sprintf("%d of the %d approvals profile %s needs (distinct approvers other than the requester %q, while the exception is valid)", n, need, prof.Name, e.Requester)
	}
	return ""
}

// lookup returns the exception that applies to a decision about finding f
// (nil for a licence decision, which only fingerprints match), or, when
// none applies, the first matching one that does not (with why), or nil.
func (idx *exceptionIndex) lookup(fingerprint string, f *scan.Finding) *prepared {
	best, firstBad := -1, -1
	consider := func(i int) {
		if idx.list[i].why == "" {
			if best < 0 || i < best {
				best = i
			}
		} else if firstBad < 0 || i < firstBad {
			firstBad = i
		}
	}
	if fingerprint != "" {
		for _, i := range idx.byFingerprint[fingerprint] {
			consider(i)
		}
	}
	if f != nil && len(idx.byVuln) > 0 && f.Package.PURL != "" {
		var fp *packageurl.PackageURL
		check := func(id string) {
			for _, i := range idx.byVuln[id] {
				if fp == nil {
					pu, err := packageurl.FromString(f.Package.PURL)
					if err != nil {
						return
					}
					fp = &pu
				}
				if purlMatches(idx.list[i].purl, fp) {
					consider(i)
				}
			}
		}
		check(f.ID)
		for _, a := range f.Aliases {
			check(a)
		}
	}
	switch {
	case best >= 0:
		return &idx.list[best]
	case firstBad >= 0:
		return &idx.list[firstBad]
	}
	return nil
}

// purlMatches reports whether the exception's package want matches the
// finding's package have: same type (without case), namespace and name, and
// the same version when want has one.
func purlMatches(want, have *packageurl.PackageURL) bool {
	return strings.EqualFold(want.Type, have.Type) &&
		want.Namespace == have.Namespace &&
		want.Name == have.Name &&
		(want.Version == "" || want.Version == have.Version)
}
