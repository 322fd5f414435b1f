package custody_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/custody"
	"github.com/hallmark-dev/hallmark/custody/custodytest"
	"github.com/hallmark-dev/hallmark/keystore"
)

func passphrase(p string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(p), nil }
}

// The File tests run in parallel: scrypt is slow. (The PKCS#11 tests
// cannot: they set SOFTHSM2_CONF.)

func TestFileConformance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		pass func() ([]byte, error)
	}{
		{"encrypted", passphrase("correct horse")},
		{"plaintext", custody.PlaintextUnsafe},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			custodytest.TestBackend(t, &custody.File{Dir: t.TempDir(), Passphrase: tt.pass})
		})
	}
}

func TestFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	f := &custody.File{Dir: dir, Passphrase: passphrase("correct horse")}
	ref, pub, err := f.Generate(ctx, "release.v2")
	if err != nil {
		t.Fatal(err)
	}
	if ref != "release.v2" {
		t.Errorf("ref = %q, want the label", ref)
	}

	// The key is on disk encrypted, in the keystore's (cosign's) format,
	// and the keystore reads it.
	raw, err := os.ReadFile(filepath.Join(dir, "release.v2.key"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Errorf("key file is not in the encrypted format:\n%s", raw)
	}
	ks := &keystore.Store{Dir: dir}
	stored, err := ks.Public("release.v2")
	if err != nil {
		t.Fatal(err)
	}
	if !pub.(*ecdsa.PublicKey).Equal(stored) {
		t.Error("keystore's public key is not the one Generate returned")
	}

	// A second File on the same directory (a restarted control plane) signs.
	f2 := &custody.File{Dir: dir, Passphrase: passphrase("correct horse")}
	s, err := f2.Signer(ctx, ref, pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("artifact"))
	sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), sum[:], sig) {
		t.Error("signature does not verify")
	}

	if _, err := f.Signer(ctx, "nosuch", pub); !errors.Is(err, custody.ErrNotFound) {
		t.Errorf("missing key: err = %v, want ErrNotFound", err)
	}
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	const pass = "correct horse"
	f := &custody.File{Dir: dir, Passphrase: passphrase(pass)}
	ref, pub, err := f.Generate(ctx, "release")
	if err != nil {
		t.Fatal(err)
	}
	plain := &custody.File{Dir: dir, Passphrase: custody.PlaintextUnsafe}
	if _, _, err := plain.Generate(ctx, "plain"); err != nil {
		t.Fatal(err)
	}
	_, plainPub, err := (&custody.File{Dir: t.TempDir(), Passphrase: custody.PlaintextUnsafe}).Generate(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name    string
		f       *custody.File
		ref     string
		pub     crypto.PublicKey
		is      error  // if not nil, errors.Is(err, is)
		contain string // err contains this
	}{
		{"wrong passphrase", &custody.File{Dir: dir, Passphrase: passphrase("wrong horse")}, ref, pub, custody.ErrPassphrase, `"release"`},
		{"passphrase error", &custody.File{Dir: dir, Passphrase: func() ([]byte, error) { return nil, os.ErrPermission }}, ref, pub, os.ErrPermission, "passphrase"},
		{"no passphrase function", &custody.File{Dir: dir}, ref, pub, nil, "PlaintextUnsafe"},
		{"unencrypted key", f, "plain", plainPub, nil, "unencrypted"},
		{"wrong key", f, ref, plainPub, custody.ErrWrongKey, `"release"`},
		{"bad ref", f, "../release", pub, nil, "label"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f.Signer(ctx, tt.ref, tt.pub)
			if err == nil {
				t.Fatal("Signer succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.contain) || !strings.Contains(err.Error(), dir) {
				t.Errorf("err = %v, want it to name %q and %s", err, tt.contain, dir)
			}
			if strings.Contains(err.Error(), "horse") {
				t.Errorf("error contains the passphrase: %v", err)
			}
		})
	}
}

func TestFilePassphraseAskedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	asked := 0
	f := &custody.File{Dir: t.TempDir(), Passphrase: func() ([]byte, error) {
		asked++
		return []byte("correct horse"), nil
	}}
	for _, label := range []string{"a", "b"} {
		ref, pub, err := f.Generate(ctx, label)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Signer(ctx, ref, pub); err != nil {
			t.Fatal(err)
		}
	}
	if asked != 1 {
		t.Errorf("passphrase asked %d times, want 1", asked)
	}
}
