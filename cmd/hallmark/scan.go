package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/sbom"
	"github.com/hallmark-dev/hallmark/scan"
)

const scanUsage = `Usage: hallmark scan PATH|SBOM|BINARY [flags]

Finds what is wrong with PATH: known vulnerabilities and malicious packages
among its components (matched against the local OSV database, see 'hallmark
db'), missing exploit mitigations in its executables, and, with --sarif,
the results of static analysis tools.

PATH is a source tree or a directory of built binaries (walked as 'hallmark
sbom' walks it), a single binary or lockfile, or an SBOM (CycloneDX or SPDX
JSON, recognised by content) whose components are scanned instead.

Each finding has its id (the database record's own, such as GO-2021-0113,
with the ids of its aliases: a GO- record and its GHSA twin are one finding),
the package and installed version, the version that fixes it, CVSS v3.1 and
v4.0 base scores computed from the records' vectors, and a severity: the
CVSS rating of the highest score, else the GHSA record's severity, else
unknown. Go's stdlib is matched against the Go release that built a binary.

Flags:
  --format F       text (default), json, sarif (SARIF 2.1.0, for code
                   scanning tools) or cyclonedx-vex (CycloneDX 1.6 with
                   vulnerabilities)
  -o, --output FILE  write to FILE (atomically) instead of stdout
  --sarif FILE     import a SAST tool's SARIF 2.1.0 results as findings
                   (gosec, semgrep, staticcheck, CodeQL, ...); repeatable
  --fail-on SEV    exit 1 when a finding is at least this severe: critical,
                   high, medium, low (default), or none to never fail;
                   findings of unknown severity count as failing unless none
  --no-hardening   skip the binary hardening checks
  --reachability   for a Go module, run govulncheck (from PATH, or the one
                   --govulncheck names) on the source to tell whether each
                   vulnerable symbol is called, only imported, or only
                   required; it needs the module's dependencies in the module
                   cache and takes seconds to minutes. Without it
                   reachability is left unknown.
  --govulncheck FILE  the govulncheck binary (implies --reachability)
  --db FILE        the vulnerability database (default $HALLMARK_VULNDB, else
                   DATA_DIR/vulndb/osv.sqlite)
  --home DIR       the data directory

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it
(the report is still written); 2 bad usage, an unreadable PATH or SARIF file,
or no database.
`

func runScan(c *cli, args []string) error {
	fs, df := newDBFlags(c, "scan", scanUsage)
	format := fs.String("format", "text", "text, json, sarif or cyclonedx-vex")
	var out string
	fs.StringVar(&out, "o", "", "output `FILE`")
	fs.StringVar(&out, "output", "", "output `FILE`")
	var sarifs stringsFlag
	fs.Var(&sarifs, "sarif", "SARIF `FILE` to import")
	failOn := fs.String("fail-on", "low", "the least severity that fails")
	noHardening := fs.Bool("no-hardening", false, "skip the hardening checks")
	reachability := fs.Bool("reachability", false, "run govulncheck for reachability")
	govulncheck := fs.String("govulncheck", "", "the govulncheck `FILE`")
	paths, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(paths) != 1 {
		return usageErrorf("scan: give exactly one PATH").hint("run 'hallmark scan --help' for usage")
	}
	write := map[string]func(*scan.Report, io.Writer) error{
		"text":          (*scan.Report).WriteText,
		"json":          (*scan.Report).WriteJSON,
		"sarif":         (*scan.Report).WriteSARIF,
		"cyclonedx-vex": (*scan.Report).WriteCycloneDXVEX,
	}[*format]
	if write == nil {
		return usageErrorf("scan: --format %q: want text, json, sarif or cyclonedx-vex", *format)
	}
	threshold := scan.Severity(*failOn)
	if threshold != "none" && (threshold.Rank() < scan.Low.Rank() || threshold == scan.Unknown) {
		return usageErrorf("scan: --fail-on %q: want critical, high, medium, low or none", *failOn)
	}
	target := paths[0]
	// Everything that can be refused is checked before the walk, which may
	// take long: the SARIF files, the reachability set-up, the database.
	sast, err := loadSARIF(sarifs)
	if err != nil {
		return err
	}
	opts := scan.Options{Root: target, Hardening: !*noHardening}
	if *reachability || *govulncheck != "" {
		if opts.Govulncheck, opts.SourceDir, err = reachabilitySetup(target, *govulncheck); err != nil {
			return err
		}
	}
	db, _, err := df.open(false)
	if err != nil {
		return err
	}
	defer db.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	inv, fromSBOM, err := c.scanTarget(ctx, target)
	if err != nil {
		return err
	}
	if fromSBOM {
		opts.Hardening = false // an SBOM holds no executables to check
	}
	rep, err := scan.Scan(ctx, db, inv, opts)
	if err != nil {
		return err
	}
	if len(sast) > 0 {
		rep.Findings = append(rep.Findings, sast...)
		rep.Sort()
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(c.stderr, "hallmark: warning: %s\n", w)
	}
	var buf bytes.Buffer
	if err := write(rep, &buf); err != nil {
		return err
	}
	if err := c.writeOutput(out, buf.Bytes()); err != nil {
		return err
	}
	if threshold == "none" {
		return nil
	}
	n := 0
	for _, f := range rep.Findings {
		if f.Severity.Rank() >= threshold.Rank() || f.Severity == scan.Unknown {
			n++
		}
	}
	if n > 0 {
		return &checkFailedError{fmt.Errorf("scan: %d finding(s) at or above %s (or of unknown severity) in %s", n, threshold, target)}
	}
	return nil
}

// scanTarget returns the inventory of target: read from it when it is an
// SBOM (CycloneDX or SPDX JSON, by content), else walked.
func (c *cli) scanTarget(ctx context.Context, target string) (*inventory.Inventory, bool, error) {
	st, err := os.Stat(target)
	if err != nil {
		return nil, false, usageErrorf("scan: %v", err)
	}
	if st.Mode().IsRegular() {
		if data, ok, err := readIfSBOM(target); err != nil {
			return nil, false, err
		} else if ok {
			inv, err := sbom.Read(data)
			if err != nil {
				return nil, false, fmt.Errorf("scan: %s: %w", target, err)
			}
			return inv, true, nil
		}
	}
	inv, err := c.inventory(ctx, target, false)
	return inv, false, err
}

// readIfSBOM reads name when it is a JSON document with a top-level
// "bomFormat" (CycloneDX) or "spdxVersion" (SPDX) member.
func readIfSBOM(name string) ([]byte, bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, false, usageErrorf("scan: %v", err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if t := bytes.TrimLeft(head[:n], " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, false, err
	}
	data, err := limit.Read(f, name, sbom.MaxSize)
	if err != nil {
		return nil, false, fmt.Errorf("scan: %w", err)
	}
	var probe struct {
		BOMFormat   string `json:"bomFormat"`
		SPDXVersion string `json:"spdxVersion"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return nil, false, nil // not JSON after all: a lockfile parser will say what is wrong
	}
	return data, probe.BOMFormat != "" || probe.SPDXVersion != "", nil
}

// reachabilitySetup finds the govulncheck binary (bin, else on PATH) and the
// Go module directory it runs in: target, which must be a directory holding a
// go.mod (so neither a binary nor an SBOM).
func reachabilitySetup(target, bin string) (string, string, error) {
	if _, err := os.Stat(filepath.Join(target, "go.mod")); err != nil {
		return "", "", usageErrorf("scan: --reachability needs a Go module's source: no go.mod in %s", target)
	}
	if bin == "" {
		bin = "govulncheck"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", "", withHint(usageErrorf("scan: --reachability: %v", err),
			"install it with 'go install golang.org/x/vuln/cmd/govulncheck@v1.8.0', or name it with --govulncheck FILE")
	}
	return path, target, nil
}

// loadSARIF reads SAST tools' SARIF files as findings.
func loadSARIF(names []string) ([]scan.Finding, error) {
	var sast []scan.Finding
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return nil, usageErrorf("--sarif: %v", err)
		}
		found, err := scan.ReadSARIF(f, name)
		f.Close()
		if err != nil {
			return nil, err
		}
		sast = append(sast, found...)
	}
	return sast, nil
}
