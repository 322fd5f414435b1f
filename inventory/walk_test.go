package inventory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestSkippedDirs(t *testing.T) {
	nested := func(p string) string {
		return "module example.com/" + p + "\n\ngo 1.22.0\n\nrequire example.com/from-" + p + " v1.0.0\n"
	}
	root := writeTree(t, map[string]string{
		"go.mod":                  "module example.com/app\n",
		"node_modules/x/go.mod":   nested("nm"),
		"vendor/go.mod":           nested("vendor"),
		"testdata/fixture/go.mod": nested("testdata"),
		".git/go.mod":             nested("git"),
		".hg/go.mod":              nested("hg"),
		".svn/go.mod":             nested("svn"),
		"deep/generated/go.mod":   nested("generated"),
		"kept/go.mod":             nested("kept"),
	})
	inv := walk(t, root, Options{SkipDirs: []string{"generated"}})
	want := lines(
		"pkg:golang/example.com/from-kept@v1.0.0 direct [kept/go.mod]",
		"pkg:golang/example.com/kept direct [kept/go.mod]")
	if got := summary(inv); got != want {
		t.Errorf("components\n%s\nwant\n%s", got, want)
	}
}

func TestGenericSubject(t *testing.T) {
	root := writeTree(t, map[string]string{"docs/readme.txt": "hello\n"})
	dir := filepath.Join(root, "my project")
	if err := os.Rename(filepath.Join(root, "docs"), dir); err != nil {
		t.Fatal(err)
	}
	inv := walk(t, dir, Options{})
	if inv.Subject.Name != "my project" || inv.Subject.Ecosystem != "" || inv.Subject.PURL != "pkg:generic/my%20project" || inv.Subject.Version != "" {
		t.Errorf("subject %+v", inv.Subject)
	}
	if len(inv.Components) != 0 || len(inv.Files) != 0 || len(inv.Warnings) != 0 {
		t.Errorf("found something in a tree of one text file: %+v", inv)
	}
}

func TestSymlinks(t *testing.T) {
	root := writeTree(t, map[string]string{
		"go.mod":           "module example.com/app\n",
		"elsewhere/go.mod": "module example.com/elsewhere\n\ngo 1.22.0\n",
	})
	other := writeTree(t, map[string]string{"go.mod": "module example.com/outside\n\ngo 1.20\n"})
	for _, l := range [][2]string{
		{"a", filepath.Join(root, "b")},
		{"b", filepath.Join(root, "a")},
		{"self", "."},
		{"up", ".."},
		{"outside", other},
		{"outside.mod", filepath.Join(other, "go.mod")},
	} {
		if err := os.Symlink(l[1], filepath.Join(root, l[0])); err != nil {
			t.Skipf("cannot make symbolic links here: %v", err)
		}
	}
	inv := walk(t, root, Options{})
	want := lines(
		"pkg:golang/example.com/elsewhere direct [elsewhere/go.mod]")
	if got := summary(inv); got != want {
		t.Errorf("components\n%s\nwant (symbolic links not followed)\n%s", got, want)
	}
	if len(inv.Warnings) != 0 {
		t.Errorf("warnings %v", warningStrings(inv))
	}
}

func TestUnreadable(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not restrict reading on Windows")
	}
	root := writeTree(t, map[string]string{
		"go.mod":        "module example.com/app\n",
		"secret":        "\x7fELF\x02\x01\x01\x00",
		"closed/go.mod": "module example.com/closed\n",
	})
	if err := os.Chmod(filepath.Join(root, "secret"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "closed"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(root, "closed"), 0o755) })
	if f, err := os.Open(filepath.Join(root, "secret")); err == nil {
		f.Close()
		t.Skip("running with privileges that read files of mode 0 (root)")
	}
	inv := walk(t, root, Options{})
	got := warningStrings(inv)
	want := []string{"closed: open: permission denied", "secret: open: permission denied"}
	if !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
}

func TestCanceled(t *testing.T) {
	root := writeTree(t, map[string]string{"go.mod": "module example.com/app\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Walk(ctx, root, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a canceled context: %v", err)
	}
}

func TestRootNotReadable(t *testing.T) {
	_, err := Walk(context.Background(), filepath.Join(t.TempDir(), "missing"), Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "inventory: ") {
		t.Errorf("Walk of a missing root: %v", err)
	}
}

func TestGoModCacheDir(t *testing.T) {
	t.Setenv("GOMODCACHE", "/cache")
	if got := goModCache(Options{}); got != "/cache" {
		t.Errorf("goModCache = %q with GOMODCACHE=/cache", got)
	}
	if got := goModCache(Options{GoModCache: "/opt"}); got != "/opt" {
		t.Errorf("goModCache = %q with Options.GoModCache=/opt", got)
	}
	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", "/gp1"+string(os.PathListSeparator)+"/gp2")
	if got := goModCache(Options{}); got != filepath.Join("/gp1", "pkg", "mod") {
		t.Errorf("goModCache = %q with GOPATH=/gp1:/gp2", got)
	}
	if got := moduleCacheDir("/c", "github.com/BurntSushi/toml", "v1.5.0"); got != filepath.FromSlash("/c/github.com/!burnt!sushi/toml@v1.5.0") {
		t.Errorf("moduleCacheDir = %q", got)
	}
	if got := moduleCacheDir("/c", "bad path\x00", "v1.0.0"); got != "" {
		t.Errorf("moduleCacheDir of an invalid path = %q", got)
	}
}

func TestLicenses(t *testing.T) {
	cache := writeTree(t, map[string]string{
		"example.com/!mixed@v1.0.0/LICENSE": mitText,
		"example.com/plain@v1.0.0/README":   "no licence here\n",
	})
	root := writeTree(t, map[string]string{
		"go.mod":  "module example.com/app\n\ngo 1.22.0\n\nrequire (\n\texample.com/Mixed v1.0.0\n\texample.com/plain v1.0.0\n\texample.com/absent v1.0.0\n)\n",
		"LICENSE": mitText,
	})
	inv := walk(t, root, Options{Licenses: true, GoModCache: cache})
	if !slices.Equal(inv.Subject.Licenses, []string{"MIT"}) {
		t.Errorf("subject licences %q, want MIT", inv.Subject.Licenses)
	}
	for purl, want := range map[string][]string{
		"pkg:golang/example.com/Mixed@v1.0.0":  {"MIT"},
		"pkg:golang/example.com/plain@v1.0.0":  nil,
		"pkg:golang/example.com/absent@v1.0.0": nil,
	} {
		c := inv.Component(purl)
		if c == nil || !slices.Equal(c.Licenses, want) {
			t.Errorf("%s: %+v, want licences %q", purl, c, want)
		}
	}
	if len(inv.Warnings) != 0 {
		t.Errorf("warnings %v", warningStrings(inv))
	}
	inv = walk(t, root, Options{GoModCache: cache})
	if inv.Subject.Licenses != nil || inv.Component("pkg:golang/example.com/Mixed@v1.0.0").Licenses != nil {
		t.Error("licences looked up without Options.Licenses")
	}
}

const mitText = `MIT License

Copyright (c) 2024 Example Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`

// TestVanished covers the files that cannot be opened whatever the
// privileges: one removed between the directory listing and the read.
func TestVanished(t *testing.T) {
	dir := t.TempDir()
	for _, j := range []job{
		{kind: jobSniff, rel: "gone", abs: filepath.Join(dir, "gone")},
		{kind: jobGoMod, rel: "sub/go.mod", abs: filepath.Join(dir, "sub", "go.mod")},
	} {
		r := runJob(j, Options{MaxFileSize: DefaultMaxFileSize})
		if len(r.warnings) != 1 || r.warnings[0].Path != j.rel || !strings.HasPrefix(r.warnings[0].Msg, "open: ") {
			t.Errorf("%s: warnings %v, want one open error", j.rel, r.warnings)
		}
	}
}

func TestSymlinkRoot(t *testing.T) {
	root := writeTree(t, map[string]string{"real/go.mod": "module example.com/app\n\ngo 1.22.0\n"})
	link := filepath.Join(root, "link")
	if err := os.Symlink(filepath.Join(root, "real"), link); err != nil {
		t.Skipf("cannot make symbolic links here: %v", err)
	}
	inv := walk(t, link, Options{})
	if inv.Subject.PURL != "pkg:golang/example.com/app" || len(inv.Components) != 0 {
		t.Errorf("root linked to a directory: subject %s, components\n%s", inv.Subject.PURL, summary(inv))
	}
}
