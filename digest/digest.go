// Package digest computes and parses the SHA-256 digests that name artifacts.
//
// Artifacts are never read whole: File streams a file through SHA-256 with a
// fixed buffer, so a multi-gigabyte file is hashed in constant memory. The text
// form is "sha256:" followed by 64 lowercase hex digits, as in the in-toto
// ResourceDescriptor and the Sigstore conformance protocol.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// Algorithm is the one digest algorithm Hallmark produces.
const Algorithm = "sha256"

// bufSize is the read size for hashing. Large reads keep syscall overhead
// well below the cost of SHA-256 itself.
const bufSize = 1 << 20

// SHA256 is a SHA-256 digest.
type SHA256 [sha256.Size]byte

// String returns the digest as "sha256:<hex>".
func (d SHA256) String() string { return Algorithm + ":" + hex.EncodeToString(d[:]) }

// Hex returns the digest as lowercase hex.
func (d SHA256) Hex() string { return hex.EncodeToString(d[:]) }

// Reader hashes r to its end and returns the digest and the byte count.
func Reader(r io.Reader) (SHA256, int64, error) {
	return hashWith(r, make([]byte, bufSize))
}

func hashWith(r io.Reader, buf []byte) (SHA256, int64, error) {
	h := sha256.New()
	n, err := copyBuffer(h, r, buf)
	var d SHA256
	if err != nil {
		return d, n, err
	}
	h.Sum(d[:0])
	return d, n, nil
}

func copyBuffer(h hash.Hash, r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := r.Read(buf)
		h.Write(buf[:m])
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// File hashes the file at path. Errors name the path. Directories and other
// non-regular files are refused.
func File(path string) (SHA256, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return SHA256{}, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return SHA256{}, 0, err
	}
	if !fi.Mode().IsRegular() {
		return SHA256{}, 0, fmt.Errorf("%s: not a regular file", path)
	}
	// Small files get a buffer of their size: verifying a small artifact
	// should not allocate a megabyte.
	size := min(bufSize, max(fi.Size()+1, 4096))
	d, n, err := hashWith(f, make([]byte, size))
	if err != nil {
		return d, n, fmt.Errorf("%s: %w", path, err)
	}
	return d, n, nil
}

// ErrSyntax is returned, wrapped, by Parse for text that is not a digest.
var ErrSyntax = errors.New("not a digest: want sha256:<64 hex digits>")

// Parse parses "sha256:<hex>". Hex digits may be upper or lower case.
func Parse(s string) (SHA256, error) {
	var d SHA256
	alg, hx, ok := strings.Cut(s, ":")
	if !ok || alg != Algorithm {
		return d, fmt.Errorf("%q: %w", s, ErrSyntax)
	}
	if len(hx) != 2*sha256.Size {
		return d, fmt.Errorf("%q: %w", s, ErrSyntax)
	}
	if _, err := hex.Decode(d[:], []byte(hx)); err != nil {
		return d, fmt.Errorf("%q: %w", s, ErrSyntax)
	}
	return d, nil
}

// IsDigest reports whether s looks like a digest rather than a file name: it
// starts with "sha256:". Parse decides whether it is a valid one.
func IsDigest(s string) bool { return strings.HasPrefix(s, Algorithm+":") }
