// Package vulndb is the local vulnerability database: OSV records imported
// from files, directories, tar archives or the OSV per-ecosystem all.zip
// exports into one SQLite file, and looked up by package. [DB.Update]
// downloads the exports from osv.dev (resumable, verified) and imports
// them. It is what `hallmark db import`, `hallmark db update`,
// `hallmark db status` and `hallmark scan` use.
//
// # Storage
//
// The database is one SQLite file (modernc.org/sqlite, pure Go, through
// database/sql) in WAL mode with synchronous=FULL, so that a committed import
// survives a crash. The schema, version 1 (PRAGMA user_version):
//
//	records(id TEXT PRIMARY KEY, modified TEXT, withdrawn TEXT NULL, source TEXT, json BLOB)
//	affected(ecosystem TEXT, name TEXT, id TEXT)   indexed on (ecosystem, name) and (id)
//	aliases(id TEXT, alias TEXT)                   indexed on (id, alias) and (alias, id)
//	sources(name TEXT PRIMARY KEY, imported TEXT, count INTEGER, digest TEXT)
//
// records.json is the record exactly as it was read; modified and withdrawn
// are UTC timestamps in a fixed-width RFC 3339 form with nanoseconds (so
// they sort as text), withdrawn NULL unless the record is withdrawn.
// affected holds one row per distinct (ecosystem, name) of a record's
// affected entries, with the ecosystem exactly as written ("Go", "PyPI",
// "Debian:12"); aliases one row per alias. sources.count is the number of
// records whose latest accepted version came from that source, imported the
// time of its last import, digest "sha256:" and the hex SHA-256 over the
// names and contents of the inputs read by that import, in read order.
//
// # Import guarantees
//
// [DB.Import] reads one OSV JSON file, a directory tree of *.json files
// (walked in lexical order; symbolic links and other non-regular files
// are ignored), a ZIP archive whose *.json members are records (read in
// name order), or a tar archive whose regular *.json members are records
// (read in archive order; directories, links and other members are
// ignored), as the Go vulnerability database's data/osv/GO-*.json are
// published. A file is recognized by its content, not its name: a ZIP by
// its signature, a tar by its first header's checksum; a gzip-compressed
// file (.tgz, .tar.gz, .json.gz) is a tar archive if its decompressed
// content begins with a tar header, else one record. Each record is parsed
// with [osv.Parse].
//
//   - Atomic: an import is one transaction; it commits entirely or, on
//     any error (I/O, limits, cancellation), not at all.
//   - Bad records are skipped: a record that does not parse, or is larger
//     than [osv.MaxSize], is reported to the warn callback with an error
//     naming its file (and ZIP member) and, when readable, its id; the rest
//     of the import goes on.
//   - Newer modified wins: a record replaces a stored record with the same
//     id only if its modified time is strictly later, so re-importing the
//     same data changes nothing and an older export cannot roll the
//     database back. Within one import the same rule applies in read order.
//
// # Limits
//
// [Limits] bound one import: the number of inputs (files, ZIP or tar
// members, [DefaultLimits].Entries) and the total bytes actually
// decompressed or read ([DefaultLimits].Bytes; for a tar archive its
// whole decompressed stream, skipped members included); a member's
// declared size is not trusted, each is read through a limit of
// osv.MaxSize+1 bytes. Exceeding Entries or Bytes fails the import.
// Archive members are never extracted to disk (a tar archive is read as a
// stream), so their names cannot escape anywhere, but names longer than
// 1024 bytes or holding a NUL byte are refused with a warning, and members
// that are directories or do not end in ".json" are ignored. A ZIP member
// that does not decompress (bad CRC-32, bad deflate stream) is a bad
// record; a tar or gzip stream that does not (truncated, bad gzip
// checksum) fails the import, since a stream cannot be resynchronized.
//
// # Errors
//
// Errors name the package and the place: "vulndb: import data.zip: ...",
// "vulndb: import go.tgz: data/osv/GO-2024-3228.json: unexpected EOF",
// "vulndb: update PyPI: GET https://...: 404 Not Found: ...". Warnings
// passed to the callback are *[RecordError] values, wrapping the
// *osv.ParseError when the record did not parse. An import that exceeds a
// limit fails with an error wrapping [ErrLimit].
//
// # Updates
//
// [DB.Update] downloads BaseURL/<ecosystem>/all.zip for each ecosystem
// into a cache directory beside the database, resuming an interrupted
// download with a Range request, verifies the complete file (length, the
// MD5 and CRC-32C of the storage bucket's x-goog-hash header, ZIP
// structure) before it imports anything, and asks with If-None-Match
// whether an export changed before downloading it again. The
// documentation of Update details the files and the protocol.
package vulndb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/osv"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// timeFormat is RFC 3339 with fixed-width nanoseconds, so that stored
// timestamps compare as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// schemaVersion is stored in PRAGMA user_version.
const schemaVersion = 1

var schema = []string{
	`CREATE TABLE IF NOT EXISTS records (
		id TEXT PRIMARY KEY NOT NULL,
		modified TEXT NOT NULL,
		withdrawn TEXT,
		source TEXT NOT NULL,
		json BLOB NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS records_by_source ON records (source)`,
	`CREATE TABLE IF NOT EXISTS affected (
		ecosystem TEXT NOT NULL,
		name TEXT NOT NULL,
		id TEXT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS affected_by_package ON affected (ecosystem, name)`,
	`CREATE INDEX IF NOT EXISTS affected_by_id ON affected (id)`,
	`CREATE TABLE IF NOT EXISTS aliases (
		id TEXT NOT NULL,
		alias TEXT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS aliases_by_id ON aliases (id, alias)`,
	`CREATE INDEX IF NOT EXISTS aliases_by_alias ON aliases (alias, id)`,
	`CREATE TABLE IF NOT EXISTS sources (
		name TEXT PRIMARY KEY NOT NULL,
		imported TEXT NOT NULL,
		count INTEGER NOT NULL,
		digest TEXT NOT NULL
	)`,
	fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion),
}

// DB is an open vulnerability database. Its methods are safe for
// concurrent use; imports are serialized, and lookups read the last
// committed state.
type DB struct {
	w, r     *sql.DB
	path     string     // the file's absolute path
	updateMu sync.Mutex // serializes Update
	// Limits bound each Import; Open sets DefaultLimits.
	Limits Limits
}

// Open opens the database file at path, creating it and its schema if
// needed.
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("vulndb: open: no file name")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("vulndb: open %s: %w", path, err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vulndb: open: %w", err)
	}
	f.Close()
	// A file: URI, so that no character of the path is taken for a parameter.
	dsn := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(abs) +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("vulndb: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	db := &DB{w: w, path: abs, Limits: DefaultLimits}
	ctx := context.Background()
	var version int
	if err := w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		w.Close()
		return nil, fmt.Errorf("vulndb: open %s: %w", path, err)
	}
	if version > schemaVersion {
		w.Close()
		return nil, fmt.Errorf("vulndb: open %s: schema version %d is newer than this program's %d", path, version, schemaVersion)
	}
	// Only a database without the current schema is written to: an Open
	// that wrote would wait for, and fail behind, a running import.
	if version < schemaVersion {
		if err := createSchema(ctx, w); err != nil {
			w.Close()
			return nil, fmt.Errorf("vulndb: open %s: schema: %w", path, err)
		}
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("vulndb: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	db.r = r
	return db, nil
}

// createSchema creates the tables and sets user_version in one transaction.
func createSchema(ctx context.Context, w *sql.DB) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.r.Close(), db.w.Close())
}

// Lookup returns the records, not withdrawn, that have an affected entry
// for the package name in ecosystem (both compared exactly), sorted by id.
// It reads through the (ecosystem, name) index.
func (db *DB) Lookup(ctx context.Context, ecosystem, name string) ([]*osv.Record, error) {
	recs, err := db.query(ctx, `SELECT r.id, r.json FROM records r
		WHERE r.withdrawn IS NULL AND r.id IN
			(SELECT a.id FROM affected a WHERE a.ecosystem = ? AND a.name = ?)
		ORDER BY r.id`, ecosystem, name)
	if err != nil {
		return nil, fmt.Errorf("vulndb: lookup %s %s: %w", ecosystem, name, err)
	}
	return recs, nil
}

// Record returns the stored record with the given id, withdrawn or not,
// or nil if there is none.
func (db *DB) Record(ctx context.Context, id string) (*osv.Record, error) {
	recs, err := db.query(ctx, `SELECT id, json FROM records WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("vulndb: record %s: %w", id, err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return recs[0], nil
}

func (db *DB) query(ctx context.Context, q string, args ...any) ([]*osv.Record, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var recs []*osv.Record
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		r, err := osv.Parse(data)
		if err != nil {
			// Only records that parsed are stored: the file was altered.
			return nil, fmt.Errorf("stored record %s: %w", id, err)
		}
		recs = append(recs, r)
	}
	return recs, rows.Err()
}

// maxAliasClosure bounds the records Aliases collects, against alias
// chains that would otherwise pull in much of the database.
const maxAliasClosure = 1000

// Aliases returns the stored records, not withdrawn, connected to the
// record ids through aliases, transitively and in both directions (a record
// that lists one of them as an alias, a record whose id is one of their
// aliases), including the records of ids themselves, sorted by id. At most
// 1000 records are returned.
func (db *DB) Aliases(ctx context.Context, ids ...string) ([]*osv.Record, error) {
	return db.aliases(ctx, nil, ids)
}

// aliases is Aliases of ids and of the ids of the known records, which it
// returns as they are rather than reading and parsing them again.
func (db *DB) aliases(ctx context.Context, known []*osv.Record, ids []string) ([]*osv.Record, error) {
	have := make(map[string]*osv.Record, len(known))
	for _, r := range known {
		have[r.ID] = r
		ids = append(ids, r.ID)
	}
	seen := map[string]bool{}
	queue := append([]string(nil), ids...)
	for len(queue) > 0 && len(seen) < maxAliasClosure {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		rows, err := db.r.QueryContext(ctx, `SELECT alias FROM aliases WHERE id = ?
			UNION SELECT id FROM aliases WHERE alias = ?`, id, id)
		if err != nil {
			return nil, fmt.Errorf("vulndb: aliases %s: %w", id, err)
		}
		for rows.Next() {
			var next string
			if err := rows.Scan(&next); err != nil {
				rows.Close()
				return nil, fmt.Errorf("vulndb: aliases %s: %w", id, err)
			}
			if !seen[next] {
				queue = append(queue, next)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("vulndb: aliases %s: %w", id, err)
		}
	}
	var recs []*osv.Record
	for id := range seen {
		r, ok := have[id]
		if !ok {
			var err error
			if r, err = db.Record(ctx, id); err != nil {
				return nil, err
			}
		}
		if r != nil && !r.Withdrawn() {
			recs = append(recs, r)
		}
	}
	sortRecords(recs)
	return recs, nil
}

// Group returns the vulnerabilities affecting a package: the records of
// [DB.Lookup] together with the records they are aliased with (through
// [DB.Aliases]), merged with [osv.Merge]. The aliased records may be for
// other ecosystems (the GHSA record of a GO- record, say); they carry
// severities the package's own records may lack.
func (db *DB) Group(ctx context.Context, ecosystem, name string) ([]osv.Group, error) {
	recs, err := db.Lookup(ctx, ecosystem, name)
	if err != nil {
		return nil, err
	}
	all, err := db.aliases(ctx, recs, nil)
	if err != nil {
		return nil, err
	}
	return osv.Merge(all), nil
}

// Source is one import source and what it holds.
type Source struct {
	Name     string
	Imported time.Time // time of the last import
	Count    int       // records whose stored version came from this source
	Digest   string    // "sha256:" and hex, over the inputs of the last import
}

// Status returns the sources, sorted by name.
func (db *DB) Status(ctx context.Context) ([]Source, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, imported, count, digest FROM sources ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("vulndb: status: %w", err)
	}
	defer rows.Close()
	var srcs []Source
	for rows.Next() {
		var s Source
		var imported string
		if err := rows.Scan(&s.Name, &imported, &s.Count, &s.Digest); err != nil {
			return nil, fmt.Errorf("vulndb: status: %w", err)
		}
		t, err := time.Parse(time.RFC3339Nano, imported)
		if err != nil {
			return nil, fmt.Errorf("vulndb: status: source %s: imported %q: %w", s.Name, imported, err)
		}
		s.Imported = t
		srcs = append(srcs, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("vulndb: status: %w", err)
	}
	return srcs, nil
}
