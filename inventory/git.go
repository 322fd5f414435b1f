package inventory

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// gitTop returns the directory holding the .git directory or file at or
// above dir, or "" when dir is not in a git work tree.
func gitTop(dir string) string {
	for {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// gitRun runs git in dir with a short timeout and returns its trimmed
// standard output. Git's configuration can name programs to run (a pager,
// fsmonitor); the commands used here run none of them.
func gitRun(ctx context.Context, dir string, args ...string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "-c", "core.fsmonitor=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", false
	}
	return strings.TrimSpace(out.String()), true
}

// gitHead returns HEAD's commit hash and commit time in the work tree of
// dir.
func gitHead(ctx context.Context, dir string) (string, time.Time, bool) {
	out, ok := gitRun(ctx, dir, "log", "-1", "--format=%H %ct")
	if !ok {
		return "", time.Time{}, false
	}
	hash, ts, ok := strings.Cut(out, " ")
	if !ok || len(hash) < 12 {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return hash, time.Unix(sec, 0).UTC(), true
}

// moduleVersion is the version of the module whose go.mod is in dir, from
// git: the semver tag on HEAD when there is one ("v1.2.3"; for a module in
// subdirectory sub of the repository, the tag "sub/v1.2.3", as the go
// command names them), else the pseudo-version
// v0.0.0-YYYYMMDDHHMMSS-<12 hex> of HEAD's commit time (UTC) and hash.
// Uncommitted changes get no marker: the version names the commit the tree
// is based on. Not in a git work tree, or git not installed: "".
func moduleVersion(ctx context.Context, dir string) string {
	top := gitTop(dir)
	if top == "" {
		return ""
	}
	if _, err := exec.LookPath("git"); err != nil {
		return ""
	}
	prefix := ""
	if rel, err := filepath.Rel(top, dir); err == nil && rel != "." {
		prefix = filepath.ToSlash(rel) + "/"
	}
	if tags, ok := gitRun(ctx, dir, "tag", "--points-at", "HEAD", "--list", prefix+"v*"); ok && tags != "" {
		best := ""
		for _, t := range strings.Split(tags, "\n") {
			v := strings.TrimPrefix(strings.TrimSpace(t), prefix)
			// The go command takes only canonical tags as versions
			// (v1.2.3, not v1.2 or v1.2.3+build).
			if semver.IsValid(v) && v == semver.Canonical(v) {
				if best == "" || semver.Compare(v, best) > 0 {
					best = v
				}
			}
		}
		if best != "" {
			return best
		}
	}
	hash, t, ok := gitHead(ctx, dir)
	if !ok {
		return ""
	}
	return module.PseudoVersion("v0", "", t, hash[:12])
}

// SourceDateEpoch is the time a reproducible build of root should record:
// the SOURCE_DATE_EPOCH environment variable when it is set to a valid
// non-negative count of seconds (reproducible-builds.org), else the commit
// time of HEAD when root is in a git work tree and git is installed; false
// when neither is known.
func SourceDateEpoch(root string) (time.Time, bool) {
	if s, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		if sec, err := strconv.ParseInt(s, 10, 64); err == nil && sec >= 0 && sec < 1<<40 {
			return time.Unix(sec, 0).UTC(), true
		}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return time.Time{}, false
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		abs = filepath.Dir(abs)
	}
	if gitTop(abs) == "" {
		return time.Time{}, false
	}
	if _, err := exec.LookPath("git"); err != nil {
		return time.Time{}, false
	}
	_, t, ok := gitHead(context.Background(), abs)
	return t, ok
}
