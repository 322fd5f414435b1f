package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
)

// issuer is an OIDC issuer on loopback, as a CI system runs one: discovery
// document and JWKS.
type issuer struct {
	srv *httptest.Server
	key *ecdsa.PrivateKey
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{}
	is.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// token returns an ID token for a CI job with subject sub.
func (is *issuer) token(t *testing.T, sub, aud string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: is.key}, (&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{
		"iss": is.srv.URL, "sub": sub, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"repository": "org/app", "ref": "refs/heads/main",
	})
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestOIDCWorkloadIdentity: a CI job's ID token, bound to a project and
// role, signs for that project and nothing else; unbound jobs, other
// audiences and admin calls are refused.
func TestOIDCWorkloadIdentity(t *testing.T) {
	f := newServer(t)
	is := newIssuer(t)
	planetest.Must[api.Binding](t, f.plane, planetest.Local, api.AddBinding, &api.Binding{
		Nonce: api.Nonce(), Issuer: is.srv.URL, Audience: "hallmark",
		Claims: map[string]string{"sub": "repo:org/app:ref:refs/heads/main"}, Project: "default", Role: "builder",
	})
	good := is.token(t, "repo:org/app:ref:refs/heads/main", "hallmark")
	code, out := post(t, f.url+"/api/v1/op/whoami", good, "application/json", []byte(`{}`))
	if code != http.StatusOK || !strings.Contains(string(out), `"via":"oidc:`+is.srv.URL) || !strings.Contains(string(out), `"role":"builder"`) {
		t.Fatalf("whoami with a bound ID token: %d %s", code, out)
	}
	if code, out := post(t, f.url+"/api/v1/op/sign", good, "application/json", signBody(api.Nonce(), "default", "built by CI")); code != http.StatusOK {
		t.Errorf("sign with a bound ID token: %d %s", code, out)
	}
	for _, c := range []struct {
		name, token, path string
		body              []byte
		code              int
	}{
		{"another branch", is.token(t, "repo:org/app:ref:refs/heads/feature", "hallmark"), "/api/v1/op/sign", signBody(api.Nonce(), "default", "x"), 403},
		{"another audience", is.token(t, "repo:org/app:ref:refs/heads/main", "someone-else"), "/api/v1/op/sign", signBody(api.Nonce(), "default", "x"), 401},
		{"tampered", good[:len(good)-4] + "AAAA", "/api/v1/op/sign", signBody(api.Nonce(), "default", "x"), 401},
		{"admin call", good, "/api/v1/op/key.generate", []byte(`{"nonce":"n","name":"ci-key"}`), 403},
	} {
		if code, out := post(t, f.url+c.path, c.token, "application/json", c.body); code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, code, out, c.code)
		}
	}
}
