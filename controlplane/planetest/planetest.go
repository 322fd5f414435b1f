// Package planetest sets up control planes for tests: a new data directory,
// initialized and opened, and typed calls of its API as the local operator
// or any principal.
package planetest

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/hallmark-dev/hallmark/tsa"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/controlplane"
)

// Local is the in-process operator.
var Local = auth.Local("test")

// New returns an open control plane on a new data directory (keys in
// plaintext), with the signing key "default"; it is closed at the end of
// the test. opts may set the database and key backends.
func New(t testing.TB, opts controlplane.Options) (*controlplane.Plane, string) {
	t.Helper()
	home := t.TempDir()
	if err := controlplane.Init(home, controlplane.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := controlplane.Open(context.Background(), home, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	Must[api.Key](t, p, Local, api.GenerateKey, &api.KeyRequest{Nonce: api.Nonce(), Name: controlplane.DefaultKey})
	return p, home
}

// Call runs the operation o as who with req.
func Call[Resp any](p *controlplane.Plane, who auth.Principal, o api.Op, req any) (*Resp, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	out, err := p.Handle(context.Background(), who, o.Name, body)
	if err != nil {
		return nil, err
	}
	resp := new(Resp)
	return resp, json.Unmarshal(out, resp)
}

// Must is Call, failing the test on an error.
func Must[Resp any](t testing.TB, p *controlplane.Plane, who auth.Principal, o api.Op, req any) *Resp {
	t.Helper()
	resp, err := Call[Resp](p, who, o, req)
	if err != nil {
		t.Fatalf("%s: %v", o.Name, err)
	}
	return resp
}

// Token issues an API token of role for project and returns it.
func Token(t testing.TB, p *controlplane.Plane, subject string, role auth.Role, project string) string {
	t.Helper()
	return Must[api.Token](t, p, Local, api.IssueToken, &api.TokenRequest{
		Nonce: api.Nonce(), Subject: subject, Role: string(role), Project: project,
	}).Secret
}

// Sign has the key "default" sign the SHA-256 of each message for the
// default project, and returns the bundles.
func Sign(t testing.TB, p *controlplane.Plane, messages ...string) [][]byte {
	t.Helper()
	req := &api.SignRequest{Nonce: api.Nonce(), Project: controlplane.DefaultProject}
	for _, m := range messages {
		sum := sha256.Sum256([]byte(m))
		req.Items = append(req.Items, api.SignItem{Digest: "sha256:" + hex.EncodeToString(sum[:])})
	}
	var out [][]byte
	for _, b := range Must[api.SignResponse](t, p, Local, api.Sign, req).Bundles {
		out = append(out, b)
	}
	return out
}

// PublicKey returns the public key of the newest version of the key name.
func PublicKey(t testing.TB, p *controlplane.Plane, name string) crypto.PublicKey {
	t.Helper()
	var newest *api.Key
	for _, k := range Must[api.Keys](t, p, Local, api.ListKeys, &api.Empty{}).Keys {
		if k.Name == name && (newest == nil || k.Version > newest.Version) {
			newest = &k
		}
	}
	if newest == nil {
		t.Fatalf("no key %q", name)
	}
	block, _ := pem.Decode([]byte(newest.PublicPEM))
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TSA returns the plane's timestamp authority.
func TSA(t testing.TB, p *controlplane.Plane) *tsa.Authority {
	t.Helper()
	a, err := p.TSA()
	if err != nil {
		t.Fatal(err)
	}
	return a
}
