package vex

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// peer returns the path of a peer tool installed by install-peers.sh in
// $HALLMARK_PEERS or ~/.cache/hallmark-peers, or skips the test.
func peer(t *testing.T, name, version string) string {
	t.Helper()
	var dirs []string
	if d := os.Getenv("HALLMARK_PEERS"); d != "" {
		dirs = append(dirs, d)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "hallmark-peers"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Skipf("%s not found in %s; install it with "+
		"'bash /work/shared/tools/install-peers.sh ~/.cache/hallmark-peers %s' (%s)", name, strings.Join(dirs, " or "), name, version)
	return ""
}

// run runs a peer tool with an environment that keeps it off the network
// and out of the user's configuration, and returns its stdout.
func run(t *testing.T, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	home := t.TempDir()
	cmd.Env = append([]string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"PATH=/usr/bin:/bin",
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=",
	}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// exception is the VEX export of an approved exception for GO-2021-0113 in
// golang.org/x/text, next to an affected statement for GO-2022-0288 (an
// exception with an action plan), which must not hide anything.
func exception(product string) Document {
	return Document{
		Author:    "Hallmark exceptions <security@example.com>",
		Role:      "approver",
		Timestamp: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		Statements: []Statement{
			{
				Vulnerability: "GO-2021-0113",
				Aliases:       []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"},
				Products:      []string{product},
				Subcomponents: []string{"pkg:golang/golang.org/x/text@v0.3.5"},
				Status:        NotAffected,
				Justification: VulnerableCodeNotInExecutePath,
			},
			{
				Vulnerability:   "GO-2022-0288",
				Products:        []string{product},
				Subcomponents:   []string{"pkg:golang/golang.org/x/net@v0.0.1"},
				Status:          Affected,
				ActionStatement: "upgrade golang.org/x/net to v0.7.0 by 2026-12-01",
			},
		},
	}
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVexctl checks that vexctl (v0.4.4, on go-vex v0.2.8) reads our
// documents, suppresses exactly the excepted vulnerability in a SARIF
// report, and that what it writes when merging, Parse reads.
func TestVexctl(t *testing.T) {
	vexctl := peer(t, "vexctl", "v0.4.4")
	doc := writeTemp(t, "exception.openvex.json", mustJSON(t, exception(app)))

	t.Run("list", func(t *testing.T) {
		for _, what := range []struct {
			name string
			want []string
		}{{"justification", justifications}, {"status", statuses}} {
			var got []string
			for _, l := range strings.Split(string(run(t, nil, vexctl, "list", what.name)), "\n") {
				if strings.HasPrefix(l, "\t") {
					got = append(got, strings.TrimSpace(l))
				}
			}
			if !slices.Equal(got, what.want) {
				t.Errorf("vexctl list %s: %q, we have %q", what.name, got, what.want)
			}
		}
	})

	t.Run("filter", func(t *testing.T) {
		out := run(t, nil, vexctl, "filter", filepath.Join("testdata", "two-vulns.sarif.json"), doc)
		var report struct {
			Runs []struct {
				Results []struct {
					RuleID string `json:"ruleId"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(out, &report); err != nil {
			t.Fatalf("vexctl filter output: %v\n%s", err, out)
		}
		var left []string
		for _, r := range report.Runs {
			for _, res := range r.Results {
				left = append(left, res.RuleID)
			}
		}
		// GO-2021-0113 goes, under its own id and under its alias; the
		// affected GO-2022-0288 stays.
		if want := []string{"GO-2022-0288"}; !slices.Equal(left, want) {
			t.Errorf("results left by vexctl filter: %q, want %q", left, want)
		}
	})

	t.Run("filter without exception", func(t *testing.T) {
		// The same report against a document that excepts something else
		// keeps every result: the filter is not removing everything.
		other := exception(app)
		other.Statements = other.Statements[1:]
		out := run(t, nil, vexctl, "filter", filepath.Join("testdata", "two-vulns.sarif.json"),
			writeTemp(t, "other.openvex.json", mustJSON(t, other)))
		if n := bytes.Count(out, []byte(`"ruleId"`)); n != 3 {
			t.Errorf("%d results left, want all 3:\n%s", n, out)
		}
	})

	t.Run("merge", func(t *testing.T) {
		// merge selects statements by product and vulnerability with
		// go-vex's matching: a product purl and an alias select exactly the
		// exception. --id, because vexctl's own ("merged-vex-<hash>") is
		// not an IRI and Parse, like the schema, refuses it.
		out := run(t, nil, vexctl, "merge", "--id", "https://example.com/vex/merged", "--author", "merger",
			"--product", app, "--vuln", "CVE-2021-38561", doc)
		d, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse of vexctl merge output: %v\n%s", err, out)
		}
		if len(d.Statements) != 1 {
			t.Fatalf("vexctl merge kept %d statements, want 1:\n%s", len(d.Statements), out)
		}
		s := d.Statements[0]
		if s.Vulnerability != "GO-2021-0113" || s.Status != NotAffected || s.Justification != VulnerableCodeNotInExecutePath ||
			!slices.Equal(s.Products, []string{app}) || !slices.Equal(s.Subcomponents, []string{"pkg:golang/golang.org/x/text@v0.3.5"}) {
			t.Errorf("vexctl merge gave %+v", s)
		}
		// Another product selects nothing.
		out = run(t, nil, vexctl, "merge", "--product", "pkg:golang/example.com/other@v1.2.0", doc)
		if bytes.Contains(out, []byte("GO-2021-0113")) {
			t.Errorf("vexctl merge selected the exception for another product:\n%s", out)
		}
	})
}

// TestGrype runs grype (v0.120.1) offline on a CycloneDX SBOM with two
// vulnerable npm packages, against a vulnerability database made for the
// test (testdata/grype: two made-up advisories, written by grype's own v6
// database writer), with our documents as --vex.
//
// grype names the product of a scan only for container images (their
// references and digests) or for sources with a name and a version
// (pkg:generic/NAME@VERSION); an SBOM file gives neither, so for an SBOM it
// applies only statements whose product is the vulnerable package itself.
// The cases below record that: an exception written as {product: the
// project, subcomponent: the package} suppresses nothing in grype's SBOM
// scans, and one written as {product: the package} suppresses exactly its
// vulnerability.
func TestGrype(t *testing.T) {
	grype := peer(t, "grype", "v0.120.1")
	dbDir := t.TempDir()
	env := []string{
		"GRYPE_DB_CACHE_DIR=" + dbDir,
		"GRYPE_DB_AUTO_UPDATE=false",
		"GRYPE_DB_VALIDATE_AGE=false",
		"GRYPE_CHECK_FOR_APP_UPDATE=false",
	}
	run(t, env, grype, "db", "import", filepath.Join("testdata", "grype", "vulnerability.db"))
	sbom, err := filepath.Abs(filepath.Join("testdata", "two-vulns.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	scan := func(t *testing.T, vexDoc []byte) (matched, ignored []string) {
		t.Helper()
		args := []string{"sbom:" + sbom, "-o", "json"}
		if vexDoc != nil {
			args = append(args, "--vex", writeTemp(t, "exception.openvex.json", vexDoc))
		}
		out := run(t, env, grype, args...)
		var res struct {
			Matches []struct {
				Vulnerability struct{ ID string } `json:"vulnerability"`
			} `json:"matches"`
			IgnoredMatches []struct {
				Vulnerability struct{ ID string } `json:"vulnerability"`
			} `json:"ignoredMatches"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("grype output: %v\n%s", err, out)
		}
		for _, m := range res.Matches {
			matched = append(matched, m.Vulnerability.ID)
		}
		for _, m := range res.IgnoredMatches {
			ignored = append(ignored, m.Vulnerability.ID)
		}
		slices.Sort(matched)
		slices.Sort(ignored)
		return matched, ignored
	}
	const (
		leftPad  = "pkg:npm/left-pad@1.3.0"
		rightPad = "pkg:npm/right-pad@2.0.0"
		subject  = "pkg:npm/example-app@1.2.0"
	)
	doc := func(statements ...Statement) []byte {
		return mustJSON(t, Document{Author: "Hallmark exceptions", Timestamp: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), Statements: statements})
	}
	notAffected := func(vuln string, products, subs []string) Statement {
		return Statement{Vulnerability: vuln, Products: products, Subcomponents: subs, Status: NotAffected, Justification: VulnerableCodeNotPresent}
	}
	both := []string{"CVE-2026-10001", "CVE-2026-10002"}
	for _, tc := range []struct {
		name                  string
		doc                   []byte
		wantMatched, wantIgnd []string
	}{
		{"no vex", nil, both, nil},
		{"package as product", doc(notAffected("CVE-2026-10001", []string{leftPad}, nil)), []string{"CVE-2026-10002"}, []string{"CVE-2026-10001"}},
		{"package as product, by alias", doc(Statement{Vulnerability: "GHSA-made-up0-0001", Aliases: []string{"CVE-2026-10001"},
			Products: []string{leftPad}, Status: Fixed}), []string{"CVE-2026-10002"}, []string{"CVE-2026-10001"}},
		{"another version of the package", doc(notAffected("CVE-2026-10001", []string{"pkg:npm/left-pad@1.2.0"}, nil)), both, nil},
		{"the vulnerability in another package", doc(notAffected("CVE-2026-10001", []string{rightPad}, nil)), both, nil},
		{"affected, with an action", doc(Statement{Vulnerability: "CVE-2026-10001", Products: []string{leftPad}, Status: Affected,
			ActionStatement: "upgrade left-pad to 1.3.1"}), both, nil},
		{"project as product, package as subcomponent", doc(notAffected("CVE-2026-10001", []string{subject}, []string{leftPad})), both, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			matched, ignored := scan(t, tc.doc)
			if !slices.Equal(matched, tc.wantMatched) || !slices.Equal(ignored, tc.wantIgnd) {
				t.Errorf("grype: matched %q, ignored %q; want matched %q, ignored %q", matched, ignored, tc.wantMatched, tc.wantIgnd)
			}
		})
	}
}
