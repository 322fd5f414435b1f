package repro

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
