package tsa_test

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/tsa"
)

// opensslDir writes the data, the root (root.pem) and the untrusted leaf and
// intermediates (untrusted.pem) of f into a temporary directory.
func opensslDir(t *testing.T, f fixture, data []byte) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not found in PATH; skipping the OpenSSL interoperability test")
	}
	dir := t.TempDir()
	writePEM := func(name string, certs []*x509.Certificate) {
		var b []byte
		for _, c := range certs {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		write(t, dir, name, b)
	}
	n := len(f.chain)
	writePEM("root.pem", f.chain[n-1:])
	writePEM("untrusted.pem", f.chain[:n-1])
	write(t, dir, "data", data)
	return dir
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func openssl(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func opensslVerify(t *testing.T, dir string, against ...string) {
	t.Helper()
	args := append([]string{"ts", "-verify", "-in", "resp.tsr", "-CAfile", "root.pem", "-untrusted", "untrusted.pem"}, against...)
	if out := openssl(t, dir, args...); !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl ts -verify: %s", out)
	}
}

func TestOpenSSLVerifiesTimestamp(t *testing.T) {
	for _, tt := range []struct {
		name  string
		chain func(crypto.Signer) []*x509.Certificate
	}{
		{"NewChain", nil},
		{"intermediate", func(k crypto.Signer) []*x509.Certificate { return threeLevel(t, k) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			if tt.chain != nil {
				f.chain = tt.chain(f.key)
				f.a = newAuthority(t, f.key, f.chain, func() time.Time { return testNow })
			}
			data := []byte("signature bytes")
			dir := opensslDir(t, f, data)
			resp, err := f.a.Timestamp(data)
			if err != nil {
				t.Fatal(err)
			}
			write(t, dir, "resp.tsr", resp)
			opensslVerify(t, dir, "-data", "data")

			text := openssl(t, dir, "ts", "-reply", "-in", "resp.tsr", "-text")
			for _, want := range []string{
				"Status: Granted.",
				"Policy OID: " + tsa.DefaultPolicy.String(),
				"Hash Algorithm: sha256",
				"Time stamp: " + testNow.Format("Jan _2 15:04:05 2006 GMT"),
				"Accuracy: 0x01 seconds",
				"Nonce: 0x",
				"TSA: DirName:" + "/CN=" + f.chain[0].Subject.CommonName,
			} {
				if !strings.Contains(strings.ReplaceAll(text, "/O=Hallmark Test", ""), want) {
					t.Errorf("openssl ts -reply -text lacks %q:\n%s", want, text)
				}
			}
			write(t, dir, "other", []byte("other data"))
			cmd := exec.Command("openssl", "ts", "-verify", "-in", "resp.tsr", "-data", "other", "-CAfile", "root.pem")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("openssl verified the response for other data:\n%s", out)
			}
		})
	}
}

// TestOpenSSLQuery answers requests made by openssl ts -query.
func TestOpenSSLQuery(t *testing.T) {
	f := newFixture(t, nil)
	data := []byte("artifact signature")
	for _, tt := range []struct {
		name string
		args []string
		fail string // "" for granted, else the failure openssl prints
	}{
		{"sha256 cert no nonce", []string{"-sha256", "-cert", "-no_nonce"}, ""},
		{"sha256 cert nonce", []string{"-sha256", "-cert"}, ""},
		{"sha384 no cert", []string{"-sha384"}, ""},
		{"sha512 our policy", []string{"-sha512", "-cert", "-tspolicy", tsa.DefaultPolicy.String()}, ""},
		{"sha1", []string{"-sha1", "-cert"}, "unrecognized or unsupported algorithm identifier"},
		{"md5", []string{"-md5", "-cert"}, "unrecognized or unsupported algorithm identifier"},
		{"foreign policy", []string{"-sha256", "-tspolicy", "1.2.3.4"}, "the requested TSA policy is not supported by the TSA"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := opensslDir(t, f, data)
			openssl(t, dir, append([]string{"ts", "-query", "-data", "data", "-out", "req.tsq"}, tt.args...)...)
			req, err := os.ReadFile(filepath.Join(dir, "req.tsq"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.a.Respond(req)
			if (err == nil) != (tt.fail == "") {
				t.Fatalf("Respond: %v", err)
			}
			write(t, dir, "resp.tsr", resp)
			if tt.fail != "" {
				text := openssl(t, dir, "ts", "-reply", "-in", "resp.tsr", "-text")
				if !strings.Contains(text, "Status: Rejected.") || !strings.Contains(text, "Failure info: "+tt.fail) {
					t.Errorf("openssl ts -reply -text:\n%s", text)
				}
				return
			}
			opensslVerify(t, dir, "-queryfile", "req.tsq")
			opensslVerify(t, dir, "-data", "data")
		})
	}
}
