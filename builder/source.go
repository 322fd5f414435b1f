package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/dirhash"
)

// Limits on the source tree a build snapshots.
const (
	MaxSourceFiles = 200_000
	MaxSourceBytes = 8 << 30
)

// Source is the source tree as the build saw it.
type Source struct {
	// Dir is the host directory the snapshot was taken from.
	Dir string
	// Commit is HEAD's commit in hex when Dir is in a git work tree, else "".
	Commit string
	// Clean says that no tracked file differed from Commit when the
	// snapshot was taken (untracked files are not part of the snapshot).
	Clean bool
	// Git says the snapshot holds the files git tracks; otherwise it holds
	// every file under Dir except .git.
	Git bool
	// H1 is the dirhash (golang.org/x/mod/sumdb/dirhash Hash1, names
	// relative to the tree's root) of the snapshot: what every step that
	// reads the source had mounted. A symbolic link counts as a file whose
	// content is the link's target.
	H1 string
	// Files and Bytes count the snapshot's regular files and symbolic links
	// and their size.
	Files int
	Bytes int64
	// SourceDateEpoch is the commit time of HEAD, or for a tree outside
	// git Options.SourceDateEpoch or the SOURCE_DATE_EPOCH variable of the
	// builder's own environment; zero when none is known.
	SourceDateEpoch time.Time
}

// gitRun runs a git command that starts no program of the repository's
// configuration (fsmonitor, pager, hooks) and returns its standard output.
func gitRun(ctx context.Context, dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "--no-pager"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "GIT_CONFIG_NOSYSTEM=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// inGit says whether dir is inside a git work tree (a .git at or above it).
func inGit(dir string) bool {
	for {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return true
		}
		p := filepath.Dir(dir)
		if p == dir {
			return false
		}
		dir = p
	}
}

// snapshotSource copies the source tree at src into dst and describes it.
// In a git work tree only tracked files are copied, and the commit and
// whether the tree is clean are recorded. Directories named .git are never
// copied. Symbolic links are copied as links, never followed: a link that
// points out of the tree points, inside the sandbox, at the sandbox's own
// file system. Other special files are refused.
func snapshotSource(ctx context.Context, src, dst string) (*Source, error) {
	src, err := filepath.Abs(src)
	if err != nil {
		return nil, fmt.Errorf("builder: source: %w", err)
	}
	if fi, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("builder: source: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("builder: source %s: not a directory", src)
	}
	s := &Source{Dir: src}
	var tracked map[string]bool
	if inGit(src) {
		if _, err := exec.LookPath("git"); err == nil {
			s.Git = true
		}
	}
	if s.Git {
		out, err := gitRun(ctx, src, "log", "-1", "--format=%H %ct")
		if err != nil {
			return nil, fmt.Errorf("builder: source %s: %w", src, err)
		}
		h, ts, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || len(h) < 40 {
			return nil, fmt.Errorf("builder: source %s: git log: unexpected output %q", src, out)
		}
		s.Commit, s.SourceDateEpoch = h, time.Unix(sec, 0).UTC()
		st, err := gitRun(ctx, src, "status", "--porcelain", "--untracked-files=no", "--", ".")
		if err != nil {
			return nil, fmt.Errorf("builder: source %s: %w", src, err)
		}
		s.Clean = len(bytes.TrimSpace(st)) == 0
		ls, err := gitRun(ctx, src, "ls-files", "-z", "--cached")
		if err != nil {
			return nil, fmt.Errorf("builder: source %s: %w", src, err)
		}
		tracked = map[string]bool{}
		for _, p := range strings.Split(string(ls), "\x00") {
			if p == "" {
				continue
			}
			tracked[p] = true
			// Parents of tracked files are walked into.
			for d := filepath.ToSlash(filepath.Dir(p)); d != "." && d != "/" && !tracked[d+"/"]; d = filepath.ToSlash(filepath.Dir(d)) {
				tracked[d+"/"] = true
			}
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, fmt.Errorf("builder: snapshot: %w", err)
	}
	under := func(rel string) bool { // rel is in a tracked directory (a submodule's files)
		for d := rel; d != "." && d != "/"; d = filepath.ToSlash(filepath.Dir(d)) {
			if tracked[d] && !tracked[d+"/"] {
				return true
			}
		}
		return false
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == src {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		rel = filepath.ToSlash(rel)
		if d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if tracked != nil && !tracked[rel] && !tracked[rel+"/"] && !under(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if !d.IsDir() {
			if s.Files++; s.Files > MaxSourceFiles {
				return fmt.Errorf("more than %d files", MaxSourceFiles)
			}
		}
		switch t := d.Type(); {
		case t.IsDir():
			return os.Mkdir(target, 0o755)
		case t&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case t.IsRegular():
			n, err := copyFile(p, target, d, MaxSourceBytes-s.Bytes)
			s.Bytes += n
			return err
		default:
			return fmt.Errorf("%s: not a regular file, directory or symbolic link (%s)", rel, t)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("builder: snapshot of %s: %w", src, err)
	}
	if s.H1, err = treeHash(dst); err != nil {
		return nil, fmt.Errorf("builder: snapshot of %s: %w", src, err)
	}
	return s, nil
}

// copyFile copies the regular file src (as d describes it) to dst: mode
// 0755 when any execute bit is set, else 0644. It refuses a file that is
// replaced by something else between the walk and the open, and one larger
// than max bytes.
func copyFile(src, dst string, d fs.DirEntry, max int64) (int64, error) {
	want, err := d.Info()
	if err != nil {
		return 0, err
	}
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	got, err := in.Stat()
	if err != nil {
		return 0, err
	}
	if !os.SameFile(want, got) || !got.Mode().IsRegular() {
		return 0, fmt.Errorf("%s: changed while it was copied", src)
	}
	mode := os.FileMode(0o644)
	if got.Mode()&0o111 != 0 {
		mode = 0o755
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(in, max+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > max {
		err = fmt.Errorf("%s: the tree is larger than the limit", src)
	}
	return n, err
}

// treeHash is the h1 dirhash of the tree at root (names relative to root),
// a symbolic link hashed as a file holding its target.
func treeHash(root string) (string, error) {
	var files []string
	links := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.Type()&fs.ModeSymlink != 0 {
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			links[rel] = l
		} else if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", rel)
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return "", err
	}
	return dirhash.Hash1(files, func(name string) (io.ReadCloser, error) {
		if l, ok := links[name]; ok {
			return io.NopCloser(strings.NewReader(l)), nil
		}
		return os.Open(filepath.Join(root, filepath.FromSlash(name)))
	})
}

// copyTree copies the tree at src (a snapshot or a step's outputs, which
// hold only directories, regular files and symbolic links) into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch t := d.Type(); {
		case t.IsDir():
			return os.MkdirAll(target, 0o755)
		case t&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case t.IsRegular():
			_, err := copyFile(p, target, d, 1<<62)
			return err
		default:
			return errors.New(rel + ": not a regular file, directory or symbolic link")
		}
	})
}
