package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testIssuer is a real OIDC issuer on loopback: a discovery document and a
// JWKS served over HTTP, with keys that sign ID tokens.
type testIssuer struct {
	srv *httptest.Server

	mu        sync.Mutex
	published []jose.JSONWebKey
	down      bool   // answer 503 to everything
	jwksURI   string // overrides the discovery document's jwks_uri

	discoveryHits, jwksHits atomic.Int32
}

func newTestIssuer(t *testing.T, tls bool) *testIssuer {
	is := &testIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		is.discoveryHits.Add(1)
		is.mu.Lock()
		down, jwksURI := is.down, is.jwksURI
		is.mu.Unlock()
		if down {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if jwksURI == "" {
			jwksURI = is.URL() + "/jwks"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                is.URL(),
			"jwks_uri":                              jwksURI,
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		is.jwksHits.Add(1)
		is.mu.Lock()
		down, keys := is.down, jose.JSONWebKeySet{Keys: is.published}
		is.mu.Unlock()
		if down {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(keys)
	})
	is.srv = httptest.NewUnstartedServer(mux)
	is.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // untrusted-client handshakes
	if tls {
		is.srv.StartTLS()
	} else {
		is.srv.Start()
	}
	t.Cleanup(is.srv.Close)
	return is
}

func (is *testIssuer) URL() string { return is.srv.URL }

func (is *testIssuer) publish(keys ...testKey) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.published = nil
	for _, k := range keys {
		is.published = append(is.published, jose.JSONWebKey{
			Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig",
		})
	}
}

func (is *testIssuer) setDown(down bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.down = down
}

type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func newTestKey(t *testing.T, alg jose.SignatureAlgorithm, kid string) testKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no test key for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: alg, priv: priv}
}

// sign returns claims as a compact JWS signed by k.
func (k testKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims returns the claims of a GitHub Actions-like ID token from iss,
// valid now, with changes applied (a nil value deletes the claim).
func claims(iss string, changes map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":        iss,
		"aud":        "hallmark",
		"sub":        "repo:acme/app:ref:refs/heads/main",
		"repository": "acme/app",
		"ref":        "refs/heads/main",
		"iat":        now.Unix(),
		"nbf":        now.Unix(),
		"exp":        now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func bindingsFor(iss string) []Binding {
	return []Binding{
		{Issuer: iss, Audience: "hallmark", Claims: map[string]string{"repository": "acme/app", "ref": "refs/heads/main"}, Project: "app", Role: Builder},
		{Issuer: iss, Audience: "hallmark", Claims: map[string]string{"repository": "acme/app"}, Project: "app", Role: Approver},
		{Issuer: iss, Audience: "hallmark-workers", Claims: map[string]string{"sub": "runner-pool"}, Role: Worker},
	}
}

func TestOIDCVerify(t *testing.T) {
	is := newTestIssuer(t, false)
	es := newTestKey(t, jose.ES256, "es")
	rs := newTestKey(t, jose.RS256, "rs")
	ed := newTestKey(t, jose.EdDSA, "ed")
	other := newTestKey(t, jose.ES256, "es") // same kid, not published
	is.publish(es, rs, ed)
	o := NewOIDC(nil)
	iss := is.URL()
	bindings := bindingsFor(iss)
	now := time.Now()

	tamperedPayload := func() string {
		parts := strings.Split(es.sign(t, claims(iss, nil)), ".")
		parts[1] = base64.RawURLEncoding.EncodeToString(mustJSON(t, claims(iss, map[string]any{"repository": "acme/other"})))
		return strings.Join(parts, ".")
	}
	tamperedSignature := func() string {
		tok := es.sign(t, claims(iss, nil))
		i := strings.LastIndex(tok, ".") + 10
		c := byte('A')
		if tok[i] == 'A' {
			c = 'B'
		}
		return tok[:i] + string(c) + tok[i+1:]
	}
	algNone := func() string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		p := base64.RawURLEncoding.EncodeToString(mustJSON(t, claims(iss, nil)))
		return h + "." + p + "."
	}
	hmac := func() string {
		// The classic confusion: HS256 keyed with the issuer's public key.
		pub, err := x509.MarshalPKIXPublicKey(es.priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pub}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := signer.Sign(mustJSON(t, claims(iss, nil)))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := jws.CompactSerialize()
		return s
	}

	tests := []struct {
		name    string
		token   string
		want    Principal // when err is nil
		err     error     // the sentinel it must wrap
		errText string    // and a part of its text
	}{
		{name: "ES256", token: es.sign(t, claims(iss, nil)),
			want: Principal{Subject: "repo:acme/app:ref:refs/heads/main", Role: Builder, Project: "app", Via: "oidc:" + iss}},
		{name: "RS256", token: rs.sign(t, claims(iss, nil)),
			want: Principal{Subject: "repo:acme/app:ref:refs/heads/main", Role: Builder, Project: "app", Via: "oidc:" + iss}},
		{name: "EdDSA", token: ed.sign(t, claims(iss, nil)),
			want: Principal{Subject: "repo:acme/app:ref:refs/heads/main", Role: Builder, Project: "app", Via: "oidc:" + iss}},
		{name: "second binding", token: es.sign(t, claims(iss, map[string]any{"ref": "refs/heads/dev", "sub": "repo:acme/app:ref:refs/heads/dev"})),
			want: Principal{Subject: "repo:acme/app:ref:refs/heads/dev", Role: Approver, Project: "app", Via: "oidc:" + iss}},
		{name: "audience list", token: es.sign(t, claims(iss, map[string]any{"aud": []string{"elsewhere", "hallmark-workers"}, "sub": "runner-pool"})),
			want: Principal{Subject: "runner-pool", Role: Worker, Via: "oidc:" + iss}},
		{name: "exp within leeway", token: es.sign(t, claims(iss, map[string]any{"exp": now.Add(-30 * time.Second).Unix()})),
			want: Principal{Subject: "repo:acme/app:ref:refs/heads/main", Role: Builder, Project: "app", Via: "oidc:" + iss}},
		{name: "nbf within leeway", token: es.sign(t, claims(iss, map[string]any{"nbf": now.Add(30 * time.Second).Unix()})),
			want: Principal{Subject: "repo:acme/app:ref:refs/heads/main", Role: Builder, Project: "app", Via: "oidc:" + iss}},
		{name: "no nbf", token: es.sign(t, claims(iss, map[string]any{"nbf": nil})),
			want: Principal{Subject: "repo:acme/app:ref:refs/heads/main", Role: Builder, Project: "app", Via: "oidc:" + iss}},

		{name: "wrong audience", token: es.sign(t, claims(iss, map[string]any{"aud": "sigstore"})),
			err: ErrUnauthenticated, errText: `audience ["sigstore"] is none of the bound`},
		{name: "expired", token: es.sign(t, claims(iss, map[string]any{"exp": now.Add(-2 * time.Minute).Unix()})),
			err: ErrUnauthenticated, errText: "expired at"},
		{name: "no exp", token: es.sign(t, claims(iss, map[string]any{"exp": nil})),
			err: ErrUnauthenticated, errText: "no exp"},
		{name: "exp not a number", token: es.sign(t, claims(iss, map[string]any{"exp": "tomorrow"})),
			err: ErrUnauthenticated},
		{name: "not yet valid", token: es.sign(t, claims(iss, map[string]any{"nbf": now.Add(2 * time.Minute).Unix()})),
			err: ErrUnauthenticated, errText: "not valid before"},
		{name: "issued in the future", token: es.sign(t, claims(iss, map[string]any{"iat": now.Add(2 * time.Minute).Unix()})),
			err: ErrUnauthenticated, errText: "issued in the future"},
		{name: "no iat", token: es.sign(t, claims(iss, map[string]any{"iat": nil})),
			err: ErrUnauthenticated, errText: "no iat"},
		{name: "nbf beyond int64", token: es.sign(t, claims(iss, map[string]any{"nbf": 1e30})),
			err: ErrUnauthenticated, errText: "nbf 1e+30 is not a time"},
		{name: "iat beyond int64", token: es.sign(t, claims(iss, map[string]any{"iat": 1e30})),
			err: ErrUnauthenticated, errText: "iat 1e+30 is not a time"},
		{name: "exp beyond int64", token: es.sign(t, claims(iss, map[string]any{"exp": 1e30})),
			err: ErrUnauthenticated, errText: "exp 1e+30 is not a time"},
		{name: "no sub", token: es.sign(t, claims(iss, map[string]any{"sub": nil})),
			err: ErrUnauthenticated, errText: "no sub"},
		{name: "wrong issuer", token: es.sign(t, claims("https://token.actions.githubusercontent.com", nil)),
			err: ErrUnauthenticated, errText: `no binding trusts issuer "https://token.actions.githubusercontent.com"`},
		{name: "issuer with trailing slash", token: es.sign(t, claims(iss+"/", nil)),
			err: ErrUnauthenticated, errText: "no binding trusts issuer"},
		{name: "signed by a key the issuer does not publish", token: other.sign(t, claims(iss, nil)),
			err: ErrUnauthenticated, errText: "signature"},
		{name: "tampered payload", token: tamperedPayload(),
			err: ErrUnauthenticated, errText: "signature"},
		{name: "tampered signature", token: tamperedSignature(),
			err: ErrUnauthenticated, errText: "signature"},
		{name: "alg none", token: algNone(),
			err: ErrUnauthenticated, errText: "not a JWT signed with an accepted algorithm"},
		{name: "HS256", token: hmac(),
			err: ErrUnauthenticated, errText: "not a JWT signed with an accepted algorithm"},
		{name: "not a JWT", token: "hmk_0123456789abcdef_S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tg",
			err: ErrUnauthenticated},
		{name: "empty", token: "", err: ErrUnauthenticated},

		{name: "claim mismatch", token: es.sign(t, claims(iss, map[string]any{"repository": "acme/other", "sub": "repo:acme/other:ref:refs/heads/main"})),
			err: ErrForbidden, errText: `no oidc binding admits subject "repo:acme/other:ref:refs/heads/main" of issuer "` + iss + `"`},
		{name: "claim not a string", token: es.sign(t, claims(iss, map[string]any{"repository": []string{"acme/app"}})),
			err: ErrForbidden},
		{name: "claim missing", token: es.sign(t, claims(iss, map[string]any{"repository": nil})),
			err: ErrForbidden},
		{name: "claims of one binding, audience of another", token: es.sign(t, claims(iss, map[string]any{"aud": "hallmark-workers"})),
			err: ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := o.Verify(t.Context(), tt.token, bindings)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Verify = %v", err)
				}
				if p.Subject != tt.want.Subject || p.Role != tt.want.Role || p.Project != tt.want.Project || p.Via != tt.want.Via || p.Scopes != nil {
					t.Errorf("Verify = %+v, want %+v", p, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("Verify = %+v, %v; want an error wrapping %v", p, err, tt.err)
			}
			if p.Subject != "" || p.Role != "" || p.Via != "" {
				t.Errorf("Verify returned %+v with an error", p)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not contain %q", err, tt.errText)
			}
			if strings.Contains(err.Error(), tt.token) && tt.token != "" {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// settle waits for go-oidc's RemoteKeySet to store keys it fetched: it hands
// them to the waiting Verify first and caches them just after, in another
// goroutine, so a Verify right after may fetch again or see the old keys.
// Only the exact fetch counts asserted below need this.
func settle() { time.Sleep(100 * time.Millisecond) }

func TestOIDCCachesKeys(t *testing.T) {
	is := newTestIssuer(t, false)
	k := newTestKey(t, jose.ES256, "k1")
	is.publish(k)
	o := NewOIDC(nil)
	bindings := bindingsFor(is.URL())

	if _, err := o.Verify(t.Context(), k.sign(t, claims(is.URL(), nil)), bindings); err != nil {
		t.Fatal(err)
	}
	settle()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				tok := k.sign(t, claims(is.URL(), nil))
				if _, err := o.Verify(t.Context(), tok, bindings); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if d, j := is.discoveryHits.Load(), is.jwksHits.Load(); d != 1 || j != 1 {
		t.Errorf("201 verifications fetched discovery %d times and the JWKS %d times, want 1 and 1", d, j)
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	is := newTestIssuer(t, false)
	k1 := newTestKey(t, jose.ES256, "k1")
	k2 := newTestKey(t, jose.RS256, "k2")
	is.publish(k1)
	o := NewOIDC(nil)
	iss := is.URL()
	bindings := bindingsFor(iss)

	if _, err := o.Verify(t.Context(), k1.sign(t, claims(iss, nil)), bindings); err != nil {
		t.Fatal(err)
	}
	settle()
	// k2 is not published yet: the unknown kid makes the key set refetch,
	// which still does not have it.
	if _, err := o.Verify(t.Context(), k2.sign(t, claims(iss, nil)), bindings); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("token of unpublished key: Verify = %v, want ErrUnauthenticated", err)
	}
	settle()
	if j := is.jwksHits.Load(); j != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (first use, unknown kid)", j)
	}
	// The issuer rotates: k2 published, k1 retired.
	is.publish(k2)
	if _, err := o.Verify(t.Context(), k2.sign(t, claims(iss, nil)), bindings); err != nil {
		t.Fatalf("token of rotated-in key: Verify = %v", err)
	}
	settle()
	if j := is.jwksHits.Load(); j != 3 {
		t.Errorf("JWKS fetched %d times, want 3", j)
	}
	// Cached from now on.
	for range 10 {
		if _, err := o.Verify(t.Context(), k2.sign(t, claims(iss, nil)), bindings); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.Verify(t.Context(), k1.sign(t, claims(iss, nil)), bindings); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("token of retired key: Verify = %v, want ErrUnauthenticated", err)
	}
	if d := is.discoveryHits.Load(); d != 1 {
		t.Errorf("discovery fetched %d times, want 1", d)
	}
}

func TestOIDCIssuerDown(t *testing.T) {
	is := newTestIssuer(t, false)
	k := newTestKey(t, jose.ES256, "k1")
	is.publish(k)
	is.setDown(true)
	o := NewOIDC(nil)
	var mu sync.Mutex
	now := time.Now()
	o.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	iss := is.URL()
	bindings := bindingsFor(iss)
	tok := k.sign(t, claims(iss, nil))

	_, err := o.Verify(t.Context(), tok, bindings)
	if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), `oidc issuer "`+iss+`" unavailable`) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("issuer down: Verify = %v", err)
	}
	is.setDown(false)
	// The failure is remembered for a while: no new fetch.
	if _, err := o.Verify(t.Context(), tok, bindings); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("issuer just back: Verify = %v, want the remembered failure", err)
	}
	if d := is.discoveryHits.Load(); d != 1 {
		t.Errorf("discovery fetched %d times while the failure is remembered, want 1", d)
	}
	advance(discoveryRetry)
	if _, err := o.Verify(t.Context(), tok, bindings); err != nil {
		t.Fatalf("issuer up again: Verify = %v", err)
	}
	if d := is.discoveryHits.Load(); d != 2 {
		t.Errorf("discovery fetched %d times, want 2", d)
	}
}

func TestOIDCIssuerUnreachable(t *testing.T) {
	is := newTestIssuer(t, false)
	k := newTestKey(t, jose.ES256, "k1")
	iss := is.URL()
	is.srv.Close()
	o := NewOIDC(nil)
	_, err := o.Verify(t.Context(), k.sign(t, claims(iss, nil)), bindingsFor(iss))
	if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("Verify = %v", err)
	}
}

func TestOIDCCanceledWhileDiscovering(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block
		http.Error(w, "late", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	defer close(block)
	k := newTestKey(t, jose.ES256, "k1")
	o := NewOIDC(nil)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := o.Verify(ctx, k.sign(t, claims(srv.URL, nil)), bindingsFor(srv.URL))
	if !errors.Is(err, ErrUnauthenticated) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify = %v, want ErrUnauthenticated and the deadline", err)
	}
}

func TestOIDCWrongIssuerFetchesNothing(t *testing.T) {
	is := newTestIssuer(t, false)
	k := newTestKey(t, jose.ES256, "k1")
	is.publish(k)
	o := NewOIDC(nil)
	// The token claims to come from the test issuer, but no binding is for it.
	_, err := o.Verify(t.Context(), k.sign(t, claims(is.URL(), nil)), bindingsFor("https://token.actions.githubusercontent.com"))
	if !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("Verify = %v, want ErrUnauthenticated", err)
	}
	if d, j := is.discoveryHits.Load(), is.jwksHits.Load(); d != 0 || j != 0 {
		t.Errorf("unbound issuer fetched: discovery %d, JWKS %d", d, j)
	}
}

func TestOIDCTLS(t *testing.T) {
	is := newTestIssuer(t, true)
	k := newTestKey(t, jose.ES256, "k1")
	is.publish(k)
	o := NewOIDC(is.srv.Client())
	if !strings.HasPrefix(is.URL(), "https://") {
		t.Fatalf("issuer %s is not https", is.URL())
	}
	p, err := o.Verify(t.Context(), k.sign(t, claims(is.URL(), nil)), bindingsFor(is.URL()))
	if err != nil || p.Role != Builder {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	// Without the test CA the issuer is not trusted.
	_, err = NewOIDC(nil).Verify(t.Context(), k.sign(t, claims(is.URL(), nil)), bindingsFor(is.URL()))
	if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted TLS issuer: Verify = %v", err)
	}
}

func TestOIDCPlaintextJWKSRefused(t *testing.T) {
	is := newTestIssuer(t, false)
	k := newTestKey(t, jose.ES256, "k1")
	is.publish(k)
	is.mu.Lock()
	is.jwksURI = "http://keys.example.com/jwks"
	is.mu.Unlock()
	o := NewOIDC(nil)
	_, err := o.Verify(t.Context(), k.sign(t, claims(is.URL(), nil)), bindingsFor(is.URL()))
	if !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "jwks_uri") {
		t.Fatalf("Verify = %v, want refusal of the plaintext jwks_uri", err)
	}
}

func TestOIDCRefusesBadBindings(t *testing.T) {
	is := newTestIssuer(t, false)
	k := newTestKey(t, jose.ES256, "k1")
	is.publish(k)
	o := NewOIDC(nil)
	iss := is.URL()
	for _, r := range []Role{SecurityAdmin, Auditor} {
		bindings := []Binding{{Issuer: iss, Audience: "hallmark", Claims: map[string]string{"repository": "acme/app"}, Role: r}}
		p, err := o.Verify(t.Context(), k.sign(t, claims(iss, nil)), bindings)
		if err == nil || !strings.Contains(err.Error(), "may not be bound") {
			t.Errorf("binding granting %s: Verify = %+v, %v", r, p, err)
		}
		if errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrForbidden) {
			t.Errorf("binding error %v looks like the caller's fault", err)
		}
	}
	if d := is.discoveryHits.Load(); d != 0 {
		t.Errorf("bad bindings fetched discovery %d times", d)
	}
}

func TestValidateBinding(t *testing.T) {
	good := Binding{Issuer: "https://token.actions.githubusercontent.com", Audience: "hallmark",
		Claims: map[string]string{"repository": "acme/app"}, Project: "app", Role: Builder}
	tests := []struct {
		name    string
		change  func(*Binding)
		errText string // "" for valid
	}{
		{"builder", func(b *Binding) {}, ""},
		{"approver", func(b *Binding) { b.Role = Approver }, ""},
		{"worker", func(b *Binding) { b.Role, b.Project = Worker, "" }, ""},
		{"sub", func(b *Binding) { b.Claims = map[string]string{"sub": "repo:acme/app:ref:refs/heads/main"} }, ""},
		{"issuer path", func(b *Binding) { b.Issuer = "https://gitlab.example.com/oidc" }, ""},
		{"http localhost", func(b *Binding) { b.Issuer = "http://localhost:8080" }, ""},
		{"http 127.0.0.1", func(b *Binding) { b.Issuer = "http://127.0.0.1:8080" }, ""},
		{"http 127.1.2.3", func(b *Binding) { b.Issuer = "http://127.1.2.3" }, ""},
		{"http ::1", func(b *Binding) { b.Issuer = "http://[::1]:8080" }, ""},

		{"security-admin", func(b *Binding) { b.Role, b.Project = SecurityAdmin, "" }, "role security-admin may not be bound: workload identities build, they do not administer"},
		{"auditor", func(b *Binding) { b.Role, b.Project = Auditor, "" }, "role auditor may not be bound"},
		{"unknown role", func(b *Binding) { b.Role = "root" }, `unknown role "root"`},
		{"no role", func(b *Binding) { b.Role = "" }, `unknown role ""`},
		{"builder without project", func(b *Binding) { b.Project = "" }, "role builder needs a project"},
		{"worker with project", func(b *Binding) { b.Role = Worker }, `role worker is platform-wide but project "app" is named`},
		{"http issuer", func(b *Binding) { b.Issuer = "http://token.actions.githubusercontent.com" }, "is not https (http is accepted only on loopback hosts)"},
		{"http lookalike", func(b *Binding) { b.Issuer = "http://localhost.example.com" }, "is not https"},
		{"no scheme", func(b *Binding) { b.Issuer = "token.actions.githubusercontent.com" }, "not an absolute URL"},
		{"empty issuer", func(b *Binding) { b.Issuer = "" }, "issuer"},
		{"issuer query", func(b *Binding) { b.Issuer = "https://issuer.example.com/?tenant=1" }, "query"},
		{"issuer fragment", func(b *Binding) { b.Issuer = "https://issuer.example.com/#x" }, "fragment"},
		{"issuer user info", func(b *Binding) { b.Issuer = "https://u:p@issuer.example.com" }, "user info"},
		{"issuer ftp", func(b *Binding) { b.Issuer = "ftp://issuer.example.com" }, "not https"},
		{"no audience", func(b *Binding) { b.Audience = "" }, "no audience"},
		{"no claims", func(b *Binding) { b.Claims = nil }, "no claims"},
		{"empty claims", func(b *Binding) { b.Claims = map[string]string{} }, "no claims"},
		{"empty claim name", func(b *Binding) { b.Claims = map[string]string{"": "x"} }, "empty claim name"},
		{"empty claim value", func(b *Binding) { b.Claims = map[string]string{"repository": ""} }, `"repository": empty value`},
		{"iss claim", func(b *Binding) { b.Claims = map[string]string{"iss": b.Issuer} }, `"iss" is checked by verification itself`},
		{"aud claim", func(b *Binding) { b.Claims = map[string]string{"aud": "hallmark"} }, `"aud" is checked`},
		{"exp claim", func(b *Binding) { b.Claims = map[string]string{"exp": "1"} }, `"exp" is checked`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good
			b.Claims = map[string]string{"repository": "acme/app"}
			tt.change(&b)
			err := ValidateBinding(b)
			if tt.errText == "" {
				if err != nil {
					t.Fatalf("ValidateBinding = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errText) || !strings.HasPrefix(err.Error(), "auth: oidc binding: ") {
				t.Fatalf("ValidateBinding = %v, want an error containing %q", err, tt.errText)
			}
		})
	}
}
