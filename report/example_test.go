package report_test

import (
	"fmt"
	"os"
	"time"

	"github.com/hallmark-dev/hallmark/report"
)

// A week with one failed build, an exception about to expire and an
// artifact that was signed although its build did not pass: the attention
// list leads with the red alert.
func exampleData() report.Data {
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	return report.Data{
		Org:  "Example Corp",
		From: day("2026-01-12"), To: day("2026-01-19"), Generated: day("2026-01-19"),
		Builds: []report.Build{
			{ID: "b-1", Project: "payments-api", Verdict: report.Pass, Time: day("2026-01-12")},
			{ID: "b-2", Project: "payments-api", Verdict: report.Fail, Time: day("2026-01-14"), Findings: map[string]int{"high": 1}},
		},
		Exceptions: []report.Exception{{
			ID: "EXC-1", Project: "payments-api", Vulnerability: "CVE-2025-1111", Package: "pkg:npm/lodash@4.17.20",
			Reason: "not reachable", Requester: "alice", Approvers: []string{"bob", "carol"},
			Created: day("2026-01-13"), Expires: day("2026-01-23"), Status: "approved",
		}},
		Unverified: []report.Artifact{{Digest: "sha256:9f86d0", Name: "app", Project: "payments-api", Time: day("2026-01-15")}},
	}
}

func ExampleSummarize() {
	d := exampleData()
	now := time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC)
	s := report.Summarize(d, now, 7*24*time.Hour)
	for _, a := range s.Attention {
		fmt.Printf("%s: %s\n", a.Level, a.Message)
	}
	fmt.Printf("%s: %d pass, %d fail\n", s.Weeks[0].Label, s.Weeks[0].Pass, s.Weeks[0].Fail)
	fmt.Printf("expiring: %s on %s\n", s.Expiring[0].ID, s.Expiring[0].Expires.Format(time.DateOnly))
	// Output:
	// red: artifact "app" of project "payments-api" (sha256:9f86d0) was signed without a pass or warn verdict
	// 2026-W03: 1 pass, 1 fail
	// expiring: EXC-1 on 2026-01-23
}

func ExampleMarkdown() {
	d := exampleData()
	s := report.Summarize(d, time.Date(2026, 1, 19, 0, 0, 0, 0, time.UTC), 7*24*time.Hour)
	if err := report.Markdown(os.Stdout, d, s); err != nil {
		fmt.Println(err)
	}
	// Output:
	// # Security review: Example Corp
	//
	// Period: 2026-01-12 to 2026-01-19. Generated 2026-01-19 00:00Z; views computed at 2026-01-19 00:00Z.
	//
	// ## Attention
	//
	// - **RED** (unverified-artifact): artifact "app" of project "payments-api" (sha256:9f86d0) was signed without a pass or warn verdict
	//
	// ## Builds by verdict
	//
	// 2 builds: 1 pass, 0 warn, 1 fail.
	//
	// ### By week
	//
	// | Week | Starts | Pass | Warn | Fail | Other | Total |
	// | --- | --- | --- | --- | --- | --- | --- |
	// | 2026-W03 | 2026-01-12 | 1 | 0 | 1 | 0 | 2 |
	//
	// ### By project
	//
	// | Project | Pass | Warn | Fail | Other | Total |
	// | --- | --- | --- | --- | --- | --- |
	// | payments-api | 1 | 0 | 1 | 0 | 2 |
	//
	// ## Exceptions granted in the period
	//
	// | ID | Project | Vulnerability | Package | Reason | Requester | Approvers | Created | Expires | Status |
	// | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
	// | EXC-1 | payments-api | CVE-2025-1111 | pkg:npm/lodash@4.17.20 | not reachable | alice | bob, carol | 2026-01-13 | 2026-01-23 | approved |
	//
	// ## Exceptions expiring within 7 days
	//
	// | ID | Project | Vulnerability | Package | Reason | Requester | Approvers | Created | Expires | Status |
	// | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
	// | EXC-1 | payments-api | CVE-2025-1111 | pkg:npm/lodash@4.17.20 | not reachable | alice | bob, carol | 2026-01-13 | 2026-01-23 | approved |
	//
	// ## Exceptions expired in the period
	//
	// None.
	//
	// ## Open findings by severity
	//
	// None.
	//
	// ## Open findings past SLA
	//
	// None.
	//
	// ### Breaches by project
	//
	// None.
	//
	// ## Keys used
	//
	// None.
	//
	// ## Artifacts signed without a pass or warn verdict
	//
	// | Time | Project | Name | Digest |
	// | --- | --- | --- | --- |
	// | 2026-01-15 00:00Z | payments-api | app | sha256:9f86d0 |
	//
	// ## Policy changes
	//
	// None.
	//
	// ## Builds
	//
	// | Time | ID | Project | Subject | Profile | Verdict | Findings |
	// | --- | --- | --- | --- | --- | --- | --- |
	// | 2026-01-12 00:00Z | b-1 | payments-api |  |  | pass | - |
	// | 2026-01-14 00:00Z | b-2 | payments-api |  |  | fail | high 1 |
}
