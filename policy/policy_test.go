package policy

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/scan"
)

const header = "apiVersion: hallmark.dev/policy/v1\nkind: Policy\n"

func mustParse(t testing.TB, s string) *Policy {
	t.Helper()
	p, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestParseFull(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, string(data))
	if got, want := strings.Join(p.Profiles(), ","), "critical,high,low,medium,payments,tools"; got != want {
		t.Errorf("Profiles = %s, want %s", got, want)
	}
	pay, err := p.Profile("billing")
	if err != nil {
		t.Fatal(err)
	}
	// payments extends critical and changes three keys.
	if pay.Name != "payments" || pay.Vulnerabilities.FailOn != (Threshold{Score: 6.5}) ||
		pay.Exceptions.ApprovalsRequired != 3 || pay.Exceptions.MaxExpiry != 720*time.Hour ||
		pay.Hardening.FailOn.Severity != scan.Medium || pay.Vulnerabilities.Unscored != ModeFail {
		t.Errorf("payments = %+v", pay)
	}
	high, err := p.Profile("shop")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(high.Licenses.Allow, ","); got != "Apache-2.0,BSD-3-Clause,GPL-2.0-only WITH Classpath-exception-2.0,ISC,MIT" {
		t.Errorf("high allow = %s", got)
	}
	if high.Hardening.WarnOn.Severity != scan.Medium || high.Exceptions.MaxExpiry != 60*day {
		t.Errorf("high = %+v", high)
	}
	if tools, _ := p.Profile("acme/cli"); tools.Name != "tools" || !tools.Vulnerabilities.FailOn.Never() {
		t.Errorf("tools = %+v", tools)
	}
	// Unassigned projects get default_profile.
	if d, err := p.Profile("elsewhere"); err != nil || d.Name != "medium" {
		t.Errorf("Profile(elsewhere) = %v, %v", d, err)
	}
	// Profile returns a copy.
	high.Licenses.Allow[0] = "X"
	if again, _ := p.Profile("shop"); again.Licenses.Allow[0] != "Apache-2.0" {
		t.Error("Profile's result shares the policy's lists")
	}
	if rs := p.Rules(); len(rs) != 2 || rs[0].Name != "called-high" || rs[1].Action != Warn {
		t.Errorf("Rules = %+v", rs)
	}
}

func TestBuiltins(t *testing.T) {
	p := mustParse(t, header)
	for _, tc := range []struct {
		name            string
		vulnFail, warn  string
		unscored        Mode
		expiry          time.Duration
		approvals       int
		hardFail, sFail string
	}{
		{"critical", "medium", "low", ModeFail, 30 * day, 2, "medium", "medium"},
		{"high", "high", "low", ModeFail, 60 * day, 2, "high", "high"},
		{"medium", "critical", "low", ModeWarn, 90 * day, 1, "critical", "critical"},
		{"low", "never", "low", ModeWarn, 180 * day, 1, "never", "never"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prof := p.profiles[tc.name]
			b := Builtin(tc.name)
			if prof == nil || b == nil {
				t.Fatal("missing")
			}
			for _, pr := range []*Profile{prof, b} {
				v := pr.Vulnerabilities
				if v.FailOn.String() != tc.vulnFail || v.WarnOn.String() != tc.warn || v.Unscored != tc.unscored ||
					pr.Exceptions.MaxExpiry != tc.expiry || pr.Exceptions.ApprovalsRequired != tc.approvals ||
					pr.Hardening.FailOn.String() != tc.hardFail || pr.SAST.FailOn.String() != tc.sFail {
					t.Errorf("%+v", pr)
				}
			}
		})
	}
	if Builtin("payments") != nil {
		t.Error("Builtin(payments) != nil")
	}
	if _, err := p.Profile("x"); err == nil || !strings.Contains(err.Error(), `project "x" has no profile`) {
		t.Errorf("Profile without default_profile: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"empty", "", []string{"file is empty"}},
		{"not yaml", "a: [", []string{"yaml: line 1"}},
		{"not a mapping", "- a\n", []string{"line 1, column 1", "want a mapping"}},
		{"no apiVersion", "kind: Policy\n", []string{"apiVersion is missing"}},
		{"wrong apiVersion", "apiVersion: hallmark.dev/policy/v2\nkind: Policy\n", []string{"line 1, column 13", "apiVersion", "hallmark.dev/policy/v2"}},
		{"wrong kind", "apiVersion: hallmark.dev/policy/v1\nkind: Polisy\n", []string{"line 2", "kind", "Polisy"}},
		{"unknown top key", header + "profile: {}\n", []string{"line 3, column 1", `unknown key "profile"`}},
		{"unknown profile key", header + "profiles:\n  high:\n    malicious: warn\n", []string{"line 5, column 5", "profiles.high", `unknown key "malicious"`}},
		{"unknown vulnerabilities key", header + "profiles:\n  high:\n    vulnerabilities:\n      fial_on: high\n", []string{"line 6, column 7", "profiles.high.vulnerabilities", `unknown key "fial_on"`}},
		{"unknown rule key", header + "rules:\n  - name: a\n    expr: 'true'\n    action: fail\n", []string{"line 5, column 5", "rules[0]", `unknown key "expr"`}},
		{"unknown exceptions key", header + "profiles:\n  low:\n    exceptions: {approvals: 2}\n", []string{"line 5", "profiles.low.exceptions", `unknown key "approvals"`}},
		{"duplicate key", header + "projects:\n  a: low\n  a: high\n", []string{"line 5, column 3", `key "a" is given twice (first at line 4)`}},
		{"alias", header + "profiles:\n  low: &x {}\n  high: *x\n", []string{"line 5", "aliases are not allowed"}},
		{"second document", header + "---\n" + header, []string{"line 3", "second YAML document"}},
		{"bad threshold", header + "profiles:\n  high:\n    sast: {fail_on: severe}\n", []string{"line 5", "profiles.high.sast.fail_on", `"severe"`}},
		{"score for hardening", header + "profiles:\n  high:\n    hardening: {fail_on: 7}\n", []string{"line 5", "profiles.high.hardening.fail_on", "vulnerabilities only"}},
		{"score out of range", header + "profiles:\n  high:\n    vulnerabilities: {fail_on: 10.5}\n", []string{"line 5", "10.5 is not in (0, 10]"}},
		{"zero score", header + "profiles:\n  high:\n    vulnerabilities: {warn_on: 0}\n", []string{"not in (0, 10]"}},
		{"bad mode", header + "profiles:\n  high:\n    vulnerabilities: {unscored: maybe}\n", []string{"unscored", `"maybe" is not fail, warn or ignore`}},
		{"bad bool", header + "profiles:\n  high:\n    vulnerabilities: {fixable_only: yes}\n", []string{"fixable_only", "want true or false"}},
		{"bad duration", header + "profiles:\n  high:\n    exceptions:\n      max_expiry: 9x\n", []string{"line 6, column 19", "profiles.high.exceptions.max_expiry", `"9x"`}},
		{"negative duration", header + "profiles:\n  high:\n    exceptions: {max_expiry: -5h}\n", []string{"max_expiry", "not positive"}},
		{"zero days", header + "profiles:\n  high:\n    exceptions: {max_expiry: 0d}\n", []string{"max_expiry", "not positive"}},
		{"too many days", header + "profiles:\n  high:\n    exceptions: {max_expiry: 99999999999999999999d}\n", []string{"max_expiry", "over the limit"}},
		{"duration not a string", header + "profiles:\n  high:\n    exceptions: {max_expiry: 90}\n", []string{"max_expiry", "want a string"}},
		{"zero approvals", header + "profiles:\n  high:\n    exceptions: {approvals_required: 0}\n", []string{"approvals_required", "0 is not between 1 and 100"}},
		{"unknown project profile", header + "projects:\n  shop: hgih\n", []string{"line 4, column 9", "projects.shop", `unknown profile "hgih"`, "critical, high, low, medium"}},
		{"unknown default profile", header + "default_profile: none\n", []string{"line 3, column 18", "default_profile", `unknown profile "none"`}},
		{"unknown extends", header + "profiles:\n  x:\n    extends: y\n", []string{"line 5, column 14", "profiles.x.extends", `unknown profile "y"`}},
		{"new profile without extends", header + "profiles:\n  x:\n    vulnerabilities: {fail_on: low}\n", []string{"line 5", "profiles.x", "not built in"}},
		{"extends cycle", header + "profiles:\n  x: {extends: y}\n  y: {extends: x}\n", []string{"extends itself through a cycle"}},
		{"licence expression in list", header + "profiles:\n  high:\n    licenses: {deny: [MIT OR ISC]}\n", []string{"profiles.high.licenses.deny[0]", "is an expression"}},
		{"unknown licence id", header + "profiles:\n  high:\n    licenses: {allow: [MIT, NotALicence]}\n", []string{"profiles.high.licenses.allow[1]", "NotALicence"}},
		{"bad cel", header + "rules:\n  - name: reach\n    expression: findin.reachability == 'called'\n    action: fail\n", []string{"line 5, column 17", "rules[0].expression", `rule "reach"`, "1:1", "undeclared reference to 'findin'"}},
		{"cel syntax", header + "rules:\n  - name: s\n    expression: finding.id ==\n    action: fail\n", []string{"rules[0].expression", `rule "s"`, "1:"}},
		{"cel not bool", header + "rules:\n  - name: n\n    expression: \"finding.score + 1.0 > 2.0 ? 'a' : 'b'\"\n    action: warn\n", []string{`rule "n"`, "gives string, not a bool"}},
		{"rule without action", header + "rules:\n  - name: n\n    expression: 'true'\n", []string{"rules[0]", "action is missing"}},
		{"rule bad action", header + "rules:\n  - {name: n, expression: 'true', action: pass}\n", []string{"rules[0].action", `"pass" is not fail or warn`}},
		{"rule without name", header + "rules:\n  - {expression: 'true', action: fail}\n", []string{"rules[0]", "name is missing"}},
		{"rule bad name", header + "rules:\n  - {name: 'a b', expression: 'true', action: fail}\n", []string{"rules[0].name", "rule name"}},
		{"duplicate rule", header + "rules:\n  - {name: a, expression: 'true', action: fail}\n  - {name: a, expression: 'false', action: warn}\n", []string{"line 5", "rules[1].name", "used twice (first at line 4)"}},
		{"rules not a list", header + "rules: {}\n", []string{"rules", "want a sequence"}},
		{"too many rules", header + "rules:\n" + strings.Repeat("  - {name: a, expression: 'true', action: fail}\n", MaxRules+1), []string{"201 entries, more than the limit of 200"}},
		{"too large", header + "# " + strings.Repeat("x", MaxSize) + "\n", []string{"more than the limit of 1048576"}},
		{"expression too long", header + "rules:\n  - {name: a, action: fail, expression: '" + strings.Repeat("true && ", 600) + "true'}\n", []string{"rules[0].expression"}},
		{"null project name", header + "projects:\n  ~: high\n", []string{"line 4", "a key must be a scalar"}},
		{"not utf-8", header + "projects:\n  \xff: high\n", []string{"not valid UTF-8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "policy: ") {
				t.Errorf("error %q does not start with policy:", err)
			}
		})
	}
}

func TestUnknownProfileIs(t *testing.T) {
	_, err := Parse([]byte(header + "projects: {a: b}\n"))
	if !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("err = %v, not ErrUnknownProfile", err)
	}
}

func TestParseDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90d": 90 * day, "1d": day, "720h": 720 * time.Hour, "36h30m": 36*time.Hour + 30*time.Minute, "3650d": 3650 * day,
	} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "1.5d", "3651d", "0h", "90D", "1w", "d90"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestDigest(t *testing.T) {
	a := mustParse(t, header+"projects: {shop: high}\nprofiles:\n  high: {vulnerabilities: {fail_on: high}}\n")
	// Same meaning: other order, flow style, comments, a key set to its default.
	b := mustParse(t, "# comment\nkind: Policy\napiVersion: hallmark.dev/policy/v1\nprojects:\n  shop: high\n")
	c := mustParse(t, header+"projects: {shop: medium}\n")
	d := mustParse(t, header+"projects: {shop: high}\nprofiles:\n  high: {vulnerabilities: {fail_on: critical}}\n")
	e := mustParse(t, header+"projects: {shop: high}\nrules:\n  - {name: r, expression: 'true', action: warn}\n")
	if !strings.HasPrefix(a.Digest(), "sha256:") || len(a.Digest()) != len("sha256:")+64 {
		t.Fatalf("Digest = %q", a.Digest())
	}
	if a.Digest() != b.Digest() {
		t.Errorf("equivalent policies have digests %s and %s", a.Digest(), b.Digest())
	}
	for i, o := range []*Policy{c, d, e} {
		if o.Digest() == a.Digest() {
			t.Errorf("policy %d has the same digest as a different one", i)
		}
	}
	if a2 := mustParse(t, header+"projects: {shop: high}\n"); a2.Digest() != a.Digest() {
		t.Error("digest is not stable")
	}
}

func TestThresholdString(t *testing.T) {
	for _, tc := range []struct {
		t    Threshold
		want string
	}{{Threshold{}, "never"}, {Threshold{Severity: scan.High}, "high"}, {Threshold{Score: 7.5}, "7.5"}, {Threshold{Score: 7}, "7"}} {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// TestEmptyListOverrides checks that a list the file sets empty replaces
// the list of the profile it extends, while a list it leaves out is kept.
func TestEmptyListOverrides(t *testing.T) {
	p := mustParse(t, header+"profiles:\n  base: {extends: high, licenses: {allow: [MIT], deny: [GPL-3.0-only]}}\n  open: {extends: base, licenses: {allow: []}}\n")
	prof := p.ProfileNamed("open")
	if prof == nil {
		t.Fatal("no profile open")
	}
	if len(prof.Licenses.Allow) != 0 {
		t.Errorf("allow = %v, want the empty list the file sets", prof.Licenses.Allow)
	}
	if !slices.Equal(prof.Licenses.Deny, []string{"GPL-3.0-only"}) {
		t.Errorf("deny = %v, want base's [GPL-3.0-only]", prof.Licenses.Deny)
	}
}
