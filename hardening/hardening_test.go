package hardening_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/hardening"
)

// want is the expected outcome of one check.
type want struct {
	pass     bool
	severity hardening.Severity
	detail   string // substring of Detail; "" to skip
}

const na = "not applicable"

func TestCheckFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		format  hardening.Format
		arch    string
		goBuild *hardening.GoInfo // only the fields compared below; nil for C
		want    map[string]want   // every finding, exactly
	}{
		{
			fixture: "c-hardened", format: hardening.ELF, arch: "amd64",
			want: map[string]want{
				"pie":      {true, hardening.High, "ET_DYN with DF_1_PIE"},
				"relro":    {true, hardening.Medium, "full"},
				"nx-stack": {true, hardening.High, "without PF_X"},
				"canary":   {true, hardening.Medium, "__stack_chk_fail"},
				"fortify":  {true, hardening.Low, "__printf_chk"},
				"rpath":    {true, hardening.Medium, "no DT_RPATH"},
				"stripped": {false, hardening.Info, ".symtab"},
			},
		},
		{
			fixture: "c-soft", format: hardening.ELF, arch: "amd64",
			want: map[string]want{
				"pie":      {false, hardening.High, "ET_EXEC"},
				"relro":    {false, hardening.Medium, "none"},
				"nx-stack": {false, hardening.High, "executable"},
				"canary":   {false, hardening.Medium, "no __stack_chk_fail"},
				"fortify":  {false, hardening.Low, "no __*_chk"},
				"rpath":    {false, hardening.Medium, "/tmp"},
				"stripped": {false, hardening.Info, ".symtab"},
			},
		},
		{
			// Go's internal linker emits PT_GNU_RELRO for PIE but no
			// BIND_NOW: checksec reports partial RELRO too.
			fixture: "go-pie", format: hardening.ELF, arch: "amd64",
			goBuild: &hardening.GoInfo{Trimpath: true, BuildMode: "pie"},
			want: map[string]want{
				"pie":          {true, hardening.High, "ET_DYN"},
				"relro":        {false, hardening.Low, "partial"},
				"nx-stack":     {true, hardening.High, ""},
				"canary":       {true, hardening.Info, na},
				"fortify":      {true, hardening.Info, na},
				"rpath":        {true, hardening.Medium, ""},
				"stripped":     {false, hardening.Info, ""},
				"go-trimpath":  {true, hardening.Low, ""},
				"go-cgo":       {true, hardening.Info, "pure Go"},
				"go-buildmode": {true, hardening.Low, "-buildmode=pie"},
			},
		},
		{
			// Plain go build on linux: a static ET_EXEC without RELRO.
			fixture: "go-plain", format: hardening.ELF, arch: "amd64",
			goBuild: &hardening.GoInfo{Trimpath: false, BuildMode: "exe"},
			want: map[string]want{
				"pie":          {false, hardening.High, "ET_EXEC"},
				"relro":        {false, hardening.Medium, "none"},
				"nx-stack":     {true, hardening.High, ""},
				"canary":       {true, hardening.Info, na},
				"fortify":      {true, hardening.Info, na},
				"rpath":        {true, hardening.Medium, ""},
				"stripped":     {false, hardening.Info, ""},
				"go-trimpath":  {false, hardening.Low, "without -trimpath"},
				"go-cgo":       {true, hardening.Info, "pure Go"},
				"go-buildmode": {false, hardening.Low, "not position-independent"},
			},
		},
		{
			// cgo: C code linked in, so canary and fortify apply and
			// pass with the CGO_CFLAGS of the fixture.
			fixture: "go-cgo", format: hardening.ELF, arch: "amd64",
			goBuild: &hardening.GoInfo{Trimpath: false, BuildMode: "exe"},
			want: map[string]want{
				"pie":          {false, hardening.High, "ET_EXEC"},
				"relro":        {false, hardening.Low, "partial"},
				"nx-stack":     {true, hardening.High, ""},
				"canary":       {true, hardening.Medium, "__stack_chk_fail"},
				"fortify":      {true, hardening.Low, "_chk"},
				"rpath":        {true, hardening.Medium, ""},
				"stripped":     {false, hardening.Info, ""},
				"go-trimpath":  {false, hardening.Low, ""},
				"go-cgo":       {true, hardening.Info, "C code present"},
				"go-buildmode": {false, hardening.Low, ""},
			},
		},
		{
			// Go's linker sets DYNAMIC_BASE, HIGH_ENTROPY_VA and
			// NX_COMPAT, never GUARD_CF, and does not sign.
			fixture: "go-windows", format: hardening.PE, arch: "amd64",
			goBuild: &hardening.GoInfo{Trimpath: false, BuildMode: "exe"},
			want: map[string]want{
				"aslr":            {true, hardening.High, "DYNAMIC_BASE"},
				"high-entropy-va": {true, hardening.Medium, ""},
				"nx":              {true, hardening.High, "NX_COMPAT"},
				"cfg":             {false, hardening.Medium, "Go toolchain"},
				"signature":       {false, hardening.Info, "no Authenticode"},
				"go-trimpath":     {false, hardening.Low, ""},
				"go-cgo":          {true, hardening.Info, "CGO_ENABLED=0"},
				"go-buildmode":    {true, hardening.Low, "by default"},
			},
		},
		{
			// 386: no HIGH_ENTROPY_VA check; Go sets neither NO_SEH nor
			// a load config, so SafeSEH fails as BinSkim would say.
			fixture: "go-windows-386", format: hardening.PE, arch: "386",
			goBuild: &hardening.GoInfo{BuildMode: "exe"},
			want: map[string]want{
				"aslr":         {true, hardening.High, ""},
				"nx":           {true, hardening.High, ""},
				"cfg":          {false, hardening.Medium, ""},
				"safeseh":      {false, hardening.Medium, "no SEHandlerTable"},
				"signature":    {false, hardening.Info, ""},
				"go-trimpath":  {false, hardening.Low, ""},
				"go-cgo":       {true, hardening.Info, ""},
				"go-buildmode": {true, hardening.Low, ""},
			},
		},
		{
			// darwin/arm64: PIE and ad-hoc signed by the Go linker.
			fixture: "go-darwin", format: hardening.MachO, arch: "arm64",
			goBuild: &hardening.GoInfo{BuildMode: "exe"},
			want: map[string]want{
				"pie":          {true, hardening.High, "MH_PIE set"},
				"nx-stack":     {true, hardening.High, ""},
				"nx-heap":      {false, hardening.Info, "not set"},
				"signature":    {true, hardening.Info, "LC_CODE_SIGNATURE"},
				"go-trimpath":  {false, hardening.Low, ""},
				"go-cgo":       {true, hardening.Info, ""},
				"go-buildmode": {true, hardening.Low, "by default"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			path := build(t, tt.fixture)
			rep, err := hardening.CheckFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Path != path || rep.Format != tt.format || rep.Arch != tt.arch {
				t.Errorf("got path %q format %q arch %q, want %q %q %q", rep.Path, rep.Format, rep.Arch, path, tt.format, tt.arch)
			}
			checkGo(t, rep.GoBuild, tt.goBuild)
			checkFindings(t, rep.Findings, tt.want)
		})
	}
}

func checkGo(t *testing.T, got, want *hardening.GoInfo) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Errorf("GoBuild = %+v, want nil", got)
	case want != nil && got == nil:
		t.Errorf("GoBuild = nil, want a Go binary")
	case want != nil:
		if !strings.HasPrefix(got.GoVersion, "go1.") || got.Trimpath != want.Trimpath || got.BuildMode != want.BuildMode {
			t.Errorf("GoBuild = %+v, want trimpath %v buildmode %q", got, want.Trimpath, want.BuildMode)
		}
		if got.Settings["GOARCH"] == "" {
			t.Errorf("GoBuild.Settings has no GOARCH: %v", got.Settings)
		}
	}
}

func checkFindings(t *testing.T, got []hardening.Finding, want map[string]want) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range got {
		if seen[f.Check] {
			t.Errorf("check %q reported twice", f.Check)
		}
		seen[f.Check] = true
		w, ok := want[f.Check]
		if !ok {
			t.Errorf("unexpected finding %+v", f)
			continue
		}
		if f.Pass != w.pass || f.Severity != w.severity || !strings.Contains(f.Detail, w.detail) {
			t.Errorf("%s = {pass %v, %s, %q}, want {pass %v, %s, containing %q}",
				f.Check, f.Pass, f.Severity, f.Detail, w.pass, w.severity, w.detail)
		}
	}
	for c := range want {
		if !seen[c] {
			t.Errorf("no finding for check %q", c)
		}
	}
}

// TestCheckFat glues the darwin/arm64 and darwin/amd64 fixtures into a
// universal binary (the lipo layout: big-endian fat header, slices aligned
// to 2^14) and expects one merged report with per-arch findings.
func TestCheckFat(t *testing.T) {
	arm, err := os.ReadFile(build(t, "go-darwin"))
	must(t, err)
	amd, err := os.ReadFile(build(t, "go-darwin-amd64"))
	must(t, err)
	fat := makeFat(t, []uint32{0x0100000c, 0x01000007}, [][]byte{arm, amd})
	rep, err := hardening.Check(bytes.NewReader(fat), int64(len(fat)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != hardening.MachO || rep.Arch != "arm64,amd64" || rep.GoBuild == nil {
		t.Fatalf("got format %q arch %q go %v, want macho arm64,amd64 and a Go binary", rep.Format, rep.Arch, rep.GoBuild)
	}
	var pies []string
	for _, f := range rep.Findings {
		if f.Check == "pie" {
			if !f.Pass {
				t.Errorf("pie failed: %+v", f)
			}
			pies = append(pies, f.Detail)
		}
		if f.Check == "signature" && strings.HasPrefix(f.Detail, "arm64: ") != f.Pass {
			t.Errorf("signature: %+v, want signed arm64 and unsigned amd64 slices", f)
		}
	}
	if len(pies) != 2 || !strings.HasPrefix(pies[0], "arm64: ") || !strings.HasPrefix(pies[1], "amd64: ") {
		t.Errorf("pie details %q, want one per slice prefixed by arch", pies)
	}
}

func makeFat(t *testing.T, cpus []uint32, slices [][]byte) []byte {
	t.Helper()
	const align = 14
	var out []byte
	out = binary.BigEndian.AppendUint32(out, 0xcafebabe)
	out = binary.BigEndian.AppendUint32(out, uint32(len(slices)))
	off := uint32(1 << align)
	var body []byte
	for i, s := range slices {
		for uint32(len(body))+(1<<align) < off {
			body = append(body, 0)
		}
		out = binary.BigEndian.AppendUint32(out, cpus[i])
		out = binary.BigEndian.AppendUint32(out, 0) // subtype
		out = binary.BigEndian.AppendUint32(out, off)
		out = binary.BigEndian.AppendUint32(out, uint32(len(s)))
		out = binary.BigEndian.AppendUint32(out, align)
		body = append(body, s...)
		off += uint32(len(s))
		off = (off + 1<<align - 1) &^ (1<<align - 1)
	}
	out = append(out, make([]byte, 1<<align-len(out))...)
	return append(out, body...)
}

func TestCheckBadInput(t *testing.T) {
	elfBin, err := os.ReadFile(build(t, "c-hardened"))
	must(t, err)
	peBin, err := os.ReadFile(build(t, "go-windows"))
	must(t, err)
	machoBin, err := os.ReadFile(build(t, "go-darwin"))
	must(t, err)
	random := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(random)

	tests := []struct {
		name   string
		file   string // written under this name, so errors can be read
		data   []byte
		detail string // substring of the error
	}{
		{"empty", "empty", nil, "0-byte file has no magic number"},
		{"text named exe", "setup.exe", []byte("<!DOCTYPE html>\n<p>not a program</p>\n"), "magic 0x3c21444f at offset 0"},
		{"truncated elf", "trunc.elf", elfBin[:100], "malformed elf: truncated: the 100-byte file"},
		{"truncated pe", "trunc.exe", peBin[:100], "malformed pe: truncated: PE header at"},
		{"truncated macho", "trunc.macho", machoBin[:100], "malformed macho: truncated"},
		{"random", "random.bin", random, "not a well-formed"},
		{"java class", "A.class", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0x41, 0, 0, 0, 0}, "Java class"},
		{"elf object", "main.o", elfHeaderOnly(elfBin), "malformed elf"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			must(t, os.WriteFile(path, tt.data, 0o644))
			rep, err := hardening.CheckFile(path)
			if err == nil {
				t.Fatalf("CheckFile(%s) = %+v, want an error", tt.file, rep)
			}
			t.Log(err)
			if !errors.Is(err, hardening.ErrNotExecutable) {
				t.Errorf("error %q does not wrap ErrNotExecutable", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.detail) || !strings.Contains(msg, path) {
				t.Errorf("error %q does not name %q and the file", msg, tt.detail)
			}
		})
	}
}

// elfHeaderOnly returns the ELF header of b turned into an ET_REL object.
func elfHeaderOnly(b []byte) []byte {
	h := bytes.Clone(b[:64])
	binary.LittleEndian.PutUint16(h[16:], 1) // e_type = ET_REL
	// No program or section headers.
	binary.LittleEndian.PutUint64(h[32:], 0)
	binary.LittleEndian.PutUint64(h[40:], 0)
	binary.LittleEndian.PutUint16(h[56:], 0)
	binary.LittleEndian.PutUint16(h[60:], 0)
	binary.LittleEndian.PutUint16(h[62:], 0)
	return h
}

func TestCheckSize(t *testing.T) {
	_, err := hardening.Check(bytes.NewReader(nil), hardening.MaxSize+1)
	if err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("Check of a %d-byte file: error %v, want a size error", int64(hardening.MaxSize+1), err)
	}
}

// FuzzCheck feeds mutated real binaries to Check: it must return a report or
// an error, never panic or hang. Go binaries are cut to their first 16 KiB
// (headers and load commands) to keep each run fast.
func FuzzCheck(f *testing.F) {
	for _, name := range []string{"c-hardened", "c-soft", "go-pie", "go-windows", "go-darwin"} {
		b, err := os.ReadFile(build(f, name))
		must(f, err)
		if len(b) > 16<<10 {
			b = b[:16<<10]
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var rep *hardening.Report
		var err error
		done := make(chan bool)
		go func() { rep, err = hardening.Check(bytes.NewReader(b), int64(len(b))); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("Check did not return within 3s on a %d-byte input", len(b))
		}
		if err != nil {
			if rep != nil {
				t.Errorf("Check returned both a report and error %v", err)
			}
			if !errors.Is(err, hardening.ErrNotExecutable) {
				t.Errorf("error %v does not wrap ErrNotExecutable", err)
			}
			return
		}
		if rep.Format == "" || len(rep.Findings) == 0 {
			t.Errorf("report without format or findings: %+v", rep)
		}
	})
}
