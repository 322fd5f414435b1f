package report_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/report"
)

// FuzzRender puts arbitrary strings and times in every field a person can
// choose (project names, reasons, severities, ...): no renderer may fail or
// panic, no "<" may reach the HTML or Markdown unescaped, and every SVG chart
// must stay well-formed XML.
func FuzzRender(f *testing.F) {
	f.Add("payments-api", "high", "not reachable", int64(0), int64(86400))
	f.Add("<script>alert(1)</script>", "<b>", "a | b\n# c", int64(-1<<40), int64(1<<40))
	f.Add("\x00\x01\xff\xfe", "\u2028", "]]><![CDATA[", int64(253402300799), int64(-62135596800))
	svgRE := regexp.MustCompile(`(?s)<svg .*?</svg>`)
	f.Fuzz(func(t *testing.T, name, severity, reason string, a, b int64) {
		d, now := fuzzData(name, severity, reason, a, b)
		s := report.Summarize(d, now, time.Duration(b%(1<<40))*time.Second)
		var h bytes.Buffer
		if err := report.HTML(&h, d, s); err != nil {
			t.Fatal(err)
		}
		// Each "<" of the inputs must come out escaped: the output has as
		// many "<" as when the inputs have an "x" in their place.
		x := func(s string) string { return strings.ReplaceAll(s, "<", "x") }
		dx, nowx := fuzzData(x(name), x(severity), x(reason), a, b)
		var hx bytes.Buffer
		if err := report.HTML(&hx, dx, report.Summarize(dx, nowx, time.Duration(b%(1<<40))*time.Second)); err != nil {
			t.Fatal(err)
		}
		if n, nx := strings.Count(h.String(), "<"), strings.Count(hx.String(), "<"); n != nx {
			t.Fatalf("HTML has %d '<' with the inputs, %d without their '<': some went out unescaped", n, nx)
		}
		charts := svgRE.FindAllString(h.String(), -1)
		if len(charts) != 4 {
			t.Fatalf("%d charts, want 4", len(charts))
		}
		for _, c := range charts {
			dec := xml.NewDecoder(strings.NewReader(c))
			dec.Strict = true
			for {
				_, err := dec.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("chart is not well-formed XML: %v\n%s", err, c)
				}
			}
		}

		var m bytes.Buffer
		if err := report.Markdown(&m, d, s); err != nil {
			t.Fatal(err)
		}
		if i := strings.IndexAny(strings.ReplaceAll(m.String(), `\<`, ""), "<"); i >= 0 {
			t.Fatalf("Markdown has an unescaped '<' at %d", i)
		}
		err := report.JSON(io.Discard, d, s)
		outside := func(t time.Time) bool { return t.Year() < 0 || t.Year() > 9999 }
		if wantErr := outside(d.From) || outside(d.To) || outside(now); (err != nil) != wantErr {
			t.Fatalf("JSON error %v, want one: %v", err, wantErr)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "report: json: data.") && !strings.HasPrefix(err.Error(), "report: json: summary.") {
			t.Fatalf("JSON error %q does not name the field", err)
		}
	})
}

func fuzzData(name, severity, reason string, a, b int64) (report.Data, time.Time) {
	ta, tb := time.Unix(a, 0).UTC(), time.Unix(b, 0).UTC()
	d := report.Data{
		Org: name, From: ta, To: tb, Generated: tb,
		Builds: []report.Build{
			{ID: name, Project: name, Subject: reason, Verdict: severity, Profile: name, Time: ta, Findings: map[string]int{severity: 1}},
			{ID: "b", Project: "p", Verdict: "fail", Time: tb},
		},
		Exceptions: []report.Exception{
			{ID: name, Project: name, Vulnerability: severity, Package: reason, Reason: reason, Requester: name,
				Approvers: []string{name, reason}, Created: ta, Expires: tb, Status: "approved"},
			{ID: reason, Project: name, Vulnerability: severity, Package: reason, Created: tb, Expires: ta, Status: severity},
		},
		Findings: []report.Finding{{Fingerprint: name, Project: name, ID: severity, Package: reason, Severity: severity,
			Status: "open", Owner: name, FirstSeen: ta, Due: ta}},
		KeysUsed:      []report.KeyUse{{Key: name, Version: severity, Signatures: int(a % 1000), First: ta, Last: tb}},
		Unverified:    []report.Artifact{{Digest: reason, Name: name, Project: severity, Time: tb}},
		PolicyChanges: []report.PolicyChange{{Time: ta, By: name, Digest: severity, Summary: reason}},
	}
	return d, time.Unix((a/2)+(b/2), 0).UTC()
}
