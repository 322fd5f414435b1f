package controlplane

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/state"
	"github.com/hallmark-dev/hallmark/tlog"
)

// AnchorStatement is what an audit anchor signs: the audit log's head. Its
// SHA-256 digest is what the anchor's log entry records.
func AnchorStatement(seq int64, hash []byte) []byte {
	return fmt.Appendf(nil, "hallmark audit head\n%d\n%x\n", seq, hash)
}

func (p *Plane) readAudit(ctx context.Context, who auth.Principal, req *api.AuditRequest) (*api.AuditLog, error) {
	if err := authorize(who, auth.ReadAudit, ""); err != nil {
		return nil, err
	}
	if req.After < 0 {
		return nil, api.Errorf(http.StatusBadRequest, "after %d: want a sequence number, 0 or more", req.After)
	}
	if req.Limit <= 0 || req.Limit > 10000 {
		req.Limit = 1000
	}
	entries, err := p.db.AuditEntries(ctx, req.After, req.Limit)
	if err != nil {
		return nil, err
	}
	anchors, err := p.db.Anchors(ctx)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(p.auditPub)
	if err != nil {
		return nil, err
	}
	out := &api.AuditLog{
		Entries:  []api.AuditEntry{},
		Anchors:  []api.Anchor{},
		AuditKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
	}
	for _, e := range entries {
		out.Entries = append(out.Entries, api.AuditEntry{Seq: e.Seq, Event: e.EventJSON, Prev: e.Prev, Hash: e.Hash})
	}
	// Each page carries the anchors of its own entries, so a page stays
	// bounded however many anchors the log has.
	last := req.After
	if n := len(entries); n > 0 {
		last = entries[n-1].Seq
	}
	for _, a := range anchors {
		if a.Seq > req.After && a.Seq <= last {
			out.Anchors = append(out.Anchors, api.Anchor{Seq: a.Seq, Hash: a.Hash, LogIndex: a.LogIndex, LeafHash: a.LeafHash, Bundle: a.Bundle, Time: a.Time})
		}
	}
	return out, nil
}

func (p *Plane) anchorAudit(ctx context.Context, who auth.Principal, req *api.Empty) (*api.Anchor, error) {
	if err := authorize(who, auth.ManageKeys, ""); err != nil {
		return nil, err
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce}); err != nil {
		return nil, err
	}
	a, err := p.Anchor(ctx)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, api.Errorf(http.StatusConflict, "nothing to anchor: the audit log is empty, or another replica is anchoring its head")
	}
	return &api.Anchor{Seq: a.Seq, Hash: a.Hash, LogIndex: a.LogIndex, LeafHash: a.LeafHash, Bundle: a.Bundle, Time: a.Time}, nil
}

// Anchor logs the audit log's head in the transparency log, signed by the
// control plane's audit key, unless the newest anchor already covers it;
// it returns the newest anchor (nil for an empty audit log). The anchor is
// itself an audited action, so the head moves on by one.
//
// Replicas may anchor at once: the commit that records an anchor claims its
// head by a nonce, so only one replica logs each head. Once claimed, the
// append and the anchor row are finished even if ctx ends (a shutdown), and
// an anchor cut short by a crash leaves a log entry whose statement names a
// head of the chain: verifiers match logged anchors to the chain by content
// (AnchorStatement), not by the anchors table alone.
func (p *Plane) Anchor(ctx context.Context) (*state.Anchor, error) {
	seq, hash, err := p.db.AuditHead(ctx)
	if err != nil || seq == 0 {
		return nil, err
	}
	anchors, err := p.db.Anchors(ctx)
	if err != nil {
		return nil, err
	}
	if n := len(anchors); n > 0 && anchors[n-1].Seq >= seq-1 {
		// Only the previous anchor's own audit event is newer.
		return &anchors[n-1], nil
	}
	digest := sha256.Sum256(AnchorStatement(seq, hash))
	auditKey, err := p.lazy.auditKey()
	if err != nil {
		return nil, err
	}
	sig, err := auditKey.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("controlplane: signing the audit head: %w", err)
	}
	pub := auditKey.Public()
	hint, err := bundle.KeyHint(pub)
	if err != nil {
		return nil, err
	}
	b, err := bundle.NewMessageSignature(digest[:], sig, hint)
	if err != nil {
		return nil, err
	}
	body, err := tlog.HashedRekord(digest[:], sig, pub)
	if err != nil {
		return nil, err
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	fp := sha256.Sum256(der)
	now := p.now()
	if _, err := p.db.Commit(ctx, state.Write{
		Nonce: fmt.Sprintf("audit-anchor:%d:%x", seq, hash),
		Records: []state.Record{{
			LeafHash: tlog.LeafHash(body), LogID: p.log.LogID(), KeyFingerprint: fp[:], Digest: digest[:],
			KeyName: "audit", KeyVersion: 1, Actor: "control plane", Time: now,
		}},
		Audit: []audit.Event{{
			Time: now, Actor: "control plane", Action: "audit.anchor", Outcome: "ok",
			Detail: map[string]string{"seq": strconv.FormatInt(seq, 10), "hash": fmt.Sprintf("%x", hash)},
		}},
	}); errors.Is(err, state.ErrReplay) {
		return nil, nil // another replica is anchoring this head
	} else if err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	if err := p.logAndStamp(ctx, b, body, sig); err != nil {
		return nil, err
	}
	raw, err := bundle.Marshal(b)
	if err != nil {
		return nil, err
	}
	a := state.Anchor{
		Seq: seq, Hash: hash, LogIndex: b.VerificationMaterial.TlogEntries[0].LogIndex,
		LeafHash: tlog.LeafHash(body), Bundle: raw, Time: now,
	}
	if err := p.db.AddAnchor(ctx, a); err != nil {
		return nil, err
	}
	return &a, nil
}

// AnchorEvery anchors the audit log every interval until ctx ends, and
// returns once an anchor in flight has finished: callers wait for it before
// Close. Replicas may all run it: an anchor that finds the head already
// anchored, or claimed by another replica, is a no-op.
func (p *Plane) AnchorEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := p.Anchor(ctx); err != nil && !errors.Is(err, context.Canceled) {
				p.logger.Error("anchoring the audit log", "err", err)
			}
		}
	}
}

// tokenCacheTTL is how long a replica trusts its copy of a token's row: a
// token revoked or given another role on one replica is refused by the
// others within it (at once by the replica that changed it).
const tokenCacheTTL = time.Second

// tokenCache keeps recently used token rows, so that a busy token costs one
// database read per second, not one per request.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	t  state.Token
	at time.Time
}

// maxCachedTokens bounds the cache; past it, it starts over.
const maxCachedTokens = 10000

func (c *tokenCache) get(ctx context.Context, db *state.DB, id string, now time.Time) (state.Token, error) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < tokenCacheTTL && !now.Before(e.at) {
		return e.t, nil
	}
	t, err := db.Token(ctx, id)
	if err != nil {
		return t, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedTokens {
		c.m = map[string]cachedToken{}
	}
	c.m[id] = cachedToken{t, now}
	c.mu.Unlock()
	return t, nil
}

func (c *tokenCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// Authenticate returns the principal a bearer credential (an API token or an
// OIDC ID token) stands for. Failures are *api.Error 401 (bad, expired or
// revoked credentials) or 403 (an ID token no binding maps).
func (p *Plane) Authenticate(ctx context.Context, credential string) (auth.Principal, error) {
	if auth.LooksLikeJWT(credential) {
		bs, err := p.db.OIDCBindings(ctx)
		if err != nil {
			return auth.Principal{}, err
		}
		var bindings []auth.Binding
		for _, b := range bs {
			bindings = append(bindings, auth.Binding{Issuer: b.Issuer, Audience: b.Audience, Claims: b.Claims, Project: b.Project, Role: auth.Role(b.Role)})
		}
		who, err := p.oidc.Verify(ctx, credential, bindings)
		switch {
		case errors.Is(err, auth.ErrForbidden):
			return who, api.Errorf(http.StatusForbidden, "%v", err)
		case err != nil:
			return who, api.Errorf(http.StatusUnauthorized, "%v", err)
		}
		return who, nil
	}
	id, hash, err := auth.ParseToken(credential)
	if err != nil {
		return auth.Principal{}, api.Errorf(http.StatusUnauthorized, "%v", err)
	}
	t, err := p.tokens.get(ctx, p.db, id, p.now())
	if errors.Is(err, state.ErrNotFound) || (err == nil && !auth.CheckHash(t.Hash, hash)) {
		return auth.Principal{}, api.Errorf(http.StatusUnauthorized, "unknown token %s", id)
	}
	if err != nil {
		return auth.Principal{}, err
	}
	now := p.now()
	switch {
	case !t.Revoked.IsZero():
		return auth.Principal{}, api.Errorf(http.StatusUnauthorized, "token %s was revoked at %s", id, t.Revoked.UTC().Format(time.RFC3339))
	case !now.Before(t.Expires):
		return auth.Principal{}, api.Errorf(http.StatusUnauthorized, "token %s expired at %s", id, t.Expires.UTC().Format(time.RFC3339))
	}
	who := auth.Principal{Subject: t.Subject, Role: auth.Role(t.Role), Project: t.Project, Via: "token:" + t.ID}
	for _, s := range t.Scopes {
		who.Scopes = append(who.Scopes, auth.Action(s))
	}
	return who, nil
}
