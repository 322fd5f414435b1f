package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The build queue. A submitted build is queued with its spec and source;
// ClaimBuild hands the oldest queued build to one worker (on PostgreSQL the
// row is locked with FOR UPDATE SKIP LOCKED, so workers on several
// machines never take the same build and never wait on each other; SQLite
// has a single writer); FinishBuild stores what the worker reported, once,
// and only from the worker that claimed it.

// Build statuses.
const (
	BuildQueued    = "queued"
	BuildRunning   = "running"
	BuildSucceeded = "succeeded"
	BuildFailed    = "failed"
)

// Build is a queued build.
type Build struct {
	ID        string
	Project   string
	Status    string
	Ref, URI  string
	Spec      []byte
	Source    []byte // nil once the build finished, or when not asked for
	Submitter string
	Worker    string
	Created   time.Time
	Started   time.Time
	Finished  time.Time
	Error     string
	Log       []byte
	Bundle    []byte
}

// Output is one output file of a build.
type Output struct {
	Path   string
	SHA256 string
	Size   int64
	Data   []byte // nil when not asked for
}

// AddBuild queues b.
func (db *DB) AddBuild(ctx context.Context, b Build) error {
	what := fmt.Sprintf("build %q", b.ID)
	created, err := nanos("created", orNow(b.Created))
	if err = firstErr(text("id", b.ID, true), text("project", b.Project, true), text("ref", b.Ref, false), text("uri", b.URI, false),
		text("submitter", b.Submitter, true), err); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.insert(ctx, what, `INSERT INTO builds (id, project, status, ref, uri, spec, source, submitter, worker, created, started, finished, error, log, bundle)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, NULL, NULL, '', NULL, NULL) ON CONFLICT DO NOTHING`,
		b.ID, b.Project, BuildQueued, b.Ref, b.URI, b.Spec, b.Source, b.Submitter, created)
}

// ClaimBuild marks the oldest queued build running for worker and returns
// it with its spec and source, or ErrNotFound when none is queued.
func (db *DB) ClaimBuild(ctx context.Context, worker string, at time.Time) (Build, error) {
	t, err := nanos("started", orNow(at))
	if err = firstErr(text("worker", worker, true), err); err != nil {
		return Build{}, fmt.Errorf("state: claiming a build: %w", err)
	}
	lock := ""
	if db.d.forUpdate != "" {
		lock = db.d.forUpdate + " SKIP LOCKED"
	}
	var id string
	err = db.tx(ctx, "claiming a build", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, db.d.q(`SELECT id FROM builds WHERE status = ? ORDER BY created, id LIMIT 1`+lock), BuildQueued).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.d.q(`UPDATE builds SET status = ?, worker = ?, started = ? WHERE id = ?`), BuildRunning, worker, t, id)
		return err
	})
	if err != nil {
		return Build{}, err
	}
	return db.Build(ctx, id, true)
}

// FinishBuild records the outcome of the running build id, as reported by
// the worker that claimed it, with its outputs, and drops its source.
func (db *DB) FinishBuild(ctx context.Context, id, worker string, b Build, outputs []Output) error {
	what := fmt.Sprintf("build %q", id)
	t, err := nanos("finished", orNow(b.Finished))
	if err = firstErr(text("error", b.Error, false), err); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	if b.Status != BuildSucceeded && b.Status != BuildFailed {
		return fmt.Errorf("state: %s: status %q: want %s or %s", what, b.Status, BuildSucceeded, BuildFailed)
	}
	return db.tx(ctx, what, func(tx *sql.Tx) error {
		if err := db.lockRunning(ctx, tx, id, worker); err != nil {
			return err
		}
		for _, o := range outputs {
			if err := firstErr(text("output path", o.Path, true), text("output digest", o.SHA256, true)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO build_outputs (build_id, path, sha256, size, data) VALUES (?, ?, ?, ?, ?)`),
				id, o.Path, o.SHA256, o.Size, o.Data); err != nil {
				return fmt.Errorf("output %s: %w", o.Path, err)
			}
		}
		_, err := tx.ExecContext(ctx, db.d.q(`UPDATE builds SET status = ?, finished = ?, error = ?, log = ?, bundle = ?, source = NULL WHERE id = ?`),
			b.Status, t, b.Error, b.Log, b.Bundle, id)
		return err
	})
}

// Build returns the build id, with its source when withSource is set, or
// ErrNotFound.
func (db *DB) Build(ctx context.Context, id string, withSource bool) (Build, error) {
	src := "NULL"
	if withSource {
		src = "source"
	}
	what := fmt.Sprintf("build %q", id)
	var out []Build
	err := db.list(ctx, what, func(rows *sql.Rows) error {
		var b Build
		var created, started, finished sql.NullInt64
		if err := rows.Scan(&b.ID, &b.Project, &b.Status, &b.Ref, &b.URI, &b.Spec, &b.Source, &b.Submitter, &b.Worker,
			&created, &started, &finished, &b.Error, &b.Log, &b.Bundle); err != nil {
			return err
		}
		b.Created, b.Started, b.Finished = fromNanos(created), fromNanos(started), fromNanos(finished)
		out = append(out, b)
		return nil
	}, `SELECT id, project, status, ref, uri, spec, `+src+`, submitter, worker, created, started, finished, error, log, bundle FROM builds WHERE id = ?`, id)
	return one(out, err, what)
}

// Outputs returns the outputs of build id, by path; with their data only
// for path when path is not "".
func (db *DB) Outputs(ctx context.Context, id, path string) ([]Output, error) {
	q, args := `SELECT path, sha256, size, NULL FROM build_outputs WHERE build_id = ? ORDER BY path`, []any{id}
	if path != "" {
		q, args = `SELECT path, sha256, size, data FROM build_outputs WHERE build_id = ? AND path = ?`, []any{id, path}
	}
	var out []Output
	err := db.list(ctx, fmt.Sprintf("outputs of build %q", id), func(rows *sql.Rows) error {
		var o Output
		if err := rows.Scan(&o.Path, &o.SHA256, &o.Size, &o.Data); err != nil {
			return err
		}
		out = append(out, o)
		return nil
	}, q, args...)
	return out, err
}

// ToolchainLock is the toolchain lock a project's spec last built with.
type ToolchainLock struct {
	Project, Spec string
	Digest        string // sha256:HEX of Locks
	Locks         string // JSON: the spec's toolchains
	Build         string // the build that recorded it
	Updated       time.Time
}

// ToolchainLockOf returns the lock recorded for project's spec, or
// ErrNotFound.
func (db *DB) ToolchainLockOf(ctx context.Context, project, spec string) (ToolchainLock, error) {
	var out []ToolchainLock
	err := db.list(ctx, "toolchain lock", func(rows *sql.Rows) error {
		var l ToolchainLock
		var at sql.NullInt64
		if err := rows.Scan(&l.Project, &l.Spec, &l.Digest, &l.Locks, &l.Build, &at); err != nil {
			return err
		}
		l.Updated = fromNanos(at)
		out = append(out, l)
		return nil
	}, `SELECT project, spec, digest, locks, build, updated FROM toolchain_locks WHERE project = ? AND spec = ?`, project, spec)
	return one(out, err, fmt.Sprintf("toolchain lock of %s/%s", project, spec))
}

// SetToolchainLock records l as the lock of its project's spec.
func (db *DB) SetToolchainLock(ctx context.Context, l ToolchainLock) error {
	at, err := nanos("updated", orNow(l.Updated))
	if err = firstErr(text("project", l.Project, true), text("spec", l.Spec, true), text("digest", l.Digest, true),
		text("locks", l.Locks, true), text("build", l.Build, true), err); err != nil {
		return fmt.Errorf("state: toolchain lock: %w", err)
	}
	// One statement: two first locks of a spec recorded at once cannot
	// collide on the key, as an UPDATE and then an INSERT could.
	if _, err := db.exec(ctx, `INSERT INTO toolchain_locks (project, spec, digest, locks, build, updated) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (project, spec) DO UPDATE SET digest = excluded.digest, locks = excluded.locks, build = excluded.build, updated = excluded.updated`,
		l.Project, l.Spec, l.Digest, l.Locks, l.Build, at); err != nil {
		return fmt.Errorf("state: toolchain lock: %w", err)
	}
	return nil
}

// AppendBuildLog adds a chunk to the log of the running build id, from the
// worker that claimed it, keeping at most max bytes in all.
func (db *DB) AppendBuildLog(ctx context.Context, id, worker string, chunk []byte, max int) error {
	what := fmt.Sprintf("log of build %q", id)
	return db.tx(ctx, what, func(tx *sql.Tx) error {
		if err := db.lockRunning(ctx, tx, id, worker); err != nil {
			return err
		}
		var n, size sql.NullInt64
		if err := tx.QueryRowContext(ctx, db.d.q(`SELECT MAX(seq), SUM(LENGTH(data)) FROM build_logs WHERE build_id = ?`), id).Scan(&n, &size); err != nil {
			return err
		}
		if room := int64(max) - size.Int64; room <= 0 {
			return nil
		} else if int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO build_logs (build_id, seq, data) VALUES (?, ?, ?)`), id, n.Int64+1, chunk)
		return err
	})
}

// BuildLog returns the chunks of build id's log so far, joined.
func (db *DB) BuildLog(ctx context.Context, id string) ([]byte, error) {
	var out []byte
	err := db.list(ctx, fmt.Sprintf("log of build %q", id), func(rows *sql.Rows) error {
		var chunk []byte
		if err := rows.Scan(&chunk); err != nil {
			return err
		}
		out = append(out, chunk...)
		return nil
	}, `SELECT data FROM build_logs WHERE build_id = ? ORDER BY seq`, id)
	return out, err
}

// lockRunning locks the row of build id and checks that it is running on
// worker: ErrNotFound, or ErrDecided naming its status and worker.
func (db *DB) lockRunning(ctx context.Context, tx *sql.Tx, id, worker string) error {
	var status, owner string
	err := tx.QueryRowContext(ctx, db.d.q(`SELECT status, worker FROM builds WHERE id = ?`+db.d.forUpdate), id).Scan(&status, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if status != BuildRunning || owner != worker {
		return fmt.Errorf("%w: it is %s (worker %q)", ErrDecided, status, owner)
	}
	return nil
}
