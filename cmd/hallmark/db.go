package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	neturl "net/url"
	"os"
	"os/signal"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hallmark-dev/hallmark/vulndb"
)

const dbUsage = `Usage: hallmark db <command> [flags]

The local vulnerability database that 'hallmark scan' matches against: OSV
records (osv.dev's schema), indexed by ecosystem and package.

Commands:
  import PATH...   import OSV records: a JSON file, a directory tree of JSON
                   files, an OSV all.zip export, or a .tgz of JSON files
  update           download the OSV exports of the ecosystems (resumable,
                   verified) and import them
  status           the sources imported, their record counts and age

Flags (all commands):
  --db FILE        the database file (default $HALLMARK_VULNDB, else
                   DATA_DIR/vulndb/osv.sqlite in the data directory)
  --home DIR       the data directory

A record that does not follow the OSV schema is skipped with a warning naming
its id and file; the rest of the import goes on. An import is one transaction:
it lands entirely or not at all. A record replaces a stored one with the same
id only if its "modified" time is later, so an older export cannot roll the
database back.
`

const dbImportUsage = `Usage: hallmark db import [--source NAME] [--db FILE] PATH...

Imports OSV records from each PATH: a JSON file, a directory tree of *.json
files, an OSV all.zip export or a gzip-compressed tar archive of *.json
files. Bad records are skipped with a warning on stderr naming the record and
the file. Prints what each import added.

Flags:
  --source NAME    the source name 'hallmark db status' lists (default: the
                   PATH's base name)
  --db FILE        the database file
  --home DIR       the data directory
  --quiet          do not print a warning per skipped record, only the count

Exit codes: 0 imported (records may have been skipped); 2 bad usage, or an
input that could not be read (nothing of that PATH was imported).
`

const dbStatusUsage = `Usage: hallmark db status [--json] [--db FILE]

Lists the sources in the database: name, records, when last imported, and
the SHA-256 over the inputs of that import.

Flags:
  --json           machine-readable output on stdout
  --db FILE        the database file
  --home DIR       the data directory
`

func runDB(c *cli, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, dbUsage)
		return usageErrorf("db: no command given").hint("run 'hallmark db --help' for usage")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, dbUsage)
		return nil
	case "import":
		return runDBImport(c, args[1:])
	case "update":
		return runDBUpdate(c, args[1:])
	case "status":
		return runDBStatus(c, args[1:])
	}
	return usageErrorf("db: unknown command %q", args[0]).hint("run 'hallmark db --help' for usage")
}

// dbFlags registers --db and --home on fs; open opens the database they name.
type dbFlags struct{ db, home *string }

func newDBFlags(c *cli, name, text string) (*flag.FlagSet, dbFlags) {
	fs := c.flagSet(name, text)
	return fs, dbFlags{
		db:   fs.String("db", "", "the vulnerability database `FILE`"),
		home: homeFlag(fs),
	}
}

// path returns the database file: --db, else $HALLMARK_VULNDB, else
// DATA_DIR/vulndb/osv.sqlite.
func (f dbFlags) path() (string, error) {
	if *f.db != "" {
		return *f.db, nil
	}
	if p := os.Getenv("HALLMARK_VULNDB"); p != "" {
		return p, nil
	}
	h, err := home(*f.home)
	if err != nil {
		return "", err
	}
	return filepath.Join(h, "vulndb", "osv.sqlite"), nil
}

// open opens the database, creating it (and its directory) when create is
// set; otherwise a missing database is an error with a hint.
func (f dbFlags) open(create bool) (*vulndb.DB, string, error) {
	p, err := f.path()
	if err != nil {
		return nil, "", err
	}
	switch _, err := os.Stat(p); {
	case errors.Is(err, fs.ErrNotExist) && !create:
		return nil, "", withHint(fmt.Errorf("no vulnerability database at %s", p),
			"import OSV records first: 'hallmark db import PATH' or 'hallmark db update'")
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, "", err
		}
	case err != nil:
		return nil, "", fmt.Errorf("vulnerability database: %w", err)
	}
	db, err := vulndb.Open(p)
	return db, p, err
}

func runDBImport(c *cli, args []string) error {
	fs, df := newDBFlags(c, "db import", dbImportUsage)
	source := fs.String("source", "", "the source `NAME`")
	quiet := fs.Bool("quiet", false, "no warning per skipped record")
	paths, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageErrorf("db import: no PATH given").hint("run 'hallmark db import --help' for usage")
	}
	if *source != "" && len(paths) > 1 {
		return usageErrorf("db import: --source names one source; give one PATH per import")
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return usageErrorf("db import: %v", err)
		}
	}
	db, dbPath, err := df.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, p := range paths {
		name := *source
		if name == "" {
			name = filepath.Base(filepath.Clean(p))
		}
		start := time.Now()
		warn := func(err error) {
			if !*quiet {
				fmt.Fprintf(c.stderr, "hallmark: warning: skipped: %v\n", err)
			}
		}
		st, err := db.Import(ctx, p, name, warn)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: imported %s into %s as %q in %s: %d read, %d added, %d replaced, %d unchanged, %d skipped\n",
			p, dbPath, name, time.Since(start).Round(time.Millisecond), st.Read, st.Added, st.Replaced, st.Unchanged, st.Skipped)
	}
	return nil
}

func runDBStatus(c *cli, args []string) error {
	fs, df := newDBFlags(c, "db status", dbStatusUsage)
	asJSON := fs.Bool("json", false, "machine-readable output")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("db status: unexpected argument %q", rest[0])
	}
	db, dbPath, err := df.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	srcs, err := db.Status(context.Background())
	if err != nil {
		return err
	}
	if *asJSON {
		type source struct {
			Name     string    `json:"name"`
			Records  int       `json:"records"`
			Imported time.Time `json:"imported"`
			Digest   string    `json:"digest"`
		}
		out := struct {
			Database string   `json:"database"`
			Sources  []source `json:"sources"`
		}{Database: dbPath, Sources: []source{}}
		for _, s := range srcs {
			out.Sources = append(out.Sources, source{s.Name, s.Count, s.Imported.UTC(), s.Digest})
		}
		return c.printJSON(out)
	}
	fmt.Fprintf(c.stdout, "database %s\n", dbPath)
	if len(srcs) == 0 {
		fmt.Fprintln(c.stdout, "no sources imported")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tRECORDS\tIMPORTED\tAGE\tDIGEST")
	total := 0
	for _, s := range srcs {
		total += s.Count
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", s.Name, s.Count, s.Imported.UTC().Format(time.RFC3339),
			age(time.Since(s.Imported)), s.Digest)
	}
	fmt.Fprintf(tw, "total\t%d\t\t\t\n", total)
	return tw.Flush()
}

// age renders a duration as a person reads an age: "3d", "5h", "12m".
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

const dbUpdateUsage = `Usage: hallmark db update [--ecosystem NAME]... [--url URL] [--db FILE]

Downloads the OSV export (all.zip) of each ecosystem and imports it as the
source "osv:ECOSYSTEM". Downloads are kept next to the database and resumed
with HTTP Range requests when interrupted; each is verified before anything
is imported: its length, the MD5 and CRC-32C the storage bucket publishes
(x-goog-hash), and its ZIP structure. An export that has not changed since
the last update (304 Not Modified) is not downloaded again.

Flags:
  --ecosystem NAME  an OSV ecosystem to update (Go, npm, PyPI, crates.io,
                    ...); repeatable. Default: those a previous update
                    imported, else Go, npm, PyPI and crates.io
  --url URL         where the exports are: URL/ECOSYSTEM/all.zip (default
                    https://osv-vulnerabilities.storage.googleapis.com; a
                    mirror for networks without access)
  --timeout D       give up after D (default 30m)
  --db FILE         the database file
  --home DIR        the data directory
  --quiet           no warning per skipped record

Exit codes: 0 every ecosystem updated or up to date; 2 any failed (the
others are still imported; the error names each failure).
`

func runDBUpdate(c *cli, args []string) error {
	fs, df := newDBFlags(c, "db update", dbUpdateUsage)
	var ecosystems stringsFlag
	fs.Var(&ecosystems, "ecosystem", "an OSV ecosystem `NAME`")
	url := fs.String("url", "", "the exports' base `URL`")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	quiet := fs.Bool("quiet", false, "no warning per skipped record")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("db update: unexpected argument %q", rest[0]).hint("name ecosystems with --ecosystem")
	}
	if *url != "" {
		if u, err := neturl.Parse(*url); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return usageErrorf("db update: --url %q: want an http(s) URL", *url)
		}
	}
	db, dbPath, err := df.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	results, err := db.Update(ctx, vulndb.UpdateOptions{
		BaseURL:    *url,
		Ecosystems: ecosystems,
		Warn: func(err error) {
			if !*quiet {
				fmt.Fprintf(c.stderr, "hallmark: warning: %v\n", err)
			}
		},
	})
	for _, r := range results {
		switch {
		case r.NotModified:
			fmt.Fprintf(c.stderr, "hallmark: %s: up to date (%s)\n", r.Ecosystem, r.URL)
		default:
			how := "downloaded"
			if r.Resumed {
				how = "resumed"
			}
			fmt.Fprintf(c.stderr, "hallmark: %s: %s %d bytes from %s into %s: %d read, %d added, %d replaced, %d unchanged, %d skipped\n",
				r.Ecosystem, how, r.Downloaded, r.URL, dbPath, r.Stats.Read, r.Stats.Added, r.Stats.Replaced, r.Stats.Unchanged, r.Stats.Skipped)
		}
	}
	return err
}
