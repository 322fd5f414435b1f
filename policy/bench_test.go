package policy

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/scan"
)

// benchInput is a build of 10,000 findings (vulnerabilities of every
// severity, some unscored, some fixable, hardening and SAST results) in
// 2,000 packages, 1,000 components, and 1,000 exceptions of which half
// match a finding.
func benchInput(b *testing.B) Input {
	b.Helper()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sevs := []scan.Severity{scan.Critical, scan.High, scan.Medium, scan.Low, scan.Unknown, scan.None}
	in := Input{Project: "shop", Now: now, Build: map[string]any{"labels": map[string]string{"env": "prod"}}}
	for i := range 10000 {
		f := scan.Finding{
			Kind:        scan.Vulnerability,
			ID:          fmt.Sprintf("GHSA-%04d", i),
			Aliases:     []string{fmt.Sprintf("CVE-2026-%05d", i)},
			Severity:    sevs[i%len(sevs)],
			Package:     scan.Package{Ecosystem: "npm", Name: fmt.Sprintf("pkg%d", i%2000), Version: "1.0.0", PURL: fmt.Sprintf("pkg:npm/pkg%d@1.0.0", i%2000)},
			Fingerprint: fmt.Sprintf("%064x", i),
		}
		if i%3 == 0 {
			f.Fixed = "1.0.1"
		}
		if i%5 == 0 {
			f.CVSS3 = &scan.Score{Version: "3.1", Base: float64(i%100) / 10}
		}
		if i%7 == 0 {
			f.Reachability = scan.Called
		}
		switch i % 50 {
		case 1:
			f.Kind, f.ID, f.Package = scan.Hardening, "hardening/pie", scan.Package{}
		case 2:
			f.Kind, f.ID, f.Package = scan.SAST, "G101", scan.Package{}
		}
		in.Findings = append(in.Findings, f)
	}
	for i := range 1000 {
		in.Components = append(in.Components, inventory.Component{
			Ecosystem: inventory.NPM, Name: fmt.Sprintf("pkg%d", i), Version: "1.0.0",
			PURL: fmt.Sprintf("pkg:npm/pkg%d@1.0.0", i), Licenses: [][]string{{"MIT"}, {"Apache-2.0 OR MIT"}, {"GPL-3.0-only"}, nil}[i%4],
		})
	}
	for i := range 1000 {
		e := Exception{
			ID: fmt.Sprintf("EX-%04d", i), Project: "shop", Reason: "not reachable", Requester: "alice",
			Approvals: []Approval{{By: "bob", At: now.Add(-time.Hour)}, {By: "carol", At: now.Add(-time.Hour)}},
			Created:   now.Add(-24 * time.Hour), Expires: now.Add(30 * 24 * time.Hour),
		}
		switch i % 4 {
		case 0:
			e.Vulnerability, e.Package = fmt.Sprintf("CVE-2026-%05d", i*10), fmt.Sprintf("pkg:npm/pkg%d", (i*10)%2000)
		case 1:
			e.Fingerprint = fmt.Sprintf("%064x", i*10)
		case 2:
			e.Vulnerability, e.Package = fmt.Sprintf("GHSA-%04d", i*10), "pkg:npm/other@1.0.0"
		case 3:
			e.Vulnerability, e.Package, e.Project = fmt.Sprintf("GHSA-%04d", i*10), fmt.Sprintf("pkg:npm/pkg%d@1.0.0", (i*10)%2000), "other"
		}
		in.Exceptions = append(in.Exceptions, e)
	}
	return in
}

func BenchmarkEvaluate(b *testing.B) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	withRules, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	noRules, err := Parse([]byte("apiVersion: hallmark.dev/policy/v1\nkind: Policy\nprojects: {shop: high}\n"))
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput(b)
	for _, bc := range []struct {
		name string
		p    *Policy
	}{{"rules=2", withRules}, {"rules=0", noRules}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v := bc.p.Evaluate(in)
				if len(v.Decisions) < len(in.Findings) {
					b.Fatalf("%d decisions for %d findings", len(v.Decisions), len(in.Findings))
				}
			}
		})
	}
}
