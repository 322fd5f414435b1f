package scan

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/osv"
	"github.com/hallmark-dev/hallmark/vulndb"
)

// goDBArchive is the Go vulnerability database the workspace keeps beside
// the repository.
const goDBArchive = "../../shared/data/go-vulndb-osv.tgz"

// goDB imports the Go vulnerability database into a temporary SQLite file
// and returns it with its parsed records, or skips tb if the archive is
// absent.
func goDB(tb testing.TB) (*vulndb.DB, []*osv.Record) {
	tb.Helper()
	f, err := os.Open(goDBArchive)
	if err != nil {
		tb.Skipf("Go vulnerability database not available: %v", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var recs []*osv.Record
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
		if r, err := osv.Parse(data); err == nil {
			recs = append(recs, r)
		}
	}
	db, err := vulndb.Open(filepath.Join(tb.TempDir(), "vuln.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Import(context.Background(), goDBArchive, "go", nil); err != nil {
		tb.Fatal(err)
	}
	return db, recs
}

// goInventory is n Go modules named by the database, each at v0.1.0 (or
// vN.1.0 for major version N),
// plus the standard library at 1.20.0.
func goInventory(recs []*osv.Record, n int) *inventory.Inventory {
	var names []string
	for _, r := range recs {
		for _, a := range r.Affected {
			if a.Package.Ecosystem == "Go" && a.Package.Name != "stdlib" && a.Package.Name != "toolchain" && !slices.Contains(names, a.Package.Name) {
				names = append(names, a.Package.Name)
			}
		}
	}
	slices.Sort(names)
	inv := &inventory.Inventory{Subject: inventory.Component{Ecosystem: inventory.Go, Name: "example.com/bench", Locations: []string{"go.mod"}}}
	for i := 0; i < n && i < len(names); i++ {
		// Spread over the sorted names rather than take the first n.
		name := names[i*len(names)/n]
		inv.Components = append(inv.Components, goMod(name, minorVersion(name)))
	}
	inv.Components = append(inv.Components, inventory.Component{Ecosystem: inventory.Go, Name: "stdlib", Version: "1.20.0", PURL: "pkg:golang/stdlib@1.20.0"})
	slices.SortFunc(inv.Components, func(a, b inventory.Component) int { return strings.Compare(a.PURL, b.PURL) })
	inv.Components = slices.CompactFunc(inv.Components, func(a, b inventory.Component) bool { return a.PURL == b.PURL })
	return inv
}

// minorVersion is v0.1.0, or vN.1.0 for a module path of major version N
// ("/vN" or gopkg.in ".vN" suffix), so that the go command accepts it.
func minorVersion(path string) string {
	major := ""
	if i := strings.LastIndex(path, "/v"); i >= 0 && isDigits(path[i+2:]) {
		major = path[i+2:]
	} else if i := strings.LastIndex(path, ".v"); strings.HasPrefix(path, "gopkg.in/") && i >= 0 && isDigits(path[i+2:]) {
		major = path[i+2:]
	}
	if major == "" || major == "0" || major == "1" {
		return "v0.1.0"
	}
	return "v" + major + ".1.0"
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func TestGoDB(t *testing.T) {
	db, recs := goDB(t)
	inv := &inventory.Inventory{Components: []inventory.Component{
		goMod("golang.org/x/text", "v0.3.5"),
		{Ecosystem: inventory.Go, Name: "stdlib", Version: "go1.20", PURL: "pkg:golang/stdlib@go1.20"},
	}}
	rep, err := Scan(context.Background(), db, inv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text *Finding
	stdlib := 0
	for i, f := range rep.Findings {
		switch f.Package.Name {
		case "golang.org/x/text":
			if f.ID == "GO-2021-0113" {
				text = &rep.Findings[i]
			}
		case "stdlib":
			stdlib++
		}
	}
	if text == nil {
		t.Fatalf("no GO-2021-0113 for golang.org/x/text v0.3.5 in %d findings", len(rep.Findings))
	}
	if text.Fixed != "v0.3.7" || !slices.Contains(text.Aliases, "CVE-2021-38561") || !slices.Contains(text.Aliases, "GHSA-ppp9-7jff-5vj2") {
		t.Errorf("GO-2021-0113: %s", dump(text))
	}
	if stdlib < 10 {
		t.Errorf("%d findings for go1.20's standard library, want many", stdlib)
	}
	// A sample of the benchmark's inventory scans the same with 1 and many workers.
	inv = goInventory(recs, 300)
	one, err := Scan(context.Background(), db, inv, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	many, err := Scan(context.Background(), db, inv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if dump(one) != dump(many) {
		t.Error("scans with 1 and GOMAXPROCS workers differ")
	}
	t.Logf("%d components, %d findings, %d warnings", many.Components, len(many.Findings), len(many.Warnings))
}

func BenchmarkScanGoDB(b *testing.B) {
	db, recs := goDB(b)
	inv := goInventory(recs, 300)
	for _, workers := range []int{1, 0} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				if _, err := Scan(context.Background(), db, inv, Options{Workers: workers}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
