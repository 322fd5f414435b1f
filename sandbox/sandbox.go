// Package sandbox runs one build step in its own set of Linux namespaces:
// package builder runs each step of a build spec in one.
//
// # How a step runs
//
// Run re-executes the current binary (/proc/self/exe) with an environment
// marker and the step's configuration as JSON on file descriptor 3, in new
// user, mount, PID, IPC and UTS namespaces, and a new network namespace unless
// Spec.Network is set. Programs that use Run must call Init first thing in
// main (tests: in TestMain); in the re-executed child Init never returns.
//
// The child is PID 1 of the new PID namespace. It
//   - makes every mount private, mounts a fresh tmpfs as the new root and
//     bind-mounts into it only the declared Mounts (nosuid, nodev; read-only
//     unless Mount.Writable),
//   - adds a minimal /dev (null, zero, full, random, urandom bound from the
//     host, a tmpfs /dev/shm, the fd/stdin/stdout/stderr links), a fresh /proc
//     of the new PID namespace, a fresh tmpfs /tmp with /tmp/home when
//     Spec.Scratch is set, and a synthesized /etc/passwd, /etc/group and
//     /etc/hosts unless a Mount provides /etc,
//   - pivots into the new root, detaches the old one, and remounts the new
//     root read-only, so nothing can be written outside writable mounts and
//     /tmp,
//   - sets the hostname "hallmark", brings up the loopback interface (the only
//     interface of the new network namespace),
//   - sets umask 022 and no_new_privs, empties the capability bounding,
//     inheritable, ambient, permitted and effective sets, and makes itself
//     non-dumpable, so the step cannot open PID 1's /proc files (its
//     descriptors, among them the status pipe) or trace it; the signals a
//     step could send it are caught and dropped,
//   - starts the step (by executing the current binary once more, which
//     applies Spec.Limits to itself and then executes the step's program, so
//     that the limits never bind PID 1) with exactly the environment
//     described at Spec.Env, and reaps every process of the namespace until
//     the step exits; PID 1 reports how the step ended on a pipe to Run.
//
// When the step exits, or the wall time runs out, or ctx is done, PID 1 ends
// and the kernel kills every other process of the PID namespace: no
// background process outlives its step. Before that, PID 1 counts the
// processes still running besides itself (Result.Leftover), so that a caller
// can fail a step that left work behind. The mount namespace, its tmpfs root
// and /tmp, and the network namespace go with it.
//
// Inside, the step runs as uid 0 and gid 0 of its own user namespace, which
// map to the caller's uid and gid outside and to nothing else; with the
// capability sets emptied before the step starts and no_new_privs set, it
// holds no capabilities even there, and cannot regain any by exec. Files the
// step writes into a writable Mount belong to the caller. When the caller is
// root, the step is host root for the files it can reach: that is why
// nothing but the declared Mounts is reachable, and why a Mount's Target is
// refused when it would pass through a symbolic link inside an earlier
// Mount (which could lead to a host path).
//
// Limits.Processes, Limits.RSS and Limits.MilliCPU use cgroups made for the
// step (pids, memory, cpu; cgroup v2 when the unified hierarchy has the
// controller, else v1) when the caller may create them, and bound the step's
// processes together, PID 1 not counted; the cgroups are removed when the
// step ends. Without a pids cgroup, Processes falls back to RLIMIT_NPROC with
// room for PID 1's threads, which the kernel does not enforce for a caller
// that is root outside; without a memory cgroup, RSS falls back to
// RLIMIT_AS; without a cpu cgroup, MilliCPU is not enforced.
//
// # What is not isolated
//
//   - There is no seccomp filter: the step can make every system call the
//     kernel allows an unprivileged process in a user namespace.
//   - Limits other than Processes, RSS, MilliCPU and WallTime are rlimits,
//     per process: Memory is RLIMIT_AS (virtual memory, so a runtime that
//     reserves address space needs a generous value); exceeding it makes
//     allocations fail rather than killing the step.
//   - A recursive bind mount of a declared source makes only its top mount
//     read-only; mounts below a read-only source stay as they are.
//   - With Spec.Network set, the step shares the caller's network namespace.
//   - A Mount whose Target lies inside an earlier writable Mount creates its
//     mount point in that source on the host.
//   - Time, the kernel, and /sys are not hidden (no /sys is mounted, but the
//     kernel version and clocks are the host's).
//
// # Cost
//
// The fixed cost of a sandbox, measured by BenchmarkRun against running
// /bin/true directly, is about 12-17 ms against 0.9 ms (two starts of the
// current binary, the namespaces and the mounts).
//
// # Errors
//
// On systems other than Linux, Run returns ErrUnsupported and Init does
// nothing.
//
// Run returns an error when the Spec is refused (empty command, relative
// paths, a Mount target that is not clean), when the sandbox cannot be set
// up (the error names the step of the setup that failed, "sandbox: mount
// /usr: ..."), or when ctx is done. A step that runs and fails is not an
// error: its exit code, signal and the reason it was killed are in the Result.
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Mount is a host path made visible inside the sandbox.
type Mount struct {
	// Source is the absolute host path; symbolic links are followed.
	Source string
	// Target is the absolute, clean path inside the sandbox.
	Target string
	// Writable makes the mount read-write; otherwise it is read-only.
	Writable bool
}

// Limits bound the resources of a step. A zero field means no limit.
type Limits struct {
	CPUTime   time.Duration // RLIMIT_CPU per process, rounded up to seconds
	Memory    int64         // RLIMIT_AS in bytes, per process
	Processes int           // tasks of the step: a pids cgroup, else RLIMIT_NPROC
	// RSS bounds the memory of all the step's processes together (a memory
	// cgroup, swap included where the kernel counts it): past it the
	// kernel's OOM killer ends a process, and Result.Killed says "memory".
	// Without a memory cgroup it falls back to RLIMIT_AS of the same value
	// per process, unless Memory is set.
	RSS int64
	// MilliCPU bounds the CPU time the step gets, in thousandths of a CPU
	// per unit of wall time (a cpu cgroup's bandwidth quota); without a cpu
	// cgroup it is not enforced.
	MilliCPU  int
	FileSize  int64         // RLIMIT_FSIZE in bytes: largest file written
	OpenFiles int           // RLIMIT_NOFILE
	WallTime  time.Duration // whole step, enforced by Run
}

// Spec describes one step.
type Spec struct {
	// Command is the program and its arguments. A program name without a
	// slash is looked up in Path inside the sandbox.
	Command []string
	// Dir is the absolute working directory inside the sandbox; "/" if empty.
	Dir string
	// Env holds the declared variables, and only those reach the step, plus
	// TZ=UTC, LANG=C.UTF-8, LC_ALL=C.UTF-8, HOME=/tmp/home, PATH=Path and,
	// when SourceDateEpoch is set, SOURCE_DATE_EPOCH. The fixed variables
	// win over Env.
	Env map[string]string
	// Path is the PATH inside the sandbox.
	Path string
	// SourceDateEpoch, when not zero, is passed as SOURCE_DATE_EPOCH (Unix
	// seconds).
	SourceDateEpoch time.Time
	// Mounts are the only host paths visible inside, in order.
	Mounts []Mount
	// Scratch mounts a fresh tmpfs on /tmp, with /tmp/home.
	Scratch bool
	// Network shares the caller's network; false gives the step a new network
	// namespace with only loopback.
	Network bool
	Limits  Limits
	// Stdout and Stderr receive the step's output; nil discards it. Stdin is
	// always empty.
	Stdout, Stderr io.Writer
}

// Result is how a step ended.
type Result struct {
	// ExitCode is the step's exit status, or -1 when it was killed by a signal.
	ExitCode int
	// Signal names the signal that ended the step ("SIGKILL"), or is empty.
	Signal string
	// WallTime is the time from start to end; UserTime and SysTime are the
	// CPU times of every process of the sandbox.
	WallTime, UserTime, SysTime time.Duration
	// Killed says why the sandbox stopped the step: "wall-time", "canceled",
	// "cpu-time" (SIGXCPU), "file-size" (SIGXFSZ), "memory" (the OOM killer
	// ended a process of the step's memory cgroup, even when the step went on
	// and exited 0); empty otherwise.
	Killed string
	// Leftover counts the processes the step left running when its own
	// process ended (a "cmd &" never waited for). The sandbox kills them
	// with the namespace; a caller that wants steps to clean up after
	// themselves treats a count above 0 as a failure.
	Leftover int
}

// Umask is the file mode creation mask of every step.
const Umask = 0o022

// Hostname is the host name inside the sandbox.
const Hostname = "hallmark"

const (
	initMarker = "_HALLMARK_SANDBOX_INIT"
	maxConfig  = 1 << 20
	maxStatus  = 1 << 16
	maxGroups  = 3 // cgroups of a step: pids, memory, cpu
)

// config is what Run passes to the child on fd 3.
type config struct {
	Root    string     `json:"root"`
	Argv    []string   `json:"argv"`
	Dir     string     `json:"dir"`
	Env     []string   `json:"env"`
	Path    string     `json:"path"`
	Mounts  []Mount    `json:"mounts"`
	Scratch bool       `json:"scratch"`
	NewNet  bool       `json:"newNet"`
	Limits  stepLimits `json:"limits"`
}

// stepLimits are the limits as the step's own process applies them.
type stepLimits struct {
	Limits
	// Groups: the step joins the cgroups open on fds 3 to 3+Groups-1.
	Groups int `json:"groups"`
	// NProc, when not zero, is RLIMIT_NPROC.
	NProc int `json:"nproc"`
}

// nprocSlack is what RLIMIT_NPROC adds to Limits.Processes for the threads
// of the sandbox's PID 1, which count as processes of the same user.
const nprocSlack = 16

// status is what the child reports on fd 4.
type status struct {
	Exit     int    `json:"exit"`
	Signal   int    `json:"signal"`
	Leftover int    `json:"leftover,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Env returns the environment a step of s starts with, sorted.
func Env(s Spec) []string {
	m := map[string]string{}
	for k, v := range s.Env {
		m[k] = v
	}
	m["TZ"] = "UTC"
	m["LANG"] = "C.UTF-8"
	m["LC_ALL"] = "C.UTF-8"
	m["HOME"] = "/tmp/home"
	m["PATH"] = s.Path
	if !s.SourceDateEpoch.IsZero() {
		m["SOURCE_DATE_EPOCH"] = fmt.Sprint(s.SourceDateEpoch.Unix())
	}
	env := make([]string, 0, len(m))
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

func check(s Spec) error {
	if len(s.Command) == 0 || s.Command[0] == "" {
		return errors.New("sandbox: command is empty")
	}
	for i, a := range s.Command {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("sandbox: command[%d]: contains a NUL byte", i)
		}
	}
	if s.Dir != "" && !cleanAbs(s.Dir) {
		return fmt.Errorf("sandbox: dir %q: not a clean absolute path", s.Dir)
	}
	if strings.IndexByte(s.Path, 0) >= 0 {
		return errors.New("sandbox: path: contains a NUL byte")
	}
	for k, v := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("sandbox: env %q: not a valid variable", k)
		}
	}
	for i, m := range s.Mounts {
		if !path.IsAbs(m.Source) || strings.IndexByte(m.Source, 0) >= 0 {
			return fmt.Errorf("sandbox: mounts[%d].source %q: not an absolute path", i, m.Source)
		}
		if !cleanAbs(m.Target) || m.Target == "/" {
			return fmt.Errorf("sandbox: mounts[%d].target %q: not a clean absolute path below /", i, m.Target)
		}
		for _, r := range []string{"/proc", "/dev"} {
			if m.Target == r || strings.HasPrefix(m.Target, r+"/") {
				return fmt.Errorf("sandbox: mounts[%d].target %q: %s is the sandbox's own", i, m.Target, r)
			}
		}
		if s.Scratch && (m.Target == "/tmp" || strings.HasPrefix(m.Target, "/tmp/")) {
			return fmt.Errorf("sandbox: mounts[%d].target %q: /tmp is the scratch directory", i, m.Target)
		}
	}
	l := s.Limits
	if l.CPUTime < 0 || l.Memory < 0 || l.Processes < 0 || l.FileSize < 0 || l.OpenFiles < 0 || l.WallTime < 0 || l.RSS < 0 || l.MilliCPU < 0 {
		return errors.New("sandbox: limits: negative value")
	}
	return nil
}

func cleanAbs(p string) bool {
	return path.IsAbs(p) && path.Clean(p) == p && strings.IndexByte(p, 0) < 0
}

// WriteEtc writes into dir (made if needed) the /etc a step gets when no
// Mount provides one: passwd and group with root (HOME /tmp/home) and
// nobody, and hosts naming Hostname. A caller that mounts its own /etc
// (with a resolv.conf, say) starts from these.
func WriteEtc(dir string) error {
	if err := writeEtc(dir); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

func writeEtc(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mkdir /etc: %w", err)
	}
	files := map[string]string{
		"passwd": "root:x:0:0:hallmark build:/tmp/home:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"group":  "root:x:0:\nnogroup:x:65534:\n",
		"hosts":  "127.0.0.1\tlocalhost " + Hostname + "\n::1\tlocalhost\n",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			return fmt.Errorf("/etc/%s: %w", n, err)
		}
	}
	return nil
}

// ErrUnsupported is returned by Run where there are no Linux namespaces.
var ErrUnsupported = errors.New("sandbox: only available on Linux")
