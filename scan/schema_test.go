package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifSchemaURL is the $id of testdata/sarif-schema-2.1.0.json; the
// compiler finds the schema there as a resource, never on the network.
const sarifSchemaURL = sarifSchema

var compiledSARIFSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(sarifSchemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(sarifSchemaURL)
})

// validateSARIF checks data against the SARIF 2.1.0 JSON schema.
func validateSARIF(t *testing.T, data []byte) {
	t.Helper()
	sch, err := compiledSARIFSchema()
	if err != nil {
		t.Fatalf("SARIF schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("SARIF output is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("SARIF output does not follow the SARIF 2.1.0 schema: %v", err)
	}
}

func TestWriteSARIFSchema(t *testing.T) {
	rep := goldenReport(t)
	var b bytes.Buffer
	if err := rep.WriteSARIF(&b); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, b.Bytes())

	// The validator is not a no-op: it refuses a result without a message
	// and an unknown level.
	bad := strings.Replace(b.String(), `"level": "error"`, `"level": "fatal"`, 1)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	sch, _ := compiledSARIFSchema()
	if sch.Validate(inst) == nil {
		t.Error("the schema accepts level \"fatal\"")
	}
}

func TestSARIFFixturesSchema(t *testing.T) {
	for _, name := range []string{"testdata/sarif/gosec.sarif", "testdata/sarif/semgrep.sarif", "testdata/golden/report.sarif"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			validateSARIF(t, data)
		})
	}
}

// noNetwork is a loader that refuses every URL: all schemas are resources.
type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not a local resource", url)
}

// The CycloneDX schemas package sbom keeps; see ../sbom/testdata/schema/README.md.
var cdxSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(noNetwork{})
	for _, name := range []string{"bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"} {
		f, err := os.Open(filepath.Join("..", "sbom", "testdata", "schema", name))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+name, doc); err != nil {
			return nil, err
		}
	}
	return c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
})

func TestWriteCycloneDXVEXSchema(t *testing.T) {
	sch, err := cdxSchema()
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("CycloneDX schema not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"golden", "empty"} {
		t.Run(name, func(t *testing.T) {
			rep := &Report{Subject: fixtureInventory().Subject}
			if name == "golden" {
				rep = goldenReport(t)
			}
			var b bytes.Buffer
			if err := rep.WriteCycloneDXVEX(&b); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(&b)
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("VEX does not follow the CycloneDX 1.6 schema: %v", err)
			}
		})
	}
}
