package repro

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// blob is a file or an archive member: random access and a known size.
// *io.SectionReader and *bytes.Reader are blobs.
type blob interface {
	io.ReaderAt
	Size() int64
}

const (
	chunk       = 64 << 10 // streaming read size
	maxRegions  = 32       // differing byte regions kept per comparison
	regionGap   = 8        // regions closer than this are merged
	maxDepth    = 3        // archive recursion depth
	maxLine     = 240      // longest detail line
	maxSections = 4096     // sections compared per binary
)

// expl collects one file's explanation within a byte budget.
type expl struct {
	format    string
	details   []string
	hints     []Hint
	diff      string
	members   []FileDiff
	truncated bool
	used, max int
}

func newExpl(max int) *expl { return &expl{max: max} }

func (e *expl) detail(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if len(s) > maxLine {
		s = s[:maxLine] + "..."
	}
	if e.used+len(s) > e.max {
		e.truncated = true
		return
	}
	e.used += len(s)
	e.details = append(e.details, s)
}

func (e *expl) hint(cause, format string, args ...any) {
	for _, h := range e.hints {
		if h.Cause == cause {
			return
		}
	}
	s := fmt.Sprintf(format, args...)
	if len(s) > 2*maxLine {
		s = s[:2*maxLine] + "..."
	}
	if e.used+len(s) > e.max {
		e.truncated = true
		return
	}
	e.used += len(s)
	e.hints = append(e.hints, Hint{Cause: cause, Text: s})
}

func (e *expl) setDiff(s string) {
	if room := e.max - e.used; len(s) > room {
		if room < 0 {
			room = 0
		}
		s = s[:room]
		e.truncated = true
	}
	e.used += len(s)
	e.diff = s
}

func (e *expl) into(d *FileDiff) {
	d.Format = e.format
	d.Details = append(d.Details, e.details...)
	d.Hints = append(d.Hints, e.hints...)
	d.Diff = e.diff
	d.Members = e.members
	d.Truncated = d.Truncated || e.truncated
}

// explainFiles explains why the files at want and got differ and stores the
// explanation in d.
func explainFiles(ctx context.Context, d *FileDiff, want, got string, opts Options) {
	fa, err := os.Open(want)
	if err != nil {
		d.Details = append(d.Details, fmt.Sprintf("cannot explain: %v", err))
		return
	}
	defer fa.Close()
	fb, err := os.Open(got)
	if err != nil {
		d.Details = append(d.Details, fmt.Sprintf("cannot explain: %v", err))
		return
	}
	defer fb.Close()
	sa, err := fa.Stat()
	if err != nil {
		d.Details = append(d.Details, fmt.Sprintf("cannot explain: %v", err))
		return
	}
	sb, err := fb.Stat()
	if err != nil {
		d.Details = append(d.Details, fmt.Sprintf("cannot explain: %v", err))
		return
	}
	e := newExpl(opts.MaxExplain)
	explain(ctx, e, io.NewSectionReader(fa, 0, sa.Size()), io.NewSectionReader(fb, 0, sb.Size()), opts, 0)
	e.into(d)
	if opts.Diffoscope {
		out, err := runDiffoscope(ctx, want, got, opts)
		if err != nil {
			d.Details = append(d.Details, err.Error())
		} else {
			d.Diffoscope = out
		}
	}
}

// recoverPanics is turned off by the fuzz tests, so that a panic in this
// package's own code fails them.
var recoverPanics = true

// explain fills e with why a and b differ. It never panics on bad input:
// the standard library parsers are fuzzed, and a panic from one is turned
// into a detail line all the same.
func explain(ctx context.Context, e *expl, a, b blob, opts Options, depth int) {
	defer func() {
		if !recoverPanics {
			return
		}
		if r := recover(); r != nil {
			e.detail("internal error while explaining: %v", r)
		}
	}()
	fa, fb := detect(a), detect(b)
	e.format = fa
	if fa != fb {
		e.format = "binary"
		e.detail("want is %s, got is %s", fa, fb)
	}
	switch e.format {
	case "elf":
		explainELF(ctx, e, a, b)
	case "pe":
		explainPE(ctx, e, a, b)
	case "macho":
		explainMachO(ctx, e, a, b)
	case "tar":
		explainTar(ctx, e, a, b, opts, depth)
		return
	case "zip":
		explainZip(ctx, e, a, b, opts, depth)
		return
	case "gzip":
		explainGzip(ctx, e, a, b, opts, depth)
		return
	case "text":
		explainText(e, a, b, opts)
	}
	bd, err := diffBytes(ctx, a, b)
	if err != nil {
		e.detail("reading: %v", err)
		return
	}
	switch {
	case e.diff != "":
		// The text diff says it; the sizes are in the entries.
	case bd.first >= 0:
		e.detail("%s of %d compared differ in %s; first at offset 0x%x", plural(bd.count, "byte"), min(a.Size(), b.Size()), plural(int64(bd.nregions), "region"), bd.first)
	case a.Size() != b.Size():
		e.detail("the shorter file is a prefix of the longer: they differ from offset 0x%x", min(a.Size(), b.Size()))
	}
	if e.diff == "" {
		at := bd.first
		if at < 0 {
			at = min(a.Size(), b.Size())
		}
		e.setDiff(hexContext(a, b, at))
	}
	timestampHints(e, a, b, bd)
	stringHints(ctx, e, a, b)
}

// detect names a format by magic number: elf, pe, macho, tar, zip, gzip,
// text or binary.
func detect(r blob) string {
	head := make([]byte, 8<<10)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "elf"
	case bytes.HasPrefix(head, []byte("MZ")) && isPE(r, head):
		return "pe"
	case bytes.HasPrefix(head, []byte{0xfe, 0xed, 0xfa, 0xce}), bytes.HasPrefix(head, []byte{0xfe, 0xed, 0xfa, 0xcf}),
		bytes.HasPrefix(head, []byte{0xce, 0xfa, 0xed, 0xfe}), bytes.HasPrefix(head, []byte{0xcf, 0xfa, 0xed, 0xfe}):
		return "macho"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return "zip"
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gzip"
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return "tar"
	}
	if isText(head) {
		return "text"
	}
	return "binary"
}

func isPE(r blob, head []byte) bool {
	if len(head) < 0x40 {
		return false
	}
	off := int64(head[0x3c]) | int64(head[0x3d])<<8 | int64(head[0x3e])<<16 | int64(head[0x3f])<<24
	sig := make([]byte, 4)
	if n, _ := r.ReadAt(sig, off); n != 4 {
		return false
	}
	return string(sig) == "PE\x00\x00"
}

func isText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	// Allow a rune cut by the end of the sample.
	for i := 0; i < utf8.UTFMax && len(head) > 0; i++ {
		if utf8.Valid(head) {
			return true
		}
		head = head[:len(head)-1]
	}
	return len(head) == 0
}

type region struct{ off, n int64 }

// bdiff is a positional comparison of two byte streams.
type bdiff struct {
	first    int64 // first differing offset within the common length, -1 if none
	count    int64 // differing bytes within the common length
	nregions int   // regions in all
	regions  []region
}

// diffBytes compares a and b position by position over their common
// length, streaming.
func diffBytes(ctx context.Context, a, b blob) (bdiff, error) {
	d := bdiff{first: -1}
	n := min(a.Size(), b.Size())
	ba, bb := make([]byte, chunk), make([]byte, chunk)
	var cur *region
	for off := int64(0); off < n; off += chunk {
		if err := ctx.Err(); err != nil {
			return d, err
		}
		m := int(min(chunk, n-off))
		na, err := a.ReadAt(ba[:m], off)
		if na < m && err != nil && err != io.EOF {
			return d, err
		}
		nb, err := b.ReadAt(bb[:m], off)
		if nb < m && err != nil && err != io.EOF {
			return d, err
		}
		m = min(na, nb)
		if bytes.Equal(ba[:m], bb[:m]) {
			if m < int(min(chunk, n-off)) {
				break
			}
			continue
		}
		for i := 0; i < m; i++ {
			if ba[i] == bb[i] {
				continue
			}
			p := off + int64(i)
			d.count++
			if d.first < 0 {
				d.first = p
			}
			if cur != nil && cur.off+cur.n+regionGap > p {
				cur.n = p + 1 - cur.off
				continue
			}
			d.nregions++
			if len(d.regions) < maxRegions {
				d.regions = append(d.regions, region{p, 1})
				cur = &d.regions[len(d.regions)-1]
			} else {
				cur = &region{p, 1}
			}
		}
		if m < int(min(chunk, n-off)) {
			break
		}
	}
	return d, nil
}

// hexContext renders 32 bytes of both sides around off.
func hexContext(a, b blob, off int64) string {
	start := off &^ 15
	if start >= 16 {
		start -= 16
	}
	var s strings.Builder
	for _, side := range []struct {
		label string
		r     blob
	}{{"want", a}, {"got ", b}} {
		buf := make([]byte, 48)
		n, _ := side.r.ReadAt(buf, start)
		buf = buf[:n]
		for i := 0; i < len(buf); i += 16 {
			line := buf[i:min(i+16, len(buf))]
			fmt.Fprintf(&s, "%s %08x  % x%s  |", side.label, start+int64(i), line, strings.Repeat("   ", 16-len(line)))
			for _, c := range line {
				if c < 0x20 || c > 0x7e {
					c = '.'
				}
				s.WriteByte(c)
			}
			s.WriteString("|\n")
		}
		if n == 0 {
			fmt.Fprintf(&s, "%s %08x  (end of file)\n", side.label, start)
		}
	}
	return s.String()
}

// section is a named byte range of a binary.
type section struct {
	name      string
	off, size int64
	nobits    bool // occupies no file bytes (.bss, zerofill)
}

// compareSections reports sections present in one side only and sections
// whose size or bytes differ, and returns the names of the differing ones.
func compareSections(ctx context.Context, e *expl, a, b blob, sa, sb []section) map[string]bool {
	key := func(ss []section) (map[string]section, []string) {
		m, order, seen := map[string]section{}, []string{}, map[string]int{}
		for i, s := range ss {
			if i >= maxSections {
				e.detail("more than %d sections: the rest are not compared", maxSections)
				break
			}
			k := s.name
			if seen[s.name]++; seen[s.name] > 1 {
				k = fmt.Sprintf("%s#%d", s.name, seen[s.name])
			}
			m[k] = s
			order = append(order, k)
		}
		return m, order
	}
	ma, oa := key(sa)
	mb, ob := key(sb)
	differ := map[string]bool{}
	// Sections may overlap, or all name the whole file: bound the bytes
	// compared by twice the file.
	budget := 2*max(a.Size(), b.Size()) + 1<<20
	for _, k := range oa {
		if _, ok := mb[k]; !ok {
			e.detail("section %s only in want", k)
			differ[k] = true
		}
	}
	for _, k := range ob {
		if _, ok := ma[k]; !ok {
			e.detail("section %s only in got", k)
			differ[k] = true
		}
	}
	for _, k := range oa {
		x, ok := mb[k]
		if !ok {
			continue
		}
		w := ma[k]
		if w.size != x.size {
			e.detail("section %s: size differs: want 0x%x bytes at 0x%x, got 0x%x bytes at 0x%x", k, w.size, w.off, x.size, x.off)
			differ[k] = true
			continue
		}
		if w.nobits || x.nobits {
			continue
		}
		ra, rb := clip(a, w), clip(b, x)
		if budget -= ra.Size(); budget < 0 {
			e.detail("sections overlap past twice the file size: section %s and the rest not compared", k)
			break
		}
		if ra.Size() != w.size || rb.Size() != x.size {
			e.detail("section %s: extends past the end of the file", k)
		}
		bd, err := diffBytes(ctx, ra, rb)
		if err != nil {
			e.detail("section %s: %v", k, err)
			continue
		}
		if bd.first < 0 {
			if w.off != x.off {
				e.detail("section %s: same bytes, moved from offset 0x%x to 0x%x", k, w.off, x.off)
			}
			continue
		}
		differ[k] = true
		e.detail("section %s (offset 0x%x, 0x%x bytes): %s differ, first at +0x%x (file offset 0x%x)", k, w.off, w.size, plural(bd.count, "byte"), bd.first, w.off+bd.first)
	}
	return differ
}

// clip returns the part of r that s names, cut at the end of r.
func clip(r blob, s section) *io.SectionReader {
	off, n := s.off, s.size
	if off < 0 || off > r.Size() {
		off, n = r.Size(), 0
	}
	if n < 0 || n > r.Size()-off {
		n = r.Size() - off
	}
	return io.NewSectionReader(r, off, n)
}
