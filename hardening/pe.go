package hardening

import (
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var peArch = map[uint16]string{
	pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_I386: "386",
	pe.IMAGE_FILE_MACHINE_ARM64: "arm64", pe.IMAGE_FILE_MACHINE_ARMNT: "arm",
}

func checkPE(r *io.SectionReader) (*Report, error) {
	// debug/pe reads a PE header offset beyond the end as zeros and
	// then complains of a bad signature: name the truncation instead.
	var lfanew [4]byte
	if _, err := r.ReadAt(lfanew[:], 0x3c); err != nil {
		return nil, fmt.Errorf("dos header: e_lfanew at 0x3c: %w", err)
	}
	if off := int64(binary.LittleEndian.Uint32(lfanew[:])); off+4+20 > r.Size() {
		return nil, fmt.Errorf("truncated: PE header at %#x beyond the %d-byte file", off, r.Size())
	}
	f, err := pe.NewFile(r)
	if err != nil {
		return nil, err
	}
	rep := &Report{Format: PE, Arch: peArch[f.Machine]}
	if rep.Arch == "" {
		rep.Arch = fmt.Sprintf("machine %#x", f.Machine)
	}
	var dllc uint16
	var dirs []pe.DataDirectory
	is64 := false
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		dllc, dirs = oh.DllCharacteristics, oh.DataDirectory[:min(int(oh.NumberOfRvaAndSizes), len(oh.DataDirectory))]
	case *pe.OptionalHeader64:
		dllc, dirs, is64 = oh.DllCharacteristics, oh.DataDirectory[:min(int(oh.NumberOfRvaAndSizes), len(oh.DataDirectory))], true
	default:
		return nil, errors.New("no optional header: an object file, not an image")
	}
	has := func(bit uint16) bool { return dllc&bit != 0 }
	dir := func(i int) pe.DataDirectory {
		if i < len(dirs) {
			return dirs[i]
		}
		return pe.DataDirectory{}
	}

	aslr := Finding{Check: "aslr", Severity: High}
	switch {
	case !has(pe.IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE):
		aslr.Detail = "DYNAMIC_BASE not set"
	case f.Characteristics&pe.IMAGE_FILE_RELOCS_STRIPPED != 0:
		aslr.Detail = "DYNAMIC_BASE set but relocations stripped: image cannot move"
	default:
		aslr.Pass, aslr.Detail = true, "DYNAMIC_BASE set"
	}
	rep.Findings = append(rep.Findings, aslr)

	if is64 {
		he := Finding{Check: "high-entropy-va", Pass: has(pe.IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA),
			Severity: Medium, Detail: "HIGH_ENTROPY_VA set"}
		if !he.Pass {
			he.Detail = "HIGH_ENTROPY_VA not set: 32-bit ASLR entropy only"
		}
		rep.Findings = append(rep.Findings, he)
	}

	nx := Finding{Check: "nx", Pass: has(pe.IMAGE_DLLCHARACTERISTICS_NX_COMPAT), Severity: High, Detail: "NX_COMPAT set"}
	if !nx.Pass {
		nx.Detail = "NX_COMPAT not set: no DEP"
	}
	rep.GoBuild = goInfo(r)
	cgo := f.Section(".CRT") != nil // only externally linked (cgo) images have a .CRT section
	cfg := Finding{Check: "cfg", Pass: has(pe.IMAGE_DLLCHARACTERISTICS_GUARD_CF), Severity: Medium, Detail: "GUARD_CF set"}
	if !cfg.Pass {
		cfg.Detail = "GUARD_CF not set: no Control Flow Guard"
		if rep.GoBuild != nil && !cgo {
			cfg.Detail += " (the Go toolchain does not emit CFG)"
		}
	}
	rep.Findings = append(rep.Findings, nx, cfg)

	if f.Machine == pe.IMAGE_FILE_MACHINE_I386 {
		seh := Finding{Check: "safeseh", Severity: Medium}
		switch {
		case has(pe.IMAGE_DLLCHARACTERISTICS_NO_SEH):
			seh.Pass, seh.Detail = true, "NO_SEH set"
		default:
			table, count, err := sehTable(f, dir(pe.IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG))
			switch {
			case err != nil:
				seh.Detail = "load config: " + err.Error()
			case table == 0:
				seh.Detail = "no SEHandlerTable in the load config"
			default:
				seh.Pass, seh.Detail = true, fmt.Sprintf("SEHandlerTable with %d handlers", count)
			}
		}
		rep.Findings = append(rep.Findings, seh)
	}

	sec := dir(pe.IMAGE_DIRECTORY_ENTRY_SECURITY)
	sig := Finding{Check: "signature", Pass: sec.Size > 0, Severity: Info,
		Detail: fmt.Sprintf("certificate table of %d bytes (not verified)", sec.Size)}
	if !sig.Pass {
		sig.Detail = "no Authenticode certificate table"
	}
	rep.Findings = append(rep.Findings, sig)

	if rep.GoBuild != nil {
		rep.Findings = append(rep.Findings, goFindings(rep.GoBuild, aslr.Pass, cgo)...)
	}
	return rep, nil
}

// sehTable reads SEHandlerTable and SEHandlerCount from a 32-bit load
// configuration directory.
func sehTable(f *pe.File, d pe.DataDirectory) (table, count uint32, err error) {
	if d.VirtualAddress == 0 || d.Size == 0 {
		return 0, 0, nil
	}
	if d.Size < 0x48 {
		return 0, 0, fmt.Errorf("directory of %d bytes too short for SEHandlerTable", d.Size)
	}
	for _, s := range f.Sections {
		if d.VirtualAddress < s.VirtualAddress || d.VirtualAddress-s.VirtualAddress >= s.Size {
			continue
		}
		var buf [0x48]byte
		if _, err := s.ReadAt(buf[:], int64(d.VirtualAddress-s.VirtualAddress)); err != nil {
			return 0, 0, fmt.Errorf("section %s at rva %#x: %w", s.Name, d.VirtualAddress, err)
		}
		if binary.LittleEndian.Uint32(buf[0:]) < 0x48 { // the structure's own Size field
			return 0, 0, nil
		}
		return binary.LittleEndian.Uint32(buf[0x40:]), binary.LittleEndian.Uint32(buf[0x44:]), nil
	}
	return 0, 0, fmt.Errorf("rva %#x is in no section", d.VirtualAddress)
}
