package controlplane

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/ca"
	"github.com/hallmark-dev/hallmark/custody"
	"github.com/hallmark-dev/hallmark/state"
)

// Key purposes.
const (
	purposeSigning = "signing"
	purposeCA      = "ca"
)

// Key rotation.
const (
	DefaultOverlap = 24 * time.Hour
	MaxOverlap     = 90 * 24 * time.Hour
	caLifetime     = 10 * 365 * 24 * time.Hour
	certLifetime   = 10 * time.Minute
)

// keyCacheTTL is how long a replica trusts its copy of the key table: a
// key retired or restricted on one replica takes effect on all within it.
const keyCacheTTL = time.Second

// Key names have no dots: versions after the first are stored as NAME.vN.
var keyNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func checkKeyName(name string) error {
	if !keyNameRE.MatchString(name) {
		return api.Errorf(http.StatusBadRequest, "key name %q: want 1-63 characters of a-z, 0-9, '_', '-', starting with a letter or digit", name)
	}
	return nil
}

// label is the custody label of a key version.
func label(name string, version int) string {
	if version == 1 {
		return name
	}
	return name + ".v" + strconv.Itoa(version)
}

// keys is the plane's view of the key table and the signers it has opened.
type keys struct {
	mu      sync.Mutex
	loaded  time.Time
	table   []state.Key
	signers map[string]crypto.Signer // by name@version
	ca      struct {
		version int
		cache   *ca.Cache
	}
}

// keyTable returns the key table, at most keyCacheTTL old.
func (p *Plane) keyTable(ctx context.Context) ([]state.Key, error) {
	p.keys.mu.Lock()
	defer p.keys.mu.Unlock()
	if p.keys.table != nil && p.now().Sub(p.keys.loaded) < keyCacheTTL {
		return p.keys.table, nil
	}
	t, err := p.db.Keys(ctx)
	if err != nil {
		return nil, err
	}
	p.keys.table, p.keys.loaded = t, p.now()
	return t, nil
}

// forgetKeys drops the cached key table after a change.
func (p *Plane) forgetKeys() {
	p.keys.mu.Lock()
	p.keys.table = nil
	p.keys.mu.Unlock()
}

// usable reports whether k may sign at now.
func usable(k state.Key, now time.Time) bool {
	return k.Retired.IsZero() && !now.Before(k.NotBefore) && (k.NotAfter.IsZero() || now.Before(k.NotAfter))
}

// current returns the newest usable version of the key name with purpose.
func (p *Plane) current(ctx context.Context, name, purpose string) (state.Key, error) {
	table, err := p.keyTable(ctx)
	if err != nil {
		return state.Key{}, err
	}
	now := p.now()
	found := false
	var best state.Key
	for _, k := range table {
		if k.Name != name || k.Purpose != purpose {
			continue
		}
		found = true
		if usable(k, now) && k.Version > best.Version {
			best = k
		}
	}
	switch {
	case !found:
		return best, api.Errorf(http.StatusNotFound, "no %s key %q", purpose, name)
	case best.Version == 0:
		return best, api.Errorf(http.StatusConflict, "key %q has no usable version: all are retired or expired", name)
	}
	return best, nil
}

// signer returns the signer of key version k, opening it once.
func (p *Plane) signer(ctx context.Context, k state.Key) (crypto.Signer, error) {
	id := k.Name + "@" + strconv.Itoa(k.Version)
	p.keys.mu.Lock()
	s, ok := p.keys.signers[id]
	p.keys.mu.Unlock()
	if ok {
		return s, nil
	}
	b, ok := p.backends[k.Backend]
	if !ok {
		return nil, fmt.Errorf("controlplane: key %s is held by backend %q, which this control plane has not configured", id, k.Backend)
	}
	pub, err := x509.ParsePKIXPublicKey(k.Public)
	if err != nil {
		return nil, fmt.Errorf("controlplane: key %s: stored public key: %w", id, err)
	}
	if s, err = b.Signer(ctx, k.Ref, pub); err != nil {
		return nil, fmt.Errorf("controlplane: key %s: %w", id, err)
	}
	p.keys.mu.Lock()
	p.keys.signers[id] = s
	p.keys.mu.Unlock()
	return s, nil
}

// signingKey returns the key that signs for project: the newest usable
// version of name, which must not be restricted to other projects.
func (p *Plane) signingKey(ctx context.Context, name, project string) (state.Key, crypto.Signer, error) {
	k, err := p.current(ctx, name, purposeSigning)
	if err != nil {
		return k, nil, err
	}
	if len(k.Projects) > 0 && !slices.Contains(k.Projects, project) {
		return k, nil, api.Errorf(http.StatusForbidden, "key %q is restricted to projects %s, not %q", name, strings.Join(k.Projects, ", "), project)
	}
	s, err := p.signer(ctx, k)
	return k, s, err
}

// certificates returns the certificate cache of the current CA.
func (p *Plane) certificates(ctx context.Context) (*ca.Cache, error) {
	k, err := p.current(ctx, purposeCA, purposeCA)
	if err != nil {
		return nil, fmt.Errorf("controlplane: no usable CA: %w", err)
	}
	p.keys.mu.Lock()
	if p.keys.ca.version == k.Version && p.keys.ca.cache != nil {
		c := p.keys.ca.cache
		p.keys.mu.Unlock()
		return c, nil
	}
	p.keys.mu.Unlock()
	s, err := p.signer(ctx, k)
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(k.Cert)
	if err != nil {
		return nil, fmt.Errorf("controlplane: CA version %d: %w", k.Version, err)
	}
	authority, err := ca.New(root, s, p.issuer())
	if err != nil {
		return nil, err
	}
	c := ca.NewCache(authority, certLifetime, 4096)
	p.keys.mu.Lock()
	p.keys.ca.version, p.keys.ca.cache = k.Version, c
	p.keys.mu.Unlock()
	return c, nil
}

// issuer is the issuer URL the CA's certificates name.
func (p *Plane) issuer() string { return "https://" + p.cfg.Origin }

// backend returns the custody backend name (def if empty), checked to be
// configured, as a namedBackend: keys record the name they are held under.
func (p *Plane) backend(name, def string) (namedBackend, error) {
	if name == "" {
		name = def
	}
	b, ok := p.backends[name]
	if !ok {
		var have []string
		for n := range p.backends {
			have = append(have, n)
		}
		slices.Sort(have)
		return namedBackend{}, api.Errorf(http.StatusBadRequest, "key backend %q is not configured here (have %s)", name, strings.Join(have, ", "))
	}
	return namedBackend{b, name}, nil
}

// namedBackend is a custody backend and the name the plane knows it by.
type namedBackend struct {
	custody.Backend
	name string
}

// maxKeyProjects bounds the projects one key is restricted to.
const maxKeyProjects = 256

func (p *Plane) checkProjects(ctx context.Context, projects []string) error {
	if len(projects) > maxKeyProjects {
		return api.Errorf(http.StatusBadRequest, "%d projects: a key is restricted to at most %d", len(projects), maxKeyProjects)
	}
	for _, pr := range projects {
		if err := p.project(ctx, pr); err != nil {
			return err
		}
	}
	return nil
}

func (p *Plane) generateKey(ctx context.Context, who auth.Principal, req *api.KeyRequest) (*api.Key, error) {
	if err := authorize(who, auth.ManageKeys, ""); err != nil {
		return nil, err
	}
	if err := checkKeyName(req.Name); err != nil {
		return nil, err
	}
	b, err := p.backend(req.Backend, "file")
	if err != nil {
		return nil, err
	}
	if err := p.checkProjects(ctx, req.Projects); err != nil {
		return nil, err
	}
	if vs, err := p.db.KeyVersions(ctx, req.Name); err == nil && len(vs) > 0 {
		return nil, api.Errorf(http.StatusConflict, "key %q exists: rotate it to make a new version", req.Name)
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "key.generate", "", "key:"+req.Name, map[string]string{"backend": b.name, "projects": strings.Join(req.Projects, ",")}),
	}}); err != nil {
		return nil, err
	}
	k, err := p.newKey(ctx, b, req.Name, 1, purposeSigning, req.Projects, nil)
	if err != nil {
		return nil, err
	}
	return keyOut(k), nil
}

// newKey generates version of key name in b and stores it.
func (p *Plane) newKey(ctx context.Context, b namedBackend, name string, version int, purpose string, projects []string, makeCert func(crypto.Signer, time.Time) ([]byte, error)) (state.Key, error) {
	lbl := label(name, version)
	if purpose == purposeCA {
		lbl = label("ca", version)
	}
	ref, pub, err := b.Generate(ctx, lbl)
	if errors.Is(err, custody.ErrExists) {
		return state.Key{}, api.Errorf(http.StatusConflict, "key backend %s already holds a key labelled %q", b.name, lbl)
	}
	if err != nil {
		return state.Key{}, fmt.Errorf("controlplane: generating key %s: %w", lbl, err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return state.Key{}, err
	}
	now := p.now()
	k := state.Key{
		Name: name, Version: version, Purpose: purpose, Backend: b.name, Ref: ref, Algorithm: "ecdsa-p256",
		Public: der, Projects: projects, NotBefore: now, Created: now,
	}
	if makeCert != nil {
		s, err := b.Signer(ctx, ref, pub)
		if err != nil {
			return k, err
		}
		if k.Cert, err = makeCert(s, now); err != nil {
			return k, err
		}
	}
	if err := p.db.AddKey(ctx, k); err != nil {
		return k, err
	}
	p.forgetKeys()
	return k, nil
}

func (p *Plane) listKeys(ctx context.Context, who auth.Principal, _ *api.Empty) (*api.Keys, error) {
	// Public keys and certificates are public: any caller may list them.
	all, err := p.db.Keys(ctx)
	if err != nil {
		return nil, err
	}
	out := &api.Keys{Keys: []api.Key{}}
	for _, k := range all {
		out.Keys = append(out.Keys, *keyOut(k))
	}
	return out, nil
}

func keyOut(k state.Key) *api.Key {
	out := &api.Key{
		Name: k.Name, Version: k.Version, Purpose: k.Purpose, Backend: k.Backend, Algorithm: k.Algorithm,
		PublicPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.Public})),
		Projects:  k.Projects, NotBefore: k.NotBefore, NotAfter: k.NotAfter, Retired: k.Retired,
	}
	if len(k.Cert) > 0 {
		out.CertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert}))
	}
	return out
}

// versions returns key name's versions of purpose, as an *api.Error when
// there are none.
func (p *Plane) versions(ctx context.Context, name, purpose string) ([]state.Key, error) {
	vs, err := p.db.KeyVersions(ctx, name)
	if errors.Is(err, state.ErrNotFound) || (err == nil && (len(vs) == 0 || vs[0].Purpose != purpose)) {
		return nil, api.Errorf(http.StatusNotFound, "no %s key %q", purpose, name)
	}
	return vs, err
}

func checkOverlap(d time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return DefaultOverlap, nil
	case d < 0 || d > MaxOverlap:
		return 0, api.Errorf(http.StatusBadRequest, "overlap %v: want between 0 and %v", d, MaxOverlap)
	}
	return d, nil
}

// rotate makes a new version of key name and ends the validity of the
// versions before it after overlap.
func (p *Plane) rotate(ctx context.Context, who auth.Principal, req *api.KeyRequest, purpose string, makeCert func(crypto.Signer, time.Time) ([]byte, error)) (*api.Key, error) {
	if err := authorize(who, auth.ManageKeys, ""); err != nil {
		return nil, err
	}
	overlap, err := checkOverlap(req.Overlap)
	if err != nil {
		return nil, err
	}
	vs, err := p.versions(ctx, req.Name, purpose)
	if err != nil {
		return nil, err
	}
	last := vs[len(vs)-1]
	b, err := p.backend(req.Backend, last.Backend)
	if err != nil {
		return nil, err
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "key.rotate", "", "key:"+req.Name, map[string]string{
			"version": strconv.Itoa(last.Version + 1), "backend": b.name, "overlap": overlap.String(),
		}),
	}}); err != nil {
		return nil, err
	}
	k, err := p.newKey(ctx, b, req.Name, last.Version+1, purpose, last.Projects, makeCert)
	if err != nil {
		return nil, err
	}
	end := p.now().Add(overlap)
	for _, v := range vs {
		if v.Retired.IsZero() && (v.NotAfter.IsZero() || v.NotAfter.After(end)) {
			if err := p.db.SetKeyNotAfter(ctx, v.Name, v.Version, end); err != nil {
				return nil, err
			}
		}
	}
	p.forgetKeys()
	return keyOut(k), nil
}

func (p *Plane) rotateKey(ctx context.Context, who auth.Principal, req *api.KeyRequest) (*api.Key, error) {
	if err := checkKeyName(req.Name); err != nil {
		return nil, err
	}
	return p.rotate(ctx, who, req, purposeSigning, nil)
}

func (p *Plane) rotateCA(ctx context.Context, who auth.Principal, req *api.KeyRequest) (*api.Key, error) {
	req.Name = purposeCA
	return p.rotate(ctx, who, req, purposeCA, p.caRoot)
}

// caRoot makes the root certificate of a new CA key.
func (p *Plane) caRoot(s crypto.Signer, now time.Time) ([]byte, error) {
	root, err := ca.NewRoot(s, "Hallmark code signing CA", now.Add(-time.Hour), now.Add(caLifetime))
	if err != nil {
		return nil, err
	}
	return root.Raw, nil
}

func (p *Plane) retireKey(ctx context.Context, who auth.Principal, req *api.KeyRequest) (*api.Key, error) {
	if err := authorize(who, auth.ManageKeys, ""); err != nil {
		return nil, err
	}
	purpose := purposeSigning
	if req.Name == purposeCA {
		purpose = purposeCA
	}
	vs, err := p.versions(ctx, req.Name, purpose)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(vs, func(k state.Key) bool { return k.Version == req.Version })
	if i < 0 {
		return nil, api.Errorf(http.StatusNotFound, "key %q has no version %d", req.Name, req.Version)
	}
	if !vs[i].Retired.IsZero() {
		return nil, api.Errorf(http.StatusConflict, "key %s version %d is already retired", req.Name, req.Version)
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "key.retire", "", "key:"+req.Name, map[string]string{"version": strconv.Itoa(req.Version)}),
	}}); err != nil {
		return nil, err
	}
	now := p.now()
	if err := p.db.RetireKey(ctx, req.Name, req.Version, now); err != nil {
		return nil, err
	}
	p.forgetKeys()
	k := vs[i]
	k.Retired = now
	return keyOut(k), nil
}

func (p *Plane) restrictKey(ctx context.Context, who auth.Principal, req *api.KeyRequest) (*api.Keys, error) {
	if err := authorize(who, auth.ManageKeys, ""); err != nil {
		return nil, err
	}
	vs, err := p.versions(ctx, req.Name, purposeSigning)
	if err != nil {
		return nil, err
	}
	if err := p.checkProjects(ctx, req.Projects); err != nil {
		return nil, err
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{
		p.event(who, "key.restrict", "", "key:"+req.Name, map[string]string{"projects": strings.Join(req.Projects, ",")}),
	}}); err != nil {
		return nil, err
	}
	out := &api.Keys{}
	for _, v := range vs {
		if err := p.db.SetKeyProjects(ctx, v.Name, v.Version, req.Projects); err != nil {
			return nil, err
		}
		v.Projects = req.Projects
		out.Keys = append(out.Keys, *keyOut(v))
	}
	p.forgetKeys()
	return out, nil
}
