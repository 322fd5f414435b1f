//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Run runs the step s in a new sandbox and waits for it to end. See the
// package documentation for what the sandbox isolates.
func Run(ctx context.Context, s Spec) (*Result, error) {
	if err := check(s); err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "hallmark-sandbox-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: root: %w", err)
	}
	defer os.Remove(root)
	dir := s.Dir
	if dir == "" {
		dir = "/"
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: pipe: %w", err)
	}
	defer cfgR.Close()
	defer cfgW.Close()
	stR, stW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: pipe: %w", err)
	}
	defer stR.Close()
	defer stW.Close()

	flags := uintptr(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
		syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS)
	if !s.Network {
		flags |= syscall.CLONE_NEWNET
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"hallmark-sandbox-init"}
	cmd.Env = []string{initMarker + "=1"}
	cmd.Dir = "/"
	cmd.Stdout = s.Stdout
	cmd.Stderr = s.Stderr
	cmd.ExtraFiles = []*os.File{cfgR, stW}
	lim := stepLimits{Limits: s.Limits}
	groups := newGroups(s.Limits)
	var memGroup *cgroup
	has := map[string]bool{}
	for _, g := range groups {
		defer g.remove()
		cmd.ExtraFiles = append(cmd.ExtraFiles, g.procs)
		for _, c := range g.ctrl {
			has[c] = true
		}
		if slices.Contains(g.ctrl, "memory") {
			memGroup = g
		}
	}
	lim.Groups = len(groups)
	if lim.Processes > 0 && !has["pids"] {
		lim.NProc = lim.Processes + nprocSlack
	}
	if lim.RSS > 0 && !has["memory"] && lim.Memory == 0 {
		lim.Memory = lim.RSS
	}
	cfg, err := json.Marshal(config{
		Root: root, Argv: s.Command, Dir: dir, Env: Env(s), Path: s.Path,
		Mounts: s.Mounts, Scratch: s.Scratch, NewNet: !s.Network, Limits: lim,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: config: %w", err)
	}
	if len(cfg) > maxConfig {
		return nil, fmt.Errorf("sandbox: config: %d bytes, more than %d", len(cfg), maxConfig)
	}
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  flags,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		// The user namespace has no setgroups; the child never needs it.
		GidMappingsEnableSetgroups: false,
		Pdeathsig:                  syscall.SIGKILL,
	}
	// Pdeathsig fires when the thread that started the child ends: keep it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sandbox: start: %w", err)
	}
	cfgR.Close()
	stW.Close()
	if _, err := cfgW.Write(cfg); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("sandbox: config: %w", err)
	}
	cfgW.Close()

	stCh := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(stR, maxStatus))
		stCh <- b
	}()
	waitCh := make(chan error, 1)
	go func() { waitCh <- cmd.Wait() }()

	var timer <-chan time.Time
	if s.Limits.WallTime > 0 {
		t := time.NewTimer(s.Limits.WallTime)
		defer t.Stop()
		timer = t.C
	}
	killed := ""
	var waitErr error
	select {
	case waitErr = <-waitCh:
	case <-timer:
		killed = "wall-time"
		cmd.Process.Kill()
		waitErr = <-waitCh
	case <-ctx.Done():
		killed = "canceled"
		cmd.Process.Kill()
		waitErr = <-waitCh
	}
	res := &Result{WallTime: time.Since(start), Killed: killed}
	st := cmd.ProcessState
	if st == nil {
		return nil, fmt.Errorf("sandbox: wait: %w", waitErr)
	}
	res.UserTime, res.SysTime = st.UserTime(), st.SystemTime()
	raw := <-stCh
	if killed != "" {
		res.ExitCode, res.Signal = -1, "SIGKILL"
		if killed == "canceled" {
			return res, fmt.Errorf("sandbox: %w", ctx.Err())
		}
		return res, nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		// Nothing on the status pipe: the child never got to Init's report,
		// most often because the program's main does not call Init.
		return nil, fmt.Errorf("sandbox: child ended without a status (%v): does main call sandbox.Init first?", st)
	}
	var rep status
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("sandbox: child ended without a status (%v): %w", st, err)
	}
	if rep.Error != "" {
		return nil, fmt.Errorf("sandbox: %s", rep.Error)
	}
	res.ExitCode = rep.Exit
	res.Leftover = rep.Leftover
	if memGroup != nil && memGroup.oomKills() > 0 {
		res.Killed = "memory"
	}
	if rep.Signal != 0 {
		sig := syscall.Signal(rep.Signal)
		res.ExitCode, res.Signal = -1, signalName(sig)
		switch sig {
		case syscall.SIGXCPU:
			res.Killed = "cpu-time"
		case syscall.SIGXFSZ:
			res.Killed = "file-size"
		}
	}
	return res, nil
}

// signalName names s as signal(7) does ("SIGKILL"), or by number.
func signalName(s syscall.Signal) string {
	if n := unix.SignalName(s); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(s))
}
