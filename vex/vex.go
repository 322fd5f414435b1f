// Package vex writes and reads OpenVEX documents: the form in which Hallmark
// exports approved exceptions, so that scanners and policy tools that speak
// VEX (grype, vexctl) suppress exactly the excepted vulnerabilities.
//
// # Format
//
// A [Document] is one OpenVEX v0.2.0 JSON document (github.com/openvex/spec,
// OPENVEX-SPEC.md at tag v0.2.0, and its JSON schema
// openvex_json_schema.json): @context "https://openvex.dev/ns/v0.2.0", @id,
// author, role, timestamp, version and statements. Each [Statement] names one
// vulnerability (with its aliases), the products it is about, the
// subcomponents of those products that carry the vulnerable code, a status
// and the status's explanation:
//
//   - not_affected needs a justification (one of the spec's five labels) or an
//     impact_statement (the schema allows both; the spec asks for at least
//     one);
//   - affected needs an action_statement;
//   - fixed and under_investigation take none of the three.
//
// Products and subcomponents are identified by package URL (purl-spec). Each
// is written as {"@id": purl, "identifiers": {"purl": purl}}, which both the
// reference library's matching (github.com/openvex/go-vex) and grype's read;
// every product of a statement carries the statement's subcomponents.
//
// # Invariants
//
// [Document.JSON] is deterministic: the same statements in any order give the
// same bytes. Statements are sorted (by vulnerability, then effective
// timestamp, then content); aliases, products and subcomponents within a
// statement are sorted; timestamps are written in UTC, RFC 3339 with as many
// fractional digits as they need. A document without an ID gets one derived
// from its content, https://hallmark.dev/vex/<sha256 hex>, so the same
// exceptions always produce the same document identity. Version 0 is written
// as 1.
//
// JSON validates its document before writing, and [Parse] applies the same
// checks to what it reads, so every document JSON writes is accepted by Parse
// (the round trip keeps the content; statements and their lists come back
// sorted and timestamps in UTC) and every document Parse accepts, JSON
// writes back in a form that validates against the OpenVEX schema.
// On top of the schema, both require: at least one product per statement,
// product and subcomponent purls that parse, no duplicate aliases, products,
// subcomponents or statements, and no two statements about the same
// vulnerability, product and subcomponent at the same time (consumers would
// have to guess which wins).
//
// Parse is strict: members the schema does not define are refused (the schema
// forbids additional properties everywhere), as are duplicate member names,
// values of the wrong JSON type and any @context but v0.2.0's. Members the
// schema defines that this package does not model are checked for type and
// otherwise dropped: tooling, last_updated, supplier, status_notes,
// action_statement_timestamp, the statement's @id and version, the
// vulnerability's @id and description, and product and subcomponent hashes.
// A product or subcomponent must carry a purl (in identifiers.purl or as its
// @id); one known only by CPE or hash is refused, since dropping its identity
// would widen the statement. All products of one statement must list the
// same subcomponents, the only shape a [Statement] can hold.
//
// Input to Parse is at most [MaxSize] bytes and [MaxStatements] statements;
// JSON refuses to write more than that.
//
// # Consumers
//
// What a consumer suppresses depends on how it names what it scanned; the
// tests run these versions:
//
//   - vexctl v0.4.4 filter (SARIF) matches statements by vulnerability id or
//     alias only, whatever the products, and removes not_affected and fixed
//     results;
//   - grype v0.120.1 names the product only for container images (their
//     references and digests, pkg:oci purls) or for sources with a name and
//     a version (pkg:generic/NAME@VERSION); scanning an SBOM file it has
//     neither, and applies only statements whose product is the vulnerable
//     package's own purl. A statement {product: the project, subcomponent:
//     the package} is not applied to such scans.
//
// # Errors
//
// Validation and parse errors are *[FieldError] values naming the JSON path
// of the offending value, for example
//
//	vex: statements[2].justification: "not_reachable" is not one of the OpenVEX justifications (component_not_present, ...)
package vex

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/package-url/packageurl-go"
)

// Context is the JSON-LD context of OpenVEX v0.2.0, the only version this
// package writes and reads.
const Context = "https://openvex.dev/ns/v0.2.0"

// IDPrefix starts the IDs that Document.JSON derives from content.
const IDPrefix = "https://hallmark.dev/vex/"

// Limits on what is read and written.
const (
	MaxSize       = 16 << 20 // bytes of one JSON document
	MaxStatements = 100_000  // statements in one document
	MaxText       = 64 << 10 // bytes of one string value
)

// The statuses of a statement.
const (
	NotAffected        = "not_affected"
	Affected           = "affected"
	Fixed              = "fixed"
	UnderInvestigation = "under_investigation"
)

// The justifications of a not_affected statement.
const (
	ComponentNotPresent                         = "component_not_present"
	VulnerableCodeNotPresent                    = "vulnerable_code_not_present"
	VulnerableCodeNotInExecutePath              = "vulnerable_code_not_in_execute_path"
	VulnerableCodeCannotBeControlledByAdversary = "vulnerable_code_cannot_be_controlled_by_adversary"
	InlineMitigationsAlreadyExist               = "inline_mitigations_already_exist"
)

var (
	statuses       = []string{NotAffected, Affected, Fixed, UnderInvestigation}
	justifications = []string{
		ComponentNotPresent,
		VulnerableCodeNotPresent,
		VulnerableCodeNotInExecutePath,
		VulnerableCodeCannotBeControlledByAdversary,
		InlineMitigationsAlreadyExist,
	}
)

// Statement is one assertion: the status of one vulnerability in some
// products.
type Statement struct {
	// Vulnerability is the vulnerability's id as scanners report it, such
	// as GO-2021-0113 or CVE-2021-38561.
	Vulnerability string
	// Aliases are other ids of the same vulnerability.
	Aliases []string
	// Products are the purls of the products the statement is about: the
	// built artifact, or the project's subject. At least one. (grype
	// applies a statement to an SBOM scan only when a product is the
	// vulnerable package itself; see Consumers in the package doc.)
	Products []string
	// Subcomponents are the purls of the packages within the products that
	// carry the vulnerable code; empty when the statement is about the
	// products as a whole.
	Subcomponents []string
	// Status is NotAffected, Affected, Fixed or UnderInvestigation.
	Status string
	// Justification is one of the five justification constants; a
	// not_affected statement needs it unless ImpactStatement is set.
	Justification string
	// ImpactStatement explains in words why the products are not affected.
	ImpactStatement string
	// ActionStatement says what to do about an affected product; required
	// for Affected.
	ActionStatement string
	// Timestamp is when the statement became true; zero means the
	// document's timestamp.
	Timestamp time.Time
}

// Document is one OpenVEX document.
type Document struct {
	// ID is the document's IRI; empty means derived from the content by
	// JSON (IDPrefix + SHA-256 of the rest of the document).
	ID string
	// Author identifies who makes the statements (required).
	Author string
	// Role is the author's role, such as "security approver"; optional.
	Role string
	// Timestamp is when the document was issued (required).
	Timestamp time.Time
	// Version is the document's version, 1 and up; 0 means 1.
	Version int
	// Statements: at least one, at most MaxStatements.
	Statements []Statement
}

// FieldError is a document or statement value that does not follow the
// format.
type FieldError struct {
	Path string // JSON path such as "statements[1].status"; "" for the whole document
	Err  error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return "vex: " + e.Err.Error()
	}
	return "vex: " + e.Path + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

func errorf(path, format string, args ...any) error {
	return &FieldError{Path: path, Err: fmt.Errorf(format, args...)}
}

// JSON validates d and renders it as an OpenVEX v0.2.0 document, indented,
// ending in a newline. See the package documentation for what it checks and
// how the output is normalized. Errors are *FieldError.
func (d Document) JSON() ([]byte, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	doc := jsonDocument{
		Context:   Context,
		ID:        d.ID,
		Author:    d.Author,
		Role:      d.Role,
		Timestamp: timeString(d.Timestamp),
		Version:   max(d.Version, 1),
	}
	type keyed struct {
		vuln string
		ts   time.Time // effective: the document's when the statement has none
		body []byte
		st   jsonStatement
	}
	sts := make([]keyed, 0, len(d.Statements))
	for _, s := range d.Statements {
		js := s.render()
		body, err := json.Marshal(js)
		if err != nil {
			return nil, fmt.Errorf("vex: %w", err)
		}
		ts := s.Timestamp
		if ts.IsZero() {
			ts = d.Timestamp
		}
		sts = append(sts, keyed{s.Vulnerability, ts, body, js})
	}
	slices.SortFunc(sts, func(a, b keyed) int {
		if c := cmp.Compare(a.vuln, b.vuln); c != 0 {
			return c
		}
		if c := a.ts.Compare(b.ts); c != 0 {
			return c
		}
		return strings.Compare(string(a.body), string(b.body))
	})
	// validate has refused identical statements: the order is total.
	for _, s := range sts {
		doc.Statements = append(doc.Statements, s.st)
	}
	if doc.ID == "" {
		body, err := marshal(doc)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		doc.ID = IDPrefix + hex.EncodeToString(sum[:])
	}
	out, err := marshal(doc)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxSize {
		return nil, errorf("", "document is %d bytes, more than the limit of %d", len(out), MaxSize)
	}
	return out, nil
}

func marshal(doc jsonDocument) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("vex: %w", err)
	}
	return []byte(b.String()), nil
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// The JSON shape of a document, in the member order of the spec's examples.
type jsonDocument struct {
	Context    string          `json:"@context"`
	ID         string          `json:"@id"`
	Author     string          `json:"author"`
	Role       string          `json:"role,omitempty"`
	Timestamp  string          `json:"timestamp"`
	Version    int             `json:"version"`
	Statements []jsonStatement `json:"statements"`
}

type jsonStatement struct {
	Vulnerability   jsonVulnerability `json:"vulnerability"`
	Timestamp       string            `json:"timestamp,omitempty"`
	Products        []jsonComponent   `json:"products"`
	Status          string            `json:"status"`
	Justification   string            `json:"justification,omitempty"`
	ImpactStatement string            `json:"impact_statement,omitempty"`
	ActionStatement string            `json:"action_statement,omitempty"`
}

type jsonVulnerability struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

type jsonComponent struct {
	ID            string          `json:"@id"`
	Identifiers   jsonIdentifiers `json:"identifiers"`
	Subcomponents []jsonComponent `json:"subcomponents,omitempty"`
}

type jsonIdentifiers struct {
	PURL string `json:"purl"`
}

// render gives the JSON form of a validated statement.
func (s Statement) render() jsonStatement {
	subs := make([]jsonComponent, 0, len(s.Subcomponents))
	for _, p := range sorted(s.Subcomponents) {
		subs = append(subs, jsonComponent{ID: p, Identifiers: jsonIdentifiers{PURL: p}})
	}
	prods := make([]jsonComponent, 0, len(s.Products))
	for _, p := range sorted(s.Products) {
		prods = append(prods, jsonComponent{ID: p, Identifiers: jsonIdentifiers{PURL: p}, Subcomponents: subs})
	}
	return jsonStatement{
		Vulnerability:   jsonVulnerability{Name: s.Vulnerability, Aliases: sorted(s.Aliases)},
		Timestamp:       timeString(s.Timestamp),
		Products:        prods,
		Status:          s.Status,
		Justification:   s.Justification,
		ImpactStatement: s.ImpactStatement,
		ActionStatement: s.ActionStatement,
	}
}

func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(s))
}

// validate checks d as the package documentation says; paths are the JSON
// paths the values are written at, statements by their index in d.
func (d Document) validate() error {
	if d.ID != "" {
		if err := checkIRI(d.ID); err != nil {
			return &FieldError{Path: "@id", Err: err}
		}
	}
	if err := checkText("author", d.Author, true); err != nil {
		return err
	}
	if err := checkText("role", d.Role, false); err != nil {
		return err
	}
	if d.Timestamp.IsZero() {
		return errorf("timestamp", "missing")
	}
	if err := checkTime("timestamp", d.Timestamp); err != nil {
		return err
	}
	if d.Version < 0 {
		return errorf("version", "%d is negative", d.Version)
	}
	if len(d.Statements) == 0 {
		return errorf("statements", "no statements")
	}
	if len(d.Statements) > MaxStatements {
		return errorf("statements", "%d statements, more than the limit of %d", len(d.Statements), MaxStatements)
	}
	// seen maps vulnerability, product, subcomponent and effective time to
	// the statement that first said something about them.
	seen := map[[4]string]int{}
	for i, s := range d.Statements {
		path := fmt.Sprintf("statements[%d]", i)
		if err := s.validate(path); err != nil {
			return err
		}
		ts := s.Timestamp
		if ts.IsZero() {
			ts = d.Timestamp
		}
		subs := s.Subcomponents
		if len(subs) == 0 {
			subs = []string{""}
		}
		for _, p := range s.Products {
			for _, sub := range subs {
				k := [4]string{s.Vulnerability, p, sub, ts.UTC().Format(time.RFC3339Nano)}
				if j, dup := seen[k]; dup && j != i {
					what := p
					if sub != "" {
						what += " subcomponent " + sub
					}
					return errorf(path, "repeats statements[%d]: vulnerability %s for product %s at the same time", j, s.Vulnerability, what)
				}
				seen[k] = i
			}
		}
	}
	return nil
}

func (s Statement) validate(path string) error {
	if err := checkText(path+".vulnerability.name", s.Vulnerability, true); err != nil {
		return err
	}
	if err := checkID(path+".vulnerability.name", s.Vulnerability); err != nil {
		return err
	}
	for i, a := range s.Aliases {
		apath := fmt.Sprintf("%s.vulnerability.aliases[%d]", path, i)
		if err := checkText(apath, a, true); err != nil {
			return err
		}
		if err := checkID(apath, a); err != nil {
			return err
		}
		if a == s.Vulnerability {
			return errorf(apath, "%q is the vulnerability's own name", a)
		}
	}
	if err := unique(path+".vulnerability.aliases", s.Aliases); err != nil {
		return err
	}
	if len(s.Products) == 0 {
		return errorf(path+".products", "no products")
	}
	for i, p := range s.Products {
		if err := checkPURL(fmt.Sprintf("%s.products[%d]", path, i), p); err != nil {
			return err
		}
	}
	if err := unique(path+".products", s.Products); err != nil {
		return err
	}
	for i, p := range s.Subcomponents {
		if err := checkPURL(fmt.Sprintf("%s.subcomponents[%d]", path, i), p); err != nil {
			return err
		}
	}
	if err := unique(path+".subcomponents", s.Subcomponents); err != nil {
		return err
	}
	if err := checkTime(path+".timestamp", s.Timestamp); err != nil {
		return err
	}
	for _, t := range []struct{ name, v string }{
		{"justification", s.Justification},
		{"impact_statement", s.ImpactStatement},
		{"action_statement", s.ActionStatement},
	} {
		if err := checkText(path+"."+t.name, t.v, false); err != nil {
			return err
		}
	}
	if s.Justification != "" && !slices.Contains(justifications, s.Justification) {
		return errorf(path+".justification", "%q is not one of the OpenVEX justifications (%s)", s.Justification, strings.Join(justifications, ", "))
	}
	switch s.Status {
	case NotAffected:
		if s.Justification == "" && s.ImpactStatement == "" {
			return errorf(path+".justification", "missing: a not_affected statement needs a justification or an impact_statement")
		}
		if s.ActionStatement != "" {
			return errorf(path+".action_statement", "set on a not_affected statement")
		}
	case Affected:
		if s.ActionStatement == "" {
			return errorf(path+".action_statement", "missing: an affected statement needs one")
		}
		fallthrough
	case Fixed, UnderInvestigation:
		if s.Justification != "" {
			return errorf(path+".justification", "set on a %s statement", s.Status)
		}
		if s.ImpactStatement != "" {
			return errorf(path+".impact_statement", "set on a %s statement", s.Status)
		}
		if s.Status != Affected && s.ActionStatement != "" {
			return errorf(path+".action_statement", "set on a %s statement", s.Status)
		}
	case "":
		return errorf(path+".status", "missing")
	default:
		return errorf(path+".status", "%q is not one of %s", s.Status, strings.Join(statuses, ", "))
	}
	return nil
}

// checkText refuses strings over MaxText, with invalid UTF-8 or, when
// required, empty.
func checkText(path, s string, required bool) error {
	switch {
	case required && s == "":
		return errorf(path, "missing")
	case len(s) > MaxText:
		return errorf(path, "%d bytes, more than the limit of %d", len(s), MaxText)
	case !utf8.ValidString(s):
		return errorf(path, "not valid UTF-8")
	}
	return nil
}

// checkID refuses identifiers with spaces or control characters, which no
// scanner reports and which could not be matched.
func checkID(path, s string) error {
	if strings.IndexFunc(s, spaceOrControl) >= 0 {
		return errorf(path, "%q contains a space or control character", s)
	}
	return nil
}

func spaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// checkIRI requires an absolute IRI without spaces or control characters
// (the schema's "iri" format).
func checkIRI(s string) error {
	if len(s) > MaxText {
		return fmt.Errorf("%d bytes, more than the limit of %d", len(s), MaxText)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	if strings.IndexFunc(s, spaceOrControl) >= 0 {
		return fmt.Errorf("%q contains a space or control character", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not an IRI: %v", s, err)
	}
	if !u.IsAbs() {
		return fmt.Errorf("%q is not an absolute IRI", s)
	}
	return nil
}

func checkPURL(path, s string) error {
	if s == "" {
		return errorf(path, "empty purl")
	}
	if err := checkIRI(s); err != nil {
		return &FieldError{Path: path, Err: err}
	}
	p, err := packageurl.FromString(s)
	if err != nil {
		return errorf(path, "%q is not a package URL: %v", s, err)
	}
	if p.Type == "" || p.Name == "" {
		return errorf(path, "%q is not a package URL: no type or name", s)
	}
	return nil
}

func checkTime(path string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return errorf(path, "year %d is outside RFC 3339's 0000-9999", y)
	}
	return nil
}

func unique(path string, s []string) error {
	seen := make(map[string]int, len(s))
	for i, v := range s {
		if j, dup := seen[v]; dup {
			return errorf(fmt.Sprintf("%s[%d]", path, i), "%q repeats [%d]", v, j)
		}
		seen[v] = i
	}
	return nil
}
