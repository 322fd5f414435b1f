package policy

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

const schemaURL = "https://hallmark.dev/schema/policy-v1.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("schema/policy-v1.schema.json")
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

// validateYAML validates a policy file against the schema, as JSON.
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

// The schema accepts what Parse accepts (the testdata policies and the
// policies of docs/policy.md), and refuses what is structurally wrong.
func TestSchema(t *testing.T) {
	s := compileSchema(t)
	files, _ := filepath.Glob("testdata/*.yaml")
	docs, err := os.ReadFile("../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	var good [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, data)
	}
	// Every ```yaml block of the docs that is a whole policy.
	for _, block := range strings.Split(string(docs), "```yaml\n")[1:] {
		block = block[:strings.Index(block, "```")]
		if strings.Contains(block, "apiVersion:") {
			good = append(good, []byte(block))
		}
	}
	if len(good) < 3 {
		t.Fatalf("only %d policies to check", len(good))
	}
	for i, data := range good {
		if _, err := Parse(data); err != nil {
			t.Errorf("policy %d: Parse: %v\n%s", i, err, data)
		}
		if err := validateYAML(t, s, data); err != nil {
			t.Errorf("policy %d: schema: %v\n%s", i, err, data)
		}
	}
	for _, bad := range []string{
		header + "profile: {}\n",
		header + "profiles:\n  high: {vulnerabilities: {fial_on: high}}\n",
		header + "profiles:\n  high: {hardening: {fail_on: 7}}\n",
		header + "profiles:\n  high: {exceptions: {approvals_required: 0}}\n",
		header + "profiles:\n  high: {exceptions: {max_expiry: 9x}}\n",
		header + "rules:\n  - {name: a, expression: 'true', action: pass}\n",
		"apiVersion: hallmark.dev/policy/v2\nkind: Policy\n",
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse accepts %q", bad)
		}
		if err := validateYAML(t, s, []byte(bad)); err == nil {
			t.Errorf("schema accepts %q", bad)
		}
	}
}
