package hardening

import (
	"debug/elf"
	"fmt"
	"io"
	"slices"
	"strings"
)

var elfArch = map[elf.Machine]string{
	elf.EM_X86_64: "amd64", elf.EM_386: "386", elf.EM_AARCH64: "arm64", elf.EM_ARM: "arm",
	elf.EM_RISCV: "riscv64", elf.EM_PPC64: "ppc64", elf.EM_S390: "s390x", elf.EM_MIPS: "mips",
	elf.EM_LOONGARCH: "loong64",
}

func checkELF(r *io.SectionReader) (*Report, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	rep := &Report{Format: ELF, Arch: elfArch[f.Machine]}
	if rep.Arch == "" {
		rep.Arch = f.Machine.String()
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fmt.Errorf("elf type %v is not an executable or shared object", f.Type)
	}

	var interp, relro, stack, dynamic bool
	var stackFlags elf.ProgFlag
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			interp = true
		case elf.PT_DYNAMIC:
			dynamic = true
		case elf.PT_GNU_RELRO:
			relro = true
		case elf.PT_GNU_STACK:
			stack, stackFlags = true, p.Flags
		}
	}
	dyn := dynamic || f.Section(".dynamic") != nil
	var flags, flags1 uint64
	var bindNow bool
	if dyn {
		flags = dynValue(f, elf.DT_FLAGS)
		flags1 = dynValue(f, elf.DT_FLAGS_1)
		v, _ := f.DynValue(elf.DT_BIND_NOW)
		bindNow = len(v) > 0
	}

	// pie
	pie := Finding{Check: "pie", Severity: High}
	switch {
	case f.Type == elf.ET_EXEC:
		pie.Detail = "ET_EXEC: fixed load address"
	case flags1&uint64(elf.DF_1_PIE) != 0:
		pie.Pass, pie.Detail = true, "ET_DYN with DF_1_PIE"
	case interp:
		pie.Pass, pie.Detail = true, "ET_DYN with PT_INTERP"
	default:
		pie.Pass, pie.Detail = true, "ET_DYN without PT_INTERP or DF_1_PIE: shared object"
	}

	// relro
	now := bindNow || flags&uint64(elf.DF_BIND_NOW) != 0 || flags1&uint64(elf.DF_1_NOW) != 0
	rel := Finding{Check: "relro"}
	switch {
	case relro && now:
		rel.Pass, rel.Severity, rel.Detail = true, Medium, "full: PT_GNU_RELRO and BIND_NOW"
	case relro:
		rel.Severity, rel.Detail = Low, "partial: PT_GNU_RELRO without BIND_NOW"
	default:
		rel.Severity, rel.Detail = Medium, "none: no PT_GNU_RELRO"
	}

	// nx-stack
	nx := Finding{Check: "nx-stack", Severity: High}
	switch {
	case !stack:
		nx.Detail = "no PT_GNU_STACK: stack executable by default"
	case stackFlags&elf.PF_X != 0:
		nx.Detail = "PT_GNU_STACK is executable (" + stackFlags.String() + ")"
	default:
		nx.Pass, nx.Detail = true, "PT_GNU_STACK without PF_X"
	}

	// Symbols: .symtab and .dynsym. Errors mean "no such table".
	syms, _ := f.Symbols()
	dsyms, _ := f.DynamicSymbols()
	stripped := f.Section(".symtab") == nil
	var canary bool
	var chk []string
	cgo := false
	for _, list := range [][]elf.Symbol{syms, dsyms} {
		for _, s := range list {
			name, _, _ := strings.Cut(s.Name, "@") // versioned names
			switch {
			case name == "__stack_chk_fail" || name == "__stack_chk_fail_local":
				canary = true
			case name == "x_cgo_init":
				cgo = true
			case strings.HasPrefix(name, "__") && strings.HasSuffix(name, "_chk") &&
				!strings.HasPrefix(name, "__stack_chk"):
				if len(chk) < 8 && !slices.Contains(chk, name) {
					chk = append(chk, name)
				}
			}
		}
	}

	rep.GoBuild = goInfo(r)
	if rep.GoBuild != nil && stripped && !cgo {
		// No .symtab to find runtime/cgo in: linking to shared
		// libraries means C code (external linking).
		libs, _ := f.ImportedLibraries()
		cgo = rep.GoBuild.CGO && len(libs) > 0
	}
	pureGo := rep.GoBuild != nil && !cgo

	var can, fort Finding
	if pureGo {
		can, fort = notApplicable("canary"), notApplicable("fortify")
	} else {
		can = Finding{Check: "canary", Pass: canary, Severity: Medium, Detail: "__stack_chk_fail referenced"}
		if !canary {
			can.Detail = "no __stack_chk_fail symbol"
		}
		fort = Finding{Check: "fortify", Pass: len(chk) > 0, Severity: Low,
			Detail: "fortified functions: " + strings.Join(chk, ", ")}
		if len(chk) == 0 {
			fort.Detail = "no __*_chk symbols"
		}
	}

	// rpath
	var paths []string
	if dyn {
		for _, tag := range []elf.DynTag{elf.DT_RPATH, elf.DT_RUNPATH} {
			v, _ := f.DynString(tag)
			for _, p := range v {
				paths = append(paths, tag.String()+"="+p)
			}
		}
	}
	rp := Finding{Check: "rpath", Pass: len(paths) == 0, Severity: Medium, Detail: "no DT_RPATH or DT_RUNPATH"}
	if len(paths) > 0 {
		rp.Detail = strings.Join(paths, ", ")
	}

	st := Finding{Check: "stripped", Pass: stripped, Severity: Info, Detail: "no .symtab"}
	if !stripped {
		st.Detail = fmt.Sprintf(".symtab with %d symbols", len(syms))
	}

	rep.Findings = []Finding{pie, rel, nx, can, fort, rp, st}
	if rep.GoBuild != nil {
		rep.Findings = append(rep.Findings, goFindings(rep.GoBuild, pie.Pass, cgo)...)
	}
	return rep, nil
}

// dynValue ORs together the values of tag; 0 when absent or unreadable.
func dynValue(f *elf.File, tag elf.DynTag) uint64 {
	vs, _ := f.DynValue(tag)
	var v uint64
	for _, x := range vs {
		v |= x
	}
	return v
}
