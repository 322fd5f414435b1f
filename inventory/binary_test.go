package inventory

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func peHeader(lfanew uint32, size int) []byte {
	b := make([]byte, size)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], lfanew)
	if int(lfanew)+4 <= size {
		copy(b[lfanew:], "PE\x00\x00")
	}
	return b
}

func fatHeader(magic, nfat uint32, off, sz uint32, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, magic)
	binary.BigEndian.PutUint32(b[4:], nfat)
	binary.BigEndian.PutUint32(b[8:], 0x01000007) // CPU_TYPE_X86_64
	binary.BigEndian.PutUint32(b[16:], off)
	binary.BigEndian.PutUint32(b[20:], sz)
	return b
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, ""},
		{"short", []byte("\x7fEL"), ""},
		{"elf64 le", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 57)...), "elf"},
		{"elf32 be", []byte("\x7fELF\x01\x02\x01\x00"), "elf"},
		{"elf bad class", []byte("\x7fELF\x07\x01\x01\x00"), ""},
		{"elf magic alone", []byte("\x7fELF"), ""},
		{"pe", peHeader(0x80, 0x200), "pe"},
		{"pe header offset beyond the file", peHeader(0x1000, 0x200), ""},
		{"pe header inside the DOS header", peHeader(0x10, 0x200), "pe"},
		{"pe header offset on the MZ", peHeader(0x0, 0x200), ""},
		{"mz without pe signature", append([]byte("MZ"), make([]byte, 0x200)...), ""},
		{"text starting with MZ", []byte("MZ is not an executable, this is a note"), ""},
		{"macho 64 le", []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}, "macho"},
		{"macho 32 be", []byte{0xfe, 0xed, 0xfa, 0xce, 0, 0, 0, 7}, "macho"},
		{"macho universal", fatHeader(0xcafebabe, 2, 0x1000, 0x100, 0x2000), "macho"},
		{"macho universal slice beyond the file", fatHeader(0xcafebabe, 2, 0x1000, 0x2000, 0x2000), ""},
		{"macho universal no slices", fatHeader(0xcafebabe, 0, 0x1000, 0x100, 0x2000), ""},
		{"java class, major 52", fatHeader(0xcafebabe, 52, 0x1000, 0x100, 0x2000), ""},
		{"java class, major 45", fatHeader(0xcafebabe, 45, 0x1000, 0x100, 0x2000), ""},
		{"java class, minor 3", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 3, 0, 45, 0, 0}, ""},
		{"shell script", []byte("#!/bin/sh\necho hello\n"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sniff(bytes.NewReader(tc.data), int64(len(tc.data))); got != tc.want {
				t.Errorf("sniff = %q, want %q", got, tc.want)
			}
		})
	}
}

func sha256File(t *testing.T, p string) (string, int64) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), int64(len(b))
}

func copyFile(t *testing.T, from, to string, n int) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if n >= 0 && n < len(b) {
		b = b[:n]
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// goVersionM is what `go version -m` says of a binary: the main module path
// and the dependencies as path@version (replacements applied).
func goVersionM(t *testing.T, bin string) (goVersion, main string, deps []string) {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && strings.HasSuffix(f[0], ":"):
			goVersion = f[1]
		case len(f) >= 2 && f[0] == "mod":
			main = f[1]
		case len(f) >= 3 && f[0] == "dep":
			deps = append(deps, f[1]+"@"+f[2])
		case len(f) >= 3 && f[0] == "=>":
			deps[len(deps)-1] = f[1] + "@" + f[2]
		}
	}
	return goVersion, main, deps
}

func TestGoBinarySingleFile(t *testing.T) {
	bin := needDepbin(t)
	goVersion, mainPath, deps := goVersionM(t, bin)
	inv := walk(t, bin, Options{})

	if inv.Subject.Name != mainPath || inv.Subject.Ecosystem != Go || inv.Subject.Version != "" {
		t.Errorf("subject %+v, want %s with no version ((devel))", inv.Subject, mainPath)
	}
	want := []string{"pkg:golang/stdlib@" + goStdlibVersion(goVersion)}
	for _, d := range deps {
		p, v, _ := strings.Cut(d, "@")
		want = append(want, goPURL(p, v))
	}
	slices.Sort(want)
	var got []string
	for _, c := range inv.Components {
		got = append(got, c.PURL)
		wantScope := Indirect
		if c.Name == "stdlib" {
			wantScope = Toolchain
		}
		if c.Scope != wantScope || !slices.Equal(c.Locations, []string{"depbin"}) {
			t.Errorf("%s: scope %s, locations %v; want %s, [depbin]", c.PURL, c.Scope, c.Locations, wantScope)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("components %q, want (from go version -m) %q", got, want)
	}
	if !slices.Contains(got, "pkg:golang/golang.org/x/mod@v0.42.0") {
		t.Errorf("components %q lack golang.org/x/mod, which testdata/depbin imports", got)
	}
	if !slices.Equal(inv.Subject.DependsOn, want) {
		t.Errorf("subject depends on %q, want %q", inv.Subject.DependsOn, want)
	}
	sum, size := sha256File(t, bin)
	if len(inv.Files) != 1 {
		t.Fatalf("files %+v, want one", inv.Files)
	}
	f := inv.Files[0]
	wantFormat := map[string]string{"windows": "pe", "darwin": "macho"}[runtime.GOOS]
	if wantFormat == "" {
		wantFormat = "elf"
	}
	if f.Path != "depbin" || f.SHA256 != sum || f.Size != size || f.Format != wantFormat {
		t.Errorf("file %+v, want depbin %s %d %s", f, sum, size, wantFormat)
	}
	if wantFile := sortedUnique(append(slices.Clone(want), inv.Subject.PURL)); !slices.Equal(f.Components, wantFile) {
		t.Errorf("file components %q, want %q", f.Components, wantFile)
	}
	if len(inv.Warnings) != 0 {
		t.Errorf("warnings %v", warningStrings(inv))
	}
}

func TestBinariesInTree(t *testing.T) {
	bin := needDepbin(t)
	root := writeTree(t, map[string]string{
		"go.mod":      "module github.com/hallmark-dev/hallmark\n\ngo 1.22.0\n\nrequire golang.org/x/mod v0.42.0\n",
		"tool.exe":    "this is text, not a PE file\n",
		"notes/MZ.md": "MZ: a note\n",
	})
	copyFile(t, bin, filepath.Join(root, "bin", "depbin"), -1)
	copyFile(t, bin, filepath.Join(root, "bin", "truncated"), 4096)
	copyFile(t, bin, filepath.Join(root, "node_modules", "x", "depbin"), -1)
	inv := walk(t, root, Options{})

	var paths []string
	for _, f := range inv.Files {
		paths = append(paths, f.Path)
	}
	if !slices.Equal(paths, []string{"bin/depbin", "bin/truncated"}) {
		t.Fatalf("files %q, want bin/depbin and bin/truncated", paths)
	}
	f := inv.Files[0]
	if !slices.Contains(f.Components, inv.Subject.PURL) {
		t.Errorf("bin/depbin components %q: built from this tree, they should name the subject %s", f.Components, inv.Subject.PURL)
	}
	if inv.Files[1].Components != nil {
		t.Errorf("truncated binary has components %q", inv.Files[1].Components)
	}
	c := inv.Component("pkg:golang/golang.org/x/mod@v0.42.0")
	if c == nil || c.Scope != Direct || !slices.Equal(c.Locations, []string{"bin/depbin", "go.mod"}) {
		t.Errorf("x/mod = %+v, want direct (go.mod wins), located in bin/depbin and go.mod", c)
	}
	if slices.ContainsFunc(inv.Components, func(c Component) bool { return c.Name == "github.com/hallmark-dev/hallmark" }) {
		t.Errorf("the binary's main module is the subject, not a component:\n%s", summary(inv))
	}
}

func TestSingleFiles(t *testing.T) {
	root := writeTree(t, map[string]string{
		"tool.exe":    "text named like a PE file\n",
		"README.md":   "# readme\n",
		"mod/go.mod":  "module example.com/m\n\ngo 1.22.0\n\nrequire example.com/a v1.0.0\n",
		"mod/go.sum":  sumLines("example.com/a v1.0.0/go.mod"),
		"elf/program": "\x7fELF\x02\x01\x01\x00 not really an ELF file but it has the magic",
	})
	for _, name := range []string{"tool.exe", "README.md"} {
		t.Run(name, func(t *testing.T) {
			_, err := Walk(context.Background(), filepath.Join(root, name), Options{})
			if err == nil || !strings.Contains(err.Error(), "not a source tree, lockfile or executable") {
				t.Errorf("Walk(%s) error = %v, want not a source tree...", name, err)
			}
		})
	}
	t.Run("go.mod", func(t *testing.T) {
		inv := walk(t, filepath.Join(root, "mod", "go.mod"), Options{})
		if inv.Subject.PURL != "pkg:golang/example.com/m" || len(inv.Components) != 1 || len(inv.Warnings) != 0 {
			t.Errorf("subject %s, components\n%s warnings %v", inv.Subject.PURL, summary(inv), warningStrings(inv))
		}
	})
	t.Run("non-Go executable", func(t *testing.T) {
		inv := walk(t, filepath.Join(root, "elf", "program"), Options{})
		if inv.Subject.Name != "program" || inv.Subject.Ecosystem != "" || inv.Subject.PURL != "pkg:generic/program" {
			t.Errorf("subject %+v, want generic program", inv.Subject)
		}
		if len(inv.Files) != 1 || inv.Files[0].Path != "program" || inv.Files[0].Format != "elf" || len(inv.Components) != 0 {
			t.Errorf("files %+v components %v", inv.Files, inv.Components)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := Walk(context.Background(), filepath.Join(root, "nothing"), Options{}); err == nil {
			t.Error("Walk of a missing root succeeded")
		}
	})
}

func TestMaxFileSize(t *testing.T) {
	bin := needDepbin(t)
	root := t.TempDir()
	copyFile(t, bin, filepath.Join(root, "depbin"), -1)
	inv := walk(t, root, Options{MaxFileSize: 1000})
	if len(inv.Files) != 0 || len(inv.Warnings) != 1 || !strings.Contains(inv.Warnings[0].Msg, "larger than the limit") {
		t.Errorf("files %+v, warnings %v; want the binary skipped with a warning", inv.Files, warningStrings(inv))
	}
}

func TestForeignBinaryInTree(t *testing.T) {
	bin := needDepbin(t)
	root := t.TempDir()
	copyFile(t, bin, filepath.Join(root, "tools", "depbin"), -1)
	inv := walk(t, root, Options{})
	if inv.Subject.Ecosystem != "" {
		t.Errorf("subject %+v, want a generic one: the tree has no go.mod", inv.Subject)
	}
	main := inv.Component("pkg:golang/github.com/hallmark-dev/hallmark")
	if main == nil || main.Scope != Direct || !slices.Equal(main.Locations, []string{"tools/depbin"}) {
		t.Errorf("the binary's main module: %+v, want a direct component located in tools/depbin", main)
	}
	sum, size := sha256File(t, bin)
	if len(inv.Files) != 1 || inv.Files[0].SHA256 != sum || inv.Files[0].Size != size ||
		!slices.Contains(inv.Files[0].Components, "pkg:golang/github.com/hallmark-dev/hallmark") {
		t.Errorf("files %+v", inv.Files)
	}
}
