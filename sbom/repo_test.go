package sbom

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hallmark-dev/hallmark/inventory"
)

// TestRepoSBOMsValid writes SBOMs of this repository's own source tree and
// of its own binary, built here, in both formats, with licences, and
// validates them against the official schemas: the inputs the issue names,
// rather than hand-made inventories alone.
func TestRepoSBOMsValid(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/hallmark")
	}
	bin := filepath.Join(t.TempDir(), "hallmark")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "../cmd/hallmark")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build cmd/hallmark here: %v\n%s", err, out)
	}
	cdx := compileSchema(t, "bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json")
	spdx := compileSchema(t, "spdx-schema-2.3.json")
	for name, root := range map[string]string{"source tree": "..", "binary": bin} {
		inv, err := inventory.Walk(context.Background(), root, inventory.Options{Licenses: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(inv.Components) < 50 {
			t.Fatalf("%s: only %d components", name, len(inv.Components))
		}
		t.Run(name, func(t *testing.T) {
			doc, err := CycloneDX(inv, Options{ToolVersion: "test"})
			if err != nil {
				t.Fatal(err)
			}
			validate(t, cdx, doc)
			doc, err = SPDX(inv, Options{ToolVersion: "test"})
			if err != nil {
				t.Fatal(err)
			}
			validate(t, spdx, doc)
		})
	}
}
