package verifier_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/keystore"
	"github.com/hallmark-dev/hallmark/trustroot"
	"github.com/hallmark-dev/hallmark/verifier"
)

// BenchmarkVerifyKeyBundle verifies a key-signed message-signature bundle
// over a small file, as `hallmark verify --key K --insecure-ignore-tlog` does
// after start-up: the bundle is parsed and the verifier built once, outside
// the timer; each iteration hashes the file and checks the signature.
func BenchmarkVerifyKeyBundle(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "artifact.txt")
	if err := os.WriteFile(path, []byte("hallmark verify benchmark\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	store := &keystore.Store{Dir: filepath.Join(dir, "keys")}
	if _, err := store.Generate("bench", keystore.ECDSAP256, nil); err != nil {
		b.Fatal(err)
	}
	signer, err := store.Signer("bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	d, _, err := digest.File(path)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := signer.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	hint, err := bundle.KeyHint(signer.Public())
	if err != nil {
		b.Fatal(err)
	}
	made, err := bundle.NewMessageSignature(d[:], sig, hint)
	if err != nil {
		b.Fatal(err)
	}
	data, err := bundle.Marshal(made)
	if err != nil {
		b.Fatal(err)
	}
	bn, err := bundle.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := trustroot.PublicGood()
	if err != nil {
		b.Fatal(err)
	}
	v, err := verifier.New(verifier.Trust{Roots: []*root.TrustedRoot{tr}, Keys: []crypto.PublicKey{signer.Public()}})
	if err != nil {
		b.Fatal(err)
	}
	policy := verifier.Policy{Key: true, IgnoreTlogUnsafe: true}
	for b.Loop() {
		if _, err := v.Verify(bn, verifier.Artifact{Path: path}, policy); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyLoggedBundle verifies what hallmark sign makes: a message
// signature with its transparency log entry (inclusion proof, signed
// checkpoint) and RFC 3161 timestamp, against the control plane's trusted
// root.
func BenchmarkVerifyLoggedBundle(b *testing.B) {
	p, _ := planetest.New(b, controlplane.Options{})
	path := filepath.Join(b.TempDir(), "artifact")
	content := "logged artifact\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	bu, err := bundle.Parse(planetest.Sign(b, p, content)[0])
	if err != nil {
		b.Fatal(err)
	}
	pub := planetest.PublicKey(b, p, controlplane.DefaultKey)
	raw, err := p.TrustedRoot(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		b.Fatal(err)
	}
	v, err := verifier.New(verifier.Trust{Roots: []*root.TrustedRoot{tr}, Keys: []crypto.PublicKey{pub}})
	if err != nil {
		b.Fatal(err)
	}
	policy := verifier.Policy{Key: true}
	if _, err := v.Verify(bu, verifier.Artifact{Path: path}, policy); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(bu, verifier.Artifact{Path: path}, policy); err != nil {
			b.Fatal(err)
		}
	}
}
