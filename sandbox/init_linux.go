//go:build linux

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Init is the child side of Run. Call it first thing in main (and in
// TestMain). In a process that Run started, Init sets up the sandbox, runs the
// step, and exits with the step; it never returns. Everywhere else it returns
// at once.
func Init() {
	switch os.Getenv(initMarker) {
	case "1":
	case "2":
		execStep()
	default:
		return
	}
	// Capabilities, no_new_privs and the bounding set are per thread; the
	// step is started from this one.
	runtime.LockOSThread()
	// The step must not reach PID 1's descriptors or memory through /proc,
	// nor end it with a signal.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP,
		syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM)
	unix.CloseOnExec(4)
	for fd := 5; fd < 5+maxGroups; fd++ {
		unix.CloseOnExec(fd)
	}
	stFile := os.NewFile(4, "status")
	st, err := child()
	if err != nil {
		st = status{Exit: 125, Error: err.Error()}
	}
	b, _ := json.Marshal(st)
	stFile.Write(b)
	stFile.Close()
	code := st.Exit
	if st.Signal != 0 {
		code = 128 + st.Signal
	}
	os.Exit(code)
}

// execStep is the second stage, started by PID 1 as the step's own process:
// os.Args is [name, limits as JSON, program path, argv...]. It applies the
// limits, which would starve PID 1's runtime, and executes the program
// without allocating after that.
func execStep() {
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
		os.Exit(127)
	}
	if len(os.Args) < 4 {
		fail(errors.New("exec: no program"))
	}
	var l stepLimits
	if err := json.Unmarshal([]byte(os.Args[1]), &l); err != nil {
		fail(fmt.Errorf("exec: limits: %w", err))
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, initMarker+"=") {
			env = append(env, e)
		}
	}
	prog, err := unix.BytePtrFromString(os.Args[2])
	if err != nil {
		fail(err)
	}
	argv, err := cStrings(os.Args[3:])
	if err != nil {
		fail(err)
	}
	envv, err := cStrings(env)
	if err != nil {
		fail(err)
	}
	runtime.LockOSThread()
	if l.Groups < 0 || l.Groups > maxGroups {
		fail(fmt.Errorf("exec: %d cgroups", l.Groups))
	}
	for fd := 3; fd < 3+l.Groups; fd++ {
		// Join the step's cgroups: this process only, not PID 1.
		if _, err := unix.Write(fd, []byte("0")); err != nil {
			fail(fmt.Errorf("join cgroup: %w", err))
		}
		unix.Close(fd)
	}
	if err := limit(l); err != nil {
		fail(err)
	}
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(prog)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	fail(fmt.Errorf("exec %s: %w", os.Args[2], errno))
}

func child() (status, error) {
	os.Unsetenv(initMarker)
	f := os.NewFile(3, "config")
	b, err := io.ReadAll(io.LimitReader(f, maxConfig+1))
	f.Close()
	if err != nil {
		return status{}, fmt.Errorf("config: %w", err)
	}
	if len(b) > maxConfig {
		return status{}, fmt.Errorf("config: more than %d bytes", maxConfig)
	}
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return status{}, fmt.Errorf("config: %w", err)
	}
	if err := setup(&c); err != nil {
		return status{}, err
	}
	if fi, err := os.Stat(c.Dir); err != nil {
		return status{}, fmt.Errorf("dir %s: %w", c.Dir, err)
	} else if !fi.IsDir() {
		return status{}, fmt.Errorf("dir %s: not a directory", c.Dir)
	}
	prog, err := lookPath(c.Argv[0], c.Path)
	if err != nil {
		return status{}, err
	}
	if err := dropPrivileges(); err != nil {
		return status{}, err
	}
	lim, err := json.Marshal(c.Limits)
	if err != nil {
		return status{}, fmt.Errorf("limits: %w", err)
	}
	argv := append([]string{"hallmark-sandbox-exec", string(lim), prog}, c.Argv...)
	files := []uintptr{devNull(), 1, 2}
	for i := 0; i < c.Limits.Groups && i < maxGroups; i++ {
		files = append(files, uintptr(5+i))
	}
	pid, err := syscall.ForkExec("/proc/self/exe", argv, &syscall.ProcAttr{
		Dir:   c.Dir,
		Env:   append(c.Env[:len(c.Env):len(c.Env)], initMarker+"=2"),
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return status{}, fmt.Errorf("exec %s: %w", c.Argv[0], err)
	}
	// PID 1 reaps every orphan until the step itself ends.
	for {
		var ws syscall.WaitStatus
		p, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return status{}, fmt.Errorf("wait: %w", err)
		}
		if p != pid {
			continue
		}
		st := status{Exit: ws.ExitStatus(), Leftover: leftover()}
		if ws.Signaled() {
			st.Exit, st.Signal = -1, int(ws.Signal())
		}
		return st, nil
	}
}

// leftover reaps the processes of the namespace that have already ended and
// counts those still running besides PID 1: what the step left behind.
func leftover() int {
	for {
		var ws syscall.WaitStatus
		p, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || p <= 0 {
			break
		}
	}
	es, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range es {
		if id, err := strconv.Atoi(e.Name()); err == nil && id != 1 {
			n++
		}
	}
	return n
}

func devNull() uintptr {
	fd, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0)
	if err != nil {
		return 0
	}
	return uintptr(fd)
}

// setup builds the new root at c.Root and pivots into it.
func setup(c *config) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := c.Root
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=16m"); err != nil {
		return fmt.Errorf("mount root tmpfs: %w", err)
	}
	etcMounted := false
	for _, m := range c.Mounts {
		if m.Target == "/etc" || strings.HasPrefix(m.Target, "/etc/") {
			etcMounted = true
		}
		if err := bind(root, m); err != nil {
			return err
		}
	}
	if err := makeDev(root); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o555); err != nil {
		return fmt.Errorf("mkdir /proc: %w", err)
	}
	if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if c.Scratch {
		tmp := filepath.Join(root, "tmp")
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return fmt.Errorf("mkdir /tmp: %w", err)
		}
		if err := unix.Mount("tmpfs", tmp, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
			return fmt.Errorf("mount /tmp: %w", err)
		}
		if err := os.Mkdir(filepath.Join(tmp, "home"), 0o700); err != nil {
			return fmt.Errorf("mkdir /tmp/home: %w", err)
		}
	}
	if !etcMounted {
		if err := writeEtc(filepath.Join(root, "etc")); err != nil {
			return err
		}
	}
	// pivot_root(".", ".") stacks the old root under the new one; detaching
	// it leaves only the new root.
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("remount / read-only: %w", err)
	}
	if err := unix.Sethostname([]byte(Hostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	if c.NewNet {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	unix.Umask(Umask)
	return nil
}

// bind mounts m.Source at m.Target under root.
func bind(root string, m Mount) error {
	var fi unix.Stat_t
	if err := unix.Stat(m.Source, &fi); err != nil {
		return fmt.Errorf("mount %s: source %s: %w", m.Target, m.Source, err)
	}
	target := filepath.Join(root, m.Target)
	// A Target below an earlier Mount must not follow a symbolic link of
	// that source: it could lead out of the new root into the host.
	p := root
	for _, el := range strings.Split(strings.TrimPrefix(m.Target, "/"), "/") {
		p = filepath.Join(p, el)
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return fmt.Errorf("mount %s: %w", m.Target, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("mount %s: %s is a symbolic link", m.Target, strings.TrimPrefix(p, root))
		}
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("mount %s: %w", m.Target, err)
	}
	if fi.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("mount %s: %w", m.Target, err)
		}
	} else {
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("mount %s: %w", m.Target, err)
		}
		f.Close()
	}
	if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mount %s: bind %s: %w", m.Target, m.Source, err)
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_NOSUID | unix.MS_NODEV)
	if !m.Writable {
		flags |= unix.MS_RDONLY
	}
	// A remount in a user namespace must keep the flags locked on the
	// source mount (noexec, the atime flags).
	var sfs unix.Statfs_t
	if err := unix.Statfs(target, &sfs); err == nil {
		for _, k := range []struct{ st, ms uintptr }{
			{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NOATIME, unix.MS_NOATIME},
			{unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
			{unix.ST_RDONLY, unix.MS_RDONLY},
		} {
			if uintptr(sfs.Flags)&k.st != 0 {
				flags |= k.ms
			}
		}
	}
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("mount %s: remount: %w", m.Target, err)
	}
	return nil
}

func makeDev(root string) error {
	dev := filepath.Join(root, "dev")
	if err := os.Mkdir(dev, 0o755); err != nil {
		return fmt.Errorf("mkdir /dev: %w", err)
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	for _, n := range []string{"null", "zero", "full", "random", "urandom"} {
		t := filepath.Join(dev, n)
		f, err := os.OpenFile(t, os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			return fmt.Errorf("/dev/%s: %w", n, err)
		}
		f.Close()
		if err := unix.Mount("/dev/"+n, t, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mount /dev/%s: %w", n, err)
		}
	}
	for n, t := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	} {
		if err := os.Symlink(t, filepath.Join(dev, n)); err != nil {
			return fmt.Errorf("/dev/%s: %w", n, err)
		}
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o1777); err != nil {
		return fmt.Errorf("mkdir /dev/shm: %w", err)
	}
	if err := unix.Mount("tmpfs", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=64m"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	return nil
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: up: %w", err)
	}
	return nil
}

func limit(l stepLimits) error {
	set := func(name string, r int, v uint64) error {
		if err := syscall.Setrlimit(r, &syscall.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("limit %s: %w", name, err)
		}
		return nil
	}
	if err := set("core", unix.RLIMIT_CORE, 0); err != nil {
		return err
	}
	if l.CPUTime > 0 {
		// SIGXCPU at the soft limit, SIGKILL a second later.
		secs := uint64((l.CPUTime + time.Second - 1) / time.Second)
		if err := syscall.Setrlimit(unix.RLIMIT_CPU, &syscall.Rlimit{Cur: secs, Max: secs + 1}); err != nil {
			return fmt.Errorf("limit cpu-time: %w", err)
		}
	}
	if l.NProc > 0 {
		if err := set("processes", unix.RLIMIT_NPROC, uint64(l.NProc)); err != nil {
			return err
		}
	}
	if l.FileSize > 0 {
		if err := set("file-size", unix.RLIMIT_FSIZE, uint64(l.FileSize)); err != nil {
			return err
		}
	}
	if l.OpenFiles > 0 {
		if err := set("open-files", unix.RLIMIT_NOFILE, uint64(l.OpenFiles)); err != nil {
			return err
		}
	}
	if l.Memory > 0 {
		if err := set("memory", unix.RLIMIT_AS, uint64(l.Memory)); err != nil {
			return err
		}
	}
	return nil
}

// dropPrivileges empties every capability set of this thread and sets
// no_new_privs; the step inherits both.
func dropPrivileges() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// lookPath finds prog inside the sandbox, in the directories of p.
func lookPath(prog, p string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	for _, d := range filepath.SplitList(p) {
		if !path.IsAbs(d) {
			continue
		}
		f := path.Join(d, prog)
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return f, nil
		}
	}
	return "", fmt.Errorf("exec %s: not found in PATH %q", prog, p)
}

// cStrings is ss as a NULL-terminated array of C strings.
func cStrings(ss []string) ([]*byte, error) {
	p := make([]*byte, 0, len(ss)+1)
	for _, s := range ss {
		b, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, err
		}
		p = append(p, b)
	}
	return append(p, nil), nil
}
