package sbom_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/sbom"
)

func ExampleCycloneDX() {
	inv := &inventory.Inventory{
		Subject: inventory.Component{Ecosystem: inventory.Go, Name: "example.com/hello", Version: "v1.0.0",
			PURL: "pkg:golang/example.com/hello@v1.0.0"},
		Components: []inventory.Component{{
			Ecosystem: inventory.Go, Name: "stdlib", Version: "1.22.1",
			PURL: "pkg:golang/stdlib@1.22.1", Scope: inventory.Toolchain, Licenses: []string{"BSD-3-Clause"},
		}},
	}
	doc, err := sbom.CycloneDX(inv, sbom.Options{Time: time.Unix(1709294400, 0), ToolVersion: "0.6.0"})
	if err != nil {
		log.Fatal(err)
	}
	os.Stdout.Write(doc)
	// Output:
	// {
	//   "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
	//   "bomFormat": "CycloneDX",
	//   "specVersion": "1.6",
	//   "serialNumber": "urn:uuid:b0d67c3f-c732-5d5c-b879-bb782a6bed79",
	//   "version": 1,
	//   "metadata": {
	//     "timestamp": "2024-03-01T12:00:00Z",
	//     "tools": {
	//       "components": [
	//         {
	//           "type": "application",
	//           "name": "hallmark",
	//           "version": "0.6.0"
	//         }
	//       ]
	//     },
	//     "component": {
	//       "bom-ref": "pkg:golang/example.com/hello@v1.0.0",
	//       "type": "application",
	//       "name": "example.com/hello",
	//       "version": "v1.0.0",
	//       "purl": "pkg:golang/example.com/hello@v1.0.0"
	//     }
	//   },
	//   "components": [
	//     {
	//       "bom-ref": "pkg:golang/stdlib@1.22.1",
	//       "type": "library",
	//       "name": "stdlib",
	//       "version": "1.22.1",
	//       "scope": "required",
	//       "licenses": [
	//         {
	//           "license": {
	//             "id": "BSD-3-Clause"
	//           }
	//         }
	//       ],
	//       "purl": "pkg:golang/stdlib@1.22.1",
	//       "properties": [
	//         {
	//           "name": "hallmark:scope",
	//           "value": "toolchain"
	//         }
	//       ]
	//     }
	//   ],
	//   "dependencies": [
	//     {
	//       "ref": "pkg:golang/example.com/hello@v1.0.0",
	//       "dependsOn": [
	//         "pkg:golang/stdlib@1.22.1"
	//       ]
	//     }
	//   ]
	// }
}

func ExampleRead() {
	doc := []byte(`{
  "bomFormat": "CycloneDX",
  "specVersion": "1.6",
  "components": [
    {"type": "library", "name": "stdlib", "version": "go1.22.1", "purl": "pkg:golang/stdlib@1.22.1"},
    {"type": "library", "name": "toml", "purl": "pkg:golang/github.com/BurntSushi/toml@v1.3.2"},
    {"type": "library", "name": "@babel/core", "purl": "pkg:npm/%40babel/core@7.24.0"}
  ]
}`)
	inv, err := sbom.Read(doc)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range inv.Components {
		fmt.Printf("%s %s %s (%s)\n", c.Ecosystem, c.Name, c.Version, c.Scope)
	}
	// Output:
	// Go github.com/BurntSushi/toml v1.3.2 ()
	// Go stdlib 1.22.1 (toolchain)
	// npm @babel/core 7.24.0 ()
}
