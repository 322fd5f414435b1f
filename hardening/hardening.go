// Package hardening reports which exploit mitigations a compiled binary was
// built with: the role of checksec for ELF and of BinSkim for PE.
//
// Check reads an ELF, PE or Mach-O file through an io.ReaderAt and returns a
// Report: the format, the architecture, the Go build information when the file
// is a Go binary (debug/buildinfo), and one Finding per check. A Finding says
// whether the check passed and, in Severity, how bad a failure is; a check
// that does not apply (stack canaries in a Go binary with no C code linked in)
// passes with Severity "info" and a Detail that says why. Findings with
// Severity "info" are notes, never a reason to reject a binary.
//
// The checks and their semantics (those of checksec and BinSkim):
//
//	ELF    pie          ET_EXEC fails; ET_DYN passes with DF_1_PIE or PT_INTERP
//	       relro        full: PT_GNU_RELRO plus DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW;
//	                    partial: PT_GNU_RELRO alone (fails, low); none (fails, medium)
//	       nx-stack     PT_GNU_STACK without PF_X; a missing PT_GNU_STACK fails
//	       canary       symbol __stack_chk_fail in .symtab or .dynsym
//	       fortify      any __*_chk symbol (__printf_chk, __memcpy_chk, ...)
//	       rpath        neither DT_RPATH nor DT_RUNPATH (fails, medium)
//	       stripped     no .symtab (info; Pass reports "stripped")
//	PE     aslr         IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE and relocations kept
//	       high-entropy-va  HIGH_ENTROPY_VA, 64-bit images only
//	       nx           NX_COMPAT (DEP)
//	       cfg          GUARD_CF
//	       safeseh      x86 only: NO_SEH, or an SEHandlerTable in the load config
//	       signature    certificate table data directory non-empty (info)
//	Mach-O pie          MH_PIE
//	       nx-stack     no MH_ALLOW_STACK_EXECUTION
//	       nx-heap      MH_NO_HEAP_EXECUTION (info)
//	       signature    LC_CODE_SIGNATURE present (info)
//	Go     go-trimpath  built with -trimpath (low: build paths leak)
//	       go-cgo       info: whether C code is linked in (CGO_ENABLED=1 and runtime/cgo)
//	       go-buildmode -buildmode=pie, or exe on a platform where exe is PIE
//
// "C code is linked in" means: the symbol x_cgo_init (runtime/cgo) is present;
// for a stripped ELF, CGO_ENABLED=1 plus DT_NEEDED libraries; for PE, a .CRT
// section (external linking). GoInfo.CGO only repeats the CGO_ENABLED setting,
// which is 1 by default wherever a C compiler is installed, even for pure Go.
//
// A universal (fat) Mach-O file yields one merged Report: Arch lists the
// slices' architectures joined by ",", every Finding's Detail starts with
// "<arch>: ", and each check appears once per slice. GoBuild comes from the
// first slice that is a Go binary.
//
// Errors: a file that is not a well-formed ELF, PE or Mach-O file (an empty
// file, text, a truncated header, a parser panic on hostile input) yields an
// error wrapping ErrNotExecutable that names what is wrong; files larger than
// MaxSize are refused. The debug/* parsers are not hardened against hostile
// input, so Check recovers their panics into errors.
package hardening

import (
	"debug/buildinfo"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxSize is the largest file Check reads.
const MaxSize = 4 << 30

// ErrNotExecutable is wrapped by every error for a file that is not a
// well-formed ELF, PE or Mach-O file.
var ErrNotExecutable = errors.New("not a well-formed ELF, PE or Mach-O executable")

// Format is a binary file format.
type Format string

const (
	ELF   Format = "elf"
	PE    Format = "pe"
	MachO Format = "macho"
)

// Severity says how bad a failed check is.
type Severity string

const (
	High   Severity = "high"
	Medium Severity = "medium"
	Low    Severity = "low"
	Info   Severity = "info"
)

// Finding is the result of one check.
type Finding struct {
	Check    string   // "pie", "relro", "nx-stack", ...
	Pass     bool     // the mitigation is present (or the check does not apply)
	Severity Severity // how bad a failure is; Info for notes and checks that do not apply
	Detail   string   // what was found, e.g. "ET_DYN with DF_1_PIE"
}

// GoInfo is the build information the Go toolchain embeds in a binary.
type GoInfo struct {
	GoVersion string
	Trimpath  bool   // -trimpath=true
	CGO       bool   // CGO_ENABLED=1 (C code may still be absent, see go-cgo)
	BuildMode string // -buildmode, e.g. "exe" or "pie"
	Settings  map[string]string
}

// Report is the hardening report for one file.
type Report struct {
	Path     string
	Format   Format
	Arch     string  // GOARCH-style name: "amd64", "arm64", "386", ...
	GoBuild  *GoInfo // nil unless a Go binary
	Findings []Finding
}

// Finding returns the first finding for check, or false.
func (r *Report) Finding(check string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Check == check {
			return f, true
		}
	}
	return Finding{}, false
}

// CheckFile opens and checks the file at path.
func CheckFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hardening: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("hardening: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("hardening: %s: not a regular file: %w", path, ErrNotExecutable)
	}
	rep, err := check(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("hardening: %s: %w", path, err)
	}
	rep.Path = path
	return rep, nil
}

// Check reads the size bytes of r and returns their report.
func Check(r io.ReaderAt, size int64) (*Report, error) {
	rep, err := check(r, size)
	if err != nil {
		return nil, fmt.Errorf("hardening: %w", err)
	}
	return rep, nil
}

func check(r io.ReaderAt, size int64) (rep *Report, err error) {
	if size < 0 || size > MaxSize {
		return nil, fmt.Errorf("size %d outside [0, %d]", size, int64(MaxSize))
	}
	sr := io.NewSectionReader(r, 0, size)
	var magic [4]byte
	if n, err := sr.ReadAt(magic[:], 0); n < 4 {
		if err == nil || err == io.EOF {
			return nil, fmt.Errorf("%d-byte file has no magic number: %w", size, ErrNotExecutable)
		}
		return nil, fmt.Errorf("reading magic number: %w", err)
	}
	var format Format
	switch {
	case string(magic[:]) == "\x7fELF":
		format = ELF
	case string(magic[:2]) == "MZ":
		format = PE
	case isMachO(magic):
		format = MachO
	default:
		return nil, fmt.Errorf("magic %#x at offset 0: %w", magic[:], ErrNotExecutable)
	}
	defer func() {
		if p := recover(); p != nil {
			rep = nil
			err = fmt.Errorf("malformed %s: parser panic: %v: %w", format, p, ErrNotExecutable)
		}
	}()
	switch format {
	case ELF:
		rep, err = checkELF(sr)
	case PE:
		rep, err = checkPE(sr)
	default:
		rep, err = checkMachO(sr)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// debug/* report a short read as a bare EOF: say what it means.
		err = fmt.Errorf("truncated: the %d-byte file ends inside a header or table (%w)", size, err)
	}
	if err != nil {
		return nil, fmt.Errorf("malformed %s: %w: %w", format, err, ErrNotExecutable)
	}
	return rep, nil
}

func isMachO(m [4]byte) bool {
	switch binary.BigEndian.Uint32(m[:]) {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe:
		return true
	}
	return false
}

// goInfo returns the Go build information in r, or nil if r is no Go binary.
func goInfo(r io.ReaderAt) *GoInfo {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return nil
	}
	g := &GoInfo{GoVersion: bi.GoVersion, Settings: make(map[string]string)}
	for _, s := range bi.Settings {
		g.Settings[s.Key] = s.Value
	}
	g.Trimpath = g.Settings["-trimpath"] == "true"
	g.CGO = g.Settings["CGO_ENABLED"] == "1"
	g.BuildMode = g.Settings["-buildmode"]
	if g.BuildMode == "" {
		g.BuildMode = "exe"
	}
	return g
}

// goFindings returns the Go-specific findings. pie is whether the format's
// own position-independence check passed; cgo whether C code is linked in.
func goFindings(g *GoInfo, pie, cgo bool) []Finding {
	trim := Finding{Check: "go-trimpath", Pass: g.Trimpath, Severity: Low, Detail: "built with -trimpath"}
	if !g.Trimpath {
		trim.Detail = "built without -trimpath: build paths are embedded"
	}
	c := Finding{Check: "go-cgo", Pass: true, Severity: Info}
	switch {
	case cgo:
		c.Detail = "CGO_ENABLED=1 and runtime/cgo linked in: C code present"
	case g.CGO:
		c.Detail = "CGO_ENABLED=1 but runtime/cgo not linked in: pure Go"
	default:
		c.Detail = "CGO_ENABLED=0: pure Go"
	}
	bm := Finding{Check: "go-buildmode", Severity: Low}
	switch {
	case g.BuildMode == "pie":
		bm.Pass, bm.Detail = true, "-buildmode=pie"
	case pie:
		bm.Pass, bm.Detail = true, "-buildmode="+g.BuildMode+", position-independent by default on this platform"
	default:
		bm.Detail = "-buildmode=" + g.BuildMode + ": not position-independent"
	}
	return []Finding{trim, c, bm}
}

// notApplicable is the finding for a C mitigation in a binary without C code.
func notApplicable(check string) Finding {
	return Finding{Check: check, Pass: true, Severity: Info,
		Detail: "not applicable: Go binary without C code (Go has no stack canaries or _FORTIFY_SOURCE by design)"}
}
