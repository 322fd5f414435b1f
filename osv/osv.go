// Package osv parses Open Source Vulnerability (OSV) records and evaluates
// which package versions they affect.
//
// # Format
//
// A record is one JSON object in the OSV schema (ossf.github.io/osv-schema,
// schema_version 1.x): id, modified, published, withdrawn, aliases, related,
// summary, details, severity, affected, references and database_specific.
// Each affected entry names a package (ecosystem, name, purl) and lists
// explicit versions and ranges; a range has a type (SEMVER, ECOSYSTEM or GIT),
// a repo (GIT only) and events, each one of introduced, fixed, last_affected
// or limit.
//
// # Invariants
//
// [Parse] is strict about what it knows and lenient about what it does not:
//
//   - fields the schema does not define (or this package does not model, such
//     as credits) are ignored, because the schema evolves;
//   - a JSON null is treated as an absent field;
//   - every known field must have the schema's JSON type, the id must be
//     present and non-empty, timestamps must be RFC 3339;
//   - every range has a known type, at least one event and at least one
//     introduced event; a GIT range has a repo;
//   - every event has exactly one of introduced, fixed, last_affected, limit,
//     with a non-empty string value;
//   - events of a SEMVER range are valid SemVer 2.0 versions without a leading
//     "v" ("0" is allowed for introduced, "*" for limit);
//   - no JSON object this package reads has two members with the same name
//     (ecosystem_specific and database_specific are kept raw), since parsers
//     disagree on which one wins;
//   - the input is at most [MaxSize] bytes.
//
// A successfully parsed [Record] therefore never needs to be re-validated
// before [Affected.Affects] is called on it, except for ECOSYSTEM ranges whose
// versions are checked against the ecosystem's syntax at evaluation time.
//
// # Version semantics
//
// [Affected.Affects] implements the evaluation algorithm of the schema's
// "Evaluation" section: a version is affected if it is listed in versions
// (exact string match, for every ecosystem) or if, for any range, after
// sorting its events by version, it is at or after an introduced event ("0"
// meaning the beginning of time), and not at or after the next fixed event,
// nor after the next last_affected event, and below at least one limit event
// if any are present ("*" meaning infinity).
//
// Versions are ordered as SemVer 2.0 (semver.org, precedence rules of section
// 11: build metadata is ignored) for SEMVER ranges, and for ECOSYSTEM ranges of
// the Go, npm and crates.io ecosystems. The Go ecosystem writes module versions
// without the leading "v"; pseudo-versions and +incompatible versions are
// ordinary SemVer and are compared with golang.org/x/mod/semver. Go toolchain
// versions ("go1.21.3") must be mapped by the caller with [GoVersion] before
// being checked against the "stdlib" and "toolchain" packages. ECOSYSTEM
// ranges of PyPI are ordered as PEP 440 says (packaging.python.org, "Version
// specifiers": epochs, zero-padded releases, pre-, post- and dev-releases,
// local versions, normalized spellings). Other ecosystems' ECOSYSTEM ranges
// give [ErrUnsupportedEcosystem]; GIT ranges
// give [ErrGitRange], since commits cannot be ordered without the repository.
//
// # Errors
//
// Parse errors are *[ParseError] values naming the record id and the JSON
// path of the offending value, for example
//
//	osv: GO-2021-0113: affected[0].ranges[1].events[2]: event has 2 keys (fixed, introduced), want exactly one
//
// [ErrUnsupportedEcosystem] and [ErrGitRange] are sentinels callers can test
// with errors.Is to report "could not evaluate" rather than "not affected";
// [ErrInvalidVersion] means a version (the one asked about, or an event's)
// does not follow the range's syntax, SemVer or PEP 440.
//
// # Aliases
//
// [Merge] groups records that name each other through aliases (transitively),
// so that a GO- record and the GHSA and CVE records for the same flaw are
// reported once. The related field is not used for merging: it links
// different vulnerabilities.
package osv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/internal/jsonkeys"
)

// MaxSize is the largest record Parse accepts, in bytes. Real records are a
// few kilobytes; the largest in the Go vulnerability database is under 16 KiB.
const MaxSize = 1 << 20

// Record is one OSV record.
type Record struct {
	SchemaVersion string
	ID            string
	Modified      time.Time
	Published     time.Time // zero if absent
	WithdrawnAt   time.Time // zero unless the record is withdrawn; JSON field "withdrawn"
	Aliases       []string
	Related       []string
	Summary       string
	Details       string
	Severity      []Severity
	Affected      []Affected
	References    []Reference
	// DatabaseSpecific is the raw JSON object, nil if absent.
	DatabaseSpecific json.RawMessage
}

// Severity is a severity score, such as a CVSS vector.
type Severity struct {
	Type  string // CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu, ...
	Score string
}

// Reference is a link to more information.
type Reference struct {
	Type string // ADVISORY, FIX, WEB, ...
	URL  string
}

// Package identifies the affected package.
type Package struct {
	Ecosystem string // "Go", "npm", "crates.io", "PyPI", "Debian:12", ...
	Name      string
	Purl      string
}

// Affected is one entry of a record's affected list.
type Affected struct {
	Package  Package
	Severity []Severity
	Ranges   []Range
	Versions []string
	// EcosystemSpecific and DatabaseSpecific are the raw JSON objects, nil if absent.
	EcosystemSpecific json.RawMessage
	DatabaseSpecific  json.RawMessage
}

// RangeType is the type of a [Range].
type RangeType string

// The range types of the schema.
const (
	SemVer    RangeType = "SEMVER"
	Ecosystem RangeType = "ECOSYSTEM"
	Git       RangeType = "GIT"
)

// Range is one entry of an affected entry's ranges, with its events in
// record order (not sorted).
type Range struct {
	Type   RangeType
	Repo   string // GIT ranges only
	Events []Event
}

// EventKind is the kind of an [Event].
type EventKind string

// The event kinds of the schema.
const (
	Introduced   EventKind = "introduced"
	Fixed        EventKind = "fixed"
	LastAffected EventKind = "last_affected"
	Limit        EventKind = "limit"
)

// Event is one event of a range: a kind and a version (or commit for GIT).
type Event struct {
	Kind    EventKind
	Version string
}

// Withdrawn reports whether the record has been withdrawn and should no
// longer be reported.
func (r *Record) Withdrawn() bool { return !r.WithdrawnAt.IsZero() }

// Malicious reports whether the record describes a malicious package
// (an id from the OpenSSF malicious-packages database, "MAL-...").
func (r *Record) Malicious() bool { return strings.HasPrefix(r.ID, "MAL-") }

// ParseError is a record that does not follow the schema.
type ParseError struct {
	ID   string // record id, "" if it could not be read
	Path string // JSON path such as "affected[0].ranges[1]", "" for the whole record
	Err  error
}

func (e *ParseError) Error() string {
	s := "osv: "
	if e.ID != "" {
		s += e.ID + ": "
	}
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// parser carries the record id for error messages.
type parser struct{ id string }

func (p *parser) errorf(path, format string, args ...any) error {
	return &ParseError{ID: p.id, Path: path, Err: fmt.Errorf(format, args...)}
}

// Parse parses one OSV record. See the package documentation for what it
// checks. Errors are *ParseError.
func Parse(data []byte) (*Record, error) {
	if len(data) > MaxSize {
		return nil, &ParseError{Err: fmt.Errorf("record is %d bytes, more than the limit of %d", len(data), MaxSize)}
	}
	p := &parser{}
	top, err := p.object(data, "")
	if err != nil {
		return nil, err
	}
	if top == nil {
		return nil, p.errorf("", "record is null")
	}
	// The id comes first so that every later error can name it.
	if err := p.str(top["id"], "id", &p.id); err != nil {
		return nil, err
	}
	if p.id == "" {
		return nil, p.errorf("", "missing id")
	}
	r := &Record{ID: p.id}
	steps := []error{
		p.str(top["schema_version"], "schema_version", &r.SchemaVersion),
		p.time(top["modified"], "modified", &r.Modified),
		p.time(top["published"], "published", &r.Published),
		p.time(top["withdrawn"], "withdrawn", &r.WithdrawnAt),
		p.strs(top["aliases"], "aliases", &r.Aliases),
		p.strs(top["related"], "related", &r.Related),
		p.str(top["summary"], "summary", &r.Summary),
		p.str(top["details"], "details", &r.Details),
		p.severities(top["severity"], "severity", &r.Severity),
		p.raw(top["database_specific"], "database_specific", &r.DatabaseSpecific),
	}
	if err := firstErr(steps); err != nil {
		return nil, err
	}
	// The schema requires modified; the Go database writes the zero time
	// there, which is accepted, but absence is not.
	if top["modified"] == nil || isNull(top["modified"]) {
		return nil, p.errorf("modified", "missing")
	}
	refs, err := p.array(top["references"], "references")
	if err != nil {
		return nil, err
	}
	for i, raw := range refs {
		path := fmt.Sprintf("references[%d]", i)
		o, err := p.object(raw, path)
		if err != nil {
			return nil, err
		}
		var ref Reference
		if err := firstErr([]error{
			p.str(o["type"], path+".type", &ref.Type),
			p.str(o["url"], path+".url", &ref.URL),
		}); err != nil {
			return nil, err
		}
		r.References = append(r.References, ref)
	}
	affs, err := p.array(top["affected"], "affected")
	if err != nil {
		return nil, err
	}
	for i, raw := range affs {
		a, err := p.affected(raw, fmt.Sprintf("affected[%d]", i))
		if err != nil {
			return nil, err
		}
		r.Affected = append(r.Affected, a)
	}
	return r, nil
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) affected(raw json.RawMessage, path string) (Affected, error) {
	var a Affected
	o, err := p.object(raw, path)
	if err != nil {
		return a, err
	}
	if o == nil {
		return a, p.errorf(path, "is null, want object")
	}
	if pkg := o["package"]; pkg != nil && !isNull(pkg) {
		po, err := p.object(pkg, path+".package")
		if err != nil {
			return a, err
		}
		if err := firstErr([]error{
			p.str(po["ecosystem"], path+".package.ecosystem", &a.Package.Ecosystem),
			p.str(po["name"], path+".package.name", &a.Package.Name),
			p.str(po["purl"], path+".package.purl", &a.Package.Purl),
		}); err != nil {
			return a, err
		}
	}
	if err := firstErr([]error{
		p.severities(o["severity"], path+".severity", &a.Severity),
		p.strs(o["versions"], path+".versions", &a.Versions),
		p.raw(o["ecosystem_specific"], path+".ecosystem_specific", &a.EcosystemSpecific),
		p.raw(o["database_specific"], path+".database_specific", &a.DatabaseSpecific),
	}); err != nil {
		return a, err
	}
	ranges, err := p.array(o["ranges"], path+".ranges")
	if err != nil {
		return a, err
	}
	for i, raw := range ranges {
		rg, err := p.rangeOf(raw, fmt.Sprintf("%s.ranges[%d]", path, i))
		if err != nil {
			return a, err
		}
		a.Ranges = append(a.Ranges, rg)
	}
	return a, nil
}

func (p *parser) rangeOf(raw json.RawMessage, path string) (Range, error) {
	var rg Range
	o, err := p.object(raw, path)
	if err != nil {
		return rg, err
	}
	if o == nil {
		return rg, p.errorf(path, "is null, want object")
	}
	var typ string
	if err := firstErr([]error{
		p.str(o["type"], path+".type", &typ),
		p.str(o["repo"], path+".repo", &rg.Repo),
	}); err != nil {
		return rg, err
	}
	rg.Type = RangeType(typ)
	switch rg.Type {
	case SemVer, Ecosystem:
	case Git:
		if rg.Repo == "" {
			return rg, p.errorf(path, "GIT range has no repo")
		}
	case "":
		return rg, p.errorf(path+".type", "missing")
	default:
		return rg, p.errorf(path+".type", "unknown range type %q", typ)
	}
	events, err := p.array(o["events"], path+".events")
	if err != nil {
		return rg, err
	}
	if len(events) == 0 {
		return rg, p.errorf(path+".events", "no events")
	}
	introduced := false
	for i, raw := range events {
		epath := fmt.Sprintf("%s.events[%d]", path, i)
		eo, err := p.object(raw, epath)
		if err != nil {
			return rg, err
		}
		var kinds []string
		for _, k := range []EventKind{Introduced, Fixed, LastAffected, Limit} {
			if v, ok := eo[string(k)]; ok && !isNull(v) {
				kinds = append(kinds, string(k))
			}
		}
		if len(kinds) != 1 {
			sort.Strings(kinds)
			return rg, p.errorf(epath, "event has %d keys (%s), want exactly one of introduced, fixed, last_affected, limit", len(kinds), strings.Join(kinds, ", "))
		}
		e := Event{Kind: EventKind(kinds[0])}
		vpath := epath + "." + kinds[0]
		if err := p.str(eo[kinds[0]], vpath, &e.Version); err != nil {
			return rg, err
		}
		if e.Version == "" {
			return rg, p.errorf(vpath, "empty version")
		}
		if e.Kind == Introduced {
			introduced = true
		}
		if rg.Type == SemVer && !(e.Kind == Introduced && e.Version == "0") && !(e.Kind == Limit && e.Version == "*") {
			if _, err := parseSemVer(e.Version); err != nil {
				return rg, p.errorf(vpath, "%v", err)
			}
		}
		rg.Events = append(rg.Events, e)
	}
	if !introduced {
		return rg, p.errorf(path+".events", "no introduced event")
	}
	return rg, nil
}

func (p *parser) severities(raw json.RawMessage, path string, dst *[]Severity) error {
	items, err := p.array(raw, path)
	if err != nil {
		return err
	}
	for i, it := range items {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		o, err := p.object(it, ipath)
		if err != nil {
			return err
		}
		var s Severity
		if err := firstErr([]error{
			p.str(o["type"], ipath+".type", &s.Type),
			p.str(o["score"], ipath+".score", &s.Score),
		}); err != nil {
			return err
		}
		if s.Type == "" {
			return p.errorf(ipath+".type", "missing")
		}
		*dst = append(*dst, s)
	}
	return nil
}

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// kind names the JSON type of raw for error messages.
func kind(raw json.RawMessage) string { return jsonkeys.Kind(raw) }

// object decodes a JSON object into its members; nil raw or null gives nil.
func (p *parser) object(raw json.RawMessage, path string) (map[string]json.RawMessage, error) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	if k := kind(raw); k != "object" {
		if path == "" {
			return nil, p.errorf(path, "record is %s, want object", k)
		}
		return nil, p.errorf(path, "is %s, want object", k)
	}
	// Only the whole record needs validating: nested values come from the
	// decoder below, which has checked them already.
	if path == "" && !json.Valid(raw) {
		var v any
		return nil, p.errorf(path, "invalid JSON: %v", json.Unmarshal(raw, &v))
	}
	// Walk the members rather than unmarshal into a map, to refuse
	// duplicate names: parsers disagree on which one wins.
	o, err := jsonkeys.Members(raw, nil)
	if err != nil {
		return nil, p.errorf(path, "%v", err)
	}
	return o, nil
}

func (p *parser) array(raw json.RawMessage, path string) ([]json.RawMessage, error) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	if k := kind(raw); k != "array" {
		return nil, p.errorf(path, "is %s, want array", k)
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, p.errorf(path, "%v", err)
	}
	return a, nil
}

func (p *parser) str(raw json.RawMessage, path string, dst *string) error {
	if raw == nil || isNull(raw) {
		return nil
	}
	if k := kind(raw); k != "string" {
		return p.errorf(path, "is %s, want string", k)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return p.errorf(path, "%v", err)
	}
	return nil
}

func (p *parser) strs(raw json.RawMessage, path string, dst *[]string) error {
	items, err := p.array(raw, path)
	if err != nil {
		return err
	}
	for i, it := range items {
		var s string
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if isNull(it) {
			return p.errorf(ipath, "is null, want string")
		}
		if err := p.str(it, ipath, &s); err != nil {
			return err
		}
		*dst = append(*dst, s)
	}
	return nil
}

func (p *parser) time(raw json.RawMessage, path string, dst *time.Time) error {
	var s string
	if err := p.str(raw, path, &s); err != nil {
		return err
	}
	if raw == nil || isNull(raw) {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return p.errorf(path, "%q is not an RFC 3339 timestamp", s)
	}
	*dst = t
	return nil
}

func (p *parser) raw(raw json.RawMessage, path string, dst *json.RawMessage) error {
	if raw == nil || isNull(raw) {
		return nil
	}
	if k := kind(raw); k != "object" {
		return p.errorf(path, "is %s, want object", k)
	}
	*dst = slices.Clone(raw)
	return nil
}
