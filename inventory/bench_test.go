package inventory

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkWalk walks this repository and, when it is in the module cache,
// the tree of github.com/sigstore/sigstore-go@v1.3.0: the trees the
// comparison with syft uses.
func BenchmarkWalk(b *testing.B) {
	repo, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	roots := []struct {
		name string
		dir  string
		opts Options
	}{
		{"repo", repo, Options{}},
		{"repo-licenses", repo, Options{Licenses: true}},
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "sigstore", "sigstore-go@v1.3.0")
		roots = append(roots, struct {
			name string
			dir  string
			opts Options
		}{"sigstore-go", dir, Options{}})
	}
	for _, r := range roots {
		b.Run(r.name, func(b *testing.B) {
			if _, err := os.Stat(r.dir); err != nil {
				b.Skipf("%s: %v", r.name, err)
			}
			var n int
			for b.Loop() {
				inv, err := Walk(context.Background(), r.dir, r.opts)
				if err != nil {
					b.Fatal(err)
				}
				n = len(inv.Components)
			}
			b.ReportMetric(float64(n), "components")
		})
	}
}
