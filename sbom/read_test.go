package sbom

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/inventory"
)

func TestReadSyft(t *testing.T) {
	app := inventory.Component{
		Ecosystem: inventory.Go, Name: "example.com/app", Version: "v0.0.0-20240301120000-0123456789ab",
		PURL:      "pkg:golang/example.com/app@v0.0.0-20240301120000-0123456789ab",
		DependsOn: []string{"pkg:golang/github.com/BurntSushi/toml@v1.3.2", "pkg:golang/stdlib@1.22.1"},
	}
	toml := inventory.Component{
		Ecosystem: inventory.Go, Name: "github.com/BurntSushi/toml", Version: "v1.3.2",
		PURL:     "pkg:golang/github.com/BurntSushi/toml@v1.3.2",
		Licenses: []string{"MIT"},
		Hashes:   map[string]string{"SHA-256": strings.Repeat("a1", 32)},
	}
	stdlib := inventory.Component{
		Ecosystem: inventory.Go, Name: "stdlib", Version: "1.22.1",
		PURL: "pkg:golang/stdlib@1.22.1", Scope: inventory.Toolchain,
		Licenses: []string{"BSD-3-Clause"},
	}
	t.Run("cyclonedx", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("testdata", "syft-go-binary.cdx.json"))
		if err != nil {
			t.Fatal(err)
		}
		want := &inventory.Inventory{
			Subject:    inventory.Component{Name: "/work/app"},
			Components: []inventory.Component{app, toml, stdlib},
			Files: []inventory.File{{Path: "/work/app", SHA256: strings.Repeat("b2", 32),
				Components: []string{app.PURL, stdlib.PURL}}},
			Warnings: []inventory.Warning{{Path: "components[3]", Msg: `component "debian" has no purl; left out`}},
		}
		for i := range want.Components {
			want.Components[i].Locations = []string{"/work/app"}
		}
		for _, version := range []string{"1.6", "1.7", "1.5", "1.4"} {
			got, err := Read(bytes.Replace(data, []byte(`"specVersion": "1.6"`), []byte(`"specVersion": "`+version+`"`), 1))
			if err != nil {
				t.Fatalf("%s: %v", version, err)
			}
			diffInventory(t, got, want)
		}
	})
	t.Run("spdx", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("testdata", "syft-go-binary.spdx.json"))
		if err != nil {
			t.Fatal(err)
		}
		want := &inventory.Inventory{
			Subject:    inventory.Component{Name: "/work/app"},
			Components: []inventory.Component{app, toml, stdlib},
			Files: []inventory.File{{Path: "/work/app", SHA256: strings.Repeat("b2", 32),
				Components: []string{stdlib.PURL}}},
		}
		for _, version := range []string{"SPDX-2.3", "SPDX-2.2"} {
			got, err := Read(bytes.Replace(data, []byte(`"SPDX-2.3"`), []byte(`"`+version+`"`), 1))
			if err != nil {
				t.Fatalf("%s: %v", version, err)
			}
			diffInventory(t, got, want)
		}
	})
}

func TestReadErrors(t *testing.T) {
	const cdx = `{"bomFormat":"CycloneDX","specVersion":"1.6",`
	const spdx = `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT",`
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty", ``, "sbom: document is empty or truncated"},
		{"truncated", cdx, "sbom: document is empty or truncated"},
		{"array", `[]`, "sbom: document is not a JSON object"},
		{"string", `"x"`, "sbom: document is not a JSON object"},
		{"null", `null`, "sbom: document is not a JSON object"},
		{"trailing", `{} {}`, "sbom: byte 4: invalid character '{' after top-level value"},
		{"syntax", `{"a":}`, "sbom: byte 6: invalid character '}' looking for beginning of value"},
		{"escaped duplicate", `{"a":1,"\u0041":2}`, `sbom: document: members "a" and "A" have the same name`},
		{"neither", `{"a":1}`, "sbom: neither a CycloneDX BOM (no bomFormat) nor an SPDX document (no spdxVersion)"},
		{"neither in exact case", `{"BOMFormat":"CycloneDX","SPDXVersion":"SPDX-2.3"}`, "sbom: neither a CycloneDX BOM (no bomFormat) nor an SPDX document (no spdxVersion)"},
		{"empty object", `{}`, "sbom: neither a CycloneDX BOM (no bomFormat) nor an SPDX document (no spdxVersion)"},
		{"both", `{"bomFormat":"CycloneDX","spdxVersion":"SPDX-2.3"}`, "sbom: document has both bomFormat (CycloneDX) and spdxVersion (SPDX)"},
		{"duplicate", cdx + `"components":[{"purl":"pkg:npm/a@1","purl":"pkg:npm/b@1"}]}`, `sbom: components[0]: members "purl" and "purl" have the same name`},
		{"duplicate case", cdx + `"components":[{"purl":"pkg:npm/a@1","PURL":"pkg:npm/b@1"}]}`, `sbom: components[0]: members "purl" and "PURL" have the same name`},
		{"duplicate long s", cdx + `"components":[{"name":"a","scope":"required","\u017fcope":"excluded"}]}`, `sbom: components[0]: members "scope" and "ſcope" have the same name`},
		{"deep", strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100), "sbom: a" + strings.Repeat(".a", 63) + ": nested more than 64 deep"},
		{"bomFormat", `{"bomFormat":"SPDX","specVersion":"1.6"}`, `sbom: bomFormat: "SPDX", want "CycloneDX"`},
		{"bomFormat type", `{"bomFormat":1}`, "sbom: document.bomFormat: a JSON number where the schema wants a string"},
		{"specVersion", `{"bomFormat":"CycloneDX","specVersion":"1.3"}`, `sbom: specVersion: CycloneDX "1.3" is not supported (1.4 to 1.7 are)`},
		{"components type", cdx + `"components":{}}`, "sbom: document.components: a JSON object where the schema wants an array"},
		{"purl type", cdx + `"components":[{"name":"a"},{"purl":7}]}`, "sbom: components[1].purl: a JSON number where the schema wants a string"},
		{"bad purl", cdx + `"components":[{"name":"a"},{"name":"b"},{"name":"c"},{"purl":"npm/x@1"}]}`, `sbom: components[3].purl: purl scheme is not "pkg": "npm/x@1"`},
		{"nested purl", cdx + `"components":[{"purl":"pkg:npm/a@1","components":[{"purl":"pkg:"}]}]}`, "sbom: components[0].components[0].purl: purl is missing type or name"},
		{"subject purl", cdx + `"metadata":{"component":{"purl":"x"}}}`, `sbom: metadata.component.purl: purl scheme is not "pkg": "x"`},
		{"hashes type", cdx + `"components":[{"purl":"pkg:npm/a@1","hashes":[{"alg":1}]}]}`, "sbom: components[0].hashes.alg: a JSON number where the schema wants a string"},
		{"dependency type", cdx + `"dependencies":[{"ref":"a","dependsOn":"b"}]}`, "sbom: dependencies[0].dependsOn: a JSON string where the schema wants an array"},
		{"spdxVersion", `{"spdxVersion":"SPDX-3.0"}`, `sbom: spdxVersion: "SPDX-3.0" is not supported (SPDX-2.2 and SPDX-2.3 are)`},
		{"packages type", spdx + `"packages":[1]}`, "sbom: packages[0]: a JSON number where the schema wants an object"},
		{"spdx purl", spdx + `"packages":[{"SPDXID":"SPDXRef-a","externalRefs":[{"referenceCategory":"OTHER"},{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:x"}]}]}`, "sbom: packages[0].externalRefs[1].referenceLocator: purl is missing type or name"},
		{"spdx empty purl", spdx + `"packages":[{"externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":""}]}]}`, "sbom: packages[0].externalRefs[0].referenceLocator: empty purl"},
		{"relationship type", spdx + `"relationships":[{"spdxElementId":1}]}`, "sbom: relationships[0].spdxElementId: a JSON number where the schema wants a string"},
		{"files type", spdx + `"files":[{"checksums":{}}]}`, "sbom: files[0].checksums: a JSON object where the schema wants an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Read([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Read = %+v, want error %s", inv, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %s\n want   %s", err, tc.want)
			}
		})
	}
}

func TestReadLimits(t *testing.T) {
	big := make([]byte, MaxSize+1)
	if _, err := Read(big); err == nil || !strings.Contains(err.Error(), "more than the 67108864 allowed") {
		t.Errorf("Read of %d bytes: %v", len(big), err)
	}
	if testing.Short() {
		t.Skip("builds 3 MB documents")
	}
	many := strings.Repeat(`{},`, MaxComponents) + `{"components":[{}]}`
	for _, tc := range []struct{ doc, want string }{
		{`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[` + many + `]}`, "sbom: components[1000000]: more than 1000000 components"},
		{`{"spdxVersion":"SPDX-2.3","packages":[` + many + `]}`, "sbom: packages: 1000001 packages and files, more than 1000000"},
	} {
		if _, err := Read([]byte(tc.doc)); err == nil || err.Error() != tc.want {
			t.Errorf("error = %v, want %s", err, tc.want)
		}
	}
}

func TestReadLenient(t *testing.T) {
	// Things Read leaves out or fixes rather than refusing.
	doc := `{"bomFormat":"CycloneDX","specVersion":"1.6",
	  "metadata":null,
	  "components":[
	    {"type":"library","name":"a","purl":"pkg:npm/a@1","hashes":[{"alg":"SHA-256","content":"XYZ"},{"alg":"CRC32","content":"00"}],
	     "licenses":[{"license":{"name":"Custom"}},{"license":null},{}],"properties":[{"name":"hallmark:scope","value":"bogus"}],"scope":"excluded"},
	    {"type":"library","name":"a again","purl":"pkg:npm/a@1","properties":[{"name":"hallmark:location","value":"b/package-lock.json"}]},
	    {"type":"file","name":".","properties":[{"name":"hallmark:size","value":"-5"}]}
	  ],
	  "dependencies":[{"ref":"nowhere","dependsOn":["pkg:npm/a@1"]},{"ref":"pkg:npm/a@1","dependsOn":["pkg:npm/a@1","missing"]}]}`
	got, err := Read([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := &inventory.Inventory{
		Components: []inventory.Component{{Ecosystem: inventory.NPM, Name: "a", Version: "1", PURL: "pkg:npm/a@1",
			Scope: inventory.Development, Licenses: []string{"Custom"}, Locations: []string{"b/package-lock.json"}, DependsOn: []string{}}},
		Files:    []inventory.File{{Path: ""}},
		Warnings: []inventory.Warning{{Path: "dependencies[0]", Msg: `ref "nowhere" names no component; left out`}},
	}
	diffInventory(t, got, want)
}

func FuzzRead(f *testing.F) {
	for _, inv := range []*inventory.Inventory{richInventory(), {}} {
		for _, w := range writers {
			doc, err := w.write(inv, testOpts)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(doc)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Read(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "sbom: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			if errors.Unwrap(err) == nil && strings.Contains(err.Error(), "%!") {
				t.Fatalf("badly formatted error: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for i, c := range inv.Components {
			if c.PURL == "" || seen[c.PURL] || c.PURL == inv.Subject.PURL {
				t.Fatalf("components[%d]: purl %q empty, repeated or the subject's", i, c.PURL)
			}
			if i > 0 && inv.Components[i-1].PURL > c.PURL {
				t.Fatal("components not sorted")
			}
			seen[c.PURL] = true
		}
		for _, c := range inv.Components {
			for _, d := range c.DependsOn {
				if !seen[d] {
					t.Fatalf("%s depends on %s, which is not a component", c.PURL, d)
				}
			}
		}
		// What Read returns, the writers can write, and it reads back the
		// same.
		for _, w := range writers {
			doc, err := w.write(inv, Options{})
			if err != nil {
				t.Fatalf("%s of what Read returned: %v", w.name, err)
			}
			if _, err := Read(doc); err != nil {
				t.Fatalf("Read of %s output: %v\n%s", w.name, err, doc)
			}
		}
	})
}
