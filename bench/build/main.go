// Command build measures the overhead of a sandboxed build: the same
// `go build` of examples/hello run directly and through builder.Run, runs
// alternating, each with a fresh, empty GOCACHE (the builder gives every
// step a fresh one, so the direct side gets one too) and the same warm,
// read-only module cache and verified toolchain. It prints the medians and
// their ratio. bench/build.sh runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/buildspec"
	"github.com/hallmark-dev/hallmark/sandbox"
	"github.com/hallmark-dev/hallmark/toolchain"
)

const spec = `apiVersion: hallmark.dev/build/v1
kind: Build
name: hello-bench
toolchains:
  go: {go: %s}
steps:
  - name: linux-amd64
    toolchain: go
    run: [go, build, -trimpath, -buildvcs=false, -ldflags=-buildid=, -o, bin/hello, ./cmd/hello]
    inputs: [{source: true}, {cache: go-modules}]
    outputs: [bin]
    env: {GOOS: linux, GOARCH: amd64, CGO_ENABLED: "0"}
`

func main() {
	sandbox.Init()
	src := flag.String("src", "examples/hello", "the source tree")
	runs := flag.Int("runs", 5, "runs of each build; 0 for the fixed cost only")
	fixed := flag.Int("fixed", 15, "runs of the fixed-cost build")
	goVersion := flag.String("go", "1.26.8", "the Go toolchain")
	flag.Parse()
	if *runs < 0 || *fixed < 1 {
		fmt.Fprintln(os.Stderr, "build bench: -runs must be at least 0 and -fixed at least 1")
		os.Exit(2)
	}
	if err := run(*src, *runs, *fixed, *goVersion); err != nil {
		fmt.Fprintln(os.Stderr, "build bench:", err)
		os.Exit(1)
	}
}

func run(src string, runs, fixed int, goVersion string) error {
	ctx := context.Background()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return err
	}
	mc := strings.TrimSpace(string(out))
	cache, _ := toolchain.NewCache("")
	res := &toolchain.Resolver{ModCache: mc, Cache: cache}
	t0 := time.Now()
	tc, err := res.Resolve(ctx, buildspec.Toolchain{Go: goVersion})
	if err != nil {
		return err
	}
	cold := time.Since(t0)
	t0 = time.Now()
	if _, err := res.Resolve(ctx, buildspec.Toolchain{Go: goVersion, H1: tc.H1}); err != nil {
		return err
	}
	warm := time.Since(t0)
	fmt.Printf("toolchain %s: verified cold %v, warm %v (sumdb %s)\n", tc.Module, cold.Round(time.Millisecond), warm.Round(time.Millisecond), tc.SumDB)
	s, err := buildspec.Parse([]byte(fmt.Sprintf(spec, goVersion)))
	if err != nil {
		return err
	}
	gobin := filepath.Join(tc.Dir, "bin", "go")
	// The sandbox's /tmp, where the step's GOCACHE lives, is a tmpfs: the
	// direct build's GOCACHE goes on one too (/dev/shm) where there is one.
	shm := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		shm = "/dev/shm"
	}
	fmt.Printf("direct GOCACHE on %s\n", map[bool]string{true: "/dev/shm (tmpfs, as the sandbox's /tmp)", false: os.TempDir()}[shm != ""])
	direct := func() (time.Duration, error) {
		tmp, err := os.MkdirTemp(shm, "bench-direct-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command(gobin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=", "-o", filepath.Join(tmp, "hello"), "./cmd/hello")
		cmd.Dir = src
		cmd.Env = []string{"PATH=" + filepath.Dir(gobin) + ":/usr/bin:/bin", "HOME=" + tmp, "GOCACHE=" + filepath.Join(tmp, "gocache"),
			"GOMODCACHE=" + mc, "GOPROXY=off", "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local", "GOTELEMETRY=off",
			"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "TZ=UTC", "LC_ALL=C.UTF-8"}
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("direct: %v: %s", err, out)
		}
		return time.Since(start), nil
	}
	// sandboxed times builder.Run of spec in a scratch directory of its own.
	sandboxed := func(spec *buildspec.Spec) (time.Duration, error) {
		tmp, err := os.MkdirTemp("", "bench-builder-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(tmp)
		start := time.Now()
		_, err = builder.Run(ctx, spec, builder.Options{
			SourceDir: src, OutDir: filepath.Join(tmp, "out"), WorkDir: tmp,
			GoModCache: mc, Toolchains: res,
		})
		if err != nil {
			return 0, fmt.Errorf("builder: %w", err)
		}
		return time.Since(start), nil
	}
	var ds, bs []time.Duration
	for i := 0; i < runs; i++ {
		d, err := direct()
		if err != nil {
			return err
		}
		b, err := sandboxed(s)
		if err != nil {
			return err
		}
		ds, bs = append(ds, d), append(bs, b)
		fmt.Printf("run %d: direct %v, builder %v\n", i+1, d.Round(time.Millisecond), b.Round(time.Millisecond))
	}
	if runs > 0 {
		md, mb := median(ds), median(bs)
		fmt.Printf("median of %d: direct %v, builder %v, ratio %.3fx (target at most 1.10x)\n", runs, md.Round(time.Millisecond), mb.Round(time.Millisecond), float64(mb)/float64(md))
	}
	// The builder's fixed cost, apart from the compiler's noise: the same
	// build with a step that only makes its output directory (snapshot,
	// toolchain check, dependencies, sandbox, outputs).
	noop, err := buildspec.Parse([]byte(fmt.Sprintf(noopSpec, goVersion)))
	if err != nil {
		return err
	}
	var fs []time.Duration
	for i := 0; i < fixed; i++ {
		d, err := sandboxed(noop)
		if err != nil {
			return err
		}
		fs = append(fs, d)
	}
	fmt.Printf("builder fixed cost (a step running mkdir), median of %d: %v\n", len(fs), median(fs).Round(time.Millisecond))
	return nil
}

const noopSpec = `apiVersion: hallmark.dev/build/v1
kind: Build
name: noop
toolchains:
  go: {go: %s}
steps:
  - name: noop
    toolchain: go
    run: [sh, -c, "mkdir out"]
    inputs: [{source: true}, {cache: go-modules}]
    outputs: [out]
`

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
