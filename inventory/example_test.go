package inventory_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hallmark-dev/hallmark/inventory"
)

// Walk a Go source tree: the main module is the subject, each require and
// the toolchain's standard library a component, identified by its PURL.
func ExampleWalk() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	gomod := `module example.com/app

go 1.22.0

toolchain go1.22.5

require (
	golang.org/x/mod v0.20.0
	golang.org/x/text v0.16.0 // indirect
)
`
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		log.Fatal(err)
	}

	inv, err := inventory.Walk(context.Background(), dir, inventory.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("subject:", inv.Subject.PURL)
	for _, c := range inv.Components {
		fmt.Printf("%s %s %s %s\n", c.Ecosystem, c.Name, c.Version, c.Scope)
	}
	// Output:
	// subject: pkg:golang/example.com/app
	// Go golang.org/x/mod v0.20.0 direct
	// Go golang.org/x/text v0.16.0 indirect
}
