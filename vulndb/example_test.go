package vulndb_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/hallmark-dev/hallmark/vulndb"
)

func Example() {
	dir, err := os.MkdirTemp("", "vulndb")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := vulndb.Open(filepath.Join(dir, "vuln.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	st, err := db.Import(ctx, "testdata/small", "example", func(err error) {
		fmt.Println("skipped a bad record")
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d added, %d skipped\n", st.Added, st.Skipped)
	groups, err := db.Group(ctx, "Go", "github.com/nanobox-io/golang-nanoauth")
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range groups {
		fmt.Println(g.ID, g.IDs)
	}
	// Output:
	// skipped a bad record
	// 5 added, 1 skipped
	// GO-2020-0004 [CVE-2020-36569 GHSA-hrm3-3xm6-x33h GO-2020-0004]
}

// ExampleDB_Update updates the database from a server laid out as the OSV
// bucket is (here a test server holding one export), twice: the second
// time the export has not changed.
func ExampleDB_Update() {
	var export bytes.Buffer
	zw := zip.NewWriter(&export)
	w, _ := zw.Create("GO-2020-0004.json")
	record, err := os.ReadFile("testdata/small/GO-2020-0004.json")
	if err != nil {
		log.Fatal(err)
	}
	w.Write(record)
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/Go/all.zip" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"1"`)
		http.ServeContent(w, r, "all.zip", time.Time{}, bytes.NewReader(export.Bytes()))
	}))
	defer srv.Close()

	dir, err := os.MkdirTemp("", "vulndb")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := vulndb.Open(filepath.Join(dir, "vuln.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	opts := vulndb.UpdateOptions{BaseURL: srv.URL, Ecosystems: []string{"Go"}}
	for range 2 {
		results, err := db.Update(context.Background(), opts)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range results {
			if r.NotModified {
				fmt.Printf("%s: up to date\n", r.Ecosystem)
				continue
			}
			fmt.Printf("%s: downloaded (%v), %d records added\n", r.Ecosystem, r.Downloaded > 0, r.Stats.Added)
		}
	}
	srcs, err := db.Status(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(srcs[0].Name, srcs[0].Count)
	// Output:
	// Go: downloaded (true), 1 records added
	// Go: up to date
	// osv:Go 1
}
