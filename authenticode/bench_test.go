package authenticode

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// bigPE is minimalPE with a .text section of n random bytes.
func bigPE(tb testing.TB, n int) string {
	b := minimalPE()[:0x200]
	binary.LittleEndian.PutUint32(b[mpeSections+16:], uint32(n))
	sect := make([]byte, n)
	rand.Read(sect)
	path := filepath.Join(tb.TempDir(), "big.exe")
	if err := os.WriteFile(path, append(b, sect...), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func BenchmarkDigest(b *testing.B) {
	path := bigPE(b, 50<<20)
	f, _ := os.Open(path)
	defer f.Close()
	fi, _ := f.Stat()
	b.SetBytes(fi.Size())
	for b.Loop() {
		if _, err := Digest(f, fi.Size()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignFile(b *testing.B) {
	p := newPKI(b, "rsa", false)
	path := bigPE(b, 50<<20)
	out := filepath.Join(filepath.Dir(path), "out.exe")
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	for b.Loop() {
		if _, err := SignFile(context.Background(), path, out, p.sign, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChecksum(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		checksumAdd(0, buf)
	}
}
