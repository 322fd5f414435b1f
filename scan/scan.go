// Package scan matches an inventory against the vulnerability database and
// reports findings: known vulnerabilities and malicious packages (OSV),
// binary hardening failures, and SAST results imported from SARIF. It is
// what `hallmark scan` runs and what the policy gate reads.
//
// # Findings
//
// A [Finding] carries everything a gate needs: its [Kind], an id, a
// [Severity], CVSS scores when known, the package and the version that fixes
// it, a location and a stable Fingerprint to deduplicate on.
//
//   - vulnerability: one per (vulnerability, component), the subject
//     included when a walked binary is built from it (a released binary's
//     own module, as osv-scanner reads it; not a source tree's). Records that name
//     each other through aliases (GO-2021-0113, GHSA-..., CVE-...) are one
//     vulnerability ([osv.Merge]); ID is the group's primary id, Aliases
//     the others. A component is affected when any affected entry of any
//     of the group's records for its (ecosystem, name) says so
//     ([osv.Affected.Affects]); Go module versions lose their leading "v"
//     first, and Fixed gets it back.
//   - malicious: as vulnerability, when a record of the group is a
//     malicious-package advisory (MAL-...); always critical.
//   - hardening: one per failed check of [hardening.CheckFile] with a
//     severity other than info; ID "hardening/<check>".
//   - sast: one per SARIF result ([ReadSARIF]); ID the rule id.
//
// Withdrawn records are never findings, nor do they lend their scores to
// others. Ranges that cannot be evaluated (GIT ranges, ECOSYSTEM ranges of
// ecosystems other than Go, npm, crates.io and PyPI) mean "unknown", not
// "affected": they give no finding; non-GIT ones are counted in one warning
// per ecosystem, GIT ones are ignored quietly (as osv-scanner does).
//
// # Severity
//
// The CVSS base scores are computed from the vectors in the group's records'
// severity entries (top level, and affected entries for the component):
// CVSS_V3 (3.0 or 3.1 vectors) and CVSS_V4, with the highest score of each
// version kept. Severity follows the CVSS qualitative scale applied to the
// highest base score: 0 none, 0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high,
// 9.0-10 critical. Without any vector, the highest database_specific.severity
// of a GHSA record (CRITICAL, HIGH, MODERATE or MEDIUM, LOW) is used; else the
// severity is unknown. Go records carry no CVSS: their GHSA aliases do.
// Hardening severities map one to one (high, medium, low); hardening info
// notes are not findings, so Severity has no "info".
//
// # Reachability
//
// With Options.Govulncheck, Go findings get a Reachability from govulncheck
// run over the module in Options.SourceDir against a temporary database of
// the Go records found (see reach.go): called, imported or required. A
// failing or timed-out govulncheck leaves it unknown, with a warning.
//
// Findings sort by severity, from critical down to none with unknown
// between low and none, then by id, package URL, and location.
//
// # Errors
//
// [Scan] fails only when the database fails or the context ends; a vector
// that does not parse, a binary hardening cannot read, a component without a
// version become Report.Warnings. [ReadSARIF] errors name the input and the
// JSON path: "scan: gosec.sarif: runs[0].results[3].ruleId: ...".
package scan

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/hallmark-dev/hallmark/hardening"
	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/osv"
	"github.com/hallmark-dev/hallmark/vulndb"
)

// Kind is the kind of a finding.
type Kind string

// The kinds of finding.
const (
	Vulnerability Kind = "vulnerability"
	Malicious     Kind = "malicious"
	Hardening     Kind = "hardening"
	SAST          Kind = "sast"
)

// Severity is how bad a finding is, on the CVSS qualitative scale.
type Severity string

// The severities, from worst to least.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Unknown  Severity = "unknown" // no score known: a gate decides what it means
	None     Severity = "none"
)

// Rank orders severities: critical 5, high 4, medium 3, low 2, unknown 1,
// none 0; anything else -1.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 5
	case High:
		return 4
	case Medium:
		return 3
	case Low:
		return 2
	case Unknown:
		return 1
	case None:
		return 0
	}
	return -1
}

// FromScore maps a CVSS base score to its qualitative rating; a score
// outside [0, 10] (or NaN) is unknown.
func FromScore(score float64) Severity {
	switch {
	case !(score >= 0 && score <= 10):
		return Unknown
	case score >= 9:
		return Critical
	case score >= 7:
		return High
	case score >= 4:
		return Medium
	case score > 0:
		return Low
	}
	return None
}

// Score is one CVSS base score.
type Score struct {
	Version string  `json:"version"` // "3.0", "3.1" or "4.0"
	Vector  string  `json:"vector"`
	Base    float64 `json:"base"`
}

// Package is the package a finding is about.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version"` // as installed, spelled as in the inventory
	PURL      string `json:"purl,omitempty"`
}

// Location is where a finding is: a file (slash-separated, relative to the
// scanned root for inventory files), and for SAST a line and column.
type Location struct {
	Path   string `json:"path"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// Reachability values for Go findings ("" means unknown).
const (
	Called   = "called"   // a vulnerable function is called
	Imported = "imported" // a vulnerable package is imported, no call found
	Required = "required" // only the module is required
)

// Finding is one thing wrong. JSON field names are lower_snake.
type Finding struct {
	Kind Kind `json:"kind"`
	// ID is the vulnerability's primary id (osv.Group.ID), "hardening/<check>",
	// or a SAST rule id.
	ID string `json:"id"`
	// Aliases are the vulnerability's other ids, sorted.
	Aliases  []string `json:"aliases,omitempty"`
	Summary  string   `json:"summary,omitempty"`
	Package  Package  `json:"package,omitzero"`
	Fixed    string   `json:"fixed,omitempty"` // smallest fixing version, "" if none known
	Severity Severity `json:"severity"`
	CVSS3    *Score   `json:"cvss_v3,omitempty"`
	CVSS4    *Score   `json:"cvss_v4,omitempty"`
	// Records are the ids of the database records the finding comes from, sorted.
	Records []string `json:"records,omitempty"`
	// Location is, for a vulnerability, the first file that declares the
	// component (its lockfile or go.mod), else the subject's first file;
	// for hardening the binary; for SAST the reported file, line, column.
	Location Location `json:"location,omitzero"`
	// Reachability is Called, Imported, Required, or "" when not known.
	Reachability string `json:"reachability,omitempty"`
	// Tool is the SAST tool that reported the finding.
	Tool string `json:"tool,omitempty"`
	// Fingerprint is a stable hex SHA-256 identifying the finding across scans.
	Fingerprint string   `json:"fingerprint"`
	References  []string `json:"references,omitempty"`
}

// Fixable reports whether a fixed version is known.
func (f *Finding) Fixable() bool { return f.Fixed != "" }

// Score returns the highest CVSS base score, or -1 if none is known.
func (f *Finding) Score() float64 {
	s := -1.0
	for _, c := range []*Score{f.CVSS3, f.CVSS4} {
		if c != nil && c.Base > s {
			s = c.Base
		}
	}
	return s
}

// Report is the result of a scan.
type Report struct {
	Subject inventory.Component
	// Findings are sorted by severity (worst first), id, package URL, location.
	Findings []Finding
	// Components is the number of components looked up in the database.
	Components int
	// Database lists the sources of the database the scan read.
	Database []vulndb.Source
	Warnings []string
}

// Sort puts the findings in the Report order.
func (r *Report) Sort() {
	slices.SortStableFunc(r.Findings, compareFindings)
}

func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(b.Severity.Rank(), a.Severity.Rank()),
		strings.Compare(a.ID, b.ID),
		strings.Compare(a.Package.PURL, b.Package.PURL),
		strings.Compare(a.Package.Name, b.Package.Name),
		strings.Compare(a.Location.Path, b.Location.Path),
		cmp.Compare(a.Location.Line, b.Location.Line),
		cmp.Compare(a.Location.Column, b.Location.Column),
	)
}

// Options configure a scan.
type Options struct {
	// Root is the directory or file the inventory was taken from; the
	// inventory's File paths are relative to it.
	Root string
	// Hardening checks every inventory File with package hardening.
	Hardening bool
	// Workers bounds the concurrent database lookups; 0 means GOMAXPROCS.
	Workers int
	// Govulncheck is the path of a govulncheck binary; "" leaves
	// Reachability unknown. It runs in SourceDir, the Go module of the
	// inventory, against a database of the Go records found, and must
	// finish within GovulncheckTimeout (0: DefaultGovulncheckTimeout).
	// When it fails the findings stay as they are, with a warning.
	Govulncheck        string
	SourceDir          string
	GovulncheckTimeout time.Duration
}

// Fingerprint hashes parts, separated by NUL bytes: the fingerprint of a
// finding, and of a policy decision built the same way.
func Fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// lookupResult is what the lookups of one component found.
type lookupResult struct {
	findings []Finding
	warnings []string
	unknown  map[string]int // ecosystem -> records that could not be evaluated
	goRecs   []*osv.Record  // records of the Go findings, for govulncheck
}

// Scan looks every component of inv with an ecosystem up in db and returns
// the findings, plus hardening findings for inv.Files when opts.Hardening.
func Scan(ctx context.Context, db *vulndb.DB, inv *inventory.Inventory, opts Options) (*Report, error) {
	if db == nil || inv == nil {
		return nil, errors.New("scan: no database or no inventory")
	}
	rep := &Report{Subject: inv.Subject}
	srcs, err := db.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	rep.Database = srcs

	// The components to look up: all of them, and the subject when a
	// binary found in the walk is built from it (the main module of a
	// walked Go binary: what is deployed, unlike the module of a source
	// tree's go.mod, which is what is being built) and has a version (a
	// local build's "(devel)" has none, which is no news to warn about).
	comps := inv.Components
	if builtIntoFile(inv) && inv.Subject.Version != "" {
		comps = append(slices.Clip(comps), inv.Subject)
	}
	var todo []int
	for i, c := range comps {
		if c.Ecosystem == "" {
			continue
		}
		if c.Version == "" {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("scan: %s %s: no version, not looked up", c.Ecosystem, c.Name))
			continue
		}
		todo = append(todo, i)
	}
	rep.Components = len(todo)

	// Components no file declares (Go's stdlib) are placed in the
	// subject's file (go.mod), so that every finding has a location.
	subjectFile := ""
	if len(inv.Subject.Locations) > 0 {
		subjectFile = inv.Subject.Locations[0]
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(todo), 1))
	results := make([]lookupResult, len(todo))
	errs := make([]error, len(todo))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				results[j], errs[j] = lookup(ctx, db, &comps[todo[j]], subjectFile)
				if errs[j] != nil {
					cancel()
				}
			}
		}()
	}
feed:
	for j := range todo {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	unknown := map[string]int{}
	goRecs := map[string]*osv.Record{}
	for _, res := range results {
		for _, r := range res.goRecs {
			goRecs[r.ID] = r
		}
		rep.Findings = append(rep.Findings, res.findings...)
		rep.Warnings = append(rep.Warnings, res.warnings...)
		for eco, n := range res.unknown {
			unknown[eco] += n
		}
	}
	for _, eco := range slices.Sorted(maps.Keys(unknown)) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(
			"scan: %s: %d advisory ranges could not be evaluated (version ordering of this ecosystem is not implemented); only their listed versions were matched",
			eco, unknown[eco]))
	}

	if opts.Govulncheck != "" {
		recs := slices.SortedFunc(maps.Values(goRecs), func(a, b *osv.Record) int { return strings.Compare(a.ID, b.ID) })
		if err := reachability(ctx, opts, recs, rep.Findings); err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("scan: reachability not known: %v", err))
		}
	}

	if opts.Hardening {
		rep.Findings = append(rep.Findings, hardeningFindings(opts.Root, inv.Files, &rep.Warnings)...)
	}
	rep.Sort()
	return rep, nil
}

// builtIntoFile reports whether one of inv's files names the subject among
// the components its build information lists.
func builtIntoFile(inv *inventory.Inventory) bool {
	if inv.Subject.PURL == "" {
		return false
	}
	for _, f := range inv.Files {
		if slices.Contains(f.Components, inv.Subject.PURL) {
			return true
		}
	}
	return false
}

// queryVersion is the version of c as the OSV database spells it, and
// whether a leading "v" was removed.
func queryVersion(c *inventory.Component) (string, bool) {
	v := c.Version
	if c.Ecosystem != inventory.Go {
		return v, false
	}
	if (c.Name == "stdlib" || c.Name == "toolchain") && strings.HasPrefix(v, "go") {
		if gv := osv.GoVersion(v); gv != "" {
			return gv, false
		}
	}
	if s, ok := strings.CutPrefix(v, "v"); ok {
		return s, true
	}
	return v, false
}

// lookup finds the vulnerabilities of one component.
func lookup(ctx context.Context, db *vulndb.DB, c *inventory.Component, defaultFile string) (lookupResult, error) {
	var res lookupResult
	eco := string(c.Ecosystem)
	groups, err := db.Group(ctx, eco, c.Name)
	if err != nil {
		return res, err
	}
	version, hadV := queryVersion(c)
	for _, g := range groups {
		var unknownErr error
		var from []*osv.Record // the records that affect c
		for _, r := range g.Records {
			for _, a := range r.Affected {
				if a.Package.Ecosystem != eco || a.Package.Name != c.Name {
					continue
				}
				ok, err := a.Affects(version)
				if ok {
					from = append(from, r)
					break
				}
				if err != nil && unknownErr == nil {
					unknownErr = fmt.Errorf("%s: %w", r.ID, err)
				}
			}
		}
		if len(from) == 0 {
			switch {
			case unknownErr == nil, errors.Is(unknownErr, osv.ErrGitRange):
			case errors.Is(unknownErr, osv.ErrUnsupportedEcosystem):
				if res.unknown == nil {
					res.unknown = map[string]int{}
				}
				res.unknown[eco]++
			default:
				res.warnings = append(res.warnings, fmt.Sprintf("scan: %s %s %s: %v", eco, c.Name, c.Version, unknownErr))
			}
			continue
		}
		if c.Ecosystem == inventory.Go {
			res.goRecs = append(res.goRecs, g.Records...)
		}
		f, warns := vulnFinding(g, from, c, version, hadV)
		if f.Location.Path == "" {
			f.Location.Path = defaultFile
		}
		res.findings = append(res.findings, f)
		res.warnings = append(res.warnings, warns...)
	}
	return res, nil
}

// vulnFinding builds the finding of group g, whose records from affect
// component c at the database version version.
func vulnFinding(g osv.Group, from []*osv.Record, c *inventory.Component, version string, hadV bool) (Finding, []string) {
	eco := string(c.Ecosystem)
	f := Finding{
		Kind:     Vulnerability,
		ID:       g.ID,
		Package:  Package{Ecosystem: eco, Name: c.Name, Version: c.Version, PURL: c.PURL},
		Severity: Unknown,
	}
	for _, id := range g.IDs {
		if id != g.ID {
			f.Aliases = append(f.Aliases, id)
		}
	}
	for _, r := range g.Records {
		f.Records = append(f.Records, r.ID)
	}
	slices.Sort(f.Records)
	if len(c.Locations) > 0 {
		f.Location.Path = c.Locations[0]
	}
	// The summary of the primary record, else of the first that has one.
	for _, r := range g.Records {
		if r.Summary != "" && (f.Summary == "" || r.ID == g.ID) {
			f.Summary = r.Summary
		}
	}
	if f.Summary == "" {
		for _, r := range g.Records {
			if r.Details != "" {
				f.Summary = firstLine(r.Details)
				break
			}
		}
	}
	for _, r := range from {
		fx := r.Fixed(eco, c.Name, version)
		if fx != "" && (f.Fixed == "" || osv.FixedBefore(eco, fx, f.Fixed)) {
			f.Fixed = fx
		}
	}
	if f.Fixed != "" && hadV {
		f.Fixed = "v" + f.Fixed
	}
	f.References = references(g)

	var warns []string
	malicious := false
	dbSev := Unknown
	for _, r := range g.Records {
		if r.Malicious() {
			malicious = true
		}
		sevs := slices.Clone(r.Severity)
		for _, a := range r.Affected {
			if a.Package.Ecosystem == eco && a.Package.Name == c.Name {
				sevs = append(sevs, a.Severity...)
			}
		}
		for _, s := range sevs {
			sc, err := parseCVSS(s)
			if err != nil {
				warns = append(warns, fmt.Sprintf("scan: %s: severity %s %q: %v", r.ID, s.Type, s.Score, err))
				continue
			}
			if sc == nil {
				continue
			}
			if sc.Version == "4.0" {
				if f.CVSS4 == nil || sc.Base > f.CVSS4.Base {
					f.CVSS4 = sc
				}
			} else if f.CVSS3 == nil || sc.Base > f.CVSS3.Base || (sc.Base == f.CVSS3.Base && sc.Version > f.CVSS3.Version) {
				f.CVSS3 = sc
			}
		}
		if strings.HasPrefix(r.ID, "GHSA-") {
			if s := ghsaSeverity(r.DatabaseSpecific); s.Rank() > dbSev.Rank() {
				dbSev = s
			}
		}
	}
	switch {
	case malicious:
		f.Kind, f.Severity = Malicious, Critical
	case f.Score() >= 0:
		f.Severity = FromScore(f.Score())
	default:
		f.Severity = dbSev
	}
	f.Fingerprint = Fingerprint(string(f.Kind), f.ID, eco, c.Name, c.Version)
	return f, warns
}

// maxReferences bounds Finding.References.
const maxReferences = 5

// references picks a few links: advisories first, then fixes, then the rest.
func references(g osv.Group) []string {
	rank := map[string]int{"ADVISORY": 0, "FIX": 1, "REPORT": 2, "WEB": 3}
	type ref struct {
		rank int
		url  string
	}
	var refs []ref
	seen := map[string]bool{}
	// The primary record's links come first within a rank.
	recs := slices.Clone(g.Records)
	slices.SortStableFunc(recs, func(a, b *osv.Record) int { return cmp.Compare(b2i(a.ID != g.ID), b2i(b.ID != g.ID)) })
	for _, r := range recs {
		for _, x := range r.References {
			if x.URL == "" || seen[x.URL] {
				continue
			}
			seen[x.URL] = true
			rk, ok := rank[x.Type]
			if !ok {
				rk = 4
			}
			refs = append(refs, ref{rk, x.URL})
		}
	}
	slices.SortStableFunc(refs, func(a, b ref) int { return cmp.Compare(a.rank, b.rank) })
	var out []string
	for _, r := range refs[:min(len(refs), maxReferences)] {
		out = append(out, r.url)
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// parseCVSS computes the base score of a CVSS_V3 or CVSS_V4 severity entry;
// other types give nil.
func parseCVSS(s osv.Severity) (*Score, error) {
	switch s.Type {
	case "CVSS_V3":
		switch {
		case strings.HasPrefix(s.Score, "CVSS:3.1/"):
			v, err := gocvss31.ParseVector(s.Score)
			if err != nil {
				return nil, err
			}
			return &Score{Version: "3.1", Vector: s.Score, Base: v.BaseScore()}, nil
		case strings.HasPrefix(s.Score, "CVSS:3.0/"):
			v, err := gocvss30.ParseVector(s.Score)
			if err != nil {
				return nil, err
			}
			return &Score{Version: "3.0", Vector: s.Score, Base: v.BaseScore()}, nil
		}
		return nil, errors.New("not a CVSS 3.0 or 3.1 vector")
	case "CVSS_V4":
		if !strings.HasPrefix(s.Score, "CVSS:4.0/") {
			return nil, errors.New("not a CVSS 4.0 vector")
		}
		v, err := gocvss40.ParseVector(s.Score)
		if err != nil {
			return nil, err
		}
		return &Score{Version: "4.0", Vector: s.Score, Base: v.Score()}, nil
	}
	return nil, nil
}

// ghsaSeverity reads database_specific.severity as GitHub writes it.
func ghsaSeverity(raw json.RawMessage) Severity {
	if raw == nil {
		return Unknown
	}
	var ds struct {
		Severity any `json:"severity"`
	}
	if json.Unmarshal(raw, &ds) != nil {
		return Unknown
	}
	s, _ := ds.Severity.(string)
	switch strings.ToUpper(s) {
	case "CRITICAL":
		return Critical
	case "HIGH":
		return High
	case "MODERATE", "MEDIUM":
		return Medium
	case "LOW":
		return Low
	}
	return Unknown
}

// hardeningFindings checks each file and returns one finding per failed
// check that is not a note.
func hardeningFindings(root string, files []inventory.File, warns *[]string) []Finding {
	var out []Finding
	// A walk of a single file names it by its base name (or by "").
	st, err := os.Stat(root)
	single := err == nil && !st.IsDir()
	for _, file := range files {
		path, loc := root, file.Path
		if file.Path != "" && !single {
			path = filepath.Join(root, filepath.FromSlash(file.Path))
		} else if loc == "" {
			loc = filepath.ToSlash(filepath.Base(root))
		}
		rep, err := hardening.CheckFile(path)
		if err != nil {
			*warns = append(*warns, fmt.Sprintf("scan: %s: %v", loc, err))
			continue
		}
		seen := map[string]bool{} // a fat Mach-O repeats checks per slice
		for _, h := range rep.Findings {
			if h.Pass || seen[h.Check] {
				continue
			}
			var sev Severity
			switch h.Severity {
			case hardening.High:
				sev = High
			case hardening.Medium:
				sev = Medium
			case hardening.Low:
				sev = Low
			default: // Info: a note, never a finding
				continue
			}
			seen[h.Check] = true
			id := "hardening/" + h.Check
			out = append(out, Finding{
				Kind:        Hardening,
				ID:          id,
				Summary:     h.Detail,
				Severity:    sev,
				Location:    Location{Path: loc},
				Fingerprint: Fingerprint(string(Hardening), id, loc),
			})
		}
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
