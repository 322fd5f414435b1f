//go:build linux

package sandbox

import (
	"path"
	"strings"
	"syscall"
	"testing"
)

func TestParseCgroup(t *testing.T) {
	for _, tc := range []struct{ in, pids, cpu, v2 string }{
		{"0::/user.slice/a.scope\n", "", "", "/user.slice/a.scope"},
		{"8:pids:/\n4:memory:/x\n0::/\n", "/", "", "/"},
		{"3:cpu,pids:/a/b\n", "/a/b", "/a/b", ""},
		{"3:pidsx:/a\n2:pids:../etc\n1:pids\n", "", "", ""},
		{"", "", "", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			v1, v2 := parseCgroup(strings.NewReader(tc.in))
			if v1["pids"] != tc.pids || v1["cpu"] != tc.cpu || v2 != tc.v2 {
				t.Fatalf("got %q %q, want pids %q cpu %q v2 %q", v1, v2, tc.pids, tc.cpu, tc.v2)
			}
		})
	}
}

// FuzzParseCgroup: whatever /proc/self/cgroup holds, the paths used under
// /sys/fs/cgroup are clean and absolute, so they cannot climb out of it.
func FuzzParseCgroup(f *testing.F) {
	f.Add("0::/\n")
	f.Add("8:pids:/docker/abc\n0::/x\n")
	f.Add("1:name=systemd:/\n2:pids:/../../etc\n")
	f.Fuzz(func(t *testing.T, in string) {
		v1, v2 := parseCgroup(strings.NewReader(in))
		ps := []string{v2}
		for _, p := range v1 {
			ps = append(ps, p)
		}
		for _, p := range ps {
			if p != "" && (path.Clean(p) != p || !path.IsAbs(p)) {
				t.Fatalf("path %q from %q", p, in)
			}
		}
	})
}

// FuzzCheck: a Spec from a build spec file is refused or accepted, never a
// panic; an accepted one has clean absolute mount targets outside /proc
// and /dev.
func FuzzCheck(f *testing.F) {
	f.Add("sh", "/src", "/usr", "/usr", "A", "b")
	f.Add("", "", "", "", "", "")
	f.Add("x\x00", "rel", "/a/../b", "/proc/self", "A=B", "\x00")
	f.Fuzz(func(t *testing.T, cmd, dir, src, target, k, v string) {
		s := Spec{Command: []string{cmd}, Dir: dir, Env: map[string]string{k: v},
			Mounts: []Mount{{Source: src, Target: target}}, Scratch: true}
		if check(s) != nil {
			return
		}
		if !cleanAbs(target) || target == "/" || strings.HasPrefix(target+"/", "/proc/") ||
			strings.HasPrefix(target+"/", "/dev/") || strings.HasPrefix(target+"/", "/tmp/") {
			t.Fatalf("accepted target %q", target)
		}
		if strings.ContainsAny(k, "=\x00") || k == "" || cmd == "" {
			t.Fatalf("accepted env %q or command %q", k, cmd)
		}
	})
}

func TestSignalName(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGKILL, "SIGKILL"},
		{syscall.SIGXCPU, "SIGXCPU"},
		{syscall.SIGSEGV, "SIGSEGV"},
		{syscall.Signal(200), "signal 200"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := signalName(tc.sig); got != tc.want {
				t.Fatalf("signalName(%d) = %q, want %q", int(tc.sig), got, tc.want)
			}
		})
	}
}
