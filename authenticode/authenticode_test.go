package authenticode

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// osslsigncode runs osslsigncode verify on path against p's roots and
// returns its output and whether it reported success.
func osslVerify(t *testing.T, p *testPKI, path string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("osslsigncode"); err != nil {
		t.Skip("osslsigncode is not installed")
	}
	out, err := exec.Command("osslsigncode", "verify", "-in", path, "-CAfile", filepath.Join(p.dir, "root.pem"),
		"-TSA-CAfile", filepath.Join(p.dir, "tsa-root.pem"), "-ignore-crl").CombinedOutput()
	ok := err == nil && strings.Contains(string(out), "Succeeded")
	return string(out), ok
}

var calculatedRE = regexp.MustCompile(`Calculated message digest\s*:\s*([0-9A-F]+)`)

// osslDigest is the image digest osslsigncode verify calculated.
func osslDigest(t *testing.T, out string) []byte {
	t.Helper()
	m := calculatedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no calculated digest in osslsigncode's output:\n%s", out)
	}
	d, err := hex.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func verifyFile(t *testing.T, p *testPKI, path string) (*Signature, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	return Verify(f, fi.Size(), p.roots(), p.tsaRoots(), time.Now())
}

func signFile(t *testing.T, p *testPKI, in string) (string, *Image) {
	t.Helper()
	out := filepath.Join(filepath.Dir(in), "signed-"+filepath.Base(in))
	m, err := SignFile(context.Background(), in, out, p.sign, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return out, m
}

// refChecksum is the PE checksum as ImageHlp computes it, 16 bits at a time.
func refChecksum(b []byte, ckOff int) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		if i == ckOff || i == ckOff+2 {
			continue
		}
		w := uint32(b[i])
		if i+1 < len(b) {
			w |= uint32(b[i+1]) << 8
		}
		sum += w
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return sum + uint32(len(b))
}

func TestSignVerify(t *testing.T) {
	for _, arch := range []string{"amd64", "386"} {
		for _, key := range []string{"ecdsa", "rsa"} {
			for _, ts := range []bool{true, false} {
				name := arch + "/" + key
				if ts {
					name += "/timestamp"
				}
				t.Run(name, func(t *testing.T) {
					p := newPKI(t, key, ts)
					in := goPE(t, arch)
					out, m := signFile(t, p, in)
					if m.PE32Plus != (arch == "amd64") {
						t.Errorf("PE32Plus = %v for %s", m.PE32Plus, arch)
					}
					sig, err := verifyFile(t, p, out)
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if !bytes.Equal(sig.Digest, m.Digest) || sig.Signer.Subject.CommonName != "Hallmark Test Signer" || len(sig.Chain) != 3 {
						t.Errorf("Verify = digest %x signer %v chain %d, want digest %x", sig.Digest, sig.Signer.Subject, len(sig.Chain), m.Digest)
					}
					if (sig.Timestamp != nil) != ts {
						t.Errorf("timestamp = %v, want one: %v", sig.Timestamp, ts)
					} else if ts && (time.Since(sig.Timestamp.Time) > time.Minute || sig.Timestamp.TSA.Subject.CommonName != "Hallmark Test Timestamp Authority") {
						t.Errorf("timestamp = %v by %v", sig.Timestamp.Time, sig.Timestamp.TSA.Subject)
					}
					b, _ := os.ReadFile(out)
					if got, want := binary.LittleEndian.Uint32(b[m.ChecksumOffset:]), refChecksum(b, int(m.ChecksumOffset)); got != want {
						t.Errorf("checksum = %08x, want %08x", got, want)
					}
					fi, _ := os.Stat(out)
					if fi.Mode().Perm() != 0o755 {
						t.Errorf("mode = %v, want 0755 as the input", fi.Mode())
					}
					osslOut, ok := osslVerify(t, p, out)
					if !ok {
						t.Fatalf("osslsigncode verify failed:\n%s", osslOut)
					}
					if d := osslDigest(t, osslOut); !bytes.Equal(d, m.Digest) {
						t.Errorf("osslsigncode calculated %x, Digest %x", d, m.Digest)
					}
					if strings.Contains(osslOut, "invalid PE checksum") {
						t.Errorf("osslsigncode: invalid PE checksum")
					}
					if ts && !strings.Contains(osslOut, "Timestamp Server Signature verification: ok") {
						t.Errorf("osslsigncode did not verify the timestamp:\n%s", osslOut)
					}
				})
			}
		}
	}
}

// TestTamper changes one byte of a signed file, with an overlay, in each
// region and expects osslsigncode and Verify to refuse it.
func TestTamper(t *testing.T) {
	p := newPKI(t, "ecdsa", true)
	in := goPE(t, "amd64")
	f, _ := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(bytes.Repeat([]byte("overlay!"), 1000))
	f.Close()
	out, m := signFile(t, p, in)
	clean, _ := os.ReadFile(out)
	text := m.Sections[0]
	overlayStart := m.Sections[len(m.Sections)-1].RawOffset + m.Sections[len(m.Sections)-1].RawSize
	for _, tc := range []struct {
		name string
		off  int64
	}{
		{"DOS stub", 0x50},
		{"COFF TimeDateStamp", m.ChecksumOffset - 64 - 20 + 4},
		{"optional header SizeOfCode", m.ChecksumOffset - 64 + 4},
		{"section table", m.CertDirOffset + 8 + 11*8 + 3},
		{"first section", text.RawOffset + text.RawSize/2},
		{"last byte of a section", text.RawOffset + text.RawSize - 1},
		{"overlay", overlayStart + 100},
		{"signed digest", m.CertOffset + int64(bytes.Index(clean[m.CertOffset:], m.Digest)) + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(clean)
			b[tc.off] ^= 0x01
			path := filepath.Join(t.TempDir(), "tampered.exe")
			os.WriteFile(path, b, 0o644)
			if _, err := verifyFile(t, p, path); !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify = %v, want ErrInvalid", err)
			}
			if out, ok := osslVerify(t, p, path); ok {
				t.Errorf("osslsigncode verify succeeded on a file changed at 0x%x:\n%s", tc.off, out)
			}
		})
	}
	// osslsigncode 2.9 reports a bad timestamp but still "Succeeded",
	// checking the signer's chain at the current time instead; Verify fails.
	t.Run("timestamp token", func(t *testing.T) {
		b := bytes.Clone(clean)
		b[m.CertOffset+m.CertSize-40] ^= 0x01
		path := filepath.Join(t.TempDir(), "tampered.exe")
		os.WriteFile(path, b, 0o644)
		if _, err := verifyFile(t, p, path); !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify = %v, want ErrInvalid", err)
		}
		if out, _ := osslVerify(t, p, path); !strings.Contains(out, "Timestamp Server Signature verification: failed") {
			t.Errorf("osslsigncode did not report the timestamp failure:\n%s", out)
		}
	})
	t.Run("unchanged", func(t *testing.T) {
		if _, err := verifyFile(t, p, out); err != nil {
			t.Fatal(err)
		}
		if out, ok := osslVerify(t, p, out); !ok {
			t.Fatal(out)
		}
	})
}

// TestOsslsigncodeDigest signs unsigned files with osslsigncode and checks
// that Digest of the unsigned file is what osslsigncode signed, for overlays
// of every length modulo 8.
func TestOsslsigncodeDigest(t *testing.T) {
	if _, err := exec.LookPath("osslsigncode"); err != nil {
		t.Skip("osslsigncode is not installed")
	}
	p := newPKI(t, "ecdsa", false)
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "cert.pem"), p.signer.Chain...)
	der, err := x509.MarshalPKCS8PrivateKey(p.signer.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	t.Run("osslsigncode timestamp", func(t *testing.T) {
		srv := httptest.NewServer(p.tsa)
		defer srv.Close()
		in := goPE(t, "amd64")
		out := filepath.Join(t.TempDir(), "ossl.exe")
		if o, err := exec.Command("osslsigncode", "sign", "-certs", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem"),
			"-h", "sha256", "-ts", srv.URL, "-in", in, "-out", out).CombinedOutput(); err != nil {
			t.Fatalf("osslsigncode sign: %v\n%s", err, o)
		}
		sig, err := verifyFile(t, p, out)
		if err != nil {
			t.Fatalf("Verify of osslsigncode's timestamped signature: %v", err)
		}
		if sig.Timestamp == nil || sig.Timestamp.TSA.Subject.CommonName != "Hallmark Test Timestamp Authority" {
			t.Errorf("timestamp = %+v", sig.Timestamp)
		}
	})
	for _, n := range []int{0, 1, 3, 7, 8, 13} {
		t.Run(fmt.Sprintf("overlay of %d bytes", n), func(t *testing.T) {
			in := goPE(t, "386")
			f, _ := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
			f.Write(bytes.Repeat([]byte{0xa5}, n))
			f.Close()
			b, _ := os.ReadFile(in)
			m, err := Digest(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "ossl.exe")
			if o, err := exec.Command("osslsigncode", "sign", "-certs", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem"),
				"-h", "sha256", "-in", in, "-out", out).CombinedOutput(); err != nil {
				t.Fatalf("osslsigncode sign: %v\n%s", err, o)
			}
			osslOut, ok := osslVerify(t, p, out)
			if !ok {
				t.Fatalf("osslsigncode verify of its own signature failed:\n%s", osslOut)
			}
			if d := osslDigest(t, osslOut); !bytes.Equal(d, m.Digest) {
				t.Errorf("osslsigncode signed %x, Digest %x", d, m.Digest)
			}
			sig, err := verifyFile(t, p, out)
			if err != nil {
				t.Fatalf("Verify of osslsigncode's signature: %v", err)
			}
			if !bytes.Equal(sig.Digest, m.Digest) {
				t.Errorf("Verify digest %x, want %x", sig.Digest, m.Digest)
			}
			// And the other way: our signature of the same file.
			ours, _ := signFile(t, p, in)
			if o, ok := osslVerify(t, p, ours); !ok {
				t.Errorf("osslsigncode verify of our signature failed:\n%s", o)
			}
		})
	}
}

func TestReplace(t *testing.T) {
	p := newPKI(t, "ecdsa", false)
	in := goPE(t, "amd64")
	signed, m1 := signFile(t, p, in)
	before, _ := os.ReadFile(signed)
	_, err := SignFile(context.Background(), signed, signed, p.sign, Options{})
	if !errors.Is(err, ErrSigned) {
		t.Fatalf("signing a signed file: %v, want ErrSigned", err)
	}
	if after, _ := os.ReadFile(signed); !bytes.Equal(before, after) {
		t.Fatal("refused signing changed the file")
	}
	p2 := newPKI(t, "rsa", true)
	m2, err := SignFile(context.Background(), signed, signed, p2.sign, Options{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m1.Digest, m2.Digest) || m2.CertOffset != m1.CertOffset {
		t.Errorf("replaced: digest %x at 0x%x, first %x at 0x%x", m2.Digest, m2.CertOffset, m1.Digest, m1.CertOffset)
	}
	sig, err := verifyFile(t, p2, signed)
	if err != nil {
		t.Fatal(err)
	}
	if sig.Timestamp == nil || len(sig.Certificates) != 2 {
		t.Errorf("replaced signature: timestamp %v, %d certificates", sig.Timestamp, len(sig.Certificates))
	}
	if _, err := verifyFile(t, p, signed); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify against the first signer's roots = %v, want ErrInvalid", err)
	}
	if o, ok := osslVerify(t, p2, signed); !ok {
		t.Errorf("osslsigncode:\n%s", o)
	}
	entries, _ := os.ReadDir(filepath.Dir(signed))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".sign-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestSignFileFailure(t *testing.T) {
	p := newPKI(t, "ecdsa", false)
	in := goPE(t, "amd64")
	out := filepath.Join(filepath.Dir(in), "out.exe")
	os.WriteFile(out, []byte("old"), 0o644)
	boom := errors.New("signer down")
	_, err := SignFile(context.Background(), in, out, func(context.Context, []byte) ([]byte, error) { return nil, boom }, Options{})
	if !errors.Is(err, boom) {
		t.Fatalf("SignFile = %v, want the signer's error", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Error("a failed signing changed the output")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries after a failure, want 2", len(entries))
	}
	_ = p
}

func TestVerifyRefuses(t *testing.T) {
	p := newPKI(t, "ecdsa", true)
	other := newPKI(t, "ecdsa", true)
	in := goPE(t, "amd64")
	signed, _ := signFile(t, p, in)
	b, _ := os.ReadFile(signed)
	r := bytes.NewReader(b)
	n := int64(len(b))
	if _, err := Verify(r, n, other.roots(), p.tsaRoots(), time.Now()); !errors.Is(err, ErrInvalid) {
		t.Errorf("other roots: %v", err)
	}
	if _, err := Verify(r, n, p.roots(), other.tsaRoots(), time.Now()); !errors.Is(err, ErrInvalid) {
		t.Errorf("other TSA roots: %v", err)
	}
	// Without TSA roots the chain is checked at now: after the leaf expires it fails.
	if _, err := Verify(r, n, p.roots(), nil, time.Now().Add(48*time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Errorf("expired, no TSA roots: %v", err)
	}
	// With the timestamp the signature stays valid after the leaf expires.
	if _, err := Verify(r, n, p.roots(), p.tsaRoots(), time.Now().Add(48*time.Hour)); err != nil {
		t.Errorf("expired but timestamped: %v", err)
	}
	unsigned, _ := os.ReadFile(in)
	if _, err := Verify(bytes.NewReader(unsigned), int64(len(unsigned)), p.roots(), nil, time.Now()); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("unsigned: %v, want a not-signed error", err)
	}
	// A leaf without the code-signing EKU: Sign refuses it, and a signature
	// by osslsigncode with it fails Verify.
	leaf := p.signer.Chain[0]
	p.signer.Chain[0] = mustCert(t, &x509.Certificate{SerialNumber: leaf.SerialNumber, Subject: leaf.Subject,
		NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, p.signer.Chain[1], p.signer.Key.Public(), p.interKey)
	if _, err := p.signer.Sign(context.Background(), make([]byte, 32)); err == nil || !strings.Contains(err.Error(), "no code-signing extended key usage") {
		t.Errorf("Sign with a leaf without code signing EKU: %v", err)
	}
	if _, err := exec.LookPath("osslsigncode"); err != nil {
		t.Skip("osslsigncode is not installed")
	}
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "cert.pem"), p.signer.Chain...)
	der, _ := x509.MarshalPKCS8PrivateKey(p.signer.Key.(*ecdsa.PrivateKey))
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	signed2 := filepath.Join(dir, "o.exe")
	if o, err := exec.Command("osslsigncode", "sign", "-certs", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem"),
		"-h", "sha256", "-in", in, "-out", signed2).CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode sign: %v\n%s", err, o)
	}
	if _, err := verifyFile(t, p, signed2); !errors.Is(err, ErrInvalid) {
		t.Errorf("leaf without code signing EKU: %v", err)
	}
	if o, ok := osslVerify(t, p, signed2); ok {
		t.Errorf("osslsigncode accepted a leaf without code signing EKU:\n%s", o)
	}
}

// TestEveryByte flips each byte of a small signed image in turn: every
// change but one to the CheckSum field (which Authenticode leaves out) must
// fail Verify, and a sample of them osslsigncode.
func TestEveryByte(t *testing.T) {
	p := newPKI(t, "ecdsa", true)
	in := filepath.Join(t.TempDir(), "m.exe")
	os.WriteFile(in, append(minimalPE(), "overlay"...), 0o644)
	out, m := signFile(t, p, in)
	clean, _ := os.ReadFile(out)
	path := filepath.Join(t.TempDir(), "flipped.exe")
	for off := int64(0); off < m.CertOffset; off++ {
		b := bytes.Clone(clean)
		b[off] ^= 0x80
		_, err := Verify(bytes.NewReader(b), int64(len(b)), p.roots(), p.tsaRoots(), time.Now())
		checksum := off >= m.ChecksumOffset && off < m.ChecksumOffset+4
		if checksum != (err == nil) {
			t.Errorf("byte 0x%x flipped: Verify = %v", off, err)
		}
		if off%16 == 5 && !checksum {
			os.WriteFile(path, b, 0o644)
			if o, ok := osslVerify(t, p, path); ok {
				t.Errorf("byte 0x%x flipped: osslsigncode verify succeeded:\n%s", off, o)
			}
		}
	}
}
