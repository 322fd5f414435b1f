package authenticode

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/tsa"
)

var (
	fixtureDir  string
	fixtureOnce sync.Map // goarch → *fixture
)

type fixture struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "authenticode-test-")
	if err != nil {
		panic(err)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goPE returns a copy, in t.TempDir(), of a tiny Go program built for
// windows/goarch (built once per test run).
func goPE(t testing.TB, goarch string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not installed: cannot build PE fixtures")
	}
	v, _ := fixtureOnce.LoadOrStore(goarch, &fixture{})
	f := v.(*fixture)
	f.once.Do(func() {
		src := filepath.Join(fixtureDir, "src-"+goarch)
		if f.err = os.MkdirAll(src, 0o755); f.err != nil {
			return
		}
		os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644)
		os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o644)
		f.path = filepath.Join(fixtureDir, "hello-"+goarch+".exe")
		cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", f.path, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			f.err = err
			t.Logf("%s", out)
		}
	})
	if f.err != nil {
		t.Fatalf("building the windows/%s fixture: %v", goarch, f.err)
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "hello.exe")
	if err := os.WriteFile(out, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// testPKI is a code-signing CA and a TSA.
type testPKI struct {
	root, tsaRoot *x509.Certificate
	interKey      crypto.Signer
	signer        *Signer
	tsa           *tsa.Authority
	dir           string // root.pem, tsa-root.pem
}

func (p *testPKI) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return pool
}

func (p *testPKI) tsaRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.tsaRoot)
	return pool
}

func (p *testPKI) sign(ctx context.Context, digest []byte) ([]byte, error) {
	return p.signer.Sign(ctx, digest)
}

func mustCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writePEM(t testing.TB, path string, certs ...*x509.Certificate) {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newPKI makes root → intermediate → code-signing leaf (key type "ecdsa" or
// "rsa"), and a TSA; with timestamps if ts is true.
func newPKI(t testing.TB, keyType string, ts bool) *testPKI {
	t.Helper()
	notBefore, notAfter := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := mustCert(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Code Signing Root"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true}, nil, rootKey.Public(), rootKey)
	interKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	inter := mustCert(t, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test Code Signing CA"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true}, root, interKey.Public(), rootKey)
	var key crypto.Signer
	switch keyType {
	case "rsa":
		key, _ = rsa.GenerateKey(rand.Reader, 2048)
	default:
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	leaf := mustCert(t, &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{Organization: []string{"Hallmark Test"}, CommonName: "Hallmark Test Signer"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, BasicConstraintsValid: true}, inter, key.Public(), interKey)
	p := &testPKI{root: root, signer: &Signer{Key: key, Chain: []*x509.Certificate{leaf, inter}, ProgramName: "hello", MoreInfoURL: "https://example.com/"}, dir: t.TempDir(), interKey: interKey}

	tsaKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	chain, _, err := tsa.NewChain(tsaKey, "Hallmark Test", notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	if p.tsa, err = tsa.New(tsa.Config{Signer: tsaKey, Chain: chain}); err != nil {
		t.Fatal(err)
	}
	p.tsaRoot = chain[len(chain)-1]
	if ts {
		p.signer.Timestamp = func(ctx context.Context, sig []byte) ([]byte, error) {
			resp, err := p.tsa.Timestamp(sig)
			if err != nil {
				return nil, err
			}
			return TokenFromResponse(resp)
		}
	}
	writePEM(t, filepath.Join(p.dir, "root.pem"), root)
	writePEM(t, filepath.Join(p.dir, "tsa-root.pem"), p.tsaRoot)
	return p
}
