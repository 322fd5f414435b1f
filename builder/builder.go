// Package builder runs the steps of a build spec, each in its own sandbox,
// and records what the control plane needs to write the build's provenance:
// the source snapshot and its tree digest, the dependencies the lockfiles
// pin, the toolchains it verified, each step's command, exit and log
// digest, and the outputs with their digests. It signs nothing.
//
// # What Run does, in order
//
//  1. Checks the spec (buildspec Validate and Order) and the options, and
//     resolves and verifies every toolchain the steps name (package
//     toolchain: the lock's digest, the Go checksum database's record when
//     the go command's cache has it), once per build; before every later
//     step a warm re-check (toolchain.Resolver.Recheck, a stat walk) shows
//     the toolchain has not changed since. Nothing runs when any of this
//     fails.
//  2. Snapshots the source tree into the build's work directory (the files
//     git tracks, or every file when the tree is not in git; never .git;
//     symbolic links copied as links and never followed) and hashes the
//     snapshot: the tree digest is of what the steps see, not of the
//     directory it came from, which may change meanwhile.
//  3. Lists the dependencies the snapshot's go.sum and lockfiles pin and,
//     when a step reads the Go module cache, hashes every module of go.sum
//     found there (cached by stat snapshot) and refuses the build when one
//     does not match (GoSumMismatchError).
//  4. Runs the steps in spec.Order(), each in a new sandbox (package sandbox),
//     laid out as below, and keeps only each step's declared outputs.
//  5. Copies the outputs into Options.OutDir and hashes them.
//
// # The sandbox of a step
//
//	/work              the working directory, writable: a fresh copy of the
//	                   source snapshot when the step reads the source (else
//	                   empty), with the declared outputs of the steps it reads
//	                   mounted read-only at their own paths. Only the step's
//	                   declared outputs are kept; everything else written
//	                   here is discarded with the build's work directory.
//	/src               the source snapshot, read-only (source: true)
//	/steps/NAME        the outputs of step NAME, read-only (step: NAME)
//	/cache/go-modules  the Go module cache, read-only (cache: go-modules);
//	                   GOMODCACHE points here
//	/cache/npm         the npm cache, read-only (cache: npm)
//	/toolchain/go      the verified Go toolchain (GOROOT), read-only
//	/usr /bin /lib /lib64  the host's system directories, read-only
//	                   (Options.System), for /bin/sh and the usual tools
//	/tmp               a fresh tmpfs; HOME=/tmp/home, GOCACHE=/tmp/gocache,
//	                   GOPATH=/tmp/gopath
//	/etc               synthesized passwd, group, hosts (a network step
//	                   also gets the host's resolv.conf and /etc/ssl/certs)
//
// Everything else of the host is invisible, the root is read-only, and the
// network is loopback only unless the step is a fetch step with network:
// true. The environment holds only the step's declared variables and the
// fixed ones: PATH=/toolchain/go/bin:/usr/bin:/bin, TZ=UTC, LANG and
// LC_ALL=C.UTF-8, HOME, SOURCE_DATE_EPOCH (the commit time),
// GOTOOLCHAIN=local, GOCACHE, GOTELEMETRY=off and, for a step without the
// network, GOPROXY=off (these win over declared values); GOFLAGS=-mod=readonly,
// GOPATH and GOMODCACHE are defaults a step may override.
//
// GOCACHE is fresh for every step: a build cache shared between builds
// would let one build's poisoned entry (a compiled package whose key it
// chose) end up in another's binaries.
//
// # When a step fails
//
// A step that exits non-zero, is killed by a signal, runs past its timeout
// or CPU time, leaves a process running when it ends, or does not write a
// declared output fails the build: Run returns the Result so far and a
// *StepError naming the step and the reason. A step that writes outside its
// outputs either fails (the root, the toolchain, the inputs are read-only)
// or writes where nothing is kept (/tmp, the rest of /work). Limits not set
// by the spec are Options.Limits. The spec's memory bounds the step's
// processes together (a memory cgroup; RLIMIT_AS per process where none can
// be made), processes a pids cgroup, cpu a cpu cgroup's bandwidth quota
// (not enforced where none can be made); see package sandbox.
package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hallmark-dev/hallmark/buildspec"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/sandbox"
	"github.com/hallmark-dev/hallmark/toolchain"
)

// Paths inside a step's sandbox.
const (
	WorkPath      = "/work"
	SourcePath    = "/src"
	StepsPath     = "/steps"
	GoModulesPath = "/cache/go-modules"
	NPMPath       = "/cache/npm"
	ToolchainPath = "/toolchain/go"
	StepPATH      = ToolchainPath + "/bin:/usr/bin:/bin"
)

// Default limits of a step the spec gives none for.
const (
	DefaultTimeout   = 30 * time.Minute
	DefaultMemory    = 16 << 30 // the step's processes together (a memory cgroup)
	DefaultProcesses = 4096
	DefaultFileSize  = 8 << 30
	DefaultOpenFiles = 4096
	// MaxOutputBytes and MaxOutputFiles bound each declared output of a
	// step (a directory with everything under it).
	MaxOutputBytes = 16 << 30
	MaxOutputFiles = 100_000
)

// Options are the platform's side of a build.
type Options struct {
	// SourceDir is the source tree; OutDir receives the outputs and must be
	// absent or empty.
	SourceDir, OutDir string
	// WorkDir is where the build's scratch directory is made (and removed
	// after); "" means os.TempDir(). It must be on a file system that
	// allows executables (no noexec) when steps run what they build.
	WorkDir string
	// GoModCache is the host's Go module cache, mounted read-only for
	// steps with cache: go-modules. NPMCache likewise for cache: npm.
	GoModCache, NPMCache string
	// Toolchains resolves and verifies the spec's toolchains; required.
	Toolchains *toolchain.Resolver
	// Logs, when set, returns where a step's output (stdout and stderr
	// together) goes besides its digest; it may return nil.
	Logs func(step string) io.Writer
	// Timeout is a step's timeout when the spec gives none; 0 means
	// DefaultTimeout. Limits are the defaults of the other limits (0 fields
	// mean the Default constants).
	Timeout time.Duration
	Limits  sandbox.Limits
	// System are host directories mounted read-only at the same path in
	// every step; nil means /usr, /bin, /lib, /lib64 where present.
	System []string
	// SourceDateEpoch is used for a source tree outside git; zero means the
	// builder's own SOURCE_DATE_EPOCH variable, if any.
	SourceDateEpoch time.Time
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Result is what a build did.
type Result struct {
	Spec       *buildspec.Spec
	Source     Source
	Toolchains map[string]*toolchain.Toolchain // by the spec's toolchain name
	// Dependencies are the lockfiles' pins, sorted by PURL.
	Dependencies []Dependency
	Steps        []StepResult // in the order they ran
	// Outputs are every file under OutDir, sorted by path.
	Outputs []Output
	// Started is when the first step started, Finished when the last
	// ended (or the build stopped).
	Started, Finished time.Time
	// Sandbox describes the sandbox the steps ran in, for provenance's
	// internalParameters.
	Sandbox map[string]any
}

// StepResult is how one step ended.
type StepResult struct {
	Name      string
	Command   []string
	Toolchain string
	Network   bool
	Exit      int    // -1 when killed by a signal
	Signal    string // "SIGKILL", or ""
	Killed    string // "wall-time", "cpu-time", "file-size", "canceled", or ""
	Leftover  int    // processes the step left running (killed)
	Duration  time.Duration
	LogSHA256 string // lowercase hex of stdout and stderr as they came
	LogSize   int64
	Limits    sandbox.Limits
}

// Output is one file the build made.
type Output struct {
	Path   string // slash-separated, relative to OutDir
	Step   string
	Size   int64
	SHA256 string // lowercase hex
}

// StepError is a step that failed.
type StepError struct {
	Step   string
	Reason string
	Err    error // the underlying error, if any
}

func (e *StepError) Error() string {
	return fmt.Sprintf("builder: step %s: %s", e.Step, e.Reason)
}

func (e *StepError) Unwrap() error { return e.Err }

// Run runs the build spec describes; see the package documentation. On a
// failed step it returns the Result so far and a *StepError; on an error
// before any step ran, a nil Result.
func Run(ctx context.Context, spec *buildspec.Spec, opts Options) (*Result, error) {
	b, err := prepare(ctx, spec, &opts)
	if err != nil {
		return nil, err
	}
	defer removeAll(b.work)
	return b.run(ctx)
}

// removeAll removes dir even when a step left read-only directories in it
// (go mod download does), which a builder not running as root could not
// otherwise empty.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

type build struct {
	spec  *buildspec.Spec
	opts  *Options
	order []string
	steps map[string]*buildspec.Step
	work  string // the build's scratch directory
	res   *Result
}

func prepare(ctx context.Context, spec *buildspec.Spec, opts *Options) (*build, error) {
	if spec == nil {
		return nil, errors.New("builder: no spec")
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("builder: spec refused: %w", err)
	}
	order := spec.Order()
	if order == nil {
		return nil, errors.New("builder: spec refused: no order of the steps")
	}
	if opts.SourceDir == "" || opts.OutDir == "" {
		return nil, errors.New("builder: options: SourceDir and OutDir are required")
	}
	if opts.Toolchains == nil {
		return nil, errors.New("builder: options: no toolchain resolver")
	}
	if es, err := os.ReadDir(opts.OutDir); err == nil && len(es) > 0 {
		return nil, fmt.Errorf("builder: output directory %s is not empty", opts.OutDir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("builder: output directory: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, p := range []*string{&opts.WorkDir, &opts.GoModCache, &opts.NPMCache} {
		if *p != "" {
			a, err := filepath.Abs(*p)
			if err != nil {
				return nil, fmt.Errorf("builder: options: %w", err)
			}
			*p = a
		}
	}
	b := &build{spec: spec, opts: opts, order: order, steps: map[string]*buildspec.Step{}}
	res := &Result{Spec: spec, Toolchains: map[string]*toolchain.Toolchain{}}
	b.res = res
	needMods := false
	for i := range spec.Steps {
		st := &spec.Steps[i]
		b.steps[st.Name] = st
		for _, in := range st.Inputs {
			switch {
			case in.Cache == buildspec.GoModules:
				needMods = true
				if opts.GoModCache == "" {
					return nil, fmt.Errorf("builder: step %s: reads the Go module cache, and no module cache is configured", st.Name)
				}
			case in.Cache == buildspec.NPM && opts.NPMCache == "":
				return nil, fmt.Errorf("builder: step %s: reads the npm cache, and no npm cache is configured", st.Name)
			}
		}
		if _, ok := res.Toolchains[st.Toolchain]; ok {
			continue
		}
		lock, ok := spec.Toolchains[st.Toolchain]
		if !ok {
			return nil, fmt.Errorf("builder: step %s: toolchain %q is not declared", st.Name, st.Toolchain)
		}
		tc, err := opts.Toolchains.Resolve(ctx, lock)
		if err != nil {
			return nil, fmt.Errorf("builder: toolchain %s: %w", st.Toolchain, err)
		}
		res.Toolchains[st.Toolchain] = tc
	}
	work, err := os.MkdirTemp(opts.WorkDir, "hallmark-build-")
	if err != nil {
		return nil, fmt.Errorf("builder: work directory: %w", err)
	}
	b.work = work
	fail := func(err error) (*build, error) {
		removeAll(work)
		return nil, err
	}
	src, err := snapshotSource(ctx, opts.SourceDir, filepath.Join(work, "src"))
	if err != nil {
		return fail(err)
	}
	if src.SourceDateEpoch.IsZero() {
		src.SourceDateEpoch = opts.SourceDateEpoch
		if src.SourceDateEpoch.IsZero() {
			src.SourceDateEpoch, _ = inventory.SourceDateEpoch(filepath.Join(work, "src"))
		}
	}
	res.Source = *src
	mc := ""
	if needMods {
		mc = opts.GoModCache
	}
	// Resolve, called above for every step's toolchain, gave the resolver
	// a Cache if it had none.
	if res.Dependencies, err = dependencies(ctx, filepath.Join(work, "src"), mc, opts.Toolchains.Cache); err != nil {
		return fail(err)
	}
	return b, nil
}

func (b *build) run(ctx context.Context) (*Result, error) {
	res := b.res
	res.Started = b.opts.Now().UTC()
	defer func() { res.Finished = b.opts.Now().UTC() }()
	network := false
	for i, name := range b.order {
		st := b.steps[name]
		network = network || st.Network
		if i > 0 {
			// The toolchain was verified when the build started; a warm
			// check shows it has not changed since.
			if err := b.opts.Toolchains.Recheck(res.Toolchains[st.Toolchain]); err != nil {
				return res, &StepError{Step: name, Reason: "toolchain: " + err.Error(), Err: err}
			}
		}
		sr, err := b.runStep(ctx, st)
		if sr != nil {
			res.Steps = append(res.Steps, *sr)
		}
		if err != nil {
			return res, err
		}
	}
	res.Sandbox = b.sandboxParams(network)
	if err := os.MkdirAll(b.opts.OutDir, 0o755); err != nil {
		return res, fmt.Errorf("builder: output directory: %w", err)
	}
	for _, name := range b.order {
		if err := copyTree(filepath.Join(b.work, "steps", name, "out"), b.opts.OutDir); err != nil {
			return res, fmt.Errorf("builder: outputs of %s: %w", name, err)
		}
	}
	outs, err := hashOutputs(b.opts.OutDir, b.spec)
	if err != nil {
		return res, err
	}
	res.Outputs = outs
	return res, nil
}

func (b *build) limits(st *buildspec.Step) sandbox.Limits {
	d := b.opts.Limits
	or := func(v, def int64) int64 {
		if v > 0 {
			return v
		}
		return def
	}
	return sandbox.Limits{
		WallTime:  time.Duration(or(int64(st.Timeout), or(int64(b.opts.Timeout), int64(DefaultTimeout)))),
		RSS:       or(st.Limits.Memory, or(d.RSS, DefaultMemory)),
		Memory:    d.Memory,
		MilliCPU:  int(or(int64(st.Limits.MilliCPU), int64(d.MilliCPU))),
		Processes: int(or(int64(st.Limits.Processes), or(int64(d.Processes), DefaultProcesses))),
		FileSize:  or(d.FileSize, DefaultFileSize),
		OpenFiles: int(or(int64(d.OpenFiles), DefaultOpenFiles)),
		CPUTime:   d.CPUTime,
	}
}

func (b *build) system() []string {
	if b.opts.System != nil {
		return b.opts.System
	}
	var ds []string
	for _, d := range []string{"/usr", "/bin", "/lib", "/lib64"} {
		if _, err := os.Stat(d); err == nil {
			ds = append(ds, d)
		}
	}
	return ds
}

func (b *build) runStep(ctx context.Context, st *buildspec.Step) (*StepResult, error) {
	dir := filepath.Join(b.work, "steps", st.Name)
	wd := filepath.Join(dir, "work")
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("builder: step %s: %w", st.Name, err)
	}
	var mounts []sandbox.Mount
	for _, d := range b.system() {
		mounts = append(mounts, sandbox.Mount{Source: d, Target: d})
	}
	tc := b.res.Toolchains[st.Toolchain]
	mounts = append(mounts, sandbox.Mount{Source: tc.Dir, Target: ToolchainPath})
	env := map[string]string{
		"GOFLAGS":    "-mod=readonly",
		"GOPATH":     "/tmp/gopath",
		"GOMODCACHE": "/tmp/gopath/pkg/mod",
	}
	source := false
	var later []sandbox.Mount // binds under /work, after /work itself
	for _, in := range st.Inputs {
		switch {
		case in.Source:
			source = true
			mounts = append(mounts, sandbox.Mount{Source: filepath.Join(b.work, "src"), Target: SourcePath})
		case in.Step != "":
			sd := filepath.Join(b.work, "steps", in.Step, "out")
			mounts = append(mounts, sandbox.Mount{Source: sd, Target: StepsPath + "/" + in.Step})
			for _, o := range b.steps[in.Step].Outputs {
				later = append(later, sandbox.Mount{Source: filepath.Join(sd, filepath.FromSlash(o)), Target: WorkPath + "/" + o})
			}
		case in.Cache == buildspec.GoModules:
			mounts = append(mounts, sandbox.Mount{Source: b.opts.GoModCache, Target: GoModulesPath})
			env["GOMODCACHE"] = GoModulesPath
		case in.Cache == buildspec.NPM:
			mounts = append(mounts, sandbox.Mount{Source: b.opts.NPMCache, Target: NPMPath})
			env["npm_config_cache"] = NPMPath
		}
	}
	if source {
		if err := copyTree(filepath.Join(b.work, "src"), wd); err != nil {
			return nil, fmt.Errorf("builder: step %s: working copy: %w", st.Name, err)
		}
	} else if err := os.MkdirAll(wd, 0o755); err != nil {
		return nil, fmt.Errorf("builder: step %s: %w", st.Name, err)
	}
	mounts = append(mounts, sandbox.Mount{Source: wd, Target: WorkPath, Writable: true})
	mounts = append(mounts, later...)
	if st.Network {
		etc, err := networkEtc(dir)
		if err != nil {
			return nil, fmt.Errorf("builder: step %s: %w", st.Name, err)
		}
		mounts = append(mounts, sandbox.Mount{Source: etc, Target: "/etc"})
		if _, err := os.Stat("/etc/ssl/certs"); err == nil {
			mounts = append(mounts, sandbox.Mount{Source: "/etc/ssl/certs", Target: "/etc/ssl/certs"})
		}
	}
	for k, v := range st.Env {
		env[k] = v
	}
	env["GOTOOLCHAIN"] = "local"
	env["GOCACHE"] = "/tmp/gocache"
	env["GOTELEMETRY"] = "off"
	if !st.Network {
		env["GOPROXY"] = "off"
	}
	lim := b.limits(st)
	lw := &logWriter{h: sha256.New()}
	if b.opts.Logs != nil {
		lw.next = b.opts.Logs(st.Name)
	}
	sr := &StepResult{Name: st.Name, Command: st.Run, Toolchain: st.Toolchain, Network: st.Network, Limits: lim}
	sres, err := sandbox.Run(ctx, sandbox.Spec{
		Command:         st.Run,
		Dir:             WorkPath,
		Env:             env,
		Path:            StepPATH,
		SourceDateEpoch: b.res.Source.SourceDateEpoch,
		Mounts:          mounts,
		Scratch:         true,
		Network:         st.Network,
		Limits:          lim,
		Stdout:          lw,
		Stderr:          lw,
	})
	sr.LogSize = lw.n
	sr.LogSHA256 = hex.EncodeToString(lw.h.Sum(nil))
	if sres != nil {
		sr.Exit, sr.Signal, sr.Killed, sr.Leftover, sr.Duration = sres.ExitCode, sres.Signal, sres.Killed, sres.Leftover, sres.WallTime
	}
	if err != nil {
		return sr, &StepError{Step: st.Name, Reason: err.Error(), Err: err}
	}
	switch {
	case sres.Killed == "wall-time":
		return sr, &StepError{Step: st.Name, Reason: fmt.Sprintf("timed out after %v (timeout %v)", sres.WallTime.Round(time.Millisecond), lim.WallTime)}
	case sres.Killed == "cpu-time":
		return sr, &StepError{Step: st.Name, Reason: fmt.Sprintf("exceeded its CPU time limit of %v", lim.CPUTime)}
	case sres.Killed == "memory":
		return sr, &StepError{Step: st.Name, Reason: fmt.Sprintf("exceeded its memory limit of %d bytes (a process was killed)", lim.RSS)}
	case sres.Killed == "file-size":
		return sr, &StepError{Step: st.Name, Reason: fmt.Sprintf("wrote a file larger than the limit of %d bytes", lim.FileSize)}
	case sres.Signal != "":
		return sr, &StepError{Step: st.Name, Reason: "killed by " + sres.Signal}
	case sres.ExitCode != 0:
		return sr, &StepError{Step: st.Name, Reason: fmt.Sprintf("exited with status %d%s", sres.ExitCode, logTail(lw))}
	case sres.Leftover > 0:
		return sr, &StepError{Step: st.Name, Reason: fmt.Sprintf("left %d background process(es) running when it ended (killed); a step must wait for what it starts", sres.Leftover)}
	}
	for _, o := range st.Outputs {
		if err := harvest(wd, out, o); err != nil {
			return sr, &StepError{Step: st.Name, Reason: err.Error(), Err: err}
		}
	}
	return sr, nil
}

// logWriter hashes and counts a step's output, keeps its last bytes for
// error messages, and passes it on.
type logWriter struct {
	mu   sync.Mutex
	h    hash.Hash
	n    int64
	tail []byte
	next io.Writer
}

const tailSize = 512

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.h.Write(p)
	l.n += int64(len(p))
	l.tail = append(l.tail, p...)
	if len(l.tail) > tailSize {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-tailSize:]...)
	}
	if l.next != nil {
		l.next.Write(p) // a failing log sink does not stop the step
	}
	return len(p), nil
}

// logTail is the last line of a step's output, for an error message.
func logTail(l *logWriter) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSpace(strings.ToValidUTF8(string(l.tail), "?"))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (last output: %q)", truncate(s, 200))
}

// networkEtc writes the /etc of a step with the network: passwd, group and
// hosts as the sandbox synthesizes them, and the host's resolv.conf.
func networkEtc(dir string) (string, error) {
	etc := filepath.Join(dir, "etc")
	if err := os.MkdirAll(filepath.Join(etc, "ssl", "certs"), 0o755); err != nil {
		return "", err
	}
	if err := sandbox.WriteEtc(etc); err != nil {
		return "", err
	}
	if b, err := limit.ReadFile("/etc/resolv.conf", 64<<10); err == nil {
		if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), b, 0o644); err != nil {
			return "", err
		}
	}
	return etc, nil
}

// harvest moves the declared output o of a step from its working directory
// wd into out. No element of o may be a symbolic link, and the output may
// hold only directories and regular files.
func harvest(wd, out, o string) error {
	p := wd
	for _, el := range strings.Split(o, "/") {
		p = filepath.Join(p, el)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("declared output %s was not written", o)
		}
		if err != nil {
			return fmt.Errorf("output %s: %w", o, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("output %s: %s is a symbolic link", o, strings.TrimPrefix(p, wd+"/"))
		}
	}
	var total int64
	files := 0
	err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(wd, q)
		if !d.IsDir() && !d.Type().IsRegular() {
			return fmt.Errorf("output %s: %s is not a regular file or directory (%s)", o, filepath.ToSlash(rel), d.Type())
		}
		if fi, err := d.Info(); err == nil {
			total += fi.Size()
		}
		if files++; total > MaxOutputBytes || files > MaxOutputFiles {
			return fmt.Errorf("output %s: more than %d bytes or %d files", o, int64(MaxOutputBytes), MaxOutputFiles)
		}
		return nil
	})
	if err != nil {
		return err
	}
	dst := filepath.Join(out, filepath.FromSlash(o))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return copyTree(p, dst)
}

// hashOutputs lists and hashes every file under dir.
func hashOutputs(dir string, spec *buildspec.Spec) ([]Output, error) {
	var outs []Output
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		sum, n, err := digest.File(p)
		if err != nil {
			return err
		}
		outs = append(outs, Output{Path: rel, Step: stepOf(spec, rel), Size: n, SHA256: sum.Hex()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("builder: outputs: %w", err)
	}
	sort.Slice(outs, func(i, j int) bool { return outs[i].Path < outs[j].Path })
	return outs, nil
}

// stepOf names the step whose declared output holds rel.
func stepOf(spec *buildspec.Spec, rel string) string {
	for _, st := range spec.Steps {
		for _, o := range st.Outputs {
			if rel == o || strings.HasPrefix(rel, o+"/") {
				return st.Name
			}
		}
	}
	return ""
}

func (b *build) sandboxParams(network bool) map[string]any {
	d := b.limits(&buildspec.Step{})
	return map[string]any{
		"kind":    "namespaces",
		"network": network,
		"limits": map[string]any{
			"defaultTimeoutSeconds": int64(d.WallTime / time.Second),
			"defaultMemoryBytes":    d.RSS,
			"addressSpaceBytes":     d.Memory,
			"defaultMilliCPU":       d.MilliCPU,
			"defaultProcesses":      d.Processes,
			"fileSizeBytes":         d.FileSize,
			"openFiles":             d.OpenFiles,
		},
		"layout": map[string]any{
			"work": WorkPath, "source": SourcePath, "steps": StepsPath,
			"goModules": GoModulesPath, "toolchain": ToolchainPath,
			"system": b.system(), "path": StepPATH,
		},
		"goCache": "fresh per step",
	}
}
