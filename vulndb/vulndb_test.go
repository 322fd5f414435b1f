package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/osv"
)

func openTemp(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "vuln.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rec returns an OSV record affecting pkgs, each "ecosystem/name".
func rec(id, modified string, withdrawn bool, aliases []string, pkgs ...string) []byte {
	r := map[string]any{"schema_version": "1.6.0", "id": id, "modified": modified}
	if withdrawn {
		r["withdrawn"] = modified
	}
	if aliases != nil {
		r["aliases"] = aliases
	}
	var affected []any
	for _, p := range pkgs {
		eco, name, _ := strings.Cut(p, "/")
		affected = append(affected, map[string]any{
			"package": map[string]any{"ecosystem": eco, "name": name},
			"ranges": []any{map[string]any{"type": "SEMVER", "events": []any{
				map[string]any{"introduced": "0"}, map[string]any{"fixed": "1.0.0"}}}},
		})
	}
	r["affected"] = affected
	data, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return data
}

type member struct {
	name string
	data []byte
}

// writeZip writes a ZIP archive of members and returns its path.
func writeZip(t testing.TB, members ...member) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "all.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dirMembers returns the files under dir as ZIP members.
func dirMembers(t testing.TB, dir string) []member {
	var ms []member
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		ms = append(ms, member{filepath.ToSlash(rel), data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// collect returns a warn callback appending to *errs.
func collect(errs *[]error) func(error) {
	return func(err error) { *errs = append(*errs, err) }
}

func ids(recs []*osv.Record) []string {
	s := []string{}
	for _, r := range recs {
		s = append(s, r.ID)
	}
	return s
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	const small = "testdata/small"
	for _, tc := range []struct {
		name, path, badFile, badMember string
	}{
		{"dir", small, filepath.Join(small, "nested", "PYSEC-2099-3.json"), ""},
		{"zip", "", "all.zip", "nested/PYSEC-2099-3.json"},
		{"file", filepath.Join(small, "GO-2020-0004.json"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if tc.name == "zip" {
				path = writeZip(t, dirMembers(t, small)...)
			}
			db := openTemp(t)
			var warns []error
			st, err := db.Import(ctx, path, "test", collect(&warns))
			if err != nil {
				t.Fatal(err)
			}
			want := Stats{Read: 5, Added: 5, Skipped: 1}
			if tc.name == "file" {
				want = Stats{Read: 1, Added: 1}
			}
			if d := diff(want, st); d != "" {
				t.Errorf("first import stats %s", d)
			}
			if tc.badFile != "" {
				if len(warns) != 1 {
					t.Fatalf("warnings = %v, want one", warns)
				}
				var re *RecordError
				if !errors.As(warns[0], &re) {
					t.Fatalf("warning %v is not a *RecordError", warns[0])
				}
				msg := warns[0].Error()
				if !strings.HasSuffix(re.File, tc.badFile) || re.Member != tc.badMember || re.ID != "PYSEC-2099-3" ||
					!strings.Contains(msg, tc.badFile) || !strings.Contains(msg, "PYSEC-2099-3:") {
					t.Errorf("warning %q (%+v) does not name file %s, member %q and id", msg, re, tc.badFile, tc.badMember)
				}
			}
			// Re-import: nothing changes.
			warns = nil
			st, err = db.Import(ctx, path, "test", collect(&warns))
			if err != nil {
				t.Fatal(err)
			}
			want.Unchanged, want.Added = want.Added, 0
			if d := diff(want, st); d != "" {
				t.Errorf("re-import stats %s", d)
			}
			srcs, err := db.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(srcs) != 1 || srcs[0].Name != "test" || srcs[0].Count != want.Read ||
				!strings.HasPrefix(srcs[0].Digest, "sha256:") || srcs[0].Imported.IsZero() {
				t.Errorf("Status() = %+v", srcs)
			}
			if tc.name == "file" {
				return
			}
			for _, lk := range []struct {
				eco, name string
				want      []string
			}{
				{"PyPI", "example", []string{"PYSEC-2099-1"}}, // PYSEC-2099-2 is withdrawn
				{"Go", "github.com/nanobox-io/golang-nanoauth", []string{"GHSA-hrm3-3xm6-x33h", "GO-2020-0004"}},
				{"Go", "golang.org/x/text", []string{"GO-2021-0113"}},
				{"go", "golang.org/x/text", []string{}},
				{"PyPI", "other", []string{}},
			} {
				recs, err := db.Lookup(ctx, lk.eco, lk.name)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(lk.want, ids(recs)); d != "" {
					t.Errorf("Lookup(%s, %s) %s", lk.eco, lk.name, d)
				}
			}
			groups, err := db.Group(ctx, "Go", "github.com/nanobox-io/golang-nanoauth")
			if err != nil {
				t.Fatal(err)
			}
			if len(groups) != 1 || groups[0].ID != "GO-2020-0004" || len(groups[0].Records) != 2 {
				t.Errorf("Group() = %+v, want one group GO-2020-0004 of two records", groups)
			}
		})
	}
}

func TestModified(t *testing.T) {
	ctx := context.Background()
	const stored = "2024-05-01T10:00:00Z"
	for _, tc := range []struct {
		name, modified string
		want           Stats
		replaced       bool
	}{
		{"older", "2024-05-01T09:59:59.999Z", Stats{Read: 1, Unchanged: 1}, false},
		{"same", stored, Stats{Read: 1, Unchanged: 1}, false},
		{"same-other-zone", "2024-05-01T12:00:00+02:00", Stats{Read: 1, Unchanged: 1}, false},
		{"newer", "2024-05-01T10:00:00.000001Z", Stats{Read: 1, Replaced: 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t)
			first := writeZip(t, member{"A-1.json", rec("A-1", stored, false, []string{"CVE-1"}, "npm/left")})
			if _, err := db.Import(ctx, first, "one", nil); err != nil {
				t.Fatal(err)
			}
			second := writeZip(t, member{"A-1.json", rec("A-1", tc.modified, false, []string{"CVE-2"}, "npm/right")})
			st, err := db.Import(ctx, second, "two", nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(tc.want, st); d != "" {
				t.Errorf("stats %s", d)
			}
			left, _ := db.Lookup(ctx, "npm", "left")
			right, _ := db.Lookup(ctx, "npm", "right")
			if got := len(right) == 1 && len(left) == 0; got != tc.replaced {
				t.Errorf("left %v, right %v: replaced = %v, want %v", ids(left), ids(right), !tc.replaced, tc.replaced)
			}
			al, err := db.Aliases(ctx, "CVE-2")
			if err != nil {
				t.Fatal(err)
			}
			if got := len(al) == 1; got != tc.replaced {
				t.Errorf("Aliases(CVE-2) = %v, replaced %v", ids(al), tc.replaced)
			}
			srcs, _ := db.Status(ctx)
			counts := map[string]int{}
			for _, s := range srcs {
				counts[s.Name] = s.Count
			}
			want := map[string]int{"one": 1, "two": 0}
			if tc.replaced {
				want = map[string]int{"one": 0, "two": 1}
			}
			if d := diff(want, counts); d != "" {
				t.Errorf("source counts %s", d)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	good := member{"A-1.json", rec("A-1", "2024-01-01T00:00:00Z", false, nil, "npm/x")}
	zeros := make([]byte, 4<<20) // compresses to a few KiB
	var lying bytes.Buffer       // a member whose header declares 10 bytes
	{
		zw := zip.NewWriter(&lying)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "B-1.json", Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(zeros)
		zw.Close()
	}
	lyingZip := patchSizes(t, lying.Bytes(), 10)

	for _, tc := range []struct {
		name    string
		path    string
		limits  Limits
		wantErr error
		warns   int
		stored  int
	}{
		{"too-large-member", writeZip(t, good, member{"B-1.json", zeros}), DefaultLimits, nil, 1, 1},
		{"lying-size", lyingZip, DefaultLimits, nil, 1, 0},
		{"absurd-name", writeZip(t, good, member{strings.Repeat("a", 2000) + ".json", good.data}), DefaultLimits, nil, 1, 1},
		{"not-json-ignored", writeZip(t, good, member{"README", []byte("hi")}, member{"dir/", nil}), DefaultLimits, nil, 0, 1},
		{"members", writeZip(t, good, good, good), Limits{Entries: 2, Bytes: 1 << 20}, ErrLimit, 0, 0},
		{"bytes", writeZip(t, good, member{"C-1.json", good.data}, member{"D-1.json", good.data}), Limits{Entries: 10, Bytes: int64(2*len(good.data) + 1)}, ErrLimit, 0, 0},
		{"dir-entries", "testdata/small", Limits{Entries: 3, Bytes: 1 << 20}, ErrLimit, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t)
			db.Limits = tc.limits
			var warns []error
			_, err := db.Import(ctx, tc.path, "test", collect(&warns))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Import() error = %v, want %v", err, tc.wantErr)
			}
			for _, w := range warns {
				t.Log(w)
			}
			if len(warns) != tc.warns {
				t.Errorf("warnings = %v, want %d", warns, tc.warns)
			}
			recs, _ := db.Lookup(ctx, "npm", "x")
			if len(recs) != tc.stored {
				t.Errorf("Lookup found %d records, want %d (atomic import)", len(recs), tc.stored)
			}
			if tc.wantErr != nil {
				if srcs, _ := db.Status(ctx); len(srcs) != 0 {
					t.Errorf("failed import left sources %v", srcs)
				}
			}
		})
	}
}

// patchSizes rewrites the uncompressed sizes of the only member of a ZIP
// archive, in its data descriptor and central directory, to n.
func patchSizes(t *testing.T, data []byte, n uint32) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	real := uint32(zr.File[0].UncompressedSize64)
	var old, new [4]byte
	le := func(b *[4]byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }
	le(&old, real)
	le(&new, n)
	data = bytes.ReplaceAll(data, old[:], new[:])
	zr, err = zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || zr.File[0].UncompressedSize64 != uint64(n) {
		t.Fatalf("patching sizes: %v", err)
	}
	p := filepath.Join(t.TempDir(), "lying.zip")
	os.WriteFile(p, data, 0o644)
	return p
}

func TestCancel(t *testing.T) {
	db := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Import(ctx, "testdata/small", "test", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Import() error = %v, want context.Canceled", err)
	}
	if recs, _ := db.Lookup(context.Background(), "Go", "golang.org/x/text"); len(recs) != 0 {
		t.Errorf("cancelled import stored %v", ids(recs))
	}
}

// TestCancelMidImport cancels an import from its warn callback, after
// records were written: none of them may be committed.
func TestCancelMidImport(t *testing.T) {
	db := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := db.Import(ctx, "testdata/small", "test", func(error) { cancel() }); err == nil {
		t.Fatal("Import() succeeded after cancellation")
	}
	for _, p := range [][2]string{{"Go", "golang.org/x/text"}, {"PyPI", "example"}} {
		if recs, _ := db.Lookup(context.Background(), p[0], p[1]); len(recs) != 0 {
			t.Errorf("cancelled import stored %v", ids(recs))
		}
	}
	if srcs, _ := db.Status(context.Background()); len(srcs) != 0 {
		t.Errorf("cancelled import left sources %v", srcs)
	}
}

// TestLookupBruteForce compares Lookup with a scan over random records.
func TestLookupBruteForce(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var pkgs []string
	for _, eco := range []string{"Go", "npm", "PyPI", "Debian:12"} {
		for i := range 6 {
			pkgs = append(pkgs, fmt.Sprintf("%s/p%d", eco, i))
		}
	}
	var members []member
	var recs []*osv.Record
	for i := range 300 {
		var ps []string
		for range rng.IntN(4) {
			ps = append(ps, pkgs[rng.IntN(len(pkgs))])
		}
		id := fmt.Sprintf("X-%d", rng.IntN(250)) // some duplicate ids
		mod := fmt.Sprintf("2024-01-%02dT00:00:00Z", 1+rng.IntN(28))
		data := rec(id, mod, rng.IntN(8) == 0, nil, ps...)
		members = append(members, member{fmt.Sprintf("%03d.json", i), data})
		r, err := osv.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	db := openTemp(t)
	if _, err := db.Import(ctx, writeZip(t, members...), "rand", nil); err != nil {
		t.Fatal(err)
	}
	// Brute force: per id, the first record with the latest modified.
	latest := map[string]*osv.Record{}
	for _, r := range recs {
		if old, ok := latest[r.ID]; !ok || r.Modified.After(old.Modified) {
			latest[r.ID] = r
		}
	}
	for _, p := range pkgs {
		eco, name, _ := strings.Cut(p, "/")
		want := []string{}
		for id, r := range latest {
			if r.Withdrawn() {
				continue
			}
			if slices.ContainsFunc(r.Affected, func(a osv.Affected) bool {
				return a.Package.Ecosystem == eco && a.Package.Name == name
			}) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		got, err := db.Lookup(ctx, eco, name)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(want, ids(got)); d != "" {
			t.Errorf("Lookup(%s, %s) %s", eco, name, d)
		}
	}
}

// TestLookupPlan checks that Lookup reads through the package index.
func TestLookupPlan(t *testing.T) {
	db := openTemp(t)
	rows, err := db.r.Query(`EXPLAIN QUERY PLAN SELECT r.id, r.json FROM records r
		WHERE r.withdrawn IS NULL AND r.id IN
			(SELECT a.id FROM affected a WHERE a.ecosystem = ? AND a.name = ?)
		ORDER BY r.id`, "Go", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	joined := strings.Join(plan, "\n")
	if !strings.Contains(joined, "affected_by_package") || strings.Contains(joined, "SCAN r") || strings.Contains(joined, "SCAN a") {
		t.Errorf("query plan does not use the package index:\n%s", joined)
	}
}

func FuzzImportZip(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("A-1.json")
	w.Write(rec("A-1", "2024-01-01T00:00:00Z", false, []string{"CVE-1"}, "npm/x"))
	zw.Close()
	f.Add(buf.Bytes())
	f.Add(rec("A-1", "2024-01-01T00:00:00Z", false, nil, "npm/x"))
	db := openTemp(f)
	db.Limits = Limits{Entries: 100, Bytes: 4 << 20}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := db.Import(context.Background(), p, "fuzz", func(err error) {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Errorf("warning %v is not a *RecordError", err)
			}
		})
		if err == nil && st.Read != st.Added+st.Replaced+st.Unchanged {
			t.Errorf("stats %+v do not add up", st)
		}
	})
}

// diff describes how got differs from want, "" if they are equal (go-cmp
// is not a dependency of the module).
func diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	return fmt.Sprintf("got %+v, want %+v", got, want)
}

// TestOpenDuringImport checks that opening a database while another
// connection holds the write lock (an import in progress) neither waits for
// it nor fails, and that the reader sees the last committed state.
func TestOpenDuringImport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vuln.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.w.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	start := time.Now()
	db2, err := Open(path)
	if err != nil {
		t.Fatalf("Open during an import: %v", err)
	}
	defer db2.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open during an import took %v", d)
	}
	if _, err := db2.Lookup(context.Background(), "Go", "example.com/m"); err != nil {
		t.Errorf("Lookup during an import: %v", err)
	}
}
