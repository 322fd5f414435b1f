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

	// ErrInvalidVersion means a queried version or a range event's version
	// does not follow the syntax of the range's ordering (SemVer 2.0 or
	// PEP 440).
	ErrInvalidVersion = errors.New("invalid version")
)

// invalidVersionError is an error that is ErrInvalidVersion without saying
// so in its message, which names the version and what is wrong with it.
type invalidVersionError string

func invalidVersionf(format string, args ...any) error {
	return invalidVersionError(fmt.Sprintf(format, args...))
}

func (e invalidVersionError) Error() string        { return string(e) }
func (e invalidVersionError) Is(target error) bool { return target == ErrInvalidVersion }

// parseSemVer checks that v is a complete SemVer 2.0 version without a
// leading "v" (MAJOR.MINOR.PATCH, optional -pre-release and +build) and
// returns it in the "v"-prefixed form golang.org/x/mod/semver compares.
func parseSemVer(v string) (string, error) {
	if strings.HasPrefix(v, "v") {
		return "", invalidVersionf("version %q has a leading v", v)
	}
	core := v
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	// x/mod/semver accepts the shorthands "v1" and "v1.2"; SemVer does not.
	if strings.Count(core, ".") != 2 || !semver.IsValid("v"+v) {
		return "", invalidVersionf("version %q is not valid SemVer", v)
	}
	return "v" + v, nil
}

// baseEcosystem strips the release suffix of ecosystems such as "Debian:12".
func baseEcosystem(eco string) string {
	base, _, _ := strings.Cut(eco, ":")
	return base
}

// ordering is a total order on the versions of one scheme: parse checks a
// version and returns it in comparable form, compare orders two such forms
// (-1, 0, +1).
type ordering[V any] struct {
	parse   func(string) (V, error)
	compare func(a, b V) int
}

var (
	semverOrder = ordering[string]{parse: parseSemVer, compare: semver.Compare}
	pep440Order = ordering[pep440]{parse: parsePEP440, compare: comparePEP440}
)

// evaluator evaluates ranges whose versions follow one ordering.
type evaluator interface {
	// evaluate applies the schema's evaluation algorithm to range r for the
	// queried version: whether it is affected and, if so, the smallest
	// fixed version above it in r as written in the record ("" if none).
	// Errors name the offending event; a queried version that does not
	// follow the ordering's syntax is a queryError.
	evaluate(r Range, version string) (affected bool, fixed string, err error)
	// less reports whether fixed version a is below fixed version b; both
	// come from evaluate.
	less(a, b string) bool
}

// orderOf returns how the versions of range r of a package in ecosystem eco
// are ordered: SemVer 2.0 for SEMVER ranges and the ECOSYSTEM ranges of Go,
// npm and crates.io, PEP 440 for the ECOSYSTEM ranges of PyPI.
func orderOf(r Range, eco string) (evaluator, error) {
	switch r.Type {
	case SemVer:
		return semverOrder, nil
	case Git:
		return nil, ErrGitRange
	}
	switch baseEcosystem(eco) {
	case "Go", "npm", "crates.io":
		return semverOrder, nil
	case "PyPI":
		return pep440Order, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnsupportedEcosystem, eco)
}

// event is an Event with its version in comparable form.
type event[V any] struct {
	kind EventKind
	open bool // introduced "0" (before every version) or limit "*" (after every version)
	v    V    // unset if open
	raw  string
}

var kindRank = map[EventKind]int{Introduced: 0, LastAffected: 1, Fixed: 2, Limit: 3}

// compareEvents orders events by version, "0" first and "*" last; at equal
// versions introduced sorts first, so that a range {introduced: X, fixed: X}
// is empty rather than covering everything from X on.
func (o ordering[V]) compareEvents(a, b event[V]) int {
	pos := func(e event[V]) int {
		switch {
		case e.open && e.kind == Introduced:
			return -1
		case e.open:
			return 1
		}
		return 0
	}
	if c := pos(a) - pos(b); c != 0 {
		return c
	}
	if !a.open {
		if c := o.compare(a.v, b.v); c != 0 {
			return c
		}
	}
	return kindRank[a.kind] - kindRank[b.kind]
}

// queryError is a queried version that does not follow the syntax of a
// range's ordering: an error about the version, not about the range.
type queryError struct{ err error }

func (e queryError) Error() string { return e.err.Error() }

func (o ordering[V]) less(a, b string) bool {
	x, errx := o.parse(a)
	y, erry := o.parse(b)
	if errx != nil || erry != nil {
		return a < b
	}
	return o.compare(x, y) < 0
}

func (o ordering[V]) evaluate(r Range, version string) (affected bool, fixed string, err error) {
	v, err := o.parse(version)
	if err != nil {
		return false, "", queryError{err}
	}
	events := make([]event[V], 0, len(r.Events))
	for i, e := range r.Events {
		ev := event[V]{kind: e.Kind, raw: e.Version}
		if (e.Kind == Introduced && e.Version == "0") || (e.Kind == Limit && e.Version == "*") {
			ev.open = true
		} else if ev.v, err = o.parse(e.Version); err != nil {
			return false, "", fmt.Errorf("events[%d]: %w", i, err)
		}
		events = append(events, ev)
	}
	slices.SortStableFunc(events, o.compareEvents)

	// before_limits: with limit events, v must be below one of them.
	inLimits, hasLimit := false, false
	for _, e := range events {
		if e.kind == Limit {
			hasLimit = true
			if e.open || o.compare(v, e.v) < 0 {
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
			if e.open || o.compare(v, e.v) >= 0 {
				affected = true
			}
		case Fixed:
			if o.compare(v, e.v) >= 0 {
				affected = false
			}
		case LastAffected:
			if o.compare(v, e.v) > 0 {
				affected = false
			}
		}
	}
	if !affected {
		return false, "", nil
	}
	for _, e := range events { // sorted, so the first fixed above v is the smallest
		if e.kind == Fixed && o.compare(e.v, v) > 0 {
			return true, e.raw, nil
		}
	}
	return true, "", nil
}

// Affects reports whether version of a.Package is affected, following the
// schema's evaluation algorithm: it is if listed in a.Versions (exact match)
// or included in any range.
//
// Ranges that cannot be evaluated (GIT ranges, ECOSYSTEM ranges of
// ecosystems other than Go, npm, crates.io and PyPI) do not stop the search:
// if no other range or the versions list says the version is affected,
// Affects returns false and an error wrapping ErrGitRange or
// ErrUnsupportedEcosystem, meaning "unknown". A version or event that does
// not follow the range's syntax (SemVer 2.0, or PEP 440 for PyPI ECOSYSTEM
// ranges) gives an error wrapping ErrInvalidVersion: the answer is unknown
// too.
//
// For the Go ecosystem, version has no leading "v" ("1.2.3",
// "0.0.0-20210101000000-abcdef123456"); toolchain versions go through
// GoVersion first. PyPI versions may be written in any spelling PEP 440
// normalizes ("1.0RC1", "v1.0-1").
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
	var unknown error
	for i, r := range a.Ranges {
		ev, err := orderOf(r, a.Package.Ecosystem)
		if err != nil {
			if unknown == nil {
				unknown = fmt.Errorf("osv: %s %s: ranges[%d]: %w", a.Package.Ecosystem, a.Package.Name, i, err)
			}
			continue
		}
		ok, f, err := ev.evaluate(r, version)
		if qe, isQuery := err.(queryError); isQuery {
			return false, "", fmt.Errorf("osv: %s %s: %w", a.Package.Ecosystem, a.Package.Name, qe.err)
		}
		if err != nil {
			return false, "", fmt.Errorf("osv: %s %s: ranges[%d].%w", a.Package.Ecosystem, a.Package.Name, i, err)
		}
		if ok {
			if !affected || (f != "" && (fixed == "" || fixedOrder(a.Package.Ecosystem).less(f, fixed))) {
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

// fixedOrder is the ordering that compares fixed versions of ecosystem eco
// across ranges: PEP 440 for PyPI (whose SEMVER ranges, if any, hold
// versions PEP 440 also orders), SemVer 2.0 otherwise.
func fixedOrder(eco string) evaluator {
	if baseEcosystem(eco) == "PyPI" {
		return pep440Order
	}
	return semverOrder
}

// FixedBefore reports whether fixed version a comes before fixed version b
// in ecosystem's version order (PEP 440 for PyPI, SemVer 2.0 otherwise),
// both as records spell them ("1.2.3" for Go, without the "v"): how a
// caller picks the smallest of the fixed versions of several records.
func FixedBefore(ecosystem, a, b string) bool {
	return fixedOrder(ecosystem).less(a, b)
}

// Fixed returns the smallest fixed version above version among the ranges
// of r that affect the package (ecosystem, name) at that version: the
// upgrade that fixes this record, spelled as the record spells it. It
// returns "" if the version is not affected, if no fixed version is known,
// or if the ranges cannot be evaluated (see Affected.Affects).
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
		if best == "" || fixedOrder(ecosystem).less(f, best) {
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
