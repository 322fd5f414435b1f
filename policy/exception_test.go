package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/scan"
)

// okException is a valid exception for project shop under the high
// profile (2 approvals, 60 days): it excepts GHSA-1 in left-pad 1.0.0.
func okException() Exception {
	return Exception{
		ID:            "EX-1",
		Project:       "shop",
		Vulnerability: "GHSA-1",
		Package:       "pkg:npm/left-pad@1.0.0",
		Reason:        "the vulnerable function is never called",
		Requester:     "alice",
		Approvals:     []Approval{{By: "bob", At: now.Add(-2 * time.Hour)}, {By: "carol", At: now.Add(-time.Hour)}},
		Created:       time.Date(2026, 5, 25, 0, 0, 0, 0, time.UTC),
		Expires:       time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC),
		Justification: "vulnerable_code_not_in_execute_path",
	}
}

func TestExceptions(t *testing.T) {
	p := mustParse(t, header+"projects: {shop: high, tiny: medium}\n")
	f := vuln("GHSA-1", scan.High)
	f.Aliases = []string{"CVE-2026-1", "GO-2026-1"}
	for _, tc := range []struct {
		name    string
		change  func(e *Exception)
		project string
		applies bool
		why     string // in the reason when it does not apply ("" if not mentioned)
	}{
		{"applies", func(e *Exception) {}, "", true, ""},
		{"by fingerprint", func(e *Exception) { e.Vulnerability, e.Package, e.Fingerprint = "", "", "fp-GHSA-1" }, "", true, ""},
		{"alias", func(e *Exception) { e.Vulnerability = "CVE-2026-1" }, "", true, ""},
		{"other alias", func(e *Exception) { e.Vulnerability = "GO-2026-1" }, "", true, ""},
		{"version-less purl", func(e *Exception) { e.Package = "pkg:npm/left-pad" }, "", true, ""},
		{"purl with qualifiers", func(e *Exception) { e.Package = "pkg:npm/left-pad@1.0.0?arch=x86" }, "", true, ""},
		{"other version", func(e *Exception) { e.Package = "pkg:npm/left-pad@2.0.0" }, "", false, ""},
		{"other package", func(e *Exception) { e.Package = "pkg:npm/right-pad" }, "", false, ""},
		{"other type", func(e *Exception) { e.Package = "pkg:pypi/left-pad" }, "", false, ""},
		{"other vulnerability", func(e *Exception) { e.Vulnerability = "GHSA-2" }, "", false, ""},
		{"other fingerprint", func(e *Exception) { e.Vulnerability, e.Package, e.Fingerprint = "", "", "fp-x" }, "", false, ""},
		{"no package", func(e *Exception) { e.Package = "" }, "", false, ""},
		{"other project", func(e *Exception) { e.Project = "billing" }, "", false, ""},
		{"expired", func(e *Exception) {}, "expired", false, "expired 2026-06-15T00:00:00Z"},
		{"revoked", func(e *Exception) { e.Revoked = true }, "", false, "revoked"},
		{"one approval of two", func(e *Exception) { e.Approvals = e.Approvals[:1] }, "", false, "1 of the 2 approvals"},
		{"one approval is enough for medium", func(e *Exception) { e.Approvals = e.Approvals[:1]; e.Project = "tiny" }, "tiny", true, ""},
		{"requester approves", func(e *Exception) { e.Approvals[0].By = "alice" }, "", false, "1 of the 2 approvals"},
		{"duplicate approver", func(e *Exception) { e.Approvals[1].By = "bob" }, "", false, "1 of the 2 approvals"},
		{"empty approver", func(e *Exception) { e.Approvals[1].By = "" }, "", false, "1 of the 2 approvals"},
		{"approval in the future", func(e *Exception) { e.Approvals[1].At = now.Add(time.Hour) }, "", false, "1 of the 2 approvals"},
		{"approval before creation", func(e *Exception) { e.Approvals[1].At = e.Created.Add(-time.Second) }, "", false, "1 of the 2 approvals"},
		{"expiry too long", func(e *Exception) { e.Created = e.Expires.Add(-61 * day) }, "", false, "lasts 61d, more than profile high's max_expiry of 60d"},
		{"no expiry", func(e *Exception) { e.Expires = time.Time{} }, "", false, "expiry is missing"},
		{"no reason", func(e *Exception) { e.Reason = " " }, "", false, "it has no reason"},
		{"no requester", func(e *Exception) { e.Requester = "" }, "", false, "it has no requester"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := okException()
			e.Approvals = append([]Approval(nil), e.Approvals...)
			tc.change(&e)
			project, at := "shop", now
			if tc.project == "tiny" {
				project = "tiny"
			}
			if tc.project == "expired" {
				at = e.Expires
			}
			v := p.Evaluate(Input{Project: project, Findings: []scan.Finding{f}, Exceptions: []Exception{e}, Now: at})
			d := v.Decisions[0]
			want, result := Fail, Fail
			if project == "tiny" {
				want, result = Warn, Warn
			}
			if tc.applies {
				want, result = Excepted, Pass
			}
			if d.Action != want || v.Result != result {
				t.Fatalf("%s, result %s (%s), want %s, %s", d.Action, v.Result, d.Reason, want, result)
			}
			if tc.applies != (d.ExceptionID == "EX-1") {
				t.Errorf("ExceptionID %q", d.ExceptionID)
			}
			if tc.why != "" && !strings.Contains(d.Reason, "exception EX-1 does not apply: "+tc.why) {
				t.Errorf("reason %q lacks %q", d.Reason, tc.why)
			}
			if !tc.applies && tc.why == "" && strings.Contains(d.Reason, "EX-1") {
				t.Errorf("reason %q names an exception that does not match", d.Reason)
			}
		})
	}
}

func TestExceptionChoice(t *testing.T) {
	p := mustParse(t, header+"projects: {shop: high}\n")
	f := vuln("GHSA-1", scan.High)
	bad, good, good2 := okException(), okException(), okException()
	bad.ID, bad.Revoked = "EX-0", true
	good.ID, good2.ID = "EX-2", "EX-1"
	good2.Fingerprint, good2.Vulnerability, good2.Package = "fp-GHSA-1", "", ""
	// A valid exception wins over an invalid one; of two valid ones the
	// smallest id, whatever the input order.
	for _, exs := range [][]Exception{{bad, good, good2}, {good2, good, bad}} {
		v := p.Evaluate(Input{Project: "shop", Findings: []scan.Finding{f}, Exceptions: exs, Now: now})
		if d := v.Decisions[0]; d.Action != Excepted || d.ExceptionID != "EX-1" {
			t.Errorf("%+v", d)
		}
	}
	v := p.Evaluate(Input{Project: "shop", Findings: []scan.Finding{f}, Exceptions: []Exception{bad}, Now: now})
	if d := v.Decisions[0]; d.Action != Fail || !strings.Contains(d.Reason, "exception EX-0 does not apply: revoked") {
		t.Errorf("%+v", d)
	}
}

func TestExceptionWarnAndLicence(t *testing.T) {
	p := mustParse(t, header+"projects: {shop: high}\nprofiles:\n  high: {licenses: {deny: [GPL-3.0-only]}}\n")
	// A warning can be excepted too.
	f := vuln("GHSA-1", scan.Low)
	v := p.Evaluate(Input{Project: "shop", Findings: []scan.Finding{f}, Exceptions: []Exception{okException()}, Now: now})
	if v.Result != Pass || v.Decisions[0].Action != Excepted {
		t.Errorf("warn: %+v", v)
	}
	// A licence violation, by its fingerprint.
	c := comp("pkg:npm/gpl@1.0.0", "GPL-3.0-only")
	e := okException()
	e.Vulnerability, e.Package, e.Fingerprint = "", "", licenseFingerprint("license.deny", c.PURL)
	v = p.Evaluate(Input{Project: "shop", Components: []inventory.Component{c}, Exceptions: []Exception{e}, Now: now})
	if v.Result != Pass || v.Decisions[0].Action != Excepted || v.Decisions[0].ExceptionID != "EX-1" {
		t.Errorf("licence: %+v", v)
	}
	// A fail excepted next to a warning gives warn.
	v = p.Evaluate(Input{Project: "shop", Findings: []scan.Finding{vuln("GHSA-1", scan.High), vuln("GHSA-2", scan.Low)}, Exceptions: []Exception{okException()}, Now: now})
	if v.Result != Warn || v.Counts != (Counts{Warn: 1, Excepted: 1}) {
		t.Errorf("excepted and warn: %+v", v)
	}
}

func TestCheckException(t *testing.T) {
	p := mustParse(t, header+"projects: {shop: high}\n")
	for _, tc := range []struct {
		name    string
		change  func(e *Exception)
		profile string
		want    string // "" for no error
	}{
		{"ok", func(e *Exception) {}, "high", ""},
		{"ok without approvals", func(e *Exception) { e.Approvals = nil }, "high", ""},
		{"ok fingerprint", func(e *Exception) { e.Vulnerability, e.Package, e.Fingerprint = "", "", "abc" }, "high", ""},
		{"ok without justification", func(e *Exception) { e.Justification = "" }, "high", ""},
		{"unknown profile", func(e *Exception) {}, "nope", `unknown profile "nope"`},
		{"no scope", func(e *Exception) { e.Vulnerability, e.Package = "", "" }, "high", "scope is missing"},
		{"vulnerability only", func(e *Exception) { e.Package = "" }, "high", "a vulnerability without a package is too wide"},
		{"package only", func(e *Exception) { e.Vulnerability = "" }, "high", "a package without a vulnerability is too wide"},
		{"both scopes", func(e *Exception) { e.Fingerprint = "abc" }, "high", "not both"},
		{"bad purl", func(e *Exception) { e.Package = "left-pad" }, "high", "is not a package URL"},
		{"no reason", func(e *Exception) { e.Reason = "\t" }, "high", "reason is missing"},
		{"long reason", func(e *Exception) { e.Reason = strings.Repeat("x", MaxReason+1) }, "high", "reason of 4097 bytes"},
		{"no requester", func(e *Exception) { e.Requester = "" }, "high", "requester is missing"},
		{"no project", func(e *Exception) { e.Project = "" }, "high", "project is missing"},
		{"no expiry", func(e *Exception) { e.Expires = time.Time{} }, "high", "expiry is missing"},
		{"no creation", func(e *Exception) { e.Created = time.Time{} }, "high", "creation time is missing"},
		{"expires before creation", func(e *Exception) { e.Expires = e.Created.Add(-time.Hour) }, "high", "not after its creation"},
		{"too long for high", func(e *Exception) { e.Expires = e.Created.Add(61 * day) }, "high", "more than profile high's max_expiry of 60d"},
		{"fine for medium", func(e *Exception) { e.Expires = e.Created.Add(61 * day) }, "medium", ""},
		{"too long for critical", func(e *Exception) { e.Expires = e.Created.Add(31 * day) }, "critical", "max_expiry of 30d"},
		{"bad justification", func(e *Exception) { e.Justification = "trust_me" }, "high", `justification "trust_me" is not an OpenVEX justification`},
		{"huge id", func(e *Exception) { e.ID = strings.Repeat("x", 2000) }, "high", "id of 2000 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := okException()
			tc.change(&e)
			err := p.CheckException(e, tc.profile)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "policy: exception ") {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if got := Justifications(); len(got) != 5 || got[0] != "component_not_present" {
		t.Errorf("Justifications = %v", got)
	}
}
