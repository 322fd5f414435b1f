package vulndb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/osv"
)

// tarMember is a tar member: a header (Size is set from data for regular
// files) and data.
type tarMember struct {
	hdr  tar.Header
	data []byte
}

func regular(name string, data []byte) tarMember {
	return tarMember{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}, data}
}

// tarBytes returns a tar archive of members.
func tarBytes(t testing.TB, members ...tarMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := m.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(m.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testTar is an archive laid out as the Go vulnerability database's: a
// directory, records, a member that is not JSON, a bad record, a
// symbolic link and a record too large.
func testTar(t testing.TB) []byte {
	return tarBytes(t,
		tarMember{tar.Header{Name: "data/osv/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		regular("data/osv/A-1.json", rec("A-1", "2024-01-01T00:00:00Z", false, []string{"CVE-1"}, "Go/example.com/a")),
		regular("data/README.md", []byte("# not a record")),
		regular("data/osv/BAD-1.json", []byte(`{"id": "BAD-1", "modified": "yesterday"}`)),
		tarMember{tar.Header{Name: "data/osv/LINK.json", Typeflag: tar.TypeSymlink, Linkname: "A-1.json"}, nil},
		regular("data/osv/HUGE.json", make([]byte, osv.MaxSize+1)),
		regular("data/osv/B-1.json", rec("B-1", "2024-01-01T00:00:00Z", false, nil, "Go/example.com/a", "npm/b")),
	)
}

func TestImportTar(t *testing.T) {
	ctx := context.Background()
	archive := testTar(t)
	long := strings.Repeat("n", 2000) + ".json" // a PAX path
	for _, tc := range []struct {
		name    string
		data    []byte
		want    Stats
		members []string // of the warnings, in order
	}{
		{"tgz", gzipBytes(t, archive), Stats{Read: 2, Added: 2, Skipped: 2}, []string{"data/osv/BAD-1.json", "data/osv/HUGE.json"}},
		{"tar", archive, Stats{Read: 2, Added: 2, Skipped: 2}, []string{"data/osv/BAD-1.json", "data/osv/HUGE.json"}},
		{"long-name", gzipBytes(t, tarBytes(t, regular(long, rec("A-1", "2024-01-01T00:00:00Z", false, nil, "Go/example.com/a")),
			regular("B-1.json", rec("B-1", "2024-01-01T00:00:00Z", false, nil, "Go/example.com/a")))),
			Stats{Read: 1, Added: 1, Skipped: 1}, []string{`"` + strings.Repeat("n", 64) + `"...`}},
		{"json.gz", gzipBytes(t, rec("A-1", "2024-01-01T00:00:00Z", false, nil, "Go/example.com/a")), Stats{Read: 1, Added: 1}, nil},
		{"empty-tgz", gzipBytes(t, tarBytes(t)), Stats{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "in", tc.data)
			db := openTemp(t)
			var warns []error
			st, err := db.Import(ctx, path, "test", collect(&warns))
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(tc.want, st); d != "" {
				t.Errorf("stats %s", d)
			}
			var members []string
			for _, w := range warns {
				var re *RecordError
				if !errors.As(w, &re) || re.File != path || !strings.Contains(w.Error(), path) {
					t.Errorf("warning %v is not a *RecordError naming %s", w, path)
					continue
				}
				members = append(members, re.Member)
			}
			if len(members) != len(tc.members) {
				t.Fatalf("warnings %v, want for members %q", warns, tc.members)
			}
			for i, m := range tc.members {
				if !strings.HasPrefix(members[i], m) || !strings.Contains(warns[i].Error(), m) {
					t.Errorf("warning %v does not name member %s", warns[i], m)
				}
			}
			if st.Read == 0 {
				return
			}
			recs, err := db.Lookup(ctx, "Go", "example.com/a")
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != st.Read {
				t.Errorf("Lookup(Go, example.com/a) = %v", ids(recs))
			}
			// Re-import: nothing changes, the same digest.
			srcs, _ := db.Status(ctx)
			st, err = db.Import(ctx, path, "test", nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Unchanged != tc.want.Added || st.Added != 0 {
				t.Errorf("re-import stats %+v", st)
			}
			again, _ := db.Status(ctx)
			if len(srcs) != 1 || len(again) != 1 || srcs[0].Digest != again[0].Digest {
				t.Errorf("digests %v and %v differ", srcs, again)
			}
		})
	}
}

// TestImportTarErrors checks that a damaged or oversized stream fails the
// import as a whole, naming the archive and, where there is one, the member.
func TestImportTarErrors(t *testing.T) {
	ctx := context.Background()
	archive := testTar(t)
	tgz := gzipBytes(t, archive)
	badCRC := bytes.Clone(tgz)
	badCRC[len(badCRC)-8] ^= 0xff // the trailer's CRC-32
	// A tar cut inside B-1.json's data, in a sound gzip stream.
	cut := bytes.Index(archive, []byte(`"B-1"`))
	// The checksum of the header after A-1.json's spoiled.
	badHeader := bytes.Clone(archive)
	badHeader[bytes.Index(archive, []byte("data/README.md"))+148] ^= 0x01
	jsonGz := gzipBytes(t, rec("A-1", "2024-01-01T00:00:00Z", false, nil, "Go/example.com/a"))
	jsonGz[len(jsonGz)-8] ^= 0xff
	for _, tc := range []struct {
		name    string
		data    []byte
		limits  Limits
		want    error    // errors.Is, if not nil
		mention []string // in the message
	}{
		{"gzip-truncated", tgz[:len(tgz)/2], DefaultLimits, nil, []string{"unexpected EOF"}},
		{"gzip-trailer-cut", tgz[:len(tgz)-4], DefaultLimits, nil, []string{"after the end of the tar archive", "unexpected EOF"}},
		{"gzip-bad-crc", badCRC, DefaultLimits, gzip.ErrChecksum, []string{"gzip: invalid checksum"}},
		{"tar-truncated-in-member", gzipBytes(t, archive[:cut]), DefaultLimits, nil, []string{"data/osv/B-1.json: unexpected EOF"}},
		{"tar-bad-header", gzipBytes(t, badHeader), DefaultLimits, nil, []string{"member after data/osv/A-1.json", "invalid tar header"}},
		{"entries", tgz, Limits{Entries: 4, Bytes: 1 << 30}, ErrLimit, []string{"more than 4 entries"}},
		{"bytes", tgz, Limits{Entries: 100, Bytes: 1 << 20}, ErrLimit, []string{"more than 1048576 bytes"}},
		{"plain-tar-truncated", archive[:cut], DefaultLimits, nil, []string{"data/osv/B-1.json: unexpected EOF"}},
		{"json.gz-bad-crc", jsonGz, DefaultLimits, gzip.ErrChecksum, []string{"gzip: invalid checksum"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "export.tgz", tc.data)
			db := openTemp(t)
			db.Limits = tc.limits
			_, err := db.Import(ctx, path, "test", nil)
			if err == nil {
				t.Fatal("Import() succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Import() error = %v, want %v", err, tc.want)
			}
			for _, m := range append([]string{"vulndb: import " + path + ": "}, tc.mention...) {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("Import() error %q does not say %q", err, m)
				}
			}
			if recs, _ := db.Lookup(ctx, "Go", "example.com/a"); len(recs) != 0 {
				t.Errorf("failed import stored %v", ids(recs))
			}
			if srcs, _ := db.Status(ctx); len(srcs) != 0 {
				t.Errorf("failed import left sources %v", srcs)
			}
		})
	}
}

func TestIsTarHeader(t *testing.T) {
	archive := tarBytes(t, regular("a.json", []byte("{}")))
	gnu := tarBytes(t, tarMember{tar.Header{Name: "a.json", Typeflag: tar.TypeReg, Format: tar.FormatGNU}, nil})
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"ustar", archive, true},
		{"gnu", gnu, true},
		{"zeros", make([]byte, tarBlock), true},
		{"short", archive[:tarBlock-1], false},
		{"json", bytes.Repeat([]byte(`{"id": "A-1"}    `), 64), false},
		{"bad-checksum", append([]byte{archive[0] ^ 1}, archive[1:]...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isTarHeader(tc.b); got != tc.want {
				t.Errorf("isTarHeader() = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzReadTar fuzzes the reading of tar archives, plain or
// gzip-compressed (and of whatever else the bytes turn out to be), without
// the database: the instrumented SQLite would make each run take seconds.
func FuzzReadTar(f *testing.F) {
	small := tarBytes(f,
		tarMember{tar.Header{Name: "d/", Typeflag: tar.TypeDir}, nil},
		regular("d/A-1.json", rec("A-1", "2024-01-01T00:00:00Z", false, []string{"CVE-1"}, "npm/x")),
		regular("d/B-1.json", []byte(`{"id": "B-1"}`)),
		regular("README", []byte("hi")),
	)
	f.Add(small, true)
	f.Add(small, false)
	f.Add(gzipBytes(f, small), false)
	f.Add(rec("A-1", "2024-01-01T00:00:00Z", false, nil, "npm/x"), true)
	dir := f.TempDir()
	limits := Limits{Entries: 100, Bytes: 4 << 20}
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		if compress {
			data = gzipBytes(t, data)
		}
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		in := &input{limits: limits, digest: sha256.New()}
		records := 0
		err := in.each(context.Background(), p, func(file, member string, data []byte) error {
			records++
			if file != p || len(data) > osv.MaxSize || len(member) > maxNameLen || strings.IndexByte(member, 0) >= 0 {
				t.Errorf("record %q of %s: %d bytes", member, file, len(data))
			}
			return nil
		}, func(re *RecordError) error {
			records++
			if re.File != p || re.Err == nil {
				t.Errorf("bad record %+v", re)
			}
			return nil
		})
		if err == nil && (in.entries > limits.Entries || in.bytes > limits.Bytes || records > max(in.entries, 1)) {
			t.Errorf("%d records of %d entries, %d bytes, over the limits %+v", records, in.entries, in.bytes, limits)
		}
	})
}

func FuzzImportTar(f *testing.F) {
	f.Add(tarBytes(f, regular("A-1.json", rec("A-1", "2024-01-01T00:00:00Z", false, nil, "npm/x")), regular("B-1.json", []byte("{}"))), true)
	f.Add(rec("A-1", "2024-01-01T00:00:00Z", false, nil, "npm/x"), true)
	db := openTemp(f)
	db.Limits = Limits{Entries: 100, Bytes: 4 << 20}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		if compress {
			data = gzipBytes(t, data)
		}
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		before, err := db.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st, err := db.Import(context.Background(), p, "fuzz", func(err error) {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Errorf("warning %v is not a *RecordError", err)
			}
		})
		if err != nil {
			if after, _ := db.Status(context.Background()); diff(before, after) != "" {
				t.Errorf("failed import changed the sources: %v, then %v", before, after)
			}
			return
		}
		if st.Read != st.Added+st.Replaced+st.Unchanged {
			t.Errorf("stats %+v do not add up", st)
		}
	})
}
