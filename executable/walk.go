package executable

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// PathSeparator joins an archive's path and a member's path in Found.Path.
const PathSeparator = "!"

// ErrLimit is wrapped by the errors of Walk that come from a limit in Options.
var ErrLimit = errors.New("over the limit")

// Options bound a Walk. Zero fields take the defaults named.
type Options struct {
	// MaxDepth is how many archives deep Walk looks: 1 looks into archives
	// in the tree but not into archives inside them. Default 4.
	MaxDepth int
	// MaxMemberSize bounds the bytes of one archive member. Default 1 GiB.
	MaxMemberSize int64
	// MaxTotal bounds the decompressed bytes read in one Walk (gzip and
	// bzip2 streams, zip members, at every depth). Default 16 GiB.
	MaxTotal int64
	// MaxMembers bounds the members of one archive. Default 100,000.
	MaxMembers int
	// MemoryMember is the size up to which a member is held in memory;
	// larger members go to an unnamed temporary file in TempDir (default
	// os.TempDir()) removed when done. Default 32 MiB.
	MemoryMember int64
	TempDir      string
	// MaxErrors bounds the errors Walk collects before it stops. Default 100.
	MaxErrors int
}

func (o Options) withDefaults() Options {
	set := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 4
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = 100_000
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = 100
	}
	set(&o.MaxMemberSize, 1<<30)
	set(&o.MaxTotal, 16<<30)
	set(&o.MemoryMember, 32<<20)
	return o
}

// Found is one file Walk reports: an executable (Info.Kind set), a symbolic
// or hard link (never followed), or content it could not look into.
type Found struct {
	// Path is Parts joined by PathSeparator, for people.
	Path string `json:"path"`
	// Parts is the slash-separated path under the root, then the member
	// name in each enclosing archive, outermost first, as stored there.
	Parts []string `json:"parts"`
	// Size is the file's or member's size in bytes.
	Size int64 `json:"size"`
	Info Info  `json:"info"`
	// Symlink is the target of a symbolic link, Hardlink that of a tar hard
	// link; Info is then empty.
	Symlink  string `json:"symlink,omitempty"`
	Hardlink string `json:"hardlink,omitempty"`
	// Unscanned says why content was not looked into (xz data, a device).
	Unscanned string `json:"unscanned,omitempty"`
}

// Walk finds every file with executable content under root, looking into
// archives, and returns them in walk order (lexical, an archive's members
// after the archive). root may also be a single regular file, reported under
// its base name. It goes on past errors; see the package comment.
func Walk(ctx context.Context, root string, opts Options) ([]Found, error) {
	w := &walker{ctx: ctx, opts: opts.withDefaults()}
	w.budget = w.opts.MaxTotal
	if fi, err := os.Lstat(root); err == nil && fi.Mode().IsRegular() {
		// One file: scan it alone, named by its base name.
		rt, err := os.OpenRoot(filepath.Dir(root))
		if err != nil {
			return nil, fmt.Errorf("executable: %w", err)
		}
		defer rt.Close()
		if err := w.file(rt, filepath.Base(root)); err != nil && !errors.Is(err, errStop) {
			w.errs = append(w.errs, err)
		}
		return w.found, errors.Join(w.errs...)
	}
	rt, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("executable: %w", err)
	}
	defer rt.Close()
	err = fs.WalkDir(rt.FS(), ".", func(p string, de fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return w.fail(fmt.Errorf("executable: %s: %w", p, err))
		}
		switch t := de.Type(); {
		case t.IsDir():
		case t&fs.ModeSymlink != 0:
			target, err := rt.Readlink(p)
			if err != nil {
				return w.fail(fmt.Errorf("executable: %s: %w", p, err))
			}
			w.add(Found{Parts: []string{p}, Symlink: target})
		case !t.IsRegular():
			w.add(Found{Parts: []string{p}, Unscanned: "not a regular file: " + t.String()})
		default:
			return w.file(rt, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		w.errs = append(w.errs, err)
	}
	return w.found, errors.Join(w.errs...)
}

var errStop = errors.New("executable: too many errors")

type walker struct {
	ctx    context.Context
	opts   Options
	budget int64 // decompressed bytes left
	found  []Found
	errs   []error
}

func (w *walker) add(f Found) {
	f.Path = strings.Join(f.Parts, PathSeparator)
	w.found = append(w.found, f)
}

// fail records err and returns errStop once there are too many.
func (w *walker) fail(err error) error {
	w.errs = append(w.errs, err)
	if len(w.errs) >= w.opts.MaxErrors {
		w.errs = append(w.errs, errStop)
		return errStop
	}
	return nil
}

func (w *walker) file(rt *os.Root, p string) error {
	f, err := rt.Open(p)
	if err != nil {
		return w.fail(fmt.Errorf("executable: %w", err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return w.fail(fmt.Errorf("executable: %s: %w", p, err))
	}
	if !fi.Mode().IsRegular() { // replaced since it was listed
		w.add(Found{Parts: []string{p}, Unscanned: "not a regular file: " + fi.Mode().Type().String()})
		return nil
	}
	return w.scan(f, fi.Size(), []string{p}, 0)
}

func name(parts []string) string { return strings.Join(parts, PathSeparator) }

func with(parts []string, member string) []string {
	return append(parts[:len(parts):len(parts)], member)
}

// scan detects r itself, then looks into it if it is an archive.
func (w *walker) scan(r io.ReaderAt, size int64, parts []string, depth int) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	info, ok, err := Detect(r, size, parts[len(parts)-1])
	if err != nil {
		return w.fail(fmt.Errorf("executable: %s: %w", name(parts), err))
	}
	if ok {
		w.add(Found{Parts: parts, Size: size, Info: info})
	}
	var head [512]byte
	n, _ := r.ReadAt(head[:min(size, 512)], 0)
	kind := sniff(head[:n])
	switch kind {
	case "":
		return nil
	case "xz", "zstd", "lzip", "7z", "rar", "rpm", "cpio", "squashfs":
		w.add(Found{Parts: parts, Size: size, Unscanned: kind + " data is not looked into"})
		return nil
	}
	if depth >= w.opts.MaxDepth {
		return w.fail(fmt.Errorf("executable: %s: %w: %s archive nested deeper than %d", name(parts), ErrLimit, kind, w.opts.MaxDepth))
	}
	var aerr error
	switch kind {
	case "zip":
		aerr = w.zip(r, size, parts, depth+1)
	case "tar":
		aerr = w.tar(io.NewSectionReader(r, 0, size), parts, depth+1)
	case "gzip", "bzip2":
		aerr = w.compressed(kind, io.NewSectionReader(r, 0, size), parts, depth+1)
	case "ar":
		aerr = w.ar(io.NewSectionReader(r, 0, size), parts, depth+1)
	}
	if errors.Is(aerr, errStop) || errors.Is(aerr, context.Canceled) || errors.Is(aerr, context.DeadlineExceeded) {
		return aerr
	}
	if aerr != nil {
		return w.fail(aerr)
	}
	return nil
}

// sniff names the container format of head, or "".
func sniff(h []byte) string {
	switch {
	case bytes.HasPrefix(h, []byte("PK\x03\x04")):
		return "zip"
	case bytes.HasPrefix(h, []byte{0x1f, 0x8b, 0x08}):
		return "gzip"
	case bytes.HasPrefix(h, []byte("BZh")) && len(h) > 3 && h[3] >= '1' && h[3] <= '9':
		return "bzip2"
	case bytes.HasPrefix(h, []byte("\xfd7zXZ\x00")):
		return "xz"
	case bytes.HasPrefix(h, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	case bytes.HasPrefix(h, []byte("LZIP")):
		return "lzip"
	case bytes.HasPrefix(h, []byte("7z\xbc\xaf\x27\x1c")):
		return "7z"
	case bytes.HasPrefix(h, []byte("Rar!\x1a\x07")):
		return "rar"
	case bytes.HasPrefix(h, []byte("!<arch>\n")):
		return "ar"
	case bytes.HasPrefix(h, []byte{0xed, 0xab, 0xee, 0xdb}):
		return "rpm"
	case bytes.HasPrefix(h, []byte("070701")), bytes.HasPrefix(h, []byte("070702")),
		bytes.HasPrefix(h, []byte("070707")), bytes.HasPrefix(h, []byte{0xc7, 0x71}), bytes.HasPrefix(h, []byte{0x71, 0xc7}):
		return "cpio"
	case bytes.HasPrefix(h, []byte("hsqs")), bytes.HasPrefix(h, []byte("sqsh")):
		return "squashfs"
	case isTar(h):
		return "tar"
	}
	return ""
}

// isTar reports a ustar or GNU magic, or a v7 header whose checksum verifies.
func isTar(h []byte) bool {
	if len(h) < 512 {
		return false
	}
	if bytes.HasPrefix(h[257:], []byte("ustar")) {
		return true
	}
	if h[0] == 0 {
		return false
	}
	field := strings.TrimRight(strings.TrimLeft(string(h[148:156]), " "), " \x00")
	want, err := strconv.ParseUint(field, 8, 32)
	if err != nil {
		return false
	}
	var sum uint64
	for i, c := range h[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += uint64(c)
	}
	return sum == want
}

func (w *walker) zip(r io.ReaderAt, size int64, parts []string, depth int) error {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("executable: %s: %w", name(parts), err)
	}
	if len(zr.File) > w.opts.MaxMembers {
		return fmt.Errorf("executable: %s: %w: %d members, more than %d", name(parts), ErrLimit, len(zr.File), w.opts.MaxMembers)
	}
	for _, f := range zr.File {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		mparts := with(parts, f.Name)
		mode := f.Mode()
		if mode.IsDir() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if f.UncompressedSize64 > uint64(w.opts.MaxMemberSize) {
			return fmt.Errorf("executable: %s: %w: %d bytes, more than %d", name(mparts), ErrLimit, f.UncompressedSize64, w.opts.MaxMemberSize)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("executable: %s: %w", name(mparts), err)
		}
		if mode&fs.ModeSymlink != 0 {
			target, err := io.ReadAll(io.LimitReader(&counter{rc, w}, 4096))
			rc.Close()
			if err != nil {
				return fmt.Errorf("executable: %s: %w", name(mparts), err)
			}
			w.add(Found{Parts: mparts, Size: int64(len(target)), Symlink: string(target)})
			continue
		}
		err = w.member(&counter{rc, w}, mparts, depth)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) tar(r io.Reader, parts []string, depth int) error {
	tr := tar.NewReader(r)
	last := "the first header"
	for n := 0; ; n++ {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("executable: %s: after %s: %w", name(parts), last, err)
		}
		if n >= w.opts.MaxMembers {
			return fmt.Errorf("executable: %s: %w: more than %d members", name(parts), ErrLimit, w.opts.MaxMembers)
		}
		mparts := with(parts, hdr.Name)
		last = strconv.Quote(hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			w.add(Found{Parts: mparts, Symlink: hdr.Linkname})
		case tar.TypeLink:
			w.add(Found{Parts: mparts, Hardlink: hdr.Linkname})
		case tar.TypeDir, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		default: // regular, and unknown types, which POSIX says to read as regular files
			if hdr.Size > w.opts.MaxMemberSize {
				return fmt.Errorf("executable: %s: %w: %d bytes, more than %d", name(mparts), ErrLimit, hdr.Size, w.opts.MaxMemberSize)
			}
			if err := w.member(tr, mparts, depth); err != nil {
				return err
			}
		}
	}
}

// compressed looks into a gzip or bzip2 stream: as a tar if it holds one,
// else as one member.
func (w *walker) compressed(kind string, r io.Reader, parts []string, depth int) error {
	var dr io.Reader
	inner := innerName(parts[len(parts)-1])
	switch kind {
	case "gzip":
		gz, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("executable: %s: %w", name(parts), err)
		}
		defer gz.Close()
		if gz.Name != "" {
			inner = gz.Name
		}
		dr = gz
	case "bzip2":
		dr = bzip2.NewReader(r)
	}
	br := bufio.NewReaderSize(&counter{dr, w}, 4096)
	head, err := br.Peek(512)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("executable: %s: %w", name(parts), err)
	}
	if isTar(head) {
		return w.tar(br, parts, depth)
	}
	return w.member(br, with(parts, inner), depth)
}

// member reads one archive member (at most MaxMemberSize bytes) and scans it.
func (w *walker) member(r io.Reader, parts []string, depth int) error {
	limit := w.opts.MaxMemberSize
	buf, err := io.ReadAll(io.LimitReader(r, min(limit, w.opts.MemoryMember)+1))
	if err != nil {
		return fmt.Errorf("executable: %s: %w", name(parts), err)
	}
	if int64(len(buf)) > limit {
		return fmt.Errorf("executable: %s: %w: more than %d bytes", name(parts), ErrLimit, limit)
	}
	if int64(len(buf)) <= w.opts.MemoryMember {
		return w.scan(bytes.NewReader(buf), int64(len(buf)), parts, depth)
	}
	tmp, err := os.CreateTemp(w.opts.TempDir, "hallmark-member-*")
	if err != nil {
		return fmt.Errorf("executable: %s: %w", name(parts), err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	n, err := io.Copy(tmp, io.MultiReader(bytes.NewReader(buf), io.LimitReader(r, limit+1-int64(len(buf)))))
	if err != nil {
		return fmt.Errorf("executable: %s: %w", name(parts), err)
	}
	if n > limit {
		return fmt.Errorf("executable: %s: %w: more than %d bytes", name(parts), ErrLimit, limit)
	}
	return w.scan(tmp, n, parts, depth)
}

// counter charges decompressed bytes to the walk's budget.
type counter struct {
	r io.Reader
	w *walker
}

func (c *counter) Read(p []byte) (int, error) {
	if c.w.budget <= 0 {
		return 0, fmt.Errorf("%w: more than %d decompressed bytes in one walk", ErrLimit, c.w.opts.MaxTotal)
	}
	if int64(len(p)) > c.w.budget {
		p = p[:c.w.budget]
	}
	n, err := c.r.Read(p)
	c.w.budget -= int64(n)
	return n, err
}

// innerName names the one member of a compressed file that holds no tar:
// its name without .gz, .bz2 or .bz, else "-". A gzip header's FNAME field,
// when set, is used instead.
func innerName(outer string) string {
	base := path.Base(outer)
	for _, ext := range []string{".gz", ".bz2", ".bz"} {
		if n := strings.TrimSuffix(base, ext); n != base && n != "" {
			return n
		}
	}
	return "-"
}

// ar walks a Unix ar archive (.a static libraries, .deb packages): the
// "!<arch>\n" magic, then per member a 60-byte header (name[16] mtime[12]
// uid[6] gid[6] mode[8] size[10] "`\n") and the data padded to an even
// length. GNU long names ("/N" into the "//" member) and BSD ones ("#1/N",
// the name first in the data) are resolved; the symbol tables "/" and
// "__.SYMDEF" are skipped.
func (w *walker) ar(r *io.SectionReader, parts []string, depth int) error {
	off := int64(len("!<arch>\n"))
	var longNames []byte
	for n := 0; off < r.Size(); n++ {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if n >= w.opts.MaxMembers {
			return fmt.Errorf("executable: %s: %w: more than %d members", name(parts), ErrLimit, w.opts.MaxMembers)
		}
		var h [60]byte
		if _, err := r.ReadAt(h[:], off); err != nil {
			return fmt.Errorf("executable: %s: member header at %d: %w", name(parts), off, err)
		}
		if string(h[58:60]) != "`\n" {
			return fmt.Errorf("executable: %s: member header at %d: bad terminator %q", name(parts), off, h[58:60])
		}
		size, err := strconv.ParseInt(strings.TrimSpace(string(h[48:58])), 10, 64)
		if err != nil || size < 0 || size > r.Size()-off-60 {
			return fmt.Errorf("executable: %s: member header at %d: size %q", name(parts), off, h[48:58])
		}
		data := io.NewSectionReader(r, off+60, size)
		off += 60 + size + size%2
		mname := strings.TrimRight(string(h[:16]), " ")
		switch {
		case mname == "/" || mname == "/SYM64/" || strings.HasPrefix(mname, "__.SYMDEF"):
			continue
		case mname == "//":
			if size > 1<<20 {
				return fmt.Errorf("executable: %s: %w: long-name table of %d bytes", name(parts), ErrLimit, size)
			}
			longNames = make([]byte, size)
			if _, err := data.ReadAt(longNames, 0); err != nil {
				return fmt.Errorf("executable: %s: long-name table: %w", name(parts), err)
			}
			continue
		case strings.HasPrefix(mname, "#1/"):
			nl, err := strconv.ParseInt(mname[3:], 10, 64)
			if err != nil || nl < 0 || nl > size || nl > 4096 {
				return fmt.Errorf("executable: %s: member at %d: BSD name length %q", name(parts), off, mname[3:])
			}
			b := make([]byte, nl)
			if _, err := data.ReadAt(b, 0); err != nil {
				return fmt.Errorf("executable: %s: member at %d: %w", name(parts), off, err)
			}
			mname = strings.TrimRight(string(b), "\x00")
			data = io.NewSectionReader(data, nl, size-nl)
		case len(mname) > 1 && mname[0] == '/':
			i, err := strconv.Atoi(mname[1:])
			if err != nil || i < 0 || i >= len(longNames) {
				return fmt.Errorf("executable: %s: member name %q not in the long-name table", name(parts), mname)
			}
			ln := longNames[i:]
			if j := bytes.IndexAny(ln, "\n"); j >= 0 {
				ln = ln[:j]
			}
			mname = strings.TrimSuffix(string(ln), "/")
		default:
			mname = strings.TrimSuffix(mname, "/")
		}
		mparts := with(parts, mname)
		if data.Size() > w.opts.MaxMemberSize {
			return fmt.Errorf("executable: %s: %w: %d bytes, more than %d", name(mparts), ErrLimit, data.Size(), w.opts.MaxMemberSize)
		}
		// The member is a range of the archive: scanned in place, not copied.
		if err := w.scan(data, data.Size(), mparts, depth); err != nil {
			return err
		}
	}
	return nil
}
