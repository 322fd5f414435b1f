package repro

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goBuild builds testdata/hello into dir/out after copying its source to
// dir/src, with GOOS/GOARCH from goos and the given flags.
func goBuild(t *testing.T, dir, goos, out string, flags ...string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: cannot build fixtures")
	}
	src, err := os.ReadFile("testdata/hello/main.go")
	if err != nil {
		t.Fatal(err)
	}
	srcDir := filepath.Join(dir, "src")
	if err := os.MkdirAll(srcDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srcDir, "main.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, "out", out)
	args := append([]string{"build", "-o", outPath}, flags...)
	args = append(args, "main.go")
	cmd := exec.Command(gobin, args...)
	cmd.Dir = srcDir
	arch := "amd64"
	if goos == "darwin" {
		arch = "arm64"
	}
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+arch, "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local", "GO111MODULE=on")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return filepath.Join(dir, "out")
}

func hasHint(d *FileDiff, cause string) bool {
	for _, h := range d.Hints {
		if h.Cause == cause {
			return true
		}
	}
	return false
}

func hintText(d *FileDiff, cause string) string {
	for _, h := range d.Hints {
		if h.Cause == cause {
			return h.Text
		}
	}
	return ""
}

func TestGoBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	ctx := context.Background()
	repro := []string{"-trimpath", "-buildvcs=false", "-ldflags=-buildid="}
	for _, tc := range []struct {
		name      string
		goos      string
		wantFlags []string
		gotFlags  []string
		sameDir   bool
		equal     bool
		format    string
		causes    []string
		details   []string // substrings of some detail line
	}{
		{
			name: "identical", goos: "linux", wantFlags: repro, gotFlags: repro, equal: true,
		},
		{
			name: "timestamp", goos: "linux",
			wantFlags: []string{"-trimpath", "-buildvcs=false", "-ldflags=-X main.t=2026-11-22T06:05:30Z"},
			gotFlags:  []string{"-trimpath", "-buildvcs=false", "-ldflags=-X main.t=2026-11-22T06:05:33Z"},
			format:    "elf", causes: []string{CauseTimestamp, CauseGoBuildID},
			details: []string{"section .note.go.buildid", "section .rodata", "Go build ID differs"},
		},
		{
			name: "build-dir", goos: "linux",
			wantFlags: []string{"-buildvcs=false", "-ldflags=-buildid="},
			gotFlags:  []string{"-buildvcs=false", "-ldflags=-buildid="},
			format:    "elf", causes: []string{CauseBuildPath},
			details: []string{"embedded absolute paths differ"},
		},
		{
			name: "pe", goos: "windows",
			wantFlags: []string{"-trimpath", "-buildvcs=false", "-ldflags=-buildid= -X main.t=alpha"},
			gotFlags:  []string{"-trimpath", "-buildvcs=false", "-ldflags=-buildid= -X main.t=omega"},
			format:    "pe", details: []string{"section .rdata"},
		},
		{
			name: "macho", goos: "darwin",
			wantFlags: []string{"-trimpath", "-buildvcs=false", "-ldflags=-X main.t=alpha"},
			gotFlags:  []string{"-trimpath", "-buildvcs=false", "-ldflags=-X main.t=omega"},
			format:    "macho", causes: []string{CauseUUID, CauseGoBuildID},
			details: []string{"LC_UUID differs", "section __TEXT,__rodata"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			// Two build directories of the same length, so the binaries'
			// layouts line up and only the paths differ.
			want := goBuild(t, filepath.Join(root, "aaaa"), tc.goos, "hello", tc.wantFlags...)
			got := goBuild(t, filepath.Join(root, "bbbb"), tc.goos, "hello", tc.gotFlags...)
			rep, err := Compare(ctx, want, got, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			rep.Text(&text)
			t.Logf("\n%s", text.String())
			if rep.Equal != tc.equal {
				t.Fatalf("Equal = %v, want %v", rep.Equal, tc.equal)
			}
			if tc.equal {
				return
			}
			if len(rep.Diffs) != 1 {
				t.Fatalf("%d diffs, want 1", len(rep.Diffs))
			}
			d := &rep.Diffs[0]
			if d.Format != tc.format {
				t.Errorf("format %q, want %q", d.Format, tc.format)
			}
			for _, c := range tc.causes {
				if !hasHint(d, c) {
					t.Errorf("no %s hint", c)
				}
			}
			for _, s := range tc.details {
				found := false
				for _, l := range d.Details {
					found = found || strings.Contains(l, s)
				}
				if !found {
					t.Errorf("no detail line contains %q", s)
				}
			}
			switch tc.name {
			case "timestamp":
				if h := hintText(d, CauseTimestamp); !strings.Contains(h, "3s apart") {
					t.Errorf("timestamp hint %q does not say 3s apart", h)
				}
			case "build-dir":
				h := hintText(d, CauseBuildPath)
				if !strings.Contains(h, filepath.Join(root, "aaaa")) || !strings.Contains(h, filepath.Join(root, "bbbb")) || !strings.Contains(h, "-trimpath") {
					t.Errorf("build path hint %q does not name both directories and -trimpath", h)
				}
			}
		})
	}
}

// TestPEHeader patches the COFF TimeDateStamp and the optional header
// CheckSum of one Go-built PE, as a linker without /Brepro would set them.
func TestPEHeader(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	dir := goBuild(t, t.TempDir(), "windows", "hello.exe", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=")
	exe, err := os.ReadFile(filepath.Join(dir, "hello.exe"))
	if err != nil {
		t.Fatal(err)
	}
	patch := func(stamp, sum uint32) string {
		b := append([]byte(nil), exe...)
		pe := int(binary.LittleEndian.Uint32(b[0x3c:]))
		binary.LittleEndian.PutUint32(b[pe+8:], stamp)   // COFF header TimeDateStamp
		binary.LittleEndian.PutUint32(b[pe+24+64:], sum) // optional header CheckSum
		p := filepath.Join(t.TempDir(), "hello.exe")
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t0 := uint32(time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC).Unix())
	rep, err := Compare(context.Background(), patch(t0, 0x1234), patch(t0+90, 0x5678), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := &rep.Diffs[0]
	var text strings.Builder
	rep.Text(&text)
	t.Logf("\n%s", text.String())
	all := strings.Join(d.Details, "\n")
	for _, s := range []string{"COFF header TimeDateStamp differs", "2026-11-22T06:00:00Z", "CheckSum differs"} {
		if !strings.Contains(all, s) {
			t.Errorf("details lack %q", s)
		}
	}
	if h := hintText(d, CauseTimestamp); !strings.Contains(h, "1m30s apart") || !strings.Contains(h, "/Brepro") {
		t.Errorf("timestamp hint %q", h)
	}
}
