package vex

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// foreign is a document as another tool writes it: members this package
// does not model, purls only in @id, hashes, a product with an IRI @id and
// identifiers.purl.
const foreign = `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://openvex.dev/docs/public/vex-2e67563e128250cbcb3e98930df948dd053e43271d70dc50cfa22d57e03fe96f",
  "author": "Wolfi J Inkinson",
  "role": "Document Creator",
  "timestamp": "2023-01-08T18:02:03.647787998-06:00",
  "last_updated": "2023-01-09T18:02:03Z",
  "version": 2,
  "tooling": "vexctl/v0.4.4",
  "statements": [
    {
      "@id": "https://example.com/statement/1",
      "version": 1,
      "vulnerability": {
        "@id": "https://nvd.nist.gov/vuln/detail/CVE-2023-1255",
        "name": "CVE-2023-1255",
        "description": "Input buffer over-read in AES-XTS implementation on 64 bit ARM",
        "aliases": ["GHSA-xxxx-yyyy-zzzz"]
      },
      "timestamp": "2023-01-10T00:00:00Z",
      "last_updated": "2023-01-11T00:00:00Z",
      "products": [
        {
          "@id": "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64",
          "hashes": {"sha-256": "0123abcd"},
          "subcomponents": [
            {"@id": "pkg:apk/wolfi/openssl@3.0.7-r0?arch=x86_64"}
          ]
        },
        {
          "@id": "https://example.com/products/git",
          "identifiers": {"purl": "pkg:apk/wolfi/git@2.39.0-r1?arch=aarch64", "cpe23": "cpe:2.3:a:git:git:2.39.0:*:*:*:*:*:*:*"},
          "subcomponents": [
            {"identifiers": {"purl": "pkg:apk/wolfi/openssl@3.0.7-r0?arch=x86_64"}, "hashes": {"sha1": "ab"}}
          ]
        }
      ],
      "status": "not_affected",
      "supplier": "Wolfi",
      "status_notes": "checked by hand",
      "justification": "inline_mitigations_already_exist",
      "impact_statement": "Included git is mitigated against CVE-2023-12345 !"
    },
    {
      "vulnerability": {"name": "CVE-2023-2650"},
      "products": [{"@id": "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64"}],
      "status": "affected",
      "action_statement": "upgrade to 2.39.1",
      "action_statement_timestamp": "2023-01-12T00:00:00Z"
    }
  ]
}`

func TestParseForeign(t *testing.T) {
	d, err := Parse([]byte(foreign))
	if err != nil {
		t.Fatal(err)
	}
	want := &Document{
		ID:        "https://openvex.dev/docs/public/vex-2e67563e128250cbcb3e98930df948dd053e43271d70dc50cfa22d57e03fe96f",
		Author:    "Wolfi J Inkinson",
		Role:      "Document Creator",
		Timestamp: time.Date(2023, 1, 9, 0, 2, 3, 647787998, time.UTC),
		Version:   2,
		Statements: []Statement{
			{
				Vulnerability:   "CVE-2023-1255",
				Aliases:         []string{"GHSA-xxxx-yyyy-zzzz"},
				Products:        []string{"pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64", "pkg:apk/wolfi/git@2.39.0-r1?arch=aarch64"},
				Subcomponents:   []string{"pkg:apk/wolfi/openssl@3.0.7-r0?arch=x86_64"},
				Status:          NotAffected,
				Justification:   InlineMitigationsAlreadyExist,
				ImpactStatement: "Included git is mitigated against CVE-2023-12345 !",
				Timestamp:       time.Date(2023, 1, 10, 0, 0, 0, 0, time.UTC),
			},
			{
				Vulnerability:   "CVE-2023-2650",
				Products:        []string{"pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64"},
				Status:          Affected,
				ActionStatement: "upgrade to 2.39.1",
			},
		},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Parse:\n%+v\nwant:\n%+v", d, want)
	}
	// What Parse accepts, JSON writes and the schema accepts.
	if err := schemaErr(compileSchema(t), mustJSON(t, *d)); err != nil {
		t.Error(err)
	}
}

func TestParseErrors(t *testing.T) {
	sample := string(mustJSON(t, sample()))
	// edit replaces old in the sample (once; it must be there).
	edit := func(old, new string) string {
		if !strings.Contains(sample, old) {
			t.Fatalf("%q is not in the sample", old)
		}
		return strings.Replace(sample, old, new, 1)
	}
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"not json", `{"@context": `, "invalid JSON: unexpected end of JSON input"},
		{"trailing data", sample + "{}", "invalid JSON"},
		{"array", `[]`, "document is array, want object"},
		{"null", `null`, "document is null, want object"},
		{"bad utf-8", edit(`"author": "Hallmark`, "\"author\": \"\xffHallmark"), "document is not valid UTF-8"},
		{"too large", sample + strings.Repeat(" ", MaxSize), "more than the limit of 16777216"},
		{"unknown member", edit(`"version": 1,`, `"version": 1, "signature": "x",`), `unknown member "signature"`},
		{"duplicate member", edit(`"version": 1,`, `"version": 1, "version": 2,`), `duplicate member "version"`},
		{"missing context", edit(`"@context": "https://openvex.dev/ns/v0.2.0",`, ``), "@context: missing"},
		{"old context", edit(`/ns/v0.2.0`, `/ns`), `@context: "https://openvex.dev/ns" is not OpenVEX v0.2.0's context`},
		{"missing id", edit(`"@id": "https://hallmark.dev/vex/`, `"x-id": "`), `unknown member "x-id"`},
		{"relative id", edit(`"@id": "https://hallmark.dev/vex/`, `"@id": "vex/`), `@id: "vex/`},
		{"author number", edit(`"author": "Hallmark exceptions <security@example.com>"`, `"author": 7`), "author: is number, want string"},
		{"empty author", edit(`"author": "Hallmark exceptions <security@example.com>"`, `"author": ""`), "author: missing"},
		{"bad timestamp", edit(`"timestamp": "2026-11-01T08:30:00Z"`, `"timestamp": "2026-11-01 08:30"`), `timestamp: "2026-11-01 08:30" is not an RFC 3339 timestamp`},
		{"version string", edit(`"version": 1`, `"version": "1"`), "version: is string, want integer"},
		{"version fraction", edit(`"version": 1`, `"version": 1.5`), "version: 1.5 is not an integer"},
		{"version huge", edit(`"version": 1`, `"version": 99999999999999999999`), "version: 99999999999999999999 is not an integer"},
		{"version 0", edit(`"version": 1`, `"version": 0`), "version: 0 is less than 1"},
		{"statements object", edit(`"statements": [`, `"statements": {"a": [`) + "}", "statements: is object, want array"},
		{"no statements", `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://x/1", "author": "a", "timestamp": "2026-01-01T00:00:00Z", "version": 1, "statements": []}`, "statements: no statements"},
		{"statement string", edit(`"statements": [`, `"statements": ["x", `), "statements[0]: is string, want object"},
		{"statement unknown member", edit(`"status": "fixed"`, `"status": "fixed", "severity": "high"`), `statements[0]: unknown member "severity"`},
		{"missing status", edit(`"status": "fixed"`, `"status_notes": "fixed"`), "statements[0].status: missing"},
		{"bad status", edit(`"status": "fixed"`, `"status": "FIXED"`), `statements[0].status: "FIXED" is not one of`},
		{"missing vulnerability", edit(`"vulnerability": {
        "name": "CVE-2024-0001"
      },`, ``), "statements[0].vulnerability: missing"},
		{"vulnerability name missing", edit(`"name": "CVE-2024-0001"`, `"description": "CVE-2024-0001"`), "statements[0].vulnerability.name: missing"},
		{"vulnerability unknown member", edit(`"name": "CVE-2024-0001"`, `"name": "CVE-2024-0001", "id": "x"`), `statements[0].vulnerability: unknown member "id"`},
		{"alias number", edit(`"CVE-2021-38561",`, `7,`), "statements[2].vulnerability.aliases[0]: is number, want string"},
		{"missing products", edit(`"products": [
        {
          "@id": "pkg:golang/example.com/app@v1.2.0",
          "identifiers": {
            "purl": "pkg:golang/example.com/app@v1.2.0"
          }
        }
      ],
      "status": "fixed"`, `"status": "fixed"`), "statements[0].products: missing"},
		{"product without purl", edit(`"@id": "pkg:golang/example.com/app@v1.2.0",
          "identifiers": {
            "purl": "pkg:golang/example.com/app@v1.2.0"
          }`, `"@id": "https://example.com/app"`), "statements[0].products[0]: no purl: only components identified by package URL are supported"},
		{"product cpe only", edit(`"@id": "pkg:golang/example.com/app@v1.2.0",
          "identifiers": {
            "purl": "pkg:golang/example.com/app@v1.2.0"
          }`, `"identifiers": {"cpe23": "cpe:2.3:a:x:y:1:*:*:*:*:*:*:*"}`), "statements[0].products[0]: no purl"},
		{"product empty", edit(`"@id": "pkg:golang/example.com/app@v1.2.0",
          "identifiers": {
            "purl": "pkg:golang/example.com/app@v1.2.0"
          }`, ``), "statements[0].products[0]: no @id or identifiers"},
		{"empty identifiers", edit(`"identifiers": {
            "purl": "pkg:golang/example.com/app@v1.2.0"
          }`, `"identifiers": {}`), "statements[0].products[0].identifiers: empty: want purl, cpe22 or cpe23"},
		{"purls differ", edit(`"purl": "pkg:golang/example.com/app@v1.2.0"`, `"purl": "pkg:golang/example.com/app@v1.3.0"`),
			`statements[0].products[0].@id: "pkg:golang/example.com/app@v1.2.0" is a different purl from identifiers.purl "pkg:golang/example.com/app@v1.3.0"`},
		{"bad purl", edit(`"purl": "pkg:golang/example.com/app@v1.2.0"`, `"purl": "pkg:/"`), `statements[0].products[0].identifiers.purl: "pkg:/" is not a package URL`},
		{"unknown identifier", edit(`"purl": "pkg:golang/example.com/app@v1.2.0"`, `"swid": "x"`), `statements[0].products[0].identifiers: unknown member "swid"`},
		{"bad hash", edit(`"purl": "pkg:golang/example.com/app@v1.2.0"
          }`, `"purl": "pkg:golang/example.com/app@v1.2.0"
          }, "hashes": {"sha-256": 1}`), "statements[0].products[0].hashes.sha-256: is number, want string"},
		{"unknown hash", edit(`"purl": "pkg:golang/example.com/app@v1.2.0"
          }`, `"purl": "pkg:golang/example.com/app@v1.2.0"
          }, "hashes": {"crc32": "1"}`), `statements[0].products[0].hashes: unknown member "crc32"`},
		{"subcomponent with subcomponents", edit(`"@id": "pkg:golang/golang.org/x/text@v0.3.5",`, `"@id": "pkg:golang/golang.org/x/text@v0.3.5", "subcomponents": [],`),
			`statements[2].products[0].subcomponents[0]: unknown member "subcomponents"`},
		{"subcomponents differ", edit(`"@id": "pkg:oci/app@sha256%3Aabcd",
          "identifiers": {
            "purl": "pkg:oci/app@sha256%3Aabcd"
          },
          "subcomponents": [
            {
              "@id": "pkg:golang/golang.org/x/net@v0.0.1",
              "identifiers": {
                "purl": "pkg:golang/golang.org/x/net@v0.0.1"
              }
            }
          ]`, `"@id": "pkg:oci/app@sha256%3Aabcd"`), "statements[3].products[1].subcomponents: differ from statements[3].products[0]'s"},
		{"duplicate subcomponent", edit(`"subcomponents": [
            {
              "@id": "pkg:golang/golang.org/x/text@v0.3.5",`, `"subcomponents": [
            {"@id": "pkg:golang/golang.org/x/text@v0.3.5"},
            {
              "@id": "pkg:golang/golang.org/x/text@v0.3.5",`), `statements[2].products[0].subcomponents[1]: "pkg:golang/golang.org/x/text@v0.3.5" repeats [0]`},
		{"justification missing", edit(`"justification": "vulnerable_code_not_in_execute_path",`, ``), ""},
		{"not_affected without reason", strings.Replace(edit(`"justification": "vulnerable_code_not_in_execute_path",`, ``),
			`"impact_statement": "language.Parse is never called with input from outside"`, `"status_notes": "x"`, 1),
			"statements[2].justification: missing"},
		{"bad justification", edit(`"justification": "vulnerable_code_not_in_execute_path"`, `"justification": "not_reachable"`), `statements[2].justification: "not_reachable" is not one of`},
		{"statement version 0", edit(`"status": "fixed"`, `"status": "fixed", "version": 0`), "statements[0].version: 0 is less than 1"},
		{"statement id relative", edit(`"status": "fixed"`, `"status": "fixed", "@id": "s1"`), `statements[0].@id: "s1" is not an absolute IRI`},
		{"bad action timestamp", edit(`"status": "fixed"`, `"status": "fixed", "action_statement_timestamp": "yesterday"`), `statements[0].action_statement_timestamp: "yesterday" is not an RFC 3339 timestamp`},
		{"long string", edit(`"role": "security approver"`, `"role": "`+strings.Repeat("r", MaxText+1)+`"`), "role: 65537 bytes, more than the limit of 65536"},
		{"repeated statement", edit(`"statements": [`, `"statements": [
    {"vulnerability": {"name": "CVE-2024-0001"}, "products": [{"@id": "pkg:golang/example.com/app@v1.2.0"}], "status": "under_investigation"},`),
			"statements[1]: repeats statements[0]: vulnerability CVE-2024-0001 for product pkg:golang/example.com/app@v1.2.0 at the same time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error is %T, want *FieldError", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "vex: ") {
				t.Errorf("error\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

func TestParseStatementLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://x/1", "author": "a", "timestamp": "2026-01-01T00:00:00Z", "version": 1, "statements": [`)
	for i := range MaxStatements + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{}`)
	}
	b.WriteString("]}")
	_, err := Parse([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "statements: 100001 statements, more than the limit of 100000") {
		t.Errorf("error %v, want the statement limit", err)
	}
}
