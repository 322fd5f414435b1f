package vex_test

import (
	"fmt"
	"log"
	"time"

	"github.com/hallmark-dev/hallmark/vex"
)

// An approved exception, exported for scanners: GO-2021-0113 in
// golang.org/x/text does not affect example.com/app, because the vulnerable
// function is never reached.
func Example() {
	d := vex.Document{
		ID:        "https://hallmark.example.com/exceptions/42/vex",
		Author:    "Hallmark exceptions <security@example.com>",
		Role:      "approver",
		Timestamp: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		Statements: []vex.Statement{{
			Vulnerability: "GO-2021-0113",
			Aliases:       []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"},
			Products:      []string{"pkg:golang/example.com/app@v1.2.0"},
			Subcomponents: []string{"pkg:golang/golang.org/x/text@v0.3.5"},
			Status:        vex.NotAffected,
			Justification: vex.VulnerableCodeNotInExecutePath,
		}},
	}
	out, err := d.JSON()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))

	back, err := vex.Parse(out)
	if err != nil {
		log.Fatal(err)
	}
	s := back.Statements[0]
	fmt.Println(s.Vulnerability, s.Status, s.Justification)
	// Output:
	// {
	//   "@context": "https://openvex.dev/ns/v0.2.0",
	//   "@id": "https://hallmark.example.com/exceptions/42/vex",
	//   "author": "Hallmark exceptions <security@example.com>",
	//   "role": "approver",
	//   "timestamp": "2026-11-01T09:00:00Z",
	//   "version": 1,
	//   "statements": [
	//     {
	//       "vulnerability": {
	//         "name": "GO-2021-0113",
	//         "aliases": [
	//           "CVE-2021-38561",
	//           "GHSA-ppp9-7jff-5vj2"
	//         ]
	//       },
	//       "products": [
	//         {
	//           "@id": "pkg:golang/example.com/app@v1.2.0",
	//           "identifiers": {
	//             "purl": "pkg:golang/example.com/app@v1.2.0"
	//           },
	//           "subcomponents": [
	//             {
	//               "@id": "pkg:golang/golang.org/x/text@v0.3.5",
	//               "identifiers": {
	//                 "purl": "pkg:golang/golang.org/x/text@v0.3.5"
	//               }
	//             }
	//           ]
	//         }
	//       ],
	//       "status": "not_affected",
	//       "justification": "vulnerable_code_not_in_execute_path"
	//     }
	//   ]
	// }
	// GO-2021-0113 not_affected vulnerable_code_not_in_execute_path
}

// A statement that breaks the format is refused with the field named.
func ExampleDocument_JSON_error() {
	d := vex.Document{
		Author:    "security@example.com",
		Timestamp: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		Statements: []vex.Statement{{
			Vulnerability: "CVE-2021-38561",
			Products:      []string{"pkg:golang/example.com/app@v1.2.0"},
			Status:        vex.NotAffected,
		}},
	}
	_, err := d.JSON()
	fmt.Println(err)
	// Output:
	// vex: statements[0].justification: missing: a not_affected statement needs a justification or an impact_statement
}
