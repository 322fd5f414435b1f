package digest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/digest"
)

// The SHA-256 test vector of FIPS 180-2, appendix B.1.
func TestFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "abc")
	os.WriteFile(p, []byte("abc"), 0o644)
	d, n, err := digest.File(p)
	if err != nil {
		t.Fatal(err)
	}
	const want = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if d.String() != want || n != 3 {
		t.Fatalf("File = %s, %d; want %s, 3", d, n, want)
	}
	if _, _, err := digest.File(filepath.Dir(p)); err == nil {
		t.Error("a directory was hashed")
	}
	if _, _, err := digest.File(p + ".missing"); err == nil || !strings.Contains(err.Error(), "abc.missing") {
		t.Errorf("missing file: err = %v", err)
	}
}

// A file over the read buffer hashes the same as its bytes.
func TestFileLarge(t *testing.T) {
	data := []byte(strings.Repeat("0123456789abcdef", 200_000)) // 3.2 MB
	p := filepath.Join(t.TempDir(), "big")
	os.WriteFile(p, data, 0o644)
	d, n, err := digest.File(p)
	if err != nil {
		t.Fatal(err)
	}
	r, _, _ := digest.Reader(strings.NewReader(string(data)))
	if d != r || n != int64(len(data)) {
		t.Fatalf("File and Reader disagree: %s %s", d, r)
	}
}

func TestParse(t *testing.T) {
	good := "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
	d, err := digest.Parse(good)
	if err != nil || d.Hex() != strings.ToLower(good[7:]) {
		t.Fatalf("Parse(%q) = %s, %v", good, d, err)
	}
	for _, bad := range []string{"", "sha256:", "sha256:abc", "sha512:" + strings.Repeat("0", 64),
		"sha256:" + strings.Repeat("g", 64), "sha256:" + strings.Repeat("0", 66), strings.Repeat("0", 64)} {
		if _, err := digest.Parse(bad); !errors.Is(err, digest.ErrSyntax) {
			t.Errorf("Parse(%q): err = %v", bad, err)
		}
	}
}
