package repro

import (
	"bytes"
	"context"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

func explainELF(ctx context.Context, e *expl, a, b blob) {
	fa, err := elf.NewFile(a)
	if err != nil {
		e.detail("elf: want: %v", err)
		return
	}
	fb, err := elf.NewFile(b)
	if err != nil {
		e.detail("elf: got: %v", err)
		return
	}
	list := func(f *elf.File) []section {
		var ss []section
		for _, s := range f.Sections {
			if s.Type == elf.SHT_NULL {
				continue
			}
			// FileSize, not Size: compressed debug sections are
			// smaller in the file than their Size says.
			ss = append(ss, section{name: s.Name, off: int64(s.Offset), size: int64(s.FileSize), nobits: s.Type == elf.SHT_NOBITS})
		}
		return ss
	}
	if fa.Entry != fb.Entry {
		e.detail("entry point differs: want 0x%x, got 0x%x", fa.Entry, fb.Entry)
	}
	differ := compareSections(ctx, e, a, b, list(fa), list(fb))
	if differ[".note.go.buildid"] {
		e.detail("Go build ID differs: want %q, got %q", elfNoteString(fa, ".note.go.buildid"), elfNoteString(fb, ".note.go.buildid"))
		e.hint(CauseGoBuildID, goBuildIDHint)
	}
	if differ[".note.gnu.build-id"] {
		e.hint(CauseGNUBuildID, "the GNU build ID differs (want %s, got %s): it is a hash of the output, so it follows the other differences unless they are removed", elfNote(fa, ".note.gnu.build-id"), elfNote(fb, ".note.gnu.build-id"))
	}
}

// elfNote returns the hex descriptor of the first note in the named section.
func elfNote(f *elf.File, name string) string {
	return hex.EncodeToString(elfNoteDesc(f, name))
}

// elfNoteString returns the descriptor of the first note in the named
// section as text.
func elfNoteString(f *elf.File, name string) string {
	return string(elfNoteDesc(f, name))
}

// elfNoteDesc returns the descriptor of the first note in the named section
// (ELF gABI, "Note Section"), or "?".
func elfNoteDesc(f *elf.File, name string) []byte {
	s := f.Section(name)
	if s == nil || s.Size > 4096 {
		return []byte("?")
	}
	data, err := s.Data()
	if err != nil || len(data) < 12 {
		return []byte("?")
	}
	bo := f.ByteOrder
	namesz, descsz := int(bo.Uint32(data[0:4])), int(bo.Uint32(data[4:8]))
	start := 12 + (namesz+3)&^3
	if namesz < 0 || descsz < 0 || start < 12 || start > len(data) || descsz > len(data)-start {
		return []byte("?")
	}
	return data[start : start+descsz]
}

func explainPE(ctx context.Context, e *expl, a, b blob) {
	fa, err := pe.NewFile(a)
	if err != nil {
		e.detail("pe: want: %v", err)
		return
	}
	fb, err := pe.NewFile(b)
	if err != nil {
		e.detail("pe: got: %v", err)
		return
	}
	if ta, tb := fa.FileHeader.TimeDateStamp, fb.FileHeader.TimeDateStamp; ta != tb {
		e.detail("COFF header TimeDateStamp differs: want 0x%08x (%s), got 0x%08x (%s)", ta, unixString(int64(ta)), tb, unixString(int64(tb)))
		e.hint(CauseTimestamp, "the linker writes the build time in the COFF header TimeDateStamp (%s apart): link with /Brepro or set it from SOURCE_DATE_EPOCH", absDur(int64(tb)-int64(ta)))
	}
	ca, dda := peOptional(fa)
	cb, ddb := peOptional(fb)
	if ca != cb {
		e.detail("optional header CheckSum differs: want 0x%08x, got 0x%08x (it covers the whole file, so it follows any other difference)", ca, cb)
	}
	list := func(f *pe.File) []section {
		var ss []section
		for _, s := range f.Sections {
			ss = append(ss, section{name: s.Name, off: int64(s.Offset), size: int64(s.Size), nobits: s.Offset == 0 && s.Size == 0})
		}
		return ss
	}
	compareSections(ctx, e, a, b, list(fa), list(fb))
	// Data directory 6 is the debug directory (PE format, "Optional Header
	// Data Directories"); its entries are 28 bytes ("Debug Directory").
	const debugDir = 6
	if len(dda) <= debugDir || len(ddb) <= debugDir {
		return
	}
	da, db := dda[debugDir], ddb[debugDir]
	if da.Size == 0 && db.Size == 0 {
		return
	}
	ra, rb := peDebug(fa, a, da), peDebug(fb, b, db)
	if bytes.Equal(ra, rb) {
		return
	}
	e.detail("debug directory differs: want RVA 0x%x (%d bytes), got RVA 0x%x (%d bytes)", da.VirtualAddress, da.Size, db.VirtualAddress, db.Size)
	for i := 0; i+28 <= len(ra) && i+28 <= len(rb) && i < 28*16; i += 28 {
		wa, wb := ra[i:i+28], rb[i:i+28]
		ts1, ts2 := binary.LittleEndian.Uint32(wa[4:8]), binary.LittleEndian.Uint32(wb[4:8])
		typ := binary.LittleEndian.Uint32(wa[12:16])
		if ts1 != ts2 {
			e.detail("debug directory entry %d (type %d): TimeDateStamp want 0x%08x, got 0x%08x", i/28, typ, ts1, ts2)
			e.hint(CauseTimestamp, "the debug directory carries the build time (%s apart): link with /Brepro", absDur(int64(ts2)-int64(ts1)))
		}
		if typ == 2 { // IMAGE_DEBUG_TYPE_CODEVIEW: "RSDS", GUID, age, PDB path
			ga, gb := peCodeView(a, wa), peCodeView(b, wb)
			if ga != gb {
				e.detail("CodeView record differs: want %s, got %s", ga, gb)
				e.hint(CauseUUID, "the PDB GUID/age or path in the CodeView record differs: link with /Brepro and a fixed /PDBALTPATH")
			}
		}
	}
}

// peOptional returns the CheckSum and data directories of f.
func peOptional(f *pe.File) (uint32, []pe.DataDirectory) {
	switch h := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		return h.CheckSum, h.DataDirectory[:min(int(h.NumberOfRvaAndSizes), len(h.DataDirectory))]
	case *pe.OptionalHeader64:
		return h.CheckSum, h.DataDirectory[:min(int(h.NumberOfRvaAndSizes), len(h.DataDirectory))]
	}
	return 0, nil
}

// peDebug reads the debug directory (at most 64 KiB) by mapping its RVA to
// a file offset through the section table.
func peDebug(f *pe.File, r blob, d pe.DataDirectory) []byte {
	if d.Size == 0 || d.Size > 64<<10 {
		return nil
	}
	for _, s := range f.Sections {
		if d.VirtualAddress >= s.VirtualAddress && uint64(d.VirtualAddress)+uint64(d.Size) <= uint64(s.VirtualAddress)+uint64(s.Size) {
			buf := make([]byte, d.Size)
			n, _ := r.ReadAt(buf, int64(s.Offset)+int64(d.VirtualAddress-s.VirtualAddress))
			return buf[:n]
		}
	}
	return nil
}

// peCodeView renders the RSDS GUID, age and PDB path an entry points to.
func peCodeView(r blob, entry []byte) string {
	size, ptr := binary.LittleEndian.Uint32(entry[16:20]), binary.LittleEndian.Uint32(entry[24:28])
	if size < 24 || size > 4096 {
		return "?"
	}
	buf := make([]byte, size)
	if n, _ := r.ReadAt(buf, int64(ptr)); n != len(buf) || string(buf[:4]) != "RSDS" {
		return "?"
	}
	p := buf[24:]
	if i := bytes.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	return fmt.Sprintf("guid %x age %d pdb %q", buf[4:20], binary.LittleEndian.Uint32(buf[20:24]), p)
}

func explainMachO(ctx context.Context, e *expl, a, b blob) {
	fa, err := macho.NewFile(a)
	if err != nil {
		e.detail("macho: want: %v", err)
		return
	}
	fb, err := macho.NewFile(b)
	if err != nil {
		e.detail("macho: got: %v", err)
		return
	}
	list := func(f *macho.File) []section {
		var ss []section
		for _, s := range f.Sections {
			t := s.Flags & 0xff // S_ZEROFILL 1, S_GB_ZEROFILL 0xc, S_THREAD_LOCAL_ZEROFILL 0x12
			ss = append(ss, section{name: s.Seg + "," + s.Name, off: int64(s.Offset), size: int64(s.Size), nobits: t == 1 || t == 0xc || t == 0x12})
		}
		return ss
	}
	compareSections(ctx, e, a, b, list(fa), list(fb))
	ua, ub := machoUUID(fa), machoUUID(fb)
	if ua != ub {
		e.detail("LC_UUID differs: want %s, got %s", ua, ub)
		e.hint(CauseUUID, "the Mach-O LC_UUID differs: the linker derives it from the contents (Go: from the build ID), so it follows the other differences")
	}
}

func machoUUID(f *macho.File) string {
	const lcUUID = 0x1b
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) >= 24 && f.ByteOrder.Uint32(raw[0:4]) == lcUUID {
			return hex.EncodeToString(raw[8:24])
		}
	}
	return "none"
}

func unixString(s int64) string {
	return time.Unix(s, 0).UTC().Format(time.RFC3339)
}

// absDur renders a difference in seconds as a duration.
func absDur(s int64) time.Duration {
	if s < 0 {
		s = -s
	}
	return time.Duration(min(s, int64(1<<62)/int64(time.Second))) * time.Second
}
