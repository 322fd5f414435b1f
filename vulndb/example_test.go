package vulndb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

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
