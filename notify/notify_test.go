package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hallmark-dev/hallmark/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
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

func fixtureEvent() Event {
	return Event{
		Type:    FindingNew,
		Project: "payments",
		Finding: scan.Finding{
			Kind:        scan.Vulnerability,
			ID:          "GO-2021-0113",
			Aliases:     []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"},
			Summary:     "Out-of-bounds read in golang.org/x/text/language",
			Package:     scan.Package{Ecosystem: "Go", Name: "golang.org/x/text", Version: "v0.3.5", PURL: "pkg:golang/golang.org/x/text@v0.3.5"},
			Fixed:       "v0.3.7",
			Severity:    scan.High,
			CVSS3:       &scan.Score{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Base: 7.5},
			Location:    scan.Location{Path: "go.mod"},
			Fingerprint: "4f7c1b0e9a3d2c5b6a8e7f9d0c1b2a3e4f5d6c7b8a9e0f1d2c3b4a5e6f7d8c9b",
			References:  []string{"https://pkg.go.dev/vuln/GO-2021-0113", "https://go.dev/cl/340830"},
		},
		Status:    "open",
		Owner:     "alice",
		FirstSeen: time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC),
		LastSeen:  time.Date(2026, 11, 21, 14, 5, 0, 0, time.FixedZone("CET", 3600)),
		Due:       time.Date(2026, 12, 20, 9, 30, 0, 0, time.UTC),
		Build:     "build-1842",
		URL:       "https://hallmark.example.com/findings/4f7c1b0e",
	}
}

func fixtureTargets() []Target {
	return []Target{
		{Name: "hook", Format: JSON, URL: "https://hooks.example.com/hallmark"},
		{Name: "jira", Format: Jira, URL: "https://example.atlassian.net/rest/api/2/issue", JiraProject: "SEC"},
		{Name: "gh", Format: GitHub, URL: "https://api.github.com/repos/acme/payments/issues", GitHubLabels: []string{"security"}},
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tg := range fixtureTargets() {
		t.Run(tg.Format, func(t *testing.T) {
			body, ctype, err := Render(tg, fixtureEvent())
			if err != nil {
				t.Fatal(err)
			}
			if ctype != "application/json" {
				t.Errorf("content type %q", ctype)
			}
			if !json.Valid(body) {
				t.Fatalf("not JSON:\n%s", body)
			}
			again, _, _ := Render(tg, fixtureEvent())
			if !bytes.Equal(body, again) {
				t.Error("Render is not deterministic")
			}
			checkGolden(t, tg.Format+".json", body)
		})
	}
}

func TestRenderFields(t *testing.T) {
	ts := fixtureTargets()
	e := fixtureEvent()

	body, _, err := Render(ts[0], e)
	if err != nil {
		t.Fatal(err)
	}
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	if env.Version != 1 || env.Type != FindingNew || env.Finding == nil || env.Finding.ID != "GO-2021-0113" ||
		env.LastSeen != "2026-11-21T13:05:00Z" || env.Delivery != DeliveryID(ts[0], e) {
		t.Errorf("envelope %+v", env)
	}

	body, _, err = Render(ts[1], e)
	if err != nil {
		t.Fatal(err)
	}
	var jira struct {
		Fields struct {
			Project     struct{ Key string }
			Summary     string
			Description string
			IssueType   struct{ Name string } `json:"issuetype"`
			Labels      []string
			Priority    struct{ Name string }
		}
	}
	if err := json.Unmarshal(body, &jira); err != nil {
		t.Fatal(err)
	}
	f := jira.Fields
	if f.Project.Key != "SEC" || f.IssueType.Name != "Bug" || f.Priority.Name != "High" ||
		f.Summary != "[hallmark] GO-2021-0113 in golang.org/x/text@v0.3.5 (high)" ||
		strings.Join(f.Labels, ",") != "hallmark,high,vulnerability" {
		t.Errorf("jira fields %+v", f)
	}
	for _, want := range []string{"|ID|GO-2021-0113|", "|Fixed in|v0.3.7|", "|CVSS 3.1|7.5 CVSS:3.1/AV:N", "* https://go.dev/cl/340830", "[Open in hallmark|https://hallmark.example.com/findings/4f7c1b0e]", "|Owner|alice|"} {
		if !strings.Contains(f.Description, want) {
			t.Errorf("jira description lacks %q:\n%s", want, f.Description)
		}
	}

	body, _, err = Render(ts[2], e)
	if err != nil {
		t.Fatal(err)
	}
	var gh githubBody
	if err := json.Unmarshal(body, &gh); err != nil {
		t.Fatal(err)
	}
	if gh.Title != f.Summary || strings.Join(gh.Labels, ",") != "security,hallmark,high,vulnerability" {
		t.Errorf("github %q %q", gh.Title, gh.Labels)
	}
	for _, want := range []string{"| ID | `GO-2021-0113` |", "| Package URL | `pkg:golang/golang.org/x/text@v0.3.5` |", "- <https://pkg.go.dev/vuln/GO-2021-0113>", "Out\\-of\\-bounds read"} {
		if !strings.Contains(gh.Body, want) {
			t.Errorf("github body lacks %q:\n%s", want, gh.Body)
		}
	}
}

func TestJiraPriority(t *testing.T) {
	for s, want := range map[scan.Severity]string{scan.Critical: "Highest", scan.High: "High", scan.Medium: "Medium", scan.Unknown: "Medium", scan.Low: "Low", scan.None: "Lowest"} {
		if got := jiraPriority(s); got != want {
			t.Errorf("jiraPriority(%s) = %s, want %s", s, got, want)
		}
	}
}

func TestRenderVerdictWithoutFinding(t *testing.T) {
	e := Event{Type: VerdictFail, Project: "payments", Build: "build-7"}
	for _, tg := range fixtureTargets() {
		body, _, err := Render(tg, e)
		if err != nil {
			t.Fatalf("%s: %v", tg.Format, err)
		}
		if !json.Valid(body) {
			t.Fatalf("%s: not JSON", tg.Format)
		}
		if tg.Format != JSON && !bytes.Contains(body, []byte("build build-7 of payments failed the policy gate")) {
			t.Errorf("%s: title:\n%s", tg.Format, body)
		}
		if tg.Format == JSON && bytes.Contains(body, []byte(`"finding"`)) {
			t.Errorf("json: an empty finding is rendered:\n%s", body)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tg := fixtureTargets()[0]
	for _, tc := range []struct {
		name string
		e    Event
		want string
	}{
		{"unknown type", Event{Type: "finding.gone", Finding: scan.Finding{ID: "X"}}, `notify: event type "finding.gone": unknown`},
		{"no finding", Event{Type: FindingNew}, "notify: event finding.new: finding.id: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Render(tg, tc.e)
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
	if _, _, err := Render(Target{Name: "x", Format: "slack", URL: "https://a.example"}, fixtureEvent()); err == nil {
		t.Error("an invalid target renders")
	}
}

// hostile is a finding whose text tries every trick on the formats.
func hostileEvent() Event {
	e := fixtureEvent()
	e.Finding.Summary = "@security-team please look [click here](https://evil.example/x) <img src=x onerror=alert(1)> " +
		"*bold* _it_ | a | b | [~accountid:123] {code}x{code} !https://evil.example/i.png! \u202eevil\u202c line\nbreak h1. big " +
		strings.Repeat("A", 10<<10)
	e.Finding.Package.Name = "@evil/pkg`|`"
	e.Finding.References = []string{"javascript:alert(1)", "https://ok.example/a", "https://evil.example/a](https://x)", "https://evil.example/<script>"}
	e.Owner = "@octocat"
	e.URL = "https://hallmark.example.com/x|javascript:alert(1)]"
	return e
}

func TestRenderHostile(t *testing.T) {
	e := hostileEvent()
	ts := fixtureTargets()

	body, _, err := Render(ts[2], e)
	if err != nil {
		t.Fatal(err)
	}
	var gh githubBody
	if err := json.Unmarshal(body, &gh); err != nil {
		t.Fatal(err)
	}
	md := gh.Body
	if regexp.MustCompile(`(^|[^\\])<img`).MatchString(md) {
		t.Errorf("github body has unescaped HTML:\n%s", md)
	}
	for _, bad := range []string{"@security-team", "[click here](", "\u202e", "\nbreak", "<javascript:", "](https://x)", "<https://evil.example/<script>", "[Open in hallmark]"} {
		if unescaped(md, bad) {
			t.Errorf("github body contains %q:\n%s", bad, md)
		}
	}
	for _, want := range []string{`＠security\-team`, `\[click here\]\(https\:\/\/evil\.example\/x\)`, `\<img`, "- <https://ok.example/a>", "`` @evil/pkg`\\|` ``", "| Owner | `@octocat` |"} {
		if !strings.Contains(md, want) {
			t.Errorf("github body lacks %q:\n%s", want, md)
		}
	}
	if n := utf8.RuneCountInString(md); n > 5000 {
		t.Errorf("github body is %d runes: the summary was not cut", n)
	}
	if n := utf8.RuneCountInString(gh.Title); n > 255 {
		t.Errorf("title is %d runes", n)
	}

	body, _, err = Render(ts[1], e)
	if err != nil {
		t.Fatal(err)
	}
	var jira struct{ Fields jiraFields }
	if err := json.Unmarshal(body, &jira); err != nil {
		t.Fatal(err)
	}
	d := jira.Fields.Description
	for _, bad := range []string{"@security-team", "[~accountid", "{code}", "!https://evil", "[click here]", "|Owner|@octocat|", "\nbreak", "[Open in hallmark|"} {
		if unescaped(d, bad) {
			t.Errorf("jira description contains %q:\n%s", bad, d)
		}
	}
	for _, want := range []string{`\[\~accountid:123\]`, `\{code\}`, `\!https://evil`, `a \| b`, "|Owner|＠octocat|", "* https://ok.example/a\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("jira description lacks %q:\n%s", want, d)
		}
	}
	if n := utf8.RuneCountInString(d); n > 5000 {
		t.Errorf("jira description is %d runes", n)
	}

	body, _, err = Render(ts[0], e)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("<img")) {
		t.Error("json: < is not escaped")
	}
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(env.Finding.Summary); n != maxSummary || !strings.HasSuffix(env.Finding.Summary, "…") {
		t.Errorf("json summary is %d runes", n)
	}
}

func TestTitleTruncated(t *testing.T) {
	e := fixtureEvent()
	e.Finding.Package.Name = strings.Repeat("ü", 400)
	got := title(e)
	if n := utf8.RuneCountInString(got); n != 255 || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("title is %d runes: %q", n, got)
	}
}

func TestValidate(t *testing.T) {
	ok := Target{Name: "t", Format: Jira, URL: "https://x.example/rest/api/2/issue", JiraProject: "SEC",
		Headers: map[string]string{"Authorization": "Basic c2VjcmV0"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:9/x"} {
		l := ok
		l.URL = u
		if err := l.Validate(); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*Target)
		want string
	}{
		{"no name", func(t *Target) { t.Name = "" }, `notify: target name "": must be`},
		{"name control", func(t *Target) { t.Name = "a\nb" }, `notify: target name "a\nb"`},
		{"format", func(t *Target) { t.Format = "slack" }, `notify: target t: format "slack": must be json, jira or github`},
		{"http remote", func(t *Target) { t.URL = "http://hooks.example.com/x" }, "notify: target t: url: http is allowed only to a loopback host"},
		{"ftp", func(t *Target) { t.URL = "ftp://hooks.example.com/x" }, `notify: target t: url: scheme "ftp": must be https`},
		{"relative", func(t *Target) { t.URL = "/rest/api/2/issue" }, "notify: target t: url: not an absolute URL"},
		{"userinfo", func(t *Target) { t.URL = "https://bob:hunter2@x.example/" }, "notify: target t: url: user information is not allowed"},
		{"header name", func(t *Target) { t.Headers = map[string]string{"Bad Name": "v"} }, `notify: target t: headers: "Bad Name" is not a valid header name`},
		{"header crlf", func(t *Target) { t.Headers = map[string]string{"Authorization": "Bearer s3cret\r\nX-Evil: 1"} }, "notify: target t: headers: Authorization: value contains CR, LF or NUL"},
		{"reserved", func(t *Target) { t.Headers = map[string]string{"content-type": "text/plain"} }, "notify: target t: headers: Content-Type is set by the sender"},
		{"jira key", func(t *Target) { t.JiraProject = "" }, `notify: target t: jira project key "": must be`},
		{"jira key lower", func(t *Target) { t.JiraProject = "sec" }, `notify: target t: jira project key "sec"`},
		{"label", func(t *Target) { t.GitHubLabels = []string{"ok", ""} }, `notify: target t: github labels[1] ""`},
		{"event", func(t *Target) { t.Events = []string{FindingNew, "build.done"} }, `notify: target t: events[1] "build.done": unknown event type`},
		{"severity", func(t *Target) { t.MinSeverity = "severe" }, `notify: target t: min severity "severe": unknown severity`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := ok
			tc.edit(&tg)
			err := tg.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %s...", err, tc.want)
			}
			for _, secret := range []string{"s3cret", "hunter2", "c2VjcmV0"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestWants(t *testing.T) {
	e := fixtureEvent() // high
	for _, tc := range []struct {
		name string
		t    Target
		e    Event
		want bool
	}{
		{"all", Target{}, e, true},
		{"listed", Target{Events: []string{SLABreached, FindingNew}}, e, true},
		{"not listed", Target{Events: []string{SLABreached}}, e, false},
		{"severe enough", Target{MinSeverity: scan.High}, e, true},
		{"below minimum", Target{MinSeverity: scan.Critical}, e, false},
		{"no finding", Target{MinSeverity: scan.Critical}, Event{Type: VerdictFail}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.Wants(tc.e); got != tc.want {
				t.Errorf("Wants = %v", got)
			}
		})
	}
}

func TestDeliveryID(t *testing.T) {
	tg := fixtureTargets()[0]
	e := fixtureEvent()
	id := DeliveryID(tg, e)
	if len(id) != 64 {
		t.Fatalf("id %q", id)
	}
	same := e
	same.LastSeen = e.LastSeen.Add(20 * time.Minute) // 13:05 -> 13:25, same hour
	same.Status = "acknowledged"
	if DeliveryID(tg, same) != id {
		t.Error("the same event within the hour has another id")
	}
	for name, edit := range map[string]func(*Target, *Event){
		"target":      func(t *Target, e *Event) { t.Name = "other" },
		"type":        func(t *Target, e *Event) { e.Type = FindingReopened },
		"fingerprint": func(t *Target, e *Event) { e.Finding.Fingerprint = "00" },
		"hour":        func(t *Target, e *Event) { e.LastSeen = e.LastSeen.Add(time.Hour) },
	} {
		t2, e2 := tg, e
		edit(&t2, &e2)
		if DeliveryID(t2, e2) == id {
			t.Errorf("%s: changing it keeps the id", name)
		}
	}
}

// unescaped reports whether sub occurs in s not preceded by a backslash.
func unescaped(s, sub string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return false
		}
		if i+j == 0 || s[i+j-1] != '\\' {
			return true
		}
		i += j + 1
	}
}
