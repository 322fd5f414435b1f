package authenticode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.exe")

// Offsets in minimalPE's PE32 layout.
const (
	mpeLfanew   = 0x40
	mpeCOFF     = mpeLfanew + 4
	mpeOpt      = mpeCOFF + 20
	mpeSections = mpeOpt + 224
)

// minimalPE is a hand-made 1 KiB PE32 file: headers in the first 512
// bytes, one .text section of 512 bytes holding a ret instruction.
func minimalPE() []byte {
	b := make([]byte, 0x400)
	le := binary.LittleEndian
	copy(b, "MZ")
	le.PutUint32(b[0x3c:], mpeLfanew)
	copy(b[mpeLfanew:], "PE\x00\x00")
	le.PutUint16(b[mpeCOFF:], 0x14c)      // Machine i386
	le.PutUint16(b[mpeCOFF+2:], 1)        // NumberOfSections
	le.PutUint16(b[mpeCOFF+16:], 224)     // SizeOfOptionalHeader
	le.PutUint16(b[mpeCOFF+18:], 0x0102)  // Characteristics
	le.PutUint16(b[mpeOpt:], 0x10b)       // Magic
	le.PutUint32(b[mpeOpt+16:], 0x1000)   // AddressOfEntryPoint
	le.PutUint32(b[mpeOpt+28:], 0x400000) // ImageBase
	le.PutUint32(b[mpeOpt+32:], 0x1000)   // SectionAlignment
	le.PutUint32(b[mpeOpt+36:], 0x200)    // FileAlignment
	le.PutUint16(b[mpeOpt+48:], 4)        // MajorSubsystemVersion
	le.PutUint32(b[mpeOpt+56:], 0x2000)   // SizeOfImage
	le.PutUint32(b[mpeOpt+60:], 0x200)    // SizeOfHeaders
	le.PutUint16(b[mpeOpt+68:], 3)        // Subsystem console
	le.PutUint32(b[mpeOpt+92:], 16)       // NumberOfRvaAndSizes
	s := b[mpeSections:]
	copy(s, ".text")
	le.PutUint32(s[8:], 0x10)        // VirtualSize
	le.PutUint32(s[12:], 0x1000)     // VirtualAddress
	le.PutUint32(s[16:], 0x200)      // SizeOfRawData
	le.PutUint32(s[20:], 0x200)      // PointerToRawData
	le.PutUint32(s[36:], 0x60000020) // code, execute, read
	b[0x200] = 0xc3
	return b
}

func put32(off int, v uint32) func([]byte) []byte {
	return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
}

func put16(off int, v uint16) func([]byte) []byte {
	return func(b []byte) []byte { binary.LittleEndian.PutUint16(b[off:], v); return b }
}

const mpeCertDir = mpeOpt + 128

var malformed = []struct {
	name, file string // file: kept in testdata/ as well
	mutate     func([]byte) []byte
	want       string
}{
	{"empty", "", func(b []byte) []byte { return nil }, "DOS header at 0x0: truncated"},
	{"no MZ", "", func(b []byte) []byte { b[0] = 'X'; return b }, "no MZ signature"},
	{"e_lfanew unaligned", "", put32(0x3c, 0x42), "e_lfanew 0x42 is not a 4-byte aligned"},
	{"e_lfanew past end", "", put32(0x3c, 0x10000), "PE header at 0x10000: truncated"},
	{"no PE signature", "", func(b []byte) []byte { b[mpeLfanew+1] = 'X'; return b }, "no PE signature"},
	{"bad magic", "", put16(mpeOpt, 0x107), "magic 0x107 is neither"},
	{"short optional header", "", put16(mpeCOFF+16, 100), "100 bytes, too short"},
	{"few data directories", "", put32(mpeOpt+92, 4), "NumberOfRvaAndSizes is 4"},
	{"too many sections", "", put16(mpeCOFF+2, 200), "200 sections, more than 96"},
	{"section table truncated", "", put16(mpeCOFF+2, 30), "section table at 0x138: truncated"},
	{"SizeOfHeaders past end", "", put32(mpeOpt+60, 0x800), "SizeOfHeaders 0x800 is not between"},
	{"SizeOfHeaders inside section table", "", put32(mpeOpt+60, 0x100), "SizeOfHeaders 0x100 is not between"},
	{"huge section", "huge-section.exe", put32(mpeSections+16, 0xfffffe00), "section 0 .text: raw data 0x200+0xfffffe00 runs past the end of file at 0x400"},
	{"section in headers", "", put32(mpeSections+20, 0x100), "section 0 .text: raw data at 0x100 is inside the headers"},
	{"section name unprintable", "", func(b []byte) []byte { b[mpeSections+1] = 0xff; return put32(mpeSections+20, 0x100)(b) }, `section 0 ".\xff`},
	{"truncated", "truncated.exe", func(b []byte) []byte { return b[:0x300] }, "runs past the end of file at 0x300"},
	{"cert table not at end", "cert-not-at-end.exe", func(b []byte) []byte {
		return put32(mpeCertDir+4, 16)(put32(mpeCertDir, 0x200)(b))
	}, "certificate table at 0x200, 16 bytes: does not end at the end of the file (0x400)"},
	{"cert table unaligned", "", func(b []byte) []byte {
		return put32(mpeCertDir+4, 12)(put32(mpeCertDir, 0x3f4)(b))
	}, "certificate table at 0x3f4: not 8-byte aligned"},
	{"cert table too small", "", func(b []byte) []byte {
		return put32(mpeCertDir+4, 4)(put32(mpeCertDir, 0x3f8)(b))
	}, "offset 0x3f8, size 4 is not a table"},
	{"cert table in headers", "", func(b []byte) []byte {
		return put32(mpeCertDir+4, 0x300)(put32(mpeCertDir, 0x100)(b))
	}, "certificate table at 0x100: inside the headers"},
	{"section into cert table", "", func(b []byte) []byte {
		b = append(b, 8, 0, 0, 0, 0, 2, 2, 0)
		return put32(mpeSections+16, 0x208)(put32(mpeCertDir+4, 8)(put32(mpeCertDir, 0x400)(b)))
	}, "runs past the certificate table at 0x400"},
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(minimalPE())
			if tc.file != "" {
				path := filepath.Join("testdata", tc.file)
				if *update {
					if err := os.WriteFile(path, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				if b, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Parse(bytes.NewReader(b), int64(len(b)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "authenticode: ") {
				t.Fatalf("Parse = %v, want an error with %q", err, tc.want)
			}
			// SignFile refuses it too, leaving nothing behind.
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.exe"), filepath.Join(dir, "out.exe")
			os.WriteFile(in, b, 0o644)
			called := false
			_, err = SignFile(context.Background(), in, out, func(context.Context, []byte) ([]byte, error) { called = true; return nil, nil }, Options{})
			if err == nil || called {
				t.Fatalf("SignFile = %v, signer called: %v", err, called)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("SignFile left %d files", len(entries)-1)
			}
		})
	}
}

func TestParseMinimal(t *testing.T) {
	b := minimalPE()
	if *update {
		os.WriteFile("testdata/minimal.exe", b, 0o644)
	}
	m, err := Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if m.PE32Plus || m.ChecksumOffset != mpeOpt+64 || m.CertDirOffset != mpeCertDir || m.Signed() ||
		len(m.Sections) != 1 || m.Sections[0] != (Section{Name: ".text", RawOffset: 0x200, RawSize: 0x200, VirtualAddr: 0x1000}) {
		t.Errorf("Parse = %+v", m)
	}
	if _, err := Parse(bytes.NewReader(b), MaxSize+1); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("Parse of a 4 GiB file = %v", err)
	}
}

// TestSignOdd signs hand-made files with odd layouts and checks them with
// Verify and osslsigncode.
func TestSignOdd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"minimal", func(b []byte) []byte { return b }},
		{"unaligned section", func(b []byte) []byte {
			return put32(mpeSections+16, 0x1f4)(put32(mpeSections+20, 0x208)(put32(mpeOpt+36, 4)(b)))
		}},
		{"odd size overlay", func(b []byte) []byte { return append(b, "abc"...) }},
		{"no sections", func(b []byte) []byte { return put16(mpeCOFF+2, 0)(b) }},
		{"empty section", func(b []byte) []byte { return put32(mpeSections+16, 0)(put32(mpeSections+20, 0)(b)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKI(t, "ecdsa", true)
			in := filepath.Join(t.TempDir(), "odd.exe")
			os.WriteFile(in, tc.mutate(minimalPE()), 0o644)
			out, m := signFile(t, p, in)
			if m.CertOffset%8 != 0 {
				t.Errorf("certificate table at 0x%x", m.CertOffset)
			}
			if _, err := verifyFile(t, p, out); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if o, ok := osslVerify(t, p, out); !ok {
				t.Fatalf("osslsigncode:\n%s", o)
			}
		})
	}
}

func TestSignerErrors(t *testing.T) {
	p := newPKI(t, "ecdsa", false)
	other := newPKI(t, "rsa", false)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		s      *Signer
		digest []byte
		want   string
	}{
		{"short digest", p.signer, make([]byte, 20), "digest is 20 bytes"},
		{"no key", &Signer{Chain: p.signer.Chain}, make([]byte, 32), "need a key and a chain"},
		{"unparsed certificate", &Signer{Key: p.signer.Key, Chain: []*x509.Certificate{{PublicKey: p.signer.Key.Public()}}}, make([]byte, 32), "Chain[0] is not a parsed certificate"},
		{"wrong key", &Signer{Key: other.signer.Key, Chain: p.signer.Chain}, make([]byte, 32), "not the one in Chain[0]"},
		{"timestamp fails", &Signer{Key: p.signer.Key, Chain: p.signer.Chain, Timestamp: func(context.Context, []byte) ([]byte, error) {
			return nil, errors.New("tsa down")
		}}, make([]byte, 32), "timestamp: tsa down"},
		{"timestamp garbage", &Signer{Key: p.signer.Key, Chain: p.signer.Chain, Timestamp: func(context.Context, []byte) ([]byte, error) {
			return []byte{0x30, 0x00, 0x00}, nil
		}}, make([]byte, 32), "not one DER ContentInfo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.s.Sign(ctx, tc.digest); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Sign = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := TokenFromResponse([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02}); err == nil || !strings.Contains(err.Error(), "status 2") {
		t.Errorf("TokenFromResponse(rejection) = %v", err)
	}
}

func TestChecksum(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 8, 31, 32, 33, 1000, 4097} {
		b := bytes.Repeat([]byte{0xff, 0xfe, 0x01, 0x80, 0x00, 0x7f, 0xff, 0xff, 0x13}, n/9+1)[:n]
		got := checksumFinal(checksumAdd(0, b), int64(n))
		if want := refChecksum(b, -4); got != want {
			t.Errorf("%d bytes: checksum %08x, want %08x", n, got, want)
		}
	}
}

// signedMinimal is minimalPE signed with a timestamp, for fuzz seeds.
func signedMinimal(t testing.TB) []byte {
	p := newPKI(t, "ecdsa", true)
	in := filepath.Join(t.TempDir(), "m.exe")
	os.WriteFile(in, minimalPE(), 0o644)
	if _, err := SignFile(context.Background(), in, in, p.sign, Options{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(in)
	return b
}

func FuzzParse(f *testing.F) {
	f.Add(minimalPE())
	f.Add(signedMinimal(f))
	for _, tc := range malformed {
		f.Add(tc.mutate(minimalPE()))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n := bytes.NewReader(b), int64(len(b))
		m, err := Digest(r, n)
		if err != nil {
			return
		}
		if m.ChecksumOffset+4 > n || m.CertDirOffset+8 > n || m.CertOffset+m.CertSize > n || len(m.Digest) != 32 {
			t.Fatalf("Parse accepted a layout outside the file: %+v", m)
		}
		for _, s := range m.Sections {
			if s.RawSize > 0 && s.RawOffset+s.RawSize > n {
				t.Fatalf("section %s outside the file", s.Name)
			}
		}
		Inspect(r, n)
	})
}

// FuzzSignature fuzzes the reading of the certificate table's SignedData
// and of its RFC 3161 token. Run with -fuzzminimizetime 5x: minimizing an
// input that reaches the signature checks otherwise stalls the fuzzer.
func FuzzSignature(f *testing.F) {
	b := signedMinimal(f)
	m, err := Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[m.CertOffset+8:])
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		p, err := parseSignature(der)
		if err != nil {
			return
		}
		p.checkSigner()
		if p.token != nil {
			if tok, err := parseToken(p.token); err == nil {
				verifyToken(tok, p.si.Signature, x509.NewCertPool())
			}
		}
	})
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

type failReader struct {
	r   *bytes.Reader
	at  int64
	err error
}

func (f failReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.at {
		return 0, f.err
	}
	return f.r.ReadAt(p, off)
}

// eofReader returns io.EOF with the last bytes of its input, as
// io.ReaderAt allows.
type eofReader struct{ r *bytes.Reader }

func (e eofReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := e.r.ReadAt(p, off)
	if err == nil && off+int64(n) == e.r.Size() {
		err = io.EOF
	}
	return n, err
}

// TestReaderAtEOF checks that a reader returning io.EOF with the last bytes
// of the file reads the same as one returning nil.
func TestReaderAtEOF(t *testing.T) {
	b := signedMinimal(t)
	want, err := Inspect(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Inspect(eofReader{bytes.NewReader(b)}, int64(len(b)))
	if err != nil {
		t.Fatalf("Inspect with io.EOF at the end: %v", err)
	}
	if !bytes.Equal(got.FileDigest, want.FileDigest) || !bytes.Equal(got.Digest, want.Digest) {
		t.Errorf("Inspect with io.EOF at the end: digests %x, %x; want %x, %x", got.FileDigest, got.Digest, want.FileDigest, want.Digest)
	}
	if _, err := Inspect(eofReader{bytes.NewReader(b[:len(b)-1])}, int64(len(b))); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Inspect of a file shorter than its size = %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestStreamErrors checks that read and write errors of the copying pass
// come back (and do not block it) at every chunk.
func TestStreamErrors(t *testing.T) {
	b := make([]byte, 5*bufSize+0x400)
	copy(b, minimalPE())
	binary.LittleEndian.PutUint32(b[mpeSections+16:], uint32(len(b)-0x200))
	m, err := Parse(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		t.Run("write", func(t *testing.T) {
			_, _, err := m.stream(bytes.NewReader(b), sha256.New(), &failWriter{n: i})
			if (err == nil) != (i >= 6) || err != nil && !strings.Contains(err.Error(), "disk full") {
				t.Errorf("writer failing after %d chunks: %v", i, err)
			}
		})
		t.Run("read", func(t *testing.T) {
			boom := errors.New("i/o error")
			_, _, err := m.stream(failReader{bytes.NewReader(b), int64(i) * bufSize, boom}, sha256.New(), &failWriter{n: 100})
			if (err == nil) != (i >= 6) || err != nil && !errors.Is(err, boom) {
				t.Errorf("reader failing at chunk %d: %v", i, err)
			}
		})
	}
}
