package controlplane_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/keystore"
	"github.com/hallmark-dev/hallmark/tlog"
	"github.com/hallmark-dev/hallmark/verifier"
)

func TestInitRefusals(t *testing.T) {
	home := t.TempDir()
	if err := controlplane.Init(home, controlplane.InitOptions{Origin: "https://not-a-host"}); err == nil {
		t.Error("an origin that is not a hostname was accepted")
	}
	if err := controlplane.Init(home, controlplane.InitOptions{Passphrase: []byte("pw")}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(home, "control", "config.json"))
	if err := controlplane.Init(home, controlplane.InitOptions{}); err == nil {
		t.Error("a second Init succeeded")
	}
	if again, _ := os.ReadFile(filepath.Join(home, "control", "config.json")); string(again) != string(cfg) {
		t.Error("a refused Init changed the configuration")
	}
	if _, err := controlplane.Open(context.Background(), home, controlplane.Options{Passphrase: func() ([]byte, error) { return []byte("wrong"), nil }}); !errors.Is(err, keystore.ErrPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := controlplane.Open(context.Background(), t.TempDir(), controlplane.Options{}); !errors.Is(err, controlplane.ErrNotInitialized) {
		t.Errorf("empty directory: %v", err)
	}
	p, err := controlplane.Open(context.Background(), home, controlplane.Options{Passphrase: func() ([]byte, error) { return []byte("pw"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())
}

// Sign signs concurrently; the records list exactly the entries made; the
// trusted root names the log, the TSA and the CA as sigstore-go reads them.
func TestSignAndTrustedRoot(t *testing.T) {
	ctx := context.Background()
	p, home := planetest.New(t, controlplane.Options{})
	const n = 20
	var wg sync.WaitGroup
	bundles := make([][]byte, n)
	for i := range n {
		wg.Go(func() { bundles[i] = planetest.Sign(t, p, fmt.Sprint("artifact ", i))[0] })
	}
	wg.Wait()
	raw, err := p.TrustedRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	logs := tr.RekorLogs()
	if len(logs) != 1 || len(tr.TimestampingAuthorities()) != 1 || len(tr.FulcioCertificateAuthorities()) != 1 {
		t.Fatalf("trusted root: %d logs, %d TSAs, %d CAs", len(logs), len(tr.TimestampingAuthorities()), len(tr.FulcioCertificateAuthorities()))
	}
	for _, l := range logs {
		if l.BaseURL != "https://"+controlplane.DefaultOrigin {
			t.Errorf("base URL %q", l.BaseURL)
		}
	}
	for _, raw := range bundles {
		b, err := bundle.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		e := b.VerificationMaterial.TlogEntries
		if len(e) != 1 || !bytes.Equal(e[0].LogId.KeyId, p.LogID()) {
			t.Fatalf("bundle log entry %v", e)
		}
		if len(b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps) != 1 {
			t.Fatal("bundle without a timestamp")
		}
		body := e[0].CanonicalizedBody
		if ok, err := p.Recorded(ctx, p.LogID(), tlog.LeafHash(body)); err != nil || !ok {
			t.Errorf("entry %d is not in the signing records: %v", e[0].LogIndex, err)
		}
		if ok, _ := p.Recorded(ctx, []byte("another log"), tlog.LeafHash(body)); ok {
			t.Error("a record of another log")
		}
	}
	if fromDisk, err := controlplane.TrustedRootOf(ctx, home, ""); err != nil || string(fromDisk) != string(raw) {
		t.Errorf("TrustedRootOf differs from TrustedRoot: %v", err)
	}
}

// TestCARotationInTrustedRoot: rotating the CA publishes both versions in
// the trusted root with overlapping validity; certificates issued before
// and after verify, each chaining to its own CA version.
func TestCARotationInTrustedRoot(t *testing.T) {
	ctx := context.Background()
	p, _ := planetest.New(t, controlplane.Options{})
	signCert := func(msg string) *bundle.Bundle {
		sum := sha256.Sum256([]byte(msg))
		resp := planetest.Must[api.SignResponse](t, p, planetest.Local, api.Sign, &api.SignRequest{
			Nonce: api.Nonce(), Project: "default", Certificate: true,
			Items: []api.SignItem{{Digest: "sha256:" + hex.EncodeToString(sum[:])}},
		})
		b, err := bundle.Parse(resp.Bundles[0])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := signCert("before")
	rotated := planetest.Must[api.Key](t, p, planetest.Local, api.RotateCA, &api.KeyRequest{Nonce: api.Nonce(), Overlap: time.Hour})
	if rotated.Version != 2 {
		t.Fatalf("rotated CA is version %d", rotated.Version)
	}
	after := signCert("after")
	raw, err := p.TrustedRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	cas := tr.FulcioCertificateAuthorities()
	if len(cas) != 2 {
		t.Fatalf("%d CAs in the trusted root, want 2", len(cas))
	}
	old, cur := cas[0].(*root.FulcioCertificateAuthority), cas[1].(*root.FulcioCertificateAuthority)
	if old.ValidityPeriodEnd.IsZero() || old.ValidityPeriodEnd.Sub(time.Now()) > time.Hour || old.ValidityPeriodEnd.Before(cur.ValidityPeriodStart) {
		t.Errorf("old CA valid until %v, new from %v: want an overlap of about an hour", old.ValidityPeriodEnd, cur.ValidityPeriodStart)
	}
	v, err := verifier.New(verifier.Trust{Roots: []*root.TrustedRoot{tr}})
	if err != nil {
		t.Fatal(err)
	}
	for msg, b := range map[string]*bundle.Bundle{"before": before, "after": after} {
		d := digest.SHA256(sha256.Sum256([]byte(msg)))
		id := &verifier.Identity{SubjectAlternativeNameRegexp: "^https://log.hallmark.localhost/projects/default/builders/", Issuer: "https://log.hallmark.localhost"}
		if _, err := v.Verify(b, verifier.Artifact{Digest: &d}, verifier.Policy{Identity: id}); err != nil {
			t.Errorf("certificate issued %s the rotation: %v", msg, err)
		}
	}
	leafBefore, _ := before.VerificationContent()
	leafAfter, _ := after.VerificationContent()
	if bytes.Equal(leafBefore.Certificate().AuthorityKeyId, leafAfter.Certificate().AuthorityKeyId) {
		t.Error("certificates before and after the rotation have the same issuer key")
	}
}

// TestListBounds: lists inside requests are bounded, with errors that say so.
func TestListBounds(t *testing.T) {
	p, _ := planetest.New(t, controlplane.Options{})
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint("p", i)
		}
		return out
	}
	claims := map[string]string{}
	for i := range 33 {
		claims[fmt.Sprint("c", i)] = "v"
	}
	for _, c := range []struct {
		op   api.Op
		req  any
		want string
	}{
		{api.RestrictKey, &api.KeyRequest{Nonce: api.Nonce(), Name: "default", Projects: many(257)}, "at most 256"},
		{api.IssueToken, &api.TokenRequest{Nonce: api.Nonce(), Subject: "s", Role: "auditor", Scopes: many(100)}, "there are only"},
		{api.AddBinding, &api.Binding{Nonce: api.Nonce(), Issuer: "https://i.example", Audience: "a", Claims: claims, Project: "default", Role: "builder"}, "at most 32"},
	} {
		if _, err := planetest.Call[api.Empty](p, planetest.Local, c.op, c.req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.op.Name, err, c.want)
		}
	}
}
