package controlplane_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/controlplane"
)

// tarGz is a gzipped tar of the headers, each file's data being its
// Size bytes of "x"; if short is set, the archive stops after the headers,
// without any data.
func tarGz(t testing.TB, short bool, hs ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hs {
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if short {
			continue
		}
		if _, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
			t.Fatal(err)
		}
	}
	if !short {
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckSource(t *testing.T) {
	file := func(name string, size int64) tar.Header {
		return tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644}
	}
	dir := func(name string) tar.Header { return tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755} }
	many := make([]tar.Header, 0, 100001)
	for range 100001 {
		many = append(many, dir("d/"))
	}
	for _, tc := range []struct {
		name    string
		archive []byte
		errHas  string // "" for none
	}{
		{"files and directories", tarGz(t, false, dir("src/"), file("src/main.go", 10), file("go.mod", 3)), ""},
		{"empty", tarGz(t, false), ""},
		{"not gzip", []byte("plain tar?"), "source: not a gzipped tar"},
		{"absolute", tarGz(t, false, file("/etc/passwd", 1)), `source: "/etc/passwd" is not a clean relative path`},
		{"dot-dot", tarGz(t, false, file("a/../../x", 1)), `source: "a/../../x" is not a clean relative path`},
		{"unclean", tarGz(t, false, file("a//b", 1)), `source: "a//b" is not a clean relative path`},
		{"backslash", tarGz(t, false, file(`a\b`, 1)), `is not a clean relative path`},
		{"symlink", tarGz(t, false, tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "/etc"}), `source: l: entry of type '2'`},
		{"truncated", tarGz(t, true, file("a", 1000)), "source: a: truncated"},
		{"too big", tarGz(t, true, file("a", 256<<20+1)), "source: over 20000 files or 268435456 bytes unpacked"},
		{"too big in a directory", tarGz(t, true, tar.Header{Typeflag: tar.TypeDir, Name: "d/", Size: 256<<20 + 1}), "bytes unpacked"},
		{"too many entries", tarGz(t, false, many...), "source: over 100000 entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := controlplane.CheckSource(tc.archive)
			switch {
			case tc.errHas == "" && err != nil:
				t.Fatalf("CheckSource: %v", err)
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
				t.Fatalf("CheckSource: error %v, want one with %q", err, tc.errHas)
			}
		})
	}
}

func FuzzCheckSource(f *testing.F) {
	f.Add(tarGz(f, false, tar.Header{Typeflag: tar.TypeDir, Name: "a/", Mode: 0o755}, tar.Header{Typeflag: tar.TypeReg, Name: "a/b", Size: 3, Mode: 0o644}))
	f.Add(tarGz(f, true, tar.Header{Typeflag: tar.TypeReg, Name: "x", Size: 100, Mode: 0o644}))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, archive []byte) {
		controlplane.CheckSource(archive) // must not panic or hang
	})
}
