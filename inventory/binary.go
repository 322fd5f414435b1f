package inventory

import (
	"debug/buildinfo"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/hallmark-dev/hallmark/digest"
)

// sniffLen is how many bytes sniff needs from the start of a file; a PE
// header offset beyond it costs one more read.
const sniffLen = 64

// sniff says which executable format the content of r (size bytes) has by
// its magic bytes: "elf", "pe", "macho", or "" for anything else.
//
//	ELF     "\x7fELF", class 1 or 2, data encoding 1 or 2
//	PE      "MZ", e_lfanew (offset 0x3c) inside the file, "PE\x00\x00" there
//	        (the Windows loader accepts a PE header overlapping the DOS header,
//	        as size-optimised files have it, so any offset from 4 on counts)
//	Mach-O  0xfeedface / 0xfeedfacf in either byte order (thin);
//	        0xcafebabe / 0xcafebabf big-endian (universal) with 1 <= nfat_arch < 45
//	        and the first slice inside the file
//
// Java class files also start with 0xcafebabe; their next four bytes are the
// minor and major version, which read as nfat_arch is at least 45 (major 45 is
// Java 1.1), so the bound tells the two apart where 64 would not.
func sniff(r io.ReaderAt, size int64) string {
	var b [sniffLen]byte
	n, _ := r.ReadAt(b[:], 0)
	h := b[:n]
	if len(h) < 4 {
		return ""
	}
	switch {
	case string(h[:4]) == "\x7fELF":
		if len(h) >= 6 && (h[4] == 1 || h[4] == 2) && (h[5] == 1 || h[5] == 2) {
			return "elf"
		}
		return ""
	case string(h[:2]) == "MZ":
		if len(h) < 0x40 {
			return ""
		}
		off := int64(binary.LittleEndian.Uint32(h[0x3c:]))
		if off < 4 || off > size-4 {
			return ""
		}
		var sig [4]byte
		if _, err := r.ReadAt(sig[:], off); err != nil || string(sig[:]) != "PE\x00\x00" {
			return ""
		}
		return "pe"
	}
	be := binary.BigEndian.Uint32(h)
	switch be {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
		return "macho"
	case 0xcafebabe, 0xcafebabf:
		if len(h) < 8 {
			return ""
		}
		nfat := binary.BigEndian.Uint32(h[4:])
		if nfat == 0 || nfat >= 45 {
			return ""
		}
		// The first fat_arch (20 bytes, or 32 for fat_arch_64) follows
		// the 8-byte header: cputype, cpusubtype, offset, size, align.
		var off, sz uint64
		if be == 0xcafebabe {
			if len(h) < 28 {
				return ""
			}
			off = uint64(binary.BigEndian.Uint32(h[16:]))
			sz = uint64(binary.BigEndian.Uint32(h[20:]))
		} else {
			if len(h) < 40 {
				return ""
			}
			off = binary.BigEndian.Uint64(h[16:])
			sz = binary.BigEndian.Uint64(h[24:])
		}
		if off < 8 || off > uint64(size) || sz > uint64(size)-off {
			return ""
		}
		return "macho"
	}
	return ""
}

// binaryInfo is what inspecting one executable found.
type binaryInfo struct {
	file File
	// goMain, goDeps and stdlib are set for a Go binary.
	goMain  *Component
	goDeps  []Component
	stdlib  *Component
	warning string
}

// inspect hashes the executable f (already sniffed as format) and reads its
// Go build information. rel is its path for Locations.
func inspect(f *os.File, rel, format string, size int64) (binaryInfo, error) {
	sum, _, err := digest.Reader(io.NewSectionReader(f, 0, size))
	if err != nil {
		return binaryInfo{}, fmt.Errorf("reading: %w", err)
	}
	bi := binaryInfo{file: File{
		Path:   rel,
		Size:   size,
		SHA256: sum.Hex(),
		Format: format,
	}}
	info, err := readBuildInfo(f)
	if err != nil || info == nil {
		// Not a Go binary (or its build information is unreadable):
		// the file is still an executable with a digest.
		return bi, nil
	}
	loc := rel
	if info.Main.Path != "" {
		v := info.Main.Version
		if v == "(devel)" {
			v = ""
		}
		c := goComponent(info.Main.Path, v, Direct, loc)
		bi.goMain = &c
	}
	for _, d := range info.Deps {
		p, v := d.Path, d.Version
		if d.Replace != nil {
			if d.Replace.Version == "" {
				// A local directory replacement: its code is
				// part of the source the binary was built from.
				continue
			}
			p, v = d.Replace.Path, d.Replace.Version
		}
		bi.goDeps = append(bi.goDeps, goComponent(p, v, Indirect, loc))
	}
	if sv := goStdlibVersion(info.GoVersion); sv != "" {
		c := stdlibComponent(sv, loc)
		bi.stdlib = &c
	} else if info.GoVersion != "" {
		bi.warning = fmt.Sprintf("go version %q is not a release version; no stdlib component", info.GoVersion)
	}
	for _, c := range bi.goDeps {
		bi.file.Components = append(bi.file.Components, c.PURL)
	}
	if bi.goMain != nil {
		bi.file.Components = append(bi.file.Components, bi.goMain.PURL)
	}
	if bi.stdlib != nil {
		bi.file.Components = append(bi.file.Components, bi.stdlib.PURL)
	}
	bi.file.Components = sortedUnique(bi.file.Components)
	return bi, nil
}

// readBuildInfo is buildinfo.Read with the panics of the debug/* parsers on
// hostile input turned into errors.
func readBuildInfo(r io.ReaderAt) (info *buildinfo.BuildInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			info, err = nil, fmt.Errorf("build info: parser panic: %v", p)
		}
	}()
	return buildinfo.Read(r)
}
