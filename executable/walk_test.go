package executable_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/executable"
)

// sh is the smallest executable there is.
var sh = []byte("#!/bin/sh\necho hallmark\n")

// tree writes files (slash paths) under a new directory.
func tree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for p, b := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		must(t, os.MkdirAll(filepath.Dir(full), 0o755))
		must(t, os.WriteFile(full, b, 0o644))
	}
	return root
}

func paths(found []executable.Found) []string {
	var ps []string
	for _, f := range found {
		ps = append(ps, f.Path)
	}
	return ps
}

func TestWalkLinks(t *testing.T) {
	root := tree(t, map[string][]byte{"bin/tool": sh, "bin/t.tar": tarMembers(t,
		member{name: "link", link: "../../../etc/passwd"}, member{name: "real", data: sh})})
	must(t, os.Symlink("tool", filepath.Join(root, "bin/alias")))
	must(t, os.Symlink("/usr/bin/env", filepath.Join(root, "bin/outside")))
	found, err := executable.Walk(context.Background(), root, executable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"bin/alias": "tool", "bin/outside": "/usr/bin/env", "bin/t.tar!link": "../../../etc/passwd"}
	for _, f := range found {
		if f.Symlink != "" {
			if want[f.Path] != f.Symlink || f.Info.Kind != "" {
				t.Errorf("%s: symlink %q kind %q", f.Path, f.Symlink, f.Info.Kind)
			}
			delete(want, f.Path)
		}
	}
	if len(want) != 0 {
		t.Errorf("symlinks not reported: %v (found %v)", want, paths(found))
	}
	if got := strings.Join(paths(found), " "); !strings.Contains(got, "bin/tool") || !strings.Contains(got, "bin/t.tar!real") {
		t.Errorf("found %s", got)
	}
}

// TestWalkHostile: limits hold and errors name the archive and the member.
func TestWalkHostile(t *testing.T) {
	zeros := make([]byte, 8<<20)
	var many []member
	for i := range 20 {
		many = append(many, member{name: fmt.Sprintf("m%02d", i), data: sh})
	}
	goodZip := zipMembers(t, member{name: "ok.sh", data: sh}, member{name: "x.sh", data: bytes.Repeat(sh, 100)})
	corruptMember := bytes.Clone(goodZip)
	// Corrupt the deflated data of x.sh, just after its local header's name.
	j := bytes.Index(corruptMember, []byte("x.sh")) + len("x.sh")
	for k := j + 2; k < j+10; k++ {
		corruptMember[k] ^= 0xff
	}
	tarb := tarMembers(t, member{name: "a.sh", data: sh}, member{name: "big.bin", data: bytes.Repeat([]byte("x"), 4096)})
	nest := func(depth int) []byte {
		b := zipMembers(t, member{name: "deep.sh", data: sh})
		for range depth - 1 {
			b = zipMembers(t, member{name: "inner.zip", data: b})
		}
		return b
	}
	for _, tc := range []struct {
		name      string
		file      []byte
		opts      executable.Options
		limit     bool   // the error wraps ErrLimit
		errHas    string // the error names this
		mustFind  string // and this is still found
		forbidden string // and this is not
	}{
		{name: "zip-bomb", file: zipMembers(t, member{name: "ok.sh", data: sh}, member{name: "zeros", data: zeros}),
			opts: executable.Options{MaxTotal: 1 << 20}, limit: true, errHas: "f!zeros", mustFind: "f!ok.sh"},
		{name: "gzip-bomb", file: gzipOf(t, zeros), opts: executable.Options{MaxTotal: 1 << 20}, limit: true, errHas: "f!"},
		{name: "gzip-member-size", file: gzipOf(t, zeros), opts: executable.Options{MaxMemberSize: 1 << 10}, limit: true, errHas: "f!-: over the limit: more than 1024 bytes"},
		{name: "member-size", file: zipMembers(t, member{name: "zeros", data: zeros}),
			opts: executable.Options{MaxMemberSize: 1 << 20}, limit: true, errHas: "f!zeros"},
		{name: "tar-member-size", file: tarb, opts: executable.Options{MaxMemberSize: 1024}, limit: true, errHas: "f!big.bin", mustFind: "f!a.sh"},
		{name: "zip-members", file: zipMembers(t, many...), opts: executable.Options{MaxMembers: 10}, limit: true, errHas: "f: "},
		{name: "tar-members", file: tarMembers(t, many...), opts: executable.Options{MaxMembers: 10}, limit: true, errHas: "f: ", mustFind: "f!m09"},
		{name: "truncated-zip", file: goodZip[:len(goodZip)-10], errHas: "f: zip: not a valid zip file"},
		{name: "corrupt-zip-member", file: corruptMember, errHas: "f!x.sh", mustFind: "f!ok.sh"},
		{name: "truncated-tar-data", file: tarb[:512+10], errHas: "f!a.sh: unexpected EOF"},
		{name: "truncated-tar-header", file: tarb[:1024+100], errHas: `f: after "a.sh": unexpected EOF`, mustFind: "f!a.sh"},
		{name: "truncated-tgz", file: gzipOf(t, tarb)[:80], errHas: "f"},
		{name: "depth-ok", file: nest(4), mustFind: "f!inner.zip!inner.zip!inner.zip!deep.sh"},
		{name: "too-deep", file: nest(5), limit: true, errHas: "f!inner.zip!inner.zip!inner.zip!inner.zip: ", forbidden: "deep.sh"},
		{name: "traversal", file: tarMembers(t, member{name: "../../../../tmp/evil.sh", data: sh}), mustFind: "f!../../../../tmp/evil.sh"},
		{name: "absolute", file: zipMembers(t, member{name: "/etc/evil.sh", data: sh}), mustFind: "f!/etc/evil.sh"},
		{name: "temp-file-members", file: gzipOf(t, tarMembers(t, member{name: "big.sh", data: append(bytes.Clone(sh), zeros[:2<<20]...)})),
			opts: executable.Options{MemoryMember: 1 << 10}, mustFind: "f!big.sh"},
		{name: "ar-bsd-name", file: []byte("!<arch>\n#1/4            0           0     0     644     14        `\nx.sh#!/bin/sh\n"), mustFind: "f!x.sh"},
		{name: "ar-bad-size", file: []byte("!<arch>\nx.sh/           0           0     0     644     99        `\n#!/bin/sh\n"), errHas: `f: member header at 8: size "99        "`},
		{name: "ar-bad-long-name", file: []byte("!<arch>\n/7              0           0     0     644     10        `\n#!/bin/sh\n"), errHas: `f: member name "/7" not in the long-name table`},
		{name: "xz", file: []byte("\xfd7zXZ\x00\x00\x04garbage"), mustFind: "f"},
		{name: "bzip2-of-script", file: bzip2Script, mustFind: "f!-"},
		{name: "gzip-name", file: gzipOf(t, sh), mustFind: "f!-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, map[string][]byte{"f": tc.file})
			found, err := executable.Walk(context.Background(), root, tc.opts)
			if tc.errHas == "" && err != nil {
				t.Errorf("unexpected error: %v", err)
			}
			if tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)) {
				t.Errorf("error %v, want one naming %q", err, tc.errHas)
			}
			if tc.limit != errors.Is(err, executable.ErrLimit) {
				t.Errorf("error %v: ErrLimit %v, want %v", err, !tc.limit, tc.limit)
			}
			got := strings.Join(paths(found), " ")
			if tc.mustFind != "" && !strings.Contains(" "+got+" ", " "+tc.mustFind+" ") {
				t.Errorf("found %q, want %q among them", got, tc.mustFind)
			}
			if tc.forbidden != "" && strings.Contains(got, tc.forbidden) {
				t.Errorf("found %q, want no %q", got, tc.forbidden)
			}
		})
	}
	// Nothing was written outside the tree.
	if _, err := os.Stat("/tmp/evil.sh"); err == nil {
		t.Error("/tmp/evil.sh exists")
	}
}

// bzip2Script is "#!/bin/sh\necho hallmark\n" compressed by bzip2(1)
// (compress/bzip2 only decompresses).
var bzip2Script = []byte{
	0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x2c, 0xc1, 0x9e, 0x90, 0x00, 0x00,
	0x02, 0x51, 0x80, 0x00, 0x10, 0x68, 0x00, 0xba, 0x6f, 0x98, 0x00, 0x20, 0x00, 0x22, 0x80, 0xf5,
	0x06, 0x4d, 0xa9, 0xea, 0x14, 0xd3, 0x23, 0x13, 0x13, 0x11, 0xb8, 0x45, 0xc1, 0xc1, 0xdf, 0x42,
	0x68, 0x84, 0x54, 0x93, 0xd9, 0xbe, 0x2e, 0xe4, 0x8a, 0x70, 0xa1, 0x20, 0x59, 0x83, 0x3d, 0x20,
}

func TestWalkContext(t *testing.T) {
	root := tree(t, map[string][]byte{"a": sh, "b": sh})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := executable.Walk(ctx, root, executable.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestWalkMissingRoot(t *testing.T) {
	if _, err := executable.Walk(context.Background(), filepath.Join(t.TempDir(), "nope"), executable.Options{}); err == nil {
		t.Error("no error for a missing root")
	}
}

// TestWalkZipSymlink: a zip member with the symlink mode bit is reported as
// a link, not scanned.
func TestWalkZipSymlink(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "link", Method: zip.Store}
	h.SetMode(os.ModeSymlink | 0o777)
	w, err := zw.CreateHeader(h)
	must(t, err)
	w.Write([]byte("/bin/sh"))
	must(t, zw.Close())
	found, err := executable.Walk(context.Background(), tree(t, map[string][]byte{"z.zip": buf.Bytes()}), executable.Options{})
	if err != nil || len(found) != 1 || found[0].Symlink != "/bin/sh" || found[0].Path != "z.zip!link" {
		t.Errorf("got %+v, %v", found, err)
	}
}

func ExampleWalk() {
	root, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(root)
	os.WriteFile(filepath.Join(root, "notes.txt"), []byte("#!/usr/bin/env python3\nprint('hi')\n"), 0o644)
	os.WriteFile(filepath.Join(root, "README"), []byte("nothing here\n"), 0o644)
	found, err := executable.Walk(context.Background(), root, executable.Options{})
	if err != nil {
		fmt.Println("incomplete:", err) // the build must not pass
	}
	for _, f := range found {
		fmt.Println(f.Path, f.Info)
	}
	// Output: notes.txt script /usr/bin/env python3
}

func TestWalkOneFile(t *testing.T) {
	root := tree(t, map[string][]byte{"dist/tool.tgz": gzipOf(t, tarMembers(t, member{name: "bin/tool", data: sh}))})
	found, err := executable.Walk(context.Background(), filepath.Join(root, "dist/tool.tgz"), executable.Options{})
	if err != nil || len(found) != 1 || found[0].Path != "tool.tgz!bin/tool" || found[0].Info.Kind != executable.Script {
		t.Errorf("got %+v, %v", found, err)
	}
}

// TestWalkTarUnknownType: a tar entry of a type no one defined is read as a
// regular file (POSIX), so it cannot hide an executable.
func TestWalkTarUnknownType(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(&tar.Header{Name: "odd", Typeflag: 'Q', Size: int64(len(sh)), Mode: 0o755, Format: tar.FormatGNU}))
	tw.Write(sh)
	must(t, tw.Close())
	found, err := executable.Walk(context.Background(), tree(t, map[string][]byte{"t.tar": buf.Bytes()}), executable.Options{})
	if err != nil || len(found) != 1 || found[0].Path != "t.tar!odd" {
		t.Errorf("got %+v, %v", found, err)
	}
}

// TestWalkAr looks into a static library made by ar(1) (GNU long names
// included) and a .deb made by dpkg-deb.
func TestWalkAr(t *testing.T) {
	for _, tool := range []string{"gcc", "ar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	dir := t.TempDir()
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	must(t, os.WriteFile(filepath.Join(dir, "m.c"), []byte("int f(void){return 1;}\n"), 0o644))
	run(dir, "gcc", "-c", "-o", "m.o", "m.c")
	run(dir, "cp", "m.o", "a_rather_long_object_name.o")
	must(t, os.Mkdir(filepath.Join(dir, "out"), 0o755))
	run(dir, "ar", "rcs", "out/libm.a", "m.o", "a_rather_long_object_name.o")
	want := []string{"libm.a!m.o", "libm.a!a_rather_long_object_name.o"}
	if _, err := exec.LookPath("dpkg-deb"); err == nil {
		pkg := filepath.Join(dir, "pkg")
		must(t, os.MkdirAll(filepath.Join(pkg, "DEBIAN"), 0o755))
		must(t, os.MkdirAll(filepath.Join(pkg, "usr/bin"), 0o755))
		must(t, os.WriteFile(filepath.Join(pkg, "DEBIAN/control"), []byte("Package: hallmark-test\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: test\n"), 0o644))
		must(t, os.WriteFile(filepath.Join(pkg, "usr/bin/tool"), sh, 0o755))
		run(dir, "dpkg-deb", "--root-owner-group", "-Zgzip", "--build", "pkg", "out/t.deb")
		run(dir, "dpkg-deb", "--root-owner-group", "-Zxz", "--build", "pkg", "out/x.deb")
		want = append(want, "t.deb!data.tar.gz!./usr/bin/tool", "x.deb!data.tar.xz")
	} else {
		t.Logf("dpkg-deb not installed: no .deb case")
	}
	found, err := executable.Walk(context.Background(), filepath.Join(dir, "out"), executable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := " " + strings.Join(paths(found), " ") + " "
	for _, w := range want {
		if !strings.Contains(got, " "+w+" ") {
			t.Errorf("found%s: no %s", got, w)
		}
	}
}
