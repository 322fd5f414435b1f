package scan_test

import (
	"os"
	"strings"

	"github.com/hallmark-dev/hallmark/scan"
)

// A gosec result read from SARIF, written back as a table.
func ExampleReadSARIF() {
	log := `{"version": "2.1.0", "runs": [{
	  "tool": {"driver": {"name": "gosec", "rules": [{"id": "G401", "properties": {"security-severity": "7.5"}}]}},
	  "results": [{"ruleId": "G401", "level": "warning", "message": {"text": "Use of weak cryptographic primitive"},
	    "locations": [{"physicalLocation": {"artifactLocation": {"uri": "crypto/hash.go"}, "region": {"startLine": 12}}}]}]}]}`
	findings, err := scan.ReadSARIF(strings.NewReader(log), "gosec.sarif")
	if err != nil {
		panic(err)
	}
	rep := &scan.Report{Findings: findings}
	rep.WriteText(os.Stdout)
	// Output:
	// SEVERITY  ID    PACKAGE            FIXED  REACH  SUMMARY
	// high      G401  crypto/hash.go:12  -      -      Use of weak cryptographic primitive
	// 1 findings in 0 components: 1 high
}
