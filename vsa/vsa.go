// Package vsa writes, signs and reads SLSA Verification Summary Attestations
// (VSA v1.0, https://slsa.dev/spec/v1.0/verification_summary): the signed
// statement that a verifier (for Hallmark, the policy gate) checked some
// artifacts against a policy, with the result and the levels it verified.
//
// # Format
//
// Statement renders a Summary as an in-toto Statement v1
// (_type https://in-toto.io/Statement/v1) with predicateType
// https://slsa.dev/verification_summary/v1 and the predicate fields named as
// the specification names them:
//
//	{"_type":"https://in-toto.io/Statement/v1",
//	 "subject":[{"name":"app","digest":{"sha256":"…"}}],
//	 "predicateType":"https://slsa.dev/verification_summary/v1",
//	 "predicate":{"verifier":{"id":"…","version":{"hallmark":"1.0"}},
//	   "timeVerified":"2026-01-02T03:04:05Z","resourceUri":"…",
//	   "policy":{"uri":"…","digest":{"sha256":"…"}},
//	   "inputAttestations":[{"uri":"…","digest":{"sha256":"…"}}],
//	   "verificationResult":"PASSED","verifiedLevels":["SLSA_BUILD_LEVEL_3"],
//	   "dependencyLevels":{"SLSA_BUILD_LEVEL_3":5},"slsaVersion":"1.0"}}
//
// The JSON is deterministic: one line, fields in that order, map keys sorted,
// no HTML escaping, timeVerified in UTC (RFC 3339, "Z"), optional fields
// (verifier.version, policy.digest, inputAttestations, dependencyLevels,
// slsaVersion) left out when empty. Equal Summaries give equal bytes.
//
// # Invariants
//
// Statement and Parse check the same rules and name the offending field by
// its JSON path ("vsa: predicate.policy.uri: missing"):
//   - at least one subject, each with a digest; verifier.id and resourceUri
//     are absolute URIs; policy.uri is a URI; timeVerified is set;
//   - verificationResult is PASSED or FAILED; a PASSED summary does not list
//     the level FAILED;
//   - verifiedLevels is not empty and has no duplicates; a level starting with
//     "SLSA_" has the form SLSA_<TRACK>_LEVEL_<n> (TRACK upper-case letters and
//     digits) and each track appears once, as the specification requires;
//     other, custom levels are printable and at most 256 bytes;
//   - dependencyLevels keys follow the same rules and counts are not negative;
//     slsaVersion, when set, is <MAJOR>.<MINOR>;
//   - every digest set is non-empty; digests of the algorithms in-toto knows
//     (sha256, sha512, sha1, gitCommit, …) are lower-case hex of the right
//     length; others are non-empty strings;
//   - every inputAttestations entry has a digest (its uri is optional).
//
// Parse is strict, for the statement is hostile input: at most MaxSize bytes,
// one JSON object, no unknown fields, field names in their exact case (Go's
// encoding/json would otherwise match "ResourceURI" to resourceUri), no
// duplicate keys (two parsers must not read two different verdicts from one
// document), the statement and predicate types above. The specification
// lets consumers ignore unrecognised fields; Parse refuses them instead,
// since a Summary could not carry them and the gate's verdicts never hold any.
//
// # Signing
//
// Sign wraps the statement in a DSSE envelope (payloadType
// application/vnd.in-toto+json) signed with package dsse, and returns the
// bare envelope as JSON:
//
//	{"payloadType":"application/vnd.in-toto+json","payload":"<base64>",
//	 "signatures":[{"keyid":"SHA256:…","sig":"<base64>"}]}
//
// That is the form `slsa-verifier verify-vsa --attestation-path` reads (it
// decodes the file as a DSSE envelope and nothing else; it does not read
// Sigstore bundles). To log the verdict like any other attestation, callers
// put the same envelope in a bundle with bundle.NewDSSE. The keyid is
// KeyID(public key): the SSH SHA-256 fingerprint that slsa-verifier (through
// go-securesystemslib) computes for the key it is given when
// --public-key-id is not passed, and a signature whose keyid differs from the
// verifier's is skipped, so verify-vsa must be run either without
// --public-key-id or with exactly KeyID's value.
//
// Verify is the reverse for Go callers: it checks the envelope's signature
// with a public key and returns the parsed Summary. It does not decide
// whether the Summary is good enough; callers compare subjects, verifier,
// resource, result and levels against what they require. A bad signature is
// reported as an error wrapping dsse.ErrSignature.
package vsa

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	ita1 "github.com/in-toto/attestation/go/v1"
	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/hallmark-dev/hallmark/dsse"
)

// Types and values of the format.
const (
	StatementType = "https://in-toto.io/Statement/v1"
	PredicateType = "https://slsa.dev/verification_summary/v1"
	PayloadType   = dsse.PayloadTypeInToto

	Passed = "PASSED"
	Failed = "FAILED"
)

// MaxSize is the largest statement Parse accepts; Verify accepts envelopes of
// up to dsse.MaxSize.
const MaxSize = 4 << 20

// maxLevel bounds custom levels and map keys.
const maxLevel = 256

// maxDepth bounds the nesting Parse walks; the format needs 4.
const maxDepth = 8

// Subject is an artifact the summary is about, by name and digest set
// (algorithm to digest, such as "sha256" to lower-case hex).
type Subject struct {
	Name   string
	Digest map[string]string
}

// Attestation is one attestation the verifier used, by URI (optional) and
// digest set.
type Attestation struct {
	URI    string
	Digest map[string]string
}

// Summary is one verification summary. Field comments name the predicate
// field each one becomes.
type Summary struct {
	Subjects          []Subject         // subject
	VerifierID        string            // predicate.verifier.id, an absolute URI
	VerifierVersion   map[string]string // predicate.verifier.version: component to version
	TimeVerified      time.Time         // predicate.timeVerified, written in UTC
	ResourceURI       string            // predicate.resourceUri, an absolute URI
	PolicyURI         string            // predicate.policy.uri
	PolicyDigest      map[string]string // predicate.policy.digest
	InputAttestations []Attestation     // predicate.inputAttestations
	Result            string            // predicate.verificationResult: Passed or Failed
	VerifiedLevels    []string          // predicate.verifiedLevels, e.g. SLSA_BUILD_LEVEL_3
	DependencyLevels  map[string]int    // predicate.dependencyLevels: level to count
	SLSAVersion       string            // predicate.slsaVersion, <MAJOR>.<MINOR>
}

// The wire form. Field order here is the order Statement writes.
type wireStatement struct {
	Type          string         `json:"_type"`
	Subject       []wireSubject  `json:"subject"`
	PredicateType string         `json:"predicateType"`
	Predicate     *wirePredicate `json:"predicate"`
}

type wireSubject struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

type wireDescriptor struct {
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

type wireVerifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

type wirePredicate struct {
	Verifier           wireVerifier     `json:"verifier"`
	TimeVerified       string           `json:"timeVerified"`
	ResourceURI        string           `json:"resourceUri"`
	Policy             wireDescriptor   `json:"policy"`
	InputAttestations  []wireDescriptor `json:"inputAttestations,omitempty"`
	VerificationResult string           `json:"verificationResult"`
	VerifiedLevels     []string         `json:"verifiedLevels"`
	DependencyLevels   map[string]int   `json:"dependencyLevels,omitempty"`
	SLSAVersion        string           `json:"slsaVersion,omitempty"`
}

// Statement returns s as an in-toto Statement v1 holding a VSA v1 predicate,
// in the deterministic JSON form the package comment describes, after
// checking s.
func Statement(s Summary) ([]byte, error) {
	if err := check(&s); err != nil {
		return nil, err
	}
	w := wireStatement{
		Type:          StatementType,
		PredicateType: PredicateType,
		Predicate: &wirePredicate{
			Verifier:           wireVerifier{ID: s.VerifierID, Version: s.VerifierVersion},
			TimeVerified:       s.TimeVerified.UTC().Format(time.RFC3339Nano),
			ResourceURI:        s.ResourceURI,
			Policy:             wireDescriptor{URI: s.PolicyURI, Digest: s.PolicyDigest},
			VerificationResult: s.Result,
			VerifiedLevels:     s.VerifiedLevels,
			DependencyLevels:   s.DependencyLevels,
			SLSAVersion:        s.SLSAVersion,
		},
	}
	for _, sub := range s.Subjects {
		w.Subject = append(w.Subject, wireSubject(sub))
	}
	for _, a := range s.InputAttestations {
		w.Predicate.InputAttestations = append(w.Predicate.InputAttestations, wireDescriptor(a))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, fmt.Errorf("vsa: %w", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MaxSize {
		return nil, fmt.Errorf("vsa: statement of %d bytes is over the limit of %d", len(out), MaxSize)
	}
	return out, nil
}

// Parse reads a statement written by Statement, or any VSA v1 statement that
// keeps to the rules of the package comment, and returns its Summary, with
// TimeVerified in UTC.
func Parse(statement []byte) (*Summary, error) {
	if len(statement) > MaxSize {
		return nil, fmt.Errorf("vsa: statement of %d bytes is over the limit of %d", len(statement), MaxSize)
	}
	if !utf8.Valid(statement) {
		return nil, errors.New("vsa: statement: not valid UTF-8")
	}
	if err := checkKeys(statement); err != nil {
		return nil, fmt.Errorf("vsa: statement: %w", err)
	}
	var w wireStatement
	dec := json.NewDecoder(bytes.NewReader(statement))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("vsa: statement: %w", err)
	}
	switch {
	case w.Type != StatementType:
		return nil, fmt.Errorf("vsa: _type: %q, want %q", w.Type, StatementType)
	case w.PredicateType != PredicateType:
		return nil, fmt.Errorf("vsa: predicateType: %q, want %q", w.PredicateType, PredicateType)
	case w.Predicate == nil:
		return nil, errors.New("vsa: predicate: missing")
	}
	p := w.Predicate
	s := &Summary{
		VerifierID:       p.Verifier.ID,
		VerifierVersion:  p.Verifier.Version,
		ResourceURI:      p.ResourceURI,
		PolicyURI:        p.Policy.URI,
		PolicyDigest:     p.Policy.Digest,
		Result:           p.VerificationResult,
		VerifiedLevels:   p.VerifiedLevels,
		DependencyLevels: p.DependencyLevels,
		SLSAVersion:      p.SLSAVersion,
	}
	for _, sub := range w.Subject {
		s.Subjects = append(s.Subjects, Subject(sub))
	}
	for _, a := range p.InputAttestations {
		s.InputAttestations = append(s.InputAttestations, Attestation(a))
	}
	// Empty optional collections are the same as absent ones: Statement
	// leaves both out.
	if len(s.VerifierVersion) == 0 {
		s.VerifierVersion = nil
	}
	if len(s.DependencyLevels) == 0 {
		s.DependencyLevels = nil
	}
	if p.TimeVerified == "" {
		return nil, errors.New("vsa: predicate.timeVerified: missing")
	}
	t, err := parseTime(p.TimeVerified)
	if err != nil {
		return nil, fmt.Errorf("vsa: predicate.timeVerified: %w", err)
	}
	s.TimeVerified = t
	if err := check(s); err != nil {
		return nil, err
	}
	return s, nil
}

// parseTime reads an RFC 3339 timestamp in UTC, as in-toto's Timestamp
// field type requires.
func parseTime(v string) (time.Time, error) {
	if !strings.HasSuffix(v, "Z") {
		return time.Time{}, fmt.Errorf("%q is not in UTC (want a trailing \"Z\")", v)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp", v)
	}
	return t.UTC(), nil
}

// Sign returns the DSSE envelope, as JSON, of s's statement signed by signer
// (ECDSA, Ed25519 or RSA, as package dsse signs), with keyid KeyID of the
// signer's public key. The package comment says who reads it.
func Sign(s Summary, signer crypto.Signer) ([]byte, error) {
	payload, err := Statement(s)
	if err != nil {
		return nil, err
	}
	keyID, err := KeyID(signer.Public())
	if err != nil {
		return nil, err
	}
	env, err := dsse.Sign(signer, keyID, PayloadType, payload)
	if err != nil {
		return nil, fmt.Errorf("vsa: %w", err)
	}
	out, err := dsse.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("vsa: envelope: %w", err)
	}
	return out, nil
}

// KeyID returns the keyid Sign records for pub: the SSH SHA-256 fingerprint
// ("SHA256:" and unpadded base64), which is what slsa-verifier verify-vsa
// assumes when --public-key-id is not given.
func KeyID(pub crypto.PublicKey) (string, error) {
	id, err := ssldsse.SHA256KeyID(pub)
	if err != nil {
		return "", fmt.Errorf("vsa: key id of %T: %w", pub, err)
	}
	return id, nil
}

// Verify checks that envelope, a DSSE envelope in JSON, carries an in-toto
// payload with a signature that verifies with pub, and returns the Summary it
// holds, parsed with Parse. Keyids are not compared: pub is what is trusted.
func Verify(envelope []byte, pub crypto.PublicKey) (*Summary, error) {
	env, err := dsse.Parse(envelope)
	if err != nil {
		return nil, fmt.Errorf("vsa: envelope: %w", err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("vsa: envelope: payloadType: %q, want %q", env.PayloadType, PayloadType)
	}
	if err := dsse.Verify(env, pub); err != nil {
		return nil, fmt.Errorf("vsa: envelope: %w", err)
	}
	return Parse(env.Payload)
}

var (
	slsaLevelRE   = regexp.MustCompile(`^SLSA_([A-Z0-9]+)_LEVEL_(0|[1-9][0-9]?)$`)
	slsaVersionRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$`)
)

// check reports the first way s breaks the invariants of the package comment.
func check(s *Summary) error {
	if len(s.Subjects) == 0 {
		return errors.New("vsa: subject: none")
	}
	for i, sub := range s.Subjects {
		if err := checkText(sub.Name, true); err != nil {
			return fmt.Errorf("vsa: subject[%d].name: %w", i, err)
		}
		if err := checkDigest(sub.Digest); err != nil {
			return fmt.Errorf("vsa: subject[%d].digest%w", i, err)
		}
	}
	if err := checkURI(s.VerifierID, true); err != nil {
		return fmt.Errorf("vsa: predicate.verifier.id: %w", err)
	}
	for _, k := range sortedKeys(s.VerifierVersion) {
		if k == "" {
			return errors.New("vsa: predicate.verifier.version: empty component name")
		}
		if err := checkText(k, false); err != nil {
			return fmt.Errorf("vsa: predicate.verifier.version: component %q: %w", k, err)
		}
		if err := checkText(s.VerifierVersion[k], false); err != nil {
			return fmt.Errorf("vsa: predicate.verifier.version[%q]: %w", k, err)
		}
	}
	if s.TimeVerified.IsZero() {
		return errors.New("vsa: predicate.timeVerified: missing")
	}
	if y := s.TimeVerified.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("vsa: predicate.timeVerified: year %d is outside 0001-9999", y)
	}
	if err := checkURI(s.ResourceURI, true); err != nil {
		return fmt.Errorf("vsa: predicate.resourceUri: %w", err)
	}
	if err := checkURI(s.PolicyURI, false); err != nil {
		return fmt.Errorf("vsa: predicate.policy.uri: %w", err)
	}
	if s.PolicyDigest != nil {
		if err := checkDigest(s.PolicyDigest); err != nil {
			return fmt.Errorf("vsa: predicate.policy.digest%w", err)
		}
	}
	for i, a := range s.InputAttestations {
		if a.URI != "" {
			if err := checkURI(a.URI, false); err != nil {
				return fmt.Errorf("vsa: predicate.inputAttestations[%d].uri: %w", i, err)
			}
		}
		if err := checkDigest(a.Digest); err != nil {
			return fmt.Errorf("vsa: predicate.inputAttestations[%d].digest%w", i, err)
		}
	}
	switch s.Result {
	case Passed, Failed:
	case "":
		return errors.New("vsa: predicate.verificationResult: missing")
	default:
		return fmt.Errorf("vsa: predicate.verificationResult: %q, want %q or %q", s.Result, Passed, Failed)
	}
	if len(s.VerifiedLevels) == 0 {
		return errors.New("vsa: predicate.verifiedLevels: none")
	}
	seen := map[string]bool{}
	tracks := map[string]string{}
	for i, l := range s.VerifiedLevels {
		track, err := checkLevel(l)
		if err != nil {
			return fmt.Errorf("vsa: predicate.verifiedLevels[%d]: %w", i, err)
		}
		if seen[l] {
			return fmt.Errorf("vsa: predicate.verifiedLevels[%d]: %q is listed twice", i, l)
		}
		seen[l] = true
		if track != "" {
			if other, ok := tracks[track]; ok {
				return fmt.Errorf("vsa: predicate.verifiedLevels[%d]: %q and %q are both of track %s; list only the highest", i, other, l, track)
			}
			tracks[track] = l
		}
	}
	if s.Result == Passed && seen[Failed] {
		return fmt.Errorf("vsa: predicate.verifiedLevels: %q in a summary whose result is %q", Failed, Passed)
	}
	for _, l := range sortedKeys(s.DependencyLevels) {
		if _, err := checkLevel(l); err != nil {
			return fmt.Errorf("vsa: predicate.dependencyLevels: key %q: %w", l, err)
		}
		if n := s.DependencyLevels[l]; n < 0 {
			return fmt.Errorf("vsa: predicate.dependencyLevels[%q]: negative count %d", l, n)
		}
	}
	if s.SLSAVersion != "" && !slsaVersionRE.MatchString(s.SLSAVersion) {
		return fmt.Errorf("vsa: predicate.slsaVersion: %q is not <MAJOR>.<MINOR>", s.SLSAVersion)
	}
	return nil
}

// checkLevel checks one SlsaResult and returns its track for SLSA levels
// ("BUILD" for SLSA_BUILD_LEVEL_3), "" for custom ones.
func checkLevel(l string) (track string, err error) {
	if l == "" {
		return "", errors.New("empty level")
	}
	if strings.HasPrefix(l, "SLSA_") {
		m := slsaLevelRE.FindStringSubmatch(l)
		if m == nil {
			return "", fmt.Errorf("%q starts with SLSA_ but is not SLSA_<TRACK>_LEVEL_<n>", l)
		}
		return m[1], nil
	}
	if len(l) > maxLevel {
		return "", fmt.Errorf("level of %d bytes is over the limit of %d", len(l), maxLevel)
	}
	if err := checkText(l, false); err != nil {
		return "", fmt.Errorf("level %q: %w", l, err)
	}
	return "", nil
}

// checkURI checks that v is a non-empty URI, with a scheme when absolute is
// set.
func checkURI(v string, absolute bool) error {
	if v == "" {
		return errors.New("missing")
	}
	if err := checkText(v, false); err != nil {
		return err
	}
	if strings.ContainsFunc(v, unicode.IsSpace) {
		return fmt.Errorf("%q: contains white space", v)
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("%q: not a URI", v)
	}
	if absolute && u.Scheme == "" {
		return fmt.Errorf("%q: not an absolute URI", v)
	}
	return nil
}

// checkText refuses control characters and invalid UTF-8; empty text is
// refused unless emptyOK.
func checkText(v string, emptyOK bool) error {
	if v == "" {
		if emptyOK {
			return nil
		}
		return errors.New("missing")
	}
	if !utf8.ValidString(v) {
		return errors.New("not valid UTF-8")
	}
	if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
		return fmt.Errorf("control character at byte %d", i)
	}
	return nil
}

// checkDigest checks a digest set; its error starts with the part of the
// path after "digest" (": missing", "[\"sha256\"]: ...").
func checkDigest(d map[string]string) error {
	if len(d) == 0 {
		return errors.New(": missing")
	}
	for _, alg := range sortedKeys(d) {
		v := d[alg]
		if alg == "" {
			return errors.New(": empty algorithm name")
		}
		if err := checkText(alg, false); err != nil {
			return fmt.Errorf(": algorithm %q: %w", alg, err)
		}
		if err := checkText(v, false); err != nil {
			return fmt.Errorf("[%q]: %w", alg, err)
		}
		sizes := digestSizes(alg)
		if sizes == nil {
			continue
		}
		if _, err := hex.DecodeString(v); err != nil || strings.ToLower(v) != v {
			return fmt.Errorf("[%q]: %q is not lower-case hex", alg, v)
		}
		if !slices.Contains(sizes, len(v)/2) {
			return fmt.Errorf("[%q]: %d bytes, want %s", alg, len(v)/2, joinInts(sizes))
		}
	}
	return nil
}

// digestSizes returns the byte sizes allowed for a digest algorithm in-toto
// knows (spec/v1/digest_set.md), nil for others. Git object ids are SHA-1
// or, in SHA-256 repositories, SHA-256.
func digestSizes(alg string) []int {
	switch alg {
	case "gitBlob", "gitCommit", "gitTag", "gitTree":
		return []int{20, 32}
	}
	if a, ok := ita1.HashAlgorithms[alg]; ok && a.HexLength() > 0 {
		return []int{a.HexLength()}
	}
	return nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " or ")
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// fieldNames are the object keys of the format. Objects under "digest",
// "version" and "dependencyLevels" are maps whose keys are free.
var fieldNames = map[string]bool{
	"_type": true, "subject": true, "predicateType": true, "predicate": true,
	"name": true, "uri": true, "digest": true,
	"verifier": true, "id": true, "version": true, "timeVerified": true,
	"resourceUri": true, "policy": true, "inputAttestations": true,
	"verificationResult": true, "verifiedLevels": true,
	"dependencyLevels": true, "slsaVersion": true,
}

// checkKeys walks data, one JSON value, and refuses duplicate keys in any
// object, keys of struct objects that are not field names of the format in
// their exact case, nesting deeper than maxDepth and data after the value.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, "", false, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// walk reads one value from dec. path names where it is, for errors; isMap
// says whether an object there is a map (free keys).
func walk(dec *json.Decoder, path string, isMap bool, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return errors.New("unexpected end of JSON input")
		}
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxDepth {
		return fmt.Errorf("%s: nested deeper than %d", pathOrTop(path), maxDepth)
	}
	switch d {
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walk(dec, fmt.Sprintf("%s[%d]", path, i), false, depth+1); err != nil {
				return err
			}
		}
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string) // encoding/json returns object keys as strings
			keyPath := key
			if path != "" {
				keyPath = path + "." + key
			}
			if isMap {
				keyPath = fmt.Sprintf("%s[%q]", path, key)
			}
			if seen[key] {
				return fmt.Errorf("%s: duplicate key", keyPath)
			}
			seen[key] = true
			if !isMap && !fieldNames[key] {
				return fmt.Errorf("%s: unknown field", keyPath)
			}
			childMap := !isMap && (key == "digest" || key == "version" || key == "dependencyLevels")
			if err := walk(dec, keyPath, childMap, depth+1); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

func pathOrTop(p string) string {
	if p == "" {
		return "top level"
	}
	return p
}
