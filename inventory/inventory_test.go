package inventory

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// writeTree creates the files of tree (slash-separated paths to contents)
// under a new temporary directory, which is not in a git work tree, and
// returns it.
func writeTree(t testing.TB, tree map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if gitTop(root) != "" {
		t.Fatalf("temporary directory %s is inside a git work tree", root)
	}
	for name, content := range tree {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func walk(t testing.TB, root string, opts Options) *Inventory {
	t.Helper()
	inv, err := Walk(context.Background(), root, opts)
	if err != nil {
		t.Fatalf("Walk(%s): %v", root, err)
	}
	return inv
}

// summary lists the components as "purl scope [locations]", one per line.
func summary(inv *Inventory) string {
	var b strings.Builder
	for _, c := range inv.Components {
		fmt.Fprintf(&b, "%s %s %v\n", c.PURL, c.Scope, c.Locations)
	}
	return b.String()
}

func warningStrings(inv *Inventory) []string {
	var s []string
	for _, w := range inv.Warnings {
		s = append(s, w.String())
	}
	return s
}

func lines(s ...string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s, "\n") + "\n"
}

// goBuild builds the package pkg of this module into dir/name with the
// reproducible flags the tests rely on.
func goBuild(dir, name, pkg string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOPROXY=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// depbin is the binary built from testdata/depbin by TestMain; "" when the
// go command is missing (depbinSkip says why).
var depbin, depbinSkip string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "inventory-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := exec.LookPath("go"); err != nil {
		depbinSkip = "the go command is not on PATH: cannot build a Go binary to test with"
	} else if depbin, err = goBuild(dir, "depbin", "./testdata/depbin"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needDepbin(t testing.TB) string {
	t.Helper()
	if depbin == "" {
		t.Skip(depbinSkip)
	}
	return depbin
}

func TestMergeScopes(t *testing.T) {
	for _, tc := range []struct {
		in   []Scope
		want Scope
	}{
		{[]Scope{Indirect, Direct}, Direct},
		{[]Scope{Direct, Indirect}, Direct},
		{[]Scope{Development, Indirect}, Indirect},
		{[]Scope{Development}, Development},
		{[]Scope{Toolchain, Direct}, Toolchain},
		{[]Scope{Direct, Toolchain}, Toolchain},
	} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			b := newBuilder()
			for i, s := range tc.in {
				b.add(Component{PURL: "pkg:x/y", Scope: s, Locations: []string{fmt.Sprintf("f%d", 2-i)},
					Licenses: []string{"MIT"}, Hashes: map[string]string{fmt.Sprintf("H%d", i): "00"}})
			}
			inv := b.finish()
			if len(inv.Components) != 1 {
				t.Fatalf("%d components, want 1", len(inv.Components))
			}
			c := inv.Components[0]
			if c.Scope != tc.want {
				t.Errorf("scope %q, want %q", c.Scope, tc.want)
			}
			if !slices.IsSorted(c.Locations) || len(c.Locations) != len(tc.in) {
				t.Errorf("locations %v: not merged and sorted", c.Locations)
			}
			if !reflect.DeepEqual(c.Licenses, []string{"MIT"}) || len(c.Hashes) != len(tc.in) {
				t.Errorf("licences %v, hashes %v: not merged", c.Licenses, c.Hashes)
			}
		})
	}
}

func TestSortedOutput(t *testing.T) {
	b := newBuilder()
	for _, p := range []string{"pkg:golang/c@v1", "pkg:golang/a@v1", "pkg:golang/b@v1"} {
		b.add(Component{PURL: p})
	}
	inv := b.finish()
	if !slices.IsSortedFunc(inv.Components, func(x, y Component) int { return strings.Compare(x.PURL, y.PURL) }) {
		t.Errorf("components not sorted by PURL: %s", summary(inv))
	}
	if c := inv.Component("pkg:golang/b@v1"); c == nil || c.PURL != "pkg:golang/b@v1" {
		t.Errorf("Component(b) = %v", c)
	}
}
