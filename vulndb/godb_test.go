package vulndb

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/osv"
)

// goDBRecords is the number of records in the archive of goDBArchive.
const goDBRecords = 4291

// goDBArchive returns the path of the Go vulnerability database's archive,
// data/go-vulndb-osv.tgz in the directory $HALLMARK_SHARED, else in
// ../../shared (the checkout's neighbour), or skips tb if it is absent.
func goDBArchive(tb testing.TB) string {
	tb.Helper()
	shared := os.Getenv("HALLMARK_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "shared")
	}
	p := filepath.Join(shared, "data", "go-vulndb-osv.tgz")
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("Go vulnerability database not available: %v", err)
	}
	return p
}

// goDB extracts the Go vulnerability database's records into a temporary
// directory, or skips tb if the archive is absent.
func goDB(tb testing.TB) string {
	tb.Helper()
	f, err := os.Open(goDBArchive(tb))
	if err != nil {
		tb.Skipf("Go vulnerability database not available: %v", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, osv.MaxSize+1))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(h.Name)), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestImportGoDB(t *testing.T) {
	dir := goDB(t)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*osv.Record
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if r, err := osv.Parse(data); err == nil {
			recs = append(recs, r)
		}
	}
	if len(ents) != goDBRecords {
		t.Errorf("the archive holds %d records, want %d", len(ents), goDBRecords)
	}
	for _, kind := range []string{"dir", "zip", "tgz"} {
		t.Run(kind, func(t *testing.T) {
			path := dir
			switch kind {
			case "zip":
				path = writeZip(t, dirMembers(t, dir)...)
			case "tgz":
				path = goDBArchive(t)
			}
			checkGoDB(t, path, len(ents), recs)
		})
	}
}

// checkGoDB imports path, holding files records of which recs parsed, and
// compares counts and lookups with recs.
func checkGoDB(t *testing.T, path string, files int, recs []*osv.Record) {
	ctx := context.Background()
	db := openTemp(t)
	start := time.Now()
	st, err := db.Import(ctx, path, "go", func(err error) { t.Log(err) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d records in %v: %+v", files, time.Since(start), st)
	ok := len(recs)
	if st.Read != ok || st.Added != ok || st.Skipped != files-ok {
		t.Errorf("stats %+v, want %d read and added, %d skipped", st, ok, files-ok)
	}
	srcs, err := db.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].Count != ok {
		t.Errorf("Status() = %+v, want one source with %d records", srcs, ok)
	}
	// Brute force over the parsed records, for every 7th package and stdlib.
	want := map[[2]string][]string{}
	for _, r := range recs {
		if r.Withdrawn() {
			continue
		}
		for _, a := range r.Affected {
			k := [2]string{a.Package.Ecosystem, a.Package.Name}
			if !slices.Contains(want[k], r.ID) {
				want[k] = append(want[k], r.ID)
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(want), func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	for i, k := range keys {
		if i%7 != 0 && k[1] != "stdlib" {
			continue
		}
		got, err := db.Lookup(ctx, k[0], k[1])
		if err != nil {
			t.Fatal(err)
		}
		w := want[k]
		slices.Sort(w)
		if d := diff(w, ids(got)); d != "" {
			t.Errorf("Lookup(%s, %s) %s", k[0], k[1], d)
		}
	}
}

// BenchmarkImportGoDB imports the Go vulnerability database from a
// directory, a ZIP archive and the .tgz as published, each into a new
// database.
func BenchmarkImportGoDB(b *testing.B) {
	dir := goDB(b)
	paths := map[string]string{"dir": dir, "zip": writeZip(b, dirMembers(b, dir)...), "tgz": goDBArchive(b)}
	for _, kind := range []string{"dir", "zip", "tgz"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db, err := Open(filepath.Join(b.TempDir(), "vuln.db"))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				st, err := db.Import(context.Background(), paths[kind], "go", nil)
				if err != nil {
					b.Fatal(err)
				}
				if st.Read+st.Skipped != goDBRecords {
					b.Fatalf("imported %+v, want %d records", st, goDBRecords)
				}
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
		})
	}
}
