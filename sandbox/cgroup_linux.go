//go:build linux

package sandbox

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cgroup is one cgroup made for a step: in cgroup v1 one per controller, in
// v2 one for all.
type cgroup struct {
	dir   string
	v2    bool
	ctrl  []string // the controllers whose limits it holds
	procs *os.File // cgroup.procs, open for writing
}

// cgroupPeriod is the CPU bandwidth period, in microseconds.
const cgroupPeriod = 100000

// newGroups makes the cgroups that enforce l's Processes, RSS and MilliCPU,
// as children of the caller's own cgroups (v2 when the unified hierarchy
// has the controller, v1 otherwise). A limit no cgroup could be made for is
// left out of the result: the caller falls back to an rlimit or does
// without.
func newGroups(l Limits) []*cgroup {
	want := map[string]string{} // controller to the value of its limit
	if l.Processes > 0 {
		want["pids"] = strconv.Itoa(l.Processes)
	}
	if l.RSS > 0 {
		want["memory"] = strconv.FormatInt(l.RSS, 10)
	}
	if l.MilliCPU > 0 {
		want["cpu"] = strconv.Itoa(l.MilliCPU * cgroupPeriod / 1000)
	}
	if len(want) == 0 {
		return nil
	}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	v1, v2 := parseCgroup(f)
	f.Close()
	var gs []*cgroup
	if v2 != "" {
		if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
			var ctrl []string
			for c := range want {
				if strings.Contains(" "+strings.TrimSpace(string(b))+" ", " "+c+" ") {
					ctrl = append(ctrl, c)
				}
			}
			if g := makeGroup(filepath.Join("/sys/fs/cgroup", v2), true, ctrl, want); g != nil {
				gs = append(gs, g)
				for _, c := range g.ctrl {
					delete(want, c)
				}
			}
		}
	}
	for c := range want {
		if p := v1[c]; p != "" {
			if g := makeGroup(filepath.Join("/sys/fs/cgroup", c, p), false, []string{c}, want); g != nil {
				gs = append(gs, g)
			}
		}
	}
	return gs
}

// parseCgroup reads /proc/PID/cgroup (cgroups(7)): lines of
// "ID:CONTROLLERS:PATH". It returns the path in each v1 hierarchy by
// controller and the path in the v2 hierarchy ("0::PATH"), leaving out paths
// that are not absolute and clean.
func parseCgroup(r io.Reader) (v1 map[string]string, v2 string) {
	v1 = map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(r, 1<<16))
	for sc.Scan() {
		id, rest, _ := strings.Cut(sc.Text(), ":")
		ctrl, p, ok := strings.Cut(rest, ":")
		if !ok || !cleanAbs(p) {
			continue
		}
		if id == "0" && ctrl == "" {
			v2 = p
			continue
		}
		for _, c := range strings.Split(ctrl, ",") {
			v1[c] = p
		}
	}
	return v1, v2
}

// makeGroup makes a new cgroup under base holding the limits of ctrl.
// A controller whose limit cannot be written is dropped; nil when none is
// left.
func makeGroup(base string, v2 bool, ctrl []string, want map[string]string) *cgroup {
	if len(ctrl) == 0 {
		return nil
	}
	var r [8]byte
	rand.Read(r[:])
	// The caller's PID in the name tells whose group it is (tests of one
	// process check that it removed its own while others run).
	dir := filepath.Join(base, fmt.Sprintf("hallmark-sandbox-%d-%s", os.Getpid(), hex.EncodeToString(r[:])))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil
	}
	g := &cgroup{dir: dir, v2: v2}
	write := func(name, v string) bool {
		return os.WriteFile(filepath.Join(dir, name), []byte(v), 0) == nil
	}
	for _, c := range ctrl {
		v := want[c]
		ok := false
		switch {
		case c == "pids":
			ok = write("pids.max", v)
		case c == "memory" && v2:
			ok = write("memory.max", v)
			write("memory.swap.max", "0")
		case c == "memory":
			ok = write("memory.limit_in_bytes", v)
			write("memory.memsw.limit_in_bytes", v)
		case c == "cpu" && v2:
			ok = write("cpu.max", v+" "+strconv.Itoa(cgroupPeriod))
		case c == "cpu":
			ok = write("cpu.cfs_period_us", strconv.Itoa(cgroupPeriod)) && write("cpu.cfs_quota_us", v)
		}
		if ok {
			g.ctrl = append(g.ctrl, c)
		}
	}
	if len(g.ctrl) == 0 {
		g.remove()
		return nil
	}
	procs, err := os.OpenFile(filepath.Join(dir, "cgroup.procs"), os.O_WRONLY, 0)
	if err != nil {
		g.remove()
		return nil
	}
	g.procs = procs
	return g
}

// oomKills counts the processes of g that the kernel's OOM killer ended
// for exceeding the memory limit.
func (g *cgroup) oomKills() int {
	name := "memory.oom_control"
	if g.v2 {
		name = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(g.dir, name))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// remove deletes the group once the killed processes have left it.
func (g *cgroup) remove() error {
	if g.procs != nil {
		g.procs.Close()
	}
	var err error
	for i := 0; i < 100; i++ {
		if err = os.Remove(g.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("sandbox: cgroup %s: %w", g.dir, err)
}
