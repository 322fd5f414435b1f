package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/buildspec"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/toolchain"
)

var buildUsage = `Usage:
  hallmark build [--spec FILE] [--source DIR] [--out DIR] [--project P] [--profile P] [--annotation K=V]...
  hallmark build [flags] -- COMMAND [ARG]...

Runs a build spec (hallmark.yaml, docs/build-spec.md) on this machine: each
step in its own sandbox (Linux namespaces: no network but for a declared fetch
step, the source and earlier outputs read-only, a fresh scratch, a scrubbed
environment, limits), with the Go toolchain the spec locks verified first and
the modules go.sum pins checked in the module cache. The outputs go to --out.

Then the release, each stage printed as it starts:

  1. every output with executable content is found, by content (PE, ELF,
     Mach-O, scripts, PowerShell, JAR, WebAssembly, MSI, CAB; inside tar and
     zip archives too, which are then signed as a whole);
  2. the outputs' SBOM (CycloneDX) is written, and they are scanned: known
     vulnerabilities (the local database, 'hallmark db'), binary hardening;
  3. the policy gate judges the build under the project's profile, before
     anything is signed: on fail the build ends here, exit 1, with the
     reasons and how to request an exception;
  4. every executable is signed: Authenticode inside each PE file, and a
     Sigstore bundle beside every one (FILE.sigstore.json);
  5. the control plane, not the build, writes the SLSA v1 provenance from what
     the builder observed (docs/build-type.md): subjects are the outputs as
     delivered, the PE files' digests before signing are byproducts (what a
     rebuild reproduces); it signs, logs and timestamps it:
     OUT/provenance.sigstore.json;
  6. the gate's verdict over the delivered files, signed (OUT/verdict.sigstore.json,
     OUT/verdict.dsse.json for slsa-verifier), and the SBOM attested
     (OUT/sbom.cdx.json, OUT/sbom.sigstore.json).

  cosign verify-blob-attestation --key platform.pub --type slsaprovenance1 \
    --bundle OUT/provenance.sigstore.json OUT/bin/app
  hallmark verify --policy verify.yaml OUT

'hallmark build -- go build -o out/app .' is a one-step spec (see
docs/build-spec.md) building with the Go toolchain of this hallmark's release.

The build runs with the data directory's control plane, in-process; a server
(HALLMARK_SERVER) does not run builds for this command.

Flags:
  --spec FILE         the build spec (default SOURCE/hallmark.yaml)
  --source DIR        the source tree (default .)
  -o, --out DIR       where the outputs go; absent or empty (default out)
  -p, --project P     the project (default $HALLMARK_PROJECT, else "default")
  --profile P         the risk profile the build is to be judged by, instead
                      of the spec's (recorded in the provenance as the spec's
                      profile)
  --annotation K=V    a tenant-provided annotation, recorded apart in the
                      provenance (repeatable)
  --go VERSION        the Go release of the COMMAND shorthand (default this
                      binary's, ` + strings.TrimPrefix(runtime.Version(), "go") + `)
  --no-download       never download a toolchain missing from the module cache
  --no-gate           no scan, no gate, no verdict (for a project whose policy
                      is judged elsewhere); executables are still signed
  -q, --quiet         do not echo the steps' output
` + planeFlagsUsage + `
Exit codes: 0 built and attested; 1 a step failed, or a toolchain or
dependency failed its check; 2 bad usage or a spec that is refused.
`

func runBuild(c *cli, args []string) error {
	fs := c.flagSet("build", buildUsage)
	pf := addPlaneFlags(fs)
	specPath := fs.String("spec", "", "")
	source := fs.String("source", ".", "")
	var out, project string
	fs.StringVar(&out, "out", "out", "")
	fs.StringVar(&out, "o", "out", "")
	fs.StringVar(&project, "project", defaultProject(), "")
	fs.StringVar(&project, "p", defaultProject(), "")
	var annotations stringsFlag
	fs.Var(&annotations, "annotation", "")
	goVersion := fs.String("go", strings.TrimPrefix(runtime.Version(), "go"), "")
	profile := fs.String("profile", "", "")
	noDownload := fs.Bool("no-download", false, "")
	noGate := fs.Bool("no-gate", false, "")
	var quiet bool
	fs.BoolVar(&quiet, "quiet", false, "")
	fs.BoolVar(&quiet, "q", false, "")
	cmd, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	tenant := map[string]string{}
	for _, a := range annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usageErrorf("build: --annotation %q: want K=V", a)
		}
		tenant[k] = v
	}
	var spec *buildspec.Spec
	if len(cmd) > 0 {
		if *specPath != "" {
			return usageErrorf("build: give a --spec or a COMMAND after --, not both")
		}
		spec = buildspec.Shorthand(cmd, *goVersion)
		if err := spec.Validate(); err != nil {
			return usageErrorf("build: %v", err)
		}
	} else {
		if *specPath == "" {
			*specPath = filepath.Join(*source, "hallmark.yaml")
		}
		if spec, _, err = readSpec(*specPath); err != nil {
			return err
		}
	}
	if *profile != "" {
		spec.Profile = *profile
		if err := spec.Validate(); err != nil {
			return usageErrorf("build: --profile: %v", err)
		}
	}
	if pf.serverURL() != "" {
		return usageErrorf("build: runs with the data directory's control plane; unset HALLMARK_SERVER (and --server), or queue it with 'hallmark submit'")
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return usageErrorf("build: --out %s is not empty", out).hint("remove it, or name another directory")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	plane, cn, opts, err := c.localBuild(ctx, pf, !*noDownload, quiet)
	if err != nil {
		return err
	}
	defer cn.Close()
	invocation := "b-" + api.Nonce()[:16]
	fmt.Fprintf(c.stderr, "build %s of %s (project %s): %d step(s)\n", invocation, spec.Name, project, len(spec.Steps))
	opts.SourceDir, opts.OutDir = *source, out
	res, err := builder.Run(ctx, spec, opts)
	if res != nil {
		c.printSteps(res)
	}
	if err != nil {
		var se *builder.StepError
		var tm *toolchain.MismatchError
		var gm *builder.GoSumMismatchError
		if errors.As(err, &se) || errors.As(err, &tm) || errors.As(err, &gm) {
			return &checkFailedError{fmt.Errorf("build %s failed: %w", invocation, err)}
		}
		return fmt.Errorf("build %s: %w", invocation, err)
	}
	srcAbs, _ := filepath.Abs(*source)
	return c.release(ctx, cn, res, releaseOptions{
		out: out, project: project, noGate: *noGate,
		sf: &signingFlags{plane: pf, key: defaultKey, project: project},
		provenance: builder.ProvenanceOptions{
			BuilderID: plane.BuilderID(), BuilderVersion: map[string]string{"hallmark": controlplane.Version},
			InvocationID: invocation, SourceURI: "file://" + filepath.ToSlash(srcAbs), SourceRef: gitRef(srcAbs),
			WorkerID: "local", Tenant: tenant,
		},
	})
}

// localBuild opens the data directory's control plane for a build run
// here, and returns the builder's options: the module cache, and the
// toolchain resolver with its cache of verified trees in the data directory.
func (c *cli) localBuild(ctx context.Context, pf *planeFlags, download, quiet bool) (*controlplane.Plane, conn, builder.Options, error) {
	resolver, err := toolchains(pf.home, download)
	if err != nil {
		return nil, nil, builder.Options{}, err
	}
	plane, err := c.openPlane(ctx, pf)
	if err != nil {
		return nil, nil, builder.Options{}, err
	}
	cn, err := planeConn(ctx, plane)
	if err != nil {
		return nil, nil, builder.Options{}, err
	}
	opts := builder.Options{GoModCache: resolver.ModCache, Toolchains: resolver}
	if !quiet {
		opts.Logs = func(step string) io.Writer { return &prefixWriter{w: c.stderr, prefix: step + "| "} }
	}
	return plane, cn, opts, nil
}

// toolchains is the toolchain resolver of the builds run here: the Go module
// cache, and the cache of verified trees in the data directory.
func toolchains(homeFlag string, download bool) (*toolchain.Resolver, error) {
	h, err := home(homeFlag)
	if err != nil {
		return nil, err
	}
	cache, err := toolchain.NewCache(filepath.Join(h, "builder", "verified"))
	if err != nil {
		return nil, err
	}
	return &toolchain.Resolver{ModCache: goModCache(), Cache: cache, Download: download}, nil
}

// printSteps prints how each step ended.
func (c *cli) printSteps(res *builder.Result) {
	for _, s := range res.Steps {
		how := "ok"
		switch {
		case s.Killed != "":
			how = "killed (" + s.Killed + ")"
		case s.Signal != "":
			how = "signal " + s.Signal
		case s.Exit != 0:
			how = fmt.Sprintf("exit %d", s.Exit)
		}
		fmt.Fprintf(c.stderr, "  step %-20s %-14s %s\n", s.Name, how, s.Duration.Round(10*time.Millisecond))
	}
}

// readSpec reads and checks a build spec, and returns it with its text; a
// refused spec is bad input.
func readSpec(name string) (*buildspec.Spec, []byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, usageErrorf("build: %v", err).hint("write a hallmark.yaml (docs/build-spec.md), or give one with --spec")
	}
	defer f.Close()
	data, err := limit.Read(f, name, buildspec.MaxSize)
	if err != nil {
		return nil, nil, usageErrorf("build: %v", err)
	}
	spec, err := buildspec.Parse(data)
	if err != nil {
		return nil, nil, usageErrorf("%s: %v", name, err)
	}
	return spec, data, nil
}

// planeConn is the in-process connection to plane: as HALLMARK_TOKEN's
// holder when it is set (approvals, for one, are sign-offs by a named
// approver, which the local operator is not), else as the local operator.
func planeConn(ctx context.Context, plane *controlplane.Plane) (conn, error) {
	if token := os.Getenv("HALLMARK_TOKEN"); token != "" {
		who, err := plane.Authenticate(ctx, token)
		if err != nil {
			plane.Close(context.Background())
			return nil, withHint(fmt.Errorf("HALLMARK_TOKEN: %w", err), "unset HALLMARK_TOKEN to act as the data directory's operator")
		}
		return &local{plane: plane, who: who}, nil
	}
	return localConn(plane)
}

// goModCache is the Go module cache as the go command finds it:
// $GOMODCACHE, else the first $GOPATH entry's pkg/mod, else ~/go/pkg/mod.
func goModCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod")
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(u, "go", "pkg", "mod")
}

// gitRef is the symbolic ref HEAD names in dir (refs/heads/main), or "".
func gitRef(dir string) string {
	out, err := exec.Command("git", "-C", dir, "symbolic-ref", "-q", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// prefixWriter writes each line with a prefix; safe for concurrent use.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	mid    bool // within a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		if !p.mid {
			if _, err := io.WriteString(p.w, p.prefix); err != nil {
				return 0, err
			}
		}
		line := b
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			line = b[:i+1]
		}
		if _, err := p.w.Write(line); err != nil {
			return 0, err
		}
		p.mid = line[len(line)-1] != '\n'
		b = b[len(line):]
	}
	return n, nil
}
