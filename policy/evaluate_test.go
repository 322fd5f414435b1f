package policy

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/scan"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func vuln(id string, sev scan.Severity) scan.Finding {
	return scan.Finding{
		Kind: scan.Vulnerability, ID: id, Severity: sev,
		Package:     scan.Package{Ecosystem: "npm", Name: "left-pad", Version: "1.0.0", PURL: "pkg:npm/left-pad@1.0.0"},
		Fixed:       "1.0.1",
		Fingerprint: "fp-" + id,
	}
}

func kindFinding(k scan.Kind, id string, sev scan.Severity) scan.Finding {
	return scan.Finding{Kind: k, ID: id, Severity: sev, Location: scan.Location{Path: "bin/app"}, Fingerprint: "fp-" + id}
}

// decide evaluates one finding in project (of profile prof) and returns its
// decision.
func decide(t *testing.T, p *Policy, project string, f scan.Finding) Decision {
	t.Helper()
	v := p.Evaluate(Input{Project: project, Findings: []scan.Finding{f}, Now: now})
	if len(v.Decisions) != 1 {
		t.Fatalf("%d decisions: %+v", len(v.Decisions), v.Decisions)
	}
	return v.Decisions[0]
}

func TestProfileThresholds(t *testing.T) {
	p := mustParse(t, header+"projects: {c: critical, h: high, m: medium, l: low}\n")
	sevs := []scan.Severity{scan.Critical, scan.High, scan.Medium, scan.Low, scan.None, scan.Unknown}
	for _, tc := range []struct {
		project string
		kind    scan.Kind
		want    string // one letter per severity in sevs: F fail, W warn, P pass
	}{
		{"c", scan.Vulnerability, "FFFWPF"},
		{"h", scan.Vulnerability, "FFWWPF"},
		{"m", scan.Vulnerability, "FWWWPW"},
		{"l", scan.Vulnerability, "WWWWPW"},
		{"c", scan.Hardening, "FFFWPW"},
		{"h", scan.Hardening, "FFWWPW"},
		{"m", scan.Hardening, "FWWWPW"},
		{"l", scan.Hardening, "WWWWPW"},
		{"c", scan.SAST, "FFFWPW"},
		{"h", scan.SAST, "FFWWPW"},
		{"m", scan.SAST, "FWWWPW"},
		{"l", scan.SAST, "WWWWPW"},
	} {
		t.Run(tc.project+"/"+string(tc.kind), func(t *testing.T) {
			for i, sev := range sevs {
				var f scan.Finding
				if tc.kind == scan.Vulnerability {
					f = vuln("GHSA-1", sev)
				} else {
					f = kindFinding(tc.kind, "x", sev)
				}
				d := decide(t, p, tc.project, f)
				want := map[byte]Action{'F': Fail, 'W': Warn, 'P': Pass}[tc.want[i]]
				if d.Action != want {
					t.Errorf("%s: %s (%s: %s), want %s", sev, d.Action, d.Rule, d.Reason, want)
				}
				if !strings.HasPrefix(d.Rule, string(tc.kind)+".") {
					t.Errorf("%s: rule %q", sev, d.Rule)
				}
			}
		})
	}
	d := decide(t, p, "h", vuln("GHSA-1", scan.High))
	if d.Rule != "vulnerability.fail_on=high" || d.Reason != "severity high reaches fail_on high" {
		t.Errorf("decision %+v", d)
	}
	d = decide(t, p, "h", vuln("GHSA-1", scan.Medium))
	if d.Rule != "vulnerability.warn_on=low" {
		t.Errorf("decision %+v", d)
	}
	d = decide(t, p, "c", vuln("GHSA-1", scan.Unknown))
	if d.Rule != "vulnerability.unscored=fail" {
		t.Errorf("decision %+v", d)
	}
}

func TestScoreThreshold(t *testing.T) {
	p := mustParse(t, header+"projects: {p: p}\nprofiles:\n  p:\n    extends: high\n    vulnerabilities: {fail_on: 6.5, warn_on: 2}\n")
	for _, tc := range []struct {
		sev   scan.Severity
		score float64 // -1: none
		want  Action
	}{
		{scan.Medium, 6.6, Fail},
		{scan.Medium, 6.5, Fail},
		{scan.Medium, 6.4, Warn},
		{scan.Low, 1.9, Pass},
		{scan.High, -1, Fail},   // no score: the floor of high, 7.0
		{scan.Medium, -1, Warn}, // 4.0
		{scan.Low, 9.8, Fail},   // the score's rating is worse: it counts
		{scan.Unknown, 8.0, Fail},
	} {
		f := vuln("GHSA-1", tc.sev)
		if tc.score >= 0 {
			f.CVSS3 = &scan.Score{Version: "3.1", Base: tc.score}
		}
		d := decide(t, p, "p", f)
		if d.Action != tc.want {
			t.Errorf("%s %v: %s (%s: %s), want %s", tc.sev, tc.score, d.Action, d.Rule, d.Reason, tc.want)
		}
	}
	f := vuln("GHSA-1", scan.Medium)
	f.CVSS4 = &scan.Score{Version: "4.0", Base: 6.9}
	if d := decide(t, p, "p", f); d.Rule != "vulnerability.fail_on=6.5" || d.Reason != "CVSS score 6.9 reaches fail_on 6.5" {
		t.Errorf("decision %+v", d)
	}
}

func TestFixableOnly(t *testing.T) {
	p := mustParse(t, header+"projects: {p: high}\nprofiles:\n  high: {vulnerabilities: {fixable_only: true}}\n")
	fixable := vuln("GHSA-1", scan.Critical)
	if d := decide(t, p, "p", fixable); d.Action != Fail {
		t.Errorf("fixable: %+v", d)
	}
	unfixable := vuln("GHSA-1", scan.Critical)
	unfixable.Fixed = ""
	d := decide(t, p, "p", unfixable)
	if d.Action != Warn || d.Rule != "vulnerability.fixable_only" || !strings.Contains(d.Reason, "no fixed version") {
		t.Errorf("unfixable: %+v", d)
	}
	// Without fixable_only, an unfixable one fails.
	p = mustParse(t, header+"projects: {p: high}\n")
	if d := decide(t, p, "p", unfixable); d.Action != Fail {
		t.Errorf("unfixable without fixable_only: %+v", d)
	}
}

func TestUnscored(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		want Action
	}{{ModeFail, Fail}, {ModeWarn, Warn}, {ModeIgnore, Pass}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			p := mustParse(t, header+"projects: {p: low}\nprofiles:\n  low:\n    vulnerabilities: {unscored: "+string(tc.mode)+"}\n    sast: {unscored: "+string(tc.mode)+"}\n")
			for _, f := range []scan.Finding{vuln("GHSA-1", scan.Unknown), vuln("GHSA-2", "bogus"), kindFinding(scan.SAST, "r", scan.Unknown)} {
				d := decide(t, p, "p", f)
				if d.Action != tc.want || !strings.HasSuffix(d.Rule, ".unscored="+string(tc.mode)) {
					t.Errorf("%s %q: %+v", f.ID, f.Severity, d)
				}
			}
		})
	}
}

func TestMaliciousAlwaysFails(t *testing.T) {
	p := mustParse(t, header+"projects: {p: low}\nprofiles:\n  low: {vulnerabilities: {fail_on: never, warn_on: never, fixable_only: true}}\n")
	mal := vuln("MAL-2026-1", scan.Critical)
	mal.Kind, mal.Fixed = scan.Malicious, ""
	disguised := vuln("GHSA-x", scan.Low) // a vulnerability with a MAL- alias
	disguised.Aliases = []string{"MAL-2026-2"}
	for _, f := range []scan.Finding{mal, disguised} {
		exc := okException()
		exc.Vulnerability, exc.Package, exc.Project = f.ID, f.Package.PURL, "p"
		v := p.Evaluate(Input{Project: "p", Findings: []scan.Finding{f}, Now: now, Exceptions: []Exception{exc}})
		d := v.Decisions[0]
		if v.Result != Fail || d.Action != Fail || d.Rule != "malicious" || !strings.Contains(d.Reason, "malicious packages cannot be excepted") {
			t.Errorf("%s: %s, %+v", f.ID, v.Result, d)
		}
		if !strings.Contains(v.Hint, "remove pkg:npm/left-pad@1.0.0") {
			t.Errorf("hint %q", v.Hint)
		}
	}
}

func TestUnknownKindFails(t *testing.T) {
	p := mustParse(t, header+"projects: {p: low}\n")
	if d := decide(t, p, "p", kindFinding("secret", "x", scan.Low)); d.Action != Fail || d.Rule != "kind.unknown" {
		t.Errorf("%+v", d)
	}
}

func TestNoProfile(t *testing.T) {
	p := mustParse(t, header+"projects: {p: low}\n")
	v := p.Evaluate(Input{Project: "q", Findings: []scan.Finding{vuln("GHSA-1", scan.Low)}, Now: now})
	if v.Result != Fail || v.Profile != "" || v.Decisions[0].Rule != "policy.profile" || !strings.Contains(v.Hint, "assign project q a profile") {
		t.Errorf("%+v", v)
	}
	v = p.Evaluate(Input{Project: "q", Now: now})
	if v.Result != Fail || len(v.Decisions) != 1 || v.Decisions[0].Kind != Config {
		t.Errorf("no findings: %+v", v)
	}
}

func comp(purl string, lics ...string) inventory.Component {
	return inventory.Component{Ecosystem: inventory.NPM, Name: purl, Version: "1.0.0", PURL: purl, Licenses: lics}
}

func TestLicenses(t *testing.T) {
	p := mustParse(t, header+`projects: {p: p, open: medium}
profiles:
  p:
    extends: high
    licenses:
      allow: [MIT, Apache-2.0, ISC, "GPL-2.0-only WITH Classpath-exception-2.0", "BSD-3-Clause", "MPL-2.0"]
      deny: [GPL-3.0-only, AGPL-3.0-only, MPL-2.0, UNLICENSED]
      unknown: warn
`)
	for _, tc := range []struct {
		lics []string
		want Action // Pass: no decision
		rule string
	}{
		{[]string{"MIT"}, Pass, ""},
		{[]string{"mit"}, Pass, ""},
		{[]string{"MIT OR GPL-3.0-only"}, Pass, ""},
		{[]string{"GPL-3.0-only OR MIT"}, Pass, ""},
		{[]string{"MIT AND GPL-3.0-only"}, Fail, "license.deny"},
		{[]string{"MIT", "GPL-3.0-only"}, Fail, "license.deny"},
		{[]string{"(MIT AND ISC) OR AGPL-3.0-only"}, Pass, ""},
		{[]string{"(MIT AND AGPL-3.0-only) OR GPL-3.0-only"}, Fail, "license.deny"},
		{[]string{"0BSD"}, Fail, "license.allow"},
		{[]string{"0BSD OR GPL-3.0-only"}, Fail, "license.allow"},
		{[]string{"MIT AND 0BSD"}, Fail, "license.allow"},
		{[]string{"GPL-2.0-only WITH Classpath-exception-2.0"}, Pass, ""},
		{[]string{"GPL-2.0-only"}, Fail, "license.allow"},
		{[]string{"Apache-2.0 WITH LLVM-exception"}, Pass, ""}, // allowed through its licence
		{[]string{"MPL-2.0"}, Fail, "license.deny"},            // deny wins over allow
		{nil, Warn, "license.unknown"},
		{[]string{"not a licence ((("}, Warn, "license.unknown"},
		{[]string{"MIT", "SEE LICENSE IN x"}, Warn, "license.unknown"},
		{[]string{"GPL-3.0-only", "SEE LICENSE IN x"}, Fail, "license.deny"},
		{[]string{"UNLICENSED"}, Fail, "license.deny"},
	} {
		t.Run(strings.Join(tc.lics, ";"), func(t *testing.T) {
			v := p.Evaluate(Input{Project: "p", Components: []inventory.Component{comp("pkg:npm/a@1.0.0", tc.lics...)}, Now: now})
			if tc.want == Pass {
				if len(v.Decisions) != 0 || v.Result != Pass {
					t.Errorf("%s: %+v", v.Result, v.Decisions)
				}
				return
			}
			if len(v.Decisions) != 1 {
				t.Fatalf("decisions %+v", v.Decisions)
			}
			d := v.Decisions[0]
			if d.Action != tc.want || d.Rule != tc.rule || d.Kind != License || d.Package != "pkg:npm/a@1.0.0" ||
				d.Fingerprint != licenseFingerprint(tc.rule, "pkg:npm/a@1.0.0") || v.Result != tc.want {
				t.Errorf("%s: %+v", v.Result, d)
			}
		})
	}
	d := p.Evaluate(Input{Project: "p", Components: []inventory.Component{comp("pkg:npm/a@1.0.0", "MIT AND GPL-3.0-only")}, Now: now}).Decisions[0]
	if d.FindingID != "MIT AND GPL-3.0-only" || d.Reason != "licence MIT AND GPL-3.0-only: denied: GPL-3.0-only" {
		t.Errorf("%+v", d)
	}
	// medium: no lists, unknown ignored: no licence decisions at all.
	v := p.Evaluate(Input{Project: "open", Components: []inventory.Component{comp("pkg:npm/a@1.0.0"), comp("pkg:npm/b@1.0.0", "GPL-3.0-only")}, Now: now})
	if len(v.Decisions) != 0 {
		t.Errorf("medium: %+v", v.Decisions)
	}
	// low's licence action is warn.
	p = mustParse(t, header+"projects: {p: low}\nprofiles:\n  low: {licenses: {deny: [GPL-3.0-only]}}\n")
	v = p.Evaluate(Input{Project: "p", Components: []inventory.Component{comp("pkg:npm/a@1.0.0", "GPL-3.0-only")}, Now: now})
	if v.Result != Warn || v.Decisions[0].Rule != "license.deny" {
		t.Errorf("low: %+v", v)
	}
}

func TestRules(t *testing.T) {
	p := mustParse(t, header+`projects: {p: medium}
rules:
  - name: called
    expression: finding.reachability == "called" && finding.severity in ["high", "medium"]
    action: fail
  - name: prod-low
    expression: build.labels.?env.orValue("") == "prod" && finding.severity == "low"
    action: fail
  - name: gpl-pkg
    expression: finding.package.name.startsWith("gpl-") || "CVE-2026-9" in finding.aliases
    action: warn
  - name: subject
    expression: build.subject.name == "shop" && build.project == "p" && build.profile == "medium" && finding.kind == "sast" && finding.location.line > 10
    action: fail
  - name: broken
    expression: finding.id == "boom" && build.labels.missing == "x"
    action: warn
`)
	called := vuln("GHSA-1", scan.High)
	called.Reachability = scan.Called
	low := vuln("GHSA-2", scan.Low)
	gpl := vuln("GHSA-3", scan.None)
	gpl.Package.Name = "gpl-thing"
	alias := vuln("GHSA-4", scan.None)
	alias.Aliases = []string{"CVE-2026-9"}
	sast := kindFinding(scan.SAST, "G101", scan.Low)
	sast.Location.Line = 11
	boom := vuln("boom", scan.None)
	for _, tc := range []struct {
		name   string
		f      scan.Finding
		build  map[string]any
		action Action
		rule   string
	}{
		{"fail rule", called, nil, Fail, "rule:called"},
		{"fail rule, not called", vuln("GHSA-1", scan.High), nil, Warn, "vulnerability.warn_on=low"},
		{"build label prod", low, map[string]any{"labels": map[string]string{"env": "prod"}}, Fail, "rule:prod-low"},
		{"build label dev", low, map[string]any{"labels": map[string]string{"env": "dev"}}, Warn, "vulnerability.warn_on=low"},
		{"no labels", low, nil, Warn, "vulnerability.warn_on=low"},
		{"warn rule on package", gpl, nil, Warn, "rule:gpl-pkg"},
		{"warn rule on alias", alias, nil, Warn, "rule:gpl-pkg"},
		{"build subject", sast, map[string]any{"subject": map[string]any{"name": "shop", "version": "1.2.3"}}, Fail, "rule:subject"},
		{"runtime error counts as a match", boom, nil, Warn, "rule:broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := p.Evaluate(Input{Project: "p", Findings: []scan.Finding{tc.f}, Build: tc.build, Now: now})
			d := v.Decisions[0]
			if d.Action != tc.action || d.Rule != tc.rule {
				t.Errorf("%s (%s: %s), want %s (%s)", d.Action, d.Rule, d.Reason, tc.action, tc.rule)
			}
		})
	}
	d := p.Evaluate(Input{Project: "p", Findings: []scan.Finding{boom}, Now: now}).Decisions[0]
	if !strings.Contains(d.Reason, "rule error") || !strings.Contains(d.Reason, "missing") {
		t.Errorf("rule error reason %q", d.Reason)
	}
	// Evaluate did not change the caller's Build map.
	b := map[string]any{"labels": map[string]string{"env": "prod"}}
	p.Evaluate(Input{Project: "p", Findings: []scan.Finding{low}, Build: b, Now: now})
	if len(b) != 1 {
		t.Errorf("Build = %v", b)
	}
}

func TestRuleCostLimit(t *testing.T) {
	p := mustParse(t, header+`projects: {p: low}
rules:
  - name: costly
    expression: build.big.all(x, build.big.all(y, build.big.all(z, x + y + z >= 0)))
    action: fail
`)
	big := make([]int, 100)
	v := p.Evaluate(Input{Project: "p", Findings: []scan.Finding{vuln("GHSA-1", scan.Low)}, Build: map[string]any{"big": big}, Now: now})
	if d := v.Decisions[0]; d.Action != Fail || d.Rule != "rule:costly" || !strings.Contains(d.Reason, "cost limit") {
		t.Errorf("%+v", d)
	}
}

func TestDryRun(t *testing.T) {
	p := mustParse(t, header+"projects: {p: high}\n")
	in := Input{Project: "p", Findings: []scan.Finding{vuln("GHSA-1", scan.Critical)}, Now: now}
	real := p.Evaluate(in)
	in.DryRun = true
	dry := p.Evaluate(in)
	if !dry.DryRun || real.DryRun || dry.Result != Fail {
		t.Errorf("dry run: %+v", dry)
	}
	dry.DryRun = false
	if !reflect.DeepEqual(real, dry) {
		t.Errorf("dry run differs:\n%+v\n%+v", real, dry)
	}
}

func TestVerdict(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, string(data))
	var fs []scan.Finding
	for i, sev := range []scan.Severity{scan.Critical, scan.High, scan.Medium, scan.Low, scan.None, scan.Unknown, scan.High} {
		f := vuln(fmt.Sprintf("GHSA-%d", i), sev)
		f.Package.PURL = fmt.Sprintf("pkg:npm/p%d@1.0.0", i)
		fs = append(fs, f)
	}
	fs = append(fs, kindFinding(scan.Hardening, "hardening/relro", scan.Medium), kindFinding(scan.SAST, "G101", scan.High))
	exc := okException()
	exc.Vulnerability, exc.Package = "GHSA-6", "pkg:npm/p6"
	in := Input{Project: "shop", Findings: fs, Exceptions: []Exception{exc}, Now: now,
		Components: []inventory.Component{comp("pkg:npm/gpl@1.0.0", "GPL-3.0-only")}}
	v := p.Evaluate(in)
	if v.Result != Fail || v.Profile != "high" || v.Project != "shop" || v.PolicyDigest != p.Digest() || !v.Time.Equal(now) {
		t.Errorf("verdict %+v", v)
	}
	want := Counts{Fail: 5, Warn: 3, Pass: 1, Excepted: 1}
	if v.Counts != want {
		t.Errorf("counts %+v, want %+v", v.Counts, want)
	}
	if len(v.Decisions) != len(fs)+1 {
		t.Errorf("%d decisions", len(v.Decisions))
	}
	var got []string
	for _, d := range v.Decisions {
		got = append(got, string(d.Action)+" "+d.FindingID)
	}
	wantOrder := []string{
		"fail GHSA-0", "fail G101", "fail GHSA-1", "fail GHSA-5", "fail GPL-3.0-only",
		"warn GHSA-2", "warn hardening/relro", "warn GHSA-3",
		"excepted GHSA-6", "pass GHSA-4",
	}
	if !reflect.DeepEqual(got, wantOrder) {
		t.Errorf("order:\n%q\nwant\n%q", got, wantOrder)
	}
	for _, w := range []string{
		"profile high: expiry at most 60d, 2 approval(s)",
		"hallmark exception request --vuln GHSA-0 --package pkg:npm/p0@1.0.0 --project shop --reason TEXT --expires DATE",
		"hallmark exception request --finding fp-G101 --project shop",
		"and 0 more",
	} {
		if w == "and 0 more" {
			if strings.Contains(v.Hint, w) {
				t.Errorf("hint %q", v.Hint)
			}
			continue
		}
		if !strings.Contains(v.Hint, w) {
			t.Errorf("hint %q lacks %q", v.Hint, w)
		}
	}
	// Deterministic whatever the input order.
	for range 5 {
		sh := append([]scan.Finding(nil), fs...)
		rand.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		in.Findings = sh
		if v2 := p.Evaluate(in); !reflect.DeepEqual(v, v2) {
			t.Fatal("verdict depends on the findings' order")
		}
	}
	// The excepted high is visible, with its exception.
	for _, d := range v.Decisions {
		if d.Action == Excepted && (d.ExceptionID != "EX-1" || d.Rule != "vulnerability.fail_on=high" || !strings.Contains(d.Reason, "excepted by EX-1 until 2026-06-15T00:00:00Z")) {
			t.Errorf("excepted %+v", d)
		}
	}
	// Pass and warn verdicts have no hint.
	v = p.Evaluate(Input{Project: "shop", Findings: fs[2:3], Now: now})
	if v.Result != Warn || v.Hint != "" {
		t.Errorf("warn verdict %+v", v)
	}
	v = p.Evaluate(Input{Project: "shop", Now: now})
	if v.Result != Pass || len(v.Decisions) != 0 {
		t.Errorf("empty verdict %+v", v)
	}
}

func TestHintLimit(t *testing.T) {
	p := mustParse(t, header+"projects: {\"my project\": high}\n")
	var fs []scan.Finding
	for i := range 8 {
		fs = append(fs, vuln(fmt.Sprintf("GHSA-%d", i), scan.Critical))
	}
	v := p.Evaluate(Input{Project: "my project", Findings: fs, Now: now})
	if strings.Count(v.Hint, "hallmark exception request") != maxHints || !strings.Contains(v.Hint, "... and 3 more failing decision(s)") ||
		!strings.Contains(v.Hint, "--project 'my project'") {
		t.Errorf("hint %q", v.Hint)
	}
}

// Rules see the finding as a whole map: keys, presence, size, iteration,
// equality, types.
func TestFindingValue(t *testing.T) {
	f := vuln("GHSA-1", scan.Low)
	f.Aliases = []string{"CVE-1"}
	f.CVSS3 = &scan.Score{Version: "3.1", Base: 3.5}
	f.Location = scan.Location{Path: "package-lock.json", Line: 3}
	for _, expr := range []string{
		`finding.id == "GHSA-1" && finding.kind == "vulnerability" && finding.severity == "low"`,
		`finding.aliases == ["CVE-1"] && "CVE-1" in finding.aliases && size(finding.aliases) == 1`,
		`finding.score == 3.5 && finding.score > 3 && finding.fixable && finding.fixed == "1.0.1"`,
		`finding.package == {"ecosystem": "npm", "name": "left-pad", "version": "1.0.0", "purl": "pkg:npm/left-pad@1.0.0"}`,
		`finding.location.path == "package-lock.json" && finding.location.line == 3 && finding.location.column == 0`,
		`finding.reachability == ""`,
		`size(finding) == 10 && "id" in finding && !("nope" in finding) && has(finding.fixed) && !has(finding.nope)`,
		`finding.all(k, k in ["kind", "id", "aliases", "severity", "score", "fixable", "fixed", "package", "reachability", "location"])`,
		`finding.exists(k, k == "package") && finding.?nope.orValue("x") == "x" && type(finding) == map`,
		`finding == finding && finding["id"] == "GHSA-1"`,
	} {
		t.Run(expr, func(t *testing.T) {
			p := mustParse(t, header+"projects: {p: low}\nrules:\n  - {name: r, action: fail, expression: '"+strings.ReplaceAll(expr, "'", "''")+"'}\n")
			d := decide(t, p, "p", f)
			if d.Action != Fail || d.Rule != "rule:r" || d.Reason != "rule r matched" {
				t.Errorf("%+v", d)
			}
		})
	}
}
