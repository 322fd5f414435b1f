package executable_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hallmark-dev/hallmark/executable"
)

// The fixtures are real files made once per test run by the installed tools
// (go, gcc, javac and jar, gcab, wixl, osslsigncode) in a directory removed by
// TestMain; testdata holds a tiny MSI (msibuild) and CAB (gcab) for machines
// without msitools or gcab. A fixture whose tool is missing is skipped with a
// message. The PE variants dll, sys and efi are the Go-built exe with the one
// header field that makes them so patched (IMAGE_FILE_DLL, the subsystem):
// no cross toolchain here links a real one.

var tmpDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "executable-test-")
	if err != nil {
		panic(err)
	}
	tmpDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// fixture is one file with executable content and what Detect must say.
type fixture struct {
	name string // file name, with the extension a build would give it
	data []byte
	want executable.Info // Problem must be empty; zero Bits/Machine/... are not compared
}

var (
	fixOnce  sync.Once
	fixList  []fixture
	fixSkips []string
)

const goMain = "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hallmark\") }\n"

const javaMain = "public class Hello { public static void main(String[] a) { System.out.println(\"hallmark\"); } }\n"

const psScript = "param([string]$Name = \"world\")\nWrite-Host \"hello $Name\"\n"

// fixtures builds every fixture once; tools that are missing are listed in
// fixSkips.
func fixtures(t testing.TB) []fixture {
	t.Helper()
	fixOnce.Do(func() { buildFixtures(t) })
	for _, s := range fixSkips {
		t.Logf("fixture not built: %s", s)
	}
	return fixList
}

func buildFixtures(t testing.TB) {
	add := func(name string, data []byte, want executable.Info) {
		fixList = append(fixList, fixture{name, data, want})
	}
	skip := func(what string, err error) { fixSkips = append(fixSkips, what+": "+err.Error()) }

	goBuild := func(name string, env ...string) []byte {
		dir := filepath.Join(tmpDir, "go-"+name)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/fx\n\ngo 1.22\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "main.go"), []byte(goMain), 0o644)
		cmd := exec.Command("go", "build", "-trimpath", "-o", "out", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
		cmd.Env = append(cmd.Env, env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			skip("go build "+name, fmtErr(err, out))
			return nil
		}
		b, _ := os.ReadFile(filepath.Join(dir, "out"))
		return b
	}

	exe := goBuild("windows-amd64", "GOOS=windows", "GOARCH=amd64")
	if exe != nil {
		add("tool.exe", exe, executable.Info{Kind: executable.PE, Sub: "exe", Bits: 64, Machine: "amd64"})
		add("tool.dll", patchPE(exe, func(coff, opt []byte) {
			binary.LittleEndian.PutUint16(coff[18:], binary.LittleEndian.Uint16(coff[18:])|0x2000)
		}), executable.Info{Kind: executable.PE, Sub: "dll", Bits: 64})
		add("driver.sys", patchPE(exe, func(coff, opt []byte) { binary.LittleEndian.PutUint16(opt[68:], 1) }),
			executable.Info{Kind: executable.PE, Sub: "sys", Bits: 64})
		add("BOOTX64.EFI", patchPE(exe, func(coff, opt []byte) { binary.LittleEndian.PutUint16(opt[68:], 10) }),
			executable.Info{Kind: executable.PE, Sub: "efi", Bits: 64})
		if b, err := osslsign(exe, "tool.exe"); err != nil {
			skip("signed PE", err)
		} else {
			add("signed.exe", b, executable.Info{Kind: executable.PE, Sub: "exe", Signed: true})
		}
	}
	if b := goBuild("windows-386", "GOOS=windows", "GOARCH=386"); b != nil {
		add("tool32.exe", b, executable.Info{Kind: executable.PE, Sub: "exe", Bits: 32, Machine: "386"})
	}
	if b := goBuild("linux-arm64", "GOOS=linux", "GOARCH=arm64"); b != nil {
		add("tool-linux-arm64", b, executable.Info{Kind: executable.ELF, Sub: "exec", Bits: 64, Machine: "arm64"})
	}
	darm := goBuild("darwin-arm64", "GOOS=darwin", "GOARCH=arm64")
	damd := goBuild("darwin-amd64", "GOOS=darwin", "GOARCH=amd64")
	if darm != nil {
		// Go's linker signs darwin/arm64 binaries ad hoc.
		add("tool-darwin-arm64", darm, executable.Info{Kind: executable.MachO, Sub: "execute", Bits: 64, Machine: "arm64", Signed: true})
	}
	if damd != nil {
		add("tool-darwin-amd64", damd, executable.Info{Kind: executable.MachO, Sub: "execute", Bits: 64, Machine: "amd64"})
	}
	if darm != nil && damd != nil {
		add("tool-universal", universal(damd, darm), executable.Info{Kind: executable.MachOUniversal, Machine: "amd64,arm64"})
	}
	if b := goBuild("wasip1", "GOOS=wasip1", "GOARCH=wasm"); b != nil {
		add("tool.wasm", b, executable.Info{Kind: executable.Wasm, Version: 1})
	}

	var elf []byte
	if _, err := exec.LookPath("gcc"); err != nil {
		skip("gcc ELF", err)
	} else {
		dir := filepath.Join(tmpDir, "gcc")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "m.c"), []byte("int main(void){return 0;}\n"), 0o644)
		for _, c := range [][]string{{"-no-pie", "-o", "a.out", "m.c"}, {"-shared", "-fPIC", "-o", "lib.so", "m.c"}} {
			cmd := exec.Command("gcc", c...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				skip("gcc", fmtErr(err, out))
			}
		}
		if b, err := os.ReadFile(filepath.Join(dir, "a.out")); err == nil {
			add("a.out", b, executable.Info{Kind: executable.ELF, Sub: "exec", Bits: 64})
		}
		if b, err := os.ReadFile(filepath.Join(dir, "lib.so")); err == nil {
			elf = b
			add("libm.so", b, executable.Info{Kind: executable.ELF, Sub: "dyn", Bits: 64})
		}
	}

	if class, jar, err := javaBuild(); err != nil {
		skip("javac/jar", err)
	} else {
		add("Hello.class", class, executable.Info{Kind: executable.JavaClass})
		add("hello.jar", jar, executable.Info{Kind: executable.JAR, Sub: "jar"})
		add("app.war", zipOf(t, map[string][]byte{"WEB-INF/web.xml": []byte("<web-app/>"), "WEB-INF/classes/Hello.class": class}),
			executable.Info{Kind: executable.JAR, Sub: "war"})
		members := map[string][]byte{"Hello.class": class, "META-INF/MANIFEST.MF": []byte("Manifest-Version: 1.0\n"),
			"META-INF/HALLMARK.SF": []byte("Signature-Version: 1.0\n"), "META-INF/HALLMARK.RSA": {0x30}}
		if elf != nil {
			members["native/linux-x86_64/libm.so"] = elf
		}
		add("signed-native.jar", zipOf(t, members), executable.Info{Kind: executable.JAR, Sub: "jar", Signed: true})
		if b, err := jarsign(jar); err != nil {
			skip("jarsigner", err)
		} else {
			add("jarsigned.jar", b, executable.Info{Kind: executable.JAR, Sub: "jar", Signed: true})
		}
		add("main-only.jar", zipOf(t, map[string][]byte{"META-INF/MANIFEST.MF": []byte("Manifest-Version: 1.0\r\nMain-Class: Hello\r\n")}),
			executable.Info{Kind: executable.JAR, Sub: "jar"})
	}

	add("build.sh", []byte("#!/bin/sh -e\necho hallmark\n"), executable.Info{Kind: executable.Script, Interpreter: "/bin/sh -e"})
	add("run.py", []byte("\xef\xbb\xbf#!/usr/bin/env python3\r\nprint(1)\n"), executable.Info{Kind: executable.Script, Interpreter: "/usr/bin/env python3"})
	add("pwsh-shebang", []byte("#!/usr/bin/env pwsh\n$x = 1\n"), executable.Info{Kind: executable.PowerShell, Interpreter: "/usr/bin/env pwsh"})
	add("install.ps1", []byte(psScript), executable.Info{Kind: executable.PowerShell})
	add("module.psm1", utf16LE("function Get-Thing {\r\n  [CmdletBinding()]\r\n  param()\r\n}\r\n"), executable.Info{Kind: executable.PowerShell})
	if b, err := osslsign([]byte(psScript), "install.ps1"); err != nil {
		skip("signed PowerShell", err)
	} else {
		add("signed.ps1", b, executable.Info{Kind: executable.PowerShell, Signed: true})
	}

	msi, err := os.ReadFile("testdata/tiny.msi")
	if err != nil {
		t.Fatal(err)
	}
	add("tiny.msi", msi, executable.Info{Kind: executable.MSI, Sub: "msi"})
	if b, err := osslsign(msi, "tiny.msi"); err != nil {
		skip("signed MSI", err)
	} else {
		add("signed.msi", b, executable.Info{Kind: executable.MSI, Sub: "msi", Signed: true})
	}
	if b, err := wixl(); err != nil {
		skip("wixl MSI", err)
	} else {
		add("wixl.msi", b, executable.Info{Kind: executable.MSI, Sub: "msi"})
	}
	cab, err := os.ReadFile("testdata/tiny.cab")
	if err != nil {
		t.Fatal(err)
	}
	add("tiny.cab", cab, executable.Info{Kind: executable.CAB})
	if b, err := osslsign(cab, "tiny.cab"); err != nil {
		skip("signed CAB", err)
	} else {
		add("signed.cab", b, executable.Info{Kind: executable.CAB, Signed: true})
	}
	if b, err := gcab(); err != nil {
		skip("gcab CAB", err)
	} else {
		add("gcab.cab", b, executable.Info{Kind: executable.CAB})
	}
}

func fmtErr(err error, out []byte) error {
	return &toolError{err, string(out)}
}

type toolError struct {
	err error
	out string
}

func (e *toolError) Error() string { return e.err.Error() + ": " + e.out }

// patchPE returns a copy of a PE file with edit applied to its COFF and
// optional headers.
func patchPE(b []byte, edit func(coff, opt []byte)) []byte {
	b = bytes.Clone(b)
	lfanew := binary.LittleEndian.Uint32(b[0x3c:])
	edit(b[lfanew+4:lfanew+24], b[lfanew+24:])
	return b
}

// universal assembles a fat Mach-O from thin ones (<mach-o/fat.h>).
func universal(thin ...[]byte) []byte {
	const align = 14
	var out bytes.Buffer
	binary.Write(&out, binary.BigEndian, [2]uint32{0xcafebabe, uint32(len(thin))})
	off := uint32(1 << align)
	for _, t := range thin {
		cpu, sub := binary.LittleEndian.Uint32(t[4:]), binary.LittleEndian.Uint32(t[8:])
		binary.Write(&out, binary.BigEndian, [5]uint32{cpu, sub, off, uint32(len(t)), align})
		off += (uint32(len(t)) + 1<<align - 1) &^ (1<<align - 1)
	}
	for _, t := range thin {
		out.Write(make([]byte, (1<<align-out.Len()%(1<<align))%(1<<align)))
		out.Write(t)
	}
	return out.Bytes()
}

func utf16LE(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

func javaBuild() (class, jar []byte, err error) {
	for _, tool := range []string{"javac", "jar"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, nil, err
		}
	}
	dir := filepath.Join(tmpDir, "java")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "Hello.java"), []byte(javaMain), 0o644)
	for _, c := range [][]string{{"javac", "Hello.java"}, {"jar", "cfe", "hello.jar", "Hello", "Hello.class"}} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, nil, fmtErr(err, out)
		}
	}
	if class, err = os.ReadFile(filepath.Join(dir, "Hello.class")); err != nil {
		return nil, nil, err
	}
	jar, err = os.ReadFile(filepath.Join(dir, "hello.jar"))
	return class, jar, err
}

// jarsign signs a jar with jarsigner and a throwaway key from keytool.
func jarsign(jar []byte) ([]byte, error) {
	for _, tool := range []string{"keytool", "jarsigner"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(tmpDir, "jarsign")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "s.jar"), jar, 0o644); err != nil {
		return nil, err
	}
	for _, c := range [][]string{
		{"keytool", "-genkeypair", "-keystore", "ks.p12", "-storetype", "PKCS12", "-storepass", "hallmark", "-alias", "t",
			"-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=hallmark test", "-validity", "2"},
		{"jarsigner", "-keystore", "ks.p12", "-storepass", "hallmark", "s.jar", "t"},
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmtErr(err, out)
		}
	}
	return os.ReadFile(filepath.Join(dir, "s.jar"))
}

var signKey struct {
	once      sync.Once
	cert, key string
	err       error
}

// osslsign signs data, named name, with osslsigncode and a throwaway
// self-signed certificate.
func osslsign(data []byte, name string) ([]byte, error) {
	for _, tool := range []string{"osslsigncode", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(tmpDir, "sign")
	signKey.once.Do(func() {
		os.MkdirAll(dir, 0o755)
		signKey.cert, signKey.key = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
		out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", signKey.key,
			"-out", signKey.cert, "-days", "2", "-subj", "/CN=hallmark test").CombinedOutput()
		if err != nil {
			signKey.err = fmtErr(err, out)
		}
	})
	if signKey.err != nil {
		return nil, signKey.err
	}
	in, out := filepath.Join(dir, "in-"+name), filepath.Join(dir, "out-"+name)
	if err := os.WriteFile(in, data, 0o644); err != nil {
		return nil, err
	}
	if b, err := exec.Command("osslsigncode", "sign", "-certs", signKey.cert, "-key", signKey.key, "-in", in, "-out", out).CombinedOutput(); err != nil {
		return nil, fmtErr(err, b)
	}
	return os.ReadFile(out)
}

func wixl() ([]byte, error) {
	if _, err := exec.LookPath("wixl"); err != nil {
		return nil, err
	}
	dir := filepath.Join(tmpDir, "wixl")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hallmark\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p.wxs"), []byte(`<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="HallmarkTest" Language="1033" Version="1.0.0" Manufacturer="Hallmark" UpgradeCode="11111111-2222-3333-4444-555555555555">
    <Package InstallerVersion="200" Compressed="yes" />
    <Media Id="1" Cabinet="p.cab" EmbedCab="yes" />
    <Directory Id="TARGETDIR" Name="SourceDir"><Directory Id="ProgramFilesFolder"><Directory Id="INSTALLDIR" Name="HallmarkTest">
      <Component Id="C1" Guid="22222222-3333-4444-5555-666666666666"><File Id="F1" Source="hello.txt" /></Component>
    </Directory></Directory></Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="C1" /></Feature>
  </Product>
</Wix>
`), 0o644)
	cmd := exec.Command("wixl", "-o", "p.msi", "p.wxs")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmtErr(err, out)
	}
	return os.ReadFile(filepath.Join(dir, "p.msi"))
}

func gcab() ([]byte, error) {
	if _, err := exec.LookPath("gcab"); err != nil {
		return nil, err
	}
	dir := filepath.Join(tmpDir, "gcab")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hallmark\n"), 0o644)
	cmd := exec.Command("gcab", "-c", "-z", "out.cab", "hello.txt")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmtErr(err, out)
	}
	return os.ReadFile(filepath.Join(dir, "out.cab"))
}

// Archive writers for the tests, all from the standard library.

type member struct {
	name string
	data []byte
	link string // a symbolic link when set
}

func zipOf(t testing.TB, m map[string][]byte) []byte {
	var ms []member
	for n, d := range m {
		ms = append(ms, member{name: n, data: d})
	}
	return zipMembers(t, ms...)
}

func zipMembers(t testing.TB, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range ms {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarMembers(t testing.TB, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Mode: 0o755, Size: int64(len(m.data)), Typeflag: tar.TypeReg}
		if m.link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, m.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(m.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
