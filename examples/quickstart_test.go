// Package examples holds runnable examples of the README; the test runs them
// so they cannot rot.
package examples

import (
	"os/exec"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	out, err := exec.Command("bash", "quickstart.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("quickstart.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"hallmark: verified", "verification failed: signature", "quick start done"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
