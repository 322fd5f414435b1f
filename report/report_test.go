package report_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/report"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// now is the fixture's "today".
var now = date("2026-01-20T12:00:00Z")

// fixture is a realistic month and a half across a year boundary.
func fixture() report.Data {
	d := report.Data{
		Org:       "Example Corp",
		From:      date("2025-12-08T00:00:00Z"),
		To:        date("2026-01-20T12:00:00Z"),
		Generated: date("2026-01-20T12:00:00Z"),
	}
	projects := []string{"payments-api", "web-frontend", "batch-jobs"}
	profiles := []string{"high", "medium", "low"}
	verdicts := []string{"pass", "pass", "warn", "pass", "fail", "pass", "warn"}
	t := date("2025-12-08T09:00:00Z")
	for i := range 40 {
		p := i % len(projects)
		v := verdicts[i%len(verdicts)]
		f := map[string]int{}
		switch v {
		case "warn":
			f["medium"] = 1 + i%3
		case "fail":
			f["high"] = 1
			f["low"] = 2
		}
		d.Builds = append(d.Builds, report.Build{
			ID: fmt.Sprintf("b-%03d", i+1), Project: projects[p], Subject: "registry.example.com/" + projects[p],
			Verdict: v, Profile: profiles[p], Time: t, Findings: f,
		})
		t = t.Add(26 * time.Hour)
	}
	d.Exceptions = []report.Exception{
		{ID: "EXC-1", Project: "payments-api", Vulnerability: "GHSA-aaaa-bbbb-cccc", Package: "pkg:golang/golang.org/x/net@v0.30.0",
			Reason: "not reachable: HTTP/2 server unused", Requester: "alice", Approvers: []string{"bob", "carol"},
			Created: date("2025-12-10T10:00:00Z"), Expires: date("2026-01-25T00:00:00Z"), Status: "approved"},
		{ID: "EXC-2", Project: "web-frontend", Vulnerability: "CVE-2025-1111", Package: "pkg:npm/lodash@4.17.20",
			Reason: "fix lands with the framework upgrade", Requester: "dave", Approvers: []string{"erin"},
			Created: date("2025-11-20T10:00:00Z"), Expires: date("2026-01-10T00:00:00Z"), Status: "expired"},
		{ID: "EXC-3", Project: "batch-jobs", Vulnerability: "CVE-2025-2222", Package: "pkg:pypi/requests@2.31.0",
			Reason: "internal network only", Requester: "frank", Approvers: []string{"grace"},
			Created: date("2026-01-05T10:00:00Z"), Expires: date("2026-03-31T00:00:00Z"), Status: "approved"},
		{ID: "EXC-4", Project: "payments-api", Vulnerability: "CVE-2025-3333", Package: "pkg:golang/github.com/x/y@v1.0.0",
			Reason: "waiting for upstream", Requester: "alice",
			Created: date("2026-01-18T10:00:00Z"), Expires: date("2026-02-15T00:00:00Z"), Status: "pending"},
	}
	d.Findings = []report.Finding{
		{Fingerprint: "fp-1", Project: "web-frontend", ID: "CVE-2025-1111", Package: "pkg:npm/lodash@4.17.20", Severity: "high",
			Status: "open", Owner: "dave", FirstSeen: date("2025-11-15T00:00:00Z"), Due: date("2025-12-15T00:00:00Z")},
		{Fingerprint: "fp-2", Project: "payments-api", ID: "CVE-2025-4444", Package: "pkg:golang/example.com/m@v1.2.3", Severity: "medium",
			Status: "acknowledged", Owner: "alice", FirstSeen: date("2025-12-01T00:00:00Z"), Due: date("2026-01-15T00:00:00Z")},
		{Fingerprint: "fp-3", Project: "payments-api", ID: "CVE-2025-5555", Package: "pkg:golang/example.com/n@v0.1.0", Severity: "low",
			Status: "open", Owner: "", FirstSeen: date("2026-01-02T00:00:00Z"), Due: date("2026-04-02T00:00:00Z")},
		{Fingerprint: "fp-4", Project: "batch-jobs", ID: "CVE-2025-6666", Package: "pkg:pypi/pyyaml@5.3", Severity: "critical",
			Status: "reopened", Owner: "frank", FirstSeen: date("2025-12-20T00:00:00Z"), Due: date("2026-01-03T00:00:00Z")},
		{Fingerprint: "fp-5", Project: "batch-jobs", ID: "CVE-2025-7777", Package: "pkg:pypi/jinja2@3.0.0", Severity: "medium",
			Status: "fixed", Owner: "frank", FirstSeen: date("2025-12-01T00:00:00Z"), Due: date("2026-01-01T00:00:00Z")},
		{Fingerprint: "fp-6", Project: "web-frontend", ID: "hardening/no-pie", Package: "bin/app", Severity: "medium",
			Status: "open", Owner: "erin", FirstSeen: date("2026-01-10T00:00:00Z"), Due: date("2026-02-10T00:00:00Z")},
	}
	d.KeysUsed = []report.KeyUse{
		{Key: "platform", Version: "3", Signatures: 96, First: date("2025-12-08T09:05:00Z"), Last: date("2026-01-19T10:00:00Z")},
		{Key: "log", Version: "1", Signatures: 43, First: date("2025-12-08T09:05:00Z"), Last: date("2026-01-20T00:00:00Z")},
	}
	d.PolicyChanges = []report.PolicyChange{
		{Time: date("2025-12-15T14:30:00Z"), By: "security-admin:ivan", Digest: "sha256:1f2e3d", Summary: "high profile: unscored vulnerabilities fail closed"},
	}
	return d
}

func render(t testing.TB, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type renderer struct {
	name string
	fn   func(w *bytes.Buffer, d report.Data, s report.Summary) error
}

var renderers = []renderer{
	{"md", func(w *bytes.Buffer, d report.Data, s report.Summary) error { return report.Markdown(w, d, s) }},
	{"html", func(w *bytes.Buffer, d report.Data, s report.Summary) error { return report.HTML(w, d, s) }},
	{"json", func(w *bytes.Buffer, d report.Data, s report.Summary) error { return report.JSON(w, d, s) }},
}

func TestGolden(t *testing.T) {
	d := fixture()
	s := report.Summarize(d, now, 14*24*time.Hour)
	for _, r := range renderers {
		t.Run(r.name, func(t *testing.T) {
			got := render(t, func(b *bytes.Buffer) error { return r.fn(b, d, s) })
			path := filepath.Join("testdata", "report."+r.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run go test -update and review the diff)", r.name, path)
			}
		})
	}
}

// TestDeterministic shuffles the input's order: the output must not change.
func TestDeterministic(t *testing.T) {
	d := fixture()
	rev := fixture()
	reverse(rev.Builds)
	reverse(rev.Exceptions)
	reverse(rev.Findings)
	reverse(rev.KeysUsed)
	rev.From = rev.From.In(time.FixedZone("x", 5*3600))
	for _, r := range renderers {
		t.Run(r.name, func(t *testing.T) {
			a := render(t, func(b *bytes.Buffer) error { return r.fn(b, d, report.Summarize(d, now, 14*24*time.Hour)) })
			b := render(t, func(b *bytes.Buffer) error { return r.fn(b, rev, report.Summarize(rev, now, 14*24*time.Hour)) })
			if !bytes.Equal(a, b) {
				t.Errorf("output depends on the order of the input")
			}
		})
	}
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

const evil = `<script>alert(1)</script>`

func hostile() report.Data {
	d := fixture()
	d.Org = evil
	d.Builds[0].Project = evil
	d.Builds[0].Findings = map[string]int{evil: 1}
	d.Exceptions[0].ID = evil
	d.Exceptions[0].Reason = "a | b\n# heading " + evil
	d.Exceptions[0].Approvers = []string{evil}
	d.Findings[0].Project = evil
	d.Findings[0].Severity = evil
	d.Unverified = []report.Artifact{{Digest: "sha256:00", Name: evil, Project: evil, Time: now}}
	d.PolicyChanges[0].Summary = `"><svg onload=alert(1)>`
	return d
}

func TestHTMLEscapes(t *testing.T) {
	d := hostile()
	s := report.Summarize(d, now, 14*24*time.Hour)
	out := string(render(t, func(b *bytes.Buffer) error { return report.HTML(b, d, s) }))
	for _, bad := range []string{"<script", "<svg onload"} {
		if strings.Contains(strings.ToLower(out), bad) {
			i := strings.Index(strings.ToLower(out), bad)
			t.Errorf("HTML contains %q unescaped: ...%s...", bad, out[max(0, i-80):min(len(out), i+80)])
		}
	}
	if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("HTML does not show the project name escaped")
	}
	// The project name reaches the SLA chart, written by hand: it must be escaped there too.
	i := strings.Index(out, `id="chart-sla-t"`)
	if i < 0 || !strings.Contains(out[i:], "&lt;script&gt;") {
		t.Errorf("SLA chart does not carry the escaped project name")
	}
}

func TestMarkdownEscapes(t *testing.T) {
	d := hostile()
	s := report.Summarize(d, now, 14*24*time.Hour)
	out := string(render(t, func(b *bytes.Buffer) error { return report.Markdown(b, d, s) }))
	if strings.Contains(out, "<script>") {
		t.Errorf("Markdown contains a raw <script> tag")
	}
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "# heading") {
			t.Errorf("a reason started a heading: %q", line)
		}
	}
	// Every row of an exception table has as many cells as its header: no "|" leaked.
	tables := regexp.MustCompile(`(?m)^\| ID \| Project \| Vulnerability .*\n\|.*\n((?:\|.*\n)+)`).FindAllStringSubmatch(out, -1)
	if len(tables) == 0 {
		t.Fatal("no exception table")
	}
	for _, tb := range tables {
		for row := range strings.SplitSeq(strings.TrimSpace(tb[1]), "\n") {
			if n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(row, -1)); n != 11 {
				t.Errorf("row has %d unescaped pipes, want 11: %s", n, row)
			}
		}
	}
}

func TestJSONFieldNames(t *testing.T) {
	d := fixture()
	s := report.Summarize(d, now, 14*24*time.Hour)
	d.Builds[0].Findings = nil // and d.Exceptions[3] has no approvers
	out := render(t, func(b *bytes.Buffer) error { return report.JSON(b, d, s) })
	if bytes.Contains(out, []byte("null")) {
		t.Errorf("JSON has a null")
	}
	var doc map[string]map[string]any
	var top struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(out, &top); err != nil || top.Version != 1 {
		t.Fatalf("version: %v %d", err, top.Version)
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	doc = map[string]map[string]any{}
	for _, k := range []string{"data", "summary"} {
		m := map[string]any{}
		if err := json.Unmarshal(raw[k], &m); err != nil {
			t.Fatal(k, err)
		}
		doc[k] = m
	}
	for k, keys := range map[string][]string{
		"data":    {"org", "from", "to", "generated", "builds", "exceptions", "findings", "keys_used", "unverified", "policy_changes"},
		"summary": {"now", "expiring_within_seconds", "verdicts", "weeks", "projects", "granted", "expiring", "expired", "past_sla", "sla_by_project", "open_by_severity", "attention"},
	} {
		if len(doc[k]) != len(keys) {
			t.Errorf("%s has %d members, want %d", k, len(doc[k]), len(keys))
		}
		for _, name := range keys {
			if _, ok := doc[k][name]; !ok {
				t.Errorf("%s.%s missing", k, name)
			}
		}
	}
	week := doc["summary"]["weeks"].([]any)[0].(map[string]any)
	for _, name := range []string{"label", "start", "pass", "warn", "fail", "other"} {
		if _, ok := week[name]; !ok {
			t.Errorf("summary.weeks[0].%s missing", name)
		}
	}
}

func TestEmpty(t *testing.T) {
	for _, d := range []report.Data{{}, {Org: "x", From: now.Add(-24 * time.Hour), To: now}} {
		s := report.Summarize(d, now, 0)
		if len(s.Weeks) != 0 || s.Verdicts.Total() != 0 || len(s.Attention) != 0 {
			t.Errorf("summary of empty data: %+v", s)
		}
		for _, r := range renderers {
			out := string(render(t, func(b *bytes.Buffer) error { return r.fn(b, d, s) }))
			switch r.name {
			case "html":
				if n := strings.Count(out, ">no data</text>"); n != 4 {
					t.Errorf("html: %d charts say no data, want 4", n)
				}
				if !strings.Contains(out, "Nothing needs attention") || !strings.Contains(out, "None, as it must be") {
					t.Errorf("html: empty report lacks its reassurances")
				}
				if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
					t.Errorf("html: NaN or Inf in an empty report")
				}
			case "md":
				if !strings.Contains(out, "Nothing needs attention") {
					t.Errorf("md: empty report lacks the attention line")
				}
			case "json":
				if strings.Contains(out, "null") {
					t.Errorf("json: empty report has null lists:\n%s", out)
				}
			}
		}
	}
}

func TestCappedRows(t *testing.T) {
	d := big(1000, 300)
	s := report.Summarize(d, now, 14*24*time.Hour)
	for _, r := range renderers[:2] {
		out := string(render(t, func(b *bytes.Buffer) error { return r.fn(b, d, s) }))
		if !strings.Contains(out, fmt.Sprintf("and %d more", 1000-report.MaxRows)) {
			t.Errorf("%s: builds table not capped with its remainder", r.name)
		}
	}
	html := string(render(t, func(b *bytes.Buffer) error { return report.HTML(b, d, s) }))
	if !strings.Contains(html, "and 270 more (see the table)") {
		t.Errorf("html: the exception timeline does not say how many it left out")
	}
	out := render(t, func(b *bytes.Buffer) error { return report.JSON(b, d, s) })
	var doc struct {
		Data report.Data `json:"data"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Data.Builds) != 1000 {
		t.Errorf("json has %d builds, want all 1000", len(doc.Data.Builds))
	}
}

// big makes n builds and m exceptions over 30 weeks.
func big(n, m int) report.Data {
	d := report.Data{Org: "big", From: now.AddDate(0, 0, -210), To: now, Generated: now}
	verdicts := []string{"pass", "warn", "fail", "pass"}
	for i := range n {
		d.Builds = append(d.Builds, report.Build{
			ID: fmt.Sprintf("b-%05d", i), Project: fmt.Sprintf("project-%02d", i%37), Subject: "s",
			Verdict: verdicts[i%4], Profile: "high", Time: d.From.Add(time.Duration(i) * 210 * 24 * time.Hour / time.Duration(n)),
			Findings: map[string]int{"high": i % 3, "low": i % 5},
		})
	}
	for i := range m {
		c := d.From.Add(time.Duration(i) * time.Hour * 5)
		d.Exceptions = append(d.Exceptions, report.Exception{
			ID: fmt.Sprintf("E-%04d", i), Project: fmt.Sprintf("project-%02d", i%37), Vulnerability: fmt.Sprintf("CVE-2025-%04d", i),
			Package: "pkg:npm/x@1", Reason: "r", Requester: "a", Approvers: []string{"b", "c"},
			Created: c, Expires: c.AddDate(0, 0, 60), Status: "approved",
		})
		d.Findings = append(d.Findings, report.Finding{Fingerprint: fmt.Sprintf("fp-%d", i), Project: fmt.Sprintf("project-%02d", i%37),
			ID: fmt.Sprintf("CVE-2025-%04d", i), Package: "pkg:npm/x@1", Severity: []string{"critical", "high", "medium", "low"}[i%4],
			Status: "open", Due: c.AddDate(0, 0, 30)})
	}
	return d
}

// TestManyWeeks: builds spread over decades do not make the week chart
// unreadable: it draws the latest weeks and says so.
func TestManyWeeks(t *testing.T) {
	var d report.Data
	for i := range 400 {
		d.Builds = append(d.Builds, report.Build{ID: fmt.Sprint(i), Verdict: "pass", Time: now.AddDate(0, 0, -30*i)})
	}
	s := report.Summarize(d, now, 0)
	if len(s.Weeks) != 400 {
		t.Fatalf("%d weeks, want 400 (too far apart to fill)", len(s.Weeks))
	}
	out := string(render(t, func(b *bytes.Buffer) error { return report.HTML(b, d, s) }))
	if !strings.Contains(out, "244 earlier weeks are only in the table") {
		t.Errorf("week chart does not say it left weeks out")
	}
	chart := out[strings.Index(out, `id="chart-weeks-t"`):]
	chart = chart[:strings.Index(chart, "</svg>")]
	if n := strings.Count(chart, "<rect "); n != 156+4+1 {
		t.Errorf("week chart draws %d rects, want 156 bars, 4 legend swatches and the hatch", n)
	}
}

func TestHuge(t *testing.T) {
	if raceEnabled {
		t.Skip("timing is meaningless under the race detector")
	}
	d := big(10000, 1000)
	for _, r := range renderers {
		start := time.Now()
		s := report.Summarize(d, now, 14*24*time.Hour)
		render(t, func(b *bytes.Buffer) error { return r.fn(b, d, s) })
		if el := time.Since(start); el > time.Second {
			t.Errorf("%s: 10,000 builds and 1,000 exceptions took %v to summarize and render, want under 1 s", r.name, el)
		}
	}
}

func BenchmarkReport(b *testing.B) {
	d := big(10000, 1000)
	for _, r := range renderers {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				s := report.Summarize(d, now, 14*24*time.Hour)
				var buf bytes.Buffer
				if err := r.fn(&buf, d, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterError(t *testing.T) {
	d := fixture()
	s := report.Summarize(d, now, 0)
	for name, fn := range map[string]func() error{
		"markdown": func() error { return report.Markdown(failWriter{}, d, s) },
		"html":     func() error { return report.HTML(failWriter{}, d, s) },
		"json":     func() error { return report.JSON(failWriter{}, d, s) },
	} {
		err := fn()
		if err == nil || !strings.Contains(err.Error(), "report: "+name+": ") || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: error %v, want it to name the renderer and wrap the writer's", name, err)
		}
	}
}

// TestScreenshot renders the HTML golden file with a headless Chromium when
// one is installed, for a person to look at (testdata/report.png).
func TestScreenshot(t *testing.T) {
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no Chromium installed")
	}
	in, err := filepath.Abs(filepath.Join("testdata", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report.png")
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--screenshot="+out, "--window-size=1000,3000", "file://"+in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, b)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot: %v", err)
	}
	if *update {
		b, _ := os.ReadFile(out)
		if err := os.WriteFile(filepath.Join("testdata", "report.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
