package scan

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/osv"
	"github.com/hallmark-dev/hallmark/vulndb"
)

// govulncheckPath finds a govulncheck binary, or skips t.
func govulncheckPath(t *testing.T) string {
	t.Helper()
	var candidates []string
	if dir := os.Getenv("HALLMARK_PEERS"); dir != "" {
		candidates = append(candidates, filepath.Join(dir, "govulncheck"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "hallmark-peers", "govulncheck"))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			return c
		}
	}
	t.Skipf("govulncheck not found in $HALLMARK_PEERS or ~/.cache/hallmark-peers (looked at %q): reachability not tested", candidates)
	return ""
}

func TestReachability(t *testing.T) {
	gvc := govulncheckPath(t)
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("no go command: %v", err)
	}
	db, err := vulndb.Open(filepath.Join(t.TempDir(), "vuln.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Import(context.Background(), "testdata/reach/db", "reach", func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	// The module is copied out of testdata, where the go command ignores it.
	mod := t.TempDir()
	for _, name := range []string{"go.mod", "main.go"} {
		data, err := os.ReadFile(filepath.Join("testdata", "reach", "module", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goVersion := osv.GoVersion(runtime.Version())
	inv := &inventory.Inventory{
		Subject:    inventory.Component{Ecosystem: inventory.Go, Name: "example.com/reach", Locations: []string{"go.mod"}},
		Components: []inventory.Component{{Ecosystem: inventory.Go, Name: "stdlib", Version: goVersion, PURL: "pkg:golang/stdlib@" + goVersion}},
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOTOOLCHAIN", "local")
	rep, err := Scan(context.Background(), db, inv, Options{Govulncheck: gvc, SourceDir: mod})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range rep.Warnings {
		t.Errorf("warning: %s", w)
	}
	want := map[string]string{"GO-9999-0001": Called, "GO-9999-0002": Imported, "GO-9999-0003": Required}
	if len(rep.Findings) != len(want) {
		t.Fatalf("%d findings, want %d: %s", len(rep.Findings), len(want), dump(rep.Findings))
	}
	for _, f := range rep.Findings {
		if f.Reachability != want[f.ID] {
			t.Errorf("%s: reachability %q, want %q", f.ID, f.Reachability, want[f.ID])
		}
	}

	// A govulncheck that fails leaves the findings and warns.
	rep, err = Scan(context.Background(), db, inv, Options{Govulncheck: gvc, SourceDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 3 || rep.Findings[0].Reachability != "" {
		t.Errorf("findings after a failed govulncheck: %s", dump(rep.Findings))
	}
	if len(rep.Warnings) != 1 || !strings.HasPrefix(rep.Warnings[0], "scan: reachability not known: ") {
		t.Errorf("Warnings = %q", rep.Warnings)
	}
}

// TestWriteGoVulnDBID checks that a record id that is not a plain file name
// is refused, and nothing written outside the database's directory.
func TestWriteGoVulnDBID(t *testing.T) {
	for _, id := range []string{"../escape", "ID/../../escape", "/tmp/escape", "a/b", `a\b`, ""} {
		t.Run(id, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "db")
			rec := &osv.Record{ID: id, Affected: []osv.Affected{{Package: osv.Package{Ecosystem: "Go", Name: "example.com/m"}}}}
			err := writeGoVulnDB(dir, []*osv.Record{rec})
			if err == nil || !strings.Contains(err.Error(), "cannot be a file name") {
				t.Errorf("writeGoVulnDB of id %q = %v, want it refused", id, err)
			}
			entries, _ := os.ReadDir(parent)
			if len(entries) != 1 || entries[0].Name() != "db" {
				t.Errorf("the parent of the database holds %v", entries)
			}
		})
	}
}

func TestReadGovulncheck(t *testing.T) {
	stream := `{"config": {"protocol_version": "v1.0.0"}}
{"progress": {"message": "Scanning your code..."}}
{"osv": {"id": "GO-1"}}
{"finding": {"osv": "GO-1", "trace": [{"module": "m"}]}}
{"finding": {"osv": "GO-1", "trace": [{"module": "m", "package": "m/p"}]}}
{"finding": {"osv": "GO-1", "trace": [{"module": "m", "package": "m/p", "function": "F"}, {"module": "main"}]}}
{"finding": {"osv": "GO-2", "trace": [{"module": "stdlib", "package": "net/smtp"}]}}
{"finding": {"osv": "GO-3", "trace": [{"module": "n"}]}}
{"finding": {"osv": "GO-4", "trace": []}}
`
	got, err := readGovulncheck(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]string{{"GO-1", "m"}: Called, {"GO-2", "stdlib"}: Imported, {"GO-3", "n"}: Required}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%v: %q, want %q", k, got[k], v)
		}
	}
	if _, err := readGovulncheck(strings.NewReader(`{"finding": {"osv": 3}}`)); err == nil || !strings.Contains(err.Error(), "message 0") {
		t.Errorf("bad stream: err = %v", err)
	}
}

func FuzzReadGovulncheck(f *testing.F) {
	f.Add([]byte(`{"finding": {"osv": "GO-1", "trace": [{"module": "m", "package": "m/p", "function": "F"}]}}`))
	f.Add([]byte(`{"config": {}} {"finding": {"osv": "GO-2", "trace": [{"module": "stdlib"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		reach, err := readGovulncheck(bytes.NewReader(data))
		if err != nil {
			return
		}
		for k, v := range reach {
			if k[0] == "" || reachRank[v] == 0 {
				t.Errorf("%v: %q", k, v)
			}
		}
	})
}

func TestLimitedBuffer(t *testing.T) {
	var out bytes.Buffer
	w := &limitedBuffer{buf: &out, max: 4}
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("de")); err == nil || !strings.Contains(err.Error(), "over the limit of 4 bytes") {
		t.Errorf("write over the limit: err = %v, want one naming the limit", err)
	}
	var msg bytes.Buffer
	w = &limitedBuffer{buf: &msg, max: 4, drop: true}
	for _, s := range []string{"abc", "de", "fgh"} {
		if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
		}
	}
	if msg.String() != "abcd" {
		t.Errorf("kept %q, want %q", msg.String(), "abcd")
	}
}
