// Package custodytest checks that a custody.Backend keeps the Backend
// contract. Every backend, the custody package's own and any KMS backend
// elsewhere, runs TestBackend in its tests.
package custodytest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/hallmark-dev/hallmark/custody"
)

// TestBackend tests b: generating keys, signing and verifying with them,
// refusing a reused label, bad labels and the wrong expected public key,
// checking digests, signing concurrently, and naming keys in errors. It
// generates a few keys with labels "custodytest-RANDOM-...", so it can run
// more than once on one backend.
func TestBackend(t *testing.T, b custody.Backend) {
	ctx := context.Background()
	if b.Name() == "" {
		t.Error("Name() is empty")
	}
	prefix := "custodytest-" + randomHex(t) + "-"

	// Two keys, the second to be the wrong key for the first.
	ref, pub := generate(t, b, prefix+"a")
	ref2, pub2 := generate(t, b, prefix+"b")
	if ref == ref2 {
		t.Fatalf("two keys have one ref %q", ref)
	}
	if pub.Equal(pub2) {
		t.Fatal("two keys have one public key")
	}

	t.Run("Sign", func(t *testing.T) {
		s, err := b.Signer(ctx, ref, pub)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(s.Public()) {
			t.Error("signer's Public is not the generated public key")
		}
		msg := []byte("hallmark custodytest")
		s256, s384, s512 := sha256.Sum256(msg), sha512.Sum384(msg), sha512.Sum512(msg)
		for _, tt := range []struct {
			hash   crypto.Hash
			digest []byte
		}{
			{crypto.SHA256, s256[:]},
			{crypto.SHA384, s384[:]},
			{crypto.SHA512, s512[:]},
		} {
			sig, err := s.Sign(rand.Reader, tt.digest, tt.hash)
			if err != nil {
				t.Errorf("%v: %v", tt.hash, err)
				continue
			}
			if !ecdsa.VerifyASN1(pub, tt.digest, sig) {
				t.Errorf("%v: signature does not verify with ecdsa.VerifyASN1", tt.hash)
			}
			if ecdsa.VerifyASN1(pub2, tt.digest, sig) {
				t.Errorf("%v: signature verifies with another key", tt.hash)
			}
		}
		// The second key signs too, with its own key.
		s2, err := b.Signer(ctx, ref2, pub2)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := s2.Sign(rand.Reader, s256[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(pub2, s256[:], sig) || ecdsa.VerifyASN1(pub, s256[:], sig) {
			t.Error("second key's signature does not verify with its own key only")
		}
	})

	t.Run("HidesKey", func(t *testing.T) {
		s, err := b.Signer(ctx, ref, pub)
		if err != nil {
			t.Fatal(err)
		}
		switch s.(type) {
		case *ecdsa.PrivateKey, ed25519.PrivateKey, *ed25519.PrivateKey:
			t.Fatalf("signer is a %T: the private key is handed out", s)
		}
		if _, err := x509.MarshalPKCS8PrivateKey(s); err == nil {
			t.Fatal("x509.MarshalPKCS8PrivateKey accepts the signer: the private key can be exported")
		}
	})

	t.Run("BadDigest", func(t *testing.T) {
		s, err := b.Signer(ctx, ref, pub)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte("m"))
		for _, tt := range []struct {
			name   string
			digest []byte
			opts   crypto.SignerOpts
		}{
			{"short", sum[:31], crypto.SHA256},
			{"long", append(sum[:], 0), crypto.SHA256},
			{"nil opts", sum[:], nil},
			{"no hash", sum[:], crypto.Hash(0)},
			{"SHA-1", sum[:20], crypto.SHA1},
			{"SHA-384 size mismatch", sum[:], crypto.SHA384},
		} {
			if _, err := s.Sign(rand.Reader, tt.digest, tt.opts); err == nil {
				t.Errorf("%s: Sign succeeded", tt.name)
			}
		}
	})

	t.Run("LabelReuse", func(t *testing.T) {
		_, _, err := b.Generate(ctx, prefix+"a")
		if !errors.Is(err, custody.ErrExists) {
			t.Fatalf("Generate of a taken label: err = %v, want ErrExists", err)
		}
		if !strings.Contains(err.Error(), prefix+"a") {
			t.Errorf("error does not name the label: %v", err)
		}
		// The existing key is untouched.
		s, err := b.Signer(ctx, ref, pub)
		if err != nil {
			t.Fatalf("existing key after reuse: %v", err)
		}
		sum := sha256.Sum256([]byte("after"))
		sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil || !ecdsa.VerifyASN1(pub, sum[:], sig) {
			t.Fatalf("existing key after reuse does not sign: %v", err)
		}
	})

	t.Run("BadLabel", func(t *testing.T) {
		for _, label := range []string{
			"",
			".hidden",
			"-flag",
			"_under",
			"a/b",
			"../escape",
			"with space",
			"semi;colon",
			"query?",
			"pct%41",
			"ünïcode",
			"nul\x00",
			strings.Repeat("x", 65),
		} {
			_, _, err := b.Generate(ctx, label)
			if err == nil {
				t.Errorf("Generate(%q) succeeded", label)
			} else if errors.Is(err, custody.ErrExists) {
				t.Errorf("Generate(%q): %v, want a bad label error", label, err)
			}
		}
	})

	t.Run("WrongKey", func(t *testing.T) {
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			pub  crypto.PublicKey
		}{
			{"other key on the backend", pub2},
			{"key from elsewhere", &other.PublicKey},
		} {
			_, err := b.Signer(ctx, ref, tt.pub)
			if !errors.Is(err, custody.ErrWrongKey) {
				t.Errorf("%s: err = %v, want ErrWrongKey", tt.name, err)
				continue
			}
			if !strings.Contains(err.Error(), ref) {
				t.Errorf("%s: error does not name the ref: %v", tt.name, err)
			}
		}
		p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		edPub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			pub  crypto.PublicKey
		}{
			{"nil", nil},
			{"nil *ecdsa.PublicKey", (*ecdsa.PublicKey)(nil)},
			{"P-384", &p384.PublicKey},
			{"Ed25519", edPub},
		} {
			if _, err := b.Signer(ctx, ref, tt.pub); err == nil {
				t.Errorf("%s expected key: Signer succeeded", tt.name)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s, err := b.Signer(ctx, ref, pub)
		if err != nil {
			t.Fatal(err)
		}
		if n := SignConcurrently(t, s, 8, 8); n != 64 {
			t.Errorf("%d signatures verified, want 64", n)
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := b.Generate(ctx, prefix+"canceled"); !errors.Is(err, context.Canceled) {
			t.Errorf("Generate: err = %v, want context.Canceled", err)
		}
		if _, err := b.Signer(ctx, ref, pub); !errors.Is(err, context.Canceled) {
			t.Errorf("Signer: err = %v, want context.Canceled", err)
		}
	})
}

// SignConcurrently signs n distinct digests with s from g goroutines each,
// checks every signature with ecdsa.VerifyASN1, and returns how many
// verified.
func SignConcurrently(t testing.TB, s crypto.Signer, g, n int) int {
	t.Helper()
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("signer's public key is a %T", s.Public())
	}
	var (
		mu       sync.Mutex
		verified int
		wg       sync.WaitGroup
	)
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				sum := sha256.Sum256([]byte{byte(i), byte(j), byte(j >> 8)})
				sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
				if err != nil {
					t.Errorf("goroutine %d, signature %d: %v", i, j, err)
					return
				}
				if !ecdsa.VerifyASN1(pub, sum[:], sig) {
					t.Errorf("goroutine %d, signature %d: does not verify", i, j)
					continue
				}
				mu.Lock()
				verified++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return verified
}

func generate(t *testing.T, b custody.Backend, label string) (string, *ecdsa.PublicKey) {
	t.Helper()
	ref, pub, err := b.Generate(context.Background(), label)
	if err != nil {
		t.Fatalf("Generate(%q): %v", label, err)
	}
	if ref == "" {
		t.Fatalf("Generate(%q): empty ref", label)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		t.Fatalf("Generate(%q): public key is a %T, want a P-256 *ecdsa.PublicKey", label, pub)
	}
	return ref, k
}

func randomHex(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
