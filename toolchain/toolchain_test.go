package toolchain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/hallmark-dev/hallmark/buildspec"
)

// realGo is the toolchain of this repository's go.mod, found in the
// machine's module cache when it is there.
const realGo = "1.26.8"

func realResolver(t *testing.T) *Resolver {
	t.Helper()
	r := &Resolver{}
	v, _ := ModuleVersion(realGo, runtime.GOOS, runtime.GOARCH)
	if _, err := os.Stat(filepath.Join(r.modCache(), ModulePath+"@"+v)); err != nil {
		t.Skipf("toolchain %s@%s is not in the module cache (go mod download %s@%s): %v", ModulePath, v, ModulePath, v, err)
	}
	return r
}

func TestResolveReal(t *testing.T) {
	r := realResolver(t)
	start := time.Now()
	tc, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: realGo})
	if errors.Is(err, ErrNotCached) {
		t.Skipf("no checksum database record cached: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	cold := time.Since(start)
	if tc.SumDB != "verified" || tc.Locked != "sumdb" || !strings.HasPrefix(tc.H1, "h1:") {
		t.Fatalf("got %+v", tc)
	}
	// The same tree hashed by x/mod's own HashDir.
	want, err := dirhash.HashDir(tc.Dir, tc.Module, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	if want != tc.H1 {
		t.Fatalf("h1 %s, dirhash.HashDir %s", tc.H1, want)
	}
	start = time.Now()
	tc2, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: realGo, H1: tc.H1})
	if err != nil {
		t.Fatal(err)
	}
	warm := time.Since(start)
	t.Logf("cold %v, warm %v, %+v", cold, warm, tc2)
	if tc.SHA256 != "" {
		if _, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: realGo, SHA256: tc.SHA256}); err != nil {
			t.Fatal(err)
		}
	}
	for _, lock := range []buildspec.Toolchain{
		{Go: realGo, H1: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		{Go: realGo, SHA256: strings.Repeat("0", 64)},
	} {
		_, err := r.Resolve(context.Background(), lock)
		var me *MismatchError
		if !errors.As(err, &me) {
			t.Fatalf("lock %+v: got %v, want a mismatch", lock, err)
		}
		if !strings.Contains(err.Error(), "expected") || !strings.Contains(err.Error(), tc.Module) {
			t.Fatalf("error %q does not name the module and the digests", err)
		}
	}
}

func TestResolveMissing(t *testing.T) {
	r := &Resolver{ModCache: t.TempDir()}
	for _, tc := range []struct{ lock, want string }{
		{"1.99.1", "not in the module cache"},
		{"1.26.8/../../x", "not a Go release"},
		{"", "not a Go release"},
	} {
		t.Run(tc.lock, func(t *testing.T) {
			_, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: tc.lock})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// fakeToolchain lays out a small golang.org/toolchain module in a module
// cache of its own.
func fakeToolchain(t *testing.T) (mc, dir, mod string) {
	mc = t.TempDir()
	v, _ := ModuleVersion("1.99.0", runtime.GOOS, runtime.GOARCH)
	mod = ModulePath + "@" + v
	dir = filepath.Join(mc, ModulePath+"@"+v)
	for _, f := range []string{"bin/go", "pkg/tool/" + runtime.GOOS + "_" + runtime.GOARCH + "/compile", "VERSION", "src/fmt/print.go"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("content of "+f), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return mc, dir, mod
}

func TestResolveFake(t *testing.T) {
	mc, dir, mod := fakeToolchain(t)
	want, err := dirhash.HashDir(dir, mod, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{ModCache: mc}
	tc, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: "1.99.0", H1: want})
	if err != nil {
		t.Fatal(err)
	}
	if tc.H1 != want || !strings.HasPrefix(tc.SumDB, "unavailable") {
		t.Fatalf("got %+v", tc)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "bin", "go")); fi.Mode()&0o111 == 0 {
		t.Fatal("bin/go not made executable")
	}
	// No digest in the lock and no checksum database record: refused.
	if _, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: "1.99.0"}); !errors.Is(err, ErrNotCached) {
		t.Fatalf("no digest, no record: got %v", err)
	}
	// A changed file is noticed although the cache holds the old tree.
	os.Chmod(filepath.Join(dir, "VERSION"), 0o644)
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte("go1.99.0 evil"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(context.Background(), buildspec.Toolchain{Go: "1.99.0", H1: want})
	var me *MismatchError
	if !errors.As(err, &me) || me.Expected != want {
		t.Fatalf("changed toolchain: got %v", err)
	}
	// A symbolic link in the tree is refused.
	os.Symlink("/etc/passwd", filepath.Join(dir, "src", "link"))
	if _, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: "1.99.0", H1: want}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("symlink: got %v", err)
	}
}

func TestCacheOnDisk(t *testing.T) {
	_, dir, mod := fakeToolchain(t)
	cd := t.TempDir()
	c1, _ := NewCache(cd)
	h1, err := c1.HashDir(dir, mod)
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(cd)
	if len(ents) != 1 {
		t.Fatalf("%d cache entries, want 1", len(ents))
	}
	if b, err := os.ReadFile(filepath.Join(cd, ents[0].Name())); err != nil || string(b) != h1+"\n" || !strings.HasSuffix(ents[0].Name(), ".dir") {
		t.Fatalf("cache entry %s holds %q (%v), want %q", ents[0].Name(), b, err, h1+"\n")
	}
	c2, _ := NewCache(cd)
	if h2, err := c2.HashDir(dir, mod); err != nil || h2 != h1 {
		t.Fatalf("second cache: %v %v", h2, err)
	}
}

func BenchmarkWarmCheck(b *testing.B) {
	r := &Resolver{}
	v, _ := ModuleVersion(realGo, runtime.GOOS, runtime.GOARCH)
	if _, err := os.Stat(filepath.Join(r.modCache(), ModulePath+"@"+v)); err != nil {
		b.Skip("toolchain not in the module cache")
	}
	tc, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: realGo})
	if err != nil {
		b.Skip(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: realGo, H1: tc.H1}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRecheck(t *testing.T) {
	mc, dir, mod := fakeToolchain(t)
	want, _ := dirhash.HashDir(dir, mod, dirhash.Hash1)
	r := &Resolver{ModCache: mc}
	tc, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: "1.99.0", H1: want})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Recheck(tc); err != nil {
		t.Fatalf("unchanged: %v", err)
	}
	p := filepath.Join(dir, "src", "fmt", "print.go")
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("package fmt // evil"), 0o644)
	var me *MismatchError
	if err := r.Recheck(tc); !errors.As(err, &me) || me.Expected != want {
		t.Fatalf("changed: got %v", err)
	}
}
