package policy

import (
	"os"
	"testing"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/scan"
)

func FuzzParse(f *testing.F) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte(header))
	f.Add([]byte(header + "profiles:\n  x: {extends: y}\n  y: {extends: x}\n"))
	f.Add([]byte(header + "rules:\n  - {name: a, expression: 'finding.score > 7.0', action: fail}\nprojects: {p: high}\n"))
	f.Add([]byte(header + "profiles:\n  low: &a {}\n  high: *a\n"))
	f.Add([]byte(header + "profiles:\n  high:\n    licenses: {allow: [MIT, 'GPL-2.0-only WITH Classpath-exception-2.0'], deny: [UNLICENSED]}\n    exceptions: {max_expiry: 90d}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatal("a policy and an error")
			}
			return
		}
		p2, err := Parse(data)
		if err != nil || p2.Digest() != p.Digest() {
			t.Fatalf("second Parse: %v, digest %s != %s", err, p2.Digest(), p.Digest())
		}
		for _, name := range p.Profiles() {
			prof := p.profiles[name]
			if prof.Exceptions.ApprovalsRequired < 1 || prof.Exceptions.MaxExpiry <= 0 {
				t.Fatalf("profile %s: %+v", name, prof.Exceptions)
			}
		}
		// Evaluate whatever was parsed: no panics, a result.
		for _, project := range append(p.Profiles(), "") {
			v := p.Evaluate(Input{
				Project:    project,
				Findings:   []scan.Finding{vuln("GHSA-1", scan.High), vuln("MAL-1", scan.Low), kindFinding(scan.SAST, "r", scan.Unknown)},
				Components: []inventory.Component{comp("pkg:npm/a@1", "MIT OR GPL-3.0-only"), comp("pkg:npm/b@1")},
				Exceptions: []Exception{okException()},
				Now:        now,
			})
			switch v.Result {
			case Pass, Warn, Fail:
			default:
				t.Fatalf("result %q", v.Result)
			}
		}
	})
}

// FuzzLicenses judges arbitrary declared licences: no panics, and a
// status for every input.
func FuzzLicenses(f *testing.F) {
	p, err := Parse([]byte(header + "profiles:\n  high: {licenses: {allow: [MIT, Apache-2.0, 'GPL-2.0-only WITH Classpath-exception-2.0'], deny: [GPL-3.0-only]}}\n"))
	if err != nil {
		f.Fatal(err)
	}
	prof := p.profiles["high"]
	for _, s := range []string{"MIT", "MIT OR GPL-3.0-only", "(MIT AND (ISC OR GPL-3.0-only))", "GPL-2.0-only WITH Classpath-exception-2.0", "UNLICENSED", "SEE LICENSE IN x", "((((", "MIT AND", "LicenseRef-x"} {
		f.Add(s, "Apache-2.0")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		r := judgeLicenses([]string{a, b}, prof)
		if r.status < licDenied || r.status > licAllowed {
			t.Fatalf("status %d", r.status)
		}
		if r.status != licAllowed && r.reason == "" {
			t.Fatalf("%q, %q: status %d without a reason", a, b, r.status)
		}
		// One licence is at least as acceptable as both together.
		if one := judgeLicenses([]string{a}, prof); one.status < r.status {
			t.Fatalf("%q alone: %d, with %q: %d", a, one.status, b, r.status)
		}
	})
}
