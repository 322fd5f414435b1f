package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
	"github.com/hallmark-dev/hallmark/server"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func signBody(nonce, project string, msgs ...string) []byte {
	req := api.SignRequest{Nonce: nonce, Project: project}
	for _, m := range msgs {
		sum := sha256.Sum256([]byte(m))
		req.Items = append(req.Items, api.SignItem{Digest: "sha256:" + hex.EncodeToString(sum[:])})
	}
	body, _ := json.Marshal(req)
	return body
}

// TestAttacks: bad credentials, bad bodies and replays are refused with the
// right 4xx and a clear message, audited, and change nothing stored.
func TestAttacks(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := newServerWith(t, controlplane.Options{Now: clk.now}, nil)
	p := f.plane
	planetest.Must[api.Project](t, p, planetest.Local, api.CreateProject, &api.Project{Nonce: api.Nonce(), Name: "b"})
	builder := planetest.Token(t, p, "ci", auth.Builder, "default")
	short := planetest.Must[api.Token](t, p, planetest.Local, api.IssueToken, &api.TokenRequest{
		Nonce: api.Nonce(), Subject: "short", Role: "builder", Project: "default", TTL: time.Minute}).Secret
	revoked := planetest.Must[api.Token](t, p, planetest.Local, api.IssueToken, &api.TokenRequest{
		Nonce: api.Nonce(), Subject: "gone", Role: "builder", Project: "default"})
	planetest.Must[api.Token](t, p, planetest.Local, api.RevokeToken, &api.TokenRef{Nonce: api.Nonce(), ID: revoked.ID})
	worker := planetest.Token(t, p, "w", auth.Worker, "")
	clk.add(2 * time.Minute) // short has expired

	signURL := f.url + "/api/v1/op/sign"
	replayed := signBody(api.Nonce(), "default", "once")
	if code, out := post(t, signURL, builder, "application/json", replayed); code != http.StatusOK {
		t.Fatalf("first sign: %d %s", code, out)
	}
	forged := "hmk_0123456789abcdef_" + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	for _, c := range []struct {
		name, url, token, ctype string
		body                    []byte
		code                    int
		msg                     string
	}{
		{"no token", signURL, "", "application/json", signBody(api.Nonce(), "default", "x"), 401, "no credential"},
		{"malformed token", signURL, "hmk_nonsense", "application/json", signBody(api.Nonce(), "default", "x"), 401, "token"},
		{"unknown token", signURL, forged, "application/json", signBody(api.Nonce(), "default", "x"), 401, "unknown token"},
		{"expired token", signURL, short, "application/json", signBody(api.Nonce(), "default", "x"), 401, "expired at"},
		{"revoked token", signURL, revoked.Secret, "application/json", signBody(api.Nonce(), "default", "x"), 401, "was revoked at"},
		{"other project", signURL, builder, "application/json", signBody(api.Nonce(), "b", "x"), 403, "token is for project default, not b"},
		{"worker as admin", f.url + "/api/v1/op/key.generate", worker, "application/json", []byte(`{"nonce":"n1","name":"evil"}`), 403, "role worker may not admin.keys"},
		{"replay", signURL, builder, "application/json", replayed, 409, "replayed request"},
		{"no nonce", signURL, builder, "application/json", signBody("", "default", "x"), 400, "no nonce"},
		{"malformed JSON", signURL, builder, "application/json", []byte(`{"nonce":`), 400, "malformed request"},
		{"unknown field", signURL, builder, "application/json", []byte(`{"nonce":"n2","project":"default","items":[],"admin":true}`), 400, "unknown field"},
		{"trailing data", signURL, builder, "application/json", append(signBody(api.Nonce(), "default", "x"), "{}"...), 400, "data after the JSON object"},
		{"bad digest", signURL, builder, "application/json", []byte(`{"nonce":"n3","project":"default","items":[{"digest":"sha256:XYZ"}]}`), 400, "items[0]: digest"},
		{"no items", signURL, builder, "application/json", []byte(`{"nonce":"n4","project":"default","items":[]}`), 400, "no items"},
		{"too many items", signURL, builder, "application/json", manyItems(api.MaxSignItems + 1), 413, "at most 1024"},
		{"oversized", signURL, builder, "application/json", bytes.Repeat([]byte(" "), api.MaxRequest+1), 413, "request body over"},
		{"wrong content type", signURL, builder, "text/plain", signBody(api.Nonce(), "default", "x"), 415, "application/json"},
		{"unknown operation", f.url + "/api/v1/op/key.steal", builder, "application/json", []byte(`{}`), 404, "no operation"},
		{"no such project", signURL, builder, "application/json", signBody(api.Nonce(), "nosuch", "x"), 403, "not nosuch"},
		{"no such key", signURL, builder, "application/json", []byte(`{"nonce":"n5","project":"default","key":"nosuch","items":[{"digest":"sha256:` + strings.Repeat("0", 64) + `"}]}`), 404, `no signing key`},
	} {
		before := f.snapshot(t)
		code, out := post(t, c.url, c.token, c.ctype, c.body)
		if code != c.code || !strings.Contains(string(out), c.msg) {
			t.Errorf("%s: %d %s, want %d and %q", c.name, code, out, c.code, c.msg)
		}
		if after := f.snapshot(t); after != before {
			t.Errorf("%s changed what is stored", c.name)
		}
		if c.code == 401 || c.code == 403 || c.code == 409 {
			if !f.lastAuditIs(t, "denied") && !f.lastAuditIs(t, "refused") {
				t.Errorf("%s: not audited", c.name)
			}
		}
	}
}

func manyItems(n int) []byte {
	req := api.SignRequest{Nonce: api.Nonce(), Project: "default"}
	for range n {
		req.Items = append(req.Items, api.SignItem{Digest: "sha256:" + strings.Repeat("ab", 32)})
	}
	body, _ := json.Marshal(req)
	return body
}

// TestNoServerErrorsForGarbage: random bodies to every operation, by a
// caller who may make them all, never get a 5xx.
func TestNoServerErrorsForGarbage(t *testing.T) {
	f := newServer(t)
	admin := planetest.Token(t, f.plane, "admin", auth.SecurityAdmin, "")
	r := rand.New(rand.NewPCG(1, 2))
	fragments := []string{`{`, `}`, `"nonce":"`, `"x"`, `,`, `"name":`, `"items":[`, `]`, `{"digest":"sha256:`, `null`, `-1`,
		`1e999`, `"version":`, `"ttl":`, `"role":"security-admin"`, `"project":"`, `"claims":{"sub":""}`, `"\u0000"`, `true`, `[`, `"`}
	for _, o := range api.Ops() {
		for range 40 {
			var b strings.Builder
			for range 1 + r.IntN(12) {
				b.WriteString(fragments[r.IntN(len(fragments))])
			}
			if code, out := post(t, f.url+"/api/v1/op/"+o.Name, admin, "application/json", []byte(b.String())); code >= 500 {
				t.Errorf("%s with %q: %d %s", o.Name, b.String(), code, out)
			}
		}
	}
}

// TestRateLimit: past its burst, a token is refused with 429 and
// Retry-After; another token is not affected.
func TestRateLimit(t *testing.T) {
	f := newServerWith(t, controlplane.Options{}, func(c *server.Config) { c.Rate, c.Burst = 1, 5 })
	a := planetest.Token(t, f.plane, "a", auth.Auditor, "")
	b := planetest.Token(t, f.plane, "b", auth.Auditor, "")
	limited := 0
	for range 10 {
		if code, _ := post(t, f.url+"/api/v1/op/whoami", a, "application/json", []byte(`{}`)); code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited < 4 {
		t.Errorf("%d of 10 requests over a burst of 5 were limited", limited)
	}
	if code, out := post(t, f.url+"/api/v1/op/whoami", b, "application/json", []byte(`{}`)); code != http.StatusOK {
		t.Errorf("another token: %d %s", code, out)
	}
}

// TestNoKeyMaterialAnywhere: after a workload that touches every key (sign,
// certificates, rotation, audit anchors, refusals), no response, log line,
// error or metric holds any private key in any common encoding, nor a
// token's secret outside the response that issued it.
func TestNoKeyMaterialAnywhere(t *testing.T) {
	f := newServer(t)
	p := f.plane
	var seen bytes.Buffer // every response body
	call := func(path, token string, body []byte) {
		code, out := post(t, f.url+path, token, "application/json", body)
		fmt.Fprintf(&seen, "%s %d %s\n", path, code, out)
	}
	admin := planetest.Must[api.Token](t, p, planetest.Local, api.IssueToken, &api.TokenRequest{Nonce: api.Nonce(), Subject: "admin", Role: "security-admin"})
	builder := planetest.Must[api.Token](t, p, planetest.Local, api.IssueToken, &api.TokenRequest{Nonce: api.Nonce(), Subject: "ci", Role: "builder", Project: "default"})
	auditor := planetest.Token(t, p, "aud", auth.Auditor, "")
	call("/api/v1/op/sign", builder.Secret, signBody(api.Nonce(), "default", "one", "two"))
	call("/api/v1/op/sign", builder.Secret, []byte(`{"nonce":"c1","project":"default","certificate":true,"items":[{"digest":"sha256:`+strings.Repeat("1", 64)+`"},{"payloadType":"application/vnd.in-toto+json","payload":"e30="}]}`))
	call("/api/v1/op/key.generate", admin.Secret, []byte(`{"nonce":"k1","name":"second"}`))
	call("/api/v1/op/key.rotate", admin.Secret, []byte(`{"nonce":"k2","name":"default"}`))
	call("/api/v1/op/ca.rotate", admin.Secret, []byte(`{"nonce":"k3"}`))
	call("/api/v1/op/sign", builder.Secret, []byte(`{"nonce":"c2","project":"default","certificate":true,"items":[{"digest":"sha256:`+strings.Repeat("2", 64)+`"}]}`))
	call("/api/v1/op/key.retire", admin.Secret, []byte(`{"nonce":"k4","name":"default","version":1}`))
	call("/api/v1/op/audit.anchor", admin.Secret, []byte(`{"nonce":"k5"}`))
	call("/api/v1/op/key.generate", builder.Secret, []byte(`{"nonce":"k6","name":"denied"}`))
	call("/api/v1/op/key.generate", admin.Secret, []byte(`{"nonce":"k7","name":"x","backend":"nosuch"}`))
	call("/api/v1/op/sign", "hmk_garbage", []byte(`{}`))
	for _, op := range []string{"key.list", "token.list", "audit.list", "record.list", "oidc.list", "project.list", "whoami"} {
		call("/api/v1/op/"+op, auditor, []byte(`{}`))
	}
	for _, path := range []string{"/metrics", "/api/v1/trusted-root", "/checkpoint", "/api/v1/timestamp/certchain", "/readyz"} {
		_, out := get(t, f.url+path)
		fmt.Fprintf(&seen, "%s %s\n", path, out)
	}
	haystack := seen.String() + f.logs.String()
	if !strings.Contains(haystack, "BEGIN PUBLIC KEY") || !strings.Contains(f.logs.String(), "{") {
		t.Fatal("the workload saw nothing: the test would prove nothing")
	}

	// Every private key the control plane holds, in plaintext in this test.
	var keys int
	for _, dir := range []string{filepath.Join(f.home, "keys"), filepath.Join(f.home, "control")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.key"))
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(raw)
			if block == nil {
				t.Fatalf("%s: not PEM", file)
			}
			keys++
			der := block.Bytes
			// The tail of the DER holds the secret; its header is common
			// to all keys of a type and proves nothing.
			b64, hx := base64.StdEncoding.EncodeToString(der), hex.EncodeToString(der)
			secrets := map[string]string{
				"PKCS#8 base64": b64[len(b64)/2:],
				"PKCS#8 hex":    hx[len(hx)/2:],
			}
			k, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			var scalar []byte
			switch k := k.(type) {
			case *ecdsa.PrivateKey:
				scalar, _ = k.Bytes()
			default:
				if s, ok := k.(interface{ Seed() []byte }); ok {
					scalar = s.Seed()
				}
			}
			if len(scalar) == 0 {
				t.Fatalf("%s: no scalar from %T", file, k)
			}
			secrets["scalar hex"] = hex.EncodeToString(scalar)
			secrets["scalar HEX"] = strings.ToUpper(hex.EncodeToString(scalar))
			secrets["scalar base64"] = base64.StdEncoding.EncodeToString(scalar)[:40]
			secrets["scalar base64url"] = base64.RawURLEncoding.EncodeToString(scalar)[:40]
			secrets["scalar bytes"] = string(scalar)
			for what, s := range secrets {
				if strings.Contains(haystack, s) {
					t.Errorf("%s: its %s appears in a response or log line", filepath.Base(file), what)
				}
			}
		}
	}
	if keys < 6 { // log, tsa, audit, ca, ca.v2, default, default.v2, second
		t.Fatalf("found %d private keys; the test would prove little", keys)
	}
	// Token secrets appear only in the response that issued them: neither
	// of these was issued over HTTP, so they appear nowhere.
	for _, tok := range []*api.Token{admin, builder} {
		secret := tok.Secret[strings.LastIndex(tok.Secret, "_")+1:]
		if strings.Contains(haystack, secret) {
			t.Errorf("token %s's secret appears in a response or log line", tok.ID)
		}
	}
}

// TestBadTokenFlood: made-up tokens from one address are stopped by its
// budget of failed authentications, before each costs a lookup and an
// audit entry; a good token from elsewhere is not affected.
func TestBadTokenFlood(t *testing.T) {
	f := newServer(t)
	limited := 0
	for i := range 100 {
		forged := fmt.Sprintf("hmk_%016x_%s", i, base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
		if code, _ := post(t, f.url+"/api/v1/op/whoami", forged, "application/json", []byte(`{}`)); code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited < 40 {
		t.Errorf("%d of 100 made-up tokens were rate limited", limited)
	}
	page := planetest.Must[api.AuditLog](t, f.plane, planetest.Local, api.ReadAudit, &api.AuditRequest{Limit: 10000})
	if len(page.Entries) > 70 {
		t.Errorf("%d audit entries for 100 made-up tokens: the flood wrote the audit log", len(page.Entries))
	}
}
