package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goVulnDB is the Go vulnerability database's OSV records that the
// workspace keeps beside the repository (../shared/data).
const goVulnDB = "../../../shared/data/go-vulndb-osv.tgz"

// peerFinding is one (vulnerability, package) pair as a scanner reports it.
type peerFinding struct {
	ids     []string // the vulnerability's ids: records and aliases
	pkg     string
	version string // without Go's leading "v"
	fixed   string // "" when no fix is known
}

func (f peerFinding) String() string {
	return strings.Join(f.ids, ",") + " " + f.pkg + "@" + f.version + " fixed:" + f.fixed
}

// TestOSVScannerParity scans fixture projects (Go with the real Go
// vulnerability database; npm, PyPI and crates.io with records of our own)
// and the hallmark binary with `hallmark scan` and with osv-scanner in
// offline mode on the same records, and requires the same findings: no
// vulnerability missed, none extra, installed and fixed versions equal.
func TestOSVScannerParity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary and runs osv-scanner")
	}
	osvScanner, err := exec.LookPath(filepath.Join(peersDir(), "osv-scanner"))
	if err != nil {
		t.Skipf("osv-scanner not installed in %s (../shared/tools/install-peers.sh DIR osv-scanner; .ci/run does it): %v", peersDir(), err)
	}
	if _, err := os.Stat(goVulnDB); err != nil {
		t.Skipf("the Go vulnerability database is not at %s: %v", goVulnDB, err)
	}
	tmp := t.TempDir()

	// The same records for both: hallmark's database, and osv-scanner's
	// offline database of one all.zip per ecosystem.
	db := filepath.Join(tmp, "osv.sqlite")
	for _, in := range []string{goVulnDB, "testdata/peers/osv"} {
		if code := run([]string{"db", "import", "--quiet", "--db", db, in}, io.Discard, io.Discard); code != 0 {
			t.Fatalf("db import %s: exit %d", in, code)
		}
	}
	offline := filepath.Join(tmp, "offline")
	writeOfflineDB(t, offline)

	bin := filepath.Join(tmp, "bin", "hallmark")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	targets := []string{"testdata/peers/go-app", "testdata/peers/npm-app", "testdata/peers/py-app", "testdata/peers/rust-app", filepath.Dir(bin)}
	// A single released binary: its main module (cosign v2.6.5) is looked
	// up too, as osv-scanner does.
	if cosign, err := exec.LookPath(filepath.Join(peersDir(), "cosign")); err == nil {
		targets = append(targets, cosign)
	}
	for _, dir := range targets {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want := osvScannerFindings(t, osvScanner, offline, dir)
			got := hallmarkFindings(t, db, dir)
			if len(want) == 0 && strings.HasPrefix(dir, "testdata/") {
				t.Fatalf("osv-scanner found nothing in %s: the fixture or its database is broken", dir)
			}
			compareFindings(t, got, want, "missing: osv-scanner reports %v", "extra: hallmark reports %v")
			t.Logf("%d findings, the same from both", len(got))
		})
	}
}

// compareFindings reports each finding of want that got lacks (with the
// format missing) and each of got that want lacks (extra).
func compareFindings(t *testing.T, got, want []peerFinding, missing, extra string) {
	t.Helper()
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g peerFinding) bool { return samePeerFinding(g, w) }) {
			t.Errorf(missing, w)
		}
	}
	for _, g := range got {
		if !slices.ContainsFunc(want, func(w peerFinding) bool { return samePeerFinding(g, w) }) {
			t.Errorf(extra, g)
		}
	}
}

// samePeerFinding reports whether two findings are about the same package
// and version, share an id, and agree on the fix.
func samePeerFinding(a, b peerFinding) bool {
	if a.pkg != b.pkg || a.version != b.version || a.fixed != b.fixed {
		return false
	}
	return slices.ContainsFunc(a.ids, func(id string) bool { return slices.Contains(b.ids, id) })
}

// writeOfflineDB writes osv-scanner's offline database under dir: the Go
// records from goVulnDB and the fixture records of testdata/peers/osv, one
// all.zip per ecosystem in dir/osv-scalibr/ECOSYSTEM/ (where osv-scanner 2.5
// looks, through osv-scalibr, given OSV_SCALIBR_LOCAL_DB_CACHE_DIRECTORY).
func writeOfflineDB(t *testing.T, dir string) {
	t.Helper()
	records := map[string]map[string][]byte{} // ecosystem -> file name -> record
	add := func(eco, name string, data []byte) {
		if records[eco] == nil {
			records[eco] = map[string][]byte{}
		}
		records[eco][name] = data
	}
	f, err := os.Open(goVulnDB)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		add("Go", filepath.Base(h.Name), data)
	}
	ecos, err := os.ReadDir("testdata/peers/osv")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ecos {
		files, _ := filepath.Glob(filepath.Join("testdata/peers/osv", e.Name(), "*.json"))
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			add(e.Name(), filepath.Base(p), data)
		}
	}
	for eco, files := range records {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, data := range files {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(dir, "osv-scalibr", eco)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "all.zip"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// osvScannerFindings runs osv-scanner offline on dir and reads its markdown
// table, the one output that has the fixed versions.
func osvScannerFindings(t *testing.T, osvScanner, offline, dir string) []peerFinding {
	t.Helper()
	// go/binary: osv-scanner reads Go binaries only when asked to.
	cmd := exec.Command(osvScanner, "scan", "source", "-r", "--offline", "--all-vulns", "--no-call-analysis=go",
		"--experimental-plugins=lockfile,sbom,directory,go/binary", "--format", "markdown", dir)
	cmd.Env = append(os.Environ(), "OSV_SCALIBR_LOCAL_DB_CACHE_DIRECTORY="+offline, "OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY="+offline)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
		t.Fatalf("osv-scanner: %v\n%s", err, stderr.Bytes())
	}
	if strings.Contains(stderr.String(), "no offline version") {
		t.Fatalf("osv-scanner did not find its offline database:\n%s", stderr.Bytes())
	}
	var out []peerFinding
	for line := range strings.Lines(stdout.String()) {
		// | OSV URL | CVSS | Ecosystem | Package | Version | Fixed Version | Source |
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) != 9 || !strings.Contains(cells[1], "https://osv.dev/") {
			continue
		}
		var ids []string
		for u := range strings.SplitSeq(cells[1], "<br/>") {
			ids = append(ids, strings.TrimPrefix(strings.TrimSpace(u), "https://osv.dev/"))
		}
		fixed := strings.TrimSpace(cells[6])
		if fixed == "--" {
			fixed = ""
		}
		out = append(out, peerFinding{
			ids:     ids,
			pkg:     strings.TrimSuffix(strings.TrimSpace(cells[4]), " (dev)"),
			version: strings.TrimSpace(cells[5]),
			fixed:   fixed,
		})
	}
	return out
}

// hallmarkFindings runs `hallmark scan --format json` on dir.
func hallmarkFindings(t *testing.T, db, dir string) []peerFinding {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"scan", "--db", db, "--format", "json", "--fail-on", "none", "--no-hardening", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("hallmark scan: exit %d\n%s", code, stderr.Bytes())
	}
	var rep struct {
		Findings []struct {
			Kind    string   `json:"kind"`
			ID      string   `json:"id"`
			Aliases []string `json:"aliases"`
			Package struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"package"`
			Fixed string `json:"fixed"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("hallmark scan --format json: %v\n%s", err, stdout.Bytes())
	}
	var out []peerFinding
	for _, f := range rep.Findings {
		if f.Kind != "vulnerability" && f.Kind != "malicious" {
			continue
		}
		out = append(out, peerFinding{
			ids:     append([]string{f.ID}, f.Aliases...),
			pkg:     f.Package.Name,
			version: strings.TrimPrefix(f.Package.Version, "v"),
			fixed:   strings.TrimPrefix(f.Fixed, "v"),
		})
	}
	return out
}

// TestSyftSBOMScan scans the SBOMs syft writes of the fixture projects
// (CycloneDX and SPDX JSON) and requires, for every package syft lists,
// the same findings as a scan of the project itself: SBOMs from another
// tool are read faithfully (purls, scopes, versions). syft's own gaps (it
// lists one version of an npm package installed twice, and drops a Go
// module that has an exclude directive) are packages it does not list, so
// they are not compared.
func TestSyftSBOMScan(t *testing.T) {
	if testing.Short() {
		t.Skip("runs syft")
	}
	syft, err := exec.LookPath(filepath.Join(peersDir(), "syft"))
	if err != nil {
		t.Skipf("syft not installed in %s (../shared/tools/install-peers.sh DIR syft; .ci/run does it): %v", peersDir(), err)
	}
	tmp := t.TempDir()
	db := filepath.Join(tmp, "osv.sqlite")
	if code := run([]string{"db", "import", "--quiet", "--db", db, "testdata/peers/osv"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("db import: exit %d", code)
	}
	if _, err := os.Stat(goVulnDB); err == nil {
		if code := run([]string{"db", "import", "--quiet", "--db", db, goVulnDB}, io.Discard, io.Discard); code != 0 {
			t.Fatalf("db import: exit %d", code)
		}
	}
	for _, app := range []string{"go-app", "npm-app", "py-app", "rust-app"} {
		dir := filepath.Join("testdata/peers", app)
		want := hallmarkFindings(t, db, dir)
		for _, format := range []string{"cyclonedx-json", "spdx-json"} {
			t.Run(app+"/"+format, func(t *testing.T) {
				out := filepath.Join(tmp, app+"."+format)
				cmd := exec.Command(syft, "scan", "-q", "dir:"+dir, "-o", format+"="+out)
				cmd.Env = append(os.Environ(), "SYFT_CHECK_FOR_APP_UPDATE=false")
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("syft: %v\n%s", err, b)
				}
				listed := syftPackages(t, out)
				got := hallmarkFindings(t, db, out)
				var wantListed []peerFinding
				for _, w := range want {
					if listed[w.pkg+"@"+w.version] {
						wantListed = append(wantListed, w)
					}
				}
				if len(wantListed) == 0 {
					t.Fatalf("syft lists none of the vulnerable packages of %s", app)
				}
				compareFindings(t, got, wantListed, "missing from the SBOM's scan: %v", "extra in the SBOM's scan: %v")
			})
		}
	}
}

// syftPackages returns the name@version (without Go's "v") of every package
// in a CycloneDX or SPDX SBOM, read from its purls.
func syftPackages(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components []struct {
			PURL string `json:"purl"`
		} `json:"components"`
		Packages []struct {
			ExternalRefs []struct {
				Type    string `json:"referenceType"`
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var purls []string
	for _, c := range doc.Components {
		purls = append(purls, c.PURL)
	}
	for _, p := range doc.Packages {
		for _, r := range p.ExternalRefs {
			if r.Type == "purl" {
				purls = append(purls, r.Locator)
			}
		}
	}
	out := map[string]bool{}
	for _, p := range purls {
		p, _, _ = strings.Cut(p, "?")
		at := strings.LastIndex(p, "@")
		if at < 0 {
			continue
		}
		name, version := p[:at], strings.TrimPrefix(p[at+1:], "v")
		// pkg:TYPE/NAMESPACE/NAME: the name as scanners write it.
		_, name, _ = strings.Cut(strings.TrimPrefix(name, "pkg:"), "/")
		name, err1 := url.PathUnescape(name)
		version, err2 := url.PathUnescape(version)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: purl %q does not unescape", path, p)
		}
		out[name+"@"+version] = true
	}
	return out
}
