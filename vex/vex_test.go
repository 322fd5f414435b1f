package vex

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	t0 = time.Date(2026, 11, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	t1 = time.Date(2026, 11, 2, 10, 0, 0, 500_000_000, time.UTC)
)

const (
	app  = "pkg:golang/example.com/app@v1.2.0"
	text = "pkg:golang/golang.org/x/text@v0.3.5"
	net  = "pkg:golang/golang.org/x/net@v0.0.1"
)

// sample is a document with one statement of every status.
func sample() Document {
	return Document{
		Author:    "Hallmark exceptions <security@example.com>",
		Role:      "security approver",
		Timestamp: t0,
		Statements: []Statement{
			{
				Vulnerability:   "GO-2021-0113",
				Aliases:         []string{"GHSA-ppp9-7jff-5vj2", "CVE-2021-38561"},
				Products:        []string{app},
				Subcomponents:   []string{text},
				Status:          NotAffected,
				Justification:   VulnerableCodeNotInExecutePath,
				ImpactStatement: "language.Parse is never called with input from outside",
			},
			{
				Vulnerability:   "GO-2022-0288",
				Products:        []string{app, "pkg:oci/app@sha256%3Aabcd"},
				Subcomponents:   []string{net},
				Status:          Affected,
				ActionStatement: "upgrade golang.org/x/net to v0.7.0 by 2026-12-01",
				Timestamp:       t1,
			},
			{Vulnerability: "CVE-2024-0001", Products: []string{app}, Status: Fixed},
			{Vulnerability: "CVE-2024-0002", Products: []string{app}, Status: UnderInvestigation},
		},
	}
}

// refuseLoader makes the schema compiler fail on any schema not added as a
// resource: tests never reach the network.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not in testdata", url)
}

func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "openvex_json_schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	c.AssertFormat()
	id := doc.(map[string]any)["$id"].(string)
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func schemaErr(sch *jsonschema.Schema, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func mustJSON(t testing.TB, d Document) []byte {
	t.Helper()
	b, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSchemaValid(t *testing.T) {
	sch := compileSchema(t)
	only := func(s Statement) Document { d := sample(); d.Statements = []Statement{s}; return d }
	docs := map[string]Document{
		"sample":          sample(),
		"impact only":     only(Statement{Vulnerability: "CVE-1", Products: []string{app}, Status: NotAffected, ImpactStatement: "x"}),
		"no subcomponent": only(Statement{Vulnerability: "CVE-1", Products: []string{app}, Status: NotAffected, Justification: ComponentNotPresent}),
		"with id": func() Document {
			d := sample()
			d.ID = "urn:uuid:3f4c4b4e-1111-4222-8333-444455556666"
			d.Version = 3
			return d
		}(),
	}
	for name, d := range docs {
		t.Run(name, func(t *testing.T) {
			if err := schemaErr(sch, mustJSON(t, d)); err != nil {
				t.Errorf("schema: %v\n%s", err, mustJSON(t, d))
			}
		})
	}
}

// TestSchemaAgrees checks that what the schema itself refuses, JSON refuses
// too: the schema is not only satisfied by the sample.
func TestSchemaAgrees(t *testing.T) {
	sch := compileSchema(t)
	good := string(mustJSON(t, sample()))
	for _, tc := range []struct{ name, old, new string }{
		{"bad status", `"status": "fixed"`, `"status": "mitigated"`},
		{"bad justification", `"justification": "vulnerable_code_not_in_execute_path"`, `"justification": "not_reachable"`},
		{"no action statement", `"action_statement": "upgrade golang.org/x/net to v0.7.0 by 2026-12-01"`, `"status_notes": "x"`},
		{"version 0", `"version": 1`, `"version": 0`},
		{"unknown member", `"role": "security approver"`, `"roles": "security approver"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(good, tc.old, tc.new, 1)
			if doc == good {
				t.Fatalf("%q not in the sample", tc.old)
			}
			if err := schemaErr(sch, []byte(doc)); err == nil {
				t.Errorf("schema accepts it")
			}
			if _, err := Parse([]byte(doc)); err == nil {
				t.Errorf("Parse accepts it")
			}
		})
	}
}

func TestGolden(t *testing.T) {
	d := Document{
		Author:    "hallmark",
		Timestamp: time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC),
		Statements: []Statement{{
			Vulnerability: "GO-2021-0113",
			Aliases:       []string{"CVE-2021-38561"},
			Products:      []string{app},
			Subcomponents: []string{text},
			Status:        NotAffected,
			Justification: VulnerableCodeNotInExecutePath,
		}},
	}
	got := string(mustJSON(t, d))
	const want = `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://hallmark.dev/vex/HASH",
  "author": "hallmark",
  "timestamp": "2026-11-01T08:30:00Z",
  "version": 1,
  "statements": [
    {
      "vulnerability": {
        "name": "GO-2021-0113",
        "aliases": [
          "CVE-2021-38561"
        ]
      },
      "products": [
        {
          "@id": "pkg:golang/example.com/app@v1.2.0",
          "identifiers": {
            "purl": "pkg:golang/example.com/app@v1.2.0"
          },
          "subcomponents": [
            {
              "@id": "pkg:golang/golang.org/x/text@v0.3.5",
              "identifiers": {
                "purl": "pkg:golang/golang.org/x/text@v0.3.5"
              }
            }
          ]
        }
      ],
      "status": "not_affected",
      "justification": "vulnerable_code_not_in_execute_path"
    }
  ]
}
`
	i := strings.Index(got, IDPrefix) + len(IDPrefix)
	hash := got[i : i+64]
	if want := strings.Replace(want, "HASH", hash, 1); got != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", got, want)
	}
}

func TestDeterministic(t *testing.T) {
	a := sample()
	b := sample()
	slices.Reverse(b.Statements)
	for i := range b.Statements {
		slices.Reverse(b.Statements[i].Aliases)
		slices.Reverse(b.Statements[i].Products)
	}
	b.Timestamp = b.Timestamp.In(time.FixedZone("", -7*3600))
	ja, jb := mustJSON(t, a), mustJSON(t, b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("same content, different JSON:\n%s\n%s", ja, jb)
	}
	// The derived ID follows the content.
	c := sample()
	c.Statements[0].Justification = VulnerableCodeNotPresent
	if id(t, mustJSON(t, c)) == id(t, ja) {
		t.Errorf("different content, same @id %s", id(t, ja))
	}
	// A given ID is kept.
	c.ID = "https://example.com/vex/1"
	if got := id(t, mustJSON(t, c)); got != c.ID {
		t.Errorf("@id = %s, want %s", got, c.ID)
	}
}

func id(t *testing.T, doc []byte) string {
	t.Helper()
	d, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// TestOrder checks that statements about one vulnerability are written in
// time order, the order OpenVEX gives them meaning in.
func TestOrder(t *testing.T) {
	d := sample()
	later := Statement{Vulnerability: "GO-2022-0288", Products: []string{app}, Subcomponents: []string{net}, Status: Fixed,
		Timestamp: t1.Add(time.Hour)}
	earlier := Statement{Vulnerability: "GO-2022-0288", Products: []string{app}, Subcomponents: []string{net}, Status: UnderInvestigation,
		Timestamp: t0.Add(-time.Hour)}
	d.Statements = append([]Statement{later}, append(d.Statements, earlier)...)
	got, err := Parse(mustJSON(t, d))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range got.Statements {
		order = append(order, s.Vulnerability+" "+s.Status)
	}
	want := []string{
		"CVE-2024-0001 fixed", "CVE-2024-0002 under_investigation", "GO-2021-0113 not_affected",
		"GO-2022-0288 under_investigation", "GO-2022-0288 affected", "GO-2022-0288 fixed",
	}
	if !slices.Equal(order, want) {
		t.Errorf("order:\n%q\nwant:\n%q", order, want)
	}
}

func TestRoundTrip(t *testing.T) {
	d := sample()
	d.ID = "https://example.com/vex/2026-11"
	d.Version = 4
	got, err := Parse(mustJSON(t, d))
	if err != nil {
		t.Fatal(err)
	}
	// Parse gives what JSON wrote: sorted, UTC.
	want := sample()
	want.ID, want.Version = d.ID, d.Version
	want.Timestamp = want.Timestamp.UTC()
	for i := range want.Statements {
		s := &want.Statements[i]
		s.Aliases, s.Products, s.Subcomponents = sorted(s.Aliases), sorted(s.Products), sorted(s.Subcomponents)
	}
	slices.SortFunc(want.Statements, func(a, b Statement) int { return strings.Compare(a.Vulnerability, b.Vulnerability) })
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("round trip:\n%+v\nwant:\n%+v", *got, want)
	}
	again := mustJSON(t, *got)
	if !bytes.Equal(again, mustJSON(t, d)) {
		t.Errorf("JSON(Parse(JSON(d))) != JSON(d)")
	}
}

func TestJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Document)
		want string
	}{
		{"no author", func(d *Document) { d.Author = "" }, "author: missing"},
		{"no timestamp", func(d *Document) { d.Timestamp = time.Time{} }, "timestamp: missing"},
		{"negative version", func(d *Document) { d.Version = -1 }, "version: -1 is negative"},
		{"relative id", func(d *Document) { d.ID = "vex/1" }, `@id: "vex/1" is not an absolute IRI`},
		{"id with space", func(d *Document) { d.ID = "https://x/a b" }, "@id: \"https://x/a b\" contains a space"},
		{"no statements", func(d *Document) { d.Statements = nil }, "statements: no statements"},
		{"no vulnerability", func(d *Document) { d.Statements[1].Vulnerability = "" }, "statements[1].vulnerability.name: missing"},
		{"vulnerability with space", func(d *Document) { d.Statements[1].Vulnerability = "CVE 1" }, `statements[1].vulnerability.name: "CVE 1" contains a space`},
		{"alias is name", func(d *Document) { d.Statements[0].Aliases[1] = "GO-2021-0113" }, `statements[0].vulnerability.aliases[1]: "GO-2021-0113" is the vulnerability's own name`},
		{"duplicate alias", func(d *Document) { d.Statements[0].Aliases[1] = d.Statements[0].Aliases[0] }, `statements[0].vulnerability.aliases[1]: "GHSA-ppp9-7jff-5vj2" repeats [0]`},
		{"no products", func(d *Document) { d.Statements[2].Products = nil }, "statements[2].products: no products"},
		{"bad product purl", func(d *Document) { d.Statements[2].Products[0] = "golang/example.com/app" }, `statements[2].products[0]: "golang/example.com/app" is not an absolute IRI`},
		{"not a purl", func(d *Document) { d.Statements[2].Products[0] = "https://example.com/app" }, `statements[2].products[0]: "https://example.com/app" is not a package URL`},
		{"duplicate product", func(d *Document) { d.Statements[1].Products[1] = app }, `statements[1].products[1]: "pkg:golang/example.com/app@v1.2.0" repeats [0]`},
		{"bad subcomponent", func(d *Document) { d.Statements[0].Subcomponents[0] = "pkg:" }, "statements[0].subcomponents[0]: \"pkg:\" is not a package URL"},
		{"no status", func(d *Document) { d.Statements[3].Status = "" }, "statements[3].status: missing"},
		{"bad status", func(d *Document) { d.Statements[3].Status = "mitigated" }, `statements[3].status: "mitigated" is not one of not_affected, affected, fixed, under_investigation`},
		{"missing justification", func(d *Document) {
			d.Statements[0].Justification, d.Statements[0].ImpactStatement = "", ""
		}, "statements[0].justification: missing: a not_affected statement needs a justification or an impact_statement"},
		{"bad justification", func(d *Document) { d.Statements[0].Justification = "not_reachable" }, `statements[0].justification: "not_reachable" is not one of the OpenVEX justifications (component_not_present, `},
		{"action on not_affected", func(d *Document) { d.Statements[0].ActionStatement = "x" }, "statements[0].action_statement: set on a not_affected statement"},
		{"missing action", func(d *Document) { d.Statements[1].ActionStatement = "" }, "statements[1].action_statement: missing: an affected statement needs one"},
		{"justification on affected", func(d *Document) { d.Statements[1].Justification = ComponentNotPresent }, "statements[1].justification: set on a affected statement"},
		{"impact on fixed", func(d *Document) { d.Statements[2].ImpactStatement = "x" }, "statements[2].impact_statement: set on a fixed statement"},
		{"action on under_investigation", func(d *Document) { d.Statements[3].ActionStatement = "x" }, "statements[3].action_statement: set on a under_investigation statement"},
		{"long text", func(d *Document) { d.Statements[0].ImpactStatement = strings.Repeat("x", MaxText+1) }, "statements[0].impact_statement: 65537 bytes, more than the limit of 65536"},
		{"bad utf-8", func(d *Document) { d.Role = "\xff" }, "role: not valid UTF-8"},
		{"year 10000", func(d *Document) { d.Statements[0].Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "statements[0].timestamp: year 10000 is outside"},
		{"same statement twice", func(d *Document) { d.Statements = append(d.Statements, d.Statements[2]) }, "statements[4]: repeats statements[2]: vulnerability CVE-2024-0001 for product pkg:golang/example.com/app@v1.2.0 at the same time"},
		{"conflicting statements", func(d *Document) {
			d.Statements = append(d.Statements, Statement{Vulnerability: "GO-2021-0113", Products: []string{app}, Subcomponents: []string{text},
				Status: Affected, ActionStatement: "upgrade", Timestamp: t0})
		}, "statements[4]: repeats statements[0]: vulnerability GO-2021-0113 for product pkg:golang/example.com/app@v1.2.0 subcomponent pkg:golang/golang.org/x/text@v0.3.5 at the same time"},
		{"too many statements", func(d *Document) {
			d.Statements = make([]Statement, MaxStatements+1)
		}, "statements: 100001 statements, more than the limit of 100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := sample()
			tc.edit(&d)
			_, err := d.JSON()
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error is %T, want *FieldError", err)
			}
			if !strings.HasPrefix(err.Error(), "vex: "+tc.want) {
				t.Errorf("error\n%v\nwant prefix\nvex: %s", err, tc.want)
			}
		})
	}
}

// TestStatementsAtDifferentTimes checks that the same vulnerability and
// product may be stated again later: that is how VEX records history.
func TestStatementsAtDifferentTimes(t *testing.T) {
	d := sample()
	s := d.Statements[1]
	s.Status, s.ActionStatement, s.Timestamp = Fixed, "", t1.Add(24*time.Hour)
	d.Statements = append(d.Statements, s)
	if _, err := d.JSON(); err != nil {
		t.Fatal(err)
	}
}

// TestJustifications checks the constants against the schema's enum.
func TestJustifications(t *testing.T) {
	f, err := os.ReadFile(filepath.Join("testdata", "openvex_json_schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range append(slices.Clone(justifications), statuses...) {
		if !bytes.Contains(f, []byte(`"`+j+`"`)) {
			t.Errorf("%s is not in the schema", j)
		}
	}
	if len(justifications) != 5 || len(statuses) != 4 {
		t.Errorf("%d justifications and %d statuses, the spec has 5 and 4", len(justifications), len(statuses))
	}
}
