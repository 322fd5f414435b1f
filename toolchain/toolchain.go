// Package toolchain finds the Go toolchain a build spec locks and verifies
// it before a build uses it.
//
// # What a lock pins
//
// A Go toolchain is the golang.org/toolchain module of its release and
// platform, golang.org/toolchain@v0.0.1-go<VERSION>.<GOOS>-<GOARCH>: the
// module the go command itself downloads when it switches toolchains
// (GOTOOLCHAIN). A lock (buildspec.Toolchain) names the release and may pin
//   - h1: the module's dirhash (golang.org/x/mod/sumdb/dirhash Hash1), as
//     go.sum and the Go checksum database write it; Resolve hashes the
//     extracted module directory, the directory the build mounts, and
//     compares;
//   - sha256: the SHA-256 of the module zip in the module download cache;
//     Resolve compares it, and checks that the extracted directory's h1 is
//     the zip's (dirhash HashZip), so that what is mounted is what was
//     pinned.
//
// The local GOROOT (/usr/local/go) is not used: the module zip leaves out
// api/, doc/, misc/, test/ and renames every go.mod to _go.mod, so a GOROOT
// cannot be hashed to the module's h1 without copying the release tooling's
// rules, and a toolchain whose digest no one else can reproduce proves
// nothing.
//
// # The Go checksum database
//
// Resolve always looks the module up in the Go checksum database, offline:
// in the records and tiles the go command keeps in the module cache
// (GOMODCACHE/cache/download/sumdb) and its latest signed tree head
// (GOPATH/pkg/sumdb), through golang.org/x/mod/sumdb's Client, which checks
// the note signature of sum.golang.org's key, the record's inclusion in the
// signed tree and the consistency of that tree with the latest one. It
// never uses the network. A record once verified is remembered in the
// Cache (a logged record never changes). When a record is there, the module's h1 must
// match it; when none is (the module was never downloaded with GOSUMDB on),
// a lock with a digest is enough and Toolchain.SumDB says so, and a lock
// without one is refused. When Resolver.Download is set, a toolchain that is
// not in the module cache is fetched with `go mod download`, which checks
// the download against sum.golang.org itself and leaves the record for the
// offline lookup.
//
// # Cost
//
// The toolchain is about 240 MB in 11,500 files: hashing it takes a fraction
// of a second to a few seconds. Resolve is meant to run once per build, not
// per step, and remembers verified trees in a Cache keyed by a stat
// snapshot, so that a warm check is a walk of lstat calls.
//
// # Errors
//
// A mismatch is an *MismatchError naming the module, the expected and the
// actual digest. A toolchain that is not in the module cache, a malformed
// version, a checksum database that disagrees: errors naming the toolchain.
package toolchain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"golang.org/x/mod/module"

	"github.com/hallmark-dev/hallmark/buildspec"
)

// ModulePath is the module the Go project publishes its toolchains as.
const ModulePath = "golang.org/toolchain"

// Toolchain is a verified toolchain: what provenance records of it.
type Toolchain struct {
	Go      string // the release, "1.26.8"
	Module  string // "golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64"
	Dir     string // GOROOT on disk: the module's extracted directory
	H1      string // dirhash of Dir, "h1:..."
	SHA256  string // lowercase hex SHA-256 of the module zip; "" when the zip is not in the cache
	Locked  string // what the lock pinned: "h1", "sha256", or "sumdb" for neither
	SumDB   string // "verified" (h1 matches the checksum database record) or "unavailable: REASON"
	Version string // the module version, "v0.0.1-go1.26.8.linux-amd64"
}

// MismatchError is a toolchain whose digest is not the one expected.
type MismatchError struct {
	Module   string // path@version
	What     string // "h1 (lock)", "sha256 (lock)", "h1 (checksum database)", "h1 (zip)"
	Expected string
	Got      string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("toolchain: %s: %s mismatch: expected %s, got %s", e.Module, e.What, e.Expected, e.Got)
}

// Resolver finds toolchains in a Go module cache.
type Resolver struct {
	// ModCache is the Go module cache (GOMODCACHE). "" means `go env
	// GOMODCACHE`'s usual answer: $GOMODCACHE, else $GOPATH/pkg/mod, else
	// ~/go/pkg/mod.
	ModCache string
	// SumDBDir holds the go command's latest signed tree heads
	// (GOPATH/pkg/sumdb); "" means ModCache/../sumdb.
	SumDBDir string
	// GOOS and GOARCH of the toolchain; "" means the running program's.
	GOOS, GOARCH string
	// Cache remembers verified trees; nil means a new in-memory one per
	// Resolver.
	Cache *Cache
	// Download runs `go mod download` (with GoCommand, network and
	// GOSUMDB on) for a toolchain that is not in the module cache.
	Download  bool
	GoCommand string // default "go"
}

var versionRE = regexp.MustCompile(`^1\.[0-9]{1,3}(\.[0-9]{1,3}|rc[0-9]{1,3}|\.[0-9]{1,3}rc[0-9]{1,3})?$`)
var platformRE = regexp.MustCompile(`^[a-z0-9]{1,16}$`)

// ModuleVersion returns the golang.org/toolchain module version of the Go
// release goVersion for goos/goarch.
func ModuleVersion(goVersion, goos, goarch string) (string, error) {
	if !versionRE.MatchString(goVersion) {
		return "", fmt.Errorf("toolchain: go %q: not a Go release", goVersion)
	}
	if !platformRE.MatchString(goos) || !platformRE.MatchString(goarch) {
		return "", fmt.Errorf("toolchain: platform %q/%q: not a GOOS/GOARCH", goos, goarch)
	}
	return "v0.0.1-go" + goVersion + "." + goos + "-" + goarch, nil
}

func (r *Resolver) modCache() string {
	if r.ModCache != "" {
		return r.ModCache
	}
	if m := os.Getenv("GOMODCACHE"); m != "" {
		return m
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

// Resolve finds the toolchain lock names, checks it against the lock and
// the Go checksum database's record, and returns its identity. See the
// package documentation for what is checked.
func (r *Resolver) Resolve(ctx context.Context, lock buildspec.Toolchain) (*Toolchain, error) {
	goos, goarch := r.GOOS, r.GOARCH
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	vers, err := ModuleVersion(lock.Go, goos, goarch)
	if err != nil {
		return nil, err
	}
	if lock.H1 != "" && lock.SHA256 != "" {
		return nil, fmt.Errorf("toolchain: go %s: the lock pins both h1 and sha256; pin one", lock.Go)
	}
	mc := r.modCache()
	mod := ModulePath + "@" + vers
	dir := filepath.Join(mc, filepath.FromSlash(ModulePath)+"@"+vers)
	zipPath := filepath.Join(mc, "cache", "download", filepath.FromSlash(ModulePath), "@v", vers+".zip")
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if !r.Download {
			return nil, fmt.Errorf("toolchain: go %s: %s is not in the module cache %s (fetch it with `go mod download %s`)", lock.Go, mod, mc, mod)
		}
		if err := r.download(ctx, mc, mod); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("toolchain: go %s: %w", lock.Go, err)
	}
	if err := makeExecutable(dir, goos, goarch); err != nil {
		return nil, fmt.Errorf("toolchain: go %s: %w", lock.Go, err)
	}
	c := r.cache()
	t := &Toolchain{Go: lock.Go, Module: mod, Version: vers, Dir: dir}
	if t.H1, err = c.HashDir(dir, mod); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(zipPath); err == nil {
		if t.SHA256, err = c.SHA256File(zipPath); err != nil {
			return nil, fmt.Errorf("toolchain: %s: zip: %w", mod, err)
		}
	}
	switch {
	case lock.H1 != "":
		t.Locked = "h1"
		if lock.H1 != t.H1 {
			return nil, &MismatchError{Module: mod, What: "h1 (lock)", Expected: lock.H1, Got: t.H1}
		}
	case lock.SHA256 != "":
		t.Locked = "sha256"
		if t.SHA256 == "" {
			return nil, fmt.Errorf("toolchain: %s: the lock pins the zip's sha256, and %s is not in the download cache", mod, zipPath)
		}
		if lock.SHA256 != t.SHA256 {
			return nil, &MismatchError{Module: mod, What: "sha256 (lock)", Expected: lock.SHA256, Got: t.SHA256}
		}
		zh, err := c.HashZip(zipPath)
		if err != nil {
			return nil, fmt.Errorf("toolchain: %s: zip: %w", mod, err)
		}
		if zh != t.H1 {
			return nil, &MismatchError{Module: mod, What: "h1 (zip)", Expected: zh, Got: t.H1}
		}
	default:
		t.Locked = "sumdb"
	}
	sumdbDir := r.SumDBDir
	if sumdbDir == "" {
		sumdbDir = filepath.Join(filepath.Dir(mc), "sumdb")
	}
	// A checksum database record never changes once logged: one verified
	// lookup is remembered in the Cache.
	rkey := "sumdb:" + sha256Hex(mod)
	rec, ok := c.get(rkey)
	if !ok {
		rec, err = SumDBLookup(mc, sumdbDir, ModulePath, vers)
		if err == nil {
			c.put(rkey, rec)
		}
	}
	switch {
	case err == nil:
		if rec != t.H1 {
			return nil, &MismatchError{Module: mod, What: "h1 (checksum database)", Expected: rec, Got: t.H1}
		}
		t.SumDB = "verified"
	case errors.Is(err, ErrNotCached):
		t.SumDB = "unavailable: " + err.Error()
		if t.Locked == "sumdb" {
			return nil, fmt.Errorf("toolchain: go %s: the lock pins no digest and %w", lock.Go, err)
		}
	default:
		return nil, err
	}
	return t, nil
}

// Recheck hashes a toolchain Resolve returned once more (from the Cache
// when nothing in its tree changed, so it costs a walk of lstat calls) and
// fails with a *MismatchError when it is no longer what was verified. The
// builder calls it before every step after the first.
func (r *Resolver) Recheck(t *Toolchain) error {
	h, err := r.cache().HashDir(t.Dir, t.Module)
	if err != nil {
		return err
	}
	if h != t.H1 {
		return &MismatchError{Module: t.Module, What: "h1 (verified at the start of the build)", Expected: t.H1, Got: h}
	}
	return nil
}

// cache returns r.Cache, made in memory the first time when nil.
func (r *Resolver) cache() *Cache {
	if r.Cache == nil {
		r.Cache, _ = NewCache("")
	}
	return r.Cache
}

// download fetches mod into the module cache mc with the go command, which
// verifies it against the Go checksum database.
func (r *Resolver) download(ctx context.Context, mc, mod string) error {
	gocmd := r.GoCommand
	if gocmd == "" {
		gocmd = "go"
	}
	tmp, err := os.MkdirTemp("", "hallmark-toolchain-")
	if err != nil {
		return fmt.Errorf("toolchain: download %s: %w", mod, err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, gocmd, "mod", "download", "-json", mod)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOMODCACHE="+mc, "GOFLAGS=-mod=mod", "GONOSUMDB=", "GONOSUMCHECK=", "GOINSECURE=", "GOTOOLCHAIN=local")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var res struct{ Error string }
	json.Unmarshal(out.Bytes(), &res)
	if err != nil || res.Error != "" {
		msg := strings.TrimSpace(res.Error)
		if msg == "" {
			msg = strings.TrimSpace(errb.String())
		}
		return fmt.Errorf("toolchain: download %s: %v: %s", mod, err, msg)
	}
	return nil
}

// makeExecutable sets the execute bits that the module zip does not keep on
// the programs of bin/ and pkg/tool/GOOS_GOARCH/, as the go command does when
// it switches to a downloaded toolchain. Modes are not part of the h1.
func makeExecutable(dir, goos, goarch string) error {
	for _, d := range []string{filepath.Join(dir, "bin"), filepath.Join(dir, "pkg", "tool", goos+"_"+goarch)} {
		es, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range es {
			if !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				return err
			}
			if fi.Mode()&0o111 != 0o111 {
				if err := os.Chmod(filepath.Join(d, e.Name()), fi.Mode().Perm()|0o555); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// EscapedModuleDir is the directory of path@version in the module cache mc.
func EscapedModuleDir(mc, path, version string) (string, error) {
	ep, err := module.EscapePath(path)
	if err != nil {
		return "", err
	}
	ev, err := module.EscapeVersion(version)
	if err != nil {
		return "", err
	}
	return filepath.Join(mc, filepath.FromSlash(ep)+"@"+ev), nil
}
