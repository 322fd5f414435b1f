package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/policy"
	"github.com/hallmark-dev/hallmark/scan"
)

const gateUsage = `Usage: hallmark gate --subject FILE... [--project P] [PATH | --report FILE] [flags]

Judges a build under the project's policy: the findings of PATH (scanned as
'hallmark scan' scans it; by default the one subject itself) or of a scan
report ('hallmark scan --format json'), and the licences of PATH's
components. The control plane decides, with its policy in force and the
project's approved exceptions, and answers with a verdict:

  pass  nothing fails or warns
  warn  something warns: the build goes on, the findings are tracked
  fail  something fails: nothing is signed; the build must stop

Each finding gets a decision and the rule that made it. Findings that fail,
warn or are excepted go to the findings tracker ('hallmark findings'),
deduplicated across builds. A pass or warn verdict is signed as an SLSA
verification summary (VSA) about the subjects, logged and timestamped:
--bundle writes its Sigstore bundle, --envelope its bare DSSE envelope for
'slsa-verifier verify-vsa'. --dry-run reports what the gate would decide,
records it as advice, signs nothing and never fails.

Flags:
  --subject FILE   an artifact the verdict is about (repeatable, at least one)
  -p, --project P  the project (default $HALLMARK_PROJECT, else "default")
  --report FILE    judge this scan report's findings instead of scanning
  --sarif FILE     add a SAST tool's SARIF results (repeatable)
  --no-hardening   skip the binary hardening checks
  --label K=V      a build label CEL rules see as build.labels.K (repeatable)
  --dry-run        advise only: sign nothing, exit 0 whatever the verdict
  --bundle FILE    write the signed verdict's Sigstore bundle
  --envelope FILE  write the signed verdict's DSSE envelope
  --format F       text (default) or json (the whole verdict, on stdout)
  --db FILE        the vulnerability database (default $HALLMARK_VULNDB,
                   else DATA_DIR/vulndb/osv.sqlite)
` + planeFlagsUsage + `
Exit codes: 0 pass or warn (or any dry run); 1 fail; 2 bad usage or input.
`

func runGate(c *cli, args []string) error {
	fs := c.flagSet("gate", gateUsage)
	pf := addPlaneFlags(fs)
	var project string
	fs.StringVar(&project, "project", defaultProject(), "")
	fs.StringVar(&project, "p", defaultProject(), "")
	var subjects, sarifs, labels stringsFlag
	fs.Var(&subjects, "subject", "")
	fs.Var(&sarifs, "sarif", "")
	fs.Var(&labels, "label", "")
	reportFile := fs.String("report", "", "")
	noHardening := fs.Bool("no-hardening", false, "")
	dryRun := fs.Bool("dry-run", false, "")
	bundleOut := fs.String("bundle", "", "")
	envelopeOut := fs.String("envelope", "", "")
	format := fs.String("format", "text", "")
	dbPath := fs.String("db", "", "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(subjects) == 0:
		return usageErrorf("gate: give at least one --subject: the artifact the verdict is about")
	case len(pos) > 1:
		return usageErrorf("gate: give at most one PATH").hint("run 'hallmark gate --help' for usage")
	case len(pos) == 1 && *reportFile != "":
		return usageErrorf("gate: give a PATH to scan or a --report, not both")
	case *format != "text" && *format != "json":
		return usageErrorf("gate: --format %q: want text or json", *format)
	}
	req := &api.GateRequest{Nonce: api.Nonce(), Project: project, DryRun: *dryRun}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return usageErrorf("gate: --label %q: want K=V", l)
		}
		if req.Labels == nil {
			req.Labels = map[string]string{}
		}
		req.Labels[k] = v
	}
	for _, name := range subjects {
		d, _, err := digest.File(name)
		if err != nil {
			return usageErrorf("gate: --subject: %v", err)
		}
		req.Subjects = append(req.Subjects, api.Subject{Name: filepath.Base(name), Digest: d.String()})
	}
	sast, err := loadSARIF(sarifs)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *reportFile != "" {
		if req.Findings, err = readScanReport(*reportFile); err != nil {
			return err
		}
	} else {
		target := ""
		if len(pos) == 1 {
			target = pos[0]
		} else if len(subjects) == 1 {
			target = subjects[0]
		} else {
			return usageErrorf("gate: several subjects: give the PATH to scan (their directory or source tree), or --report")
		}
		db, _, err := (dbFlags{db: dbPath, home: &pf.home}).open(false)
		if err != nil {
			return err
		}
		inv, fromSBOM, err := c.scanTarget(ctx, target)
		if err != nil {
			db.Close()
			return err
		}
		rep, err := scan.Scan(ctx, db, inv, scan.Options{Root: target, Hardening: !*noHardening && !fromSBOM})
		db.Close()
		if err != nil {
			return err
		}
		for _, w := range rep.Warnings {
			fmt.Fprintf(c.stderr, "hallmark: warning: %s\n", w)
		}
		req.Findings = rep.Findings
		for _, comp := range inv.Components {
			req.Components = append(req.Components, api.Component{PURL: comp.PURL, Licenses: comp.Licenses})
		}
	}
	req.Findings = append(req.Findings, sast...)

	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	resp, err := call[api.GateResponse](ctx, cn, api.Gate, req)
	if err != nil {
		return err
	}
	if *bundleOut != "" && resp.Bundle != nil {
		if err := atomicfile.Write(*bundleOut, append(resp.Bundle, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *envelopeOut != "" && resp.DSSE != nil {
		if err := atomicfile.Write(*envelopeOut, append(resp.DSSE, '\n'), 0o644); err != nil {
			return err
		}
	}
	v := &resp.Verdict
	if *format == "json" {
		if err := c.printJSON(resp); err != nil {
			return err
		}
	} else {
		c.printVerdict(v)
	}
	mode := ""
	if v.DryRun {
		mode = " (dry run: advice only)"
	}
	fmt.Fprintf(c.stderr, "verdict %s: %s for project %s under profile %s, policy version %d%s: %d fail, %d warn, %d excepted, %d pass; %d new in the tracker\n",
		resp.ID, v.Result, v.Project, v.Profile, resp.Policy, mode, v.Counts.Fail, v.Counts.Warn, v.Counts.Excepted, v.Counts.Pass, resp.New)
	if resp.Bundle != nil {
		fmt.Fprintf(c.stderr, "the verdict is signed and logged%s\n", outputsNote(*bundleOut, *envelopeOut))
	}
	if v.Result == policy.Fail && !v.DryRun {
		err := &hintedError{err: &checkFailedError{fmt.Errorf("gate: project %s fails its policy: %d finding(s) fail; nothing is signed", v.Project, v.Counts.Fail)}}
		if v.Hint != "" {
			err.hint("%s", v.Hint)
		}
		return err.hint("'hallmark exception request --help' says how to ask for an exception, which approvers of the project must sign off")
	}
	return nil
}

// printVerdict prints the decisions that are not a plain pass, one a line.
func (c *cli) printVerdict(v *policy.Verdict) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, d := range v.Decisions {
		if d.Action == policy.Pass {
			continue
		}
		fp := d.Fingerprint
		if len(fp) > 12 {
			fp = fp[:12]
		}
		extra := d.Rule
		if d.ExceptionID != "" {
			extra += " (exception " + d.ExceptionID + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(string(d.Action)), orDash(string(d.Severity)), d.FindingID, orDash(d.Package), extra, fp)
	}
	tw.Flush()
}

func outputsNote(bundle, envelope string) string {
	var parts []string
	if bundle != "" {
		parts = append(parts, "bundle "+bundle)
	}
	if envelope != "" {
		parts = append(parts, "envelope "+envelope)
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// readScanReport reads the findings of a 'hallmark scan --format json'
// report.
func readScanReport(name string) ([]scan.Finding, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, usageErrorf("gate: --report: %v", err)
	}
	defer f.Close()
	data, err := limit.Read(f, name, 64<<20)
	if err != nil {
		return nil, usageErrorf("gate: --report: %v", err)
	}
	var rep struct {
		Findings *[]scan.Finding `json:"findings"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&rep); err != nil || rep.Findings == nil {
		if err == nil {
			err = fmt.Errorf("no findings member")
		}
		return nil, usageErrorf("gate: --report %s: not a 'hallmark scan --format json' report: %v", name, err)
	}
	return *rep.Findings, nil
}
