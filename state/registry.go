package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Project is a unit of policy: its artifacts are built and signed under one
// profile.
type Project struct {
	Name    string
	Profile string
	Created time.Time // the current time if zero when created
}

// CreateProject adds p, or fails with ErrExists if its name is taken.
func (db *DB) CreateProject(ctx context.Context, p Project) error {
	what := fmt.Sprintf("project %q", p.Name)
	created, err := nanos("created", orNow(p.Created))
	if err = firstErr(text("name", p.Name, true), text("profile", p.Profile, false), err); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.insert(ctx, what, `INSERT INTO projects (name, profile, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		p.Name, p.Profile, created)
}

// Project returns the project name, or ErrNotFound.
func (db *DB) Project(ctx context.Context, name string) (Project, error) {
	what := fmt.Sprintf("project %q", name)
	ps, err := db.projects(ctx, what, ` WHERE name = ?`, name)
	return one(ps, err, what)
}

// Projects returns all projects, by name.
func (db *DB) Projects(ctx context.Context) ([]Project, error) {
	return db.projects(ctx, "projects", ` ORDER BY name`)
}

func (db *DB) projects(ctx context.Context, what, where string, args ...any) ([]Project, error) {
	var out []Project
	err := db.list(ctx, what, func(rows *sql.Rows) error {
		var p Project
		var created sql.NullInt64
		if err := rows.Scan(&p.Name, &p.Profile, &created); err != nil {
			return err
		}
		p.Created = fromNanos(created)
		out = append(out, p)
		return nil
	}, `SELECT name, profile, created FROM projects`+where, args...)
	return out, err
}

// Token is an API token. The secret itself is never stored, only its hash.
type Token struct {
	ID        string
	Hash      []byte // SHA-256 of the secret
	Subject   string
	Role      string
	Project   string // "" = all projects
	Scopes    []string
	Created   time.Time // the current time if zero when created
	Expires   time.Time // zero = never
	Revoked   time.Time // zero = not revoked
	CreatedBy string
}

// CreateToken adds t, or fails with ErrExists if its ID is taken.
func (db *DB) CreateToken(ctx context.Context, t Token) error {
	what := fmt.Sprintf("token %q", t.ID)
	scopes, serr := jsonList("scopes", t.Scopes)
	created, cerr := nanos("created", orNow(t.Created))
	expires, eerr := nanos("expires", t.Expires)
	revoked, rerr := nanos("revoked", t.Revoked)
	if err := firstErr(text("id", t.ID, true), size("hash", t.Hash, 32, 0), text("subject", t.Subject, false),
		text("role", t.Role, true), text("project", t.Project, false), text("created by", t.CreatedBy, false),
		serr, cerr, eerr, rerr); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.insert(ctx, what, `INSERT INTO tokens (id, hash, subject, role, project, scopes, created, expires, revoked, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		t.ID, t.Hash, t.Subject, t.Role, t.Project, scopes, created, expires, revoked, t.CreatedBy)
}

// Token returns the token id, or ErrNotFound.
func (db *DB) Token(ctx context.Context, id string) (Token, error) {
	what := fmt.Sprintf("token %q", id)
	ts, err := db.tokens(ctx, what, ` WHERE id = ?`, id)
	return one(ts, err, what)
}

// Tokens returns all tokens, revoked and expired ones too, by creation time.
func (db *DB) Tokens(ctx context.Context) ([]Token, error) {
	return db.tokens(ctx, "tokens", ` ORDER BY created, id`)
}

func (db *DB) tokens(ctx context.Context, what, where string, args ...any) ([]Token, error) {
	var out []Token
	err := db.list(ctx, what, func(rows *sql.Rows) error {
		var t Token
		var scopes string
		var created, expires, revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Hash, &t.Subject, &t.Role, &t.Project, &scopes, &created, &expires, &revoked, &t.CreatedBy); err != nil {
			return err
		}
		var err error
		if t.Scopes, err = fromJSONList(scopes); err != nil {
			return fmt.Errorf("token %q: scopes: %w", t.ID, err)
		}
		t.Created, t.Expires, t.Revoked = fromNanos(created), fromNanos(expires), fromNanos(revoked)
		out = append(out, t)
		return nil
	}, `SELECT id, hash, subject, role, project, scopes, created, expires, revoked, created_by FROM tokens`+where, args...)
	return out, err
}

// RevokeToken marks the token id revoked at at, or fails with ErrNotFound.
// Revoking a revoked token keeps the first time.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time) error {
	what := fmt.Sprintf("revoke token %q", id)
	t, err := nanos("time", orNow(at))
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.update(ctx, what, `UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?`, t, id)
}

// SetTokenRole changes the role and project of the token id, or fails with
// ErrNotFound.
func (db *DB) SetTokenRole(ctx context.Context, id, role, project string) error {
	what := fmt.Sprintf("token %q role", id)
	if err := firstErr(text("role", role, true), text("project", project, false)); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.update(ctx, what, `UPDATE tokens SET role = ?, project = ? WHERE id = ?`, role, project, id)
}

// OIDCBinding grants a role to OIDC identity tokens from Issuer for Audience
// whose claims include all of Claims.
type OIDCBinding struct {
	ID       int64 // assigned by AddOIDCBinding
	Issuer   string
	Audience string
	Claims   map[string]string
	Project  string // "" = all projects
	Role     string
	Created  time.Time // the current time if zero when added
}

// AddOIDCBinding adds b and returns its new ID; b.ID is ignored.
func (db *DB) AddOIDCBinding(ctx context.Context, b OIDCBinding) (int64, error) {
	claims, jerr := jsonMap("claims", b.Claims)
	created, cerr := nanos("created", orNow(b.Created))
	if err := firstErr(text("issuer", b.Issuer, true), text("audience", b.Audience, true),
		text("project", b.Project, false), text("role", b.Role, true), jerr, cerr); err != nil {
		return 0, fmt.Errorf("state: oidc binding for %q: %w", b.Issuer, err)
	}
	var id int64
	err := db.w.QueryRowContext(ctx, db.d.q(`INSERT INTO oidc_bindings (issuer, audience, claims, project, role, created)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), b.Issuer, b.Audience, claims, b.Project, b.Role, created).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("state: oidc binding for %q: %w", b.Issuer, err)
	}
	return id, nil
}

// OIDCBindings returns all bindings, by ID.
func (db *DB) OIDCBindings(ctx context.Context) ([]OIDCBinding, error) {
	var out []OIDCBinding
	err := db.list(ctx, "oidc bindings", func(rows *sql.Rows) error {
		var b OIDCBinding
		var claims string
		var created sql.NullInt64
		if err := rows.Scan(&b.ID, &b.Issuer, &b.Audience, &claims, &b.Project, &b.Role, &created); err != nil {
			return err
		}
		var err error
		if b.Claims, err = fromJSONMap(claims); err != nil {
			return fmt.Errorf("binding %d: claims: %w", b.ID, err)
		}
		b.Created = fromNanos(created)
		out = append(out, b)
		return nil
	}, `SELECT id, issuer, audience, claims, project, role, created FROM oidc_bindings ORDER BY id`)
	return out, err
}

// RemoveOIDCBinding removes the binding id, or fails with ErrNotFound.
func (db *DB) RemoveOIDCBinding(ctx context.Context, id int64) error {
	return db.update(ctx, fmt.Sprintf("oidc binding %d", id), `DELETE FROM oidc_bindings WHERE id = ?`, id)
}

// Key purposes.
const (
	PurposeSigning = "signing"
	PurposeCA      = "ca"
)

// Key is one version of a named key in the registry. The private key is
// held by Backend under Ref; only the public half is here.
type Key struct {
	Name      string
	Version   int    // 1, 2, ... per Name
	Purpose   string // PurposeSigning or PurposeCA
	Backend   string
	Ref       string
	Algorithm string
	Public    []byte    // PKIX DER
	Cert      []byte    // DER, CA keys only
	Projects  []string  // empty = any project
	NotBefore time.Time // zero = from the start
	NotAfter  time.Time // zero = open-ended
	Retired   time.Time // zero = not retired
	Created   time.Time // the current time if zero when added
}

// AddKey adds k, or fails with ErrExists if its name and version are taken.
func (db *DB) AddKey(ctx context.Context, k Key) error {
	what := fmt.Sprintf("key %q version %d", k.Name, k.Version)
	var perr, verr error
	if k.Purpose != PurposeSigning && k.Purpose != PurposeCA {
		perr = fmt.Errorf("purpose %q is not %q or %q", k.Purpose, PurposeSigning, PurposeCA)
	}
	if k.Version < 1 {
		verr = errors.New("version is not positive")
	}
	projects, jerr := jsonList("projects", k.Projects)
	notBefore, err1 := nanos("not before", k.NotBefore)
	notAfter, err2 := nanos("not after", k.NotAfter)
	retired, err3 := nanos("retired", k.Retired)
	created, err4 := nanos("created", orNow(k.Created))
	var cert any
	if len(k.Cert) > 0 {
		cert = k.Cert
	}
	if err := firstErr(text("name", k.Name, true), verr, perr, text("backend", k.Backend, true),
		text("ref", k.Ref, false), text("algorithm", k.Algorithm, true), size("public key", k.Public, 1, 1<<16),
		size("certificate", k.Cert, 0, 1<<16), jerr, err1, err2, err3, err4); err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.insert(ctx, what, `INSERT INTO keys (name, version, purpose, backend, ref, algorithm, public, cert, projects,
		not_before, not_after, retired, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		k.Name, k.Version, k.Purpose, k.Backend, k.Ref, k.Algorithm, k.Public, cert, projects,
		notBefore, notAfter, retired, created)
}

// Keys returns every version of every key, by name and version.
func (db *DB) Keys(ctx context.Context) ([]Key, error) {
	return db.keys(ctx, "keys", ` ORDER BY name, version`)
}

// KeyVersions returns the versions of the key name in order, or ErrNotFound.
func (db *DB) KeyVersions(ctx context.Context, name string) ([]Key, error) {
	what := fmt.Sprintf("key %q", name)
	ks, err := db.keys(ctx, what, ` WHERE name = ? ORDER BY version`, name)
	if err == nil && len(ks) == 0 {
		err = fmt.Errorf("state: %s: %w", what, ErrNotFound)
	}
	return ks, err
}

func (db *DB) keys(ctx context.Context, what, where string, args ...any) ([]Key, error) {
	var out []Key
	err := db.list(ctx, what, func(rows *sql.Rows) error {
		var k Key
		var projects string
		var notBefore, notAfter, retired, created sql.NullInt64
		if err := rows.Scan(&k.Name, &k.Version, &k.Purpose, &k.Backend, &k.Ref, &k.Algorithm, &k.Public, &k.Cert,
			&projects, &notBefore, &notAfter, &retired, &created); err != nil {
			return err
		}
		var err error
		if k.Projects, err = fromJSONList(projects); err != nil {
			return fmt.Errorf("key %q version %d: projects: %w", k.Name, k.Version, err)
		}
		k.NotBefore, k.NotAfter, k.Retired, k.Created = fromNanos(notBefore), fromNanos(notAfter), fromNanos(retired), fromNanos(created)
		out = append(out, k)
		return nil
	}, `SELECT name, version, purpose, backend, ref, algorithm, public, cert, projects,
		not_before, not_after, retired, created FROM keys`+where, args...)
	return out, err
}

// SetKeyProjects restricts a key version to projects (none = any project),
// or fails with ErrNotFound.
func (db *DB) SetKeyProjects(ctx context.Context, name string, version int, projects []string) error {
	what := fmt.Sprintf("key %q version %d projects", name, version)
	list, err := jsonList("projects", projects)
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.update(ctx, what, `UPDATE keys SET projects = ? WHERE name = ? AND version = ?`, list, name, version)
}

// SetKeyNotAfter sets the end of a key version's validity (zero = open-ended),
// or fails with ErrNotFound.
func (db *DB) SetKeyNotAfter(ctx context.Context, name string, version int, t time.Time) error {
	what := fmt.Sprintf("key %q version %d not after", name, version)
	n, err := nanos("not after", t)
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.update(ctx, what, `UPDATE keys SET not_after = ? WHERE name = ? AND version = ?`, n, name, version)
}

// RetireKey marks a key version retired at at, or fails with ErrNotFound.
// Retiring a retired key keeps the first time.
func (db *DB) RetireKey(ctx context.Context, name string, version int, at time.Time) error {
	what := fmt.Sprintf("retire key %q version %d", name, version)
	n, err := nanos("time", orNow(at))
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	return db.update(ctx, what, `UPDATE keys SET retired = COALESCE(retired, ?) WHERE name = ? AND version = ?`, n, name, version)
}
