package vulndb

import (
	"archive/zip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/limit"
)

// DefaultBaseURL is where osv.dev publishes its exports, one
// <ecosystem>/all.zip per ecosystem.
const DefaultBaseURL = "https://osv-vulnerabilities.storage.googleapis.com"

// DefaultEcosystems are what Update downloads when neither its options nor
// the database name any ecosystem: those of the components package
// inventory finds.
var DefaultEcosystems = []string{"Go", "npm", "PyPI", "crates.io"}

// DefaultMaxDownload is the largest export Update downloads unless told
// otherwise; the largest OSV export is well under 1 GiB.
const DefaultMaxDownload = 8 << 30

// UpdateOptions configure [DB.Update]. The zero value updates the default
// ecosystems from osv.dev.
type UpdateOptions struct {
	// BaseURL is the location of the exports: BaseURL/<ecosystem>/all.zip,
	// the ecosystem name path-escaped. Default DefaultBaseURL.
	BaseURL string
	// Ecosystems are the OSV ecosystem names to update, spelled as the
	// records spell them ("Go", "PyPI", "Debian:12"). Default: the
	// ecosystems of the database's "osv:<ecosystem>" sources (those a
	// previous Update imported), or DefaultEcosystems if there are none.
	Ecosystems []string
	// CacheDir keeps the downloads. Default: the database file's path
	// followed by ".downloads", so that each database has its own.
	CacheDir string
	// Client makes the requests. Default: a client without a timeout of
	// its own; ctx bounds the time an Update takes.
	Client *http.Client
	// MaxDownload is the largest export accepted, in bytes. Default
	// DefaultMaxDownload.
	MaxDownload int64
	// Warn, if not nil, receives the imports' *RecordError warnings, and
	// notes (other errors) on partial or cached downloads discarded.
	Warn func(error)
}

// UpdateResult is what Update did for one ecosystem.
type UpdateResult struct {
	Ecosystem string
	URL       string // the export's URL
	// Downloaded is the number of bytes received, 0 if none.
	Downloaded int64
	// Resumed is set if the download continued a partial one with a
	// Range request.
	Resumed bool
	// NotModified is set if the export did not change since the last
	// download (the server answered 304) and the database holds it:
	// the ecosystem is up to date and nothing was imported.
	NotModified bool
	// Stats are those of the import of the export, zero when nothing was
	// imported.
	Stats Stats
}

// Update downloads the OSV export of each ecosystem of opts (see
// [UpdateOptions] for the defaults) and imports it with [DB.Import] as
// source "osv:<ecosystem>". It returns the results of the ecosystems
// updated, in order, and an error joining the failures of the others;
// once ctx is done it stops.
//
// # Downloads
//
// An export is downloaded into CacheDir/<ecosystem>.zip.part, beside a
// small JSON file <ecosystem>.zip.part.meta holding the URL, the ETag,
// Last-Modified, length and hashes the server gave. A failed download
// leaves both, and the next Update resumes it: it sends Range from the
// part's size with If-Range, appends a 206 answer, starts over on a 200
// (the export changed) and discards the part on a 416. Downloads larger than
// MaxDownload are refused, by their Content-Length before they begin and
// by the bytes received while they go on.
//
// A complete download is verified before anything is imported: its length
// against Content-Length (or Content-Range's total), its MD5 and CRC-32C
// against the x-goog-hash header of the Google Cloud Storage bucket, if the
// server sent one, and it must be a ZIP archive; without x-goog-hash every
// member is also read to check its CRC-32. A download that fails
// verification is deleted, and Update reports the URL and the mismatch.
// A verified download becomes CacheDir/<ecosystem>.zip (and .zip.meta) and
// is imported.
//
// The next Update of the ecosystem sends If-None-Match and
// If-Modified-Since with that download's ETag and Last-Modified. On 304,
// nothing is downloaded; if the database's source "osv:<ecosystem>"
// holds exactly the import of that download (by its digest), nothing is
// imported either; otherwise the cached copy is verified again and
// imported.
//
// Updates of one DB are serialized; two processes must not update with
// the same CacheDir at the same time.
func (db *DB) Update(ctx context.Context, opts UpdateOptions) ([]UpdateResult, error) {
	db.updateMu.Lock()
	defer db.updateMu.Unlock()
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("vulndb: update: base URL %q is not an http or https URL", opts.BaseURL)
	}
	if opts.CacheDir == "" {
		opts.CacheDir = db.path + ".downloads"
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.MaxDownload <= 0 {
		opts.MaxDownload = DefaultMaxDownload
	}
	if opts.Warn == nil {
		opts.Warn = func(error) {}
	}
	ecos := opts.Ecosystems
	if len(ecos) == 0 {
		if ecos, err = db.osvEcosystems(ctx); err != nil {
			return nil, err
		}
	}
	for _, eco := range ecos {
		if !validEcosystem(eco) {
			return nil, fmt.Errorf("vulndb: update: ecosystem %.64q: not an OSV ecosystem name", eco)
		}
	}
	if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("vulndb: update: %w", err)
	}
	var results []UpdateResult
	var errs []error
	for _, eco := range ecos {
		d := &download{
			db:   db,
			opts: &opts,
			eco:  eco,
			url:  strings.TrimSuffix(opts.BaseURL, "/") + "/" + url.PathEscape(eco) + "/all.zip",
			zip:  filepath.Join(opts.CacheDir, eco+".zip"),
		}
		d.part = d.zip + ".part"
		d.res = UpdateResult{Ecosystem: eco, URL: d.url}
		if err := d.run(ctx); err != nil {
			errs = append(errs, fmt.Errorf("vulndb: update %s: %w", eco, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		results = append(results, d.res)
	}
	return results, errors.Join(errs...)
}

// osvEcosystems returns the ecosystems of the "osv:" sources, sorted, or
// DefaultEcosystems if there are none.
func (db *DB) osvEcosystems(ctx context.Context) ([]string, error) {
	srcs, err := db.Status(ctx)
	if err != nil {
		return nil, err
	}
	var ecos []string
	for _, s := range srcs {
		if eco, ok := strings.CutPrefix(s.Name, "osv:"); ok && validEcosystem(eco) {
			ecos = append(ecos, eco)
		}
	}
	if len(ecos) == 0 {
		return slices.Clone(DefaultEcosystems), nil
	}
	return ecos, nil
}

// validEcosystem reports whether s can be an OSV ecosystem name and so a
// file name in the cache: ASCII letters, digits, spaces and ".:-_+()",
// not starting with a dot or a space, at most 100 bytes.
func validEcosystem(s string) bool {
	if s == "" || len(s) > 100 || s[0] == '.' || s[0] == ' ' {
		return false
	}
	for _, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(" .:-_+()", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// maxMeta bounds the .meta files read back.
const maxMeta = 64 << 10

// meta describes a download, in the .meta file beside it.
type meta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Length       int64  `json:"length"`           // the whole export's, -1 if unknown
	MD5          string `json:"md5,omitempty"`    // base64, from x-goog-hash
	CRC32C       string `json:"crc32c,omitempty"` // base64 of the big-endian value, from x-goog-hash
	// Digest is the source digest of the import of this download, set
	// once it was imported (complete downloads only).
	Digest string `json:"digest,omitempty"`
}

func readMeta(path string) (*meta, error) {
	data, err := limit.ReadFile(path, maxMeta)
	if err != nil {
		return nil, err
	}
	m := new(meta)
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// writeMeta writes m to path through internal/atomicfile, so that path holds
// either the old or the new meta.
func writeMeta(path string, m *meta) error {
	data, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}

// download updates one ecosystem.
type download struct {
	db        *DB
	opts      *UpdateOptions
	eco, url  string
	zip, part string // CacheDir/<eco>.zip and its .part; metas are path+".meta"
	res       UpdateResult
}

func (d *download) warnf(format string, args ...any) {
	d.opts.Warn(fmt.Errorf("vulndb: update %s: "+format, append([]any{d.eco}, args...)...))
}

func (d *download) run(ctx context.Context) error {
	done := d.completed()
	m, notModified, err := d.fetch(ctx, done)
	if err != nil {
		return err
	}
	if notModified {
		if done.Digest != "" && d.holds(ctx, done.Digest) {
			d.res.NotModified = true
			return nil
		}
		// The database does not hold the cached copy (a failed import, a
		// new database): import it, unless it no longer verifies.
		if err := d.verify(d.zip, done); err != nil {
			d.warnf("cached %s: %v; downloading it again", d.zip, err)
			os.Remove(d.zip + ".meta")
			os.Remove(d.zip)
			if m, _, err = d.fetch(ctx, nil); err != nil {
				return err
			}
			notModified = false
		} else {
			m = done
		}
	}
	if !notModified {
		if err := d.verify(d.part, m); err != nil {
			d.discard()
			return fmt.Errorf("%s: verification failed, the download is deleted: %w", d.url, err)
		}
		// The old meta goes first, so that it never describes the new file.
		if err := os.Remove(d.zip + ".meta"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Rename(d.part, d.zip); err != nil {
			return err
		}
		if err := writeMeta(d.zip+".meta", m); err != nil {
			return err
		}
		os.Remove(d.part + ".meta")
	}
	st, digest, err := d.db.importDigest(ctx, d.zip, "osv:"+d.eco, d.opts.Warn)
	if err != nil {
		return err
	}
	d.res.Stats = st
	m.Digest = digest
	if err := writeMeta(d.zip+".meta", m); err != nil {
		return err
	}
	return nil
}

// completed returns the meta of the cached complete download if it is
// one of this URL and the file is there with its length, else nil.
func (d *download) completed() *meta {
	m, err := readMeta(d.zip + ".meta")
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			d.warnf("ignoring the cached download: %v", err)
		}
		return nil
	}
	fi, err := os.Stat(d.zip)
	if err != nil || m.URL != d.url || (m.ETag == "" && m.LastModified == "") || (m.Length >= 0 && fi.Size() != m.Length) {
		return nil
	}
	return m
}

// holds reports whether the database's source for this ecosystem has
// the digest.
func (d *download) holds(ctx context.Context, digest string) bool {
	var got string
	err := d.db.r.QueryRowContext(ctx, `SELECT digest FROM sources WHERE name = ?`, "osv:"+d.eco).Scan(&got)
	return err == nil && got == digest
}

// partial returns the meta of a partial download that can be resumed and
// the number of bytes it holds; otherwise it removes what there is of one
// and returns nil.
func (d *download) partial() (*meta, int64) {
	m, err := readMeta(d.part + ".meta")
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			d.warnf("discarding the partial download: %v", err)
		}
		d.discard()
		return nil, 0
	}
	fi, err := os.Stat(d.part)
	switch {
	case err != nil, fi.Size() == 0, m.URL != d.url, strongETag(m.ETag) == "" && m.LastModified == "",
		m.Length >= 0 && fi.Size() > m.Length, fi.Size() > d.opts.MaxDownload:
		d.discard()
		return nil, 0
	}
	return m, fi.Size()
}

// strongETag returns etag if it is a strong entity tag, which If-Range
// requires, else "".
func strongETag(etag string) string {
	if len(etag) < 2 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		return ""
	}
	return etag
}

// discard removes the partial download.
func (d *download) discard() {
	os.Remove(d.part)
	os.Remove(d.part + ".meta")
}

// fetch downloads the export into the part file, resuming a partial
// download, or, if done is not nil and there is no partial download, asks
// whether the export changed since done. It returns the complete
// download's meta, or notModified.
func (d *download) fetch(ctx context.Context, done *meta) (m *meta, notModified bool, err error) {
	// A 416 or a mismatched 206 discards the part; the second request
	// then has no Range.
	for range 2 {
		got, unchanged, restart, err := d.request(ctx, done)
		if !restart {
			return got, unchanged, err
		}
	}
	return nil, false, fmt.Errorf("GET %s: the server refused the range of the partial download twice", d.url)
}

func (d *download) request(ctx context.Context, done *meta) (m *meta, notModified, restart bool, err error) {
	part, offset := d.partial()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return nil, false, false, err
	}
	// The bytes as stored, which x-goog-hash describes; this also keeps
	// the transport from decompressing.
	req.Header.Set("Accept-Encoding", "identity")
	switch {
	case part != nil:
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if etag := strongETag(part.ETag); etag != "" {
			req.Header.Set("If-Range", etag)
		} else {
			req.Header.Set("If-Range", part.LastModified)
		}
	case done != nil:
		if done.ETag != "" {
			req.Header.Set("If-None-Match", done.ETag)
		}
		if done.LastModified != "" {
			req.Header.Set("If-Modified-Since", done.LastModified)
		}
	}
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		return nil, false, false, err // a *url.Error names the URL
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		m, err := d.start(resp)
		return m, false, false, err
	case http.StatusPartialContent:
		if part == nil {
			return nil, false, false, fmt.Errorf("GET %s: 206 Partial Content to a request without Range", d.url)
		}
		if err := d.resume(resp, part, offset); err != nil {
			if errors.Is(err, errStale) {
				d.warnf("discarding the partial download: %v", err)
				d.discard()
				return nil, false, true, nil
			}
			return nil, false, false, err
		}
		return part, false, false, nil
	case http.StatusRequestedRangeNotSatisfiable:
		if part == nil {
			return nil, false, false, fmt.Errorf("GET %s: %s to a request without Range", d.url, resp.Status)
		}
		// The part is complete, or longer than the export now is.
		d.discard()
		return nil, false, true, nil
	case http.StatusNotModified:
		if done == nil || part != nil {
			return nil, false, false, fmt.Errorf("GET %s: 304 Not Modified to an unconditional request", d.url)
		}
		return nil, true, false, nil
	case http.StatusNotFound:
		return nil, false, false, fmt.Errorf("GET %s: %s: no OSV export for ecosystem %q there", d.url, resp.Status, d.eco)
	}
	return nil, false, false, fmt.Errorf("GET %s: %s", d.url, resp.Status)
}

// errStale marks a 206 answer that does not continue the partial download.
var errStale = errors.New("the server's range does not continue the partial download")

// start writes a 200 answer's body to a new part file.
func (d *download) start(resp *http.Response) (*meta, error) {
	m := &meta{
		URL:          d.url,
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		Length:       resp.ContentLength,
	}
	var err error
	if m.MD5, m.CRC32C, err = googHash(resp.Header); err != nil {
		return nil, fmt.Errorf("GET %s: %w", d.url, err)
	}
	d.discard()
	if m.Length > d.opts.MaxDownload {
		return nil, fmt.Errorf("GET %s: the export is %d bytes, more than the limit of %d", d.url, m.Length, d.opts.MaxDownload)
	}
	if err := writeMeta(d.part+".meta", m); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(d.part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return m, d.write(f, resp.Body, 0)
}

// resume appends a 206 answer's body to the part file, holding have
// bytes of the export described by part.
func (d *download) resume(resp *http.Response, part *meta, have int64) error {
	first, total, err := contentRange(resp.Header.Get("Content-Range"))
	if err != nil {
		return fmt.Errorf("GET %s: %w", d.url, err)
	}
	if first != have {
		return fmt.Errorf("%w: it starts at byte %d, not %d", errStale, first, have)
	}
	if total >= 0 && part.Length >= 0 && total != part.Length {
		return fmt.Errorf("%w: the export is %d bytes, not %d", errStale, total, part.Length)
	}
	if etag := resp.Header.Get("ETag"); etag != "" && part.ETag != "" && etag != part.ETag {
		return fmt.Errorf("%w: ETag %s, not %s", errStale, etag, part.ETag)
	}
	md5sum, crc, err := googHash(resp.Header)
	if err != nil {
		return fmt.Errorf("GET %s: %w", d.url, err)
	}
	if (md5sum != "" && part.MD5 != "" && md5sum != part.MD5) || (crc != "" && part.CRC32C != "" && crc != part.CRC32C) {
		return fmt.Errorf("%w: x-goog-hash changed", errStale)
	}
	if part.Length < 0 && total >= 0 {
		part.Length = total
		if err := writeMeta(d.part+".meta", part); err != nil {
			return err
		}
	}
	if part.Length > d.opts.MaxDownload {
		d.discard()
		return fmt.Errorf("GET %s: the export is %d bytes, more than the limit of %d", d.url, part.Length, d.opts.MaxDownload)
	}
	f, err := os.OpenFile(d.part, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	d.res.Resumed = true
	return d.write(f, resp.Body, have)
}

// write copies body to f, which holds have bytes, and closes f. Over
// MaxDownload it deletes the part; on a read error it keeps it, to be
// resumed.
func (d *download) write(f *os.File, body io.Reader, have int64) error {
	n, err := io.Copy(f, io.LimitReader(body, d.opts.MaxDownload-have+1))
	d.res.Downloaded += n
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if have+n > d.opts.MaxDownload {
		d.discard()
		return fmt.Errorf("GET %s: more than the limit of %d bytes", d.url, d.opts.MaxDownload)
	}
	if err != nil {
		return fmt.Errorf("GET %s: download interrupted after %d bytes (the next update resumes it): %w", d.url, have+n, err)
	}
	return nil
}

// contentRange parses "bytes first-last/total" (total may be "*", -1).
func contentRange(s string) (first, total int64, err error) {
	bad := fmt.Errorf("Content-Range %.80q is not bytes first-last/total", s)
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, bad
	}
	span, size, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, bad
	}
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return 0, 0, bad
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, bad
	}
	total = -1
	if size != "*" {
		if total, err = strconv.ParseInt(size, 10, 64); err != nil || total <= last {
			return 0, 0, bad
		}
		if last != total-1 {
			return 0, 0, fmt.Errorf("Content-Range %.80q does not run to the end", s)
		}
	}
	return first, total, nil
}

// googHash returns the base64 md5 and crc32c values of the x-goog-hash
// headers ("crc32c=<base64>,md5=<base64>", in one header or several),
// checking their lengths; "" for those absent.
func googHash(h http.Header) (md5sum, crc string, err error) {
	for _, v := range h.Values("X-Goog-Hash") {
		for kv := range strings.SplitSeq(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
			var size int
			var dst *string
			switch k {
			case "md5":
				size, dst = md5.Size, &md5sum
			case "crc32c":
				size, dst = 4, &crc
			default:
				continue // other algorithms may come
			}
			if b, err := base64.StdEncoding.DecodeString(val); err != nil || len(b) != size {
				return "", "", fmt.Errorf("x-goog-hash %.80q: %s is not base64 of %d bytes", v, k, size)
			}
			*dst = val
		}
	}
	return md5sum, crc, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// verify checks the download at path against m, and that it is a ZIP
// archive.
func (d *download) verify(path string, m *meta) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if m.Length >= 0 && size != m.Length {
		return fmt.Errorf("%d bytes, the server said %d", size, m.Length)
	}
	if m.MD5 != "" || m.CRC32C != "" {
		md5h, crch := md5.New(), crc32.New(castagnoli)
		if _, err := io.Copy(io.MultiWriter(md5h, crch), f); err != nil {
			return err
		}
		if got := base64.StdEncoding.EncodeToString(md5h.Sum(nil)); m.MD5 != "" && got != m.MD5 {
			return fmt.Errorf("md5 is %s, the server's x-goog-hash says %s", got, m.MD5)
		}
		got := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crch.Sum32()))
		if m.CRC32C != "" && got != m.CRC32C {
			return fmt.Errorf("crc32c is %s, the server's x-goog-hash says %s", got, m.CRC32C)
		}
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return fmt.Errorf("not a ZIP archive: %w", err)
	}
	if m.MD5 != "" || m.CRC32C != "" {
		return nil
	}
	// No digest of the whole: check every member's CRC-32, within the
	// import's limits.
	lim := d.db.Limits
	if len(zr.File) > lim.Entries {
		return fmt.Errorf("%w: %d members, more than %d", ErrLimit, len(zr.File), lim.Entries)
	}
	var total int64
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("member %.64q: %w", zf.Name, err)
		}
		n, err := io.Copy(io.Discard, io.LimitReader(rc, lim.Bytes-total+1))
		rc.Close()
		total += n
		if total > lim.Bytes {
			return fmt.Errorf("%w: more than %d bytes", ErrLimit, lim.Bytes)
		}
		if err != nil {
			return fmt.Errorf("member %.64q: %w", zf.Name, err)
		}
	}
	return nil
}
