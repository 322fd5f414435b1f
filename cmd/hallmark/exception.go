package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
)

const exceptionUsage = `Usage:
  hallmark exception request (--finding ID | --vuln ID --package PURL) --project P
                             --reason TEXT --expires DATE|DURATION
                             [--justification VEX_JUSTIFICATION] [--impact TEXT]
  hallmark exception approve ID --comment TEXT
  hallmark exception reject ID --comment TEXT
  hallmark exception revoke ID --comment TEXT
  hallmark exception list [--project P] [--status S] [--expiring DURATION]
  hallmark exception show ID
  hallmark exception vex --project P [-o FILE] [--product PURL]

An exception lets findings that fail (or warn) pass the gate, visibly: the
verdict marks them excepted and names the exception. Its scope is as narrow
as one vulnerability in one package of one project (--vuln and --package, a
purl; with a version, only that version), or one tracked finding (--finding,
the only way to except a hardening, SAST or licence finding). A reason and an
expiry are required; the project's risk profile caps how far away the
expiry may be, and sets how many approvals it needs.

Builders and approvers of the project (and security-admins) request. Only
approvers of the project approve or reject, each once, with a comment, never
the requester, and never after the expiry: approvals are personal
sign-offs, so give the approver's token in HALLMARK_TOKEN (in-process too).
Once approved by enough distinct approvers the exception applies to the next
builds; one rejection ends it. When it expires, or is revoked (by an
approver, a security-admin, or the requester withdrawing it), the findings
fail again. Every step is audited.

vex exports the project's approved, unexpired vulnerability exceptions as an
OpenVEX document (v0.2.0), signed by the platform: FILE and FILE.sigstore.json
('hallmark verify --bundle FILE.sigstore.json FILE'). An exception with a
--justification is a not_affected statement, which VEX consumers (grype,
vexctl) use to suppress the vulnerability; one without is affected, with the
exception as its action statement.

Flags:
  --finding ID        a tracked finding's fingerprint (or its first 8+ hex digits)
  --vuln ID           a vulnerability id (or one of its aliases)
  --package PURL      the package, e.g. pkg:golang/golang.org/x/net@v0.1.0
  -p, --project P     the project (default $HALLMARK_PROJECT, else "default")
  --reason TEXT       why the risk is acceptable (required)
  --expires WHEN      an RFC 3339 date or time, or a duration from now (72h,
                      14d)
  --justification J   an OpenVEX justification: component_not_present,
                      vulnerable_code_not_present,
                      vulnerable_code_not_in_execute_path,
                      vulnerable_code_cannot_be_controlled_by_adversary,
                      inline_mitigations_already_exist
  --impact TEXT       the VEX impact (or action) statement
  --comment TEXT      approve, reject, revoke: why (required)
  --status S          list: pending, approved, rejected, revoked or expired
  --expiring D        list: approved exceptions expiring within D (e.g. 14d)
  -o, --output FILE   vex: where to write the document (default stdout; the
                      bundle then goes to vex.sigstore.json)
  --product PURL      vex: the product the statements are about (default the
                      excepted package itself)
  --json              JSON output
` + planeFlagsUsage

func runException(c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf("exception: missing subcommand").hint("run 'hallmark exception --help' for usage")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "-help" || sub == "--help" {
		fmt.Fprint(c.stdout, exceptionUsage)
		return nil
	}
	fs := c.flagSet("exception "+sub, exceptionUsage)
	pf := addPlaneFlags(fs)
	var project, out string
	fs.StringVar(&project, "project", "", "")
	fs.StringVar(&project, "p", "", "")
	fs.StringVar(&out, "output", "", "")
	fs.StringVar(&out, "o", "", "")
	finding := fs.String("finding", "", "")
	vuln := fs.String("vuln", "", "")
	pkg := fs.String("package", "", "")
	reason := fs.String("reason", "", "")
	expires := fs.String("expires", "", "")
	justification := fs.String("justification", "", "")
	impact := fs.String("impact", "", "")
	comment := fs.String("comment", "", "")
	status := fs.String("status", "", "")
	expiring := fs.String("expiring", "", "")
	product := fs.String("product", "", "")
	asJSON := fs.Bool("json", false, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	want := map[string]int{"request": 0, "approve": 1, "reject": 1, "revoke": 1, "list": 0, "show": 1, "vex": 0}
	n, ok := want[sub]
	if !ok {
		return usageErrorf("exception: unknown subcommand %q", sub).hint("want request, approve, reject, revoke, list, show or vex")
	}
	if len(pos) != n {
		return usageErrorf("exception %s: want %d argument(s), got %d", sub, n, len(pos)).hint("run 'hallmark exception --help' for usage")
	}
	if (sub == "request" || sub == "vex") && project == "" {
		project = defaultProject()
	}
	var req any
	var op api.Op
	switch sub {
	case "request":
		if *expires == "" || *reason == "" {
			return usageErrorf("exception request: --reason and --expires are required: every exception says why, and ends")
		}
		when, err := parseWhen(*expires, time.Now(), false)
		if err != nil {
			return usageErrorf("exception request: --expires %q: %v", *expires, err)
		}
		op, req = api.RequestExc, &api.ExceptionRequest{Nonce: api.Nonce(), Project: project, Finding: *finding, Vulnerability: *vuln,
			Package: *pkg, Reason: *reason, Expires: when, Justification: *justification, Impact: *impact}
	case "approve", "reject", "revoke":
		if strings.TrimSpace(*comment) == "" {
			return usageErrorf("exception %s: --comment is required: say why", sub)
		}
		op = map[string]api.Op{"approve": api.ApproveExc, "reject": api.RejectExc, "revoke": api.RevokeExc}[sub]
		req = &api.ExceptionRef{Nonce: api.Nonce(), ID: pos[0], Comment: *comment}
	case "show":
		op, req = api.ShowException, &api.ExceptionRef{ID: pos[0]}
	case "list":
		l := &api.ExceptionList{Project: project, Status: *status}
		if *expiring != "" {
			d, err := parseDuration(*expiring)
			if err != nil || d <= 0 {
				return usageErrorf("exception list: --expiring %q: want a positive duration such as 14d or 72h", *expiring)
			}
			l.Expiring = d
		}
		op, req = api.ListExceptions, l
	case "vex":
		op, req = api.ExportVEX, &api.VEXRequest{Nonce: api.Nonce(), Project: project, Product: *product}
	}
	ctx := context.Background()
	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	switch sub {
	case "list":
		l, err := call[api.Exceptions](ctx, cn, op, req)
		if err != nil {
			return err
		}
		if *asJSON {
			return c.printJSON(l)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for _, e := range l.Exceptions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\texpires %s\t%s\t%s\n", e.ID, e.Project, e.Status, scopeText(&e),
				countApprovals(&e), e.Required, e.Expires.Format(time.DateOnly), e.Requester, e.Reason)
		}
		return tw.Flush()
	case "vex":
		v, err := call[api.VEX](ctx, cn, op, req)
		if err != nil {
			return err
		}
		bundleOut := out + ".sigstore.json"
		if out == "" || out == "-" {
			bundleOut = "vex.sigstore.json"
		}
		if err := c.writeOutput(out, v.Document); err != nil {
			return err
		}
		if err := atomicfile.Write(bundleOut, append(v.Bundle, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "OpenVEX document with %d statement(s) signed: bundle %s\n", v.Statements, bundleOut)
		return nil
	}
	e, err := call[api.Exception](ctx, cn, op, req)
	if err != nil {
		return err
	}
	if *asJSON || sub == "show" {
		return c.printJSON(e)
	}
	switch sub {
	case "request":
		fmt.Fprintf(c.stdout, "%s\n", e.ID)
		fmt.Fprintf(c.stderr, "exception %s requested for %s in project %s, expires %s: it needs %d approval(s) by approvers of %s other than %s\n",
			e.ID, scopeText(e), e.Project, e.Expires.Format(time.RFC3339), e.Required, e.Project, e.Requester)
	default:
		fmt.Fprintf(c.stderr, "exception %s is %s (%d of %d approvals)\n", e.ID, e.Status, countApprovals(e), e.Required)
	}
	return nil
}

func scopeText(e *api.Exception) string {
	if e.Fingerprint != "" {
		return "finding " + e.Fingerprint[:12]
	}
	return e.Vulnerability + " in " + e.Package
}

func countApprovals(e *api.Exception) int {
	n := 0
	for _, v := range e.Votes {
		if v.Decision == "approve" {
			n++
		}
	}
	return n
}

// parseWhen reads an RFC 3339 time, a date (midnight UTC), or a positive
// duration (72h, 14d) that many forward from now, or back when back is set.
func parseWhen(s string, now time.Time, back bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	d, err := parseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time, a date (2026-12-31) or a positive duration (72h, 14d)")
	}
	if back {
		d = -d
	}
	return now.Add(d), nil
}

// parseDuration reads a Go duration, or whole days as "14d".
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || fmt.Sprint(n) != days || n > 100000 {
			return 0, fmt.Errorf("bad number of days %q", days)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
