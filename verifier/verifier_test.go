package verifier_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/verifier"
)

// keyPolicy is the policy for key-signed bundles without a log, which is what
// hallmark sign makes until the transparency log exists.
var keyPolicy = verifier.Policy{Key: true, IgnoreTlogUnsafe: true}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newVerifier(t *testing.T, pub crypto.PublicKey) *verifier.Verifier {
	t.Helper()
	v, err := verifier.New(verifier.Trust{Keys: []crypto.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signFile(t *testing.T, k *ecdsa.PrivateKey, data []byte) (*bundle.Bundle, []byte) {
	t.Helper()
	sum := sha256.Sum256(data)
	sig, err := k.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	hint, err := bundle.KeyHint(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewMessageSignature(sum[:], sig, hint)
	if err != nil {
		t.Fatal(err)
	}
	return b, sig
}

// TestFlipAnyByte flips every byte of a signed file, of its signature, and of
// a DSSE envelope's payload and signature: each flip must fail verification.
func TestFlipAnyByte(t *testing.T) {
	k := newKey(t)
	v := newVerifier(t, k.Public())
	data := []byte("the quick brown fox jumps over the lazy dog, signed by hallmark\n")
	path := filepath.Join(t.TempDir(), "artifact")
	writeFile(t, path, data)
	b, sig := signFile(t, k, data)
	if _, err := v.Verify(b, verifier.Artifact{Path: path}, keyPolicy); err != nil {
		t.Fatalf("unmodified: %v", err)
	}

	for i := range data {
		flipped := append([]byte(nil), data...)
		flipped[i] ^= 0x01
		writeFile(t, path, flipped)
		if _, err := v.Verify(b, verifier.Artifact{Path: path}, keyPolicy); !errors.Is(err, verifier.ErrFailed) {
			t.Fatalf("file byte %d flipped: err = %v, want a verification failure", i, err)
		}
	}
	writeFile(t, path, data)

	for i := range sig {
		bad := append([]byte(nil), sig...)
		bad[i] ^= 0x01
		b.GetMessageSignature().Signature = bad
		if _, err := v.Verify(b, verifier.Artifact{Path: path}, keyPolicy); err == nil {
			t.Fatalf("signature byte %d flipped: verified", i)
		}
	}

	// DSSE: the statement names the file; flip the payload and the signature.
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "artifact", "digest": map[string]string{"sha256": sha256Hex(data)}}},
		"predicateType": "https://example.com/p",
		"predicate":     map[string]any{},
	})
	env, err := dsse.Sign(k, "", dsse.PayloadTypeInToto, stmt)
	if err != nil {
		t.Fatal(err)
	}
	hint, _ := bundle.KeyHint(k.Public())
	db, err := bundle.NewDSSE(env, hint)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(db, verifier.Artifact{Path: path}, keyPolicy); err != nil {
		t.Fatalf("DSSE unmodified: %v", err)
	}
	for i := range stmt {
		bad := append([]byte(nil), stmt...)
		bad[i] ^= 0x01
		db.GetDsseEnvelope().Payload = bad
		if _, err := v.Verify(db, verifier.Artifact{Path: path}, keyPolicy); err == nil {
			t.Fatalf("DSSE payload byte %d flipped: verified", i)
		}
	}
	db.GetDsseEnvelope().Payload = stmt
	dsig := env.Signatures[0].Sig
	for i := range dsig {
		bad := append([]byte(nil), dsig...)
		bad[i] ^= 0x01
		db.GetDsseEnvelope().Signatures = []*protodsse.Signature{{Sig: bad}}
		if _, err := v.Verify(db, verifier.Artifact{Path: path}, keyPolicy); err == nil {
			t.Fatalf("DSSE signature byte %d flipped: verified", i)
		}
	}
}

func TestDigestArtifact(t *testing.T) {
	k := newKey(t)
	v := newVerifier(t, k.Public())
	data := []byte("by digest")
	b, _ := signFile(t, k, data)
	d := digest.SHA256(sha256.Sum256(data))
	if _, err := v.Verify(b, verifier.Artifact{Digest: &d}, keyPolicy); err != nil {
		t.Fatal(err)
	}
	d[0] ^= 1
	if _, err := v.Verify(b, verifier.Artifact{Digest: &d}, keyPolicy); !errors.Is(err, verifier.ErrFailed) {
		t.Fatalf("wrong digest: err = %v", err)
	}
}

func TestRefusesUnsafeSetups(t *testing.T) {
	if _, err := verifier.New(verifier.Trust{}); err == nil {
		t.Error("New with nothing trusted succeeded")
	}
	k := newKey(t)
	v := newVerifier(t, k.Public())
	b, _ := signFile(t, k, []byte("x"))
	d := digest.SHA256(sha256.Sum256([]byte("x")))
	art := verifier.Artifact{Digest: &d}
	for name, p := range map[string]verifier.Policy{
		"no signer":          {IgnoreTlogUnsafe: true},
		"key and identity":   {Key: true, Identity: &verifier.Identity{SubjectAlternativeName: "a", Issuer: "b"}, IgnoreTlogUnsafe: true},
		"tlog, none in root": {Key: true},
	} {
		if _, err := v.Verify(b, art, p); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	// A key bundle does not satisfy a certificate identity policy.
	if _, err := v.Verify(b, art, verifier.Policy{Identity: &verifier.Identity{SubjectAlternativeName: "a", Issuer: "b"}, IgnoreTlogUnsafe: true}); err == nil {
		t.Error("key bundle satisfied an identity policy")
	}
	// Another key does not verify.
	other := newVerifier(t, newKey(t).Public())
	if _, err := other.Verify(b, art, keyPolicy); !errors.Is(err, verifier.ErrFailed) {
		t.Errorf("other key: err = %v", err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sha256Hex(data []byte) string {
	d := digest.SHA256(sha256.Sum256(data))
	return d.Hex()
}
