package osv

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readRecord(t testing.TB, id string) *Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", id, err)
	}
	return r
}

func TestParseReal(t *testing.T) {
	r := readRecord(t, "GO-2021-0113")
	want := &Record{
		SchemaVersion: "1.3.1",
		ID:            "GO-2021-0113",
		Modified:      time.Time{},
		Published:     time.Date(2021, 10, 6, 17, 51, 21, 0, time.UTC),
		Aliases:       []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"},
		Summary:       "Out-of-bounds read in golang.org/x/text/language",
	}
	if r.ID != want.ID || r.SchemaVersion != want.SchemaVersion || !r.Modified.Equal(want.Modified) ||
		!r.Published.Equal(want.Published) || !reflect.DeepEqual(r.Aliases, want.Aliases) || r.Summary != want.Summary {
		t.Errorf("Parse(GO-2021-0113) = %+v, want %+v", r, want)
	}
	if len(r.Affected) != 1 {
		t.Fatalf("len(Affected) = %d, want 1", len(r.Affected))
	}
	a := r.Affected[0]
	if a.Package != (Package{Ecosystem: "Go", Name: "golang.org/x/text"}) {
		t.Errorf("Package = %+v", a.Package)
	}
	wantRanges := []Range{{Type: SemVer, Events: []Event{{Introduced, "0"}, {Fixed, "0.3.7"}}}}
	if !reflect.DeepEqual(a.Ranges, wantRanges) {
		t.Errorf("Ranges = %+v, want %+v", a.Ranges, wantRanges)
	}
	if !strings.Contains(string(a.EcosystemSpecific), "golang.org/x/text/language") {
		t.Errorf("EcosystemSpecific = %s", a.EcosystemSpecific)
	}
	if len(r.References) != 2 || r.References[0].Type != "FIX" || r.References[0].URL != "https://go.dev/cl/340830" {
		t.Errorf("References = %+v", r.References)
	}
	if r.Withdrawn() || r.Malicious() {
		t.Errorf("Withdrawn() = %v, Malicious() = %v, want false, false", r.Withdrawn(), r.Malicious())
	}
	if got := r.Fixed("Go", "golang.org/x/text", "0.3.6"); got != "0.3.7" {
		t.Errorf("Fixed = %q, want 0.3.7", got)
	}
}

// TestRealAffects checks versions against the ranges of records from the Go
// vulnerability database.
func TestRealAffects(t *testing.T) {
	tests := []struct {
		id, pkg, version string
		want             bool
		fixed            string
	}{
		{"GO-2021-0113", "golang.org/x/text", "0.3.6", true, "0.3.7"},
		{"GO-2021-0113", "golang.org/x/text", "0.0.0-20170915032832-14c0d48ead0c", true, "0.3.7"},
		{"GO-2021-0113", "golang.org/x/text", "0.3.7", false, ""},
		{"GO-2021-0113", "golang.org/x/text", "0.3.8", false, ""},
		{"GO-2021-0067", "stdlib", GoVersion("go1.16"), true, "1.16.1"},
		{"GO-2021-0067", "stdlib", GoVersion("go1.16rc1"), true, "1.16.1"},
		{"GO-2021-0067", "stdlib", GoVersion("go1.15.8"), false, ""},
		{"GO-2021-0067", "stdlib", GoVersion("go1.16.1"), false, ""},
		{"GO-2022-0288", "stdlib", GoVersion("go1.16.11"), true, "1.16.12"},
		{"GO-2022-0288", "stdlib", GoVersion("go1.16.12"), false, ""},
		{"GO-2022-0288", "stdlib", GoVersion("go1.17"), true, "1.17.5"},
		{"GO-2022-0288", "stdlib", GoVersion("go1.17.5"), false, ""},
		{"GO-2022-0288", "golang.org/x/net", "0.0.0-20211208000000-aaaaaaaaaaaa", true, "0.0.0-20211209124913-491a49abca63"},
		{"GO-2022-0288", "golang.org/x/net", "0.0.0-20211209124913-491a49abca63", false, ""},
		{"GO-2022-0288", "golang.org/x/net", "0.1.0", false, ""},
		{"GO-2020-0004", "github.com/nanobox-io/golang-nanoauth", "0.0.0-20160722212129-ac0cc4484ad4", true, "0.0.0-20200131131040-063a3fb69896"},
		{"GO-2020-0004", "github.com/nanobox-io/golang-nanoauth", "0.0.0-20160101000000-aaaaaaaaaaaa", false, ""},
		{"GO-2021-0072", "github.com/docker/distribution", "2.6.2+incompatible", true, "2.7.0-rc.0+incompatible"},
		{"GO-2021-0072", "github.com/docker/distribution", "2.7.0-rc.0+incompatible", false, ""},
		{"GO-2021-0072", "github.com/docker/distribution", "2.7.1+incompatible", false, ""},
		{"GO-2022-0617", "k8s.io/kubernetes", "1.30.0", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.pkg+"@"+tt.version, func(t *testing.T) {
			r := readRecord(t, tt.id)
			got := false
			for _, a := range r.Affected {
				if a.Package.Name != tt.pkg {
					continue
				}
				ok, err := a.Affects(tt.version)
				if err != nil {
					t.Fatal(err)
				}
				got = got || ok
			}
			if got != tt.want {
				t.Errorf("affects %s@%s = %v, want %v", tt.pkg, tt.version, got, tt.want)
			}
			if f := r.Fixed("Go", tt.pkg, tt.version); f != tt.fixed {
				t.Errorf("Fixed = %q, want %q", f, tt.fixed)
			}
		})
	}
}

func TestWithdrawnMalicious(t *testing.T) {
	r := readRecord(t, "GO-2022-0617")
	if !r.Withdrawn() {
		t.Errorf("GO-2022-0617 Withdrawn() = false, want true")
	}
	if want := time.Date(2024, 8, 21, 16, 25, 56, 0, time.UTC); !r.WithdrawnAt.Equal(want) {
		t.Errorf("WithdrawnAt = %v, want %v", r.WithdrawnAt, want)
	}
	m, err := Parse([]byte(`{"id":"MAL-2024-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"evil"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Malicious() {
		t.Errorf("MAL-2024-1 Malicious() = false, want true")
	}
}

func TestParseErrors(t *testing.T) {
	const head = `"id":"GO-2021-0113","modified":"2021-01-01T00:00:00Z"`
	rng := func(r string) string {
		return `{` + head + `,"affected":[{"package":{"ecosystem":"Go","name":"m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]},` + r + `]}]}`
	}
	tests := []struct {
		name, in, want string
	}{
		{"not json", `{`, "osv: invalid JSON: unexpected end of JSON input"},
		{"trailing data", `{"id":"X"} {}`, "osv: invalid JSON: invalid character '{' after top-level value"},
		{"array", `[]`, "osv: record is array, want object"},
		{"duplicate id", `{"id":"GO-1","id":"GO-2"}`, `osv: duplicate member "id"`},
		{"duplicate nested", rng(`{"type":"SEMVER","events":[{"introduced":"0","introduced":"1.0.0"}]}`), `osv: GO-2021-0113: affected[0].ranges[1].events[0]: duplicate member "introduced"`},
		{"null", `null`, "osv: record is null"},
		{"missing id", `{"modified":"2021-01-01T00:00:00Z"}`, "osv: missing id"},
		{"id number", `{"id":12}`, "osv: id: is number, want string"},
		{"missing modified", `{"id":"GO-2021-0113"}`, "osv: GO-2021-0113: modified: missing"},
		{"bad time", `{"id":"GO-2021-0113","modified":"yesterday"}`, `osv: GO-2021-0113: modified: "yesterday" is not an RFC 3339 timestamp`},
		{"aliases string", `{` + head + `,"aliases":"CVE-1"}`, "osv: GO-2021-0113: aliases: is string, want array"},
		{"alias number", `{` + head + `,"aliases":["CVE-1",2]}`, "osv: GO-2021-0113: aliases[1]: is number, want string"},
		{"severity object", `{` + head + `,"severity":[{"type":"CVSS_V3","score":7.5}]}`, "osv: GO-2021-0113: severity[0].score: is number, want string"},
		{"severity no type", `{` + head + `,"severity":[{"score":"x"}]}`, "osv: GO-2021-0113: severity[0].type: missing"},
		{"reference url", `{` + head + `,"references":[{"type":"WEB","url":true}]}`, "osv: GO-2021-0113: references[0].url: is boolean, want string"},
		{"database_specific array", `{` + head + `,"database_specific":[]}`, "osv: GO-2021-0113: database_specific: is array, want object"},
		{"affected object", `{` + head + `,"affected":{}}`, "osv: GO-2021-0113: affected: is object, want array"},
		{"package name", `{` + head + `,"affected":[{"package":{"ecosystem":"Go","name":1}}]}`, "osv: GO-2021-0113: affected[0].package.name: is number, want string"},
		{"versions", `{` + head + `,"affected":[{"versions":[1]}]}`, "osv: GO-2021-0113: affected[0].versions[0]: is number, want string"},
		{"unknown range type", rng(`{"type":"PEP440","events":[{"introduced":"0"}]}`), `osv: GO-2021-0113: affected[0].ranges[1].type: unknown range type "PEP440"`},
		{"missing range type", rng(`{"events":[{"introduced":"0"}]}`), `osv: GO-2021-0113: affected[0].ranges[1].type: missing`},
		{"git without repo", rng(`{"type":"GIT","events":[{"introduced":"0"}]}`), `osv: GO-2021-0113: affected[0].ranges[1]: GIT range has no repo`},
		{"no events", rng(`{"type":"SEMVER","events":[]}`), `osv: GO-2021-0113: affected[0].ranges[1].events: no events`},
		{"no introduced", rng(`{"type":"SEMVER","events":[{"fixed":"1.0.0"}]}`), `osv: GO-2021-0113: affected[0].ranges[1].events: no introduced event`},
		{"event two keys", rng(`{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"},{"introduced":"1.1.0","fixed":"1.2.0"}]}`), `osv: GO-2021-0113: affected[0].ranges[1].events[2]: event has 2 keys (fixed, introduced), want exactly one of introduced, fixed, last_affected, limit`},
		{"event zero keys", rng(`{"type":"SEMVER","events":[{"introduced":"0"},{"fixd":"1.0.0"}]}`), `osv: GO-2021-0113: affected[0].ranges[1].events[1]: event has 0 keys (), want exactly one of introduced, fixed, last_affected, limit`},
		{"event not object", rng(`{"type":"SEMVER","events":["0"]}`), `osv: GO-2021-0113: affected[0].ranges[1].events[0]: is string, want object`},
		{"event number", rng(`{"type":"SEMVER","events":[{"introduced":0}]}`), `osv: GO-2021-0113: affected[0].ranges[1].events[0].introduced: is number, want string`},
		{"event empty", rng(`{"type":"SEMVER","events":[{"introduced":""}]}`), `osv: GO-2021-0113: affected[0].ranges[1].events[0].introduced: empty version`},
		{"semver invalid", rng(`{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2"}]}`), `osv: GO-2021-0113: affected[0].ranges[1].events[1].fixed: version "1.2" is not valid SemVer`},
		{"semver leading v", rng(`{"type":"SEMVER","events":[{"introduced":"v1.0.0"}]}`), `osv: GO-2021-0113: affected[0].ranges[1].events[0].introduced: version "v1.0.0" has a leading v`},
		{"too big", `{"id":"X","details":"` + strings.Repeat("a", MaxSize) + `"}`, "osv: record is 1048599 bytes, more than the limit of 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse error:\n got %q\nwant %q", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	// Unknown fields, nulls for optional fields and ECOSYSTEM versions in
	// other syntaxes are accepted.
	in := `{"id":"PYSEC-1","modified":"2021-01-01T00:00:00.5Z","future_field":{"x":[1]},"summary":null,"credits":[{"name":"x"}],
	"affected":[{"package":{"ecosystem":"PyPI","name":"p"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0.post1","note":"x"}],"database_specific":{}}],"versions":["0.9"]}]}`
	r, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Affected[0].Ranges[0].Events[1]; got != (Event{Fixed, "1.0.post1"}) {
		t.Errorf("event = %+v", got)
	}
	if ok, err := r.Affected[0].Affects("0.9"); !ok || err != nil {
		t.Errorf("Affects(0.9) = %v, %v, want true, nil", ok, err)
	}
	if ok, err := r.Affected[0].Affects("0.8"); !ok || err != nil {
		t.Errorf("Affects(0.8) = %v, %v, want true, nil (PEP 440 range)", ok, err)
	}
	if ok, err := r.Affected[0].Affects("1.0.post1"); ok || err != nil {
		t.Errorf("Affects(1.0.post1) = %v, %v, want false, nil", ok, err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "1.2.3")
	}
	f.Add([]byte(`{"id":"X","modified":"2021-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"n"},"versions":["1"],"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"limit":"*"},{"last_affected":"2.0.0"}]}]}]}`), "2.0.0-rc.1")
	f.Fuzz(func(t *testing.T, data []byte, version string) {
		r, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			return
		}
		if r.ID == "" {
			t.Fatal("parsed record has no id")
		}
		for _, a := range r.Affected {
			for _, rg := range a.Ranges {
				if len(rg.Events) == 0 {
					t.Fatal("parsed range has no events")
				}
			}
			ok, err := a.Affects(version)
			if ok && err != nil {
				t.Fatalf("Affects = true with error %v", err)
			}
		}
		r.Fixed("Go", "m", version)
		Merge([]*Record{r, r})
	})
}

// TestDatabase parses every record of an OSV database directory named by
// $OSV_DB (for example an unpacked copy of the Go vulnerability database's
// data/osv) and evaluates every range once. It is skipped when unset.
func TestDatabase(t *testing.T) {
	dir := os.Getenv("OSV_DB")
	if dir == "" {
		t.Skip("OSV_DB not set")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no records in %s: %v", dir, err)
	}
	var records []*Record
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, a := range r.Affected {
			for _, rg := range a.Ranges {
				for _, e := range rg.Events {
					if e.Version == "0" || e.Version == "*" {
						continue
					}
					if _, err := a.Affects(e.Version); err != nil {
						t.Errorf("%s: Affects(%s): %v", r.ID, e.Version, err)
					}
				}
			}
		}
		records = append(records, r)
	}
	t.Logf("%d records, %d groups", len(records), len(Merge(records)))
}
