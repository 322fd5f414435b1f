package hardening_test

import (
	"fmt"
	"log"
	"os"

	"github.com/hallmark-dev/hallmark/hardening"
)

// Check a binary and print the failed checks that matter. The report
// depends on how the binary was built, so this example has no fixed output.
func ExampleCheckFile() {
	rep, err := hardening.CheckFile(os.Args[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s\n", rep.Format, rep.Arch)
	for _, f := range rep.Findings {
		if !f.Pass && f.Severity != hardening.Info {
			fmt.Printf("%s (%s): %s\n", f.Check, f.Severity, f.Detail)
		}
	}
}
