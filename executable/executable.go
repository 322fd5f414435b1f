// Package executable finds files with executable content by what they hold,
// not by what they are called: a renamed .exe is still an exe. Hallmark signs
// every such file a build produces; a file this package misses would leave the
// platform unsigned, so when in doubt it reports (over-detection only means a
// file gets signed).
//
// Detect looks at one file through an io.ReaderAt and returns an Info: the
// Kind, details from the headers, whether an embedded signature is already
// present where that is cheap to tell, and a Problem when the magic matched
// but the header behind it is broken. Walk runs Detect over a directory tree
// and into the tar, gzip, bzip2 and zip archives it meets.
//
// # Kinds and what is checked
//
// Detection reads the first 4 KiB (PrefixSize bytes of a file that looks like
// text, for the PowerShell heuristics), plus at most a few small reads
// at offsets the headers name (PE header, Mach-O load commands, the CFB
// directory, a zip central directory, the last TailSize bytes); never the
// whole file.
//
//	pe               "MZ" at 0. e_lfanew (u32 at 0x3c) must point inside the
//	                 file at "PE\0\0", a COFF header and an optional header with
//	                 magic 0x10b (32-bit) or 0x20b (64-bit). Sub: "efi" for
//	                 subsystems 10-13, "sys" for subsystem 1 (native: drivers),
//	                 "dll" for IMAGE_FILE_DLL, else "exe". Signed: the
//	                 certificate table data directory (index 4) is non-zero.
//	                 Any file starting with "MZ" is a pe: when the PE header is
//	                 missing or broken (DOS, NE, LE images, truncation, hostile
//	                 e_lfanew) Problem says why, so it cannot escape signing.
//	elf              "\x7fELF", class 1 or 2 (32/64-bit), data 1 or 2. Sub from
//	                 e_type: "rel", "exec", "dyn", "core". Signed: a Linux
//	                 module signature trailer ("~Module signature appended~\n"
//	                 at the end of the file).
//	macho            0xfeedface/0xfeedfacf in either byte order. Sub from
//	                 filetype ("execute", "dylib", "bundle", "object", ...).
//	                 Signed: an LC_CODE_SIGNATURE load command (Go's linker
//	                 writes an ad-hoc one for darwin/arm64, so this is
//	                 "carries a code signature slot", not "signed by a CA").
//	macho-universal  0xcafebabe or 0xcafebabf (fat64) with nfat_arch 1..MaxFatArch
//	                 and each slice inside the file; Machine lists the slices.
//	java-class       0xcafebabe followed by u2 minor, u2 major with major >= 45
//	                 and minor 0 or 0xffff (preview), or any minor with major
//	                 <= 48 (old compilers); Version is major. The same u32 is
//	                 nfat_arch in a universal binary. Rule: a value in
//	                 1..MaxFatArch whose slice table is valid (known CPU types,
//	                 slices inside the file) is macho-universal; else a class
//	                 file version as above is java-class; else a value below 45
//	                 is macho-universal with a Problem (no class file has a
//	                 major below 45), and anything else is macho-universal with
//	                 a Problem too: over-detection, never a miss.
//	script           "#!" at 0 (after an optional UTF-8 BOM). Interpreter is the
//	                 rest of the first line, trimmed, at most 256 bytes.
//	powershell       by name: .ps1 .psm1 .psd1 .ps1xml .psc1 .cdxml (any case);
//	                 or a shebang naming pwsh or powershell; or text (UTF-8, or
//	                 UTF-16 with a BOM; no NUL byte) whose first PrefixSize
//	                 bytes have, at the start of a line after blanks and case
//	                 folded: "#requires", "param(" or "param (",
//	                 "[cmdletbinding", "function Verb-Noun", or "Verb-Noun"
//	                 followed by a blank, "(", ";" or "|" or ending the line,
//	                 where Verb is one of PowerShell's approved verbs; or
//	                 "# SIG # Begin signature block" anywhere. Signed: "SIG #
//	                 End signature block" within the last TailSize bytes.
//	jar              a zip (local header "PK\x03\x04" at 0) whose central
//	                 directory names a .class file, META-INF/MANIFEST.MF with a
//	                 Main-Class attribute, or WEB-INF/ (Sub "war"), or
//	                 META-INF/application.xml (Sub "ear"). Signed: a
//	                 META-INF/*.SF member.
//	wasm             "\0asm" at 0; Version is the u32 after it (1 for a core
//	                 module, 0x1000d for a component).
//	msi              an OLE compound file ("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
//	                 whose root directory entry has the CLSID of a Windows
//	                 Installer database {000C1084-0000-0000-C000-000000000046}
//	                 (Sub "msi"), patch {000C1086-...} ("msp") or transform
//	                 {000C1082-...} ("mst"). Other compound files (Office
//	                 documents) are not executables. Signed: a stream named
//	                 "\x05DigitalSignature" in the directory (followed through
//	                 the FAT sectors the header lists: files up to ~7 MB with
//	                 512-byte sectors, ~450 MB with 4096-byte ones).
//	cab              "MSCF" with reserved1 0 and cbCabinet no larger than the
//	                 file. Signed: the reserve area is present (flag 0x0004)
//	                 with cbCFHeader >= 20 and a non-zero signature offset and
//	                 length in it (the layout signtool and osslsigncode write).
//
// # Archives
//
// Walk looks into archives recognised by content: tar (ustar magic, or a v7
// header whose checksum verifies), gzip (1f 8b 08; a gzip of a tar is walked as
// a tar, a gzip of anything else as an archive of one member), bzip2 ("BZh"),
// zip ("PK\x03\x04": jar, war, apk, nupkg, whl, ...) and ar ("!<arch>\n": .a
// static libraries, .deb packages). A jar is reported
// itself and its members are looked into too (a native .so inside a jar).
// Members are named by Found.Parts: the path under the root, then the member
// path in each archive; Found.Path joins them with "!" (PathSeparator), as in
// "dist/app.tar.gz!bin/tool.exe". A "!" in a name is not escaped: Parts is the
// unambiguous form. xz, zstd, lzip, 7z, rar, rpm, cpio and squashfs data are
// not looked into: Walk reports them as a Found with Unscanned set, never
// silently (so a .deb whose data.tar is xz-compressed shows up as such).
//
// Hostile archives: member names are reported as they are ("../../etc/x") and
// nothing is ever written under them; members are read into memory (or, over
// Options.MemoryMember bytes, into a temporary file with a random name, removed
// when done) with a limit per member and a limit on all decompressed bytes of
// one Walk (zip bombs: the bytes actually decompressed are counted, not the
// sizes the headers claim); a limit on members per archive and on nesting
// depth. Going over a limit, or a corrupt archive, is an error naming the
// archive and the member, and ends the walk of that archive.
//
// # Errors
//
// Signed reports that a signature is present, never that it verifies: that
// is the signer's and the verifier's job.
//
// Detect returns an error only when reading fails; hostile content never is an
// error but a Problem, or not an executable. Walk goes on past a bad file or
// archive and returns everything it found with all the errors joined (at most
// MaxErrors of them); a non-nil error means the scan is incomplete and the
// build must not pass. Errors wrap ErrLimit when a limit was hit.
//
// Symbolic links are never followed: Walk reports each one as a Found with
// Symlink set to its target (in the tree, in tar archives, and zip members
// with the symlink mode bit; hard links in a tar likewise, with Hardlink set).
// A link's target, if a regular file in the tree, is found on its own. Other
// non-regular files in the tree (devices, pipes, sockets) are reported with
// Unscanned set. Tar entries of unknown type are read as regular files, as
// POSIX says; tar directories, devices and FIFOs have no content and are
// skipped.
package executable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf16"
)

// Kind names a kind of executable content. The values are stable: they are
// written into records and policies.
type Kind string

// The kinds, documented in the package comment.
const (
	PE             Kind = "pe"
	ELF            Kind = "elf"
	MachO          Kind = "macho"
	MachOUniversal Kind = "macho-universal"
	Script         Kind = "script"
	PowerShell     Kind = "powershell"
	JAR            Kind = "jar"
	JavaClass      Kind = "java-class"
	Wasm           Kind = "wasm"
	MSI            Kind = "msi"
	CAB            Kind = "cab"
)

// Kinds lists every Kind, for policies that name them.
var Kinds = []Kind{PE, ELF, MachO, MachOUniversal, Script, PowerShell, JAR, JavaClass, Wasm, MSI, CAB}

// ParseKind returns the Kind named s, for policies that name kinds (such as
// the kinds that must carry an embedded signature); an unknown name is an
// error.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("executable: unknown kind %q", s)
}

// Unsigned returns the executables in found whose Kind is one of kinds and
// that carry no embedded signature (Info.Signed false): what a policy that
// requires embedded signatures for those kinds must refuse or sign. Signed
// means a signature is present, not that it verifies.
func Unsigned(found []Found, kinds ...Kind) []Found {
	var out []Found
	for _, f := range found {
		if f.Info.Kind != "" && !f.Info.Signed && slices.Contains(kinds, f.Info.Kind) {
			out = append(out, f)
		}
	}
	return out
}

// Reading bounds of Detect.
const (
	PrefixSize = 64 << 10 // bytes read from the start of a text file (4 KiB of others)
	TailSize   = 64 << 10 // bytes read from the end, for trailing signatures
	MaxFatArch = 64       // slices in a universal Mach-O
	maxMachO   = 1 << 20  // bytes of Mach-O load commands read
	maxCFBDir  = 4096     // compound-file directory sectors followed
	maxInterp  = 256
	firstRead  = 4096 // read first; text files are read up to PrefixSize
)

// Info is what Detect found in one file.
type Info struct {
	Kind Kind `json:"kind"`
	// Sub refines Kind: pe exe|dll|sys|efi; elf rel|exec|dyn|core; macho
	// execute|dylib|bundle|object|...; jar jar|war|ear; msi msi|msp|mst.
	Sub string `json:"sub,omitempty"`
	// Bits is 32 or 64 where the format says (pe, elf, macho).
	Bits int `json:"bits,omitempty"`
	// Machine is the architecture (amd64, 386, arm64, ...), or the slices'
	// joined by "," for macho-universal.
	Machine string `json:"machine,omitempty"`
	// Interpreter is a script's shebang line after "#!", trimmed.
	Interpreter string `json:"interpreter,omitempty"`
	// Version is the wasm binary version or the class file major version.
	Version uint32 `json:"version,omitempty"`
	// Signed reports an embedded signature, as the package comment defines
	// per kind. False means none was seen, or the kind has no cheap test.
	Signed bool `json:"signed,omitempty"`
	// Problem is non-empty when the magic matched but the structure behind
	// it is broken: the file is still reported, never passed over.
	Problem string `json:"problem,omitempty"`
}

func (i Info) String() string {
	var b strings.Builder
	b.WriteString(string(i.Kind))
	for _, s := range []string{i.Sub, i.Machine} {
		if s != "" {
			b.WriteString(" " + s)
		}
	}
	if i.Bits != 0 {
		fmt.Fprintf(&b, " %d-bit", i.Bits)
	}
	if i.Interpreter != "" {
		b.WriteString(" " + i.Interpreter)
	}
	if i.Signed {
		b.WriteString(" signed")
	}
	if i.Problem != "" {
		b.WriteString(" (" + i.Problem + ")")
	}
	return b.String()
}

// Detect reports whether the size bytes of r hold executable content, and
// which. name is the file's name, used only for PowerShell's extensions (pass
// "" for none). err is non-nil only when reading r fails.
func Detect(r io.ReaderAt, size int64, name string) (info Info, ok bool, err error) {
	d := &detector{r: r, size: size}
	d.head, err = d.read(0, min(size, firstRead))
	if err != nil {
		return Info{}, false, err
	}
	info, ok = d.detect(name)
	return info, ok, d.err
}

type detector struct {
	r    io.ReaderAt
	size int64
	head []byte
	err  error // the first read error
}

// read reads n bytes at off, failing if the file is shorter.
func (d *detector) read(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > d.size || n > d.size-off {
		return nil, fmt.Errorf("%d bytes at %#x: past the end of the %d-byte file", n, off, d.size)
	}
	if off+n <= int64(len(d.head)) {
		return d.head[off : off+n], nil
	}
	b := make([]byte, n)
	if got, err := d.r.ReadAt(b, off); got < len(b) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		d.err = fmt.Errorf("executable: reading %d bytes at %#x: %w", n, off, err)
		return nil, d.err
	}
	return b, nil
}

func (d *detector) detect(name string) (Info, bool) {
	h := d.head
	switch {
	case bytes.HasPrefix(h, []byte("MZ")):
		return d.pe(), true
	case bytes.HasPrefix(h, []byte("\x7fELF")):
		return d.elf(), true
	case len(h) >= 4 && isMachO(binary.LittleEndian.Uint32(h)):
		return d.macho(), true
	case bytes.HasPrefix(h, []byte{0xca, 0xfe, 0xba, 0xbe}) || bytes.HasPrefix(h, []byte{0xca, 0xfe, 0xba, 0xbf}):
		return d.cafebabe(), true
	case bytes.HasPrefix(h, []byte("\x00asm")):
		i := Info{Kind: Wasm}
		if len(h) >= 8 {
			i.Version = binary.LittleEndian.Uint32(h[4:])
		} else {
			i.Problem = "truncated after the magic"
		}
		return i, true
	case bytes.HasPrefix(h, cfbMagic):
		return d.msi()
	case bytes.HasPrefix(h, []byte("MSCF")):
		return d.cab()
	case bytes.HasPrefix(h, []byte("PK\x03\x04")):
		if i, ok := d.jar(); ok {
			return i, true
		}
	}
	if i, ok := d.script(); ok {
		return i, true
	}
	if isPowerShellName(name) {
		return Info{Kind: PowerShell, Signed: d.psSigned()}, true
	}
	if len(h) < int(min(d.size, PrefixSize)) && textOf(h) != nil {
		// Text: read the rest of the prefix for the PowerShell heuristics.
		if h, err := d.read(0, min(d.size, PrefixSize)); err == nil {
			d.head = h
		}
	}
	if looksPowerShell(d.head) {
		return Info{Kind: PowerShell, Signed: d.psSigned()}, true
	}
	return Info{}, false
}

// tail returns the last TailSize bytes (or fewer) of the file.
func (d *detector) tail() []byte {
	n := min(d.size, TailSize)
	b, err := d.read(d.size-n, n)
	if err != nil {
		return nil
	}
	return b
}

func (d *detector) script() (Info, bool) {
	h := bytes.TrimPrefix(d.head, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(h, []byte("#!")) {
		return Info{}, false
	}
	line := h[2:]
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	line = line[:min(len(line), maxInterp)]
	i := Info{Kind: Script, Interpreter: strings.TrimSpace(string(line))}
	fields := strings.Fields(i.Interpreter)
	for _, f := range fields[:min(len(fields), 2)] {
		if b := path.Base(f); b == "pwsh" || b == "powershell" || b == "pwsh-preview" {
			i.Kind = PowerShell
			i.Signed = d.psSigned()
		}
	}
	return i, true
}

var psExt = []string{".ps1", ".psm1", ".psd1", ".ps1xml", ".psc1", ".cdxml"}

func isPowerShellName(name string) bool {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/")))
	for _, e := range psExt {
		if ext == e {
			return true
		}
	}
	return false
}

// psSigned looks for the end of an Authenticode signature block near the end
// of a script, in UTF-8 or UTF-16.
func (d *detector) psSigned() bool {
	t := d.tail()
	if bytes.Contains(t, []byte("SIG # End signature block")) {
		return true
	}
	return bytes.Contains(textOf(t), []byte("SIG # End signature block"))
}

// textOf returns b as UTF-8 text, decoding UTF-16 marked by a BOM and
// dropping a UTF-8 BOM, or nil when b holds a NUL byte and so is not text.
// UTF-8 input is returned without a copy.
func textOf(b []byte) []byte {
	var be bool
	switch {
	case bytes.HasPrefix(b, []byte{0xff, 0xfe}):
	case bytes.HasPrefix(b, []byte{0xfe, 0xff}):
		be = true
	default:
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		if len(b) == 0 || bytes.IndexByte(b, 0) >= 0 {
			return nil
		}
		return b
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 2; i+1 < len(b); i += 2 {
		if be {
			u = append(u, binary.BigEndian.Uint16(b[i:]))
		} else {
			u = append(u, binary.LittleEndian.Uint16(b[i:]))
		}
	}
	s := []byte(string(utf16.Decode(u)))
	if len(s) == 0 || bytes.IndexByte(s, 0) >= 0 {
		return nil
	}
	return s
}

// psVerbs are PowerShell's approved verbs (Get-Verb), lower case.
var psVerbs = map[string]bool{}

func init() {
	for _, v := range strings.Fields(`add clear close copy enter exit find format get hide join lock move new
		open optimize pop push redo remove rename reset resize search select set show skip split step switch
		undo unlock watch connect disconnect read receive send write backup checkpoint compare compress convert
		convertfrom convertto dismount edit expand export group import initialize limit merge mount out publish
		restore save sync unpublish update debug measure ping repair resolve test trace approve assert build
		complete confirm deny deploy disable enable install invoke register request restart resume start stop
		submit suspend uninstall unregister wait block grant protect revoke unblock unprotect use where foreach
		sort tee`) {
		psVerbs[v] = true
	}
}

func looksPowerShell(h []byte) bool {
	s := textOf(h)
	if s == nil {
		return false
	}
	if bytes.Contains(s, []byte("# SIG # Begin signature block")) {
		return true
	}
	var low [64]byte
	for line := range bytes.Lines(s) {
		line = bytes.TrimLeft(line, " \t")
		l := low[:copy(low[:], line)]
		for i, c := range l {
			if c >= 'A' && c <= 'Z' {
				l[i] = c + 'a' - 'A'
			}
		}
		l = bytes.TrimRight(l, "\r\n")
		switch {
		case bytes.HasPrefix(l, []byte("#requires")),
			bytes.HasPrefix(l, []byte("param(")) || bytes.HasPrefix(l, []byte("param (")),
			bytes.HasPrefix(l, []byte("[cmdletbinding")):
			return true
		case bytes.HasPrefix(l, []byte("function ")):
			if verbNoun(bytes.TrimLeft(l[len("function "):], " \t")) {
				return true
			}
		default:
			if verbNoun(l) {
				return true
			}
		}
	}
	return false
}

// verbNoun reports whether l starts with an approved Verb, "-", a letter, and
// a noun ended by a blank, "(", ";", "|", "{" or the end of the line.
func verbNoun(l []byte) bool {
	verb, rest, ok := bytes.Cut(l, []byte("-"))
	if !ok || !psVerbs[string(verb)] || len(rest) == 0 || rest[0] < 'a' || rest[0] > 'z' {
		return false
	}
	end := bytes.IndexFunc(rest, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	})
	return end < 0 || bytes.IndexByte([]byte(" \t(;|{"), rest[end]) >= 0
}
