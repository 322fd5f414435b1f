package vsa_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hallmark-dev/hallmark/vsa"
)

// The policy gate's verdict on one binary as a VSA statement (indented here
// for reading; Statement writes one line).
func ExampleStatement() {
	statement, err := vsa.Statement(vsa.Summary{
		Subjects: []vsa.Subject{{
			Name:   "bin/app",
			Digest: map[string]string{"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		}},
		VerifierID:      "https://hallmark.example/gate",
		VerifierVersion: map[string]string{"hallmark": "1.4.0"},
		TimeVerified:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		ResourceURI:     "pkg:generic/app@1.0.0",
		PolicyURI:       "https://hallmark.example/policies/default/3",
		Result:          vsa.Passed,
		VerifiedLevels:  []string{"SLSA_BUILD_LEVEL_3", "HALLMARK_RISK_HIGH"},
		SLSAVersion:     "1.0",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var out bytes.Buffer
	json.Indent(&out, statement, "", "  ")
	fmt.Println(out.String())
	// Output:
	// {
	//   "_type": "https://in-toto.io/Statement/v1",
	//   "subject": [
	//     {
	//       "name": "bin/app",
	//       "digest": {
	//         "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	//       }
	//     }
	//   ],
	//   "predicateType": "https://slsa.dev/verification_summary/v1",
	//   "predicate": {
	//     "verifier": {
	//       "id": "https://hallmark.example/gate",
	//       "version": {
	//         "hallmark": "1.4.0"
	//       }
	//     },
	//     "timeVerified": "2026-01-02T03:04:05Z",
	//     "resourceUri": "pkg:generic/app@1.0.0",
	//     "policy": {
	//       "uri": "https://hallmark.example/policies/default/3"
	//     },
	//     "verificationResult": "PASSED",
	//     "verifiedLevels": [
	//       "SLSA_BUILD_LEVEL_3",
	//       "HALLMARK_RISK_HIGH"
	//     ],
	//     "slsaVersion": "1.0"
	//   }
	// }
}

// A summary that does not meet the specification is refused, naming the
// field.
func ExampleStatement_invalid() {
	_, err := vsa.Statement(vsa.Summary{
		Subjects:       []vsa.Subject{{Digest: map[string]string{"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}},
		VerifierID:     "https://hallmark.example/gate",
		TimeVerified:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		ResourceURI:    "pkg:generic/app@1.0.0",
		PolicyURI:      "https://hallmark.example/policies/default/3",
		Result:         vsa.Passed,
		VerifiedLevels: []string{"SLSA_BUILD_LEVEL_3", "SLSA_BUILD_LEVEL_2"},
	})
	fmt.Println(err)
	// Output: vsa: predicate.verifiedLevels[1]: "SLSA_BUILD_LEVEL_3" and "SLSA_BUILD_LEVEL_2" are both of track BUILD; list only the highest
}
