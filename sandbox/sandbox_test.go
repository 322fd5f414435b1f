//go:build linux

package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/sandbox"
)

// helperEnv makes the test binary, run inside a sandbox, act as a small tool.
const helperEnv = "SANDBOX_TEST_HELPER"

func TestMain(m *testing.M) {
	sandbox.Init()
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(h, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helper is the tool side: "dial ADDR" exits 0 when a TCP connection to ADDR
// succeeds and 1 otherwise; "loopback" exits 0 when it can connect to a
// listener of its own on 127.0.0.1.
func helper(name string, args []string) int {
	switch name {
	case "loopback":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer l.Close()
		args = []string{l.Addr().String()}
		fallthrough
	case "dial":
		c, err := net.DialTimeout("tcp", args[0], 2*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		c.Close()
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper", name)
	return 2
}

// available says whether this host lets an unprivileged process make the
// namespaces. It is asked once, when a test first needs it, not at package
// initialisation: that would run unshare in every copy of the test binary,
// among them the two stages that every sandbox.Run starts.
var available = sync.OnceValue(func() error {
	return exec.Command("unshare", "-Urmpfni", "--mount-proc", "true").Run()
})

// system is what every test step gets: the host's tools, read-only.
func system() []sandbox.Mount {
	var ms []sandbox.Mount
	for _, d := range []string{"/bin", "/usr", "/lib", "/lib64", "/sbin"} {
		if _, err := os.Stat(d); err == nil {
			ms = append(ms, sandbox.Mount{Source: d, Target: d})
		}
	}
	return ms
}

func needNamespaces(t *testing.T) {
	t.Helper()
	if err := available(); err != nil {
		t.Skipf("user namespaces are not available here (unshare -Urmpfni: %v)", err)
	}
}

type run struct {
	res            *sandbox.Result
	stdout, stderr string
}

// sh runs script under /bin/sh -c in a sandbox with the host's tools, scratch
// /tmp and the extra mounts.
func sh(t *testing.T, script string, mod func(*sandbox.Spec)) run {
	t.Helper()
	needNamespaces(t)
	var out, errb bytes.Buffer
	s := sandbox.Spec{
		Command: []string{"sh", "-c", script},
		Path:    "/usr/bin:/bin",
		Mounts:  system(),
		Scratch: true,
		Stdout:  &out,
		Stderr:  &errb,
		Limits:  sandbox.Limits{WallTime: 30 * time.Second},
	}
	if mod != nil {
		mod(&s)
	}
	res, err := sandbox.Run(context.Background(), s)
	if err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, errb.String())
	}
	return run{res, out.String(), errb.String()}
}

func TestOutput(t *testing.T) {
	src := t.TempDir()
	outDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "in.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := sh(t, "tr a-z A-Z < in.txt > /out/result.txt && echo done", func(s *sandbox.Spec) {
		s.Dir = "/src"
		s.Mounts = append(s.Mounts,
			sandbox.Mount{Source: src, Target: "/src"},
			sandbox.Mount{Source: outDir, Target: "/out", Writable: true})
	})
	if r.res.ExitCode != 0 || r.stdout != "done\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.res.ExitCode, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(outDir, "result.txt"))
	if err != nil || string(b) != "HELLO\n" {
		t.Fatalf("output: %q, %v", b, err)
	}
	fi, err := os.Stat(filepath.Join(outDir, "result.txt"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("output mode %v, %v; want 0644 under umask 022", fi.Mode(), err)
	}
}

func TestExitAndSignal(t *testing.T) {
	for _, tc := range []struct {
		script string
		code   int
		signal string
	}{
		{"exit 0", 0, ""},
		{"exit 3", 3, ""},
		{"exit 255", 255, ""},
		{"kill -TERM $$", -1, "SIGTERM"},
		{"kill -KILL $$", -1, "SIGKILL"},
		{"kill -SEGV $$", -1, "SIGSEGV"},
	} {
		t.Run(tc.script, func(t *testing.T) {
			r := sh(t, tc.script, nil)
			if r.res.ExitCode != tc.code || r.res.Signal != tc.signal || r.res.Killed != "" {
				t.Fatalf("got exit %d signal %q killed %q, want %d %q", r.res.ExitCode, r.res.Signal, r.res.Killed, tc.code, tc.signal)
			}
		})
	}
}

func TestNetwork(t *testing.T) {
	needNamespaces(t)
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
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helperRun := func(name, addr string, network bool) run {
		return sh(t, "", func(s *sandbox.Spec) {
			s.Command = []string{"/helper/" + filepath.Base(exe), addr}
			s.Env = map[string]string{helperEnv: name}
			s.Network = network
			s.Mounts = append(s.Mounts, sandbox.Mount{Source: filepath.Dir(exe), Target: "/helper"})
		})
	}
	dial := func(addr string, network bool) run { return helperRun("dial", addr, network) }
	// The helper works: with the host's network it reaches the listener.
	if r := dial(l.Addr().String(), true); r.res.ExitCode != 0 {
		t.Fatalf("dial with network: exit %d: %s", r.res.ExitCode, r.stderr)
	}
	for _, addr := range []string{l.Addr().String(), "192.0.2.1:80", "[2001:db8::1]:80"} {
		t.Run(addr, func(t *testing.T) {
			r := dial(addr, false)
			if r.res.ExitCode != 1 {
				t.Fatalf("dial %s without network: exit %d (%s), want 1", addr, r.res.ExitCode, r.stderr)
			}
		})
	}
	// Loopback inside is up and is the sandbox's own.
	if r := helperRun("loopback", "", false); r.res.ExitCode != 0 {
		t.Fatalf("loopback without network: exit %d: %s", r.res.ExitCode, r.stderr)
	}
	r := sh(t, `cat /sys/class/net/lo/operstate 2>/dev/null; grep -c . /proc/net/dev`, nil)
	if r.res.ExitCode != 0 || !strings.HasSuffix(r.stdout, "3\n") {
		t.Fatalf("/proc/net/dev inside: exit %d, %q (want 2 header lines and lo only)", r.res.ExitCode, r.stdout)
	}
}

func TestHostInvisible(t *testing.T) {
	data := t.TempDir() // stands in for the control plane's data directory
	if err := os.WriteFile(filepath.Join(data, "platform.key"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{data, data + "/platform.key", "/root", "/home", "/etc/shadow", "/etc/hostname", "/var", "/sys/kernel", "/run"} {
		t.Run(p, func(t *testing.T) {
			r := sh(t, "test -e '"+p+"' && ls -la '"+p+"'", nil)
			if r.res.ExitCode != 1 {
				t.Fatalf("%s visible inside: exit %d, %q", p, r.res.ExitCode, r.stdout)
			}
		})
	}
	r := sh(t, "ls /", nil)
	want := "bin\ndev\netc\nlib\nlib64\nproc\nsbin\ntmp\nusr\n"
	if r.stdout != want {
		t.Errorf("ls / = %q, want %q", r.stdout, want)
	}
	r = sh(t, "cat /etc/passwd; hostname; id -u; ls /proc | grep -c '^[0-9]'", nil)
	if !strings.HasPrefix(r.stdout, "root:x:0:0:") || !strings.Contains(r.stdout, "\nhallmark\n0\n") {
		t.Errorf("identity inside: %q", r.stdout)
	}
	// /proc is the new PID namespace's: PID 1, sh, ls, grep.
	f := strings.Fields(r.stdout)
	if len(f) == 0 {
		t.Errorf("no output inside")
	} else if n, err := strconv.Atoi(f[len(f)-1]); err != nil || n > 4 {
		t.Errorf("processes in /proc inside: %q, want at most 4", r.stdout)
	}
}

func TestReadOnly(t *testing.T) {
	src := t.TempDir()
	outDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mounts := func(s *sandbox.Spec) {
		s.Mounts = append(s.Mounts,
			sandbox.Mount{Source: src, Target: "/src"},
			sandbox.Mount{Source: outDir, Target: "/out", Writable: true})
	}
	for _, tc := range []struct{ name, script string }{
		{"source file", "echo x >> /src/main.go"},
		{"source dir", "echo x > /src/new"},
		{"source remove", "rm /src/main.go"},
		{"system", "touch /usr/evil"},
		{"root", "touch /evil"},
		{"etc", "echo evil::0:0::/:/bin/sh >> /etc/passwd"},
		{"remount", "mount -o remount,rw /src"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sh(t, tc.script, mounts)
			if r.res.ExitCode == 0 {
				t.Fatalf("%q succeeded", tc.script)
			}
			if tc.name != "remount" && !strings.Contains(r.stderr, "Read-only file system") {
				t.Errorf("%q: stderr %q, want EROFS", tc.script, r.stderr)
			}
		})
	}
	ents, _ := os.ReadDir(src)
	if len(ents) != 1 {
		t.Errorf("source tree changed: %v", ents)
	}
	b, _ := os.ReadFile(filepath.Join(src, "main.go"))
	if string(b) != "package main\n" {
		t.Errorf("source changed: %q", b)
	}
	// Scratch writes vanish with the sandbox.
	r := sh(t, "echo x > /tmp/f && echo y > /tmp/home/g && cat /tmp/f", mounts)
	if r.res.ExitCode != 0 || r.stdout != "x\n" {
		t.Fatalf("scratch: exit %d %q %q", r.res.ExitCode, r.stdout, r.stderr)
	}
	r = sh(t, "test -e /tmp/f", mounts)
	if r.res.ExitCode == 0 {
		t.Fatal("scratch survived its sandbox")
	}
}

func TestInitUnreachable(t *testing.T) {
	// PID 1 holds the status pipe; the step can neither reach it nor end
	// PID 1 to fake its result.
	r := sh(t, `cat /proc/1/environ && echo READ; readlink /proc/1/root; echo '{"exit":0}' > /proc/1/fd/4 && echo WROTE; kill -TERM 1; kill -INT 1; sleep 0.1; echo $0; exit 7`, nil)
	if r.res.ExitCode != 7 {
		t.Fatalf("exit %d signal %q, want 7 (stderr %q)", r.res.ExitCode, r.res.Signal, r.stderr)
	}
	if r.stdout != "sh\n" {
		t.Fatalf("stdout %q: want only argv[0] \"sh\" (stderr %q)", r.stdout, r.stderr)
	}
}

func TestMountSymlink(t *testing.T) {
	src := t.TempDir()
	victim := t.TempDir()
	if err := os.Symlink(victim, filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	needNamespaces(t)
	_, err := sandbox.Run(context.Background(), sandbox.Spec{
		Command: []string{"/bin/true"},
		Mounts: append(system(),
			sandbox.Mount{Source: src, Target: "/src", Writable: true},
			sandbox.Mount{Source: t.TempDir(), Target: "/src/link/out", Writable: true}),
	})
	if err == nil || !strings.Contains(err.Error(), "/src/link is a symbolic link") {
		t.Fatalf("err %v", err)
	}
	if ents, _ := os.ReadDir(victim); len(ents) != 0 {
		t.Fatalf("created %v through the link", ents)
	}
}

func TestBackgroundKilled(t *testing.T) {
	const marker = "4711.4242"
	r := sh(t, "sleep "+marker+" </dev/null >/dev/null 2>&1 & sleep "+marker+" & echo started", nil)
	if r.res.ExitCode != 0 || r.stdout != "started\n" {
		t.Fatalf("exit %d %q %q", r.res.ExitCode, r.stdout, r.stderr)
	}
	if r.res.Leftover != 2 {
		t.Errorf("Leftover = %d, want the 2 background sleeps", r.res.Leftover)
	}
	if r := sh(t, "sleep 0.01 & wait; echo done", nil); r.res.Leftover != 0 {
		t.Errorf("a step that waits for its children: Leftover = %d, want 0", r.res.Leftover)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := countProcs(t, "sleep\x00"+marker)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d background processes outlived the step", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countProcs counts the host's processes whose command line contains s.
func countProcs(t *testing.T, s string) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(s)) {
			n++
		}
	}
	return n
}

func TestWallTime(t *testing.T) {
	start := time.Now()
	r := sh(t, "sleep 4712 & exec sleep 4712", func(s *sandbox.Spec) {
		s.Limits.WallTime = 300 * time.Millisecond
	})
	if r.res.Killed != "wall-time" || r.res.Signal != "SIGKILL" {
		t.Fatalf("killed %q signal %q exit %d", r.res.Killed, r.res.Signal, r.res.ExitCode)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	time.Sleep(200 * time.Millisecond)
	if n := countProcs(t, "sleep\x004712"); n != 0 {
		t.Fatalf("%d processes outlived the wall time", n)
	}
}

func TestCancel(t *testing.T) {
	needNamespaces(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := sandbox.Run(ctx, sandbox.Spec{Command: []string{"sleep", "4713"}, Path: "/usr/bin", Mounts: system()})
	if err == nil || res == nil || res.Killed != "canceled" {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestLimits(t *testing.T) {
	t.Run("processes", func(t *testing.T) {
		// A bounded fork bomb: 50 sleepers against a limit of 10.
		r := sh(t, `i=0; while [ $i -lt 50 ]; do sleep 4714 & i=$((i+1)); done; wait`, func(s *sandbox.Spec) {
			s.Limits.Processes = 10
			s.Limits.WallTime = 10 * time.Second
		})
		if !strings.Contains(r.stderr, "fork") && !strings.Contains(r.stderr, "Resource temporarily unavailable") {
			t.Fatalf("exit %d killed %q stderr %q: no fork failure", r.res.ExitCode, r.res.Killed, r.stderr)
		}
		if r.res.Killed == "wall-time" {
			t.Fatal("hit the wall time")
		}
		for _, pat := range pidsGroupPatterns(t) {
			if left, _ := filepath.Glob(pat); len(left) != 0 {
				t.Fatalf("cgroups left behind: %v", left)
			}
		}
	})
	t.Run("file-size", func(t *testing.T) {
		outDir := t.TempDir()
		r := sh(t, `head -c 100000 /dev/zero > /out/big`, func(s *sandbox.Spec) {
			s.Limits.FileSize = 4096
			s.Mounts = append(s.Mounts, sandbox.Mount{Source: outDir, Target: "/out", Writable: true})
		})
		if r.res.ExitCode == 0 && r.res.Signal == "" {
			t.Fatal("wrote past the file size limit")
		}
		fi, err := os.Stat(filepath.Join(outDir, "big"))
		if err != nil || fi.Size() > 4096 {
			t.Fatalf("big: %v %v", fi, err)
		}
	})
	t.Run("open-files", func(t *testing.T) {
		r := sh(t, `ulimit -n`, func(s *sandbox.Spec) { s.Limits.OpenFiles = 64 })
		if r.stdout != "64\n" {
			t.Fatalf("ulimit -n = %q", r.stdout)
		}
	})
	t.Run("cpu-time", func(t *testing.T) {
		r := sh(t, `while :; do :; done`, func(s *sandbox.Spec) { s.Limits.CPUTime = time.Second })
		if r.res.Killed != "cpu-time" || r.res.Signal != "SIGXCPU" {
			t.Fatalf("killed %q signal %q exit %d", r.res.Killed, r.res.Signal, r.res.ExitCode)
		}
	})
	t.Run("memory", func(t *testing.T) {
		r := sh(t, `x=$(head -c 100000000 /dev/zero | tr '\0' a); echo ${#x}`, func(s *sandbox.Spec) { s.Limits.Memory = 64 << 20 })
		if r.res.ExitCode == 0 {
			t.Fatalf("100 MB in memory under a 64 MiB limit: %q %q", r.stdout, r.stderr)
		}
	})
	t.Run("rss", func(t *testing.T) {
		// tail keeps the one "line" of 300 MB of zeros in memory.
		r := sh(t, `head -c 300000000 /dev/zero | tail | wc -c`, func(s *sandbox.Spec) { s.Limits.RSS = 64 << 20 })
		if r.res.ExitCode == 0 && r.stdout == "300000000\n" {
			t.Fatalf("300 MB in memory under a 64 MiB limit: %q %q", r.stdout, r.stderr)
		}
		if !haveCgroup("memory") {
			t.Logf("no memory cgroup: RLIMIT_AS stopped it (%q)", r.stderr)
			return
		}
		if r.res.Killed != "memory" {
			t.Errorf("killed %q, want memory (exit %d, stderr %q)", r.res.Killed, r.res.ExitCode, r.stderr)
		}
	})
	t.Run("cpu", func(t *testing.T) {
		if !haveCgroup("cpu") {
			t.Skip("no cpu cgroup here")
		}
		// Two busy loops for a second of wall time under a quarter CPU get
		// about a quarter second of CPU between them.
		r := sh(t, `(while :; do :; done) & a=$!; (while :; do :; done) & b=$!; sleep 1; kill $a $b; wait`, func(s *sandbox.Spec) { s.Limits.MilliCPU = 250 })
		cpu := r.res.UserTime + r.res.SysTime
		if cpu > 600*time.Millisecond {
			t.Fatalf("used %v of CPU in about 1s under a limit of 0.25 CPU", cpu)
		}
	})
}

// haveCgroup says whether this process may make a child of its cgroup of
// the controller c (v1), as Run will.
func haveCgroup(c string) bool {
	b, _ := os.ReadFile("/proc/self/cgroup")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && strings.Contains(","+f[1]+",", ","+c+",") {
			d := filepath.Join("/sys/fs/cgroup", c, f[2], "hallmark-probe")
			if os.Mkdir(d, 0o755) == nil {
				os.Remove(d)
				return true
			}
		}
	}
	return false
}

// pidsGroupPatterns are where Run makes this process's pids cgroups: below
// its cgroup in the v1 pids hierarchy and in the v2 one, which
// /sys/fs/cgroup/pids/hallmark-sandbox-* alone would miss.
func pidsGroupPatterns(t *testing.T) []string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	// Only this process's groups: other test binaries (package builder's)
	// may be running steps at the same time.
	own := fmt.Sprintf("hallmark-sandbox-%d-*", os.Getpid())
	var pats []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		switch {
		case len(f) != 3:
		case f[0] == "0" && f[1] == "":
			pats = append(pats, filepath.Join("/sys/fs/cgroup", f[2], own))
		case strings.Contains(","+f[1]+",", ",pids,"):
			pats = append(pats, filepath.Join("/sys/fs/cgroup/pids", f[2], own))
		}
	}
	return pats
}

func TestEnv(t *testing.T) {
	t.Setenv("HALLMARK_KEY_PASSPHRASE", "hunter2")
	r := sh(t, "env | sort; umask", func(s *sandbox.Spec) {
		s.Env = map[string]string{"GOFLAGS": "-trimpath", "TZ": "Europe/Paris"}
		s.SourceDateEpoch = time.Unix(1700000000, 0)
	})
	if strings.Contains(r.stdout, "HALLMARK_KEY_PASSPHRASE") || strings.Contains(r.stdout, "hunter2") {
		t.Fatalf("host variable leaked: %q", r.stdout)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		lines[l] = true
	}
	for _, want := range []string{
		"GOFLAGS=-trimpath", "TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		"HOME=/tmp/home", "PATH=/usr/bin:/bin", "SOURCE_DATE_EPOCH=1700000000", "0022",
	} {
		if !lines[want] {
			t.Errorf("missing %q in %q", want, r.stdout)
		}
	}
	for l := range lines {
		if k, _, ok := strings.Cut(l, "="); ok && !strings.Contains("GOFLAGS TZ LANG LC_ALL HOME PATH SOURCE_DATE_EPOCH PWD SHLVL _", k) {
			t.Errorf("unexpected variable %q", l)
		}
	}
	r = sh(t, "date +%Z", nil)
	if r.stdout != "UTC\n" {
		t.Errorf("date +%%Z = %q", r.stdout)
	}
}

func TestCapabilities(t *testing.T) {
	r := sh(t, "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status", nil)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.res.ExitCode != 0 || len(lines) != 6 {
		t.Fatalf("exit %d, %q: want the 5 capability sets and NoNewPrivs (stderr %q)", r.res.ExitCode, r.stdout, r.stderr)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		want := "0000000000000000"
		if f[0] == "NoNewPrivs:" {
			want = "1"
		}
		if len(f) != 2 || f[1] != want {
			t.Errorf("%q, want %s", l, want)
		}
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    sandbox.Spec
		want string
	}{
		{"empty", sandbox.Spec{}, "command is empty"},
		{"dir", sandbox.Spec{Command: []string{"true"}, Dir: "src"}, `dir "src": not a clean absolute path`},
		{"target relative", sandbox.Spec{Command: []string{"true"}, Mounts: []sandbox.Mount{{Source: "/usr", Target: "usr"}}}, "mounts[0].target"},
		{"target unclean", sandbox.Spec{Command: []string{"true"}, Mounts: []sandbox.Mount{{Source: "/usr", Target: "/a/../usr"}}}, "mounts[0].target"},
		{"target root", sandbox.Spec{Command: []string{"true"}, Mounts: []sandbox.Mount{{Source: "/usr", Target: "/"}}}, "mounts[0].target"},
		{"target proc", sandbox.Spec{Command: []string{"true"}, Mounts: []sandbox.Mount{{Source: "/usr", Target: "/proc/x"}}}, "/proc"},
		{"source relative", sandbox.Spec{Command: []string{"true"}, Mounts: []sandbox.Mount{{Source: "usr", Target: "/usr"}}}, "mounts[0].source"},
		{"env", sandbox.Spec{Command: []string{"true"}, Env: map[string]string{"A=B": "c"}}, "env"},
		{"nul", sandbox.Spec{Command: []string{"true", "a\x00b"}}, "command[1]"},
		{"path nul", sandbox.Spec{Command: []string{"true"}, Path: "/bin\x00"}, "path: contains a NUL byte"},
		{"limits", sandbox.Spec{Command: []string{"true"}, Limits: sandbox.Limits{WallTime: -1}}, "limits: negative value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sandbox.Run(context.Background(), tc.s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSetupError(t *testing.T) {
	needNamespaces(t)
	_, err := sandbox.Run(context.Background(), sandbox.Spec{
		Command: []string{"true"},
		Mounts:  []sandbox.Mount{{Source: "/nonexistent-hallmark", Target: "/x"}},
	})
	if err == nil || !strings.Contains(err.Error(), "mount /x: source /nonexistent-hallmark") {
		t.Fatalf("err %v", err)
	}
	_, err = sandbox.Run(context.Background(), sandbox.Spec{Command: []string{"true"}, Dir: "/src"})
	if err == nil || !strings.Contains(err.Error(), "dir /src: ") {
		t.Fatalf("err %v", err)
	}
	_, err = sandbox.Run(context.Background(), sandbox.Spec{Command: []string{"no-such-tool"}, Path: "/usr/bin", Mounts: system()})
	if err == nil || !strings.Contains(err.Error(), "no-such-tool: not found") {
		t.Fatalf("err %v", err)
	}
}

// BenchmarkRun is the fixed cost of a sandbox: Run of /bin/true, against
// BenchmarkDirect. The "shared-network" case leaves out the network
// namespace, to show its share.
func BenchmarkRun(b *testing.B) {
	if available() != nil {
		b.Skip("user namespaces are not available")
	}
	for _, network := range []bool{false, true} {
		name := "new-network"
		if network {
			name = "shared-network"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				res, err := sandbox.Run(context.Background(), sandbox.Spec{Command: []string{"/bin/true"}, Mounts: system(), Network: network})
				if err != nil || res.ExitCode != 0 {
					b.Fatal(res, err)
				}
			}
		})
	}
}

func BenchmarkDirect(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGoBuild runs the use the package is for: a Go build with the host's
// toolchain read-only, no network, the output in the one writable mount.
func TestGoBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the runtime with a cold cache")
	}
	goroot := "/usr/local/go"
	if _, err := os.Stat(goroot + "/bin/go"); err != nil {
		t.Skipf("no Go toolchain at %s", goroot)
	}
	src, outDir := t.TempDir(), t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() { println(\"hello\") }\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(src, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := sh(t, "go build -trimpath -o /out/hello . && /out/hello", func(s *sandbox.Spec) {
		s.Dir = "/src"
		s.Path = goroot + "/bin:/usr/bin:/bin"
		s.Env = map[string]string{"GOCACHE": "/tmp/gocache", "GOPROXY": "off", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
		s.Mounts = append(s.Mounts,
			sandbox.Mount{Source: src, Target: "/src"},
			sandbox.Mount{Source: outDir, Target: "/out", Writable: true})
		s.Limits.WallTime = 5 * time.Minute
	})
	if r.res.ExitCode != 0 || r.stderr != "hello\n" {
		t.Fatalf("exit %d killed %q stderr %q", r.res.ExitCode, r.res.Killed, r.stderr)
	}
	t.Logf("go build in the sandbox: %v wall, %v user", r.res.WallTime, r.res.UserTime)
}

// TestWriteEtc: an /etc a caller mounts, made with WriteEtc, holds what
// the sandbox synthesizes when none is mounted.
func TestWriteEtc(t *testing.T) {
	const script = "cat /etc/passwd /etc/group /etc/hosts"
	own := sh(t, script, nil)
	dir := filepath.Join(t.TempDir(), "etc")
	if err := sandbox.WriteEtc(dir); err != nil {
		t.Fatal(err)
	}
	mounted := sh(t, script, func(s *sandbox.Spec) {
		s.Mounts = append(s.Mounts, sandbox.Mount{Source: dir, Target: "/etc"})
	})
	if own.res.ExitCode != 0 || own.stdout == "" || own.stdout != mounted.stdout {
		t.Fatalf("synthesized /etc %q (exit %d), WriteEtc's %q (exit %d)", own.stdout, own.res.ExitCode, mounted.stdout, mounted.res.ExitCode)
	}
}
