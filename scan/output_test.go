package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/vulndb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenReport is the fixture scan with a hardening finding and the gosec
// results added, and a fixed database source.
func goldenReport(t *testing.T) *Report {
	t.Helper()
	rep, err := Scan(context.Background(), fixtureDB(t), fixtureInventory(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep.Database = []vulndb.Source{{Name: "fixture", Imported: time.Date(2099, 1, 10, 12, 0, 0, 0, time.UTC), Count: 10,
		Digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}}
	rep.Findings = append(rep.Findings, Finding{
		Kind: Hardening, ID: "hardening/relro", Summary: "PT_GNU_RELRO without BIND_NOW: partial RELRO",
		Severity: Low, Location: Location{Path: "bin/app"},
		Fingerprint: Fingerprint("hardening", "hardening/relro", "bin/app"),
	})
	rep.Findings = append(rep.Findings, readSARIFFile(t, "testdata/sarif/gosec.sarif")...)
	rep.Sort()
	return rep
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestWrite(t *testing.T) {
	rep := goldenReport(t)
	for _, tt := range []struct {
		name  string
		write func(*Report, *bytes.Buffer) error
	}{
		{"report.txt", func(r *Report, b *bytes.Buffer) error { return r.WriteText(b) }},
		{"report.json", func(r *Report, b *bytes.Buffer) error { return r.WriteJSON(b) }},
		{"report.sarif", func(r *Report, b *bytes.Buffer) error { return r.WriteSARIF(b) }},
		{"report.cdx.json", func(r *Report, b *bytes.Buffer) error { return r.WriteCycloneDXVEX(b) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := tt.write(rep, &a); err != nil {
				t.Fatal(err)
			}
			if err := tt.write(rep, &b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Error("two writes of one report differ")
			}
			checkGolden(t, tt.name, a.Bytes())
		})
	}
}

func TestWriteEmpty(t *testing.T) {
	rep := &Report{}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "0 findings in 0 components\n" {
		t.Errorf("WriteText = %q", got)
	}
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"findings", "warnings", "database"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("empty report: %s is %v, want []", k, m[k])
		}
	}
	b.Reset()
	if err := rep.WriteSARIF(&b); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, b.Bytes())
}

func TestWriteTextHostile(t *testing.T) {
	rep := &Report{Findings: []Finding{{
		Kind: Vulnerability, ID: "X-1\x1b[31m", Severity: High,
		Package: Package{Name: "p\nq", Version: "1"},
		Summary: strings.Repeat("é", 100) + "\r\n",
	}}}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\r") || strings.Count(out, "\n") != 3 {
		t.Errorf("control characters reach the table:\n%q", out)
	}
	if !strings.Contains(out, strings.Repeat("é", summaryWidth-1)+"…") || strings.Contains(out, strings.Repeat("é", summaryWidth)) {
		t.Errorf("summary not truncated to %d characters:\n%s", summaryWidth, out)
	}
}

func TestWriteSARIFRules(t *testing.T) {
	rep := goldenReport(t)
	var b bytes.Buffer
	if err := rep.WriteSARIF(&b); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	rules := log.Runs[0].Tool.Driver.Rules
	var goRule *sarifRule
	for i, r := range rules {
		if i > 0 && rules[i-1].ID >= r.ID {
			t.Errorf("rules not sorted or not distinct: %s, %s", rules[i-1].ID, r.ID)
		}
		if r.ID == "GO-2099-0001" {
			goRule = &rules[i]
		}
	}
	if goRule == nil {
		t.Fatal("no rule GO-2099-0001")
	}
	if goRule.Properties["security-severity"] != "8.7" {
		t.Errorf("security-severity = %v, want 8.7", goRule.Properties["security-severity"])
	}
	if !strings.Contains(goRule.Help.Text, "example.com/vulnmod@v1.0.0: fixed in v1.2.3") {
		t.Errorf("help %q does not name the fix", goRule.Help.Text)
	}
	if len(log.Runs[0].Results) != len(rep.Findings) {
		t.Errorf("%d results for %d findings", len(log.Runs[0].Results), len(rep.Findings))
	}
	for i, res := range log.Runs[0].Results {
		if rules[*res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %d: ruleIndex %d is %s, not %s", i, *res.RuleIndex, rules[*res.RuleIndex].ID, res.RuleID)
		}
		if res.PartialFingerprints["hallmark/v1"] != rep.Findings[i].Fingerprint {
			t.Errorf("result %d: partialFingerprints %v", i, res.PartialFingerprints)
		}
	}
}

func TestWriteCycloneDXVEX(t *testing.T) {
	rep := goldenReport(t)
	var b bytes.Buffer
	if err := rep.WriteCycloneDXVEX(&b); err != nil {
		t.Fatal(err)
	}
	var bom struct {
		SpecVersion string `json:"specVersion"`
		Components  []struct {
			BOMRef string `json:"bom-ref"`
		} `json:"components"`
		Vulnerabilities []struct {
			ID      string `json:"id"`
			Ratings []struct {
				Score  float64 `json:"score"`
				Method string  `json:"method"`
				Vector string  `json:"vector"`
			} `json:"ratings"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
			Analysis struct {
				State string `json:"state"`
			} `json:"analysis"`
			Recommendation string `json:"recommendation"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b.Bytes(), &bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != "1.6" {
		t.Errorf("specVersion %q", bom.SpecVersion)
	}
	refs := map[string]bool{}
	for _, c := range bom.Components {
		refs[c.BOMRef] = true
	}
	if len(bom.Vulnerabilities) != 5 {
		t.Errorf("%d vulnerabilities, want the 5 of the database (no hardening, no SAST)", len(bom.Vulnerabilities))
	}
	for _, v := range bom.Vulnerabilities {
		if v.Analysis.State != "in_triage" {
			t.Errorf("%s: state %q", v.ID, v.Analysis.State)
		}
		for _, a := range v.Affects {
			if !refs[a.Ref] {
				t.Errorf("%s: affects %s, which is not a listed component", v.ID, a.Ref)
			}
		}
		if v.ID == "GO-2099-0001" {
			if len(v.Ratings) != 2 || v.Ratings[0].Method != "CVSSv31" || v.Ratings[0].Score != 7.5 || v.Ratings[1].Method != "CVSSv4" || v.Ratings[1].Score != 8.7 {
				t.Errorf("GO-2099-0001 ratings %+v", v.Ratings)
			}
			if v.Recommendation != "Upgrade example.com/vulnmod to v1.2.3" {
				t.Errorf("recommendation %q", v.Recommendation)
			}
		}
	}
}
