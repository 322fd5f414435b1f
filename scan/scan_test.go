package scan

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/osv"
	"github.com/hallmark-dev/hallmark/vulndb"
)

// fixtureDB imports testdata/osv into a temporary database.
func fixtureDB(t testing.TB) *vulndb.DB {
	t.Helper()
	db, err := vulndb.Open(filepath.Join(t.TempDir(), "vuln.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Import(context.Background(), "testdata/osv", "fixture", func(err error) { t.Errorf("import: %v", err) }); err != nil {
		t.Fatal(err)
	}
	return db
}

func goMod(name, version string) inventory.Component {
	return inventory.Component{Ecosystem: inventory.Go, Name: name, Version: version,
		PURL: "pkg:golang/" + name + "@" + version, Scope: inventory.Direct, Locations: []string{"go.mod"}}
}

func comp(eco inventory.Ecosystem, name, version, purl, loc string) inventory.Component {
	return inventory.Component{Ecosystem: eco, Name: name, Version: version, PURL: purl, Locations: []string{loc}}
}

// fixtureInventory holds one component per case of testdata/osv.
func fixtureInventory() *inventory.Inventory {
	inv := &inventory.Inventory{
		Subject: inventory.Component{Ecosystem: inventory.Go, Name: "example.com/app", PURL: "pkg:golang/example.com/app", Locations: []string{"go.mod"}},
		Components: []inventory.Component{
			comp(inventory.CratesIO, "rustvuln", "0.2.5", "pkg:cargo/rustvuln@0.2.5", "Cargo.lock"),
			goMod("example.com/gitonly", "v1.0.0"),
			goMod("example.com/vulnmod", "v1.0.0"),
			{Ecosystem: inventory.Go, Name: "stdlib", Version: "1.22.1", PURL: "pkg:golang/stdlib@1.22.1", Scope: inventory.Toolchain},
			comp(inventory.NPM, "evil-pkg", "1.0.1", "pkg:npm/evil-pkg@1.0.1", "package-lock.json"),
			comp(inventory.NPM, "nover", "", "pkg:npm/nover", "package-lock.json"),
			comp(inventory.NPM, "withdrawn-pkg", "1.0.0", "pkg:npm/withdrawn-pkg@1.0.0", "package-lock.json"),
			comp("Maven", "org.example:other", "0.5", "pkg:maven/org.example/other@0.5", "pom.xml"),
			comp(inventory.PyPI, "pyvuln", "1.1", "pkg:pypi/pyvuln@1.1", "requirements.txt"),
			{Name: "README", PURL: "generic/README"},
		},
	}
	slices.SortFunc(inv.Components, func(a, b inventory.Component) int { return strings.Compare(a.PURL, b.PURL) })
	return inv
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestScan(t *testing.T) {
	db := fixtureDB(t)
	rep, err := Scan(context.Background(), db, fixtureInventory(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Components != 8 {
		t.Errorf("Components = %d, want 8 (not the one without version nor the one without ecosystem)", rep.Components)
	}
	if len(rep.Database) != 1 || rep.Database[0].Name != "fixture" || rep.Database[0].Count != 10 {
		t.Errorf("Database = %+v, want the fixture source with 10 records", rep.Database)
	}
	want := []Finding{
		{
			Kind: Malicious, ID: "MAL-2099-0001", Summary: "Malicious code in evil-pkg (npm)",
			Package:  Package{Ecosystem: "npm", Name: "evil-pkg", Version: "1.0.1", PURL: "pkg:npm/evil-pkg@1.0.1"},
			Severity: Critical, Records: []string{"MAL-2099-0001"}, Location: Location{Path: "package-lock.json"},
			Fingerprint: Fingerprint("malicious", "MAL-2099-0001", "npm", "evil-pkg", "1.0.1"),
		},
		{
			Kind: Vulnerability, ID: "GO-2099-0001", Aliases: []string{"CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"},
			Summary:  "Denial of service in example.com/vulnmod",
			Package:  Package{Ecosystem: "Go", Name: "example.com/vulnmod", Version: "v1.0.0", PURL: "pkg:golang/example.com/vulnmod@v1.0.0"},
			Fixed:    "v1.2.3",
			Severity: High,
			CVSS3:    &Score{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Base: 7.5},
			CVSS4:    &Score{Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", Base: 8.7},
			Records:  []string{"GHSA-aaaa-bbbb-cccc", "GO-2099-0001"},
			Location: Location{Path: "go.mod"},
			References: []string{
				"https://example.com/advisory/GO-2099-0001",
				"https://github.com/advisories/GHSA-aaaa-bbbb-cccc",
				"https://example.com/vulnmod/commit/1",
			},
			Fingerprint: Fingerprint("vulnerability", "GO-2099-0001", "Go", "example.com/vulnmod", "v1.0.0"),
		},
		{
			Kind: Vulnerability, ID: "PYSEC-2099-0001", Aliases: []string{"GHSA-pppp-qqqq-rrrr"},
			Summary:     "pyvuln path traversal",
			Package:     Package{Ecosystem: "PyPI", Name: "pyvuln", Version: "1.1", PURL: "pkg:pypi/pyvuln@1.1"},
			Fixed:       "2.0",
			Severity:    Medium,
			Records:     []string{"GHSA-pppp-qqqq-rrrr", "PYSEC-2099-0001"},
			Location:    Location{Path: "requirements.txt"},
			Fingerprint: Fingerprint("vulnerability", "PYSEC-2099-0001", "PyPI", "pyvuln", "1.1"),
		},
		{
			Kind: Vulnerability, ID: "GO-2099-0002", Summary: "Excessive memory use in net/textproto",
			Package:     Package{Ecosystem: "Go", Name: "stdlib", Version: "1.22.1", PURL: "pkg:golang/stdlib@1.22.1"},
			Fixed:       "1.22.2",
			Severity:    Unknown,
			Records:     []string{"GO-2099-0002"},
			Location:    Location{Path: "go.mod"},
			Fingerprint: Fingerprint("vulnerability", "GO-2099-0002", "Go", "stdlib", "1.22.1"),
		},
		{
			Kind: Vulnerability, ID: "RUSTSEC-2099-0001", Summary: "Use after free in rustvuln::Buffer",
			Package:     Package{Ecosystem: "crates.io", Name: "rustvuln", Version: "0.2.5", PURL: "pkg:cargo/rustvuln@0.2.5"},
			Fixed:       "0.3.1",
			Severity:    Unknown,
			Records:     []string{"RUSTSEC-2099-0001"},
			Location:    Location{Path: "Cargo.lock"},
			References:  []string{"https://example.com/rustvuln/issues/7"},
			Fingerprint: Fingerprint("vulnerability", "RUSTSEC-2099-0001", "crates.io", "rustvuln", "0.2.5"),
		},
	}
	if !reflect.DeepEqual(rep.Findings, want) {
		t.Errorf("Findings:\n%s\nwant:\n%s", dump(rep.Findings), dump(want))
	}
	wantWarn := []string{
		"scan: npm nover: no version, not looked up",
		`scan: RUSTSEC-2099-0001: severity CVSS_V3 "CVSS:3.1/AV:X/AC:L"`,
		"scan: Maven: 1 advisory ranges could not be evaluated",
	}
	if len(rep.Warnings) != len(wantWarn) {
		t.Errorf("Warnings = %q, want %d", rep.Warnings, len(wantWarn))
	}
	for _, w := range wantWarn {
		if !slices.ContainsFunc(rep.Warnings, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("no warning starting %q in %q", w, rep.Warnings)
		}
	}
	for _, f := range rep.Findings {
		if len(f.Fingerprint) != 64 {
			t.Errorf("%s: fingerprint %q is not hex SHA-256", f.ID, f.Fingerprint)
		}
	}
}

// TestScanVersions checks fixed versions and the edges of ranges, one
// component at a time.
func TestScanVersions(t *testing.T) {
	db := fixtureDB(t)
	tests := []struct {
		comp      inventory.Component
		ids       []string
		fixed     string
		wantWarns int
	}{
		{goMod("example.com/vulnmod", "v1.2.2"), []string{"GO-2099-0001"}, "v1.2.3", 0},
		{goMod("example.com/vulnmod", "v1.2.3"), nil, "", 0},
		{goMod("example.com/vulnmod", "v2.0.1"), []string{"GO-2099-0001"}, "v2.0.5", 0},
		{goMod("example.com/vulnmod", "v2.0.5"), nil, "", 0},
		{goMod("example.com/vulnmod", "v0.0.0-20200101000000-abcdefabcdef"), []string{"GO-2099-0001"}, "v1.2.3", 0},
		{goMod("example.com/vulnmod", "not-a-version"), nil, "", 1},
		{inventory.Component{Ecosystem: inventory.Go, Name: "stdlib", Version: "go1.21.3", PURL: "pkg:golang/stdlib@go1.21.3"}, []string{"GO-2099-0002"}, "1.21.9", 0},
		{inventory.Component{Ecosystem: inventory.Go, Name: "stdlib", Version: "1.22.2", PURL: "pkg:golang/stdlib@1.22.2"}, nil, "", 0},
		{comp(inventory.CratesIO, "rustvuln", "0.1.9", "pkg:cargo/rustvuln@0.1.9", "Cargo.lock"), nil, "", 0},
		{comp(inventory.NPM, "evil-pkg", "1.0.2", "pkg:npm/evil-pkg@1.0.2", "package-lock.json"), nil, "", 0},
		// In the range, not in the versions list: PEP 440 decides.
		{comp(inventory.PyPI, "pyvuln", "1.5", "pkg:pypi/pyvuln@1.5", "requirements.txt"), []string{"PYSEC-2099-0001"}, "2.0", 0},
		{comp(inventory.PyPI, "pyvuln", "2.0.post1", "pkg:pypi/pyvuln@2.0.post1", "requirements.txt"), nil, "", 0},
		{comp("Maven", "org.example:other", "0.5", "pkg:maven/org.example/other@0.5", "pom.xml"), nil, "", 1},
		{goMod("example.com/unknown", "v1.0.0"), nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.comp.Name+"@"+tt.comp.Version, func(t *testing.T) {
			inv := &inventory.Inventory{Components: []inventory.Component{tt.comp}}
			rep, err := Scan(context.Background(), db, inv, Options{Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, f := range rep.Findings {
				ids = append(ids, f.ID)
			}
			if !slices.Equal(ids, tt.ids) {
				t.Fatalf("ids %q, want %q", ids, tt.ids)
			}
			if len(rep.Findings) > 0 && rep.Findings[0].Fixed != tt.fixed {
				t.Errorf("Fixed = %q, want %q", rep.Findings[0].Fixed, tt.fixed)
			}
			// Only the bad CVSS vector of rustvuln warns by itself.
			if len(rep.Warnings) != tt.wantWarns {
				t.Errorf("Warnings = %q, want %d", rep.Warnings, tt.wantWarns)
			}
		})
	}
}

func TestScanCanceled(t *testing.T) {
	db := fixtureDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, db, fixtureInventory(), Options{}); err == nil {
		t.Error("Scan with a canceled context succeeded")
	}
}

func TestScanConcurrent(t *testing.T) {
	db := fixtureDB(t)
	want, err := Scan(context.Background(), db, fixtureInventory(), Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := Scan(context.Background(), db, fixtureInventory(), Options{Workers: 8})
			if err != nil {
				t.Error(err)
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Error("a concurrent scan differs from a sequential one")
			}
		})
	}
	wg.Wait()
}

func TestFromScore(t *testing.T) {
	tests := []struct {
		score float64
		want  Severity
	}{
		{0, None}, {0.1, Low}, {3.9, Low}, {4, Medium}, {6.9, Medium}, {7, High},
		{8.9, High}, {9, Critical}, {10, Critical}, {-1, Unknown}, {10.1, Unknown},
	}
	for _, tt := range tests {
		if got := FromScore(tt.score); got != tt.want {
			t.Errorf("FromScore(%v) = %s, want %s", tt.score, got, tt.want)
		}
	}
}

func TestParseCVSS(t *testing.T) {
	tests := []struct {
		typ, vector string
		version     string
		base        float64
		bad         bool
	}{
		{"CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.1", 9.8, false},
		{"CVSS_V3", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.0", 9.8, false},
		{"CVSS_V3", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "3.1", 1.8, false},
		{"CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 9.3, false},
		{"CVSS_V3", "CVSS:3.1/AV:N", "", 0, true},
		{"CVSS_V3", "AV:N/AC:L/Au:N/C:P/I:P/A:P", "", 0, true},
		{"CVSS_V4", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "", 0, true},
		{"CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P", "", 0, false},
		{"Ubuntu", "high", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.vector, func(t *testing.T) {
			s, err := parseCVSS(osv.Severity{Type: tt.typ, Score: tt.vector})
			if (err != nil) != tt.bad {
				t.Fatalf("err = %v, want error %v", err, tt.bad)
			}
			if tt.version == "" {
				if s != nil {
					t.Errorf("score %+v, want none", s)
				}
				return
			}
			if s == nil || s.Version != tt.version || s.Base != tt.base || s.Vector != tt.vector {
				t.Errorf("score %+v, want %s %v", s, tt.version, tt.base)
			}
		})
	}
}

func TestGHSASeverity(t *testing.T) {
	tests := map[string]Severity{
		`{"severity": "CRITICAL"}`: Critical,
		`{"severity": "HIGH"}`:     High,
		`{"severity": "MODERATE"}`: Medium,
		`{"severity": "medium"}`:   Medium,
		`{"severity": "LOW"}`:      Low,
		`{"severity": 7}`:          Unknown,
		`{}`:                       Unknown,
		``:                         Unknown,
	}
	for in, want := range tests {
		var raw json.RawMessage
		if in != "" {
			raw = json.RawMessage(in)
		}
		if got := ghsaSeverity(raw); got != want {
			t.Errorf("ghsaSeverity(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestHardeningFindings(t *testing.T) {
	exe, err := os.Executable() // the test binary: a Go ELF/PE/Mach-O
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	inv := &inventory.Inventory{Files: []inventory.File{{Path: "app"}, {Path: "notes.txt"}}}
	rep, err := Scan(context.Background(), fixtureDB(t), inv, Options{Root: dir, Hardening: true})
	if err != nil {
		t.Fatal(err)
	}
	// The test binary is built without -trimpath: go-trimpath fails (low).
	var trim *Finding
	for i, f := range rep.Findings {
		if f.Kind != Hardening || !strings.HasPrefix(f.ID, "hardening/") || f.Location.Path != "app" {
			t.Errorf("finding %+v: want a hardening finding for app", f)
		}
		if f.Severity == "info" || f.Severity.Rank() < 0 {
			t.Errorf("finding %s has severity %q", f.ID, f.Severity)
		}
		if f.ID == "hardening/go-trimpath" {
			trim = &rep.Findings[i]
		}
	}
	if trim == nil || trim.Severity != Low {
		t.Errorf("no low hardening/go-trimpath finding in %s", dump(rep.Findings))
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "notes.txt") {
		t.Errorf("Warnings = %q, want one for notes.txt", rep.Warnings)
	}

	// The root itself is the file when Path is "".
	inv = &inventory.Inventory{Files: []inventory.File{{Path: ""}}}
	rep, err = Scan(context.Background(), fixtureDB(t), inv, Options{Root: filepath.Join(dir, "app"), Hardening: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 || rep.Findings[0].Location.Path != "app" {
		t.Errorf("root file findings %s", dump(rep.Findings))
	}

	// A walk of a single file names it by its base name, as inventory.Walk does.
	inv, err = inventory.Walk(context.Background(), filepath.Join(dir, "app"), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Scan(context.Background(), fixtureDB(t), inv, Options{Root: filepath.Join(dir, "app"), Hardening: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 0 || !slices.ContainsFunc(rep.Findings, func(f Finding) bool { return f.ID == "hardening/go-trimpath" && f.Location.Path == "app" }) {
		t.Errorf("walked root file: findings %s, warnings %q", dump(rep.Findings), rep.Warnings)
	}
}

// TestSubjectOfBinary checks that the subject is looked up when a walked
// binary is built from it (a released binary's own module), and not when
// it is only the module of a source tree.
func TestSubjectOfBinary(t *testing.T) {
	db := fixtureDB(t)
	subject := goMod("example.com/vulnmod", "v1.0.0")
	for _, tc := range []struct {
		name  string
		files []inventory.File
		want  int
	}{
		{"binary built from the subject", []inventory.File{{Path: "vulnmod", Components: []string{subject.PURL}}}, 1},
		{"source tree", nil, 0},
		{"binary of another module", []inventory.File{{Path: "other", Components: []string{"pkg:golang/example.com/other@v1.0.0"}}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := &inventory.Inventory{Subject: subject, Files: tc.files}
			rep, err := Scan(context.Background(), db, inv, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Findings) != tc.want || rep.Components != tc.want {
				t.Errorf("%d findings in %d components, want %d", len(rep.Findings), rep.Components, tc.want)
			}
		})
	}
}
