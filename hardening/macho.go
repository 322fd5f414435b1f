package hardening

import (
	"debug/macho"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// maxFatArches bounds the slices of a universal binary.
const maxFatArches = 16

var machoArch = map[macho.Cpu]string{
	macho.CpuAmd64: "amd64", macho.Cpu386: "386", macho.CpuArm64: "arm64", macho.CpuArm: "arm",
	macho.CpuPpc64: "ppc64", macho.CpuPpc: "ppc",
}

const lcCodeSignature = 0x1d

func checkMachO(r *io.SectionReader) (*Report, error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint32(magic[:]) != macho.MagicFat {
		f, err := macho.NewFile(r)
		if err != nil {
			return nil, err
		}
		rep := &Report{Format: MachO, Arch: cpuName(f.Cpu)}
		rep.GoBuild = goInfo(r)
		rep.Findings = machoFindings(f, rep.GoBuild, "")
		return rep, nil
	}
	var nfat [4]byte
	if _, err := r.ReadAt(nfat[:], 4); err != nil {
		return nil, fmt.Errorf("fat header: %w", err)
	}
	if n := binary.BigEndian.Uint32(nfat[:]); n > maxFatArches {
		// 0xcafebabe is also the magic of Java class files, whose
		// version lands here: say which.
		return nil, fmt.Errorf("fat header: %d architectures (more than %d; a Java class file?)", n, maxFatArches)
	}
	ff, err := macho.NewFatFile(r)
	if err != nil {
		return nil, err
	}
	rep := &Report{Format: MachO}
	var arches []string
	for _, a := range ff.Arches {
		name := cpuName(a.Cpu)
		arches = append(arches, name)
		g := goInfo(io.NewSectionReader(r, int64(a.Offset), int64(a.Size)))
		if rep.GoBuild == nil {
			rep.GoBuild = g
		}
		rep.Findings = append(rep.Findings, machoFindings(a.File, g, name+": ")...)
	}
	rep.Arch = strings.Join(arches, ",")
	return rep, nil
}

func cpuName(c macho.Cpu) string {
	if s, ok := machoArch[c]; ok {
		return s
	}
	return c.String()
}

// machoFindings checks one thin Mach-O file; prefix starts every Detail.
func machoFindings(f *macho.File, g *GoInfo, prefix string) []Finding {
	fl := f.Flags
	pie := Finding{Check: "pie", Pass: fl&macho.FlagPIE != 0, Severity: High, Detail: "MH_PIE set"}
	if f.Type != macho.TypeExec {
		pie.Pass, pie.Detail = true, fmt.Sprintf("file type %v: not a main executable", f.Type)
	} else if !pie.Pass {
		pie.Detail = "MH_PIE not set: fixed load address"
	}
	stack := Finding{Check: "nx-stack", Pass: fl&macho.FlagAllowStackExecution == 0, Severity: High,
		Detail: "MH_ALLOW_STACK_EXECUTION not set"}
	if !stack.Pass {
		stack.Detail = "MH_ALLOW_STACK_EXECUTION set: executable stack"
	}
	heap := Finding{Check: "nx-heap", Pass: fl&macho.FlagNoHeapExecution != 0, Severity: Info,
		Detail: "MH_NO_HEAP_EXECUTION set"}
	if !heap.Pass {
		heap.Detail = "MH_NO_HEAP_EXECUTION not set (the linker default)"
	}
	signed := false
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) >= 4 && f.ByteOrder.Uint32(raw) == lcCodeSignature {
			signed = true
		}
	}
	sig := Finding{Check: "signature", Pass: signed, Severity: Info, Detail: "LC_CODE_SIGNATURE present (not verified)"}
	if !signed {
		sig.Detail = "no LC_CODE_SIGNATURE"
	}
	out := []Finding{pie, stack, heap, sig}
	if g != nil {
		cgo := false
		if f.Symtab != nil {
			for _, s := range f.Symtab.Syms {
				if s.Name == "_x_cgo_init" || s.Name == "x_cgo_init" {
					cgo = true
					break
				}
			}
		}
		out = append(out, goFindings(g, pie.Pass, cgo)...)
	}
	for i := range out {
		out[i].Detail = prefix + out[i].Detail
	}
	return out
}
