package custody_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/custody"
	"github.com/hallmark-dev/hallmark/custody/custodytest"
	"github.com/hallmark-dev/hallmark/custody/softhsmtest"
)

// openPKCS11 opens cfg's token and closes it when the test ends.
func openPKCS11(t testing.TB, cfg custody.PKCS11Config) *custody.PKCS11 {
	t.Helper()
	p, err := custody.OpenPKCS11(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func TestPKCS11Conformance(t *testing.T) {
	custodytest.TestBackend(t, openPKCS11(t, softhsmtest.New(t)))
}

func TestPKCS11(t *testing.T) {
	ctx := context.Background()
	cfg := softhsmtest.New(t)
	p, err := custody.OpenPKCS11(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref, pub, err := p.Generate(ctx, "release.v2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ref, "pkcs11:id=%") || !strings.HasSuffix(ref, ";object=release.v2;type=private") {
		t.Errorf("ref = %q, want pkcs11:id=%%..;object=release.v2;type=private", ref)
	}

	s, err := p.Signer(ctx, ref, pub)
	if err != nil {
		t.Fatal(err)
	}
	if n := custodytest.SignConcurrently(t, s, 16, 1000/16+1); n != 16*(1000/16+1) {
		t.Errorf("%d signatures verified, want %d", n, 16*(1000/16+1))
	}

	// After Close, the backend and its signers refuse to work.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := p.Signer(ctx, ref, pub); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Signer after Close: err = %v, want closed", err)
	}
	if _, _, err := p.Generate(ctx, "after"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Generate after Close: err = %v, want closed", err)
	}
	if n := custodytest.SignConcurrently(&quietT{TB: t}, s, 1, 1); n != 0 {
		t.Error("signer signs after its backend is closed")
	}

	// A restarted control plane signs with the stored ref and public key.
	p2 := openPKCS11(t, cfg)
	s2, err := p2.Signer(ctx, ref, pub)
	if err != nil {
		t.Fatal(err)
	}
	if n := custodytest.SignConcurrently(t, s2, 4, 4); n != 16 {
		t.Errorf("after reopening: %d signatures verified, want 16", n)
	}
	if _, _, err := p2.Generate(ctx, "release.v2"); !errors.Is(err, custody.ErrExists) {
		t.Errorf("label reuse after reopening: err = %v, want ErrExists", err)
	}
}

// quietT turns the test errors of a helper into a count.
type quietT struct {
	testing.TB
	errors int
}

func (q *quietT) Errorf(string, ...any) { q.errors++ }

func TestPKCS11Signer(t *testing.T) {
	ctx := context.Background()
	p := openPKCS11(t, softhsmtest.New(t))
	ref, pub, err := p.Generate(ctx, "release")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		ref  string
		is   error
		err  string
	}{
		{"unknown id", "pkcs11:id=%00%01;object=release;type=private", custody.ErrNotFound, ""},
		{"unknown label", strings.Replace(ref, "object=release", "object=other", 1), custody.ErrNotFound, ""},
		{"no id", "pkcs11:object=release", nil, "no id attribute"},
		{"public object", strings.Replace(ref, "type=private", "type=public", 1), nil, `type "public"`},
		{"token attribute", "pkcs11:token=x;id=%00;object=release", nil, `"token": not supported`},
		{"not a URI", "release", nil, `does not start with "pkcs11:"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Signer(ctx, tt.ref, pub)
			if err == nil {
				t.Fatal("Signer succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.ref) || !strings.Contains(err.Error(), softhsmtest.TokenLabel) {
				t.Errorf("err = %v, want it to contain %q and name the token and the ref", err, tt.err)
			}
		})
	}
	if _, err := p.Signer(ctx, ref, pub.(*ecdsa.PublicKey)); err != nil {
		t.Fatal(err)
	}
}

func TestOpenPKCS11Errors(t *testing.T) {
	cfg := softhsmtest.New(t)
	notLib := filepath.Join(t.TempDir(), "notlib.so")
	if err := os.WriteFile(notLib, []byte("not a library"), 0o600); err != nil {
		t.Fatal(err)
	}
	const wrongPIN = "wrong-pin-98765"
	for _, tt := range []struct {
		name string
		cfg  custody.PKCS11Config
		is   error
		err  string
	}{
		{"wrong PIN", custody.PKCS11Config{Module: cfg.Module, TokenLabel: cfg.TokenLabel, PIN: wrongPIN}, custody.ErrPIN, `token "hallmark-test": login: wrong PIN (pkcs11: 0xA0: CKR_PIN_INCORRECT)`},
		{"no such token", custody.PKCS11Config{Module: cfg.Module, TokenLabel: "nosuch", PIN: wrongPIN}, nil, `token "nosuch": no token with this label in module ` + cfg.Module},
		{"no such module", custody.PKCS11Config{Module: "/nonexistent/libpkcs11.so", TokenLabel: cfg.TokenLabel, PIN: wrongPIN}, nil, "module /nonexistent/libpkcs11.so: not found"},
		{"not a library", custody.PKCS11Config{Module: notLib, TokenLabel: cfg.TokenLabel, PIN: wrongPIN}, nil, "cannot load it as a PKCS#11 library"},
		{"relative module", custody.PKCS11Config{Module: "libsofthsm2.so", TokenLabel: cfg.TokenLabel, PIN: wrongPIN}, nil, "not an absolute path"},
		{"no PIN", custody.PKCS11Config{Module: cfg.Module, TokenLabel: cfg.TokenLabel}, nil, "no PIN"},
		{"no token label", custody.PKCS11Config{Module: cfg.Module, PIN: wrongPIN}, nil, "no token label"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := custody.OpenPKCS11(tt.cfg)
			if err == nil {
				p.Close()
				t.Fatal("OpenPKCS11 succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want it to contain %q", err, tt.err)
			}
			if strings.Contains(err.Error(), wrongPIN) {
				t.Errorf("error contains the PIN: %v", err)
			}
		})
	}

	// The right PIN still works: the wrong ones did not lock the token.
	p := openPKCS11(t, cfg)

	// While the token is open, the library accepts any PIN; OpenPKCS11
	// does not.
	_, err := custody.OpenPKCS11(custody.PKCS11Config{Module: cfg.Module, TokenLabel: cfg.TokenLabel, PIN: wrongPIN})
	if !errors.Is(err, custody.ErrPIN) {
		t.Errorf("wrong PIN while open: err = %v, want ErrPIN", err)
	}
	// The right PIN shares the open token; closing one leaves the other.
	p2, err := custody.OpenPKCS11(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Generate(context.Background(), "still-open"); err != nil {
		t.Errorf("after closing the second: %v", err)
	}
	// So does the same library by another name.
	link := filepath.Join(t.TempDir(), "libhsm.so")
	if err := os.Symlink(cfg.Module, link); err != nil {
		t.Fatal(err)
	}
	p3, err := custody.OpenPKCS11(custody.PKCS11Config{Module: link, TokenLabel: cfg.TokenLabel, PIN: cfg.PIN})
	if err != nil {
		t.Fatalf("module through a link: %v", err)
	}
	if err := p3.Close(); err != nil {
		t.Fatal(err)
	}
}
