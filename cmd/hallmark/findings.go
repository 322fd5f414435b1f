package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/hallmark-dev/hallmark/api"
)

const findingsUsage = `Usage:
  hallmark findings list [--project P] [--status S] [--overdue] [--json]
  hallmark findings show ID
  hallmark findings assign ID --owner NAME
  hallmark findings ack ID --comment TEXT

The findings tracker holds every finding a non-dry-run gate did not simply
pass (fail, warn, or excepted), once per project however many builds see it:
a finding is named by its stable fingerprint (vulnerability + package +
location, or rule + location), and ID is that fingerprint or its first 8 or
more hex digits. Each has a status, an owner, when it was first and last
seen, how many builds saw it, and a due date from its severity's SLA
(critical 7 days, high 30, medium 90, low 180, unknown 90).

Statuses: open (new), acknowledged (someone said what will be done),
fixed (a later build of the same subjects no longer has it), reopened (it
came back after being fixed). Webhooks are told of new and reopened findings
('hallmark policy webhook').

Flags:
  -p, --project P   list: only this project
  --status S        list: only open, acknowledged, fixed or reopened
  --overdue         list: only unfixed findings past their due date
  --owner NAME      assign: the new owner
  --comment TEXT    ack: what will be done (required)
  --json            JSON output
` + planeFlagsUsage

func runFindings(c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf("findings: missing subcommand").hint("run 'hallmark findings --help' for usage")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "-help" || sub == "--help" {
		fmt.Fprint(c.stdout, findingsUsage)
		return nil
	}
	fs := c.flagSet("findings "+sub, findingsUsage)
	pf := addPlaneFlags(fs)
	var project string
	fs.StringVar(&project, "project", "", "")
	fs.StringVar(&project, "p", "", "")
	status := fs.String("status", "", "")
	overdue := fs.Bool("overdue", false, "")
	owner := fs.String("owner", "", "")
	comment := fs.String("comment", "", "")
	asJSON := fs.Bool("json", false, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	want := map[string]int{"list": 0, "show": 1, "assign": 1, "ack": 1}
	n, ok := want[sub]
	if !ok {
		return usageErrorf("findings: unknown subcommand %q", sub).hint("want list, show, assign or ack")
	}
	if len(pos) != n {
		return usageErrorf("findings %s: want %d argument(s), got %d", sub, n, len(pos)).hint("run 'hallmark findings --help' for usage")
	}
	req := &api.FindingRequest{Project: project, Status: *status, Overdue: *overdue, Owner: *owner, Comment: *comment}
	if n == 1 {
		req.ID = pos[0]
	}
	switch {
	case sub == "assign" && *owner == "":
		return usageErrorf("findings assign: --owner is required")
	case sub == "ack" && *comment == "":
		return usageErrorf("findings ack: --comment is required: say what will be done")
	}
	ctx := context.Background()
	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	if sub == "list" {
		fl, err := call[api.TrackedFindings](ctx, cn, api.ListFindings, req)
		if err != nil {
			return err
		}
		if *asJSON {
			return c.printJSON(fl)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for _, f := range fl.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\tdue %s\tseen %d\t%s\n", f.Fingerprint[:12], f.Project, f.Status, f.Action,
				orDash(string(f.Finding.Severity)), f.Finding.ID, orDash(f.Finding.Package.PURL), f.Due.Format(time.DateOnly), f.Builds, orDash(f.Owner))
		}
		return tw.Flush()
	}
	op := map[string]api.Op{"show": api.ShowFinding, "assign": api.AssignFinding, "ack": api.AckFinding}[sub]
	if op.Mutating {
		req.Nonce = api.Nonce()
	}
	f, err := call[api.TrackedFinding](ctx, cn, op, req)
	if err != nil {
		return err
	}
	if *asJSON || sub == "show" {
		return c.printJSON(f)
	}
	fmt.Fprintf(c.stderr, "finding %s (%s in %s) is %s, owner %s\n", f.Fingerprint[:12], f.Finding.ID, f.Project, f.Status, orDash(f.Owner))
	return nil
}
