package inventory

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitRepo makes a git repository of tree with one commit dated when and
// returns its directory and the commit hash.
func gitRepo(t *testing.T, tree map[string]string, when time.Time) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
	root := writeTree(t, tree)
	date := when.Format(time.RFC3339)
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", root, "-c", "user.name=Test", "-c", "user.email=test@example.com",
			"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_NOSYSTEM=1", "HOME="+root)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "test")
	return root, git("rev-parse", "HEAD")
}

func gitTag(t *testing.T, root, tag string) {
	t.Helper()
	cmd := exec.Command("git", "-C", root, "tag", tag)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git tag %s: %v\n%s", tag, err, out)
	}
}

func TestGitVersion(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 2*3600))
	root, hash := gitRepo(t, map[string]string{
		"go.mod":     "module example.com/g\n\ngo 1.22.0\n",
		"sub/go.mod": "module example.com/g/sub\n",
		"README":     "hello\n",
	}, when)
	pseudo := "v0.0.0-20240102010405-" + hash[:12]

	inv := walk(t, root, Options{})
	if inv.Subject.Version != pseudo || inv.Subject.PURL != "pkg:golang/example.com/g@"+pseudo {
		t.Errorf("untagged: subject %s %s, want the pseudo-version %s", inv.Subject.Version, inv.Subject.PURL, pseudo)
	}
	if inv.Component("pkg:golang/example.com/g/sub@"+pseudo) == nil {
		t.Errorf("untagged: nested module without the pseudo-version %s:\n%s", pseudo, summary(inv))
	}

	// A dirty tree gets no marker.
	if err := os.WriteFile(filepath.Join(root, "README"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitTag(t, root, "v1.2")        // not canonical: not a version
	gitTag(t, root, "release-1")   // not semver
	gitTag(t, root, "v1.2.3")      // the version
	gitTag(t, root, "v1.2.4-rc.1") // lower than... no: higher prerelease of v1.2.4
	gitTag(t, root, "sub/v0.1.0")  // the nested module's
	inv = walk(t, root, Options{})
	if inv.Subject.Version != "v1.2.4-rc.1" {
		t.Errorf("tagged: subject version %q, want the highest semver tag v1.2.4-rc.1", inv.Subject.Version)
	}
	if inv.Component("pkg:golang/example.com/g/sub@v0.1.0") == nil {
		t.Errorf("tagged: nested module without its sub/v0.1.0 tag:\n%s", summary(inv))
	}

	// A tree that names no package: a generic subject with the version.
	generic, hash2 := gitRepo(t, map[string]string{"data.txt": "x\n"}, when)
	inv = walk(t, generic, Options{})
	want := "pkg:generic/" + filepath.Base(generic) + "@v0.0.0-20240102010405-" + hash2[:12]
	if inv.Subject.PURL != want {
		t.Errorf("generic subject %s, want %s", inv.Subject.PURL, want)
	}
}

func TestSourceDateEpoch(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	root, _ := gitRepo(t, map[string]string{"go.mod": "module example.com/g\n"}, when)

	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if got, ok := SourceDateEpoch(root); !ok || !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("with SOURCE_DATE_EPOCH: %v %v", got, ok)
	}
	for _, bad := range []string{"", "soon", "-1", "1e9"} {
		t.Setenv("SOURCE_DATE_EPOCH", bad)
		if got, ok := SourceDateEpoch(root); !ok || !got.Equal(when) {
			t.Errorf("SOURCE_DATE_EPOCH=%q: %v %v, want HEAD's commit time %v", bad, got, ok, when)
		}
		if got, ok := SourceDateEpoch(filepath.Join(root, "go.mod")); !ok || !got.Equal(when) {
			t.Errorf("SOURCE_DATE_EPOCH=%q, a file in the tree: %v %v, want %v", bad, got, ok, when)
		}
	}
	if got, ok := SourceDateEpoch(t.TempDir()); ok {
		t.Errorf("outside git, without SOURCE_DATE_EPOCH: %v, true", got)
	}
}
