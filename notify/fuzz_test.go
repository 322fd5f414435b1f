package notify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hallmark-dev/hallmark/scan"
)

func FuzzRender(f *testing.F) {
	f.Add("GO-2021-0113", "Out-of-bounds read", "golang.org/x/text", "v0.3.5", "https://go.dev/cl/1", "alice", "high")
	f.Add("x`y", "@team [a](b) <b>x</b> *y* _z_ | {code} [~u] !i.png!", "@s/p`|`", "``", "https://e/a](b)", "@o", "critical")
	f.Add("\x00\xff", "\u202e\u2028\r\n", strings.Repeat("`", 300), "", "javascript:x", "", "")
	f.Fuzz(func(t *testing.T, id, summary, name, version, ref, owner, severity string) {
		e := Event{
			Type: FindingNew, Project: "p", Owner: owner, URL: ref,
			Finding: scan.Finding{
				Kind: scan.Vulnerability, ID: id, Summary: summary, Severity: scan.Severity(severity),
				Package:    scan.Package{Name: name, Version: version, PURL: name + "@" + version},
				Aliases:    []string{summary, id},
				Location:   scan.Location{Path: name, Line: 3},
				References: []string{ref, summary},
			},
		}
		for _, tg := range fixtureTargets() {
			body, _, err := Render(tg, e)
			if id == "" {
				if err == nil {
					t.Fatalf("%s: an event without a finding id renders", tg.Format)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", tg.Format, err)
			}
			if !json.Valid(body) {
				t.Fatalf("%s: not JSON:\n%s", tg.Format, body)
			}
			again, _, _ := Render(tg, e)
			if !bytes.Equal(body, again) {
				t.Fatalf("%s: not deterministic", tg.Format)
			}
			switch tg.Format {
			case Jira:
				var v struct{ Fields jiraFields }
				if err := json.Unmarshal(body, &v); err != nil {
					t.Fatal(err)
				}
				if n := utf8.RuneCountInString(v.Fields.Summary); n > 255 || strings.ContainsAny(v.Fields.Summary, "\r\n") {
					t.Fatalf("jira summary of %d runes: %q", n, v.Fields.Summary)
				}
				if len(v.Fields.Description) > 32767 {
					t.Fatalf("jira description of %d bytes", len(v.Fields.Description))
				}
				checkLines(t, v.Fields.Description)
			case GitHub:
				var v githubBody
				if err := json.Unmarshal(body, &v); err != nil {
					t.Fatal(err)
				}
				if n := utf8.RuneCountInString(v.Title); n > 256 {
					t.Fatalf("github title of %d runes", n)
				}
				if len(v.Body) > 65536 {
					t.Fatalf("github body of %d bytes", len(v.Body))
				}
				checkLines(t, v.Body)
				// Free text: no @ that could mention outside code spans.
				for _, line := range strings.Split(v.Body, "\n") {
					if !strings.HasPrefix(line, "|") && strings.Contains(line, " @") {
						t.Fatalf("github body line mentions: %q", line)
					}
				}
			}
		}
	})
}

// checkLines: every line of a rendered body is one the renderer wrote, not
// one that hostile text started (line breaks in the text are spaces).
func checkLines(t *testing.T, s string) {
	t.Helper()
	for _, line := range strings.Split(s, "\n") {
		switch {
		case line == "", strings.HasPrefix(line, "|"), strings.HasPrefix(line, "- "), strings.HasPrefix(line, "* "),
			strings.HasPrefix(line, "h3. "), strings.HasPrefix(line, "h4. "), strings.HasPrefix(line, "### "),
			strings.HasPrefix(line, "**"), strings.HasPrefix(line, "[Open in hallmark"), strings.HasPrefix(line, "In hallmark: "),
			strings.HasPrefix(line, "*Summary:* "):
		default:
			// The summary paragraph: it must be a single line of text,
			// which a line starting with markup could not be after escaping.
			if strings.ContainsAny(line[:1], "#>") {
				t.Fatalf("a line starts with markup: %q", line)
			}
		}
	}
}
