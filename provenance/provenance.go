// Package provenance writes and reads the SLSA Provenance v1 statements that
// the Hallmark control plane makes for the artifacts of a build: in-toto
// Statement v1 (github.com/in-toto/attestation spec/v1/statement.md) with the
// predicate https://slsa.dev/provenance/v1 (slsa.dev/spec/v1.0/provenance).
//
// A Build holds what the platform knows of one build: the artifacts made
// (Subjects, by name and SHA-256), the build type and its external and
// internal parameters, the materials it resolved (source, dependencies,
// toolchains), who built it (builder id and version), the invocation and its
// times, and byproducts such as logs and SBOMs. Statement renders it; Parse
// reads it back. The build type is documented in docs/build-type.md at the
// stable id BuildTypeV1.
//
// Tenant-provided fields (artifact names, annotations a tenant asked for) are
// kept apart from everything else. They arrive in Build.Tenant only, and are
// written in one place: the external parameter named TenantKey, an object of
// strings. SLSA puts everything under a tenant's control in
// externalParameters, and lets a verifier approve parameters it ignores; a
// verifier of this build type ignores TenantKey and must never take trust
// from it. No code path copies a tenant-provided value into subjects,
// builder.id, resolvedDependencies or any other parameter; External may not
// use the key TenantKey itself.
//
// Invariants of a statement that Statement writes and Parse accepts:
//
//   - at least one subject, each with a non-empty name, unique, and a sha256
//     digest of 64 lowercase hex digits, and no other digest;
//   - buildType, builder.id: absolute URIs; externalParameters non-empty;
//   - every resolved dependency and byproduct has a uri or a digest, and its
//     digests are well-formed for the algorithms the in-toto
//     ResourceDescriptor knows (sha256 as 64 hex digits, and so on);
//   - a non-empty invocationId, startedOn and finishedOn present and
//     finishedOn not before startedOn.
//
// The JSON is deterministic: the same Build always gives the same bytes
// (fields in a fixed order, object keys sorted, times in UTC, RFC 3339,
// no insignificant whitespace). Statements are hostile input to Parse: it
// refuses input over MaxSize, unknown fields, duplicate keys, data after the
// statement and any broken invariant, with an error naming the field:
//
//	provenance: predicate.runDetails.metadata.finishedOn: before startedOn
//
// The result is also checked by the in-toto attestation bindings' own
// validation (Statement and Provenance Validate).
package provenance

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// PredicateType is the predicate type of SLSA Provenance v1.
const PredicateType = "https://slsa.dev/provenance/v1"

// BuildTypeV1 is the build type of Hallmark builds, documented in
// docs/build-type.md.
const BuildTypeV1 = "https://hallmark.dev/build/v1"

// TenantKey is the external parameter holding the tenant-provided fields.
const TenantKey = "tenantProvided"

// Limits on what Statement writes and Parse reads.
const (
	MaxSize      = 4 << 20 // a statement's JSON
	MaxTenant    = 64      // tenant-provided fields
	MaxTenantLen = 1024    // bytes of one tenant-provided name or value
)

// Subject is one artifact the build made.
type Subject struct {
	Name   string // the artifact's name, for example its path in the outputs
	SHA256 string // lowercase hex SHA-256 of its content
}

// Material is an in-toto ResourceDescriptor: a resolved dependency or a
// byproduct. At least one of URI and Digest is set.
type Material struct {
	URI    string            // where it came from, e.g. git+https://host/repo@refs/heads/main
	Digest map[string]string // algorithm (sha256, gitCommit, dirHash, ...) to lowercase hex
	Name   string            // optional, e.g. "source" or a file name
}

// Build is what the platform knows of one build.
type Build struct {
	Subjects  []Subject
	BuildType string // default BuildTypeV1

	// External holds the external parameters: everything the tenant
	// controlled that shaped the build (for BuildTypeV1 see
	// docs/build-type.md). It must be non-empty and must not use TenantKey.
	External map[string]any
	// Internal holds parameters the platform chose (sandbox settings,
	// worker id). It may be empty.
	Internal map[string]any

	Materials []Material // source commit and tree, dependencies, toolchains

	BuilderID      string            // absolute URI naming the platform's trust boundary
	BuilderVersion map[string]string // component to version, optional

	InvocationID      string
	Started, Finished time.Time

	Byproducts []Material // log digests, SBOMs

	// Tenant holds the tenant-provided names and annotations, written only
	// under externalParameters[TenantKey] and never merged with any other
	// field.
	Tenant map[string]string
}

// Statement returns the in-toto statement describing b, after checking it.
// An empty BuildType means BuildTypeV1.
func Statement(b Build) ([]byte, error) {
	if b.BuildType == "" {
		b.BuildType = BuildTypeV1
	}
	if err := check(&b); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	data, err := json.Marshal(toWire(&b))
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("provenance: statement of %d bytes is over the limit of %d", len(data), MaxSize)
	}
	if err := checkBindings(data); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return data, nil
}

// Parse reads a statement that Statement could have written: strict, and
// bounded by MaxSize. Tenant-provided fields come back in Build.Tenant only;
// numbers in parameters come back as json.Number, so that Statement of the
// result writes them as they were.
func Parse(data []byte) (*Build, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("provenance: statement of %d bytes is over the limit of %d", len(data), MaxSize)
	}
	if err := checkDuplicateKeys(data); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var st wireStatement
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("provenance: malformed: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("provenance: data after the statement")
	}
	switch {
	case st.Type != ita1.StatementTypeUri:
		return nil, fmt.Errorf("provenance: _type: %q, want %q", st.Type, ita1.StatementTypeUri)
	case st.PredicateType != PredicateType:
		return nil, fmt.Errorf("provenance: predicateType: %q, want %q", st.PredicateType, PredicateType)
	case st.Predicate == nil:
		return nil, errors.New("provenance: predicate: missing")
	}
	b, err := fromWire(&st)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	if err := check(b); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	if err := checkBindings(data); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return b, nil
}

// The wire form. Field order here is the order in the JSON.
type wireStatement struct {
	Type          string         `json:"_type"`
	Subject       []wireSubject  `json:"subject"`
	PredicateType string         `json:"predicateType"`
	Predicate     *wirePredicate `json:"predicate"`
}

type wireSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type wirePredicate struct {
	BuildDefinition *wireBuildDefinition `json:"buildDefinition"`
	RunDetails      *wireRunDetails      `json:"runDetails"`
}

type wireBuildDefinition struct {
	BuildType            string         `json:"buildType"`
	ExternalParameters   map[string]any `json:"externalParameters"`
	InternalParameters   map[string]any `json:"internalParameters,omitempty"`
	ResolvedDependencies []wireResource `json:"resolvedDependencies,omitempty"`
}

type wireRunDetails struct {
	Builder    *wireBuilder   `json:"builder"`
	Metadata   *wireMetadata  `json:"metadata"`
	Byproducts []wireResource `json:"byproducts,omitempty"`
}

type wireBuilder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

type wireMetadata struct {
	InvocationID string `json:"invocationId"`
	StartedOn    string `json:"startedOn"`
	FinishedOn   string `json:"finishedOn"`
}

type wireResource struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

func toWire(b *Build) *wireStatement {
	ext := make(map[string]any, len(b.External)+1)
	for k, v := range b.External {
		ext[k] = v
	}
	// The one place tenant-provided values are written.
	if len(b.Tenant) > 0 {
		ext[TenantKey] = anyMap(b.Tenant)
	}
	st := &wireStatement{
		Type:          ita1.StatementTypeUri,
		PredicateType: PredicateType,
		Predicate: &wirePredicate{
			BuildDefinition: &wireBuildDefinition{
				BuildType:            b.BuildType,
				ExternalParameters:   ext,
				ResolvedDependencies: resources(b.Materials),
			},
			RunDetails: &wireRunDetails{
				Builder: &wireBuilder{ID: b.BuilderID, Version: b.BuilderVersion},
				Metadata: &wireMetadata{
					InvocationID: b.InvocationID,
					StartedOn:    b.Started.UTC().Format(time.RFC3339Nano),
					FinishedOn:   b.Finished.UTC().Format(time.RFC3339Nano),
				},
				Byproducts: resources(b.Byproducts),
			},
		},
	}
	if len(b.Internal) > 0 {
		st.Predicate.BuildDefinition.InternalParameters = b.Internal
	}
	for _, s := range b.Subjects {
		st.Subject = append(st.Subject, wireSubject{Name: s.Name, Digest: map[string]string{"sha256": s.SHA256}})
	}
	return st
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func resources(ms []Material) []wireResource {
	var out []wireResource
	for _, m := range ms {
		out = append(out, wireResource{Name: m.Name, URI: m.URI, Digest: m.Digest})
	}
	return out
}

func fromWire(st *wireStatement) (*Build, error) {
	p := st.Predicate
	switch {
	case p.BuildDefinition == nil:
		return nil, errors.New("predicate.buildDefinition: missing")
	case p.RunDetails == nil:
		return nil, errors.New("predicate.runDetails: missing")
	case p.RunDetails.Builder == nil:
		return nil, errors.New("predicate.runDetails.builder: missing")
	case p.RunDetails.Metadata == nil:
		return nil, errors.New("predicate.runDetails.metadata: missing")
	}
	bd, rd := p.BuildDefinition, p.RunDetails
	b := &Build{
		BuildType:      bd.BuildType,
		External:       bd.ExternalParameters,
		Internal:       bd.InternalParameters,
		BuilderID:      rd.Builder.ID,
		BuilderVersion: rd.Builder.Version,
		InvocationID:   rd.Metadata.InvocationID,
	}
	for i, s := range st.Subject {
		if len(s.Digest) != 1 || s.Digest["sha256"] == "" {
			return nil, fmt.Errorf("subject[%d].digest: want exactly one digest, sha256", i)
		}
		b.Subjects = append(b.Subjects, Subject{Name: s.Name, SHA256: s.Digest["sha256"]})
	}
	if t, ok := b.External[TenantKey]; ok {
		obj, ok := t.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("predicate.buildDefinition.externalParameters.%s: not an object", TenantKey)
		}
		b.Tenant = make(map[string]string, len(obj))
		for k, v := range obj {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("predicate.buildDefinition.externalParameters.%s[%q]: not a string", TenantKey, k)
			}
			b.Tenant[k] = s
		}
		ext := make(map[string]any, len(b.External)-1)
		for k, v := range b.External {
			if k != TenantKey {
				ext[k] = v
			}
		}
		b.External = ext
	}
	var err error
	if b.Started, err = parseTime(rd.Metadata.StartedOn); err != nil {
		return nil, fmt.Errorf("predicate.runDetails.metadata.startedOn: %w", err)
	}
	if b.Finished, err = parseTime(rd.Metadata.FinishedOn); err != nil {
		return nil, fmt.Errorf("predicate.runDetails.metadata.finishedOn: %w", err)
	}
	for _, r := range bd.ResolvedDependencies {
		b.Materials = append(b.Materials, Material{URI: r.URI, Digest: r.Digest, Name: r.Name})
	}
	for _, r := range rd.Byproducts {
		b.Byproducts = append(b.Byproducts, Material{URI: r.URI, Digest: r.Digest, Name: r.Name})
	}
	return b, nil
}

// parseTime reads a time as Statement writes it: RFC 3339 in UTC.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time: %q", s)
	}
	if t.Location() != time.UTC || !strings.HasSuffix(s, "Z") {
		return time.Time{}, fmt.Errorf("%q is not in UTC", s)
	}
	return t, nil
}

// check reports the first broken invariant of b, naming the field as it is
// in the statement's JSON.
func check(b *Build) error {
	if len(b.Subjects) == 0 {
		return errors.New("subject: none")
	}
	seen := make(map[string]bool, len(b.Subjects))
	for i, s := range b.Subjects {
		switch {
		case s.Name == "":
			return fmt.Errorf("subject[%d].name: missing", i)
		case !utf8.ValidString(s.Name):
			return fmt.Errorf("subject[%d].name: not UTF-8", i)
		case seen[s.Name]:
			return fmt.Errorf("subject[%d].name: %q given twice", i, s.Name)
		}
		seen[s.Name] = true
		if err := checkHex(s.SHA256, 32); err != nil {
			return fmt.Errorf("subject[%d].digest.sha256: %w", i, err)
		}
	}
	if err := checkURI(b.BuildType); err != nil {
		return fmt.Errorf("predicate.buildDefinition.buildType: %w", err)
	}
	if len(b.External) == 0 {
		return errors.New("predicate.buildDefinition.externalParameters: none")
	}
	if _, ok := b.External[TenantKey]; ok {
		return fmt.Errorf("predicate.buildDefinition.externalParameters.%s: reserved for tenant-provided fields", TenantKey)
	}
	if err := checkJSON(b.External); err != nil {
		return fmt.Errorf("predicate.buildDefinition.externalParameters: %w", err)
	}
	if err := checkJSON(b.Internal); err != nil {
		return fmt.Errorf("predicate.buildDefinition.internalParameters: %w", err)
	}
	for i, m := range b.Materials {
		if err := checkMaterial(m); err != nil {
			return fmt.Errorf("predicate.buildDefinition.resolvedDependencies[%d]%w", i, err)
		}
	}
	if err := checkURI(b.BuilderID); err != nil {
		return fmt.Errorf("predicate.runDetails.builder.id: %w", err)
	}
	for k, v := range b.BuilderVersion {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("predicate.runDetails.builder.version[%q]: empty or not UTF-8", k)
		}
	}
	if b.InvocationID == "" || !utf8.ValidString(b.InvocationID) {
		return errors.New("predicate.runDetails.metadata.invocationId: missing or not UTF-8")
	}
	if err := checkTime(b.Started); err != nil {
		return fmt.Errorf("predicate.runDetails.metadata.startedOn: %w", err)
	}
	if err := checkTime(b.Finished); err != nil {
		return fmt.Errorf("predicate.runDetails.metadata.finishedOn: %w", err)
	}
	if b.Finished.Before(b.Started) {
		return errors.New("predicate.runDetails.metadata.finishedOn: before startedOn")
	}
	for i, m := range b.Byproducts {
		if err := checkMaterial(m); err != nil {
			return fmt.Errorf("predicate.runDetails.byproducts[%d]%w", i, err)
		}
	}
	if len(b.Tenant) > MaxTenant {
		return fmt.Errorf("predicate.buildDefinition.externalParameters.%s: %d fields, over the limit of %d", TenantKey, len(b.Tenant), MaxTenant)
	}
	for k, v := range b.Tenant {
		if k == "" || len(k) > MaxTenantLen || len(v) > MaxTenantLen || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("predicate.buildDefinition.externalParameters.%s[%.64q]: name or value empty, over %d bytes or not UTF-8", TenantKey, k, MaxTenantLen)
		}
	}
	return nil
}

// checkMaterial checks one resource descriptor; its error starts with the
// field after the index (".digest.sha256: ...").
func checkMaterial(m Material) error {
	if m.URI == "" && len(m.Digest) == 0 {
		return errors.New(": neither uri nor digest")
	}
	if m.URI != "" {
		if err := checkURI(m.URI); err != nil {
			return fmt.Errorf(".uri: %w", err)
		}
	}
	if !utf8.ValidString(m.Name) {
		return errors.New(".name: not UTF-8")
	}
	algs := make([]string, 0, len(m.Digest))
	for a := range m.Digest {
		algs = append(algs, a)
	}
	slices.Sort(algs)
	for _, a := range algs {
		v := m.Digest[a]
		if a == "" || !utf8.ValidString(a) {
			return fmt.Errorf(".digest[%q]: bad algorithm name", a)
		}
		if n := ita1.HashAlgorithm(a).HexLength(); n > 0 {
			if err := checkHex(v, n); err != nil {
				return fmt.Errorf(".digest.%s: %w", a, err)
			}
		} else if v == "" || !utf8.ValidString(v) {
			return fmt.Errorf(".digest.%s: empty or not UTF-8", a)
		}
	}
	return nil
}

// checkHex checks that s is n bytes in lowercase hex.
func checkHex(s string, n int) error {
	if len(s) != 2*n {
		return fmt.Errorf("%d hex digits, want %d", len(s), 2*n)
	}
	if _, err := hex.DecodeString(s); err != nil || strings.ToLower(s) != s {
		return errors.New("not lowercase hex")
	}
	return nil
}

func checkURI(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || !utf8.ValidString(s) {
		return fmt.Errorf("%.200q is not an absolute URI", s)
	}
	return nil
}

func checkTime(t time.Time) error {
	if t.IsZero() {
		return errors.New("missing")
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("year %d out of range", y)
	}
	return nil
}

// checkJSON checks that v encodes as JSON.
func checkJSON(v map[string]any) error {
	if v == nil {
		return nil
	}
	if _, err := json.Marshal(v); err != nil {
		return err
	}
	return nil
}

// checkBindings checks data with the in-toto attestation bindings.
func checkBindings(data []byte) error {
	var st ita1.Statement
	if err := protojson.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return fmt.Errorf("in-toto statement: %w", err)
	}
	pj, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return fmt.Errorf("predicate: %w", err)
	}
	var p slsa1.Provenance
	if err := protojson.Unmarshal(pj, &p); err != nil {
		return fmt.Errorf("predicate: %w", err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("predicate: %w", err)
	}
	return nil
}

// checkDuplicateKeys refuses JSON objects with a key given twice, which
// parsers resolve differently (encoding/json keeps the last).
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var walk func(path string, depth int) error
	walk = func(path string, depth int) error {
		if depth > 64 {
			return fmt.Errorf("%s: nested too deeply", path)
		}
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("malformed: %w", err)
		}
		switch tok {
		case json.Delim('{'):
			keys := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return fmt.Errorf("malformed: %w", err)
				}
				k, _ := kt.(string)
				if keys[k] {
					return fmt.Errorf("%s.%.64s: key given twice", path, k)
				}
				keys[k] = true
				if err := walk(path+"."+k, depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		}
		if err != nil {
			return fmt.Errorf("malformed: %w", err)
		}
		return nil
	}
	if err := walk("statement", 0); err != nil {
		return err
	}
	return nil
}
