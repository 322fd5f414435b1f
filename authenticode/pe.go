package authenticode

import (
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/bits"
	"strconv"
	"strings"
)

// MaxSize is the largest PE file this package reads or writes: the
// certificate table's file offset and size are 32-bit fields.
const MaxSize = 1<<32 - 1

// maxSections is the section count limit of the PE format (PE/COFF §3.3).
const maxSections = 96

// Image is the layout of a PE file as far as Authenticode cares: where the
// fields left out of the digest are and where the certificate table is.
// Offsets are file offsets.
type Image struct {
	Size           int64     // file size in bytes
	PE32Plus       bool      // optional header magic 0x20b, not 0x10b
	ChecksumOffset int64     // the optional header's CheckSum field, 4 bytes
	CertDirOffset  int64     // the certificate table data directory entry, 8 bytes
	CertOffset     int64     // the certificate table; 0 when the file is unsigned
	CertSize       int64     // the certificate table's size; 0 when unsigned
	Sections       []Section // the section table, in file order

	// Digest is the Authenticode digest of the image, set by Digest.
	Digest []byte
}

// Section is one entry of the section table.
type Section struct {
	Name        string
	RawOffset   int64 // PointerToRawData
	RawSize     int64 // SizeOfRawData
	VirtualAddr uint32
}

// Signed reports whether the image has a certificate table.
func (m *Image) Signed() bool { return m.CertSize != 0 }

// hashEnd is where the hashed image ends: the certificate table, or the end
// of the file rounded up to 8 bytes (the zero padding is hashed, as it will
// be in the signed file).
func (m *Image) hashEnd() int64 {
	if m.Signed() {
		return m.CertOffset
	}
	return (m.Size + 7) &^ 7
}

// Parse reads the headers of the PE file r of size bytes and checks the
// layout as the package comment describes.
func Parse(r io.ReaderAt, size int64) (*Image, error) {
	if size < 0 || size > MaxSize {
		return nil, fmt.Errorf("authenticode: file size %d is more than %d", size, int64(MaxSize))
	}
	m := &Image{Size: size}
	dos := make([]byte, 64)
	if err := readAt(r, dos, 0, size, "DOS header"); err != nil {
		return nil, err
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return nil, errors.New("authenticode: DOS header: no MZ signature at offset 0")
	}
	peOff := int64(binary.LittleEndian.Uint32(dos[0x3c:]))
	if peOff%4 != 0 || peOff < 64 {
		return nil, fmt.Errorf("authenticode: DOS header: e_lfanew 0x%x is not a 4-byte aligned offset past the DOS header", peOff)
	}
	// PE signature (4) + COFF file header (20) + optional header up to the
	// end of data directory entry 4 (136 for PE32, 152 for PE32+).
	hdr := make([]byte, 24+152)
	n := int64(len(hdr))
	if peOff+n > size {
		n = size - peOff
	}
	if n < 24+2 {
		return nil, fmt.Errorf("authenticode: PE header at 0x%x: truncated, file is %d bytes", peOff, size)
	}
	hdr = hdr[:n]
	if err := readAt(r, hdr, peOff, size, "PE header"); err != nil {
		return nil, err
	}
	if string(hdr[:4]) != "PE\x00\x00" {
		return nil, fmt.Errorf("authenticode: PE header at 0x%x: no PE signature", peOff)
	}
	coff := hdr[4:24]
	nsect := int(binary.LittleEndian.Uint16(coff[2:]))
	optSize := int64(binary.LittleEndian.Uint16(coff[16:]))
	opt := hdr[24:]
	var dirs, need int64 // offset of the data directories; optional header bytes needed
	switch magic := binary.LittleEndian.Uint16(opt); magic {
	case 0x10b:
		dirs, need = 96, 136
	case 0x20b:
		m.PE32Plus, dirs, need = true, 112, 152
	default:
		return nil, fmt.Errorf("authenticode: optional header at 0x%x: magic 0x%x is neither PE32 (0x10b) nor PE32+ (0x20b)", peOff+24, magic)
	}
	if optSize < need || int64(len(opt)) < need {
		return nil, fmt.Errorf("authenticode: optional header at 0x%x: %d bytes, too short to hold the certificate table entry (%d)", peOff+24, min(optSize, int64(len(opt))), need)
	}
	if nrva := binary.LittleEndian.Uint32(opt[dirs-4:]); nrva < 5 {
		return nil, fmt.Errorf("authenticode: optional header: NumberOfRvaAndSizes is %d, no certificate table entry", nrva)
	}
	m.ChecksumOffset = peOff + 24 + 64
	m.CertDirOffset = peOff + 24 + dirs + 4*8
	sizeOfHeaders := int64(binary.LittleEndian.Uint32(opt[60:]))

	if nsect > maxSections {
		return nil, fmt.Errorf("authenticode: COFF header: %d sections, more than %d", nsect, maxSections)
	}
	sectOff := peOff + 24 + optSize
	table := make([]byte, 40*nsect)
	if err := readAt(r, table, sectOff, size, "section table"); err != nil {
		return nil, err
	}
	headersEnd := sectOff + int64(len(table))
	if sizeOfHeaders < headersEnd || sizeOfHeaders > size {
		return nil, fmt.Errorf("authenticode: optional header: SizeOfHeaders 0x%x is not between the section table's end 0x%x and the file size 0x%x", sizeOfHeaders, headersEnd, size)
	}

	certOff := int64(binary.LittleEndian.Uint32(opt[dirs+32:]))
	certSize := int64(binary.LittleEndian.Uint32(opt[dirs+36:]))
	dataEnd := size
	switch {
	case certOff == 0 && certSize == 0:
	case certOff == 0 || certSize < 8:
		return nil, fmt.Errorf("authenticode: certificate table entry: offset 0x%x, size %d is not a table", certOff, certSize)
	case certOff%8 != 0:
		return nil, fmt.Errorf("authenticode: certificate table at 0x%x: not 8-byte aligned", certOff)
	case certOff+certSize != size:
		return nil, fmt.Errorf("authenticode: certificate table at 0x%x, %d bytes: does not end at the end of the file (0x%x)", certOff, certSize, size)
	case certOff < sizeOfHeaders:
		return nil, fmt.Errorf("authenticode: certificate table at 0x%x: inside the headers (SizeOfHeaders 0x%x)", certOff, sizeOfHeaders)
	default:
		m.CertOffset, m.CertSize, dataEnd = certOff, certSize, certOff
	}

	for i := range nsect {
		s := table[40*i : 40*i+40]
		sec := Section{
			Name:        sectionName(s[:8]),
			VirtualAddr: binary.LittleEndian.Uint32(s[12:]),
			RawSize:     int64(binary.LittleEndian.Uint32(s[16:])),
			RawOffset:   int64(binary.LittleEndian.Uint32(s[20:])),
		}
		if sec.RawSize != 0 {
			if sec.RawOffset < sizeOfHeaders {
				return nil, fmt.Errorf("authenticode: section %d %s: raw data at 0x%x is inside the headers (SizeOfHeaders 0x%x)", i, sec.Name, sec.RawOffset, sizeOfHeaders)
			}
			if sec.RawOffset+sec.RawSize > dataEnd {
				what := "end of file"
				if m.Signed() {
					what = "certificate table"
				}
				return nil, fmt.Errorf("authenticode: section %d %s: raw data 0x%x+0x%x runs past the %s at 0x%x", i, sec.Name, sec.RawOffset, sec.RawSize, what, dataEnd)
			}
		}
		m.Sections = append(m.Sections, sec)
	}
	return m, nil
}

// sectionName is a section's name, quoted if it is not plain printable ASCII.
func sectionName(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e {
			return strconv.Quote(s)
		}
	}
	return s
}

func readAt(r io.ReaderAt, p []byte, off, size int64, what string) error {
	if off+int64(len(p)) > size {
		return fmt.Errorf("authenticode: %s at 0x%x: truncated, file is %d bytes", what, off, size)
	}
	if err := readFull(r, p, off); err != nil {
		return fmt.Errorf("authenticode: reading %s at 0x%x: %w", what, off, err)
	}
	return nil
}

// readFull is r.ReadAt(p, off) failing only when p is not filled: a reader
// may return io.EOF with the last bytes of its input.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	switch {
	case n == len(p):
		return nil
	case err == nil || err == io.EOF:
		return io.ErrUnexpectedEOF
	}
	return err
}

// Digest parses the PE file r of size bytes and computes its SHA-256
// Authenticode digest, in one sequential pass.
func Digest(r io.ReaderAt, size int64) (*Image, error) {
	m, err := Parse(r, size)
	if err != nil {
		return nil, err
	}
	m.Digest, _, err = m.stream(r, crypto.SHA256.New(), nil)
	return m, err
}

// bufSize is the read size of a pass over an image; a multiple of 8.
const bufSize = 1 << 20

// stream reads the image once, up to hashEnd, hashing what Authenticode
// hashes into h. If w is not nil it also writes what it read to w, with the
// CheckSum field and the certificate table entry zeroed, and returns the
// checksum accumulator (see checksumAdd) of what it wrote. Writing runs in a
// second goroutine, overlapping the hashing.
func (m *Image) stream(r io.ReaderAt, h hash.Hash, w io.Writer) (digest []byte, sum uint64, err error) {
	type chunk struct {
		p   []byte
		off int64
	}
	nbuf := 1
	if w != nil {
		nbuf = 4
	}
	free := make(chan []byte, nbuf)
	for range nbuf {
		free <- make([]byte, min(bufSize, m.hashEnd())) // both multiples of 8
	}
	var full chan chunk
	var werr chan error
	if w != nil {
		full, werr = make(chan chunk, nbuf), make(chan error, 1)
		go func() {
			var err error
			for c := range full {
				if err == nil {
					sum = checksumAdd(sum, c.p)
					if _, err = w.Write(c.p); err != nil {
						err = fmt.Errorf("authenticode: writing at 0x%x: %w", c.off, err)
					}
				}
				free <- c.p[:cap(c.p)]
			}
			werr <- err
		}()
	}
	rerr := m.read(r, h, free, func(p []byte, off int64) {
		if full != nil {
			full <- chunk{p, off}
		} else {
			free <- p[:cap(p)]
		}
	})
	if full != nil {
		close(full)
		if err := <-werr; rerr == nil {
			rerr = err
		}
	}
	if rerr != nil {
		return nil, 0, rerr
	}
	return h.Sum(nil), sum, nil
}

// read reads the image up to hashEnd into buffers from free, zero-padded
// past the end of the file, zeroes the CheckSum field and the certificate
// table entry after hashing around them, and hands each buffer to done.
func (m *Image) read(r io.ReaderAt, h hash.Hash, free chan []byte, done func(p []byte, off int64)) error {
	end := m.hashEnd()
	skips := [2][2]int64{{m.ChecksumOffset, m.ChecksumOffset + 4}, {m.CertDirOffset, m.CertDirOffset + 8}}
	for off := int64(0); off < end; {
		buf := <-free
		n := min(int64(len(buf)), end-off)
		p := buf[:n]
		data := min(n, max(0, m.Size-off)) // the rest is padding
		if err := readFull(r, p[:data], off); err != nil {
			free <- buf
			return fmt.Errorf("authenticode: reading at 0x%x: %w", off, err)
		}
		clear(p[data:])
		pos := int64(0)
		for _, s := range skips {
			a, b := s[0]-off, s[1]-off
			if b <= 0 || a >= n {
				continue
			}
			a, b = max(a, 0), min(b, n)
			h.Write(p[pos:a])
			clear(p[a:b])
			pos = b
		}
		h.Write(p[pos:])
		done(p, off)
		off += n
	}
	return nil
}

// checksumAdd adds p, which starts at an 8-byte aligned file offset, to the
// PE checksum accumulator: a ones' complement sum, which 64-bit words with
// end-around carry compute as well as 16-bit words since 2^16 ≡ 1 modulo
// 0xffff. A final odd byte counts as a word with a zero high byte.
func checksumAdd(sum uint64, p []byte) uint64 {
	var c uint64
	for len(p) >= 8 {
		sum, c = bits.Add64(sum, binary.LittleEndian.Uint64(p), c)
		p = p[8:]
	}
	var tail [8]byte
	copy(tail[:], p)
	sum, c = bits.Add64(sum, binary.LittleEndian.Uint64(tail[:]), c)
	sum, c = bits.Add64(sum, 0, c)
	sum, _ = bits.Add64(sum, 0, c)
	return sum
}

// checksumFinal folds the accumulator to 16 bits and adds the file size, as
// the PE CheckSum field holds it (ImageHlp's CheckSumMappedFile).
func checksumFinal(sum uint64, size int64) uint32 {
	s := (sum & 0xffffffff) + (sum >> 32)
	s = (s & 0xffffffff) + (s >> 32)
	s = (s & 0xffff) + (s >> 16)
	s = (s & 0xffff) + (s >> 16)
	s = (s & 0xffff) + (s >> 16)
	return uint32(s) + uint32(size)
}
