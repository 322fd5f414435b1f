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

// pidsGroup is a pids cgroup made for one step.
type pidsGroup struct {
	dir   string
	procs *os.File // cgroup.procs, open for writing
}

// newPidsGroup makes a child of the caller's pids cgroup (v2 when the unified
// hierarchy has the pids controller, v1 otherwise) with pids.max set to max.
// It returns nil when there is no pids cgroup the caller may write to.
func newPidsGroup(max int) *pidsGroup {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	defer f.Close()
	v1, v2 := parseCgroup(f)
	var bases []string
	if v2 != "" {
		if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(" "+string(b)+" ", " pids ") {
			bases = append(bases, filepath.Join("/sys/fs/cgroup", v2))
		}
	}
	if v1 != "" {
		bases = append(bases, filepath.Join("/sys/fs/cgroup/pids", v1))
	}
	for _, base := range bases {
		if g := makePidsGroup(base, max); g != nil {
			return g
		}
	}
	return nil
}

// parseCgroup reads /proc/PID/cgroup (cgroups(7)): lines of
// "ID:CONTROLLERS:PATH". It returns the path in the v1 hierarchy that has
// the pids controller and the path in the v2 hierarchy ("0::PATH"), each
// empty when absent or when the path is not absolute and clean.
func parseCgroup(r io.Reader) (v1, v2 string) {
	sc := bufio.NewScanner(io.LimitReader(r, 1<<16))
	for sc.Scan() {
		id, rest, _ := strings.Cut(sc.Text(), ":")
		ctrl, p, ok := strings.Cut(rest, ":")
		if !ok || !cleanAbs(p) {
			continue
		}
		switch {
		case id == "0" && ctrl == "":
			v2 = p
		case strings.Contains(","+ctrl+",", ",pids,"):
			v1 = p
		}
	}
	return v1, v2
}

func makePidsGroup(base string, max int) *pidsGroup {
	var r [8]byte
	rand.Read(r[:])
	dir := filepath.Join(base, "hallmark-sandbox-"+hex.EncodeToString(r[:]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil
	}
	g := &pidsGroup{dir: dir}
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(max)), 0); err != nil {
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

// remove deletes the group once the killed processes have left it.
func (g *pidsGroup) remove() error {
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
