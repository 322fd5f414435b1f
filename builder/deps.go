package builder

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/package-url/packageurl-go"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"

	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/toolchain"
)

// maxGoSum bounds a go.sum file.
const maxGoSum = 16 << 20

// Dependency is one dependency the source tree's lockfiles pin.
type Dependency struct {
	// PURL is the package URL, e.g. pkg:golang/golang.org/x/text@v0.3.0.
	PURL string
	// Digest maps in-toto algorithm names (sha256, sha512, dirHash) to
	// lowercase hex: what the lockfile pins. A go.sum h1 is a dirHash.
	Digest map[string]string
	// Location is the lockfile, relative to the source root.
	Location string
	// Checked says the module cache's copy was hashed and matched before
	// the build ran (Go modules in a build that mounts the module cache).
	Checked bool
}

// goSumLine is one go.sum entry.
type goSumLine struct {
	Path, Version string // Version may end in "/go.mod"
	H1            string
	File          string // the go.sum, relative to the source root
	Line          int
}

// parseGoSum reads a go.sum: lines "path version h1:base64" (blank lines
// allowed). Anything else is an error naming the line: a go.sum the build
// trusts must be well-formed.
func parseGoSum(rel string, data []byte) ([]goSumLine, error) {
	if len(data) > maxGoSum {
		return nil, fmt.Errorf("builder: %s: more than %d bytes", rel, maxGoSum)
	}
	var ls []goSumLine
	for i, line := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimSuffix(string(line), "\r")
		if strings.TrimSpace(s) == "" {
			continue
		}
		f := strings.Fields(s)
		if len(f) != 3 {
			return nil, fmt.Errorf("builder: %s:%d: not \"path version h1:hash\"", rel, i+1)
		}
		b64, ok := strings.CutPrefix(f[2], "h1:")
		b, err := base64.StdEncoding.DecodeString(b64)
		if !ok || err != nil || len(b) != 32 {
			return nil, fmt.Errorf("builder: %s:%d: %q is not an h1 hash", rel, i+1, truncate(f[2], 80))
		}
		v := strings.TrimSuffix(f[1], "/go.mod")
		if err := module.Check(f[0], v); err != nil {
			return nil, fmt.Errorf("builder: %s:%d: %w", rel, i+1, err)
		}
		ls = append(ls, goSumLine{Path: f[0], Version: f[1], H1: f[2], File: rel, Line: i + 1})
	}
	return ls, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// goSums reads every go.sum of the snapshot at root, outside directories
// the go command ignores (testdata, vendor, names starting with . or _).
func goSums(root string) ([]goSumLine, error) {
	var all []goSumLine
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := d.Name()
		if d.IsDir() && p != root && (n == "testdata" || n == "vendor" || n == "node_modules" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
			return filepath.SkipDir
		}
		if n != "go.sum" || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		b, err := limit.ReadFile(p, maxGoSum)
		if err != nil {
			return err
		}
		ls, err := parseGoSum(filepath.ToSlash(rel), b)
		if err != nil {
			return err
		}
		all = append(all, ls...)
		return nil
	})
	return all, err
}

// GoSumMismatchError is a module in the module cache whose content is not
// what go.sum pins.
type GoSumMismatchError struct {
	Module   string // path@version, or path@version/go.mod
	GoSum    string // the go.sum and line, "go.sum:12"
	Expected string // the go.sum h1
	Got      string // the module cache's
}

func (e *GoSumMismatchError) Error() string {
	return fmt.Sprintf("builder: module cache: %s does not match %s: expected %s, got %s", e.Module, e.GoSum, e.Expected, e.Got)
}

// dependencies lists the dependencies the snapshot's lockfiles pin and,
// when modCache is set, checks each Go module of its go.sum files that is in
// the module cache against its h1 (and each go.mod in the download cache
// against its /go.mod h1). A mismatch is a *GoSumMismatchError: the build
// must not run on a cache that differs from what the source pins. Modules
// not in the cache are not checked (the build runs with GOPROXY=off, so it
// fails if it needs one).
func dependencies(ctx context.Context, root, modCache string, cache *toolchain.Cache) ([]Dependency, error) {
	sums, err := goSums(root)
	if err != nil {
		return nil, fmt.Errorf("builder: go.sum: %w", err)
	}
	byPURL := map[string]*Dependency{}
	for _, l := range sums {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		isMod := strings.HasSuffix(l.Version, "/go.mod")
		checked := false
		if modCache != "" {
			got, ok, err := cachedH1(modCache, l, cache)
			if err != nil {
				return nil, err
			}
			if ok && got != l.H1 {
				return nil, &GoSumMismatchError{Module: l.Path + "@" + l.Version, GoSum: fmt.Sprintf("%s:%d", l.File, l.Line), Expected: l.H1, Got: got}
			}
			checked = ok
		}
		if isMod {
			continue
		}
		purl := goPURL(l.Path, l.Version)
		d := byPURL[purl]
		if d == nil {
			d = &Dependency{PURL: purl, Digest: map[string]string{"dirHash": h1Hex(l.H1)}, Location: l.File}
			byPURL[purl] = d
		}
		d.Checked = d.Checked || checked
	}
	inv, err := inventory.Walk(ctx, root, inventory.Options{})
	if err != nil {
		return nil, fmt.Errorf("builder: lockfiles: %w", err)
	}
	for _, c := range inv.Components {
		if c.Ecosystem == inventory.Go || len(c.Hashes) == 0 || byPURL[c.PURL] != nil {
			continue
		}
		dg := map[string]string{}
		for alg, h := range c.Hashes {
			switch alg {
			case "SHA-1":
				dg["sha1"] = h
			case "SHA-256":
				dg["sha256"] = h
			case "SHA-384":
				dg["sha384"] = h
			case "SHA-512":
				dg["sha512"] = h
			}
		}
		if len(dg) == 0 {
			continue
		}
		loc := ""
		if len(c.Locations) > 0 {
			loc = c.Locations[0]
		}
		byPURL[c.PURL] = &Dependency{PURL: c.PURL, Digest: dg, Location: loc}
	}
	deps := make([]Dependency, 0, len(byPURL))
	for _, d := range byPURL {
		deps = append(deps, *d)
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].PURL < deps[j].PURL })
	return deps, nil
}

// cachedH1 hashes l's module (or its go.mod) in the module cache; ok is
// false when the cache does not have it.
func cachedH1(modCache string, l goSumLine, cache *toolchain.Cache) (string, bool, error) {
	v, isMod := strings.CutSuffix(l.Version, "/go.mod")
	if isMod {
		ep, err := module.EscapePath(l.Path)
		if err != nil {
			return "", false, err
		}
		ev, err := module.EscapeVersion(v)
		if err != nil {
			return "", false, err
		}
		p := filepath.Join(modCache, "cache", "download", filepath.FromSlash(ep), "@v", ev+".mod")
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		if !fi.Mode().IsRegular() {
			return "", false, fmt.Errorf("builder: module cache: %s: not a regular file", p)
		}
		h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) { return os.Open(p) })
		return h, err == nil, err
	}
	dir, err := toolchain.EscapedModuleDir(modCache, l.Path, v)
	if err != nil {
		return "", false, err
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	h, err := cache.HashDir(dir, l.Path+"@"+v)
	if err != nil {
		return "", false, fmt.Errorf("builder: module cache: %w", err)
	}
	return h, true, nil
}

// goPURL is pkg:golang/<module path>@<version>.
func goPURL(modPath, version string) string {
	ns, name := "", modPath
	if i := strings.LastIndexByte(modPath, '/'); i >= 0 {
		ns, name = modPath[:i], modPath[i+1:]
	}
	return packageurl.NewPackageURL(packageurl.TypeGolang, ns, name, version, nil, "").ToString()
}
