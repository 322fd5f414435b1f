package state

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/limit"
)

const (
	maxBatch      = 256 // Writes per group-commit transaction
	gatherWindow  = time.Millisecond
	batchTimeout  = time.Minute // for one group-commit transaction
	rowsPerInsert = 64          // rows per INSERT statement in a group commit
)

// Record is a signature the platform made. Records are written before the
// signature is logged, so that the log monitor can tell the platform's own
// entries from others; a record whose entry never reached the log is
// harmless.
type Record struct {
	LeafHash       []byte // RFC 6962 leaf hash of the log entry body, 32 bytes
	LogID          []byte // the log's ID, 32 bytes
	KeyFingerprint []byte // SHA-256 of the PKIX DER public key, 32 bytes
	Digest         []byte // the digest signed, 1 to 64 bytes
	KeyName        string
	KeyVersion     int
	Project        string
	Actor          string
	Time           time.Time // the current time if zero when committed
	// Kind is what was signed: RecordDigest (an artifact's digest),
	// RecordDSSE (an attestation; Digest is SHA-256 of its PAE) or
	// RecordDocument (a document the control plane wrote and signed, such as
	// an OpenVEX export). Records written before migration 2 read back with
	// Kind "".
	Kind string
}

// Record kinds.
const (
	RecordDigest   = "digest"
	RecordDSSE     = "dsse"
	RecordDocument = "document"
	// RecordAuthenticode is an Authenticode signature embedded in a PE
	// file: Digest is its image digest. Its LeafHash names no log entry
	// (the signed file's Sigstore bundle is what is logged).
	RecordAuthenticode = "authenticode"
)

func (r *Record) check() error {
	if r.KeyVersion < 0 {
		return errors.New("key version is negative")
	}
	return firstErr(size("leaf hash", r.LeafHash, 32, 0), size("log ID", r.LogID, 32, 0),
		size("key fingerprint", r.KeyFingerprint, 32, 0), size("digest", r.Digest, 1, 64),
		text("key name", r.KeyName, true), text("project", r.Project, false), text("actor", r.Actor, true), text("kind", r.Kind, false))
}

// HasRecord reports whether the platform made the entry with leafHash in
// the log logID.
func (db *DB) HasRecord(ctx context.Context, logID, leafHash []byte) (bool, error) {
	var one int
	err := db.r.QueryRowContext(ctx, db.d.q(`SELECT 1 FROM records WHERE leaf_hash = ? AND log_id = ? LIMIT 1`), leafHash, logID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("state: record %x: %w", leafHash, err)
	}
	return true, nil
}

// Records returns up to limit records of project ("" = all projects),
// newest first.
func (db *DB) Records(ctx context.Context, project string, limit int) ([]Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("state: records: limit %d is not positive", limit)
	}
	where, args := "", []any{}
	if project != "" {
		where, args = ` WHERE project = ?`, append(args, project)
	}
	return db.records(ctx, where+` ORDER BY time DESC, id DESC LIMIT ?`, append(args, limit)...)
}

// RecordsBetween returns the records of the period [from, to], oldest
// first, at most limit of them.
func (db *DB) RecordsBetween(ctx context.Context, from, to time.Time, limit int) ([]Record, error) {
	f, err1 := nanos("from", from)
	t, err2 := nanos("to", to)
	if err := firstErr(err1, err2); err != nil {
		return nil, fmt.Errorf("state: records: %w", err)
	}
	if f == nil || t == nil || limit <= 0 {
		return nil, errors.New("state: records: a period needs both ends and a positive limit")
	}
	return db.records(ctx, ` WHERE time >= ? AND time <= ? ORDER BY time, id LIMIT ?`, f, t, limit)
}

func (db *DB) records(ctx context.Context, where string, args ...any) ([]Record, error) {
	var out []Record
	err := db.list(ctx, "records", func(rows *sql.Rows) error {
		var r Record
		var t sql.NullInt64
		if err := rows.Scan(&r.LeafHash, &r.LogID, &r.KeyFingerprint, &r.Digest, &r.KeyName, &r.KeyVersion, &r.Project, &r.Actor, &t, &r.Kind); err != nil {
			return err
		}
		r.Time = fromNanos(t)
		out = append(out, r)
		return nil
	}, `SELECT leaf_hash, log_id, key_fingerprint, digest, key_name, key_version, project, actor, time, kind FROM records`+where, args...)
	return out, err
}

// Write is what one request commits atomically.
type Write struct {
	// Nonce, if not empty, must never have been used before: otherwise the
	// Write fails with ErrReplay and nothing of it is stored.
	Nonce   string
	Records []Record
	Audit   []audit.Event // appended to the chain in order; zero times are set to now
}

// pending is a Write waiting for, or in, a group commit.
type pending struct {
	nonce   string
	records []Record
	events  [][]byte // canonical JSON

	state atomic.Int32 // queued, then taken by the committer or abandoned by Commit
	seqs  []int64
	err   error
	done  chan struct{} // closed when seqs and err are set
}

const (
	queued = iota
	taken
	abandoned
)

// Commit stores w durably before returning, and returns the sequence
// numbers of its audit entries. See the package comment for how concurrent
// Commits share transactions.
func (db *DB) Commit(ctx context.Context, w Write) ([]int64, error) {
	p, err := prepare(w)
	if err != nil {
		return nil, fmt.Errorf("state: commit: %w", err)
	}
	if p.nonce == "" && len(p.records) == 0 && len(p.events) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("state: commit: %w", err)
	}
	select {
	case db.queue <- p:
	case <-db.closing:
		return nil, errors.New("state: commit: database closed")
	case <-ctx.Done():
		return nil, fmt.Errorf("state: commit: %w", ctx.Err())
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		if p.state.CompareAndSwap(queued, abandoned) {
			return nil, fmt.Errorf("state: commit: %w", ctx.Err())
		}
		<-p.done // in a transaction already: wait for its outcome
	}
	return p.seqs, p.err
}

// prepare checks w and makes it a pending Write, so that nothing but the
// database itself and a replayed nonce can fail it in a transaction.
func prepare(w Write) (*pending, error) {
	if err := text("nonce", w.Nonce, false); err != nil {
		return nil, err
	}
	p := &pending{nonce: w.Nonce, records: make([]Record, len(w.Records)), done: make(chan struct{})}
	now := time.Now()
	for i, r := range w.Records {
		r.Time = orNow(r.Time)
		if _, err := nanos("time", r.Time); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		p.records[i] = r
	}
	for i, e := range w.Audit {
		if e.Time.IsZero() {
			e.Time = now
		}
		js, err := audit.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("audit event %d: %w", i, err)
		}
		p.events = append(p.events, js)
	}
	return p, nil
}

// commitLoop is the single committer. The queue is unbuffered, so the Writes
// waiting are exactly the Commits blocked sending: after the first, it takes
// those, and those that come within gatherWindow, and commits them together.
// Under load the window turns many small transactions (and fsyncs) into few
// large ones; alone, a Commit waits one window longer.
func (db *DB) commitLoop() {
	defer close(db.stopped)
	batch := make([]*pending, 0, maxBatch)
	for {
		select {
		case p := <-db.queue:
			batch = append(batch[:0], p)
		case <-db.closing:
			return
		}
		window := time.NewTimer(gatherWindow)
	gather:
		for len(batch) < maxBatch {
			select {
			case p := <-db.queue:
				batch = append(batch, p)
			case <-window.C:
				break gather
			}
		}
		window.Stop()
		db.commitBatch(batch)
		clear(batch)
	}
}

func (db *DB) commitBatch(batch []*pending) {
	var live []*pending
	for _, p := range batch {
		if p.state.CompareAndSwap(queued, taken) {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	err := db.commitTx(ctx, live)
	for _, p := range live {
		if err != nil {
			p.seqs, p.err = nil, fmt.Errorf("state: commit: %w", err)
		}
		close(p.done)
	}
}

// commitTx stores the Writes of one batch in one transaction, setting the
// seqs or error of each. An error return fails them all. Rows go in with
// multi-row INSERTs, so a batch costs a few round trips, not a few per Write.
func (db *DB) commitTx(ctx context.Context, batch []*pending) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.d == postgresDialect {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
			return err
		}
	}
	// First, so that all Commit transactions serialize here (see package
	// comment).
	var seq0 int64
	var head []byte
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+db.d.forUpdate).Scan(&seq0, &head); err != nil {
		return fmt.Errorf("reading the audit head: %w", err)
	}
	if len(head) != 32 {
		return fmt.Errorf("audit head hash is %d bytes", len(head))
	}

	// The first use of each nonce in the batch is inserted; those the
	// database already held, and later uses, are replays.
	now := time.Now().UnixNano()
	first := map[string]*pending{}
	var nonces [][]any
	for _, p := range batch {
		if p.nonce == "" {
			continue
		}
		if first[p.nonce] != nil {
			p.err = fmt.Errorf("state: commit: nonce %q: %w", p.nonce, ErrReplay)
			continue
		}
		first[p.nonce] = p
		nonces = append(nonces, []any{p.nonce, now})
	}
	inserted := map[string]bool{}
	err = db.insertRows(ctx, tx, "nonces (nonce, seen)", nonces, " ON CONFLICT DO NOTHING RETURNING nonce", func(rows *sql.Rows) error {
		var n string
		err := rows.Scan(&n)
		inserted[n] = true
		return err
	})
	if err != nil {
		return fmt.Errorf("nonces: %w", err)
	}
	for n, p := range first {
		if !inserted[n] {
			p.err = fmt.Errorf("state: commit: nonce %q: %w", n, ErrReplay)
		}
	}

	var records, entries [][]any
	seq := seq0
	for _, p := range batch {
		if p.err != nil {
			continue
		}
		for _, r := range p.records {
			records = append(records, []any{r.LeafHash, r.LogID, r.KeyFingerprint, r.Digest,
				r.KeyName, r.KeyVersion, r.Project, r.Actor, r.Time.UnixNano(), r.Kind})
		}
		for _, js := range p.events {
			seq++
			h := audit.Hash(head, seq, js)
			entries = append(entries, []any{seq, head, h, js})
			p.seqs = append(p.seqs, seq)
			head = h
		}
	}
	if err := db.insertRows(ctx, tx, "records (leaf_hash, log_id, key_fingerprint, digest, key_name, key_version, project, actor, time, kind)", records, "", nil); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	if err := db.insertRows(ctx, tx, "audit (seq, prev, hash, event)", entries, "", nil); err != nil {
		return fmt.Errorf("audit entries: %w", err)
	}
	if seq != seq0 {
		if _, err := tx.ExecContext(ctx, db.d.q(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), seq, head); err != nil {
			return fmt.Errorf("moving the audit head: %w", err)
		}
	}
	return tx.Commit()
}

// insertRows inserts rows into "table (columns)" with INSERTs of up to
// rowsPerInsert rows each, ending with suffix; scan, if not nil, reads
// what they return.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, into string, rows [][]any, suffix string, scan func(*sql.Rows) error) error {
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), rowsPerInsert)]
		rows = rows[len(chunk):]
		var q strings.Builder
		var args []any
		q.WriteString("INSERT INTO " + into + " VALUES ")
		for i, row := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?" + strings.Repeat(", ?", len(row)-1) + ")")
			args = append(args, row...)
		}
		q.WriteString(suffix)
		if scan == nil {
			if _, err := tx.ExecContext(ctx, db.d.q(q.String()), args...); err != nil {
				return err
			}
			continue
		}
		res, err := tx.QueryContext(ctx, db.d.q(q.String()), args...)
		if err != nil {
			return err
		}
		for res.Next() {
			if err := scan(res); err != nil {
				res.Close()
				return err
			}
		}
		if err := errors.Join(res.Err(), res.Close()); err != nil {
			return err
		}
	}
	return nil
}

// AuditHead returns the last audit entry's sequence number and hash, or 0
// and audit.Genesis when the chain is empty.
func (db *DB) AuditHead(ctx context.Context) (seq int64, hash []byte, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	if err != nil {
		return 0, nil, fmt.Errorf("state: audit head: %w", err)
	}
	return seq, hash, nil
}

// AuditEntries returns up to limit audit entries after afterSeq, in order.
// Pass the last Hash and audit.Verify checks them.
func (db *DB) AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]audit.Entry, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("state: audit entries: limit %d is not positive", limit)
	}
	var out []audit.Entry
	err := db.list(ctx, "audit entries", func(rows *sql.Rows) error {
		var e audit.Entry
		if err := rows.Scan(&e.Seq, &e.Prev, &e.Hash, &e.EventJSON); err != nil {
			return err
		}
		if err := json.Unmarshal(e.EventJSON, &e.Event); err != nil {
			return fmt.Errorf("entry %d: %w", e.Seq, err)
		}
		out = append(out, e)
		return nil
	}, `SELECT seq, prev, hash, event FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	return out, err
}

// Anchor records that the audit chain up to Seq, with hash Hash, was logged
// in a transparency log.
type Anchor struct {
	Seq      int64
	Hash     []byte // audit entry Seq's hash
	LogIndex int64
	LeafHash []byte    // of the log entry, 32 bytes
	Bundle   []byte    // the log entry's proof, as the log returned it
	Time     time.Time // the current time if zero when added
}

// AddAnchor adds a. Its Seq and Hash must be an entry of the chain
// (ErrNotFound if there is no entry Seq); ErrExists if Seq is anchored.
func (db *DB) AddAnchor(ctx context.Context, a Anchor) error {
	what := fmt.Sprintf("anchor of audit entry %d", a.Seq)
	t, err := nanos("time", orNow(a.Time))
	var ierr error
	if a.LogIndex < 0 {
		ierr = errors.New("log index is negative")
	}
	if err := firstErr(size("hash", a.Hash, 32, 0), size("leaf hash", a.LeafHash, 32, 0), size("bundle", a.Bundle, 1, limit.Bundle), ierr, err); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	defer tx.Rollback()
	var h []byte
	err = tx.QueryRowContext(ctx, db.d.q(`SELECT hash FROM audit WHERE seq = ?`), a.Seq).Scan(&h)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("state: %s: audit entry: %w", what, ErrNotFound)
	case err != nil:
		return fmt.Errorf("state: %s: %w", what, err)
	case !bytes.Equal(h, a.Hash):
		return fmt.Errorf("state: %s: hash %x is not the entry's hash %x", what, a.Hash, h)
	}
	res, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO anchors (seq, hash, log_index, leaf_hash, bundle, time)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), a.Seq, a.Hash, a.LogIndex, a.LeafHash, a.Bundle, t)
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	} else if n == 0 {
		return fmt.Errorf("state: %s: %w", what, ErrExists)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return nil
}

// Anchors returns all anchors, by sequence number.
func (db *DB) Anchors(ctx context.Context) ([]Anchor, error) {
	var out []Anchor
	err := db.list(ctx, "anchors", func(rows *sql.Rows) error {
		var a Anchor
		var t sql.NullInt64
		if err := rows.Scan(&a.Seq, &a.Hash, &a.LogIndex, &a.LeafHash, &a.Bundle, &t); err != nil {
			return err
		}
		a.Time = fromNanos(t)
		out = append(out, a)
		return nil
	}, `SELECT seq, hash, log_index, leaf_hash, bundle, time FROM anchors ORDER BY seq`)
	return out, err
}

// PruneNonces forgets the nonces first used before before, and returns how
// many it forgot. Requests older than that must be refused by other means.
func (db *DB) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	t, err := nanos("time", before)
	if err == nil && t == nil {
		err = errors.New("time is zero")
	}
	if err != nil {
		return 0, fmt.Errorf("state: prune nonces: %w", err)
	}
	n, err := db.exec(ctx, `DELETE FROM nonces WHERE seen < ?`, t)
	if err != nil {
		return 0, fmt.Errorf("state: prune nonces: %w", err)
	}
	return n, nil
}
