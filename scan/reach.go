package scan

// Reachability of Go findings, from govulncheck run over a database of
// just the records found, in the Go vulnerability database v1 layout
// (go.dev/security/vulndb#protocol):
//
//	index/db.json       {"modified": T}
//	index/modules.json  [{"path": M, "vulns": [{"id", "modified", "fixed"}]}]
//	index/vulns.json    [{"id", "modified", "aliases"}]
//	ID/<id>.json        the OSV record
//
// govulncheck -format json writes a stream of JSON objects; those with a
// "finding" member name an OSV id and a trace whose first frame is the
// vulnerable code: with a function it is called, with only a package it is
// imported, with only a module it is required.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/hallmark-dev/hallmark/osv"
)

// DefaultGovulncheckTimeout bounds a govulncheck run when
// Options.GovulncheckTimeout is 0.
const DefaultGovulncheckTimeout = 5 * time.Minute

// maxGovulncheckOutput bounds what is read of govulncheck's output.
const maxGovulncheckOutput = 256 << 20

// OSV JSON as the Go vulnerability database serves it.
type osvOut struct {
	SchemaVersion    string          `json:"schema_version,omitempty"`
	ID               string          `json:"id"`
	Modified         string          `json:"modified"`
	Published        string          `json:"published,omitempty"`
	Aliases          []string        `json:"aliases,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Affected         []osvAffected   `json:"affected"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

type osvAffected struct {
	Package           osvPackage      `json:"package"`
	Ranges            []osvRange      `json:"ranges,omitempty"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
}

type osvPackage struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
}

type osvRange struct {
	Type   string              `json:"type"`
	Events []map[string]string `json:"events"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// writeGoVulnDB writes the Go affected entries of recs as a Go
// vulnerability database in dir.
func writeGoVulnDB(dir string, recs []*osv.Record) error {
	if err := os.MkdirAll(filepath.Join(dir, "index"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "ID"), 0o755); err != nil {
		return err
	}
	type modVuln struct {
		ID       string `json:"id"`
		Modified string `json:"modified"`
		Fixed    string `json:"fixed,omitempty"`
	}
	type vulnEntry struct {
		ID       string   `json:"id"`
		Modified string   `json:"modified"`
		Aliases  []string `json:"aliases,omitempty"`
	}
	mods := map[string][]modVuln{}
	var vulns []vulnEntry
	var latest time.Time
	for _, r := range recs {
		// The id names the record's file: a hostile one must not name a
		// file outside dir.
		if !filepath.IsLocal(r.ID) || strings.ContainsAny(r.ID, `/\`) {
			return fmt.Errorf("record id %.80q cannot be a file name", r.ID)
		}
		out := osvOut{SchemaVersion: r.SchemaVersion, ID: r.ID, Modified: rfc3339(r.Modified),
			Aliases: r.Aliases, Summary: r.Summary, Details: r.Details, DatabaseSpecific: r.DatabaseSpecific}
		if !r.Published.IsZero() {
			out.Published = rfc3339(r.Published)
		}
		for _, a := range r.Affected {
			if a.Package.Ecosystem != "Go" {
				continue
			}
			oa := osvAffected{Package: osvPackage{Name: a.Package.Name, Ecosystem: "Go"}, EcosystemSpecific: a.EcosystemSpecific}
			fixed := ""
			for _, rg := range a.Ranges {
				if rg.Type != osv.SemVer && rg.Type != osv.Ecosystem {
					continue
				}
				or := osvRange{Type: string(osv.SemVer)}
				for _, e := range rg.Events {
					or.Events = append(or.Events, map[string]string{string(e.Kind): e.Version})
					if e.Kind == osv.Fixed && (fixed == "" || semver.Compare("v"+e.Version, "v"+fixed) > 0) {
						fixed = e.Version
					}
				}
				oa.Ranges = append(oa.Ranges, or)
			}
			out.Affected = append(out.Affected, oa)
			if !slices.ContainsFunc(mods[a.Package.Name], func(v modVuln) bool { return v.ID == r.ID }) {
				mods[a.Package.Name] = append(mods[a.Package.Name], modVuln{ID: r.ID, Modified: out.Modified, Fixed: fixed})
			}
		}
		if len(out.Affected) == 0 {
			continue
		}
		data, err := json.Marshal(out)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "ID", r.ID+".json"), data, 0o644); err != nil {
			return err
		}
		vulns = append(vulns, vulnEntry{ID: r.ID, Modified: out.Modified, Aliases: r.Aliases})
		if r.Modified.After(latest) {
			latest = r.Modified
		}
	}
	type modEntry struct {
		Path  string    `json:"path"`
		Vulns []modVuln `json:"vulns"`
	}
	var modList []modEntry
	for _, path := range slices.Sorted(maps.Keys(mods)) {
		modList = append(modList, modEntry{Path: path, Vulns: mods[path]})
	}
	files := map[string]any{
		"db.json":      map[string]string{"modified": rfc3339(latest)},
		"modules.json": modList,
		"vulns.json":   vulns,
	}
	for name, v := range files {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "index", name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// govulncheckMessage is the part of one message of govulncheck's JSON
// stream that is read here.
type govulncheckMessage struct {
	Finding *struct {
		OSV   string `json:"osv"`
		Trace []struct {
			Module   string `json:"module"`
			Package  string `json:"package"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

var reachRank = map[string]int{"": 0, Required: 1, Imported: 2, Called: 3}

// readGovulncheck reads govulncheck's JSON stream and returns the
// reachability of each (OSV id, module) it reports.
func readGovulncheck(r io.Reader) (map[[2]string]string, error) {
	dec := json.NewDecoder(r)
	reach := map[[2]string]string{}
	for i := 0; ; i++ {
		var m govulncheckMessage
		if err := dec.Decode(&m); err == io.EOF {
			return reach, nil
		} else if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		if m.Finding == nil || m.Finding.OSV == "" || len(m.Finding.Trace) == 0 {
			continue
		}
		top := m.Finding.Trace[0]
		level := Required
		switch {
		case top.Function != "":
			level = Called
		case top.Package != "":
			level = Imported
		}
		k := [2]string{m.Finding.OSV, top.Module}
		if reachRank[level] > reachRank[reach[k]] {
			reach[k] = level
		}
	}
}

// reachability runs govulncheck in opts.SourceDir against the Go records
// recs and sets Reachability on the Go findings it reports on.
func reachability(ctx context.Context, opts Options, recs []*osv.Record, findings []Finding) error {
	if len(recs) == 0 {
		return nil
	}
	dbDir, err := os.MkdirTemp("", "hallmark-govulndb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dbDir)
	if err := writeGoVulnDB(dbDir, recs); err != nil {
		return fmt.Errorf("writing the database: %w", err)
	}
	timeout := opts.GovulncheckTimeout
	if timeout <= 0 {
		timeout = DefaultGovulncheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dbURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dbDir)}).String()
	cmd := exec.CommandContext(ctx, opts.Govulncheck, "-format", "json", "-db", dbURL, "./...")
	cmd.Dir = opts.SourceDir
	// The toolchain on PATH, never one the go command would download.
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitedBuffer{buf: &stdout, max: maxGovulncheckOutput}
	// Stderr is only read for an error message: a chatty run (the go
	// command's "downloading" lines) must not fail for it.
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 64 << 10, drop: true}
	if err := cmd.Run(); err != nil {
		// Exit status 3 means "vulnerabilities found" in text mode only;
		// with -format json any failure is a failure.
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			return fmt.Errorf("%s: timed out after %v", opts.Govulncheck, timeout)
		}
		return fmt.Errorf("%s: %w: %s", opts.Govulncheck, err, firstLine(msg))
	}
	reach, err := readGovulncheck(&stdout)
	if err != nil {
		return fmt.Errorf("%s output: %w", opts.Govulncheck, err)
	}
	for i := range findings {
		f := &findings[i]
		if f.Package.Ecosystem != "Go" {
			continue
		}
		for _, id := range append([]string{f.ID}, f.Records...) {
			if lv := reach[[2]string{id, f.Package.Name}]; reachRank[lv] > reachRank[f.Reachability] {
				f.Reachability = lv
			}
		}
	}
	return nil
}

// limitedBuffer keeps the first max bytes written to it and, after, fails
// or, with drop, discards the rest.
type limitedBuffer struct {
	buf  *bytes.Buffer
	max  int
	drop bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		if b.drop {
			b.buf.Write(p[:b.max-b.buf.Len()])
			return len(p), nil
		}
		return 0, fmt.Errorf("output too large: over the limit of %d bytes", b.max)
	}
	return b.buf.Write(p)
}
