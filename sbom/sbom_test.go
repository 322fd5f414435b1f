package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hallmark-dev/hallmark/inventory"
)

var (
	sha256A = strings.Repeat("a1", 32)
	sha256B = strings.Repeat("b2", 32)
	sha256C = strings.Repeat("c3", 32)
	sha512A = strings.Repeat("d4", 64)
)

// richInventory exercises every part of both mappings that round-trips
// exactly: Go modules (case-sensitive path), stdlib, a scoped npm package,
// PyPI, crates.io, a purl type without an OSV ecosystem and a name that
// needs escaping, single licenses, an expression, two licenses, a license
// not on the SPDX list, hashes, dependencies known and unknown, every
// scope, and files with and without components.
func richInventory() *inventory.Inventory {
	return &inventory.Inventory{
		Subject: inventory.Component{
			Ecosystem: inventory.Go,
			Name:      "example.com/app",
			Version:   "v1.0.0",
			PURL:      "pkg:golang/example.com/app@v1.0.0",
			Licenses:  []string{"Apache-2.0"},
			Locations: []string{"go.mod"},
			DependsOn: []string{"pkg:cargo/serde@1.0.197", "pkg:golang/github.com/BurntSushi/toml@v1.5.0", "pkg:npm/%40babel/core@7.24.0"},
		},
		Components: []inventory.Component{
			{
				Ecosystem: inventory.CratesIO, Name: "serde", Version: "1.0.197",
				PURL: "pkg:cargo/serde@1.0.197", Scope: inventory.Direct,
				Licenses:  []string{"MIT OR Apache-2.0"},
				Hashes:    map[string]string{"SHA-256": sha256C},
				Locations: []string{"Cargo.lock"},
				DependsOn: []string{},
			},
			{
				Name: `say "hi" <&>`, Version: "1.0+1",
				PURL: "pkg:generic/say%20%22hi%22%20%3C%26%3E@1.0%2B1", Scope: inventory.Indirect,
				Licenses: []string{"LicenseRef-custom"},
			},
			{
				Ecosystem: inventory.Go, Name: "github.com/BurntSushi/toml", Version: "v1.5.0",
				PURL: "pkg:golang/github.com/BurntSushi/toml@v1.5.0", Scope: inventory.Direct,
				Licenses:  []string{"MIT"},
				Hashes:    map[string]string{"SHA-256": sha256A},
				Locations: []string{"go.mod", "go.sum"},
				DependsOn: []string{"pkg:golang/golang.org/x/text@v0.3.7"},
			},
			{
				Ecosystem: inventory.Go, Name: "golang.org/x/text", Version: "v0.3.7",
				PURL: "pkg:golang/golang.org/x/text@v0.3.7", Scope: inventory.Indirect,
				Locations: []string{"go.sum"},
			},
			{
				Ecosystem: inventory.Go, Name: "stdlib", Version: "1.22.1",
				PURL: "pkg:golang/stdlib@1.22.1", Scope: inventory.Toolchain,
				Licenses: []string{"BSD-3-Clause"},
			},
			{
				Ecosystem: inventory.NPM, Name: "@babel/core", Version: "7.24.0",
				PURL: "pkg:npm/%40babel/core@7.24.0", Scope: inventory.Direct,
				Licenses:  []string{"MIT"},
				Hashes:    map[string]string{"SHA-512": sha512A},
				Locations: []string{"web/package-lock.json"},
				DependsOn: []string{"pkg:npm/debug@4.3.4"},
			},
			{
				Ecosystem: inventory.NPM, Name: "debug", Version: "4.3.4",
				PURL: "pkg:npm/debug@4.3.4", Scope: inventory.Development,
				Licenses:  []string{"ISC", "MIT"},
				Locations: []string{"web/package-lock.json"},
			},
			{
				Ecosystem: inventory.PyPI, Name: "zope-interface", Version: "6.0",
				PURL: "pkg:pypi/zope-interface@6.0", Scope: inventory.Indirect,
				Locations: []string{"poetry.lock"},
			},
		},
		Files: []inventory.File{
			{Path: "bin/app", Size: 1234, SHA256: sha256B, Format: "elf",
				Components: []string{"pkg:golang/github.com/BurntSushi/toml@v1.5.0", "pkg:golang/golang.org/x/text@v0.3.7", "pkg:golang/stdlib@1.22.1"}},
			{Path: "dist/tool.exe", Size: 99, SHA256: sha256A, Format: "pe"},
		},
	}
}

// sorted returns inv as Read returns it: components sorted by purl.
func sorted(inv *inventory.Inventory) *inventory.Inventory {
	out := *inv
	out.Components = slices.Clone(inv.Components)
	slices.SortFunc(out.Components, func(a, b inventory.Component) int { return strings.Compare(a.PURL, b.PURL) })
	return &out
}

// shuffled is inv with every slice in another order.
func shuffled(inv *inventory.Inventory) *inventory.Inventory {
	rev := func(s []string) []string {
		if s == nil {
			return nil
		}
		s = slices.Clone(s)
		slices.Reverse(s)
		return s
	}
	out := *inv
	out.Subject.DependsOn = rev(inv.Subject.DependsOn)
	out.Components = nil
	for _, c := range slices.Backward(inv.Components) {
		c.Licenses, c.Locations, c.DependsOn = rev(c.Licenses), rev(c.Locations), rev(c.DependsOn)
		out.Components = append(out.Components, c)
	}
	out.Files = nil
	for _, f := range slices.Backward(inv.Files) {
		f.Components = rev(f.Components)
		out.Files = append(out.Files, f)
	}
	return &out
}

var testOpts = Options{Time: time.Date(2024, 3, 1, 12, 30, 45, 123, time.FixedZone("x", 3600)), ToolName: "hallmark", ToolVersion: "0.6.0"}

// refuseLoader makes the schema compiler fail on any schema not added as a
// resource: tests never reach the network.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not in testdata/schema", url)
}

func compileSchema(t testing.TB, main string, files ...string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	c.AssertFormat()
	var mainID string
	for _, name := range append([]string{main}, files...) {
		f, err := os.Open(filepath.Join("testdata", "schema", name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id == "" {
			t.Fatalf("%s has no $id", name)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if mainID == "" {
			mainID = id
		}
	}
	sch, err := c.Compile(mainID)
	if err != nil {
		t.Fatalf("compile %s: %v", main, err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, doc []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("schema validation: %v\n%s", err, doc)
	}
}

// writers are the two renderings, by name.
var writers = []struct {
	name  string
	write func(*inventory.Inventory, Options) ([]byte, error)
}{
	{"cyclonedx", CycloneDX},
	{"spdx", SPDX},
}

func TestSchemaValid(t *testing.T) {
	schemas := map[string]*jsonschema.Schema{
		"cyclonedx": compileSchema(t, "bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"),
		"spdx":      compileSchema(t, "spdx-schema-2.3.json"),
	}
	inventories := map[string]*inventory.Inventory{
		"rich":   richInventory(),
		"empty":  {},
		"binary": binaryInventory(),
		"lossy": {Subject: inventory.Component{Name: "x", PURL: "pkg:generic/x"}, Components: []inventory.Component{{
			Name: "serde", PURL: "pkg:cargo/serde@1", Licenses: []string{"MIT OR Apache-2.0", "Unicode-DFS-2016"},
			Hashes: map[string]string{"SHA-256": "not hex", "SHA-1": sha256A, "CRC32": "00000000", "MD5": strings.Repeat("0", 32)},
		}}},
	}
	for _, w := range writers {
		for name, inv := range inventories {
			for _, opts := range []Options{testOpts, {}} {
				t.Run(fmt.Sprintf("%s/%s/time=%v", w.name, name, !opts.Time.IsZero()), func(t *testing.T) {
					doc, err := w.write(inv, opts)
					if err != nil {
						t.Fatal(err)
					}
					validate(t, schemas[w.name], doc)
				})
			}
		}
	}
}

// TestSchemaRejects makes sure the validation can fail: documents the
// schemas forbid are refused.
func TestSchemaRejects(t *testing.T) {
	cdx := compileSchema(t, "bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json")
	spdx := compileSchema(t, "spdx-schema-2.3.json")
	for _, tc := range []struct {
		sch *jsonschema.Schema
		doc string
	}{
		{cdx, `{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:x"}`},
		{cdx, `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"x","licenses":[{"license":{"id":"Not-A-License"}}]}]}`},
		{cdx, `{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"timestamp":"yesterday"}}`},
		{spdx, `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0"}`},
		{spdx, `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","creationInfo":{"created":"now","creators":["Tool: x"]},"files":[{"SPDXID":"SPDXRef-f","fileName":"./a","checksums":[]}]}`},
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		if tc.sch.Validate(inst) == nil {
			t.Errorf("schema accepted %s", tc.doc)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			a, err := w.write(richInventory(), testOpts)
			if err != nil {
				t.Fatal(err)
			}
			b, err := w.write(richInventory(), testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Fatal("two renderings of the same inventory differ")
			}
			c, err := w.write(shuffled(richInventory()), testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, c) {
				t.Errorf("a shuffled inventory renders differently:\n%s\n---\n%s", a, c)
			}
			later := testOpts
			later.Time = later.Time.Add(time.Second)
			d, err := w.write(richInventory(), later)
			if err != nil {
				t.Fatal(err)
			}
			if id(t, a) == id(t, d) {
				t.Errorf("documents of different times have the same identifier %s", id(t, a))
			}
		})
	}
}

// id returns a document's serialNumber or documentNamespace.
func id(t *testing.T, doc []byte) string {
	var v struct {
		SerialNumber      string `json:"serialNumber"`
		DocumentNamespace string `json:"documentNamespace"`
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	return v.SerialNumber + v.DocumentNamespace
}

func TestIdentifiers(t *testing.T) {
	doc, err := CycloneDX(richInventory(), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id(t, doc)) {
		t.Errorf("serialNumber %q is not a version 5 UUID URN", id(t, doc))
	}
	if !bytes.Contains(doc, []byte(`"timestamp": "2024-03-01T11:30:45Z"`)) {
		t.Errorf("timestamp is not the UTC time to the second:\n%s", doc)
	}
	zero, err := CycloneDX(richInventory(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(zero, []byte(`"timestamp"`)) {
		t.Error("zero Time: CycloneDX has a timestamp")
	}
	doc, err = SPDX(richInventory(), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^https://hallmark\.dev/spdx/example\.com%2Fapp-[0-9a-f]{64}$`).MatchString(id(t, doc)) {
		t.Errorf("documentNamespace %q", id(t, doc))
	}
	for _, want := range []string{`"created": "2024-03-01T11:30:45Z"`, `"Tool: hallmark-0.6.0"`} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("SPDX lacks %s", want)
		}
	}
	zero, err = SPDX(richInventory(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"created": "1970-01-01T00:00:00Z"`, `"Tool: hallmark"`} {
		if !bytes.Contains(zero, []byte(want)) {
			t.Errorf("zero Options: SPDX lacks %s", want)
		}
	}
}

// TestMapping checks the choices the package documentation describes.
func TestMapping(t *testing.T) {
	cdx, err := CycloneDX(richInventory(), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	spdx, err := SPDX(richInventory(), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		doc  []byte
		want string
	}{
		{cdx, `"specVersion": "1.6"`},
		{cdx, `"scope": "optional"`},
		{cdx, `"name": "hallmark:scope",
          "value": "development"`},
		{cdx, `"id": "ISC"`},
		{cdx, `"name": "LicenseRef-custom"`},
		{cdx, `"expression": "MIT OR Apache-2.0"`},
		{cdx, `"bom-ref": "file:bin/app"`},
		{cdx, `"alg": "SHA-512"`},
		{cdx, `"ref": "pkg:cargo/serde@1.0.197"
    },`},
		{spdx, `"licenseDeclared": "ISC AND MIT"`},
		{spdx, `"primaryPackagePurpose": "FILE"`},
		{spdx, `"relatedSpdxElement": "NONE"`},
		{spdx, `"SPDXID": "SPDXRef-Package-say-hi-`},
		{spdx, `"referenceLocator": "pkg:npm/%40babel/core@7.24.0"`},
		{spdx, `"algorithm": "SHA512"`},
		{spdx, `"comment": "hallmark:license=\"ISC\"\nhallmark:license=\"MIT\"\nhallmark:location=\"web/package-lock.json\"\nhallmark:scope=\"development\""`},
	} {
		if !bytes.Contains(tc.doc, []byte(tc.want)) {
			t.Errorf("document lacks %s", tc.want)
		}
	}
	// Invalid hashes and ones the formats do not know are left out.
	inv := &inventory.Inventory{Components: []inventory.Component{{Name: "x", PURL: "pkg:generic/x",
		Hashes: map[string]string{"SHA-256": "NOTHEX", "CRC32": "00000000", "MD5": strings.Repeat("A", 32)}}}}
	for _, w := range writers {
		doc, err := w.write(inv, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"NOTHEX", "CRC32", "AAAA"} {
			if bytes.Contains(doc, []byte(bad)) {
				t.Errorf("%s: bad hash %s written", w.name, bad)
			}
		}
	}
}

// binaryInventory is a walk of a single binary: the subject is the file.
func binaryInventory() *inventory.Inventory {
	return &inventory.Inventory{
		Subject: inventory.Component{Name: "app", DependsOn: []string{"pkg:golang/stdlib@1.22.1"}},
		Files:   []inventory.File{{Path: "", Size: 10, SHA256: sha256A, Format: "macho", Components: []string{"pkg:golang/stdlib@1.22.1"}}},
		Components: []inventory.Component{{Ecosystem: inventory.Go, Name: "stdlib", Version: "1.22.1",
			PURL: "pkg:golang/stdlib@1.22.1", Scope: inventory.Toolchain}},
	}
}

func TestRoundTrip(t *testing.T) {
	for name, inv := range map[string]func() *inventory.Inventory{"rich": richInventory, "binary": binaryInventory} {
		want := sorted(inv())
		for _, w := range writers {
			t.Run(name+"/"+w.name, func(t *testing.T) {
				doc, err := w.write(inv(), testOpts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Read(doc)
				if err != nil {
					t.Fatal(err)
				}
				diffInventory(t, got, want)
			})
		}
	}
}

// diffInventory reports the differences between got and want, component
// by component.
func diffInventory(t *testing.T, got, want *inventory.Inventory) {
	t.Helper()
	if !reflect.DeepEqual(got.Subject, want.Subject) {
		t.Errorf("Subject:\n got %#v\nwant %#v", got.Subject, want.Subject)
	}
	if len(got.Components) != len(want.Components) {
		t.Errorf("%d components, want %d", len(got.Components), len(want.Components))
	}
	for i := range min(len(got.Components), len(want.Components)) {
		if !reflect.DeepEqual(got.Components[i], want.Components[i]) {
			t.Errorf("Components[%d]:\n got %#v\nwant %#v", i, got.Components[i], want.Components[i])
		}
	}
	if !reflect.DeepEqual(got.Files, want.Files) {
		t.Errorf("Files:\n got %#v\nwant %#v", got.Files, want.Files)
	}
	if !reflect.DeepEqual(got.Warnings, want.Warnings) {
		t.Errorf("Warnings:\n got %#v\nwant %#v", got.Warnings, want.Warnings)
	}
}

func TestLossy(t *testing.T) {
	inv := &inventory.Inventory{
		Subject: inventory.Component{Name: "x"},
		Components: []inventory.Component{{
			Ecosystem: inventory.CratesIO, Name: "serde", Version: "1", PURL: "pkg:cargo/serde@1", Scope: inventory.Direct,
			Licenses:  []string{"MIT OR Apache-2.0", "Unicode-DFS-2016"},
			DependsOn: []string{"pkg:cargo/gone@1", "pkg:cargo/serde@1"},
		}},
		Files: []inventory.File{{Path: "a", SHA256: "short", Components: []string{"pkg:cargo/gone@1"}}},
	}
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			doc, err := w.write(inv, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(doc, []byte("gone")) {
				t.Errorf("dangling reference written:\n%s", doc)
			}
			got, err := Read(doc)
			if err != nil {
				t.Fatal(err)
			}
			want := []inventory.Component{{
				Ecosystem: inventory.CratesIO, Name: "serde", Version: "1", PURL: "pkg:cargo/serde@1", Scope: inventory.Direct,
				Licenses:  []string{"(MIT OR Apache-2.0) AND Unicode-DFS-2016"},
				DependsOn: []string{},
			}}
			if w.name == "spdx" {
				// The comment lists the licenses apart.
				want[0].Licenses = inv.Components[0].Licenses
			}
			if !reflect.DeepEqual(got.Components, want) {
				t.Errorf("Components:\n got %#v\nwant %#v", got.Components, want)
			}
			if len(got.Files) != 1 || got.Files[0].SHA256 != "" || got.Files[0].Components != nil {
				t.Errorf("Files = %#v", got.Files)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		inv  *inventory.Inventory
		want string
	}{
		{"nil", nil, "sbom: nil inventory"},
		{"no purl", &inventory.Inventory{Components: []inventory.Component{{Name: "x"}}}, `sbom: component "x": no purl`},
		{"twice", &inventory.Inventory{Components: []inventory.Component{{PURL: "pkg:npm/x@1"}, {PURL: "pkg:npm/x@1"}}}, "sbom: component pkg:npm/x@1: listed twice"},
		{"file twice", &inventory.Inventory{Files: []inventory.File{{Path: "a"}, {Path: "a"}}}, `sbom: file "a": listed twice`},
	} {
		for _, w := range writers {
			t.Run(w.name+"/"+tc.name, func(t *testing.T) {
				_, err := w.write(tc.inv, Options{})
				if err == nil || err.Error() != tc.want {
					t.Errorf("error = %v, want %s", err, tc.want)
				}
			})
		}
	}
}

func TestLicenseIDs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "schema", "spdx.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Enum []string }
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Enum) != len(licenseIDs) {
		t.Errorf("schema lists %d identifiers, licenseIDs %d", len(s.Enum), len(licenseIDs))
	}
	for _, id := range s.Enum {
		if !licenseIDs[id] {
			t.Errorf("licenseIDs lacks %s", id)
		}
	}
}

func TestComponentFromPURL(t *testing.T) {
	for _, tc := range []struct {
		purl, name, version string
		want                inventory.Component
	}{
		{"pkg:golang/github.com/BurntSushi/toml@v1.5.0", "", "", inventory.Component{Ecosystem: inventory.Go, Name: "github.com/BurntSushi/toml", Version: "v1.5.0"}},
		{"pkg:golang/github.com/x/y@1.2.3", "", "", inventory.Component{Ecosystem: inventory.Go, Name: "github.com/x/y", Version: "v1.2.3"}},
		{"pkg:golang/stdlib@v1.22.1", "", "", inventory.Component{Ecosystem: inventory.Go, Name: "stdlib", Version: "1.22.1"}},
		{"pkg:golang/stdlib@go1.22.1", "", "", inventory.Component{Ecosystem: inventory.Go, Name: "stdlib", Version: "1.22.1"}},
		{"pkg:golang/stdlib", "stdlib", "go1.21rc2", inventory.Component{Ecosystem: inventory.Go, Name: "stdlib", Version: "1.21.0-rc.2"}},
		{"pkg:golang/stdlib@1.23.0-rc.1", "", "", inventory.Component{Ecosystem: inventory.Go, Name: "stdlib", Version: "1.23.0-rc.1"}},
		{"pkg:golang/stdlib@go1.21", "", "", inventory.Component{Ecosystem: inventory.Go, Name: "stdlib", Version: "1.21.0"}},
		{"pkg:golang/toolchain@1.22.1", "", "", inventory.Component{Ecosystem: inventory.Go, Name: "toolchain", Version: "1.22.1"}},
		{"pkg:npm/%40babel/core@7.24.0", "", "", inventory.Component{Ecosystem: inventory.NPM, Name: "@babel/core", Version: "7.24.0"}},
		{"pkg:npm/babel/core@7", "", "", inventory.Component{Ecosystem: inventory.NPM, Name: "@babel/core", Version: "7"}},
		{"pkg:npm/left-pad", "left-pad", "1.3.0", inventory.Component{Ecosystem: inventory.NPM, Name: "left-pad", Version: "1.3.0"}},
		{"pkg:pypi/Zope.Interface_x@6.0", "", "", inventory.Component{Ecosystem: inventory.PyPI, Name: "zope-interface-x", Version: "6.0"}},
		{"pkg:cargo/serde@1.0.197", "", "", inventory.Component{Ecosystem: inventory.CratesIO, Name: "serde", Version: "1.0.197"}},
		{"pkg:deb/debian/curl@7.88.1-10?arch=amd64", "", "", inventory.Component{Name: "debian/curl", Version: "7.88.1-10"}},
	} {
		t.Run(tc.purl, func(t *testing.T) {
			got, err := component(tc.purl, tc.name, tc.version)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.PURL = tc.purl
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}
