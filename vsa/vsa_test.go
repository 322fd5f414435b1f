package vsa_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/vsa"
)

const (
	digestA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	digestB = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
)

// summary returns a complete, valid Summary; each call returns fresh maps
// and slices that tests may change.
func summary() vsa.Summary {
	return vsa.Summary{
		Subjects:          []vsa.Subject{{Name: "bin/app", Digest: map[string]string{"sha256": digestA}}},
		VerifierID:        "https://hallmark.example/gate",
		VerifierVersion:   map[string]string{"hallmark": "1.4.0"},
		TimeVerified:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		ResourceURI:       "pkg:generic/app@1.0.0",
		PolicyURI:         "https://hallmark.example/policies/default/3",
		PolicyDigest:      map[string]string{"sha256": digestB},
		InputAttestations: []vsa.Attestation{{URI: "https://hallmark.example/log/17", Digest: map[string]string{"sha256": digestB}}},
		Result:            vsa.Passed,
		VerifiedLevels:    []string{"SLSA_BUILD_LEVEL_3", "HALLMARK_RISK_HIGH"},
		DependencyLevels:  map[string]int{"SLSA_BUILD_LEVEL_3": 5, "SLSA_BUILD_LEVEL_0": 2},
		SLSAVersion:       "1.0",
	}
}

// The golden statement: field names and order, map keys sorted, no HTML
// escaping, one line.
func TestStatementGolden(t *testing.T) {
	got, err := vsa.Statement(summary())
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/statement.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSuffix(want, []byte("\n"))) {
		t.Fatalf("Statement =\n%s\nwant\n%s", got, want)
	}
	for i := 0; i < 20; i++ {
		again, _ := vsa.Statement(summary())
		if !bytes.Equal(again, got) {
			t.Fatal("Statement is not deterministic")
		}
	}
	s, err := vsa.Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*s, summary()) {
		t.Fatalf("Parse(golden) = %+v, want %+v", *s, summary())
	}
}

// Optional fields are left out when empty; the time is written in UTC.
func TestStatementMinimal(t *testing.T) {
	s := vsa.Summary{
		Subjects:       []vsa.Subject{{Digest: map[string]string{"sha256": digestA}}},
		VerifierID:     "https://hallmark.example/gate",
		TimeVerified:   time.Date(2026, 1, 2, 4, 4, 5, 500, time.FixedZone("CET", 3600)),
		ResourceURI:    "https://example.com/app.tar.gz",
		PolicyURI:      "policies/default",
		Result:         vsa.Failed,
		VerifiedLevels: []string{"FAILED"},
	}
	got, err := vsa.Statement(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + digestA + `"}}],` +
		`"predicateType":"https://slsa.dev/verification_summary/v1","predicate":{"verifier":{"id":"https://hallmark.example/gate"},` +
		`"timeVerified":"2026-01-02T03:04:05.0000005Z","resourceUri":"https://example.com/app.tar.gz","policy":{"uri":"policies/default"},` +
		`"verificationResult":"FAILED","verifiedLevels":["FAILED"]}}`
	if string(got) != want {
		t.Fatalf("Statement =\n%s\nwant\n%s", got, want)
	}
	back, err := vsa.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if !back.TimeVerified.Equal(s.TimeVerified) || back.TimeVerified.Location() != time.UTC {
		t.Fatalf("TimeVerified = %v, want %v in UTC", back.TimeVerified, s.TimeVerified)
	}
}

func TestStatementInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(*vsa.Summary)
		err    string
	}{
		{"no subjects", func(s *vsa.Summary) { s.Subjects = nil }, "vsa: subject: none"},
		{"subject without digest", func(s *vsa.Summary) { s.Subjects[0].Digest = nil }, "vsa: subject[0].digest: missing"},
		{"subject name control", func(s *vsa.Summary) { s.Subjects[0].Name = "a\nb" }, "vsa: subject[0].name: control character"},
		{"short sha256", func(s *vsa.Summary) { s.Subjects[0].Digest["sha256"] = "abcd" }, `vsa: subject[0].digest["sha256"]: 2 bytes, want 32`},
		{"upper-case hex", func(s *vsa.Summary) { s.Subjects[0].Digest["sha256"] = strings.ToUpper(digestA) }, `subject[0].digest["sha256"]: "9F86`},
		{"not hex", func(s *vsa.Summary) { s.Subjects[0].Digest["sha1"] = strings.Repeat("z", 40) }, `subject[0].digest["sha1"]: "zzzz`},
		{"empty digest value", func(s *vsa.Summary) { s.Subjects[0].Digest["custom"] = "" }, `subject[0].digest["custom"]: missing`},
		{"empty algorithm", func(s *vsa.Summary) { s.Subjects[0].Digest[""] = "x" }, "subject[0].digest: empty algorithm name"},
		{"no verifier id", func(s *vsa.Summary) { s.VerifierID = "" }, "vsa: predicate.verifier.id: missing"},
		{"relative verifier id", func(s *vsa.Summary) { s.VerifierID = "gate" }, `predicate.verifier.id: "gate": not an absolute URI`},
		{"verifier id with space", func(s *vsa.Summary) { s.VerifierID = "https://x/a b" }, "predicate.verifier.id: \"https://x/a b\": contains white space"},
		{"empty version", func(s *vsa.Summary) { s.VerifierVersion["x"] = "" }, `predicate.verifier.version["x"]: missing`},
		{"empty component", func(s *vsa.Summary) { s.VerifierVersion[""] = "1" }, "predicate.verifier.version: empty component name"},
		{"no time", func(s *vsa.Summary) { s.TimeVerified = time.Time{} }, "vsa: predicate.timeVerified: missing"},
		{"far future", func(s *vsa.Summary) { s.TimeVerified = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "predicate.timeVerified: year 10000"},
		{"no resource", func(s *vsa.Summary) { s.ResourceURI = "" }, "vsa: predicate.resourceUri: missing"},
		{"relative resource", func(s *vsa.Summary) { s.ResourceURI = "app" }, "predicate.resourceUri: \"app\": not an absolute URI"},
		{"no policy", func(s *vsa.Summary) { s.PolicyURI = "" }, "vsa: predicate.policy.uri: missing"},
		{"bad policy uri", func(s *vsa.Summary) { s.PolicyURI = "%zz" }, "predicate.policy.uri: \"%zz\": not a URI"},
		{"empty policy digest", func(s *vsa.Summary) { s.PolicyDigest = map[string]string{} }, "predicate.policy.digest: missing"},
		{"bad policy digest", func(s *vsa.Summary) { s.PolicyDigest["sha512"] = digestA }, `predicate.policy.digest["sha512"]: 32 bytes, want 64`},
		{"input without digest", func(s *vsa.Summary) { s.InputAttestations[0].Digest = nil }, "predicate.inputAttestations[0].digest: missing"},
		{"input bad uri", func(s *vsa.Summary) { s.InputAttestations[0].URI = "a\x7fb" }, "predicate.inputAttestations[0].uri: control character"},
		{"no result", func(s *vsa.Summary) { s.Result = "" }, "vsa: predicate.verificationResult: missing"},
		{"bad result", func(s *vsa.Summary) { s.Result = "passed" }, `predicate.verificationResult: "passed", want "PASSED" or "FAILED"`},
		{"no levels", func(s *vsa.Summary) { s.VerifiedLevels = nil }, "vsa: predicate.verifiedLevels: none"},
		{"empty level", func(s *vsa.Summary) { s.VerifiedLevels = []string{""} }, "predicate.verifiedLevels[0]: empty level"},
		{"bad SLSA level", func(s *vsa.Summary) { s.VerifiedLevels = []string{"SLSA_BUILD_3"} }, `predicate.verifiedLevels[0]: "SLSA_BUILD_3" starts with SLSA_`},
		{"SLSA level with underscore track", func(s *vsa.Summary) { s.VerifiedLevels = []string{"SLSA_MY_BUILD_LEVEL_1"} }, "not SLSA_<TRACK>_LEVEL_<n>"},
		{"SLSA level leading zero", func(s *vsa.Summary) { s.VerifiedLevels = []string{"SLSA_BUILD_LEVEL_03"} }, "not SLSA_<TRACK>_LEVEL_<n>"},
		{"two levels of a track", func(s *vsa.Summary) { s.VerifiedLevels = []string{"SLSA_BUILD_LEVEL_3", "SLSA_BUILD_LEVEL_2"} }, `predicate.verifiedLevels[1]: "SLSA_BUILD_LEVEL_3" and "SLSA_BUILD_LEVEL_2" are both of track BUILD`},
		{"duplicate level", func(s *vsa.Summary) { s.VerifiedLevels = []string{"X", "X"} }, `predicate.verifiedLevels[1]: "X" is listed twice`},
		{"long custom level", func(s *vsa.Summary) { s.VerifiedLevels = []string{strings.Repeat("X", 257)} }, "over the limit of 256"},
		{"passed but FAILED", func(s *vsa.Summary) { s.VerifiedLevels = []string{"FAILED"} }, `predicate.verifiedLevels: "FAILED" in a summary whose result is "PASSED"`},
		{"bad dependency level", func(s *vsa.Summary) { s.DependencyLevels["SLSA_X"] = 1 }, `predicate.dependencyLevels: key "SLSA_X"`},
		{"negative dependency count", func(s *vsa.Summary) { s.DependencyLevels["SLSA_BUILD_LEVEL_1"] = -1 }, `predicate.dependencyLevels["SLSA_BUILD_LEVEL_1"]: negative count -1`},
		{"bad slsa version", func(s *vsa.Summary) { s.SLSAVersion = "1" }, `predicate.slsaVersion: "1" is not <MAJOR>.<MINOR>`},
		{"slsa version leading zero", func(s *vsa.Summary) { s.SLSAVersion = "1.01" }, "predicate.slsaVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summary()
			tt.change(&s)
			_, err := vsa.Statement(s)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Statement: err = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

// Valid variants Statement accepts and Parse reads back unchanged.
func TestStatementValidVariants(t *testing.T) {
	tests := []struct {
		name   string
		change func(*vsa.Summary)
	}{
		{"custom digest algorithm", func(s *vsa.Summary) { s.Subjects[0].Digest["gce_image_id"] = "8970452543" }},
		{"git sha-256 commit", func(s *vsa.Summary) { s.Subjects[0].Digest["gitCommit"] = digestA }},
		{"git sha-1 commit", func(s *vsa.Summary) { s.Subjects[0].Digest["gitCommit"] = digestA[:40] }},
		{"several subjects", func(s *vsa.Summary) {
			s.Subjects = append(s.Subjects, vsa.Subject{Name: "bin/b", Digest: map[string]string{"sha256": digestB}})
		}},
		{"input attestation without uri", func(s *vsa.Summary) { s.InputAttestations[0].URI = "" }},
		{"several tracks", func(s *vsa.Summary) { s.VerifiedLevels = []string{"SLSA_BUILD_LEVEL_2", "SLSA_SOURCE_LEVEL_1"} }},
		{"failed with levels", func(s *vsa.Summary) { s.Result = vsa.Failed; s.VerifiedLevels = []string{"FAILED"} }},
		{"html characters", func(s *vsa.Summary) { s.ResourceURI = "https://example.com/a?x=1&y=<2>" }},
		{"unicode name", func(s *vsa.Summary) { s.Subjects[0].Name = "bin/äpp" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summary()
			tt.change(&s)
			data, err := vsa.Statement(s)
			if err != nil {
				t.Fatal(err)
			}
			back, err := vsa.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*back, s) {
				t.Fatalf("round trip: got %+v, want %+v", *back, s)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	good, err := vsa.Statement(summary())
	if err != nil {
		t.Fatal(err)
	}
	// replace returns good with old replaced by new once; it fails the test
	// when old is not there, so a case cannot silently test nothing.
	replace := func(old, new string) string {
		if !strings.Contains(string(good), old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	tests := []struct {
		name, in, err string
	}{
		{"empty", ``, "vsa: statement: unexpected end of JSON input"},
		{"array", `[]`, "cannot unmarshal array"},
		{"null", `null`, `vsa: _type: ""`},
		{"trailing data", string(good) + `{}`, "vsa: statement: data after the JSON value"},
		{"not UTF-8", replace("bin/app", "bin/\xff"), "vsa: statement: not valid UTF-8"},
		{"wrong type", replace("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"), `vsa: _type: "https://in-toto.io/Statement/v0.1"`},
		{"wrong predicate type", replace("verification_summary/v1", "verification_summary/v0.2"), `vsa: predicateType: "https://slsa.dev/verification_summary/v0.2"`},
		{"unknown top-level field", replace(`"predicateType"`, `"x":1,"predicateType"`), "vsa: statement: x: unknown field"},
		{"null predicate", `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://slsa.dev/verification_summary/v1","predicate":null}`, "vsa: predicate: missing"},
		{"unknown predicate field", replace(`"slsaVersion"`, `"extra":true,"slsaVersion"`), "vsa: statement: predicate.extra: unknown field"},
		{"unknown subject field", replace(`"name":"bin/app"`, `"uri":"x","name":"bin/app"`), `vsa: statement: json: unknown field "uri"`},
		{"case variant", replace(`"resourceUri"`, `"ResourceURI"`), "vsa: statement: predicate.ResourceURI: unknown field"},
		{"case variant field in place of another", replace(`"slsaVersion"`, `"SLSAVersion"`), "predicate.SLSAVersion: unknown field"},
		{"duplicate key", replace(`"verificationResult":"PASSED"`, `"verificationResult":"FAILED","verificationResult":"PASSED"`), "vsa: statement: predicate.verificationResult: duplicate key"},
		{"duplicate digest", replace(`{"sha256":"`+digestA+`"}`, `{"sha256":"`+digestB+`","sha256":"`+digestA+`"}`), `vsa: statement: subject[0].digest["sha256"]: duplicate key`},
		{"time not UTC", replace("2026-01-02T03:04:05Z", "2026-01-02T04:04:05+01:00"), "vsa: predicate.timeVerified: \"2026-01-02T04:04:05+01:00\" is not in UTC"},
		{"time not RFC 3339", replace("2026-01-02T03:04:05Z", "2026-01-02 03:04:05Z"), "is not an RFC 3339 timestamp"},
		{"no time", replace(`"timeVerified":"2026-01-02T03:04:05Z",`, ``), "vsa: predicate.timeVerified: missing"},
		{"time number", replace(`"2026-01-02T03:04:05Z"`, `5`), "cannot unmarshal number"},
		{"float count", replace(`"SLSA_BUILD_LEVEL_3":5`, `"SLSA_BUILD_LEVEL_3":5.5`), "cannot unmarshal number 5.5"},
		{"huge count", replace(`"SLSA_BUILD_LEVEL_3":5`, `"SLSA_BUILD_LEVEL_3":1e400`), "cannot unmarshal number"},
		{"levels null", replace(`["SLSA_BUILD_LEVEL_3","HALLMARK_RISK_HIGH"]`, `null`), "vsa: predicate.verifiedLevels: none"},
		{"level not string", replace(`["SLSA_BUILD_LEVEL_3","HALLMARK_RISK_HIGH"]`, `[3]`), "cannot unmarshal number"},
		{"result lower case", replace(`"PASSED"`, `"passed"`), `predicate.verificationResult: "passed"`},
		{"too deep", replace(`"name":"bin/app"`, `"name":[[[[[[[[1]]]]]]]]`), "nested deeper than 8"},
		{"digest missing", replace(`"digest":{"sha256":"`+digestA+`"}`, `"digest":{}`), "vsa: subject[0].digest: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := vsa.Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Parse: (%v, %v), want an error containing %q", s, err, tt.err)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		big := append(bytes.Repeat([]byte(" "), vsa.MaxSize), good...)
		if _, err := vsa.Parse(big); err == nil || !strings.Contains(err.Error(), "over the limit") {
			t.Fatalf("Parse: err = %v", err)
		}
	})
}

// Empty optional collections read as absent ones, so that what Parse
// returns Statement writes and Parse reads back unchanged.
func TestParseEmptyOptional(t *testing.T) {
	good, _ := vsa.Statement(summary())
	in := strings.Replace(string(good), `"version":{"hallmark":"1.4.0"}`, `"version":{}`, 1)
	in = strings.Replace(in, `{"SLSA_BUILD_LEVEL_0":2,"SLSA_BUILD_LEVEL_3":5}`, `{}`, 1)
	in = strings.Replace(in, `"inputAttestations":[{"uri":"https://hallmark.example/log/17","digest":{"sha256":"`+digestB+`"}}]`, `"inputAttestations":[]`, 1)
	if strings.Contains(in, "1.4.0") || strings.Contains(in, "LEVEL_0") || strings.Contains(in, "log/17") {
		t.Fatalf("fixture not changed: %s", in)
	}
	s, err := vsa.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if s.VerifierVersion != nil || s.DependencyLevels != nil || s.InputAttestations != nil {
		t.Fatalf("Parse = %+v, want nil version, dependencyLevels and inputAttestations", *s)
	}
	again, err := vsa.Statement(*s)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := vsa.Parse(again)
	if err != nil || !reflect.DeepEqual(s, s2) {
		t.Fatalf("round trip: %+v, %v; want %+v", s2, err, s)
	}
}

// A statement as another producer might write it: pretty-printed, keys in
// another order, optional fields absent.
func TestParseForeign(t *testing.T) {
	data, err := os.ReadFile("testdata/foreign.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := vsa.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := vsa.Summary{
		Subjects:       []vsa.Subject{{Name: "out/example-1.2.3.tar.gz", Digest: map[string]string{"sha256": digestA}}},
		VerifierID:     "https://example.com/publication_verifier",
		TimeVerified:   time.Date(1985, 4, 12, 23, 20, 50, 520000000, time.UTC),
		ResourceURI:    "https://example.com/example-1.2.3.tar.gz",
		PolicyURI:      "https://example.com/example_tarball.policy",
		PolicyDigest:   map[string]string{"sha256": digestB},
		Result:         vsa.Passed,
		VerifiedLevels: []string{"SLSA_BUILD_LEVEL_3"},
	}
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("Parse = %+v, want %+v", *s, want)
	}
}

func TestSignVerify(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)

	env, err := vsa.Sign(summary(), ec)
	if err != nil {
		t.Fatal(err)
	}
	// The envelope is the bare DSSE JSON form with standard base64 and the
	// key's SSH fingerprint as keyid.
	var raw struct {
		PayloadType string
		Payload     string
		Signatures  []struct{ Keyid, Sig string }
	}
	if err := json.Unmarshal(env, &raw); err != nil {
		t.Fatal(err)
	}
	want, _ := vsa.Statement(summary())
	if raw.PayloadType != "application/vnd.in-toto+json" || raw.Payload != base64.StdEncoding.EncodeToString(want) {
		t.Fatalf("envelope = %s", env)
	}
	id, err := vsa.KeyID(ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Signatures) != 1 || raw.Signatures[0].Keyid != id || !strings.HasPrefix(id, "SHA256:") {
		t.Fatalf("signatures = %+v, want one with keyid %s", raw.Signatures, id)
	}
	if !strings.Contains(string(env), `"keyid":`) || !strings.Contains(string(env), `"payloadType":`) {
		t.Fatalf("envelope field names: %s", env)
	}

	got, err := vsa.Verify(env, ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, summary()) {
		t.Fatalf("Verify = %+v", *got)
	}

	edEnv, err := vsa.Sign(summary(), ed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vsa.Verify(edEnv, ed.Public()); err != nil {
		t.Fatalf("ed25519: %v", err)
	}

	// resign returns env with its payload replaced and re-encoded, keeping
	// the signature.
	repayload := func(payload []byte) []byte {
		var e map[string]any
		if err := json.Unmarshal(env, &e); err != nil {
			t.Fatal(err)
		}
		e["payload"] = base64.StdEncoding.EncodeToString(payload)
		out, _ := json.Marshal(e)
		return out
	}
	tampered := bytes.Replace(want, []byte(`"PASSED"`), []byte(`"FAILED"`), 1)
	tampered = bytes.Replace(tampered, []byte(`"SLSA_BUILD_LEVEL_3","HALLMARK_RISK_HIGH"`), []byte(`"FAILED"`), 1)
	if bytes.Equal(tampered, want) {
		t.Fatal("tampering changed nothing")
	}
	otherEnv, _ := vsa.Sign(summary(), other)
	invalid := summary()
	invalid.Result = "MAYBE"
	invalidPayload, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1"})
	badType, _ := dsse.Sign(ec, "", "text/plain", want)
	badTypeJSON, _ := json.Marshal(map[string]any{"payloadType": badType.PayloadType, "payload": badType.Payload,
		"signatures": []map[string]any{{"sig": badType.Signatures[0].Sig}}})
	badStatement, _ := dsse.Sign(ec, "", dsse.PayloadTypeInToto, invalidPayload)
	badStatementJSON, _ := json.Marshal(map[string]any{"payloadType": badStatement.PayloadType, "payload": badStatement.Payload,
		"signatures": []map[string]any{{"sig": badStatement.Signatures[0].Sig}}})

	tests := []struct {
		name string
		env  []byte
		err  string
		sig  bool // wants dsse.ErrSignature
	}{
		{"tampered payload", repayload(tampered), "signature does not verify", true},
		{"another key", otherEnv, "signature does not verify", true},
		{"ed25519 signature, ecdsa key", edEnv, "signature does not verify", true},
		{"payload type", badTypeJSON, `vsa: envelope: payloadType: "text/plain"`, false},
		{"signed but not a VSA", badStatementJSON, "vsa: predicateType", false},
		{"not an envelope", []byte(`{"x":1}`), "vsa: envelope: dsse:", false},
		{"empty", nil, "vsa: envelope:", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := vsa.Verify(tt.env, ec.Public())
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Verify = (%v, %v), want an error containing %q", s, err, tt.err)
			}
			if tt.sig != errors.Is(err, dsse.ErrSignature) {
				t.Fatalf("errors.Is(%v, dsse.ErrSignature) = %v", err, !tt.sig)
			}
		})
	}
	if _, err := vsa.Sign(invalid, ec); err == nil || !strings.Contains(err.Error(), "verificationResult") {
		t.Fatalf("Sign(invalid) err = %v", err)
	}
}

// KeyID is the OpenSSH SHA-256 fingerprint of the key: for ECDSA P-256 the
// SHA-256 of the SSH wire encoding (string "ecdsa-sha2-nistp256", string
// "nistp256", string point), unpadded base64.
func TestKeyID(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	point, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var wire bytes.Buffer
	for _, f := range [][]byte{[]byte("ecdsa-sha2-nistp256"), []byte("nistp256"), point} {
		wire.Write([]byte{0, 0, byte(len(f) >> 8), byte(len(f))})
		wire.Write(f)
	}
	sum := sha256.Sum256(wire.Bytes())
	want := "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
	got, err := vsa.KeyID(k.Public())
	if err != nil || got != want {
		t.Fatalf("KeyID = %q, %v, want %q", got, err, want)
	}
	if _, err := vsa.KeyID("not a key"); err == nil {
		t.Fatal("KeyID of a string: no error")
	}
}

// FuzzParse: Parse never panics; what it accepts Statement writes again, and
// Parse reads that back to the same Summary.
func FuzzParse(f *testing.F) {
	good, _ := vsa.Statement(summary())
	f.Add(good)
	if foreign, err := os.ReadFile("testdata/foreign.json"); err == nil {
		f.Add(foreign)
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"x":"y"}}],"predicateType":"https://slsa.dev/verification_summary/v1","predicate":{}}`))
	f.Add([]byte(`{"subject":[{"digest":{"a":"b","a":"c"}}]}`))
	f.Add([]byte(`[[[[[[[[[[[[]]]]]]]]]]]]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := vsa.Parse(data)
		if err != nil {
			return
		}
		again, err := vsa.Statement(*s)
		if err != nil {
			t.Fatalf("Statement of a parsed summary: %v", err)
		}
		s2, err := vsa.Parse(again)
		if err != nil {
			t.Fatalf("Parse of Statement's output: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip changed the summary:\n%+v\n%+v", s, s2)
		}
		third, _ := vsa.Statement(*s2)
		if !bytes.Equal(again, third) {
			t.Fatalf("Statement is not stable:\n%s\n%s", again, third)
		}
	})
}
