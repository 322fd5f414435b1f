package osv

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

var (
	// ErrUnsupportedEcosystem means an ECOSYSTEM range belongs to an
	// ecosystem whose version ordering this package does not implement.
	ErrUnsupportedEcosystem = errors.New("unsupported ecosystem")

	// ErrGitRange means a GIT range could not be evaluated: commits cannot
	// be ordered without the repository.
	ErrGitRange = errors.New("GIT range needs the repository to evaluate")
)

// parseSemVer checks that v is a complete SemVer 2.0 version without a
// leading "v" (MAJOR.MINOR.PATCH, optional -pre-release and +build) and
// returns it in the "v"-prefixed form golang.org/x/mod/semver compares.
func parseSemVer(v string) (string, error) {
	if strings.HasPrefix(v, "v") {
		return "", fmt.Errorf("version %q has a leading v", v)
	}
	core := v
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	// x/mod/semver accepts the shorthands "v1" and "v1.2"; SemVer does not.
	if strings.Count(core, ".") != 2 || !semver.IsValid("v"+v) {
		return "", fmt.Errorf("version %q is not valid SemVer", v)
	}
	return "v" + v, nil
}

// baseEcosystem strips the release suffix of ecosystems such as "Debian:12".
func baseEcosystem(eco string) string {
	base, _, _ := strings.Cut(eco, ":")
	return base
}

// ordered reports whether the versions of range r of a package in ecosystem
// eco can be ordered here; they are then SemVer 2.0 in every supported case.
func ordered(r Range, eco string) error {
	switch r.Type {
	case SemVer:
		return nil
	case Git:
		return ErrGitRange
	}
	switch baseEcosystem(eco) {
	case "Go", "npm", "crates.io":
		return nil
	}
	return fmt.Errorf("%w %q", ErrUnsupportedEcosystem, eco)
}

// event is an Event with its version in comparable form.
type event struct {
	kind EventKind
	v    string // "v"-prefixed SemVer; "" for introduced "0" and limit "*"
}

var kindRank = map[EventKind]int{Introduced: 0, LastAffected: 1, Fixed: 2, Limit: 3}

// compareEvents orders events by version, "0" first and "*" last; at equal
// versions introduced sorts first, so that a range {introduced: X, fixed: X}
// is empty rather than covering everything from X on.
func compareEvents(a, b event) int {
	pos := func(e event) int {
		switch {
		case e.kind == Introduced && e.v == "":
			return -1
		case e.kind == Limit && e.v == "":
			return 1
		}
		return 0
	}
	if c := pos(a) - pos(b); c != 0 {
		return c
	}
	if c := semver.Compare(a.v, b.v); c != 0 {
		return c
	}
	return kindRank[a.kind] - kindRank[b.kind]
}

// evaluate applies the schema's evaluation algorithm to one range, whose
// versions the caller has checked can be [ordered]. v is the "v"-prefixed
// queried version. It returns whether v is affected and, if so, the smallest
// fixed version above v in the range ("" if none).
func (r Range) evaluate(v string) (affected bool, fixed string, err error) {
	events := make([]event, 0, len(r.Events))
	for i, e := range r.Events {
		ev := event{kind: e.Kind}
		if !(e.Kind == Introduced && e.Version == "0") && !(e.Kind == Limit && e.Version == "*") {
			ev.v, err = parseSemVer(e.Version)
			if err != nil {
				return false, "", fmt.Errorf("events[%d]: %w", i, err)
			}
		}
		events = append(events, ev)
	}
	slices.SortStableFunc(events, compareEvents)

	// before_limits: with limit events, v must be below one of them.
	inLimits, hasLimit := false, false
	for _, e := range events {
		if e.kind == Limit {
			hasLimit = true
			if e.v == "" || semver.Compare(v, e.v) < 0 {
				inLimits = true
			}
		}
	}
	if hasLimit && !inLimits {
		return false, "", nil
	}

	// includes: walk the sorted events.
	for _, e := range events {
		switch e.kind {
		case Introduced:
			if e.v == "" || semver.Compare(v, e.v) >= 0 {
				affected = true
			}
		case Fixed:
			if semver.Compare(v, e.v) >= 0 {
				affected = false
			}
		case LastAffected:
			if semver.Compare(v, e.v) > 0 {
				affected = false
			}
		}
	}
	if !affected {
		return false, "", nil
	}
	for _, e := range events { // sorted, so the first fixed above v is the smallest
		if e.kind == Fixed && semver.Compare(e.v, v) > 0 {
			return true, e.v[1:], nil
		}
	}
	return true, "", nil
}

// Affects reports whether version of a.Package is affected, following the
// schema's evaluation algorithm: it is if listed in a.Versions (exact match)
// or included in any range.
//
// Ranges that cannot be evaluated (GIT ranges, ECOSYSTEM ranges of
// ecosystems other than Go, npm and crates.io) do not stop the search: if no
// other range or the versions list says the version is affected, Affects
// returns false and an error wrapping ErrGitRange or
// ErrUnsupportedEcosystem, meaning "unknown". Any other error (version or
// event not valid SemVer) means the answer is unknown too.
//
// For the Go ecosystem, version has no leading "v" ("1.2.3",
// "0.0.0-20210101000000-abcdef123456"); toolchain versions go through
// GoVersion first.
func (a Affected) Affects(version string) (bool, error) {
	if slices.Contains(a.Versions, version) {
		return true, nil
	}
	affected, _, err := a.evaluate(version)
	return affected, err
}

// evaluate is Affects over ranges only, returning also the smallest fixed
// version above version in the ranges that affect it.
func (a Affected) evaluate(version string) (affected bool, fixed string, err error) {
	if len(a.Ranges) == 0 {
		return false, "", nil
	}
	v, verr := parseSemVer(version)
	var unknown error
	for i, r := range a.Ranges {
		if err := ordered(r, a.Package.Ecosystem); err != nil {
			if unknown == nil {
				unknown = fmt.Errorf("osv: %s %s: ranges[%d]: %w", a.Package.Ecosystem, a.Package.Name, i, err)
			}
			continue
		}
		if verr != nil {
			return false, "", fmt.Errorf("osv: %s %s: %w", a.Package.Ecosystem, a.Package.Name, verr)
		}
		ok, f, err := r.evaluate(v)
		if err != nil {
			return false, "", fmt.Errorf("osv: %s %s: ranges[%d].%w", a.Package.Ecosystem, a.Package.Name, i, err)
		}
		if ok {
			if !affected || (f != "" && (fixed == "" || semver.Compare("v"+f, "v"+fixed) < 0)) {
				fixed = f
			}
			affected = true
		}
	}
	if affected {
		return true, fixed, nil
	}
	return false, "", unknown
}

// Fixed returns the smallest fixed version above version among the ranges
// of r that affect the package (ecosystem, name) at that version: the
// upgrade that fixes this record. It returns "" if the version is not
// affected, if no fixed version is known, or if the ranges cannot be
// evaluated (see Affected.Affects).
func (r *Record) Fixed(ecosystem, name, version string) string {
	best := ""
	for _, a := range r.Affected {
		if a.Package.Ecosystem != ecosystem || a.Package.Name != name {
			continue
		}
		ok, f, err := a.evaluate(version)
		if err != nil || !ok || f == "" {
			continue
		}
		if best == "" || semver.Compare("v"+f, "v"+best) < 0 {
			best = f
		}
	}
	return best
}

// GoVersion maps a Go toolchain version as printed by "go version" to the
// SemVer form the Go vulnerability database uses for the stdlib and
// toolchain packages: go1.21.3 -> 1.21.3, go1.21 -> 1.21.0, go1 -> 1.0.0,
// go1.21rc2 -> 1.21.0-rc.2, go1.22beta1 -> 1.22.0-beta.1. It returns "" for
// anything else (devel builds, experiment suffixes, malformed input).
func GoVersion(toolchain string) string {
	s, ok := strings.CutPrefix(toolchain, "go")
	if !ok {
		return ""
	}
	num := s
	pre := ""
	for _, tag := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(s, tag); i >= 0 {
			num, pre = s[:i], s[i+len(tag):]
			if !isDigits(pre) {
				return ""
			}
			pre = "-" + tag + "." + pre
			break
		}
	}
	parts := strings.Split(num, ".")
	if len(parts) > 3 {
		return ""
	}
	for _, p := range parts {
		if !isDigits(p) || (len(p) > 1 && p[0] == '0') {
			return ""
		}
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	v := strings.Join(parts, ".") + pre
	if _, err := parseSemVer(v); err != nil {
		return ""
	}
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
