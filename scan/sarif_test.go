package scan

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readSARIFFile(t *testing.T, path string) []Finding {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs, err := ReadSARIF(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestReadSARIF(t *testing.T) {
	t.Run("gosec", func(t *testing.T) {
		got := readSARIFFile(t, "testdata/sarif/gosec.sarif")
		want := []Finding{
			{Kind: SAST, ID: "G204", Summary: "Subprocess launched with variable", Severity: High, Tool: "gosec",
				Location:    Location{Path: "cmd/server/main.go", Line: 42, Column: 9},
				Fingerprint: Fingerprint("sast", "gosec", "G204", "cmd/server/main.go", "42")},
			{Kind: SAST, ID: "G304", Summary: "Potential file inclusion via variable", Severity: Medium, Tool: "gosec",
				Location:    Location{Path: "internal/store/files.go", Line: 17, Column: 14},
				Fingerprint: Fingerprint("sast", "gosec", "G304", "internal/store/files.go", "17")},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got\n%s\nwant\n%s", dump(got), dump(want))
		}
	})
	t.Run("semgrep", func(t *testing.T) {
		got := readSARIFFile(t, "testdata/sarif/semgrep.sarif")
		eval := "python.lang.security.audit.eval-detected.eval-detected"
		key := "generic.secrets.security.detected-private-key"
		want := []Finding{
			{Kind: SAST, ID: eval,
				Summary:  "Detected the use of eval(). eval() can be dangerous if used to evaluate dynamic content.",
				Severity: Critical, Tool: "Semgrep OSS", // security-severity 9.1 wins over level warning
				Location:    Location{Path: "app/views.py", Line: 88, Column: 12},
				Fingerprint: Fingerprint("sast", "Semgrep OSS", eval, "primaryLocationLineHash=5f2d3c4b:1"),
				References:  []string{"https://semgrep.dev/r/" + eval}},
			{Kind: SAST, ID: key, Summary: "Private key detected", Severity: Low, Tool: "Semgrep OSS", // defaultConfiguration note
				Location:    Location{Path: "deploy/key.pem", Line: 1},
				Fingerprint: Fingerprint("sast", "Semgrep OSS", key, "deploy/key.pem", "1")},
			{Kind: SAST, ID: key, Summary: "Suppressed elsewhere", Severity: None, Tool: "Semgrep OSS",
				Fingerprint: Fingerprint("sast", "Semgrep OSS", key, "", "0")},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got\n%s\nwant\n%s", dump(got), dump(want))
		}
	})
}

func TestReadSARIFErrors(t *testing.T) {
	run := func(results string) string {
		return `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t", "rules": [{"id": "R1"}]}}, "results": [` + results + `]}]}`
	}
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "in.sarif: invalid JSON"},
		{"not JSON", `{"version": `, "in.sarif: invalid JSON"},
		{"null", `null`, "in.sarif: log is null"},
		{"array", `[]`, "in.sarif: $: json: cannot unmarshal array"},
		{"no version", `{"runs": []}`, "in.sarif: version: missing"},
		{"old version", `{"version": "2.0.0", "runs": []}`, `in.sarif: version: "2.0.0", want "2.1.0"`},
		{"runs not array", `{"version": "2.1.0", "runs": {}}`, "in.sarif: $.runs: is object"},
		{"no tool name", `{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": []}]}`, "in.sarif: runs[0].tool.driver.name: missing"},
		{"rule not object", `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t", "rules": [1]}}}]}`, "in.sarif: runs[0].tool.driver.rules[0]: json: cannot unmarshal number"},
		{"ruleId number", run(`{"ruleId": 3, "message": {"text": "m"}}`), "in.sarif: runs[0].results[0].ruleId: is number, want string"},
		{"ruleIndex out of range", run(`{"ruleIndex": 5, "message": {"text": "m"}}`), "in.sarif: runs[0].results[0].ruleIndex: 5 outside the 1 rules"},
		{"rule.index out of range", run(`{"rule": {"index": -7}, "message": {"text": "m"}}`), "in.sarif: runs[0].results[0].rule.index: -7 outside"},
		{"no rule", run(`{"message": {"text": "m"}}`), "in.sarif: runs[0].results[0].ruleId: missing"},
		{"bad level", run(`{"ruleId": "R1", "level": "fatal", "message": {"text": "m"}}`), `in.sarif: runs[0].results[0].level: "fatal"`},
		{"negative line", run(`{"ruleId": "R1", "message": {"text": "m"}, "locations": [{"physicalLocation": {"region": {"startLine": -1}}}]}`), "runs[0].results[0].locations[0].physicalLocation.region: negative"},
		{"bad security-severity", `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t", "rules": [{"id": "R1", "properties": {"security-severity": "high"}}]}}, "results": [{"ruleId": "R1", "message": {"text": "m"}}]}]}`,
			`runs[0].results[0].rule R1: properties["security-severity"]: "high" is not a number`},
		{"security-severity out of range", `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t", "rules": [{"id": "R1", "properties": {"security-severity": "11"}}]}}, "results": [{"ruleId": "R1", "message": {"text": "m"}}]}]}`,
			`properties["security-severity"]: 11 outside [0, 10]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSARIF(strings.NewReader(tt.in), "in.sarif")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "scan: in.sarif: ") {
				t.Errorf("err = %v, want it to start with the package and the name", err)
			}
		})
	}
}

func TestReadSARIFLimits(t *testing.T) {
	big := bytes.Repeat([]byte(" "), MaxSARIFSize+1)
	if _, err := ReadSARIF(bytes.NewReader(big), "big.sarif"); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("oversized log: err = %v", err)
	}
	var b strings.Builder
	b.WriteString(`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [`)
	for i := range MaxSARIFResults + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{}`)
	}
	b.WriteString(`]}]}`)
	if _, err := ReadSARIF(strings.NewReader(b.String()), "many.sarif"); err == nil || !strings.Contains(err.Error(), "runs[0].results: more than 1000000 results") {
		t.Errorf("too many results: err = %v", err)
	}
}

// TestSARIFRoundTrip reads back what WriteSARIF writes.
func TestSARIFRoundTrip(t *testing.T) {
	rep := goldenReport(t)
	var buf bytes.Buffer
	if err := rep.WriteSARIF(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSARIF(&buf, "hallmark.sarif")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rep.Findings) {
		t.Fatalf("read back %d findings, want %d", len(got), len(rep.Findings))
	}
	for i, g := range got {
		f := rep.Findings[i]
		if g.ID != f.ID || g.Tool != "hallmark" || g.Location.Path != f.Location.Path {
			t.Errorf("finding %d: read back %+v from %+v", i, g, f)
		}
		// Rules with a CVSS score carry it as security-severity.
		if f.Score() >= 0 && g.Severity != FromScore(f.Score()) {
			t.Errorf("finding %d: severity %s, want %s", i, g.Severity, FromScore(f.Score()))
		}
		if g.Fingerprint != Fingerprint("sast", "hallmark", f.ID, "hallmark/v1="+f.Fingerprint) {
			t.Errorf("finding %d: fingerprint not from partialFingerprints", i)
		}
	}
}

func FuzzReadSARIF(f *testing.F) {
	for _, name := range []string{"testdata/sarif/gosec.sarif", "testdata/sarif/semgrep.sarif"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t", "rules": [{"id": "R"}]}}, "results": [{"ruleIndex": 0, "message": {}}]}]}`))
	f.Add([]byte(`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [{"rule": {"id": "x", "index": -1}, "level": "none"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := ReadSARIF(bytes.NewReader(data), "fuzz.sarif")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "scan: fuzz.sarif: ") {
				t.Errorf("error %q does not name the input", err)
			}
			return
		}
		for _, f := range fs {
			if f.Kind != SAST || f.ID == "" || f.Severity.Rank() < 0 || len(f.Fingerprint) != 64 {
				t.Errorf("bad finding %+v", f)
			}
		}
	})
}

func TestReadSARIFInvalidJSONText(t *testing.T) {
	for _, in := range []string{``, `{"version": `, `{"version": "2.1.0"} x`, `[1,]`} {
		var v any
		want := "scan: in.sarif: invalid JSON: " + json.Unmarshal([]byte(in), &v).Error()
		if _, err := ReadSARIF(strings.NewReader(in), "in.sarif"); err == nil || err.Error() != want {
			t.Errorf("ReadSARIF(%q) error = %v, want %s", in, err, want)
		}
	}
}
