package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/state"
)

// maxClaims bounds the claims an OIDC binding requires.
const maxClaims = 32

// Token lifetimes.
const (
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 366 * 24 * time.Hour
)

// Risk profiles a project may have.
var profiles = []string{"critical", "high", "medium", "low"}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// checkName checks a project or key name.
func checkName(what, name string) error {
	if !nameRE.MatchString(name) {
		return api.Errorf(http.StatusBadRequest, "%s name %q: want 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit", what, name)
	}
	return nil
}

func (p *Plane) whoami(ctx context.Context, who auth.Principal, _ *api.Empty) (*api.Principal, error) {
	return principal(who), nil
}

func principal(who auth.Principal) *api.Principal {
	out := &api.Principal{Subject: who.Subject, Role: string(who.Role), Project: who.Project, Via: who.Via}
	for _, s := range who.Scopes {
		out.Scopes = append(out.Scopes, string(s))
	}
	return out
}

func (p *Plane) createProject(ctx context.Context, who auth.Principal, req *api.Project) (*api.Project, error) {
	if err := authorize(who, auth.ManageProjects, ""); err != nil {
		return nil, err
	}
	if err := checkName("project", req.Name); err != nil {
		return nil, err
	}
	if req.Profile == "" {
		req.Profile = "medium"
	}
	if !slices.Contains(profiles, req.Profile) {
		return nil, api.Errorf(http.StatusBadRequest, "profile %q: want one of %s", req.Profile, strings.Join(profiles, ", "))
	}
	if _, err := p.db.Project(ctx, req.Name); err == nil {
		return nil, api.Errorf(http.StatusConflict, "project %q exists", req.Name)
	}
	pr := state.Project{Name: req.Name, Profile: req.Profile, Created: p.now()}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "project.create", req.Name, req.Name, map[string]string{"profile": req.Profile}),
	}}); err != nil {
		return nil, err
	}
	if err := p.db.CreateProject(ctx, pr); errors.Is(err, state.ErrExists) {
		return nil, api.Errorf(http.StatusConflict, "project %q exists", req.Name)
	} else if err != nil {
		return nil, err
	}
	return &api.Project{Name: pr.Name, Profile: pr.Profile, Created: pr.Created}, nil
}

func (p *Plane) listProjects(ctx context.Context, who auth.Principal, _ *api.Empty) (*api.Projects, error) {
	all, err := p.db.Projects(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.Projects{Projects: []api.Project{}}
	for _, pr := range all {
		// Each caller sees the projects it may read.
		if auth.Authorize(who, auth.ReadProject, pr.Name) == nil {
			out.Projects = append(out.Projects, api.Project{Name: pr.Name, Profile: pr.Profile, Created: pr.Created})
		}
	}
	return out, nil
}

// project returns the project name, checked to exist, as an *api.Error.
func (p *Plane) project(ctx context.Context, name string) error {
	if name == "" {
		return api.Errorf(http.StatusBadRequest, "no project given")
	}
	if err := checkName("project", name); err != nil {
		return err
	}
	// Projects are never deleted: one seen once exists for good.
	if _, ok := p.knownProjects.Load(name); ok {
		return nil
	}
	_, err := p.db.Project(ctx, name)
	if errors.Is(err, state.ErrNotFound) {
		return api.Errorf(http.StatusNotFound, "no project %q", name)
	}
	if err == nil {
		p.knownProjects.Store(name, true)
	}
	return err
}

func (p *Plane) issueToken(ctx context.Context, who auth.Principal, req *api.TokenRequest) (*api.Token, error) {
	if err := authorize(who, auth.ManageTokens, ""); err != nil {
		return nil, err
	}
	role, project, err := p.checkRole(ctx, req.Role, req.Project)
	if err != nil {
		return nil, err
	}
	if req.Subject == "" || len(req.Subject) > 200 || strings.ContainsFunc(req.Subject, isControl) {
		return nil, api.Errorf(http.StatusBadRequest, "token subject: want 1-200 printable characters naming who holds it")
	}
	scopes, err := checkScopes(req.Scopes)
	if err != nil {
		return nil, err
	}
	ttl := req.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTokenTTL
	case ttl < time.Minute || ttl > MaxTokenTTL:
		return nil, api.Errorf(http.StatusBadRequest, "token lifetime %v: want between 1m and %v", ttl, MaxTokenTTL)
	}
	nt, err := auth.GenerateToken()
	if err != nil {
		return nil, err
	}
	now := p.now()
	t := state.Token{
		ID: nt.ID, Hash: nt.Hash, Subject: req.Subject, Role: string(role), Project: project,
		Scopes: scopes, Created: now, Expires: now.Add(ttl), CreatedBy: who.String(),
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "token.issue", project, "token:"+t.ID, map[string]string{
			"subject": t.Subject, "role": t.Role, "expires": t.Expires.Format(time.RFC3339), "scopes": strings.Join(scopes, ","),
		}),
	}}); err != nil {
		return nil, err
	}
	if err := p.db.CreateToken(ctx, t); err != nil {
		return nil, err
	}
	out := tokenOut(t)
	out.Secret = nt.Token
	return &out, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkRole checks a role and its project.
func (p *Plane) checkRole(ctx context.Context, roleName, project string) (auth.Role, string, error) {
	role, err := auth.ParseRole(roleName)
	if err != nil {
		return "", "", api.Errorf(http.StatusBadRequest, "%v", err)
	}
	if !role.ProjectScoped() {
		if project != "" {
			return "", "", api.Errorf(http.StatusBadRequest, "role %s is platform-wide: give no project", role)
		}
		return role, "", nil
	}
	if project == "" {
		return "", "", api.Errorf(http.StatusBadRequest, "role %s acts for one project: give --project", role)
	}
	if err := p.project(ctx, project); err != nil {
		return "", "", err
	}
	return role, project, nil
}

func checkScopes(scopes []string) ([]string, error) {
	if len(scopes) > len(auth.Actions()) {
		return nil, api.Errorf(http.StatusBadRequest, "%d scopes: there are only %d actions", len(scopes), len(auth.Actions()))
	}
	var out []string
	for _, s := range scopes {
		if !slices.Contains(auth.Actions(), auth.Action(s)) {
			return nil, api.Errorf(http.StatusBadRequest, "scope %q is not an action", s)
		}
		out = append(out, s)
	}
	return out, nil
}

func tokenOut(t state.Token) api.Token {
	return api.Token{
		ID: t.ID, Subject: t.Subject, Role: t.Role, Project: t.Project, Scopes: t.Scopes,
		Created: t.Created, Expires: t.Expires, Revoked: t.Revoked, CreatedBy: t.CreatedBy,
	}
}

func (p *Plane) listTokens(ctx context.Context, who auth.Principal, _ *api.Empty) (*api.Tokens, error) {
	if err := authorize(who, auth.ReadAdmin, ""); err != nil {
		return nil, err
	}
	all, err := p.db.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.Tokens{Tokens: []api.Token{}}
	for _, t := range all {
		out.Tokens = append(out.Tokens, tokenOut(t))
	}
	return out, nil
}

// token returns the stored token id, as an *api.Error when missing.
func (p *Plane) token(ctx context.Context, id string) (state.Token, error) {
	t, err := p.db.Token(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return t, api.Errorf(http.StatusNotFound, "no token %q", id)
	}
	return t, err
}

func (p *Plane) revokeToken(ctx context.Context, who auth.Principal, req *api.TokenRef) (*api.Token, error) {
	if err := authorize(who, auth.ManageTokens, ""); err != nil {
		return nil, err
	}
	t, err := p.token(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "token.revoke", t.Project, "token:"+t.ID, map[string]string{"subject": t.Subject}),
	}}); err != nil {
		return nil, err
	}
	if err := p.db.RevokeToken(ctx, t.ID, p.now()); err != nil {
		return nil, err
	}
	p.tokens.forget(t.ID)
	t, err = p.token(ctx, t.ID)
	out := tokenOut(t)
	return &out, err
}

func (p *Plane) setRole(ctx context.Context, who auth.Principal, req *api.RoleChange) (*api.Token, error) {
	if err := authorize(who, auth.ManageTokens, ""); err != nil {
		return nil, err
	}
	t, err := p.token(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	role, project, err := p.checkRole(ctx, req.Role, req.Project)
	if err != nil {
		return nil, err
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "role.change", project, "token:"+t.ID, map[string]string{
			"from": t.Role + "@" + t.Project, "to": string(role) + "@" + project,
		}),
	}}); err != nil {
		return nil, err
	}
	if err := p.db.SetTokenRole(ctx, t.ID, string(role), project); err != nil {
		return nil, err
	}
	p.tokens.forget(t.ID)
	t, err = p.token(ctx, t.ID)
	out := tokenOut(t)
	return &out, err
}

func (p *Plane) addBinding(ctx context.Context, who auth.Principal, req *api.Binding) (*api.Binding, error) {
	if err := authorize(who, auth.ManageTokens, ""); err != nil {
		return nil, err
	}
	role, project, err := p.checkRole(ctx, req.Role, req.Project)
	if err != nil {
		return nil, err
	}
	if len(req.Claims) > maxClaims {
		return nil, api.Errorf(http.StatusBadRequest, "%d claims: a binding names at most %d", len(req.Claims), maxClaims)
	}
	b := auth.Binding{Issuer: req.Issuer, Audience: req.Audience, Claims: req.Claims, Project: project, Role: role}
	if err := auth.ValidateBinding(b); err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "%v", err)
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "role.change", project, "oidc:"+req.Issuer, map[string]string{
			"audience": req.Audience, "role": string(role), "claims": fmt.Sprint(req.Claims),
		}),
	}}); err != nil {
		return nil, err
	}
	id, err := p.db.AddOIDCBinding(ctx, state.OIDCBinding{
		Issuer: req.Issuer, Audience: req.Audience, Claims: req.Claims, Project: project, Role: string(role), Created: p.now(),
	})
	if err != nil {
		return nil, err
	}
	out := *req
	out.Nonce, out.ID = "", id
	return &out, nil
}

func (p *Plane) listBindings(ctx context.Context, who auth.Principal, _ *api.Empty) (*api.Bindings, error) {
	if err := authorize(who, auth.ReadAdmin, ""); err != nil {
		return nil, err
	}
	all, err := p.db.OIDCBindings(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.Bindings{Bindings: []api.Binding{}}
	for _, b := range all {
		out.Bindings = append(out.Bindings, api.Binding{ID: b.ID, Issuer: b.Issuer, Audience: b.Audience, Claims: b.Claims, Project: b.Project, Role: b.Role})
	}
	return out, nil
}

func (p *Plane) removeBinding(ctx context.Context, who auth.Principal, req *api.Binding) (*api.Empty, error) {
	if err := authorize(who, auth.ManageTokens, ""); err != nil {
		return nil, err
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "role.change", "", "oidc-binding:"+strconv.FormatInt(req.ID, 10), map[string]string{"removed": "true"}),
	}}); err != nil {
		return nil, err
	}
	err := p.db.RemoveOIDCBinding(ctx, req.ID)
	if errors.Is(err, state.ErrNotFound) {
		return nil, api.Errorf(http.StatusNotFound, "no OIDC binding %d", req.ID)
	}
	return &api.Empty{}, err
}

func (p *Plane) listRecords(ctx context.Context, who auth.Principal, req *api.RecordRequest) (*api.Records, error) {
	if req.Project == "" {
		if err := authorize(who, auth.ReadAdmin, ""); err != nil {
			return nil, err
		}
	} else if err := authorize(who, auth.ReadProject, req.Project); err != nil {
		return nil, err
	}
	if req.Limit <= 0 || req.Limit > 10000 {
		req.Limit = 1000
	}
	recs, err := p.db.Records(ctx, req.Project, req.Limit)
	if err != nil {
		return nil, err
	}
	out := &api.Records{Records: []api.Record{}}
	for _, r := range recs {
		out.Records = append(out.Records, api.Record{
			LeafHash: r.LeafHash, Digest: r.Digest, Key: r.KeyName + "@" + strconv.Itoa(r.KeyVersion),
			Project: r.Project, Actor: r.Actor, Time: r.Time,
		})
	}
	return out, nil
}

// parseDigest parses "sha256:<hex>".
func parseDigest(s string) ([]byte, error) {
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	d, err := hex.DecodeString(hexPart)
	if !ok || err != nil || len(d) != sha256.Size || strings.ToLower(hexPart) != hexPart {
		return nil, fmt.Errorf("digest %q: want sha256:<64 lowercase hex digits>", truncate(s, 80))
	}
	return d, nil
}
