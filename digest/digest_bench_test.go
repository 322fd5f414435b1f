package digest_test

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hallmark-dev/hallmark/digest"
)

// benchFileSize is the size of the file BenchmarkFile hashes: large enough
// that open, stat and buffer allocation are noise beside SHA-256 itself.
const benchFileSize = 256 << 20

// BenchmarkFile hashes a 256 MiB file of random bytes with digest.File. The
// file is written once, before b.Loop starts the timer; after the first iteration it is in
// the page cache, so this measures hashing, not the disk. Compare MB/s with
// `openssl speed -evp sha256 -bytes 1048576`.
func BenchmarkFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, benchFileSize); err != nil {
		f.Close()
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchFileSize)
	for b.Loop() {
		_, n, err := digest.File(path)
		if err != nil {
			b.Fatal(err)
		}
		if n != benchFileSize {
			b.Fatalf("hashed %d bytes, want %d", n, benchFileSize)
		}
	}
}
