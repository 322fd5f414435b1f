package provenance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	shaA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	shaB = "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
)

// testBuild returns a complete build, new each time so tests may change it.
func testBuild() Build {
	start := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	return Build{
		Subjects: []Subject{{Name: "bin/hello", SHA256: shaA}},
		External: map[string]any{
			"source":  map[string]any{"uri": "git+https://example.com/hello.git", "ref": "refs/heads/main", "commit": strings.Repeat("a", 40)},
			"spec":    map[string]any{"path": "hallmark.yaml", "sha256": shaB},
			"profile": "release",
		},
		Internal: map[string]any{"sandbox": map[string]any{"network": false}, "workerId": "worker-1"},
		Materials: []Material{
			{URI: "git+https://example.com/hello.git@refs/heads/main", Digest: map[string]string{"gitCommit": strings.Repeat("a", 40), "dirHash": shaB}, Name: "source"},
			{URI: "pkg:golang/golang.org/x/text@v0.3.0", Digest: map[string]string{"sha256": shaA}},
			{URI: "https://go.dev/dl/go1.26.8.linux-amd64.tar.gz", Digest: map[string]string{"sha256": shaB}, Name: "toolchain"},
		},
		BuilderID:      "https://hallmark.dev/builder/example",
		BuilderVersion: map[string]string{"hallmark": "v0.1.0"},
		InvocationID:   "https://hallmark.example.com/builds/42",
		Started:        start,
		Finished:       start.Add(90*time.Second + 5*time.Millisecond),
		Byproducts:     []Material{{Name: "log", Digest: map[string]string{"sha256": shaB}}},
		Tenant:         map[string]string{"artifact": "hello", "team": "core"},
	}
}

func TestGolden(t *testing.T) {
	got, err := Statement(testBuild())
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/statement.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSpace(want)) {
		t.Errorf("statement differs from testdata/statement.json:\n got %s\nwant %s", got, want)
	}
	// Deterministic: the same build again gives the same bytes.
	for range 5 {
		again, err := Statement(testBuild())
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("second statement differs: %v\n%s", err, again)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	data, err := Statement(testBuild())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := testBuild()
	if !reflect.DeepEqual(b.Subjects, want.Subjects) || !reflect.DeepEqual(b.Tenant, want.Tenant) ||
		!reflect.DeepEqual(b.Materials, want.Materials) || !b.Started.Equal(want.Started) || !b.Finished.Equal(want.Finished) ||
		b.BuilderID != want.BuilderID || b.BuildType != BuildTypeV1 || b.InvocationID != want.InvocationID {
		t.Errorf("Parse gave %+v, want %+v", b, want)
	}
	if _, ok := b.External[TenantKey]; ok {
		t.Errorf("External holds %s after Parse; tenant fields belong in Tenant only", TenantKey)
	}
	again, err := Statement(*b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("Statement(Parse(s)) != s:\n%s\n%s", again, data)
	}
}

func TestStatementErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(b *Build)
		want   string
	}{
		{"no subjects", func(b *Build) { b.Subjects = nil }, "subject: none"},
		{"empty name", func(b *Build) { b.Subjects[0].Name = "" }, "subject[0].name: missing"},
		{"duplicate name", func(b *Build) { b.Subjects = append(b.Subjects, b.Subjects[0]) }, `subject[1].name: "bin/hello" given twice`},
		{"short digest", func(b *Build) { b.Subjects[0].SHA256 = "abcd" }, "subject[0].digest.sha256: 4 hex digits, want 64"},
		{"upper digest", func(b *Build) { b.Subjects[0].SHA256 = strings.ToUpper(shaA) }, "subject[0].digest.sha256: not lowercase hex"},
		{"non-hex digest", func(b *Build) { b.Subjects[0].SHA256 = strings.Repeat("g", 64) }, "not lowercase hex"},
		{"relative build type", func(b *Build) { b.BuildType = "build/v1" }, "buildDefinition.buildType: \"build/v1\" is not an absolute URI"},
		{"no external", func(b *Build) { b.External = nil }, "externalParameters: none"},
		{"external uses tenant key", func(b *Build) { b.External[TenantKey] = map[string]any{"x": "y"} }, "externalParameters.tenantProvided: reserved"},
		{"external not JSON", func(b *Build) { b.External["f"] = func() {} }, "externalParameters: json: unsupported type"},
		{"material empty", func(b *Build) { b.Materials[1] = Material{Name: "x"} }, "resolvedDependencies[1]: neither uri nor digest"},
		{"material bad digest", func(b *Build) { b.Materials[0].Digest["gitCommit"] = "abc" }, "resolvedDependencies[0].digest.gitCommit: 3 hex digits, want 40"},
		{"material relative uri", func(b *Build) { b.Materials[0].URI = "hello.git" }, "resolvedDependencies[0].uri:"},
		{"no builder", func(b *Build) { b.BuilderID = "" }, "builder.id: missing"},
		{"relative builder", func(b *Build) { b.BuilderID = "hallmark" }, "builder.id: \"hallmark\" is not an absolute URI"},
		{"no invocation", func(b *Build) { b.InvocationID = "" }, "invocationId: missing"},
		{"no start", func(b *Build) { b.Started = time.Time{} }, "startedOn: missing"},
		{"no finish", func(b *Build) { b.Finished = time.Time{} }, "finishedOn: missing"},
		{"finish before start", func(b *Build) { b.Finished = b.Started.Add(-time.Second) }, "finishedOn: before startedOn"},
		{"byproduct bad", func(b *Build) { b.Byproducts[0].Digest["sha256"] = "00" }, "byproducts[0].digest.sha256"},
		{"tenant empty name", func(b *Build) { b.Tenant[""] = "x" }, "tenantProvided[\"\"]"},
		{"tenant too long", func(b *Build) { b.Tenant["x"] = strings.Repeat("v", MaxTenantLen+1) }, "over 1024 bytes"},
		{"tenant too many", func(b *Build) {
			for i := range MaxTenant + 1 {
				b.Tenant[fmt.Sprint(i)] = "v"
			}
		}, "over the limit of 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testBuild()
			tt.change(&b)
			_, err := Statement(b)
			if err == nil {
				t.Fatalf("Statement succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "provenance: ") {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestTenantKeptApart shows that nothing a tenant supplies reaches subjects,
// builder, materials or the other parameters, whatever the names it picks.
func TestTenantKeptApart(t *testing.T) {
	b := testBuild()
	b.Tenant = map[string]string{
		"subject":              "evil",
		"subject.sha256":       shaB,
		"builder.id":           "https://evil.example.com",
		"source":               "git+https://evil.example.com/x.git",
		"profile":              "debug",
		"resolvedDependencies": "none",
	}
	data, err := Statement(b)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Subject   []wireSubject `json:"subject"`
		Predicate struct {
			BuildDefinition wireBuildDefinition `json:"buildDefinition"`
			RunDetails      wireRunDetails      `json:"runDetails"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Subject) != 1 || st.Subject[0].Name != "bin/hello" || st.Subject[0].Digest["sha256"] != shaA {
		t.Errorf("subjects %+v, want only bin/hello", st.Subject)
	}
	if st.Predicate.RunDetails.Builder.ID != b.BuilderID {
		t.Errorf("builder.id %q", st.Predicate.RunDetails.Builder.ID)
	}
	ext := st.Predicate.BuildDefinition.ExternalParameters
	if ext["profile"] != "release" || len(ext) != len(b.External)+1 {
		t.Errorf("externalParameters %v: tenant values leaked out of %s", ext, TenantKey)
	}
	if src := ext["source"].(map[string]any); src["uri"] != "git+https://example.com/hello.git" {
		t.Errorf("source %v", src)
	}
	if got := ext[TenantKey].(map[string]any); len(got) != len(b.Tenant) || got["subject.sha256"] != shaB {
		t.Errorf("%s = %v, want the tenant's fields", TenantKey, got)
	}
	if len(st.Predicate.BuildDefinition.ResolvedDependencies) != len(b.Materials) {
		t.Errorf("resolvedDependencies %v", st.Predicate.BuildDefinition.ResolvedDependencies)
	}
	// The caller's maps are not changed.
	if _, ok := b.External[TenantKey]; ok {
		t.Errorf("Statement wrote %s into the caller's External", TenantKey)
	}
}

func TestParseErrors(t *testing.T) {
	good, err := Statement(testBuild())
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "malformed"},
		{"not an object", "[]", "malformed"},
		{"trailing data", s + "{}", "data after the statement"},
		{"unknown top field", strings.Replace(s, `"_type"`, `"extra":1,"_type"`, 1), `unknown field "extra"`},
		{"unknown predicate field", strings.Replace(s, `"buildDefinition"`, `"x":1,"buildDefinition"`, 1), `unknown field "x"`},
		{"duplicate key", strings.Replace(s, `"_type"`, `"subject":[],"_type"`, 1), "statement.subject: key given twice"},
		{"wrong type", strings.Replace(s, "https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1", 1), "_type"},
		{"wrong predicate type", strings.Replace(s, PredicateType, "https://slsa.dev/provenance/v0.2", 1), "predicateType"},
		{"two subject digests", strings.Replace(s, `"digest":{"sha256":"`+shaA, `"digest":{"sha512":"00","sha256":"`+shaA, 1), "subject[0].digest: want exactly one digest"},
		{"local time", strings.Replace(s, "2026-11-22T05:00:00Z", "2026-11-22T06:00:00+01:00", 1), "startedOn: \"2026-11-22T06:00:00+01:00\" is not in UTC"},
		{"bad time", strings.Replace(s, "2026-11-22T05:00:00Z", "yesterday", 1), "startedOn: not an RFC 3339 time"},
		{"finish before start", strings.Replace(s, "2026-11-22T05:01:30.005Z", "2026-11-22T04:00:00Z", 1), "finishedOn: before startedOn"},
		{"tenant not strings", strings.Replace(s, `"team":"core"`, `"team":1`, 1), `tenantProvided["team"]: not a string`},
		{"tenant not object", strings.Replace(s, `{"artifact":"hello","team":"core"}`, `"x"`, 1), "tenantProvided: not an object"},
		{"unknown runDetails field", strings.Replace(s, `"metadata":`, `"m":null,"metadata":`, 1), `unknown field "m"`},
		{"null predicate", `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://slsa.dev/provenance/v1","predicate":null}`, "predicate: missing"},
		{"deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested too deeply"},
		{"too large", `{"_type":"` + strings.Repeat("x", MaxSize) + `"}`, "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "provenance: ") {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
		})
	}
}
