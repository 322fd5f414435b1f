// Package state keeps the control plane's state in SQL: projects, API tokens,
// OIDC trust bindings, the key registry, the records of every signature the
// platform made, the audit log's hash chain with its transparency-log
// anchors, and the nonces that make requests unreplayable.
//
// # Backends
//
// One implementation over database/sql serves two databases:
//
//   - SQLite (the embedded default, modernc.org/sqlite, pure Go), named
//     "sqlite:PATH" or by a plain file path. The file is created mode 0600 if
//     missing (SQLite gives its -wal and -shm files the same mode). Connections
//     run in WAL mode (set once per file), synchronous=FULL (every commit is fsync'd),
//     foreign_keys=on and a busy_timeout, so several processes can share a
//     file. All writes go through one connection that begins its
//     transactions IMMEDIATE; reads use a separate pool of query_only
//     connections, which WAL lets run beside the writer.
//   - PostgreSQL (pgx's database/sql driver), named "postgres://..." or
//     "postgresql://...". The database must exist; Open creates the tables.
//     Several processes may share one database.
//
// The dialects differ only where they must, all of it in the two dialect
// values below: placeholders (queries are written with ? and rebound to $n for
// PostgreSQL), column types (BLOB/BYTEA, INTEGER/BIGINT, identity columns, "C"
// collation for the names listings are sorted by, so both sort bytewise) and
// locking of the audit head (SQLite has one writer; PostgreSQL locks the row).
//
// # Schema
//
// Migrations are numbered and recorded in schema_migrations(version,
// applied); each runs in its own transaction, and on PostgreSQL all of them
// under a session advisory lock, so processes starting together migrate once.
// A database migrated by a newer program is refused. Migration 1 creates:
//
//	projects(name PK, profile, created)
//	tokens(id PK, hash, subject, role, project, scopes, created, expires, revoked, created_by)
//	oidc_bindings(id PK, issuer, audience, claims, project, role, created)
//	keys(name, version, purpose, backend, ref, algorithm, public, cert, projects,
//	     not_before, not_after, retired, created; PK (name, version))
//	records(id PK, leaf_hash, log_id, key_fingerprint, digest, key_name,
//	        key_version, project, actor, time)
//	audit(seq PK, prev, hash, event)      the chain, event = canonical JSON bytes
//	audit_head(id = 1, seq, hash)         the last entry, (0, audit.Genesis) when empty
//	anchors(seq PK -> audit, hash, log_index, leaf_hash, bundle, time)
//	nonces(nonce PK, seen)
//
// Migration 2 adds records.kind ("digest", "dsse" or "document"; "" for older rows) and
// the policy gate's tables (gate.go):
//
//	policies(version PK, digest, body, author, comment, created)
//	verdicts(id PK, project, result, dry_run, profile, policy_version,
//	         subjects, counts, verdict, bundle, actor, time)
//	findings(project, fingerprint, status, owner, action, rule, severity,
//	         scope, first_seen, last_seen, due, fixed, builds, last_build,
//	         finding; PK (project, fingerprint))
//	exceptions(id PK, project, profile, vulnerability, package, fingerprint,
//	           reason, justification, impact, requester, required, status,
//	           created, expires, decided, revoked_by)
//	exception_votes(exception_id -> exceptions, approver, decision, comment,
//	                time; PK (exception_id, approver))
//	webhooks(name PK, target, created, created_by)
//
// Migration 3 adds the build queue (queue.go):
//
//	builds(id PK, project, status, ref, uri, spec, source, submitter, worker,
//	       created, started, finished, error, log, bundle)
//	build_outputs(build_id -> builds, path, sha256, size, data;
//	              PK (build_id, path))
//	build_logs(build_id -> builds, seq, data; PK (build_id, seq))  a running build's log, as it comes
//	toolchain_locks(project, spec, digest, locks, build, updated;
//	                PK (project, spec))  the toolchain lock each spec last built with
//
// Times are int64 Unix nanoseconds, so they round-trip exactly on both
// backends (PostgreSQL timestamps keep only microseconds); NULL is the zero
// time. Times come back in UTC; those outside the years 1678-2262 are refused.
// String lists and maps are JSON text. Audit events are stored as the exact
// bytes hashed, so the chain recomputes from the database alone (see package
// audit). Strings must be UTF-8 without NUL bytes, as PostgreSQL requires.
//
// # Commits and durability
//
// Commit stores one request's nonce, signing records and audit events
// atomically, and returns only once the transaction is durable: fsync'd by
// SQLite, and on PostgreSQL with synchronous_commit forced on for the
// transaction. Concurrent Commits are group-committed: one goroutine per DB
// takes the Writes waiting, and those that arrive within a millisecond
// (gatherWindow), and commits them in one transaction, so that the cost of
// an fsync is shared; a batch holds at most maxBatch Writes. Each Write still succeeds or fails on its
// own: a replayed nonce fails only its Write (ErrReplay), and everything else
// that could fail one Write is checked before it joins a batch. An error of
// the database itself fails every Write of the batch, and none of them is
// stored (unless the connection is lost during COMMIT, when, as with any
// database, the outcome is unknown). If a Commit's context ends before the
// Write joined a transaction, it returns the context's error and nothing is
// stored; after that, Commit waits for the outcome.
//
// Every Commit transaction first reads the audit head (on PostgreSQL with
// SELECT ... FOR UPDATE) and last moves it, so the transactions of all
// processes on one database are serialized on that row: the chain stays one
// chain without gaps or forks, readers only ever see a prefix of it, and
// no two Commit transactions can deadlock.
//
// Nonces are kept until PruneNonces removes them; callers must refuse
// requests older than the pruning horizon, or a pruned nonce could be replayed.
//
// # Errors
//
// Errors name the package, the thing and the step, and wrap ErrNotFound,
// ErrExists or ErrReplay where a caller must branch on them.
package state

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

var (
	// ErrNotFound is returned, wrapped, for a thing that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists is returned, wrapped, when creating a thing already there.
	ErrExists = errors.New("already exists")
	// ErrReplay is returned, wrapped, by Commit for a nonce already used.
	ErrReplay = errors.New("nonce already used")
)

// DB is an open state database. It is safe for concurrent use.
type DB struct {
	d *dialect
	w *sql.DB // writes: SQLite's single connection, or the PostgreSQL pool
	r *sql.DB // reads: SQLite's query_only pool, or the same pool as w

	queue     chan *pending // unbuffered: see commitLoop
	closing   chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// dialect is everything that differs between the backends.
type dialect struct {
	name      string
	types     *strings.Replacer // {{...}} in the migrations
	dollar    bool              // placeholders are $1, $2, ...
	forUpdate string            // appended to the audit head read in Commit
}

var (
	sqliteDialect = &dialect{
		name: "sqlite",
		types: strings.NewReplacer(
			"{{int}}", "INTEGER",
			"{{blob}}", "BLOB",
			"{{name}}", "TEXT", // BINARY collation by default
			"{{id}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
			"{{genesis}}", "zeroblob(32)",
		),
	}
	postgresDialect = &dialect{
		name: "postgres",
		types: strings.NewReplacer(
			"{{int}}", "BIGINT",
			"{{blob}}", "BYTEA",
			"{{name}}", `TEXT COLLATE "C"`,
			"{{id}}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
			"{{genesis}}", "decode(repeat('00', 32), 'hex')",
		),
		dollar:    true,
		forUpdate: " FOR UPDATE",
	}
)

// q rebinds the ? placeholders of query for d. Queries hold no ? otherwise.
func (d *dialect) q(query string) string {
	if !d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
		} else {
			b.WriteByte(query[i])
		}
	}
	return b.String()
}

// migrations[i] is migration i+1. Never edit one that has shipped; append.
var migrations = [][]string{{
	`CREATE TABLE projects (
		name {{name}} PRIMARY KEY,
		profile TEXT NOT NULL,
		created {{int}} NOT NULL)`,
	`CREATE TABLE tokens (
		id TEXT PRIMARY KEY,
		hash {{blob}} NOT NULL,
		subject TEXT NOT NULL,
		role TEXT NOT NULL,
		project TEXT NOT NULL,
		scopes TEXT NOT NULL,
		created {{int}} NOT NULL,
		expires {{int}},
		revoked {{int}},
		created_by TEXT NOT NULL)`,
	`CREATE INDEX tokens_created ON tokens (created, id)`,
	`CREATE TABLE oidc_bindings (
		id {{id}},
		issuer TEXT NOT NULL,
		audience TEXT NOT NULL,
		claims TEXT NOT NULL,
		project TEXT NOT NULL,
		role TEXT NOT NULL,
		created {{int}} NOT NULL)`,
	`CREATE TABLE keys (
		name {{name}} NOT NULL,
		version {{int}} NOT NULL,
		purpose TEXT NOT NULL,
		backend TEXT NOT NULL,
		ref TEXT NOT NULL,
		algorithm TEXT NOT NULL,
		public {{blob}} NOT NULL,
		cert {{blob}},
		projects TEXT NOT NULL,
		not_before {{int}},
		not_after {{int}},
		retired {{int}},
		created {{int}} NOT NULL,
		PRIMARY KEY (name, version))`,
	`CREATE TABLE records (
		id {{id}},
		leaf_hash {{blob}} NOT NULL,
		log_id {{blob}} NOT NULL,
		key_fingerprint {{blob}} NOT NULL,
		digest {{blob}} NOT NULL,
		key_name TEXT NOT NULL,
		key_version {{int}} NOT NULL,
		project TEXT NOT NULL,
		actor TEXT NOT NULL,
		time {{int}} NOT NULL)`,
	`CREATE INDEX records_leaf ON records (leaf_hash, log_id)`,
	`CREATE INDEX records_time ON records (time, id)`,
	`CREATE INDEX records_project_time ON records (project, time, id)`,
	`CREATE TABLE audit (
		seq {{int}} PRIMARY KEY,
		prev {{blob}} NOT NULL,
		hash {{blob}} NOT NULL,
		event {{blob}} NOT NULL)`,
	`CREATE TABLE audit_head (
		id {{int}} PRIMARY KEY CHECK (id = 1),
		seq {{int}} NOT NULL,
		hash {{blob}} NOT NULL)`,
	`INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, {{genesis}})`,
	`CREATE TABLE anchors (
		seq {{int}} PRIMARY KEY REFERENCES audit (seq),
		hash {{blob}} NOT NULL,
		log_index {{int}} NOT NULL,
		leaf_hash {{blob}} NOT NULL,
		bundle {{blob}} NOT NULL,
		time {{int}} NOT NULL)`,
	`CREATE TABLE nonces (
		nonce TEXT PRIMARY KEY,
		seen {{int}} NOT NULL)`,
	`CREATE INDEX nonces_seen ON nonces (seen)`,
}, {
	// Migration 2: the policy gate (gate.go), and what each record signed.
	`ALTER TABLE records ADD COLUMN kind TEXT NOT NULL DEFAULT ''`,
	`CREATE TABLE policies (
		version {{int}} PRIMARY KEY,
		digest TEXT NOT NULL,
		body {{blob}} NOT NULL,
		author TEXT NOT NULL,
		comment TEXT NOT NULL,
		created {{int}} NOT NULL)`,
	`CREATE TABLE verdicts (
		id {{name}} PRIMARY KEY,
		project TEXT NOT NULL,
		result TEXT NOT NULL,
		dry_run {{int}} NOT NULL,
		profile TEXT NOT NULL,
		policy_version {{int}} NOT NULL,
		subjects TEXT NOT NULL,
		counts TEXT NOT NULL,
		verdict {{blob}} NOT NULL,
		bundle {{blob}},
		actor TEXT NOT NULL,
		time {{int}} NOT NULL)`,
	`CREATE INDEX verdicts_time ON verdicts (time, id)`,
	`CREATE TABLE findings (
		project {{name}} NOT NULL,
		fingerprint {{name}} NOT NULL,
		status TEXT NOT NULL,
		owner TEXT NOT NULL,
		action TEXT NOT NULL,
		rule TEXT NOT NULL,
		severity TEXT NOT NULL,
		scope TEXT NOT NULL,
		first_seen {{int}} NOT NULL,
		last_seen {{int}} NOT NULL,
		due {{int}} NOT NULL,
		fixed {{int}},
		builds {{int}} NOT NULL,
		last_build TEXT NOT NULL,
		finding {{blob}} NOT NULL,
		PRIMARY KEY (project, fingerprint))`,
	`CREATE INDEX findings_fingerprint ON findings (fingerprint)`,
	`CREATE TABLE exceptions (
		id {{name}} PRIMARY KEY,
		project TEXT NOT NULL,
		profile TEXT NOT NULL,
		vulnerability TEXT NOT NULL,
		package TEXT NOT NULL,
		fingerprint TEXT NOT NULL,
		reason TEXT NOT NULL,
		justification TEXT NOT NULL,
		impact TEXT NOT NULL,
		requester TEXT NOT NULL,
		required {{int}} NOT NULL,
		status TEXT NOT NULL,
		created {{int}} NOT NULL,
		expires {{int}} NOT NULL,
		decided {{int}},
		revoked_by TEXT NOT NULL)`,
	`CREATE INDEX exceptions_project ON exceptions (project, created)`,
	`CREATE TABLE exception_votes (
		exception_id {{name}} NOT NULL REFERENCES exceptions (id),
		approver TEXT NOT NULL,
		decision TEXT NOT NULL,
		comment TEXT NOT NULL,
		time {{int}} NOT NULL,
		PRIMARY KEY (exception_id, approver))`,
	`CREATE TABLE webhooks (
		name {{name}} PRIMARY KEY,
		target {{blob}} NOT NULL,
		created {{int}} NOT NULL,
		created_by TEXT NOT NULL)`,
}, {
	// Migration 3: the build queue (queue.go).
	`CREATE TABLE builds (
		id {{name}} PRIMARY KEY,
		project TEXT NOT NULL,
		status TEXT NOT NULL,
		ref TEXT NOT NULL,
		uri TEXT NOT NULL,
		spec {{blob}} NOT NULL,
		source {{blob}},
		submitter TEXT NOT NULL,
		worker TEXT NOT NULL,
		created {{int}} NOT NULL,
		started {{int}},
		finished {{int}},
		error TEXT NOT NULL,
		log {{blob}},
		bundle {{blob}})`,
	`CREATE INDEX builds_queue ON builds (status, created, id)`,
	`CREATE TABLE build_outputs (
		build_id {{name}} NOT NULL REFERENCES builds (id),
		path TEXT NOT NULL,
		sha256 TEXT NOT NULL,
		size {{int}} NOT NULL,
		data {{blob}} NOT NULL,
		PRIMARY KEY (build_id, path))`,
	`CREATE TABLE build_logs (
		build_id {{name}} NOT NULL REFERENCES builds (id),
		seq {{int}} NOT NULL,
		data {{blob}} NOT NULL,
		PRIMARY KEY (build_id, seq))`,
	`CREATE TABLE toolchain_locks (
		project {{name}} NOT NULL,
		spec {{name}} NOT NULL,
		digest TEXT NOT NULL,
		locks TEXT NOT NULL,
		build TEXT NOT NULL,
		updated {{int}} NOT NULL,
		PRIMARY KEY (project, spec))`,
}}

// migrationLock is the PostgreSQL advisory lock key held while migrating.
const migrationLock = 0x68616c6c6d61726b // "hallmark"

// Open opens the state database named by url, creating its tables if needed
// and migrating them to the current schema. See the package comment for the
// names accepted.
func Open(ctx context.Context, url string) (*DB, error) {
	var db *DB
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		pool, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("state: postgres: %w", err)
		}
		pool.SetMaxOpenConns(32)
		pool.SetMaxIdleConns(32)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		db = &DB{d: postgresDialect, w: pool, r: pool}
	} else {
		var err error
		if db, err = openSQLite(strings.TrimPrefix(url, "sqlite:")); err != nil {
			return nil, err
		}
	}
	db.queue = make(chan *pending)
	db.closing = make(chan struct{})
	db.stopped = make(chan struct{})
	if err := db.Ping(ctx); err != nil {
		db.closePools()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.closePools()
		return nil, err
	}
	go db.commitLoop()
	return db, nil
}

func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("state: sqlite: no file name")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state: sqlite: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: sqlite: %w", err)
	}
	f.Close()
	// A file: URI, so that SQLite reads the path percent-decoded and no
	// character of it can be taken for a parameter.
	file := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?_pragma=busy_timeout(10000)"
	if err := setWAL(file); err != nil {
		return nil, fmt.Errorf("state: sqlite: %s: %w", path, err)
	}
	dsn := file + "&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("state: sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("state: sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return &DB{d: sqliteDialect, w: w, r: r}, nil
}

// setWAL puts the database file in WAL mode, which the file keeps. It is
// set once here rather than by every connection: switching needs the file to
// itself, and SQLite refuses at once (SQLITE_BUSY, without waiting on its
// busy timeout) when several processes or connections open a new file
// together, so it is retried for up to ten seconds.
func setWAL(dsn string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var mode string
		err := db.QueryRow("PRAGMA journal_mode=WAL").Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("journal mode is %q, not WAL", mode)
		case !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline):
			return fmt.Errorf("setting WAL mode: %w", err)
		}
	}
}

// migrate brings the schema up to date, one transaction per migration.
func (db *DB) migrate(ctx context.Context) (err error) {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("state: migrate: %w", err)
	}
	defer conn.Close()
	if db.d == postgresDialect {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
			return fmt.Errorf("state: migrate: taking the migration lock: %w", err)
		}
		defer func() {
			_, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
			if uerr != nil {
				// Never return a connection holding the lock to the pool.
				conn.Raw(func(any) error { return driver.ErrBadConn })
				if err == nil {
					err = fmt.Errorf("state: migrate: releasing the migration lock: %w", uerr)
				}
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, db.d.types.Replace(
		`CREATE TABLE IF NOT EXISTS schema_migrations (version {{int}} PRIMARY KEY, applied {{int}} NOT NULL)`)); err != nil {
		return fmt.Errorf("state: migrate: %w", err)
	}
	var have sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&have); err != nil {
		return fmt.Errorf("state: migrate: %w", err)
	}
	if have.Int64 > int64(len(migrations)) {
		return fmt.Errorf("state: migrate: database schema version %d is newer than this program's %d", have.Int64, len(migrations))
	}
	// Migrations are applied in order, so those up to have are done; the
	// rest are checked again in their transactions (migrateOne), and an
	// up-to-date database opens without taking the write lock.
	for version := int(have.Int64) + 1; version <= len(migrations); version++ {
		if err := db.migrateOne(ctx, conn, version, migrations[version-1]); err != nil {
			return fmt.Errorf("state: migration %d: %w", version, err)
		}
	}
	return nil
}

func (db *DB) migrateOne(ctx context.Context, conn *sql.Conn, version int, stmts []string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Checked inside the transaction: another SQLite process may have
	// migrated since we looked.
	var n int
	if err := tx.QueryRowContext(ctx, db.d.q("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, db.d.types.Replace(s)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, db.d.q("INSERT INTO schema_migrations (version, applied) VALUES (?, ?)"), version, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// Close stops accepting Commits, waits for the batch being committed, and
// closes the database. Commits waiting to join a batch fail.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.closing)
		<-db.stopped
		db.closeErr = db.closePools()
	})
	return db.closeErr
}

func (db *DB) closePools() error {
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// Backend returns "sqlite" or "postgres".
func (db *DB) Backend() string { return db.d.name }

// Ping checks that the database can be reached.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("state: %s: %w", db.d.name, err)
	}
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("state: %s: %w", db.d.name, err)
	}
	return nil
}

// exec runs a write and returns the number of rows it changed.
func (db *DB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := db.w.ExecContext(ctx, db.d.q(q), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING, failing with ErrExists
// if it inserted nothing; what names the thing for errors.
func (db *DB) insert(ctx context.Context, what string, q string, args ...any) error {
	n, err := db.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("state: %s: %w", what, ErrExists)
	}
	return nil
}

// update runs an UPDATE or DELETE, failing with ErrNotFound if it changed
// nothing; what names the thing for errors.
func (db *DB) update(ctx context.Context, what string, q string, args ...any) error {
	n, err := db.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("state: %s: %w", what, ErrNotFound)
	}
	return nil
}

// one returns the row a lookup by key found in rows, or ErrNotFound, wrapped
// naming what, if it found none.
func one[T any](rows []T, err error, what string) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if len(rows) == 0 {
		return zero, fmt.Errorf("state: %s: %w", what, ErrNotFound)
	}
	return rows[0], nil
}

// list runs a read and calls scan for each row.
func (db *DB) list(ctx context.Context, what string, scan func(*sql.Rows) error, q string, args ...any) error {
	rows, err := db.r.QueryContext(ctx, db.d.q(q), args...)
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("state: %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return nil
}

// Values: checks and conversions.

var (
	minTime = time.Unix(0, -1<<63)
	maxTime = time.Unix(0, 1<<63-1)
)

// nanos returns t for a time column: Unix nanoseconds, or nil (NULL) for the
// zero time.
func nanos(what string, t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("%s %s is outside the years 1678-2262", what, t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// orNow returns t, or the current time if t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// fromNanos reverses nanos.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// text checks that s can be stored in a text column of either backend, and
// is not empty if required.
func text(what, s string, required bool) error {
	if required && s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s %q is not UTF-8 text without NUL bytes", what, s)
	}
	return nil
}

// firstErr returns the first non-nil error of errs.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// size checks the length of a byte string; max 0 means exactly min.
func size(what string, b []byte, min, max int) error {
	switch {
	case max == 0 && len(b) != min:
		return fmt.Errorf("%s is %d bytes, want %d", what, len(b), min)
	case max > 0 && (len(b) < min || len(b) > max):
		return fmt.Errorf("%s is %d bytes, want %d to %d", what, len(b), min, max)
	}
	return nil
}

// jsonList and jsonMap encode a list or map column; empty ones decode to nil.
func jsonList(what string, l []string) (string, error) {
	for i, s := range l {
		if err := text(fmt.Sprintf("%s[%d]", what, i), s, true); err != nil {
			return "", err
		}
	}
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	return string(b), err
}

func jsonMap(what string, m map[string]string) (string, error) {
	for k, v := range m {
		if err := firstErr(text(what+" key", k, true), text(what+"["+strconv.Quote(k)+"]", v, false)); err != nil {
			return "", err
		}
	}
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func fromJSONList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil || len(l) == 0 {
		return nil, err
	}
	return l, nil
}

func fromJSONMap(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil || len(m) == 0 {
		return nil, err
	}
	return m, nil
}
