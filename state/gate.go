package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The policy gate's state: policy versions, recorded verdicts, the findings
// tracker, exceptions with their votes, and webhooks. Changes that must hold
// together (a verdict and the tracker's view of its findings; a vote and the
// exception's status) run in one transaction; the caller audits them first,
// with Commit, as for every change.

// Finding statuses.
const (
	FindingOpen         = "open"
	FindingAcknowledged = "acknowledged"
	FindingFixed        = "fixed"
	FindingReopened     = "reopened"
)

// Exception statuses as stored; "expired" is computed by readers.
const (
	ExceptionPending  = "pending"
	ExceptionApproved = "approved"
	ExceptionRejected = "rejected"
	ExceptionRevoked  = "revoked"
)

// Policy is one version of the policy file.
type Policy struct {
	Version int64
	Digest  string
	Body    []byte
	Author  string
	Comment string
	Created time.Time
}

// AddPolicy stores p as the next version and returns its number.
func (db *DB) AddPolicy(ctx context.Context, p Policy) (int64, error) {
	created, err := nanos("created", orNow(p.Created))
	if err = firstErr(text("digest", p.Digest, true), text("author", p.Author, true), text("comment", p.Comment, false), err); err != nil {
		return 0, fmt.Errorf("state: policy: %w", err)
	}
	var version int64
	err = db.tx(ctx, "policy", func(tx *sql.Tx) error {
		var have sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM policies").Scan(&have); err != nil {
			return err
		}
		version = have.Int64 + 1
		_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO policies (version, digest, body, author, comment, created) VALUES (?, ?, ?, ?, ?, ?)`),
			version, p.Digest, p.Body, p.Author, p.Comment, created)
		return err
	})
	return version, err
}

// Policy returns version of the policy, the newest if version is 0, or
// ErrNotFound.
func (db *DB) Policy(ctx context.Context, version int64) (Policy, error) {
	where, args := ` WHERE version = ?`, []any{version}
	if version == 0 {
		where, args = ` ORDER BY version DESC LIMIT 1`, nil
	}
	ps, err := db.policies(ctx, true, where, args...)
	return one(ps, err, fmt.Sprintf("policy version %d", version))
}

// Policies returns every version, newest first, without their bodies.
func (db *DB) Policies(ctx context.Context) ([]Policy, error) {
	return db.policies(ctx, false, ` ORDER BY version DESC`)
}

func (db *DB) policies(ctx context.Context, body bool, where string, args ...any) ([]Policy, error) {
	col := "NULL"
	if body {
		col = "body"
	}
	var out []Policy
	err := db.list(ctx, "policies", func(rows *sql.Rows) error {
		var p Policy
		var created sql.NullInt64
		if err := rows.Scan(&p.Version, &p.Digest, &p.Body, &p.Author, &p.Comment, &created); err != nil {
			return err
		}
		p.Created = fromNanos(created)
		out = append(out, p)
		return nil
	}, `SELECT version, digest, `+col+`, author, comment, created FROM policies`+where, args...)
	return out, err
}

// Verdict is one recorded gate verdict.
type Verdict struct {
	ID            string
	Project       string
	Result        string
	DryRun        bool
	Profile       string
	PolicyVersion int64
	Subjects      string // JSON: the subjects judged
	Counts        string // JSON: the decisions' counts
	Verdict       []byte // JSON: the whole verdict
	Bundle        []byte // the signed summary's bundle; nil when not signed
	Actor         string
	Time          time.Time
}

// Tracked is a finding a verdict hands to the tracker.
type Tracked struct {
	Fingerprint string
	Action      string // fail, warn or excepted
	Rule        string
	Severity    string
	Due         time.Time // the SLA due date if the finding is new or comes back
	Finding     []byte    // JSON
}

// TrackerChange is a finding the tracker saw first, or saw come back.
type TrackerChange struct {
	Fingerprint string
	Status      string // FindingOpen (new) or FindingReopened
}

// AddVerdict records v and, unless it is a dry run, updates the tracker in
// the same transaction: each tracked finding of the project is added (open)
// or seen again (reopened if it was fixed), and the project's findings of
// the same scope (the subjects judged) that this verdict did not see are
// marked fixed. It returns the findings that are new or reopened.
func (db *DB) AddVerdict(ctx context.Context, v Verdict, scope string, tracked []Tracked) ([]TrackerChange, error) {
	what := fmt.Sprintf("verdict %q", v.ID)
	at, err := nanos("time", orNow(v.Time))
	if err = firstErr(text("id", v.ID, true), text("project", v.Project, true), text("result", v.Result, true),
		text("profile", v.Profile, false), text("actor", v.Actor, true), text("scope", scope, false), err); err != nil {
		return nil, fmt.Errorf("state: %s: %w", what, err)
	}
	var changes []TrackerChange
	err = db.tx(ctx, what, func(tx *sql.Tx) error {
		changes = nil
		if _, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO verdicts (id, project, result, dry_run, profile, policy_version, subjects, counts, verdict, bundle, actor, time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			v.ID, v.Project, v.Result, boolInt(v.DryRun), v.Profile, v.PolicyVersion, v.Subjects, v.Counts, v.Verdict, v.Bundle, v.Actor, at); err != nil {
			return err
		}
		if v.DryRun {
			return nil
		}
		// Ten thousand findings are ten thousand rows: each statement is
		// prepared once per verdict, not once per row.
		prepare := func(q string) (*sql.Stmt, error) { return tx.PrepareContext(ctx, db.d.q(q)) }
		sel, err1 := prepare(`SELECT status FROM findings WHERE project = ? AND fingerprint = ?` + db.d.forUpdate)
		ins, err2 := prepare(`INSERT INTO findings (project, fingerprint, status, owner, action, rule, severity, scope,
			first_seen, last_seen, due, fixed, builds, last_build, finding) VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, NULL, 1, ?, ?)`)
		reopen, err3 := prepare(`UPDATE findings SET status = ?, action = ?, rule = ?, severity = ?, scope = ?, last_seen = ?,
			due = ?, fixed = NULL, builds = builds + 1, last_build = ?, finding = ? WHERE project = ? AND fingerprint = ?`)
		seen, err4 := prepare(`UPDATE findings SET action = ?, rule = ?, severity = ?, scope = ?, last_seen = ?,
			builds = builds + 1, last_build = ?, finding = ? WHERE project = ? AND fingerprint = ?`)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return err
		}
		for _, st := range []*sql.Stmt{sel, ins, reopen, seen} {
			if st != nil {
				defer st.Close()
			}
		}
		for _, t := range tracked {
			if err := text("fingerprint", t.Fingerprint, true); err != nil {
				return err
			}
			due, err := nanos("due", t.Due)
			if err != nil {
				return err
			}
			var status string
			err = sel.QueryRowContext(ctx, v.Project, t.Fingerprint).Scan(&status)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				changes = append(changes, TrackerChange{t.Fingerprint, FindingOpen})
				_, err = ins.ExecContext(ctx, v.Project, t.Fingerprint, FindingOpen, t.Action, t.Rule, t.Severity, scope, at, at, due, v.ID, t.Finding)
			case err != nil:
			case status == FindingFixed:
				changes = append(changes, TrackerChange{t.Fingerprint, FindingReopened})
				_, err = reopen.ExecContext(ctx, FindingReopened, t.Action, t.Rule, t.Severity, scope, at, due, v.ID, t.Finding, v.Project, t.Fingerprint)
			default:
				_, err = seen.ExecContext(ctx, t.Action, t.Rule, t.Severity, scope, at, v.ID, t.Finding, v.Project, t.Fingerprint)
			}
			if err != nil {
				return fmt.Errorf("finding %s: %w", t.Fingerprint, err)
			}
		}
		_, err := tx.ExecContext(ctx, db.d.q(`UPDATE findings SET status = ?, fixed = ? WHERE project = ? AND scope = ? AND status <> ? AND last_build <> ?`),
			FindingFixed, at, v.Project, scope, FindingFixed, v.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return changes, nil
}

// Verdicts returns the verdicts of project ("" for all) since the given
// time, newest first, at most limit (0: all).
func (db *DB) Verdicts(ctx context.Context, project string, since time.Time, limit int) ([]Verdict, error) {
	from, err := nanos("since", since)
	if err != nil {
		return nil, fmt.Errorf("state: verdicts: %w", err)
	}
	if from == nil {
		from = int64(-1 << 63)
	}
	q := `SELECT id, project, result, dry_run, profile, policy_version, subjects, counts, verdict, bundle, actor, time FROM verdicts WHERE time >= ?`
	args := []any{from}
	if project != "" {
		q += ` AND project = ?`
		args = append(args, project)
	}
	q += ` ORDER BY time DESC, id DESC`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	var out []Verdict
	err = db.list(ctx, "verdicts", func(rows *sql.Rows) error {
		var v Verdict
		var dry int64
		var at sql.NullInt64
		if err := rows.Scan(&v.ID, &v.Project, &v.Result, &dry, &v.Profile, &v.PolicyVersion, &v.Subjects, &v.Counts, &v.Verdict, &v.Bundle, &v.Actor, &at); err != nil {
			return err
		}
		v.DryRun, v.Time = dry != 0, fromNanos(at)
		out = append(out, v)
		return nil
	}, q, args...)
	return out, err
}

// Finding is a tracked finding.
type Finding struct {
	Project     string
	Fingerprint string
	Status      string
	Owner       string
	Action      string
	Rule        string
	Severity    string
	Scope       string
	FirstSeen   time.Time
	LastSeen    time.Time
	Due         time.Time
	Fixed       time.Time
	Builds      int64
	LastBuild   string
	Finding     []byte // JSON
}

// FindingFilter selects tracked findings; zero fields select all.
type FindingFilter struct {
	Project string
	Status  string
	// Prefix keeps the findings whose fingerprint starts with it (lower-case
	// hex).
	Prefix string
	// DueBefore keeps unfixed findings due before it.
	DueBefore time.Time
	Limit     int
}

// Findings returns the tracked findings f selects, most urgent (earliest
// due) first.
func (db *DB) Findings(ctx context.Context, f FindingFilter) ([]Finding, error) {
	var conds []string
	var args []any
	if f.Project != "" {
		conds, args = append(conds, "project = ?"), append(args, f.Project)
	}
	if f.Status != "" {
		conds, args = append(conds, "status = ?"), append(args, f.Status)
	}
	if f.Prefix != "" {
		for _, c := range f.Prefix {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return nil, fmt.Errorf("state: findings: fingerprint prefix %q is not lower-case hex", f.Prefix)
			}
		}
		conds, args = append(conds, "fingerprint LIKE ?"), append(args, f.Prefix+"%")
	}
	if !f.DueBefore.IsZero() {
		before, err := nanos("due", f.DueBefore)
		if err != nil {
			return nil, fmt.Errorf("state: findings: %w", err)
		}
		conds, args = append(conds, "due < ? AND status <> ?"), append(args, before, FindingFixed)
	}
	q := `SELECT project, fingerprint, status, owner, action, rule, severity, scope, first_seen, last_seen, due, fixed, builds, last_build, finding FROM findings`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY due, project, fingerprint"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []Finding
	err := db.list(ctx, "findings", func(rows *sql.Rows) error {
		var t Finding
		var first, last, due, fixed sql.NullInt64
		if err := rows.Scan(&t.Project, &t.Fingerprint, &t.Status, &t.Owner, &t.Action, &t.Rule, &t.Severity, &t.Scope,
			&first, &last, &due, &fixed, &t.Builds, &t.LastBuild, &t.Finding); err != nil {
			return err
		}
		t.FirstSeen, t.LastSeen, t.Due, t.Fixed = fromNanos(first), fromNanos(last), fromNanos(due), fromNanos(fixed)
		out = append(out, t)
		return nil
	}, q, args...)
	return out, err
}

// SetFindingOwner assigns a tracked finding.
func (db *DB) SetFindingOwner(ctx context.Context, project, fingerprint, owner string) error {
	if err := text("owner", owner, false); err != nil {
		return fmt.Errorf("state: finding %s: %w", fingerprint, err)
	}
	return db.update(ctx, "finding "+fingerprint, `UPDATE findings SET owner = ? WHERE project = ? AND fingerprint = ?`, owner, project, fingerprint)
}

// AcknowledgeFinding marks an open or reopened finding acknowledged.
func (db *DB) AcknowledgeFinding(ctx context.Context, project, fingerprint string) error {
	return db.update(ctx, "finding "+fingerprint, `UPDATE findings SET status = ? WHERE project = ? AND fingerprint = ? AND status IN (?, ?)`,
		FindingAcknowledged, project, fingerprint, FindingOpen, FindingReopened)
}

// Exception is a stored exception request.
type Exception struct {
	ID            string
	Project       string
	Profile       string
	Vulnerability string
	Package       string
	Fingerprint   string
	Reason        string
	Justification string
	Impact        string
	Requester     string
	Required      int
	Status        string
	Created       time.Time
	Expires       time.Time
	Decided       time.Time
	RevokedBy     string
	Votes         []Vote
}

// Vote is one approver's decision on an exception.
type Vote struct {
	Approver string
	Decision string // "approve" or "reject"
	Comment  string
	Time     time.Time
}

// AddException stores a new, pending exception.
func (db *DB) AddException(ctx context.Context, e Exception) error {
	what := fmt.Sprintf("exception %q", e.ID)
	created, err1 := nanos("created", orNow(e.Created))
	expires, err2 := nanos("expires", e.Expires)
	if err := firstErr(text("id", e.ID, true), text("project", e.Project, true), text("profile", e.Profile, true),
		text("vulnerability", e.Vulnerability, false), text("package", e.Package, false), text("fingerprint", e.Fingerprint, false),
		text("reason", e.Reason, true), text("justification", e.Justification, false), text("impact", e.Impact, false),
		text("requester", e.Requester, true), err1, err2); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	if expires == nil {
		return fmt.Errorf("state: %s: no expiry", what)
	}
	return db.insert(ctx, what, `INSERT INTO exceptions (id, project, profile, vulnerability, package, fingerprint, reason, justification, impact,
		requester, required, status, created, expires, decided, revoked_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '') ON CONFLICT DO NOTHING`,
		e.ID, e.Project, e.Profile, e.Vulnerability, e.Package, e.Fingerprint, e.Reason, e.Justification, e.Impact,
		e.Requester, e.Required, ExceptionPending, created, expires)
}

// Exception returns the exception id with its votes, or ErrNotFound.
func (db *DB) Exception(ctx context.Context, id string) (Exception, error) {
	es, err := db.exceptions(ctx, ` WHERE e.id = ?`, id)
	return one(es, err, fmt.Sprintf("exception %q", id))
}

// Exceptions returns the exceptions of project ("" for all), oldest first,
// with their votes.
func (db *DB) Exceptions(ctx context.Context, project string) ([]Exception, error) {
	if project == "" {
		return db.exceptions(ctx, "")
	}
	return db.exceptions(ctx, ` WHERE e.project = ?`, project)
}

func (db *DB) exceptions(ctx context.Context, where string, args ...any) ([]Exception, error) {
	var out []Exception
	index := map[string]int{}
	err := db.list(ctx, "exceptions", func(rows *sql.Rows) error {
		var e Exception
		var created, expires, decided sql.NullInt64
		if err := rows.Scan(&e.ID, &e.Project, &e.Profile, &e.Vulnerability, &e.Package, &e.Fingerprint, &e.Reason, &e.Justification,
			&e.Impact, &e.Requester, &e.Required, &e.Status, &created, &expires, &decided, &e.RevokedBy); err != nil {
			return err
		}
		e.Created, e.Expires, e.Decided = fromNanos(created), fromNanos(expires), fromNanos(decided)
		index[e.ID] = len(out)
		out = append(out, e)
		return nil
	}, `SELECT e.id, e.project, e.profile, e.vulnerability, e.package, e.fingerprint, e.reason, e.justification, e.impact,
		e.requester, e.required, e.status, e.created, e.expires, e.decided, e.revoked_by FROM exceptions e`+where+` ORDER BY e.created, e.id`, args...)
	if err != nil || len(out) == 0 {
		return out, err
	}
	err = db.list(ctx, "exception votes", func(rows *sql.Rows) error {
		var id string
		var v Vote
		var at sql.NullInt64
		if err := rows.Scan(&id, &v.Approver, &v.Decision, &v.Comment, &at); err != nil {
			return err
		}
		v.Time = fromNanos(at)
		if i, ok := index[id]; ok {
			out[i].Votes = append(out[i].Votes, v)
		}
		return nil
	}, `SELECT v.exception_id, v.approver, v.decision, v.comment, v.time FROM exception_votes v JOIN exceptions e ON e.id = v.exception_id`+where+` ORDER BY v.time, v.approver`, args...)
	return out, err
}

// ErrDecided is returned, wrapped, for a vote on or a revocation of an
// exception that is no longer pending or approved.
var ErrDecided = errors.New("already decided")

// VoteException records v on the pending exception id and, in the same
// transaction, decides it: rejected on a rejection, approved once its
// distinct approvals reach its required count. Each approver votes once
// (ErrExists); a decided exception takes no votes (ErrDecided).
func (db *DB) VoteException(ctx context.Context, id string, v Vote) (Exception, error) {
	what := fmt.Sprintf("exception %q", id)
	at, err := nanos("time", orNow(v.Time))
	if err = firstErr(text("approver", v.Approver, true), text("decision", v.Decision, true), text("comment", v.Comment, false), err); err != nil {
		return Exception{}, fmt.Errorf("state: %s: %w", what, err)
	}
	if v.Decision != "approve" && v.Decision != "reject" {
		return Exception{}, fmt.Errorf("state: %s: decision %q: want approve or reject", what, v.Decision)
	}
	err = db.tx(ctx, what, func(tx *sql.Tx) error {
		var status string
		var required int
		err := tx.QueryRowContext(ctx, db.d.q(`SELECT status, required FROM exceptions WHERE id = ?`+db.d.forUpdate), id).Scan(&status, &required)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if status != ExceptionPending {
			return fmt.Errorf("%w: it is %s", ErrDecided, status)
		}
		var n int
		if err := tx.QueryRowContext(ctx, db.d.q(`SELECT COUNT(*) FROM exception_votes WHERE exception_id = ? AND approver = ?`), id, v.Approver).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%s has voted on it: %w", v.Approver, ErrExists)
		}
		if _, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO exception_votes (exception_id, approver, decision, comment, time) VALUES (?, ?, ?, ?, ?)`),
			id, v.Approver, v.Decision, v.Comment, at); err != nil {
			return err
		}
		next := ""
		if v.Decision == "reject" {
			next = ExceptionRejected
		} else {
			var approvals int
			if err := tx.QueryRowContext(ctx, db.d.q(`SELECT COUNT(*) FROM exception_votes WHERE exception_id = ? AND decision = 'approve'`), id).Scan(&approvals); err != nil {
				return err
			}
			if approvals >= required {
				next = ExceptionApproved
			}
		}
		if next != "" {
			_, err = tx.ExecContext(ctx, db.d.q(`UPDATE exceptions SET status = ?, decided = ? WHERE id = ?`), next, at, id)
		}
		return err
	})
	if err != nil {
		return Exception{}, err
	}
	return db.Exception(ctx, id)
}

// RevokeException revokes a pending or approved exception.
func (db *DB) RevokeException(ctx context.Context, id, by string, at time.Time) error {
	what := fmt.Sprintf("exception %q", id)
	t, err := nanos("time", orNow(at))
	if err = firstErr(text("revoked by", by, true), err); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	n, err := db.exec(ctx, `UPDATE exceptions SET status = ?, decided = ?, revoked_by = ? WHERE id = ? AND status IN (?, ?)`,
		ExceptionRevoked, t, by, id, ExceptionPending, ExceptionApproved)
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	if n == 0 {
		if _, err := db.Exception(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("state: %s: %w", what, ErrDecided)
	}
	return nil
}

// Webhook is a stored notification target.
type Webhook struct {
	Name      string
	Target    []byte // JSON
	Created   time.Time
	CreatedBy string
}

// AddWebhook stores w, or fails with ErrExists.
func (db *DB) AddWebhook(ctx context.Context, w Webhook) error {
	what := fmt.Sprintf("webhook %q", w.Name)
	created, err := nanos("created", orNow(w.Created))
	if err = firstErr(text("name", w.Name, true), text("created by", w.CreatedBy, true), err); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.insert(ctx, what, `INSERT INTO webhooks (name, target, created, created_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		w.Name, w.Target, created, w.CreatedBy)
}

// Webhooks returns every webhook, by name.
func (db *DB) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	err := db.list(ctx, "webhooks", func(rows *sql.Rows) error {
		var w Webhook
		var created sql.NullInt64
		if err := rows.Scan(&w.Name, &w.Target, &created, &w.CreatedBy); err != nil {
			return err
		}
		w.Created = fromNanos(created)
		out = append(out, w)
		return nil
	}, `SELECT name, target, created, created_by FROM webhooks ORDER BY name`)
	return out, err
}

// RemoveWebhook deletes the webhook name, or fails with ErrNotFound.
func (db *DB) RemoveWebhook(ctx context.Context, name string) error {
	return db.update(ctx, fmt.Sprintf("webhook %q", name), `DELETE FROM webhooks WHERE name = ?`, name)
}

// tx runs f in a write transaction; what names it for errors.
func (db *DB) tx(ctx context.Context, what string, f func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("state: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
