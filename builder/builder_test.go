package builder_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/buildspec"
	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/sandbox"
	"github.com/hallmark-dev/hallmark/toolchain"
)

func TestMain(m *testing.M) {
	sandbox.Init()
	os.Exit(m.Run())
}

const goVersion = "1.26.8"

var available = sync.OnceValue(func() error {
	if runtime.GOOS != "linux" {
		return errors.New("not Linux")
	}
	return exec.Command("unshare", "-Urmpfni", "--mount-proc", "true").Run()
})

// resolver is shared by the tests so that the toolchain is hashed once.
var resolver = sync.OnceValues(func() (*toolchain.Resolver, error) {
	c, _ := toolchain.NewCache("")
	r := &toolchain.Resolver{Cache: c}
	_, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: goVersion})
	return r, err
})

func modCache() string {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// setup skips a test where namespaces or the toolchain are missing.
func setup(t *testing.T) *toolchain.Resolver {
	t.Helper()
	if err := available(); err != nil {
		t.Skipf("user namespaces are not available here: %v", err)
	}
	r, err := resolver()
	if err != nil {
		t.Skipf("toolchain go%s is not usable here (go mod download golang.org/toolchain@v0.0.1-go%s.%s-%s): %v", goVersion, goVersion, runtime.GOOS, runtime.GOARCH, err)
	}
	return r
}

// copyDir copies the example at src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

type run struct {
	res  *builder.Result
	err  error
	out  string
	logs map[string]*bytes.Buffer
}

func build(t *testing.T, src string, spec *buildspec.Spec, mod func(*builder.Options)) run {
	t.Helper()
	r := setup(t)
	logs := map[string]*bytes.Buffer{}
	var mu sync.Mutex
	opts := builder.Options{
		SourceDir:  src,
		OutDir:     filepath.Join(t.TempDir(), "out"),
		WorkDir:    t.TempDir(),
		GoModCache: modCache(),
		Toolchains: r,
		Logs: func(step string) io.Writer {
			mu.Lock()
			defer mu.Unlock()
			logs[step] = &bytes.Buffer{}
			return logs[step]
		},
	}
	if mod != nil {
		mod(&opts)
	}
	res, err := builder.Run(context.Background(), spec, opts)
	if es, _ := os.ReadDir(opts.WorkDir); len(es) != 0 {
		t.Errorf("the work directory was not removed: %v", es)
	}
	return run{res, err, opts.OutDir, logs}
}

func parse(t *testing.T, y string) *buildspec.Spec {
	t.Helper()
	s, err := buildspec.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readSpec(t *testing.T, dir string) *buildspec.Spec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "hallmark.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(b))
}

func digests(r *builder.Result) map[string]string {
	m := map[string]string{}
	for _, o := range r.Outputs {
		m[o.Path] = o.SHA256
	}
	return m
}

func TestHelloReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library from an empty build cache, several times; skipped with -short")
	}
	setup(t)
	src := copyDir(t, "../examples/hello")
	spec := readSpec(t, src)
	a := build(t, src, spec, nil)
	if a.err != nil {
		t.Fatalf("first build: %v\n%v", a.err, a.logs)
	}
	b := build(t, src, spec, nil)
	if b.err != nil {
		t.Fatalf("second build: %v", b.err)
	}
	da, db := digests(a.res), digests(b.res)
	want := []string{"bin/linux-amd64/hello", "bin/windows-amd64/hello.exe", "share/hello.sh", "sums/SHA256SUMS"}
	for _, p := range want {
		if da[p] == "" || da[p] != db[p] {
			t.Errorf("%s: %q and %q", p, da[p], db[p])
		}
	}
	if len(da) != len(want) {
		t.Errorf("outputs %v, want %v", da, want)
	}
	// The binary runs and the script was shipped executable.
	out, err := exec.Command(filepath.Join(a.out, "share", "hello.sh"), "sandbox").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello, sandbox (linux/amd64)") {
		t.Errorf("hello.sh: %v %s", err, out)
	}
	sums, _ := os.ReadFile(filepath.Join(a.out, "sums", "SHA256SUMS"))
	if !strings.Contains(string(sums), da["bin/linux-amd64/hello"]+"  bin/linux-amd64/hello") {
		t.Errorf("SHA256SUMS does not list the linux binary:\n%s", sums)
	}
	r := a.res
	if r.Source.H1 == "" || r.Source.H1 != b.res.Source.H1 || r.Source.Git || r.Source.Files != 4 {
		t.Errorf("source %+v", r.Source)
	}
	if len(r.Steps) != 4 || r.Steps[3].Name != "checksums" || r.Steps[0].LogSHA256 == "" {
		t.Errorf("steps %+v", r.Steps)
	}
	if tc := r.Toolchains["go"]; tc == nil || tc.SumDB != "verified" || tc.Locked != "h1" {
		t.Errorf("toolchain %+v", tc)
	}
	// The Result makes a valid provenance statement.
	pb := r.Provenance(builder.ProvenanceOptions{
		BuilderID: "https://hallmark.example/builder", InvocationID: "build-1",
		SourceURI: "file:///src/hello", WorkerID: "local",
		Tenant: map[string]string{"team": "a"},
	})
	st, err := provenance.Statement(pb)
	if err != nil {
		t.Fatalf("Statement: %v", err)
	}
	back, err := provenance.Parse(st)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(back.Subjects) != 4 || back.Materials[0].Name != "source" || back.Materials[1].Name != "toolchain:go" {
		t.Errorf("statement %s", st)
	}
}

func TestNonReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library from an empty build cache, several times; skipped with -short")
	}
	setup(t)
	src := copyDir(t, "../examples/nonrepro")
	spec := readSpec(t, src)
	a := build(t, src, spec, nil)
	b := build(t, src, spec, nil)
	if a.err != nil || b.err != nil {
		t.Fatalf("builds: %v, %v", a.err, b.err)
	}
	if da, db := digests(a.res), digests(b.res); da["bin/nonrepro"] == "" || da["bin/nonrepro"] == db["bin/nonrepro"] {
		t.Fatalf("nonrepro built the same bytes twice: %v %v", da, db)
	}
}

// TestGitSource records the commit and whether the tree is clean, and
// snapshots only tracked files.
func TestGitSource(t *testing.T) {
	setup(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	src := copyDir(t, "../examples/hello")
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", src, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z", "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "x")
	os.WriteFile(filepath.Join(src, "untracked.txt"), []byte("not in the snapshot"), 0o644)
	spec := parse(t, step("mkdir out; cp -r cmd out/", ""))
	r := build(t, src, spec, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	s := r.res.Source
	if !s.Git || !s.Clean || len(s.Commit) != 40 || s.Files != 4 || s.SourceDateEpoch.Unix() != 1704164645 {
		t.Fatalf("source %+v", s)
	}
	os.WriteFile(filepath.Join(src, "cmd/hello/main.go"), []byte("package main\nfunc main() {}\n"), 0o644)
	r = build(t, src, spec, nil)
	if r.err != nil || r.res.Source.Clean {
		t.Fatalf("dirty tree: %v %+v", r.err, r.res.Source)
	}
}

// step is a one-step spec running script with the source as input.
func step(script string, extra string) string {
	return fmt.Sprintf(`apiVersion: hallmark.dev/build/v1
kind: Build
name: escape
toolchains:
  go: {go: %s}
steps:
  - name: s
    toolchain: go
    run: %q
    inputs: [{source: true}]
    outputs: [out]
%s`, goVersion, script, extra)
}

// TestEscapes: each step tries to get out, and the build fails naming the
// step and the reason.
func TestEscapes(t *testing.T) {
	setup(t)
	// A fake control-plane data directory on the host, and a listener on
	// the host's loopback besides PostgreSQL's.
	cp := filepath.Join(t.TempDir(), "controlplane")
	os.MkdirAll(cp, 0o700)
	os.WriteFile(filepath.Join(cp, "platform.key"), []byte("SECRET KEY"), 0o600)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	home, _ := os.UserHomeDir()
	marker := filepath.Join(os.TempDir(), fmt.Sprintf("hallmark-escape-%d", time.Now().UnixNano()))
	for _, tc := range []struct {
		name, script, extra string
		want                []string // in the error
		log                 string   // in the step's log
	}{
		{name: "postgres", script: "exec 3<>/dev/tcp/127.0.0.1/5432 && echo connected", want: []string{"step s", "exited with status 1"}, log: "Connection refused"},
		{name: "host-loopback", script: "exec 3<>/dev/tcp/" + strings.Replace(l.Addr().String(), ":", "/", 1) + " && echo connected", want: []string{"exited with status 1"}, log: "Connection refused"},
		{name: "outside", script: "exec 3<>/dev/tcp/192.0.2.1/443 && echo connected", want: []string{"exited with status 1"}, log: "unreachable"},
		{name: "controlplane", script: "cat " + cp + "/platform.key", want: []string{"exited with status 1", "(last output: ", "No such file"}, log: "No such file"},
		{name: "home", script: "ls -a " + home, want: []string{"exited with status 2"}, log: "No such file"},
		{name: "write-root", script: "echo x > /evil", want: []string{"exited with status"}, log: "Read-only file system"},
		{name: "write-usr", script: "echo x > /usr/evil", want: []string{"exited with status"}, log: "Read-only file system"},
		{name: "write-source", script: "echo x > /src/evil", want: []string{"exited with status"}, log: "Read-only file system"},
		{name: "write-toolchain", script: "echo x > /toolchain/go/VERSION", want: []string{"exited with status"}, log: "Read-only file system"},
		{name: "background", script: "mkdir out; sleep 100 & exit 0", want: []string{"step s", "left 1 background process"}},
		{name: "timeout", script: "sleep 30", extra: "    timeout: 1s\n", want: []string{"step s", "timed out"}},
		{name: "memory", script: "head -c 300000000 /dev/zero | tail > /dev/null", extra: "    limits: {memory: 64Mi}\n", want: []string{"step s", "memory limit of 67108864 bytes"}},
		{name: "processes", script: "for i in $(seq 64); do sleep 5 & done; wait", extra: "    limits: {processes: 8}\n", want: []string{"exited with status"}, log: "fork"},
		{name: "missing-output", script: "true", want: []string{"declared output out was not written"}},
		{name: "symlink-output", script: "ln -s /etc out", want: []string{"out is a symbolic link"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			os.WriteFile(filepath.Join(src, "README"), []byte("x"), 0o644)
			spec := parse(t, step("exec bash -c '"+strings.ReplaceAll(tc.script, "'", `'\''`)+"'", tc.extra))
			start := time.Now()
			r := build(t, src, spec, nil)
			var se *builder.StepError
			if !errors.As(r.err, &se) || se.Step != "s" {
				t.Fatalf("got %v, want a StepError of step s (log %q)", r.err, r.logs["s"])
			}
			for _, w := range tc.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q lacks %q", r.err, w)
				}
			}
			if tc.log != "" && !strings.Contains(r.logs["s"].String(), tc.log) {
				t.Errorf("log %q lacks %q", r.logs["s"], tc.log)
			}
			if time.Since(start) > 20*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if es, _ := os.ReadDir(r.out); len(es) != 0 {
				t.Errorf("a failed build left outputs: %v", es)
			}
		})
	}
	// A symbolic link of the source to a host file is copied as a link,
	// and inside the sandbox it points at nothing.
	t.Run("source-symlink", func(t *testing.T) {
		src := t.TempDir()
		os.Symlink(filepath.Join(cp, "platform.key"), filepath.Join(src, "key"))
		r := build(t, src, parse(t, step("cat key", "")), nil)
		var se *builder.StepError
		if !errors.As(r.err, &se) || strings.Contains(r.logs["s"].String(), "SECRET") {
			t.Fatalf("got %v, log %q", r.err, r.logs["s"])
		}
		if r.res.Source.Files != 1 {
			t.Errorf("source %+v", r.res.Source)
		}
	})
	// A fetch step with the network shares the host's: it reaches the
	// listener, and the allowance is recorded.
	t.Run("fetch-network", func(t *testing.T) {
		src := t.TempDir()
		os.WriteFile(filepath.Join(src, "README"), []byte("x"), 0o644)
		y := step("exec bash -c 'exec 3<>/dev/tcp/"+strings.Replace(l.Addr().String(), ":", "/", 1)+" && mkdir out && cat /etc/resolv.conf > out/resolv && ls /etc/ssl/certs | head -1 >> out/resolv'", "    fetch: true\n    network: true\n")
		r := build(t, src, parse(t, y), nil)
		if r.err != nil {
			t.Fatalf("%v (log %q)", r.err, r.logs["s"])
		}
		if !r.res.Steps[0].Network || r.res.Sandbox["network"] != true {
			t.Errorf("network not recorded: %+v %v", r.res.Steps[0], r.res.Sandbox)
		}
	})
	// Writes outside the declared outputs that succeed (the rest of the
	// working directory, /tmp) do not appear anywhere on the host.
	t.Run("confined-writes", func(t *testing.T) {
		src := t.TempDir()
		os.WriteFile(filepath.Join(src, "README"), []byte("x"), 0o644)
		spec := parse(t, step("mkdir out; echo ok > out/ok; echo leak > undeclared; echo leak > "+marker+"; echo leak > /tmp/leak", ""))
		r := build(t, src, spec, nil)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("%s appeared on the host", marker)
		}
		if len(r.res.Outputs) != 1 || r.res.Outputs[0].Path != "out/ok" {
			t.Errorf("outputs %+v", r.res.Outputs)
		}
		if _, err := os.Stat(filepath.Join(src, "undeclared")); err == nil {
			t.Error("the step wrote into the source tree")
		}
	})
}

// TestUndeclaredInput: a step sees the outputs of the steps it reads, and
// nothing of the others.
func TestUndeclaredInput(t *testing.T) {
	setup(t)
	spec := parse(t, fmt.Sprintf(`apiVersion: hallmark.dev/build/v1
kind: Build
name: inputs
toolchains:
  go: {go: %s}
steps:
  - name: a
    toolchain: go
    run: mkdir a && echo A > a/x
    outputs: [a]
  - name: b
    toolchain: go
    run: mkdir b && echo B > b/x
    outputs: [b]
  - name: c
    toolchain: go
    run: set -e; cat a/x /steps/a/a/x; test ! -e b; test ! -e /steps/b; ls /steps > c
    inputs: [{step: a}]
    outputs: [c]
`, goVersion))
	r := build(t, t.TempDir(), spec, nil)
	if r.err != nil {
		t.Fatalf("%v (log %q)", r.err, r.logs["c"])
	}
	if c, _ := os.ReadFile(filepath.Join(r.out, "c")); string(c) != "a\n" {
		t.Errorf("c saw /steps = %q", c)
	}
	if r.logs["c"].String() != "A\nA\n" {
		t.Errorf("log %q", r.logs["c"])
	}
}

// TestRefusedBeforeRunning: nothing runs for a spec or toolchain that is
// refused.
func TestRefusedBeforeRunning(t *testing.T) {
	r := setup(t)
	spec := func(mod func(*buildspec.Spec)) *buildspec.Spec {
		s := buildspec.Shorthand([]string{"sh", "-c", "mkdir out; touch " + filepath.Join(t.TempDir(), "ran")}, goVersion)
		if mod != nil {
			mod(s)
		}
		return s
	}
	lock := func(tc buildspec.Toolchain) func(*buildspec.Spec) {
		return func(s *buildspec.Spec) { s.Toolchains["go"] = tc }
	}
	good, err := r.Resolve(context.Background(), buildspec.Toolchain{Go: goVersion})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec *buildspec.Spec
		want string
	}{
		{"cycle", spec(func(s *buildspec.Spec) {
			s.Steps = append(s.Steps, buildspec.Step{Name: "x", Run: []string{"true"}, Toolchain: "go", Inputs: []buildspec.Input{{Step: "build"}}, Outputs: []string{"x"}})
			s.Steps[0].Inputs = append(s.Steps[0].Inputs, buildspec.Input{Step: "x"})
		}), "cycle"},
		{"unknown-input", spec(func(s *buildspec.Spec) { s.Steps[0].Inputs = append(s.Steps[0].Inputs, buildspec.Input{Step: "nope"}) }), `step "nope" is not in the spec`},
		{"undeclared-toolchain", spec(func(s *buildspec.Spec) { s.Steps[0].Toolchain = "rust" }), `toolchain "rust" is not declared`},
		{"missing-toolchain", spec(lock(buildspec.Toolchain{Go: "1.99.1"})), "not in the module cache"},
		{"h1-mismatch", spec(lock(buildspec.Toolchain{Go: goVersion, H1: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="})), "h1 (lock) mismatch: expected h1:AAAA"},
		{"sha256-mismatch", spec(lock(buildspec.Toolchain{Go: goVersion, SHA256: strings.Repeat("ab", 32)})), "sha256 (lock) mismatch"},
		{"nil", nil, "no spec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := builder.Run(context.Background(), tc.spec, builder.Options{
				SourceDir: t.TempDir(), OutDir: filepath.Join(t.TempDir(), "out"), GoModCache: modCache(), Toolchains: r,
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) || res != nil {
				t.Fatalf("got %v, %v; want %q", res, err, tc.want)
			}
		})
	}
	// Unknown fields are refused by the parser, before a Spec exists.
	if _, err := buildspec.Parse([]byte(strings.Replace(step("true", ""), "    outputs:", "    netwrok: true\n    outputs:", 1))); err == nil || !strings.Contains(err.Error(), `unknown key "netwrok"`) {
		t.Errorf("unknown key: %v", err)
	}
	_ = good
}

// TestGoSumMismatch: a module in the cache that is not what go.sum pins
// stops the build before any step.
func TestGoSumMismatch(t *testing.T) {
	r := setup(t)
	mc := t.TempDir()
	mod := filepath.Join(mc, "example.com", "dep@v1.0.0")
	os.MkdirAll(mod, 0o755)
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/dep\n"), 0o644)
	os.WriteFile(filepath.Join(mod, "dep.go"), []byte("package dep\n"), 0o644)
	h1, err := r.Cache.HashDir(mod, "example.com/dep@v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/x\n\ngo 1.26\n\nrequire example.com/dep v1.0.0\n"), 0o644)
	sum := "example.com/dep v1.0.0 " + h1 + "\n"
	os.WriteFile(filepath.Join(src, "go.sum"), []byte(sum), 0o644)
	spec := buildspec.Shorthand([]string{"sh", "-c", "mkdir out"}, goVersion)
	opts := func(o *builder.Options) { o.GoModCache = mc }
	ok := build(t, src, spec, opts)
	if ok.err != nil {
		t.Fatalf("matching cache: %v", ok.err)
	}
	if len(ok.res.Dependencies) != 1 || !ok.res.Dependencies[0].Checked || ok.res.Dependencies[0].PURL != "pkg:golang/example.com/dep@v1.0.0" {
		t.Fatalf("dependencies %+v", ok.res.Dependencies)
	}
	// Poison the cache.
	os.WriteFile(filepath.Join(mod, "dep.go"), []byte("package dep\nfunc init() { panic(1) }\n"), 0o644)
	bad := build(t, src, spec, opts)
	var me *builder.GoSumMismatchError
	if !errors.As(bad.err, &me) || me.Expected != h1 || bad.res != nil {
		t.Fatalf("poisoned cache: got %v", bad.err)
	}
	if !strings.Contains(bad.err.Error(), "example.com/dep@v1.0.0 does not match go.sum:1") {
		t.Errorf("error %q", bad.err)
	}
}

// TestEnv: a step sees its declared variables and the fixed ones, nothing
// of the builder's environment, and cannot turn the module proxy back on.
func TestEnv(t *testing.T) {
	setup(t)
	t.Setenv("HALLMARK_KEY_PASSPHRASE", "hunter2")
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "README"), []byte("x"), 0o644)
	spec := parse(t, step("mkdir out; env | LC_ALL=C sort > out/env", "    env: {FOO: bar, GOPROXY: 'https://proxy.example', GOFLAGS: -mod=vendor}\n"))
	r := build(t, src, spec, func(o *builder.Options) { o.SourceDateEpoch = time.Unix(1700000000, 0) })
	if r.err != nil {
		t.Fatal(r.err)
	}
	b, _ := os.ReadFile(filepath.Join(r.out, "out", "env"))
	env := string(b)
	for _, want := range []string{"FOO=bar\n", "GOPROXY=off\n", "GOTOOLCHAIN=local\n", "GOCACHE=/tmp/gocache\n",
		"GOFLAGS=-mod=vendor\n", "HOME=/tmp/home\n", "PATH=/toolchain/go/bin:/usr/bin:/bin\n", "SOURCE_DATE_EPOCH=1700000000\n", "TZ=UTC\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(env, "hunter2") || strings.Contains(env, "HALLMARK_KEY") {
		t.Errorf("the builder's environment leaked:\n%s", env)
	}
}
