package executable

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// PE/COFF: Microsoft PE Format, sections "MS-DOS Stub", "Signature", "COFF
// File Header", "Optional Header" (magic, Windows-specific fields, data
// directories; the certificate table is directory 4).

var peMachines = map[uint16]string{
	0x14c: "386", 0x8664: "amd64", 0xaa64: "arm64", 0x1c0: "arm", 0x1c4: "arm", 0xa641: "arm64ec",
	0x200: "ia64", 0x5032: "riscv32", 0x5064: "riscv64", 0x6264: "loong64", 0xebc: "ebc",
}

func (d *detector) pe() Info {
	i := Info{Kind: PE}
	hdr, err := d.read(0, 0x40)
	if err != nil {
		i.Problem = "MZ header truncated: no e_lfanew"
		return i
	}
	lfanew := int64(binary.LittleEndian.Uint32(hdr[0x3c:]))
	sig, err := d.read(lfanew, 4)
	if err != nil {
		i.Problem = fmt.Sprintf("e_lfanew %#x: no PE header inside the %d-byte file", lfanew, d.size)
		return i
	}
	switch {
	case bytes.Equal(sig, []byte("PE\x00\x00")):
	case bytes.HasPrefix(sig, []byte("NE")), bytes.HasPrefix(sig, []byte("LE")), bytes.HasPrefix(sig, []byte("LX")):
		i.Problem = fmt.Sprintf("%s image, not PE", sig[:2])
		return i
	default:
		i.Problem = fmt.Sprintf("e_lfanew %#x: no PE signature (a DOS program or a broken header)", lfanew)
		return i
	}
	coff, err := d.read(lfanew+4, 20)
	if err != nil {
		i.Problem = "COFF header truncated"
		return i
	}
	machine := binary.LittleEndian.Uint16(coff[0:])
	i.Machine = peMachines[machine]
	if i.Machine == "" {
		i.Machine = fmt.Sprintf("machine-%#x", machine)
	}
	optSize := int64(binary.LittleEndian.Uint16(coff[16:]))
	chars := binary.LittleEndian.Uint16(coff[18:])
	opt, err := d.read(lfanew+24, min(optSize, 240))
	if err != nil || len(opt) < 2 {
		i.Problem = "optional header missing or truncated (an object file, or broken)"
		return i
	}
	var nDirsOff, dirsOff int
	switch binary.LittleEndian.Uint16(opt) {
	case 0x10b:
		i.Bits, nDirsOff, dirsOff = 32, 92, 96
	case 0x20b:
		i.Bits, nDirsOff, dirsOff = 64, 108, 112
	default:
		i.Problem = fmt.Sprintf("optional header magic %#x is neither PE32 nor PE32+", binary.LittleEndian.Uint16(opt))
		return i
	}
	if len(opt) < nDirsOff+4 {
		i.Problem = "optional header too short for its Windows fields"
		return i
	}
	switch sub := binary.LittleEndian.Uint16(opt[68:]); {
	case sub >= 10 && sub <= 13:
		i.Sub = "efi"
	case sub == 1:
		i.Sub = "sys"
	case chars&0x2000 != 0: // IMAGE_FILE_DLL
		i.Sub = "dll"
	default:
		i.Sub = "exe"
	}
	if nDirs := binary.LittleEndian.Uint32(opt[nDirsOff:]); nDirs > 4 && len(opt) >= dirsOff+5*8 {
		cert := opt[dirsOff+4*8:]
		i.Signed = binary.LittleEndian.Uint32(cert) != 0 && binary.LittleEndian.Uint32(cert[4:]) != 0
	}
	return i
}

// ELF: System V ABI, "ELF Header" (e_ident, e_type, e_machine).

var elfMachines = map[uint16]string{
	3: "386", 62: "amd64", 183: "arm64", 40: "arm", 243: "riscv", 8: "mips", 20: "ppc", 21: "ppc64",
	22: "s390x", 258: "loong64", 2: "sparc", 43: "sparc64", 50: "ia64", 247: "bpf",
}

var elfTypes = map[uint16]string{1: "rel", 2: "exec", 3: "dyn", 4: "core"}

const moduleSigMagic = "~Module signature appended~\n"

func (d *detector) elf() Info {
	i := Info{Kind: ELF}
	h, err := d.read(0, 20)
	if err != nil {
		i.Problem = "ELF header truncated"
		return i
	}
	var bo binary.ByteOrder
	switch h[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		i.Problem = fmt.Sprintf("EI_DATA %d is neither little nor big endian", h[5])
		return i
	}
	switch h[4] {
	case 1:
		i.Bits = 32
	case 2:
		i.Bits = 64
	default:
		i.Problem = fmt.Sprintf("EI_CLASS %d is neither 32 nor 64 bits", h[4])
	}
	i.Sub = elfTypes[bo.Uint16(h[16:])]
	if i.Sub == "" {
		i.Sub = fmt.Sprintf("type-%#x", bo.Uint16(h[16:]))
	}
	i.Machine = elfMachines[bo.Uint16(h[18:])]
	if i.Machine == "" {
		i.Machine = fmt.Sprintf("machine-%d", bo.Uint16(h[18:]))
	}
	if t, err := d.read(d.size-int64(len(moduleSigMagic)), int64(len(moduleSigMagic))); err == nil {
		i.Signed = string(t) == moduleSigMagic
	}
	return i
}

// Mach-O: <mach-o/loader.h> (mach_header, load_command, LC_CODE_SIGNATURE)
// and <mach-o/fat.h> (fat_header, fat_arch, fat_arch_64).

func isMachO(le uint32) bool {
	switch le {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
		return true
	}
	return false
}

var machoCPUs = map[uint32]string{
	7: "386", 0x01000007: "amd64", 12: "arm", 0x0100000c: "arm64", 0x0200000c: "arm64_32",
	18: "ppc", 0x01000012: "ppc64",
}

var machoTypes = map[uint32]string{
	1: "object", 2: "execute", 3: "fvmlib", 4: "core", 5: "preload", 6: "dylib", 7: "dylinker",
	8: "bundle", 9: "dylib-stub", 10: "dsym", 11: "kext-bundle", 12: "fileset",
}

func machoCPU(c uint32) string {
	if s, ok := machoCPUs[c]; ok {
		return s
	}
	return fmt.Sprintf("cpu-%#x", c)
}

func (d *detector) macho() Info { return d.machoAt(0) }

// machoAt reads the thin Mach-O image at off.
func (d *detector) machoAt(off int64) Info {
	i := Info{Kind: MachO}
	h, err := d.read(off, 28)
	if err != nil {
		i.Problem = "Mach-O header truncated"
		return i
	}
	var bo binary.ByteOrder = binary.LittleEndian
	magic := bo.Uint32(h)
	if !isMachO(magic) {
		i.Problem = fmt.Sprintf("magic %#x at %#x is not Mach-O", magic, off)
		return i
	}
	if magic == 0xcefaedfe || magic == 0xcffaedfe {
		bo = binary.BigEndian
	}
	i.Bits, i.Machine = 32, machoCPU(bo.Uint32(h[4:]))
	hdrSize := int64(28)
	if magic == 0xfeedfacf || magic == 0xcffaedfe {
		i.Bits, hdrSize = 64, 32
	}
	i.Sub = machoTypes[bo.Uint32(h[12:])]
	if i.Sub == "" {
		i.Sub = fmt.Sprintf("type-%#x", bo.Uint32(h[12:]))
	}
	ncmds, sizeofcmds := bo.Uint32(h[16:]), int64(bo.Uint32(h[20:]))
	cmds, err := d.read(off+hdrSize, min(sizeofcmds, maxMachO, d.size-off-hdrSize))
	if err != nil {
		i.Problem = "load commands past the end of the file"
		return i
	}
	for n := uint32(0); n < ncmds && len(cmds) >= 8; n++ {
		cmd, size := bo.Uint32(cmds), bo.Uint32(cmds[4:])
		if cmd == 0x1d { // LC_CODE_SIGNATURE
			i.Signed = true
		}
		if size < 8 || uint64(size) > uint64(len(cmds)) {
			if !i.Signed {
				i.Problem = fmt.Sprintf("load command %d: size %d out of range", n, size)
			}
			break
		}
		cmds = cmds[size:]
	}
	return i
}

// cafebabe tells a universal Mach-O from a Java class file, which share the
// magic 0xcafebabe: the u32 after it is nfat_arch (small) or minor<<16|major.
func (d *detector) cafebabe() Info {
	h := d.head
	if len(h) < 8 {
		return Info{Kind: MachOUniversal, Problem: "truncated after the magic"}
	}
	fat64 := h[3] == 0xbf
	nfat := binary.BigEndian.Uint32(h[4:])
	minor, major := binary.BigEndian.Uint16(h[4:]), binary.BigEndian.Uint16(h[6:])
	if nfat >= 1 && nfat <= MaxFatArch || fat64 {
		if i, err := d.fat(nfat, fat64); err == nil || fat64 || nfat < 45 {
			if err != nil {
				i.Problem = err.Error()
			}
			return i
		}
	}
	if major >= 45 && (minor == 0 || minor == 0xffff || major <= 48) {
		return Info{Kind: JavaClass, Version: uint32(major)}
	}
	return Info{Kind: MachOUniversal, Problem: fmt.Sprintf("%#x after the magic is neither a slice count nor a class file version", nfat)}
}

func (d *detector) fat(nfat uint32, fat64 bool) (Info, error) {
	i := Info{Kind: MachOUniversal}
	if nfat == 0 || nfat > MaxFatArch {
		return i, fmt.Errorf("nfat_arch %d not in 1..%d", nfat, MaxFatArch)
	}
	entSize := int64(20)
	if fat64 {
		entSize = 32
	}
	tab, err := d.read(8, int64(nfat)*entSize)
	if err != nil {
		return i, fmt.Errorf("fat_arch table truncated")
	}
	var archs []string
	signed := true
	for n := range int64(nfat) {
		e := tab[n*entSize:]
		cpu := binary.BigEndian.Uint32(e)
		var off, size uint64
		if fat64 {
			off, size = binary.BigEndian.Uint64(e[8:]), binary.BigEndian.Uint64(e[16:])
		} else {
			off, size = uint64(binary.BigEndian.Uint32(e[8:])), uint64(binary.BigEndian.Uint32(e[12:]))
		}
		if _, known := machoCPUs[cpu]; !known && cpu&0x00ffffff > 64 {
			return i, fmt.Errorf("slice %d: cputype %#x unknown", n, cpu)
		}
		if off < 8 || off > uint64(d.size) || size > uint64(d.size)-off {
			return i, fmt.Errorf("slice %d: offset %d size %d outside the %d-byte file", n, off, size, d.size)
		}
		archs = append(archs, machoCPU(cpu))
		s := d.machoAt(int64(off))
		signed = signed && s.Signed
		if s.Problem != "" && i.Problem == "" {
			i.Problem = fmt.Sprintf("slice %d: %s", n, s.Problem)
		}
	}
	i.Machine, i.Signed = strings.Join(archs, ","), signed
	return i, nil
}

// Compound File Binary: [MS-CFB] 2.2 (header), 2.3 (FAT), 2.6 (directory
// entries). Windows Installer CLSIDs: msi.h / the MSI SDK.

var cfbMagic = []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}

// msiCLSIDs are {000C10xx-0000-0000-C000-000000000046} in on-disk GUID order.
var msiCLSIDs = map[byte]string{0x84: "msi", 0x86: "msp", 0x82: "mst"}

func (d *detector) msi() (Info, bool) {
	i := Info{Kind: MSI}
	h, err := d.read(0, 512)
	if err != nil {
		i.Problem = "compound file header truncated"
		return i, true
	}
	shift := binary.LittleEndian.Uint16(h[0x1e:])
	if shift != 9 && shift != 12 {
		i.Problem = fmt.Sprintf("sector shift %d is neither 9 nor 12", shift)
		return i, true
	}
	ssz := int64(1) << shift
	dirSect := binary.LittleEndian.Uint32(h[0x30:])
	root, err := d.read((int64(dirSect)+1)*ssz, 128)
	if err != nil {
		i.Problem = fmt.Sprintf("directory sector %d past the end of the file", dirSect)
		return i, true
	}
	clsid := root[0x50:0x60]
	sub, ok := msiCLSIDs[clsid[0]]
	if !ok || !bytes.Equal(clsid[1:], []byte{0x10, 0x0c, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}) {
		return Info{}, false // another compound file: an Office document, a thumbnail cache
	}
	i.Sub = sub
	i.Signed = d.cfbHas(h, ssz, dirSect, "\x05DigitalSignature")
	return i, true
}

// cfbHas reports whether the directory chain starting at sector dir holds an
// entry named name. It follows at most maxCFBDir sectors and only FAT sectors
// listed in the header's DIFAT (files up to about 6.8 MB at 512-byte sectors);
// past that it answers false.
func (d *detector) cfbHas(h []byte, ssz int64, dir uint32, name string) bool {
	want := utf16.Encode([]rune(name))
	perFAT := uint32(ssz / 4)
	for n := 0; n < maxCFBDir && dir < 0xfffffffa; n++ {
		sect, err := d.read((int64(dir)+1)*ssz, ssz)
		if err != nil {
			return false
		}
		for e := int64(0); e+128 <= ssz; e += 128 {
			ent := sect[e:]
			nl := int(binary.LittleEndian.Uint16(ent[64:]))
			if nl != 2*(len(want)+1) {
				continue
			}
			match := true
			for k, c := range want {
				if binary.LittleEndian.Uint16(ent[2*k:]) != c {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
		idx := dir / perFAT
		if idx >= 109 {
			return false
		}
		fatSect := binary.LittleEndian.Uint32(h[0x4c+4*idx:])
		next, err := d.read((int64(fatSect)+1)*ssz+int64(dir%perFAT)*4, 4)
		if err != nil {
			return false
		}
		dir = binary.LittleEndian.Uint32(next)
	}
	return false
}

// Cabinet: [MS-CAB] 2.1 CFHEADER.

func (d *detector) cab() (Info, bool) {
	i := Info{Kind: CAB}
	h, err := d.read(0, min(d.size, 60))
	if err != nil || len(h) < 36 {
		i.Problem = "CFHEADER truncated"
		return i, true
	}
	if r := binary.LittleEndian.Uint32(h[4:]); r != 0 {
		i.Problem = fmt.Sprintf("reserved1 is %#x, not 0", r)
	} else if n := binary.LittleEndian.Uint32(h[8:]); int64(n) > d.size {
		i.Problem = fmt.Sprintf("cbCabinet %d is larger than the %d-byte file", n, d.size)
	}
	if flags := binary.LittleEndian.Uint16(h[30:]); flags&0x0004 != 0 && len(h) >= 52 {
		cb := binary.LittleEndian.Uint16(h[36:])
		i.Signed = cb >= 20 && binary.LittleEndian.Uint32(h[44:]) != 0 && binary.LittleEndian.Uint32(h[48:]) != 0
	}
	return i, true
}

// JAR: JAR File Specification (META-INF/MANIFEST.MF, Main-Class, signed JAR
// files: META-INF/*.SF).

const maxManifest = 64 << 10

func (d *detector) jar() (Info, bool) {
	zr, err := zip.NewReader(d.r, d.size)
	if err != nil && err != zip.ErrInsecurePath {
		return Info{}, false
	}
	return jarInfo(zr)
}

func jarInfo(zr *zip.Reader) (Info, bool) {
	i := Info{Kind: JAR, Sub: "jar"}
	var ok bool
	var manifest *zip.File
	for _, f := range zr.File {
		n := f.Name
		up := strings.ToUpper(n)
		switch {
		case strings.HasSuffix(n, ".class"):
			ok = true
		case up == "META-INF/MANIFEST.MF":
			manifest = f
		case strings.HasPrefix(up, "WEB-INF/"):
			ok, i.Sub = true, "war"
		case up == "META-INF/APPLICATION.XML":
			ok, i.Sub = true, "ear"
		case strings.HasPrefix(up, "META-INF/") && strings.HasSuffix(up, ".SF") && strings.Count(n, "/") == 1:
			i.Signed = true
		}
	}
	if !ok && manifest != nil {
		ok = hasMainClass(manifest)
	}
	return i, ok
}

func hasMainClass(f *zip.File) bool {
	rc, err := f.Open()
	if err != nil {
		return false
	}
	defer rc.Close()
	s := bufio.NewScanner(io.LimitReader(rc, maxManifest))
	for s.Scan() {
		if k, _, ok := strings.Cut(s.Text(), ":"); ok && strings.EqualFold(k, "Main-Class") {
			return true
		}
	}
	return false
}
