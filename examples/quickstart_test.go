// Package examples holds runnable examples of the README; the test runs them
// so they cannot rot.
package examples

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	if _, err := os.ReadFile("quickstart.sh"); err != nil {
		t.Fatal(err)
	}
	readSources(t)
	out, err := exec.Command("bash", "quickstart.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("quickstart.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"hallmark: verified", "timestamped at", "log monitor: checked entries",
		"verification failed: signature", "reproduced: all 4 output(s)", "verified hello-out against policy verify.yaml: 4 file(s), 3 executable(s)",
		"quick start done"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// readSources reads the module's Go sources and go.mod. The script builds the
// binary from them, and go test caches a result only while the files a test
// read are unchanged: reading them keeps a cached pass from outliving a change.
func readSources(t *testing.T) {
	root := ".."
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum") {
			if _, err := os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
}
