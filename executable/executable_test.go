package executable_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/executable"
)

// check compares got with want: Kind, Sub and Signed always, the other fields
// when want sets them; Problem must be empty.
func check(t *testing.T, where string, got, want executable.Info) {
	t.Helper()
	bad := got.Kind != want.Kind || got.Sub != want.Sub || got.Signed != want.Signed || got.Problem != "" ||
		want.Bits != 0 && got.Bits != want.Bits || want.Machine != "" && got.Machine != want.Machine ||
		want.Interpreter != "" && got.Interpreter != want.Interpreter || want.Version != 0 && got.Version != want.Version
	if bad {
		t.Errorf("%s: got %+v, want %+v", where, got, want)
	}
}

func TestDetect(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			for _, name := range []string{fx.name, "a.txt", ""} {
				info, ok, err := executable.Detect(bytes.NewReader(fx.data), int64(len(fx.data)), name)
				if err != nil || !ok {
					t.Fatalf("as %q: ok=%v err=%v", name, ok, err)
				}
				check(t, "as "+name, info, fx.want)
			}
		})
	}
}

// TestWalk finds every fixture as a plain file, renamed to a.txt, inside a
// tar, a tar.gz and a zip, all in one tree.
func TestWalk(t *testing.T) {
	fxs := fixtures(t)
	root := t.TempDir()
	var ms []member
	for i, fx := range fxs {
		dir := filepath.Join(root, "plain", fx.name)
		must(t, os.MkdirAll(dir, 0o755))
		must(t, os.WriteFile(filepath.Join(dir, fx.name), fx.data, 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "a.txt"), fx.data, 0o644))
		ms = append(ms, member{name: "d" + string(rune('a'+i%26)) + "/" + fx.name, data: fx.data})
	}
	tarb := tarMembers(t, ms...)
	must(t, os.WriteFile(filepath.Join(root, "out.tar"), tarb, 0o644))
	must(t, os.WriteFile(filepath.Join(root, "out.tar.gz"), gzipOf(t, tarb), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "renamed.dat"), gzipOf(t, tarb), 0o644)) // a tgz by content only
	must(t, os.WriteFile(filepath.Join(root, "out.zip"), zipMembers(t, ms...), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "README.txt"), []byte("nothing to see\n"), 0o644))

	found, err := executable.Walk(context.Background(), root, executable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]executable.Found{}
	for _, f := range found {
		byPath[f.Path] = f
	}
	for i, fx := range fxs {
		m := ms[i].name
		for _, p := range []string{
			"plain/" + fx.name + "/" + fx.name, "plain/" + fx.name + "/a.txt",
			"out.tar!" + m, "out.tar.gz!" + m, "renamed.dat!" + m, "out.zip!" + m,
		} {
			f, ok := byPath[p]
			if !ok {
				t.Errorf("%s: not found", p)
				continue
			}
			check(t, p, f.Info, fx.want)
			if f.Size != int64(len(fx.data)) {
				t.Errorf("%s: size %d, want %d", p, f.Size, len(fx.data))
			}
		}
	}
	// Members of a jar are looked into too: the jar's class, and the native
	// library inside it.
	for p, want := range map[string]executable.Kind{
		"plain/hello.jar/hello.jar!Hello.class":                                 executable.JavaClass,
		"plain/signed-native.jar/a.txt!native/linux-x86_64/libm.so":             executable.ELF,
		"out.tar.gz!d" + "?/signed-native.jar!native/linux-x86_64/libm.so":      executable.ELF,
		"plain/wixl.msi/wixl.msi":                                               executable.MSI,
		"out.zip!d?/hello.jar!Hello.class":                                      executable.JavaClass,
		"plain/tool-universal/tool-universal":                                   executable.MachOUniversal,
		"plain/README.txt (absent)":                                             "",
		"out.tar!d?/tool.exe":                                                   executable.PE,
		"plain/BOOTX64.EFI/BOOTX64.EFI":                                         executable.PE,
		"plain/signed-native.jar/signed-native.jar!native/linux-x86_64/libm.so": executable.ELF,
	} {
		if want == "" {
			continue
		}
		if !hasMatch(found, p, want) && fixtureFor(fxs, p) {
			t.Errorf("%s (%s): not found", p, want)
		}
	}
	if _, ok := byPath["README.txt"]; ok {
		t.Error("README.txt reported")
	}
}

// hasMatch reports a Found of kind k whose path matches pattern, where "?"
// stands for one character.
func hasMatch(found []executable.Found, pattern string, k executable.Kind) bool {
	for _, f := range found {
		if f.Info.Kind == k && len(f.Path) == len(pattern) {
			ok := true
			for i := range pattern {
				if pattern[i] != '?' && pattern[i] != f.Path[i] {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// fixtureFor reports whether the fixture a pattern names was built.
func fixtureFor(fxs []fixture, pattern string) bool {
	for _, fx := range fxs {
		if strings.Contains(pattern, "/"+fx.name) {
			return true
		}
	}
	return false
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func pngBytes(t *testing.T) []byte {
	var buf bytes.Buffer
	must(t, png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8))))
	return buf.Bytes()
}

func TestNotExecutable(t *testing.T) {
	random := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	msi, err := os.ReadFile("testdata/tiny.msi")
	must(t, err)
	office := bytes.Clone(msi) // a compound file with another CLSID: not an installer
	office[(int(binary.LittleEndian.Uint32(office[0x30:]))+1)*512+0x50] = 0x00
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text.txt", []byte("hello world\nthis is text, not a program\n")},
		{"Makefile", []byte("install-deps: build\n\tgo build ./...\n")},
		{"main.go", []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Exit(0) }\n")},
		{"data.json", []byte(`{"get-thing": 1, "param": 2}`)},
		{"image.png", pngBytes(t)},
		{"random.bin", random},
		{"office.doc", office},
		{"hash-no-bang", []byte("# comment\n#not a shebang\n")},
		{"plain.zip", zipOf(t, map[string][]byte{"readme.txt": []byte("hi")})},
		{"utf16.txt", utf16LE("just some words\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, ok, err := executable.Detect(bytes.NewReader(tc.data), int64(len(tc.data)), tc.name)
			if err != nil || ok {
				t.Errorf("got %v ok=%v err=%v, want not executable", info, ok, err)
			}
		})
	}
}

// TestBroken: the magic matches, the structure behind it does not. Such files
// are still reported, with a Problem, so they cannot escape signing.
func TestBroken(t *testing.T) {
	lfanewPast := make([]byte, 0x80)
	copy(lfanewPast, "MZ")
	binary.LittleEndian.PutUint32(lfanewPast[0x3c:], 0x7fff_fff0)
	dos := bytes.Clone(lfanewPast)
	binary.LittleEndian.PutUint32(dos[0x3c:], 0x40)
	ne := bytes.Clone(dos)
	copy(ne[0x40:], "NE")
	badOpt := bytes.Clone(dos)
	copy(badOpt[0x40:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(badOpt[0x40+4+16:], 0x20)
	for _, tc := range []struct {
		name    string
		data    []byte
		kind    executable.Kind
		problem string
	}{
		{"mz-only", []byte("MZ"), executable.PE, "no e_lfanew"},
		{"lfanew-past-end", lfanewPast, executable.PE, "no PE header inside"},
		{"dos", dos, executable.PE, "no PE signature"},
		{"ne", ne, executable.PE, "NE image"},
		{"bad-optional-header", badOpt, executable.PE, "optional header"},
		{"elf-short", []byte("\x7fELF\x02\x01"), executable.ELF, "truncated"},
		{"macho-short", []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}, executable.MachO, "truncated"},
		{"fat-slice-outside", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 1, 1, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0x40, 0, 0, 0, 0x10, 0, 0, 0, 0, 14}, executable.MachOUniversal, "outside"},
		{"cafebabe-neither", []byte{0xca, 0xfe, 0xba, 0xbe, 0x12, 0x34, 0x00, 0x10}, executable.MachOUniversal, "neither"},
		{"cab-short", []byte("MSCF\x00\x00"), executable.CAB, "truncated"},
		{"cab-size", append([]byte("MSCF\x00\x00\x00\x00\xff\xff\x00\x00"), make([]byte, 40)...), executable.CAB, "cbCabinet"},
		{"cfb-short", []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, executable.MSI, "truncated"},
		{"wasm-short", []byte("\x00asm"), executable.Wasm, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, ok, err := executable.Detect(bytes.NewReader(tc.data), int64(len(tc.data)), "x")
			if err != nil || !ok || info.Kind != tc.kind || !strings.Contains(info.Problem, tc.problem) {
				t.Errorf("got %+v ok=%v err=%v, want %s with a problem containing %q", info, ok, err, tc.kind, tc.problem)
			}
		})
	}
}

// TestPowerShellHeuristics: what the content check catches without a name.
func TestPowerShellHeuristics(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{"#Requires -Version 5\n", true},
		{"  PARAM (\n $x\n)\n", true},
		{"[CmdletBinding()]\nparam()\n", true},
		{"function Install-Thing { }\n", true},
		{"Set-StrictMode -Version Latest\n", true},
		{"Write-Host\n", true},
		{"$x = 1\r\nGet-ChildItem | Out-Null\r\n", true},
		{"# SIG # Begin signature block\n# MIIF\n", true},
		{"install-deps: all\n", false},
		{"get-thing\n", true}, // over-detection is safe
		{"to get-together\n", false},
		{"Frobnicate-Thing\n", false},
		{"function foo() {}\n", false},
	} {
		t.Run(tc.src, func(t *testing.T) {
			info, ok, err := executable.Detect(strings.NewReader(tc.src), int64(len(tc.src)), "a.txt")
			if err != nil || ok != tc.want || ok && info.Kind != executable.PowerShell {
				t.Errorf("got %v ok=%v err=%v, want ok=%v", info, ok, err, tc.want)
			}
		})
	}
}

// errReader fails every read.
type errReader struct{}

func (errReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestDetectReadError(t *testing.T) {
	if _, _, err := executable.Detect(errReader{}, 100, "x"); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("got %v, want the read error", err)
	}
}

// countingReaderAt counts the bytes Detect asks for.
type countingReaderAt struct {
	r interface {
		ReadAt([]byte, int64) (int, error)
	}
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.n += int64(len(p))
	return c.r.ReadAt(p, off)
}

// TestDetectBounded: Detect reads a bounded part of a large file, never all
// of it.
func TestDetectBounded(t *testing.T) {
	big := 64 << 20
	text := bytes.Repeat([]byte("just some text, line after line\n"), big/32)
	cases := map[string][]byte{"text": text, "random": make([]byte, big)}
	for _, fx := range fixtures(t) {
		switch fx.name {
		case "tool.exe", "a.out", "tool-universal", "install.ps1", "tiny.msi", "tiny.cab":
			// The fixture with 64 MiB of overlay after it.
			cases[fx.name] = append(bytes.Clone(fx.data), make([]byte, big)...)
		}
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			c := &countingReaderAt{r: bytes.NewReader(data)}
			if _, _, err := executable.Detect(c, int64(len(data)), name); err != nil {
				t.Fatal(err)
			}
			// prefix + tail + the Mach-O load commands of each slice
			if limit := int64(executable.PrefixSize + executable.TailSize + 2<<20); c.n > limit {
				t.Errorf("read %d bytes of %d, more than %d", c.n, len(data), limit)
			}
		})
	}
}

func TestParseKindUnsigned(t *testing.T) {
	for _, k := range executable.Kinds {
		if got, err := executable.ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := executable.ParseKind("exe"); err == nil {
		t.Error("ParseKind(exe): no error")
	}
	found := []executable.Found{
		{Path: "a.exe", Info: executable.Info{Kind: executable.PE}},
		{Path: "b.exe", Info: executable.Info{Kind: executable.PE, Signed: true}},
		{Path: "c.sh", Info: executable.Info{Kind: executable.Script}},
		{Path: "link", Symlink: "a.exe"},
	}
	if got := executable.Unsigned(found, executable.PE, executable.MSI); len(got) != 1 || got[0].Path != "a.exe" {
		t.Errorf("Unsigned: %+v", got)
	}
}

func ExampleDetect() {
	data := []byte("#Requires -Version 7\nWrite-Output 'hallmark'\n")
	info, ok, err := executable.Detect(bytes.NewReader(data), int64(len(data)), "notes.txt")
	fmt.Println(info.Kind, ok, err)
	// Output: powershell true <nil>
}
