package vulndb

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/osv"
)

// Limits bound one import.
type Limits struct {
	// Entries is the most files (directory import) or ZIP or tar members
	// (archive import) an import may hold, counting all members of an
	// archive, not only *.json ones.
	Entries int
	// Bytes is the most bytes an import may read in total, counted as
	// actually read or decompressed, not as declared. For a tar archive
	// that is its whole stream, headers and skipped members included.
	Bytes int64
}

// DefaultLimits are above the largest OSV export (all ecosystems, some
// hundreds of thousands of records, a few GiB uncompressed) and below what
// would exhaust the machine.
var DefaultLimits = Limits{Entries: 2_000_000, Bytes: 16 << 30}

// ErrLimit is wrapped by the error of an import that exceeds its Limits.
var ErrLimit = errors.New("import limit exceeded")

// maxNameLen bounds archive member names.
const maxNameLen = 1024

// RecordError is a record skipped by an import, passed to its warn
// callback.
type RecordError struct {
	File   string // the file read: the record's file or the archive
	Member string // the ZIP or tar member name, "" outside archives
	ID     string // the record id, "" if it could not be read
	Err    error  // an *osv.ParseError, or why the record was not read
}

func (e *RecordError) Error() string {
	s := "vulndb: " + e.File
	if e.Member != "" {
		s += ": " + e.Member
	}
	var pe *osv.ParseError
	if e.ID != "" && !errors.As(e.Err, &pe) {
		// ParseError messages already name the id.
		s += ": " + e.ID
	}
	return s + ": " + e.Err.Error()
}

func (e *RecordError) Unwrap() error { return e.Err }

// Stats count what an import did.
type Stats struct {
	Read      int // records read and parsed
	Added     int // records new to the database
	Replaced  int // stored records replaced by a newer modified one
	Unchanged int // records not newer than the stored one
	Skipped   int // bad records, reported to warn
}

// Import imports the OSV records at path (a JSON file, possibly
// gzip-compressed, a directory tree of *.json files, a ZIP archive, or a tar
// archive, possibly gzip-compressed), attributing them to source, in one
// transaction. Bad records are reported to warn (which may be nil) as
// *RecordError values and skipped. See the package documentation for the
// guarantees.
func (db *DB) Import(ctx context.Context, path, source string, warn func(error)) (Stats, error) {
	st, _, err := db.importDigest(ctx, path, source, warn)
	return st, err
}

// importDigest is Import, also returning the digest it stored for the
// source.
func (db *DB) importDigest(ctx context.Context, path, source string, warn func(error)) (st Stats, digest string, err error) {
	if source == "" {
		return st, "", fmt.Errorf("vulndb: import %s: empty source name", path)
	}
	if warn == nil {
		warn = func(error) {}
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("vulndb: import %s: %w", path, err)
		}
	}()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return st, "", err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	im, err := newImporter(ctx, tx, source)
	if err != nil {
		return st, "", err
	}
	defer im.close()
	in := &input{limits: db.Limits, digest: sha256.New()}
	if err := in.parse(ctx, path, func(j *job) error {
		if j.bad != nil {
			warn(j.bad)
			im.stats.Skipped++
			return nil
		}
		im.stats.Read++
		return im.put(j.rec, j.data)
	}); err != nil {
		return st, "", err
	}
	digest = "sha256:" + hex.EncodeToString(in.digest.Sum(nil))
	if err := im.finish(digest); err != nil {
		return st, "", err
	}
	if err := tx.Commit(); err != nil {
		return st, "", err
	}
	return im.stats, digest, nil
}

// job is one input of an import: a record read and parsed, or a bad one.
type job struct {
	file, member string
	data         []byte
	rec          *osv.Record
	bad          *RecordError // set if the input could not be read or parsed as a record
	done         chan struct{}
}

// parse reads the inputs at path in order, parses them on all CPUs (parsing
// is most of an import's time), and calls use with each in read order, from
// the calling goroutine. It stops at the first error from reading or use.
func (in *input) parse(ctx context.Context, path string, use func(*job) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0))
	queue := make(chan *job, 16*workers) // in read order
	work := make(chan *job, 16*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range work {
				var err error
				if j.rec, err = osv.Parse(j.data); err != nil {
					j.bad = &RecordError{File: j.file, Member: j.member, Err: err}
					var pe *osv.ParseError
					if errors.As(err, &pe) {
						j.bad.ID = pe.ID
					}
				}
				close(j.done)
			}
		})
	}
	send := func(j *job, parse bool) error {
		select {
		case queue <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		if parse {
			work <- j // workers never stop before work is closed
		}
		return nil
	}
	var readErr error
	go func() {
		defer close(queue)
		defer close(work)
		readErr = in.each(ctx, path, func(file, member string, data []byte) error {
			return send(&job{file: file, member: member, data: data, done: make(chan struct{})}, true)
		}, func(re *RecordError) error {
			done := make(chan struct{})
			close(done)
			return send(&job{bad: re, done: done}, false)
		})
	}()
	var useErr error
	for j := range queue {
		<-j.done
		if useErr == nil {
			if useErr = use(j); useErr != nil {
				cancel() // stop the reader; drain the queue so that it ends
			}
		}
	}
	wg.Wait()
	if useErr != nil {
		return useErr
	}
	return readErr
}

// importer writes records within an import transaction.
type importer struct {
	ctx    context.Context
	tx     *sql.Tx
	source string
	stats  Stats

	modified, upsert, delAffected, delAliases, insAffected, insAlias *sql.Stmt
}

func newImporter(ctx context.Context, tx *sql.Tx, source string) (*importer, error) {
	im := &importer{ctx: ctx, tx: tx, source: source}
	for _, s := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&im.modified, `SELECT modified FROM records WHERE id = ?`},
		{&im.upsert, `INSERT INTO records (id, modified, withdrawn, source, json) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, withdrawn = excluded.withdrawn,
			source = excluded.source, json = excluded.json`},
		{&im.delAffected, `DELETE FROM affected WHERE id = ?`},
		{&im.delAliases, `DELETE FROM aliases WHERE id = ?`},
		{&im.insAffected, `INSERT INTO affected (ecosystem, name, id) VALUES (?, ?, ?)`},
		{&im.insAlias, `INSERT INTO aliases (id, alias) VALUES (?, ?)`},
	} {
		st, err := tx.PrepareContext(ctx, s.q)
		if err != nil {
			im.close()
			return nil, err
		}
		*s.dst = st
	}
	return im, nil
}

func (im *importer) close() {
	for _, st := range []*sql.Stmt{im.modified, im.upsert, im.delAffected, im.delAliases, im.insAffected, im.insAlias} {
		if st != nil {
			st.Close()
		}
	}
}

// put stores r unless a record with the same id and a modified time at
// least as late is stored.
func (im *importer) put(r *osv.Record, data []byte) error {
	modified := formatTime(r.Modified)
	var old string
	err := im.modified.QueryRowContext(im.ctx, r.ID).Scan(&old)
	exists := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("record %s: %w", r.ID, err)
	case modified <= old:
		im.stats.Unchanged++
		return nil
	}
	var withdrawn any
	if r.Withdrawn() {
		withdrawn = formatTime(r.WithdrawnAt)
	}
	if _, err := im.upsert.ExecContext(im.ctx, r.ID, modified, withdrawn, im.source, data); err != nil {
		return fmt.Errorf("record %s: %w", r.ID, err)
	}
	if exists {
		im.stats.Replaced++
		if _, err := im.delAffected.ExecContext(im.ctx, r.ID); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
		if _, err := im.delAliases.ExecContext(im.ctx, r.ID); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
	} else {
		im.stats.Added++
	}
	type pkg struct{ eco, name string }
	var pkgs []pkg
	for _, a := range r.Affected {
		p := pkg{a.Package.Ecosystem, a.Package.Name}
		if p.eco == "" || p.name == "" || slices.Contains(pkgs, p) {
			continue
		}
		pkgs = append(pkgs, p)
		if _, err := im.insAffected.ExecContext(im.ctx, p.eco, p.name, r.ID); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
	}
	aliases := slices.Clone(r.Aliases)
	slices.Sort(aliases)
	for _, a := range slices.Compact(aliases) {
		if a == "" || a == r.ID {
			continue
		}
		if _, err := im.insAlias.ExecContext(im.ctx, r.ID, a); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
	}
	return nil
}

// finish records the source and recounts every source's records, since
// this import may have taken records over from others.
func (im *importer) finish(digest string) error {
	if _, err := im.tx.ExecContext(im.ctx, `INSERT INTO sources (name, imported, count, digest) VALUES (?, ?, 0, ?)
		ON CONFLICT (name) DO UPDATE SET imported = excluded.imported, digest = excluded.digest`,
		im.source, time.Now().UTC().Format(time.RFC3339Nano), digest); err != nil {
		return fmt.Errorf("source %s: %w", im.source, err)
	}
	if _, err := im.tx.ExecContext(im.ctx, `UPDATE sources SET count = (SELECT COUNT(*) FROM records WHERE records.source = sources.name)`); err != nil {
		return fmt.Errorf("source counts: %w", err)
	}
	return nil
}

// input reads the inputs of one import within its limits.
type input struct {
	limits  Limits
	entries int
	bytes   int64
	digest  hash.Hash
}

// record is called with each input read; bad is called for inputs that
// could not be read as a record (too large, unreadable ZIP member).
type (
	recordFunc func(file, member string, data []byte) error
	badFunc    func(*RecordError) error
)

func (in *input) count(n int64) error {
	in.bytes += n
	if in.bytes > in.limits.Bytes {
		return fmt.Errorf("%w: more than %d bytes", ErrLimit, in.limits.Bytes)
	}
	return nil
}

func (in *input) entry() error {
	in.entries++
	if in.entries > in.limits.Entries {
		return fmt.Errorf("%w: more than %d entries", ErrLimit, in.limits.Entries)
	}
	return nil
}

// read reads at most osv.MaxSize+1 bytes of r, counting them.
func (in *input) read(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, osv.MaxSize+1))
	if cerr := in.count(int64(len(data))); cerr != nil {
		return nil, cerr
	}
	return data, err
}

func (in *input) hash(name string, data []byte) {
	sum := sha256.Sum256(data)
	fmt.Fprintf(in.digest, "%s\x00%x\n", name, sum)
}

var (
	errTooLarge    = fmt.Errorf("record is more than %d bytes", osv.MaxSize)
	errNameRefused = fmt.Errorf("member name longer than %d bytes or holding a NUL byte", maxNameLen)
)

func (in *input) each(ctx context.Context, path string, record recordFunc, bad badFunc) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return in.dir(ctx, path, record, bad)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var head [tarBlock]byte
	n, _ := io.ReadFull(f, head[:])
	m := string(head[:min(n, 4)])
	if m == "PK\x03\x04" || m == "PK\x05\x06" {
		return in.zip(ctx, path, f, fi.Size(), record, bad)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(m, "\x1f\x8b"):
		return in.gzip(ctx, path, f, record, bad)
	case isTarHeader(head[:n]):
		return in.tar(ctx, path, bufio.NewReaderSize(f, 64<<10), record, bad)
	}
	return in.file(path, filepath.Base(path), f, record, bad)
}

// gzip reads a gzip-compressed file: a tar archive, if the decompressed
// stream begins with a tar header, else one record.
func (in *input) gzip(ctx context.Context, name string, f io.Reader, record recordFunc, bad badFunc) error {
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return err // "gzip: invalid header"
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 64<<10)
	if block, _ := br.Peek(tarBlock); !isTarHeader(block) {
		return in.file(name, filepath.Base(name), br, record, bad)
	}
	return in.tar(ctx, name, br, record, bad)
}

// tarBlock is the size of a tar header and of the units of member data.
const tarBlock = 512

// isTarHeader reports whether b begins with a tar header block: one whose
// checksum field matches its bytes, or a block of zeros (an empty
// archive's end).
func isTarHeader(b []byte) bool {
	if len(b) < tarBlock {
		return false
	}
	b = b[:tarBlock]
	field := strings.Trim(string(b[148:156]), " \x00")
	want, err := strconv.ParseUint(field, 8, 32)
	if err != nil {
		return !slices.ContainsFunc(b, func(c byte) bool { return c != 0 })
	}
	// The sum of the block's bytes with the checksum field as spaces,
	// unsigned as POSIX says, or signed as some old writers computed it.
	var unsigned, signed int64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return int64(want) == unsigned || int64(want) == signed
}

// countReader counts the bytes read through it against the import's
// Bytes limit.
type countReader struct {
	r  io.Reader
	in *input
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if cerr := c.in.count(int64(n)); cerr != nil {
		return n, cerr
	}
	return n, err
}

// tar reads a tar stream in archive order. Every byte of the stream counts
// against the Bytes limit, since skipping a member means decompressing it;
// an error of the stream (truncated, corrupt, over a limit) fails the
// import, as a stream cannot be resynchronized.
func (in *input) tar(ctx context.Context, name string, r io.Reader, record recordFunc, bad badFunc) error {
	cr := &countReader{r: r, in: in}
	tr := tar.NewReader(cr)
	last := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if last == "" {
				return fmt.Errorf("first member: %w", err)
			}
			return fmt.Errorf("member after %s: %w", last, err)
		}
		if err := in.entry(); err != nil {
			return err
		}
		if len(h.Name) > maxNameLen || strings.IndexByte(h.Name, 0) >= 0 {
			last = fmt.Sprintf("%.64q...", h.Name)
			if err := bad(&RecordError{File: name, Member: last, Err: errNameRefused}); err != nil {
				return err
			}
			continue
		}
		last = h.Name
		// Directories, links and devices are ignored.
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		if h.Size > osv.MaxSize {
			// Its data is skipped (and counted) by the next Next.
			if err := bad(&RecordError{File: name, Member: h.Name, Err: errTooLarge}); err != nil {
				return err
			}
			continue
		}
		// The tar reader yields exactly h.Size bytes, checked above.
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		in.hash(h.Name, data)
		if err := record(name, h.Name, data); err != nil {
			return err
		}
	}
	// Read the stream to its end (the archive's padding), so that a
	// gzip stream is checked against its trailer's CRC-32 and length and a
	// truncated one fails.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return fmt.Errorf("after the end of the tar archive: %w", err)
	}
	return nil
}

// file reads one record file; name is its path, for messages, and key its
// name relative to the import's root, for the digest.
func (in *input) file(name, key string, f io.Reader, record recordFunc, bad badFunc) error {
	if err := in.entry(); err != nil {
		return err
	}
	data, err := in.read(f)
	if err != nil {
		return err
	}
	in.hash(key, data)
	if len(data) > osv.MaxSize {
		return bad(&RecordError{File: name, Err: errTooLarge})
	}
	return record(name, "", data)
}

func (in *input) dir(ctx context.Context, root string, record recordFunc, bad badFunc) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symbolic links, devices, pipes
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return in.file(p, filepath.ToSlash(rel), f, record, bad)
	})
}

func (in *input) zip(ctx context.Context, name string, f io.ReaderAt, size int64, record recordFunc, bad badFunc) error {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return err
	}
	// Members are counted before any is read, so a huge directory fails
	// fast.
	if len(zr.File) > in.limits.Entries {
		return fmt.Errorf("%w: %d members, more than %d", ErrLimit, len(zr.File), in.limits.Entries)
	}
	in.entries += len(zr.File)
	// Read in name order, so that the digest and the outcome of duplicate
	// ids do not depend on the archive's member order.
	files := slices.Clone(zr.File)
	slices.SortStableFunc(files, func(a, b *zip.File) int { return cmp.Compare(a.Name, b.Name) })
	for _, zf := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(zf.Name) > maxNameLen || strings.IndexByte(zf.Name, 0) >= 0 {
			if err := bad(&RecordError{File: name, Member: fmt.Sprintf("%.64q...", zf.Name), Err: errNameRefused}); err != nil {
				return err
			}
			continue
		}
		if zf.FileInfo().IsDir() || !strings.HasSuffix(zf.Name, ".json") {
			continue
		}
		if zf.UncompressedSize64 > osv.MaxSize {
			// Declared sizes are not trusted to be small, but one declared
			// large is not worth decompressing.
			if err := bad(&RecordError{File: name, Member: zf.Name, Err: errTooLarge}); err != nil {
				return err
			}
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			if err := bad(&RecordError{File: name, Member: zf.Name, Err: err}); err != nil {
				return err
			}
			continue
		}
		data, err := in.read(rc)
		rc.Close()
		if errors.Is(err, ErrLimit) {
			return err
		}
		if err != nil {
			// A corrupt member (bad checksum, bad deflate stream).
			if err := bad(&RecordError{File: name, Member: zf.Name, Err: err}); err != nil {
				return err
			}
			continue
		}
		in.hash(zf.Name, data)
		if len(data) > osv.MaxSize {
			if err := bad(&RecordError{File: name, Member: zf.Name, Err: errTooLarge}); err != nil {
				return err
			}
			continue
		}
		if err := record(name, zf.Name, data); err != nil {
			return err
		}
	}
	return nil
}

func sortRecords(recs []*osv.Record) {
	slices.SortFunc(recs, func(a, b *osv.Record) int { return strings.Compare(a.ID, b.ID) })
}
