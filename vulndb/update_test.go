package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// osvServer serves exports as the OSV bucket does: ETag, Last-Modified,
// x-goog-hash, and Range, If-Range, If-None-Match through
// http.ServeContent.
type osvServer struct {
	*httptest.Server
	mu       sync.Mutex
	exports  map[string][]byte // by ecosystem
	requests []http.Header     // of each request, with "Request-Uri" set
	// What the next responses do wrong.
	dropOnce bool   // send half of the body, then drop the connection
	corrupt  bool   // flip a byte of the body, keeping the hashes of the original
	hash     string // x-goog-hash: "" both, "none", "crc32c" only, or a value to send
	stream   int64  // send this many bytes without Content-Length instead
}

func newOSVServer(t *testing.T) *osvServer {
	s := &osvServer{exports: map[string][]byte{}}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

var modtime = time.Date(2026, 8, 21, 20, 38, 0, 0, time.UTC)

func (s *osvServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := r.Header.Clone()
	h.Set("Request-Uri", r.RequestURI)
	s.requests = append(s.requests, h)
	eco, _ := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/all.zip")
	data, ok := s.exports[eco]
	drop := s.dropOnce
	s.dropOnce = false
	corrupt, hash, stream := s.corrupt, s.hash, s.stream
	s.mu.Unlock()
	if stream > 0 {
		w.WriteHeader(http.StatusOK)
		chunk := make([]byte, 4096)
		for n := int64(0); n < stream; n += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(data)
	w.Header().Set("ETag", fmt.Sprintf(`"%x"`, sum[:8]))
	m := md5.Sum(data)
	crc := binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, castagnoli))
	switch hash {
	case "":
		w.Header().Add("X-Goog-Hash", "crc32c="+base64.StdEncoding.EncodeToString(crc))
		w.Header().Add("X-Goog-Hash", "md5="+base64.StdEncoding.EncodeToString(m[:]))
	case "crc32c":
		w.Header().Set("X-Goog-Hash", "crc32c="+base64.StdEncoding.EncodeToString(crc))
	case "none":
	default:
		w.Header().Set("X-Goog-Hash", hash)
	}
	if corrupt {
		data = bytes.Clone(data)
		data[len(data)/2] ^= 0x55
	}
	if drop {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	http.ServeContent(w, r, "all.zip", modtime, bytes.NewReader(data))
}

func (s *osvServer) set(f func(s *osvServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// take returns and forgets the requests seen.
func (s *osvServer) take() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

func (s *osvServer) etag(eco string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(s.exports[eco])
	return fmt.Sprintf(`"%x"`, sum[:8])
}

// smallExport is testdata/small as a ZIP archive: 5 records, 1 bad.
func smallExport(t testing.TB, extra ...member) []byte {
	data, err := os.ReadFile(writeZip(t, append(dirMembers(t, "testdata/small"), extra...)...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func cacheFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	srv := newOSVServer(t)
	export := smallExport(t)
	srv.exports["Go"] = export
	db := openTemp(t)
	cache := t.TempDir()
	var warns []error
	opts := UpdateOptions{BaseURL: srv.URL, Ecosystems: []string{"Go"}, CacheDir: cache, Warn: collect(&warns)}

	res, err := db.Update(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []UpdateResult{{Ecosystem: "Go", URL: srv.URL + "/Go/all.zip", Downloaded: int64(len(export)),
		Stats: Stats{Read: 5, Added: 5, Skipped: 1}}}
	if d := diff(want, res); d != "" {
		t.Errorf("first Update() %s", d)
	}
	var re *RecordError
	if len(warns) != 1 || !errors.As(warns[0], &re) || re.Member != "nested/PYSEC-2099-3.json" {
		t.Errorf("warnings %v, want one for the bad record", warns)
	}
	if d := diff([]string{"Go.zip", "Go.zip.meta"}, cacheFiles(t, cache)); d != "" {
		t.Errorf("cache files %s", d)
	}
	srcs, _ := db.Status(ctx)
	if len(srcs) != 1 || srcs[0].Name != "osv:Go" || srcs[0].Count != 5 {
		t.Errorf("Status() = %+v, want osv:Go with 5 records", srcs)
	}
	if reqs := srv.take(); len(reqs) != 1 || reqs[0].Get("If-None-Match") != "" || reqs[0].Get("Range") != "" {
		t.Errorf("first requests %v, want one unconditional", reqs)
	}

	// Unchanged: a conditional request, 304, nothing imported.
	warns = nil
	res, err = db.Update(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want = []UpdateResult{{Ecosystem: "Go", URL: srv.URL + "/Go/all.zip", NotModified: true}}
	if d := diff(want, res); d != "" {
		t.Errorf("second Update() %s", d)
	}
	reqs := srv.take()
	if len(reqs) != 1 || reqs[0].Get("If-None-Match") != srv.etag("Go") || reqs[0].Get("If-Modified-Since") != modtime.Format(http.TimeFormat) {
		t.Errorf("second requests %v, want one with If-None-Match %s", reqs, srv.etag("Go"))
	}
	if len(warns) != 0 {
		t.Errorf("second Update() warned %v", warns)
	}

	// Changed: downloaded and imported again, with the new record.
	export = smallExport(t, member{"NEW-1.json", rec("NEW-1", "2024-01-01T00:00:00Z", false, nil, "Go/example.com/new")})
	srv.set(func(s *osvServer) { s.exports["Go"] = export })
	res, err = db.Update(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want = []UpdateResult{{Ecosystem: "Go", URL: srv.URL + "/Go/all.zip", Downloaded: int64(len(export)),
		Stats: Stats{Read: 6, Added: 1, Unchanged: 5, Skipped: 1}}}
	if d := diff(want, res); d != "" {
		t.Errorf("third Update() %s", d)
	}
	if recs, _ := db.Lookup(ctx, "Go", "example.com/new"); len(recs) != 1 {
		t.Errorf("Lookup(example.com/new) = %v after the update", ids(recs))
	}
	srv.take()

	// No ecosystems given: those of the database's osv: sources.
	res, err = db.Update(ctx, UpdateOptions{BaseURL: srv.URL, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Ecosystem != "Go" || !res[0].NotModified {
		t.Errorf("Update() without ecosystems = %+v", res)
	}
	if reqs := srv.take(); len(reqs) != 1 || reqs[0].Get("Request-Uri") != "/Go/all.zip" {
		t.Errorf("requests %v, want one for Go", reqs)
	}
}

// TestUpdateCached checks that a cached download is imported into a
// database that does not hold it (a new one) after a 304, and downloaded
// again if it no longer verifies.
func TestUpdateCached(t *testing.T) {
	ctx := context.Background()
	srv := newOSVServer(t)
	export := smallExport(t)
	srv.exports["Go"] = export
	cache := t.TempDir()
	opts := UpdateOptions{BaseURL: srv.URL, Ecosystems: []string{"Go"}, CacheDir: cache}
	if _, err := openTemp(t).Update(ctx, opts); err != nil {
		t.Fatal(err)
	}
	srv.take()

	res, err := openTemp(t).Update(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []UpdateResult{{Ecosystem: "Go", URL: srv.URL + "/Go/all.zip", Stats: Stats{Read: 5, Added: 5, Skipped: 1}}}
	if d := diff(want, res); d != "" {
		t.Errorf("Update() of a new database %s", d)
	}
	if reqs := srv.take(); len(reqs) != 1 || reqs[0].Get("If-None-Match") == "" {
		t.Errorf("requests %v, want one conditional", reqs)
	}

	// The cached copy damaged: downloaded again.
	zipPath := filepath.Join(cache, "Go.zip")
	damaged := bytes.Clone(export)
	damaged[len(damaged)/2] ^= 1
	if err := os.WriteFile(zipPath, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	var warns []error
	opts.Warn = collect(&warns)
	res, err = openTemp(t).Update(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want[0].Downloaded = int64(len(export))
	if d := diff(want, res); d != "" {
		t.Errorf("Update() with a damaged cache %s", d)
	}
	if !slices.ContainsFunc(warns, func(err error) bool { return strings.Contains(err.Error(), "md5") }) {
		t.Errorf("warnings %v do not report the damaged cached copy", warns)
	}
	if got, _ := os.ReadFile(zipPath); !bytes.Equal(got, export) {
		t.Error("the damaged cached copy was not replaced")
	}
}

func TestUpdateResume(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change bool // the export changes between the two updates
	}{
		{"same", false},
		{"changed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newOSVServer(t)
			export := smallExport(t)
			srv.exports["Go"] = export
			srv.dropOnce = true
			db := openTemp(t)
			cache := t.TempDir()
			opts := UpdateOptions{BaseURL: srv.URL, Ecosystems: []string{"Go"}, CacheDir: cache}
			_, err := db.Update(ctx, opts)
			if err == nil {
				t.Fatal("Update() succeeded over a dropped connection")
			}
			for _, m := range []string{"vulndb: update Go: ", srv.URL + "/Go/all.zip", "interrupted"} {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Update() error %q does not say %q", err, m)
				}
			}
			if srcs, _ := db.Status(ctx); len(srcs) != 0 {
				t.Errorf("interrupted update imported %v", srcs)
			}
			fi, err := os.Stat(filepath.Join(cache, "Go.zip.part"))
			if err != nil || fi.Size() == 0 || fi.Size() >= int64(len(export)) {
				t.Fatalf("partial download: %v, %v", fi, err)
			}
			have := fi.Size()
			etag := srv.etag("Go")
			srv.take()

			wantDownloaded, wantStats := int64(len(export))-have, Stats{Read: 5, Added: 5, Skipped: 1}
			if tc.change {
				export = smallExport(t, member{"NEW-1.json", rec("NEW-1", "2024-01-01T00:00:00Z", false, nil, "Go/x")})
				srv.set(func(s *osvServer) { s.exports["Go"] = export })
				wantDownloaded, wantStats = int64(len(export)), Stats{Read: 6, Added: 6, Skipped: 1}
			}
			res, err := db.Update(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := []UpdateResult{{Ecosystem: "Go", URL: srv.URL + "/Go/all.zip", Downloaded: wantDownloaded,
				Resumed: !tc.change, Stats: wantStats}}
			if d := diff(want, res); d != "" {
				t.Errorf("resumed Update() %s", d)
			}
			reqs := srv.take()
			if len(reqs) != 1 || reqs[0].Get("Range") != fmt.Sprintf("bytes=%d-", have) || reqs[0].Get("If-Range") != etag {
				t.Errorf("requests %v, want one with Range bytes=%d- and If-Range %s", reqs, have, etag)
			}
			if d := diff([]string{"Go.zip", "Go.zip.meta"}, cacheFiles(t, cache)); d != "" {
				t.Errorf("cache files %s", d)
			}
			if got, _ := os.ReadFile(filepath.Join(cache, "Go.zip")); !bytes.Equal(got, export) {
				t.Error("the cached export differs from the server's")
			}
		})
	}
}

// TestUpdateRangeNotSatisfiable leaves a complete partial download: the
// server answers its Range with 416, and Update starts over.
func TestUpdateRangeNotSatisfiable(t *testing.T) {
	ctx := context.Background()
	srv := newOSVServer(t)
	export := smallExport(t)
	srv.exports["Go"] = export
	cache := t.TempDir()
	part := filepath.Join(cache, "Go.zip.part")
	if err := os.WriteFile(part, export, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeMeta(part+".meta", &meta{URL: srv.URL + "/Go/all.zip", ETag: srv.etag("Go"), Length: int64(len(export))}); err != nil {
		t.Fatal(err)
	}
	res, err := openTemp(t).Update(ctx, UpdateOptions{BaseURL: srv.URL, Ecosystems: []string{"Go"}, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	want := []UpdateResult{{Ecosystem: "Go", URL: srv.URL + "/Go/all.zip", Downloaded: int64(len(export)),
		Stats: Stats{Read: 5, Added: 5, Skipped: 1}}}
	if d := diff(want, res); d != "" {
		t.Errorf("Update() %s", d)
	}
	reqs := srv.take()
	if len(reqs) != 2 || reqs[0].Get("Range") != fmt.Sprintf("bytes=%d-", len(export)) || reqs[1].Get("Range") != "" {
		t.Errorf("requests %v, want one with Range, then one without", reqs)
	}
}

// storedZip is an export whose member is stored, not deflated, with a
// byte of its data flipped: its CRC-32 does not match.
func storedZip(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "A-1.json", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(rec("A-1", "2024-01-01T00:00:00Z", false, nil, "Go/x"))
	zw.Close()
	data := buf.Bytes()
	data[bytes.Index(data, []byte(`"A-1"`))+1] = 'B'
	return data
}

// TestUpdateVerify serves a good export, then bad ones: each fails,
// naming the URL and the mismatch, and leaves the database and the cached
// export as they were.
func TestUpdateVerify(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		export  []byte // nil: a good new export
		corrupt bool
		hash    string
		mention string
	}{
		{"md5", nil, true, "", "md5 is "},
		{"crc32c", nil, true, "crc32c", "crc32c is "},
		{"not-zip", []byte("<html>not found</html>"), false, "none", "not a ZIP archive"},
		{"member-crc", storedZip(t), false, "none", "checksum error"},
		{"bad-x-goog-hash", nil, false, "md5=!!!", "x-goog-hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newOSVServer(t)
			old := smallExport(t)
			srv.exports["Go"] = old
			db := openTemp(t)
			cache := t.TempDir()
			opts := UpdateOptions{BaseURL: srv.URL, Ecosystems: []string{"Go"}, CacheDir: cache}
			if _, err := db.Update(ctx, opts); err != nil {
				t.Fatal(err)
			}
			before, _ := db.Status(ctx)
			export := tc.export
			if export == nil {
				export = smallExport(t, member{"NEW-1.json", rec("NEW-1", "2024-01-01T00:00:00Z", false, nil, "Go/x")})
			}
			srv.set(func(s *osvServer) { s.exports["Go"], s.corrupt, s.hash = export, tc.corrupt, tc.hash })
			res, err := db.Update(ctx, opts)
			if err == nil {
				t.Fatalf("Update() = %+v, want an error", res)
			}
			for _, m := range []string{"vulndb: update Go: ", srv.URL + "/Go/all.zip", tc.mention} {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Update() error %q does not say %q", err, m)
				}
			}
			if after, _ := db.Status(ctx); diff(before, after) != "" {
				t.Errorf("sources %v became %v", before, after)
			}
			if recs, _ := db.Lookup(ctx, "Go", "x"); len(recs) != 0 {
				t.Errorf("failed update imported %v", ids(recs))
			}
			if d := diff([]string{"Go.zip", "Go.zip.meta"}, cacheFiles(t, cache)); d != "" {
				t.Errorf("cache files %s", d)
			}
			if got, _ := os.ReadFile(filepath.Join(cache, "Go.zip")); !bytes.Equal(got, old) {
				t.Error("the cached export changed")
			}
		})
	}
}

func TestUpdateErrors(t *testing.T) {
	ctx := context.Background()
	srv := newOSVServer(t)
	srv.exports["Go"] = smallExport(t)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		opts     UpdateOptions
		stream   int64
		mention  []string
		is       error
		results  []string // ecosystems updated nevertheless
		requests int
	}{
		{"not-found", ctx, UpdateOptions{Ecosystems: []string{"Maven", "Go"}},
			0, []string{"vulndb: update Maven: GET " + srv.URL + "/Maven/all.zip: 404 Not Found", `ecosystem "Maven"`}, nil, []string{"Go"}, 2},
		{"over-cap", ctx, UpdateOptions{Ecosystems: []string{"Go"}, MaxDownload: 100},
			0, []string{"vulndb: update Go: GET " + srv.URL + "/Go/all.zip: the export is", "more than the limit of 100"}, nil, nil, 1},
		{"over-cap-streamed", ctx, UpdateOptions{Ecosystems: []string{"Go"}, MaxDownload: 64 << 10},
			1 << 20, []string{"vulndb: update Go: GET " + srv.URL + "/Go/all.zip: more than the limit of 65536 bytes"}, nil, nil, 1},
		{"bad-ecosystem", ctx, UpdateOptions{Ecosystems: []string{"Go", "../etc"}},
			0, []string{`vulndb: update: ecosystem "../etc": not an OSV ecosystem name`}, nil, nil, 0},
		{"slash", ctx, UpdateOptions{Ecosystems: []string{"a/b"}}, 0, []string{`"a/b"`}, nil, nil, 0},
		{"bad-base-url", ctx, UpdateOptions{BaseURL: "file:///etc", Ecosystems: []string{"Go"}},
			0, []string{`vulndb: update: base URL "file:///etc" is not an http or https URL`}, nil, nil, 0},
		{"cancelled", cancelled, UpdateOptions{Ecosystems: []string{"Go", "npm"}},
			0, []string{"vulndb: update Go: "}, context.Canceled, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(func(s *osvServer) { s.stream = tc.stream })
			srv.take()
			db := openTemp(t)
			cache := t.TempDir()
			opts := tc.opts
			opts.CacheDir = cache
			if opts.BaseURL == "" {
				opts.BaseURL = srv.URL
			}
			res, err := db.Update(tc.ctx, opts)
			if err == nil {
				t.Fatal("Update() succeeded")
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Update() error %q does not say %q", err, m)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Update() error %v is not %v", err, tc.is)
			}
			var got []string
			for _, r := range res {
				got = append(got, r.Ecosystem)
			}
			if d := diff(tc.results, got); d != "" {
				t.Errorf("results %s", d)
			}
			if reqs := srv.take(); len(reqs) != tc.requests {
				t.Errorf("%d requests, want %d", len(reqs), tc.requests)
			}
			if tc.results == nil {
				if srcs, _ := db.Status(ctx); len(srcs) != 0 {
					t.Errorf("failed update imported %v", srcs)
				}
				for _, f := range cacheFiles(t, cache) {
					t.Errorf("failed update left %s", f)
				}
			}
		})
	}
}

// TestUpdateDefaults checks the default ecosystems, their URLs, and the
// default cache directory.
func TestUpdateDefaults(t *testing.T) {
	ctx := context.Background()
	srv := newOSVServer(t)
	for _, eco := range append(slices.Clone(DefaultEcosystems), "GitHub Actions") {
		srv.exports[eco] = smallExport(t)
	}
	path := filepath.Join(t.TempDir(), "vuln.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Update(ctx, UpdateOptions{BaseURL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.Ecosystem)
	}
	if d := diff(DefaultEcosystems, got); d != "" {
		t.Errorf("ecosystems updated %s", d)
	}
	if _, err := db.Update(ctx, UpdateOptions{BaseURL: srv.URL, Ecosystems: []string{"GitHub Actions"}}); err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range srv.take() {
		uris = append(uris, r.Get("Request-Uri"))
	}
	want := []string{"/Go/all.zip", "/npm/all.zip", "/PyPI/all.zip", "/crates.io/all.zip", "/GitHub%20Actions/all.zip"}
	if d := diff(want, uris); d != "" {
		t.Errorf("requests %s", d)
	}
	files := cacheFiles(t, path+".downloads")
	if !slices.Contains(files, "GitHub Actions.zip") || !slices.Contains(files, "crates.io.zip") {
		t.Errorf("cache %s.downloads holds %v", path, files)
	}
	// Now the database's sources name the ecosystems.
	res, err = db.Update(ctx, UpdateOptions{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, r := range res {
		if !r.NotModified {
			t.Errorf("result %+v, want not modified", r)
		}
		got = append(got, r.Ecosystem)
	}
	if d := diff([]string{"GitHub Actions", "Go", "PyPI", "crates.io", "npm"}, got); d != "" {
		t.Errorf("ecosystems of the sources %s", d)
	}
}

func TestContentRange(t *testing.T) {
	for _, tc := range []struct {
		in           string
		first, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 100-199/*", 100, -1, true},
		{"bytes 100-150/200", 0, 0, false}, // not to the end
		{"bytes 100-199/199", 0, 0, false},
		{"bytes 200-100/300", 0, 0, false},
		{"bytes -1-199/200", 0, 0, false},
		{"bytes */200", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"bytes 0-99999999999999999999/*", 0, 0, false},
		{"", 0, 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			first, total, err := contentRange(tc.in)
			if (err == nil) != tc.ok || first != tc.first || total != tc.total {
				t.Errorf("contentRange(%q) = %d, %d, %v; want %d, %d, ok %v", tc.in, first, total, err, tc.first, tc.total, tc.ok)
			}
		})
	}
}

func TestGoogHash(t *testing.T) {
	for _, tc := range []struct {
		name     string
		values   []string
		md5, crc string
		ok       bool
	}{
		{"one", []string{"crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ=="}, "Ojk9c3dhfxgoKVVHYwFbHQ==", "n03x6A==", true},
		{"two", []string{"crc32c=n03x6A==", " md5=Ojk9c3dhfxgoKVVHYwFbHQ=="}, "Ojk9c3dhfxgoKVVHYwFbHQ==", "n03x6A==", true},
		{"crc-only", []string{"crc32c=n03x6A=="}, "", "n03x6A==", true},
		{"other", []string{"sha256=abc"}, "", "", true},
		{"none", nil, "", "", true},
		{"short-md5", []string{"md5=n03x6A=="}, "", "", false},
		{"not-base64", []string{"crc32c=!!!!"}, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.values {
				h.Add("X-Goog-Hash", v)
			}
			md5sum, crc, err := googHash(h)
			if (err == nil) != tc.ok || md5sum != tc.md5 || crc != tc.crc {
				t.Errorf("googHash() = %q, %q, %v; want %q, %q, ok %v", md5sum, crc, err, tc.md5, tc.crc, tc.ok)
			}
		})
	}
}

func FuzzContentRange(f *testing.F) {
	f.Add("bytes 100-199/200")
	f.Add("bytes 0-0/*")
	f.Fuzz(func(t *testing.T, s string) {
		first, total, err := contentRange(s)
		if err == nil && (first < 0 || total != -1 && total <= first) {
			t.Errorf("contentRange(%q) = %d, %d", s, first, total)
		}
	})
}

func FuzzGoogHash(f *testing.F) {
	f.Add("crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ==")
	f.Fuzz(func(t *testing.T, s string) {
		md5sum, crc, err := googHash(http.Header{"X-Goog-Hash": {s}})
		if err != nil {
			return
		}
		if b, err := base64.StdEncoding.DecodeString(md5sum); md5sum != "" && (err != nil || len(b) != md5.Size) {
			t.Errorf("md5 %q accepted", md5sum)
		}
		if b, err := base64.StdEncoding.DecodeString(crc); crc != "" && (err != nil || len(b) != 4) {
			t.Errorf("crc32c %q accepted", crc)
		}
	})
}
