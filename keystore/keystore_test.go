package keystore_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/keystore"
)

func TestGenerateAndSign(t *testing.T) {
	s := &keystore.Store{Dir: filepath.Join(t.TempDir(), "keys")}
	pass := []byte("correct horse")
	in, err := s.Generate("release", keystore.ECDSAP256, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Encrypted || in.Type != keystore.ECDSAP256 || len(in.Fingerprint) != 64 {
		t.Fatalf("info = %+v", in)
	}
	fi, err := os.Stat(filepath.Join(s.Dir, "release.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(filepath.Join(s.Dir, "release.key"))
	if !strings.Contains(string(raw), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Errorf("private key is not in the encrypted format:\n%s", raw)
	}

	signer, err := s.Signer("release", pass)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("m"))
	sig, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := s.Public("release")
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), sum[:], sig) {
		t.Fatal("signature does not verify with the stored public key")
	}

	if _, err := s.Signer("release", []byte("wrong")); !errors.Is(err, keystore.ErrPassphrase) {
		t.Errorf("wrong passphrase: err = %v", err)
	}
	if _, err := s.Generate("release", keystore.ECDSAP256, pass); !errors.Is(err, keystore.ErrExists) {
		t.Errorf("second generate: err = %v", err)
	}
	// The existing key was not touched.
	if again, _ := os.ReadFile(filepath.Join(s.Dir, "release.key")); string(again) != string(raw) {
		t.Error("existing key changed")
	}
	if _, err := s.Signer("nosuch", pass); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("missing key: err = %v", err)
	}
}

func TestEd25519AndPlaintext(t *testing.T) {
	s := &keystore.Store{Dir: t.TempDir()}
	in, err := s.Generate("ed", keystore.Ed25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	if in.Encrypted || in.Type != keystore.Ed25519 {
		t.Fatalf("info = %+v", in)
	}
	signer, err := s.Signer("ed", nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign(rand.Reader, []byte("whole message"), crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(signer.Public().(ed25519.PublicKey), []byte("whole message"), sig) {
		t.Fatal("ed25519 signature does not verify")
	}
	keys, err := s.List()
	if err != nil || len(keys) != 1 || keys[0].Name != "ed" {
		t.Fatalf("List = %v, %v", keys, err)
	}
}

func TestRefusals(t *testing.T) {
	s := &keystore.Store{Dir: t.TempDir()}
	for _, name := range []string{"", "../x", "a/b", ".hidden", "-flag", strings.Repeat("a", 65)} {
		if _, err := s.Generate(name, keystore.ECDSAP256, nil); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := s.Generate("k", "rsa-2048", nil); err == nil {
		t.Error("unknown type accepted")
	}
	if _, err := s.Generate("k", keystore.ECDSAP256, []byte{}); err == nil {
		t.Error("empty passphrase accepted")
	}
	// A .key swapped for another key's is detected.
	a, _ := s.Generate("a", keystore.ECDSAP256, nil)
	s.Generate("b", keystore.ECDSAP256, nil)
	_ = a
	data, _ := os.ReadFile(filepath.Join(s.Dir, "b.key"))
	os.WriteFile(filepath.Join(s.Dir, "a.key"), data, 0o600)
	if _, err := s.Signer("a", nil); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("swapped key: err = %v", err)
	}
}
