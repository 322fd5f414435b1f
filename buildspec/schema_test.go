package buildspec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const schemaURL = "https://hallmark.dev/schema/build-v1.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("schema/build-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validateYAML validates a spec against the schema, as JSON.
func validateYAML(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

// docSpecs returns every ```yaml block of docs/build-spec.md that is a
// whole spec.
func docSpecs(t *testing.T) [][]byte {
	t.Helper()
	docs, err := os.ReadFile("../docs/build-spec.md")
	if err != nil {
		t.Fatal(err)
	}
	var specs [][]byte
	for _, block := range strings.Split(string(docs), "```yaml\n")[1:] {
		block = block[:strings.Index(block, "```")]
		if strings.Contains(block, "apiVersion:") {
			specs = append(specs, []byte(block))
		}
	}
	return specs
}

// The schema accepts what Parse accepts (the testdata specs and the specs
// of docs/build-spec.md), and refuses what is structurally wrong.
func TestSchema(t *testing.T) {
	s := compileSchema(t)
	files, _ := filepath.Glob("testdata/*.yaml")
	var good [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, data)
	}
	docs := docSpecs(t)
	if len(docs) < 4 {
		t.Fatalf("only %d specs in docs/build-spec.md", len(docs))
	}
	good = append(good, docs...)
	for i, data := range good {
		if _, err := Parse(data); err != nil {
			t.Errorf("spec %d: Parse: %v\n%s", i, err, data)
		}
		if err := validateYAML(t, s, data); err != nil {
			t.Errorf("spec %d: schema: %v\n%s", i, err, data)
		}
	}
	for _, bad := range []string{
		header + "stpes: []\n",
		header + "steps: []\n",
		header + "steps:\n" + step("a", "    netwrok: true\n"),
		header + "steps:\n" + step("a", "    network: true\n"),
		header + "steps:\n" + step("a", "    outputs: [/etc]\n"),
		header + "steps:\n" + step("a", "    outputs: [a/../b]\n"),
		header + "steps:\n" + step("a", "    outputs: [a/]\n"),
		header + "steps:\n" + step("a", "    inputs: [{cache: pip}]\n"),
		header + "steps:\n" + step("a", "    inputs: [{source: true, step: b}]\n"),
		header + "steps:\n" + step("a", "    inputs: [{source: false}]\n"),
		header + "steps:\n" + step("a", "    env: {PATH: /x}\n"),
		header + "steps:\n" + step("a", "    env: {lower: x}\n"),
		header + "steps:\n" + step("a", "    limits: {memory: 2GB}\n"),
		header + "steps:\n" + step("a", "    limits: {processes: 0}\n"),
		header + "steps:\n" + step("a", "    sast: {}\n"),
		header + "steps:\n" + step("Bad", ""),
		header + "steps:\n  - name: a\n    run: [x]\n",
		strings.Replace(header, "1.26.8", "latest", 1) + "steps:\n" + step("a", ""),
		strings.Replace(header, "build/v1", "build/v2", 1) + "steps:\n" + step("a", ""),
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse accepts %q", bad)
		}
		if err := validateYAML(t, s, []byte(bad)); err == nil {
			t.Errorf("schema accepts %q", bad)
		}
	}
}
