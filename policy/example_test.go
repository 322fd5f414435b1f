package policy_test

import (
	"fmt"
	"log"
	"time"

	"github.com/hallmark-dev/hallmark/policy"
	"github.com/hallmark-dev/hallmark/scan"
)

// A high-risk project fails on a high vulnerability; a medium one only
// warns, and an approved exception lets the high one pass, visibly.
func ExamplePolicy_Evaluate() {
	p, err := policy.Parse([]byte(`apiVersion: hallmark.dev/policy/v1
kind: Policy
projects:
  shop: high
rules:
  - name: called
    expression: finding.reachability == "called"
    action: fail
`))
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	findings := []scan.Finding{
		{Kind: scan.Vulnerability, ID: "GHSA-aaaa-bbbb-cccc", Severity: scan.High, Fixed: "1.2.4",
			Package: scan.Package{Ecosystem: "npm", Name: "lodash", Version: "1.2.3", PURL: "pkg:npm/lodash@1.2.3"}, Fingerprint: "f1"},
		{Kind: scan.Vulnerability, ID: "GHSA-dddd-eeee-ffff", Severity: scan.Medium,
			Package: scan.Package{Ecosystem: "npm", Name: "qs", Version: "6.0.0", PURL: "pkg:npm/qs@6.0.0"}, Fingerprint: "f2"},
	}
	v := p.Evaluate(policy.Input{Project: "shop", Findings: findings, Now: now})
	fmt.Println(v.Result)
	for _, d := range v.Decisions {
		fmt.Println(d.Action, d.FindingID, d.Rule)
	}
	fmt.Println(v.Hint)

	exc := policy.Exception{
		ID: "EX-7", Project: "shop", Vulnerability: "GHSA-aaaa-bbbb-cccc", Package: "pkg:npm/lodash",
		Reason: "only reachable from the admin CLI", Requester: "alice",
		Approvals: []policy.Approval{{By: "bob", At: now.Add(-time.Hour)}, {By: "carol", At: now.Add(-time.Hour)}},
		Created:   now.Add(-24 * time.Hour), Expires: now.Add(30 * 24 * time.Hour),
	}
	v = p.Evaluate(policy.Input{Project: "shop", Findings: findings, Exceptions: []policy.Exception{exc}, Now: now})
	fmt.Println(v.Result, v.Counts.Excepted, v.Decisions[1].ExceptionID)
	// Output:
	// fail
	// fail GHSA-aaaa-bbbb-cccc vulnerability.fail_on=high
	// warn GHSA-dddd-eeee-ffff vulnerability.warn_on=low
	// fix the failing findings, or request an exception for each (profile high: expiry at most 60d, 2 approval(s) from approvers other than the requester):
	//   hallmark exception request --vuln GHSA-aaaa-bbbb-cccc --package pkg:npm/lodash@1.2.3 --project shop --reason TEXT --expires DATE
	// warn 1 EX-7
}

// Parse errors name the line, the column and the key.
func ExampleParse() {
	_, err := policy.Parse([]byte(`apiVersion: hallmark.dev/policy/v1
kind: Policy
profiles:
  high:
    vulnerabilities:
      fial_on: medium
`))
	fmt.Println(err)
	// Output:
	// policy: line 6, column 7: profiles.high.vulnerabilities: unknown key "fial_on" (known: fail_on, warn_on, fixable_only, unscored)
}
