//go:build linux

package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hallmark-dev/hallmark/sandbox"
)

// A Go build step: the source tree and the module cache read-only, one
// writable output directory, no network, a scratch /tmp for the build cache.
// The program's main must call sandbox.Init first.
func ExampleRun() {
	res, err := sandbox.Run(context.Background(), sandbox.Spec{
		Command: []string{"go", "build", "-trimpath", "-o", "/out/app", "."},
		Dir:     "/src",
		Path:    "/usr/local/go/bin:/usr/bin:/bin",
		Env: map[string]string{
			"GOFLAGS":    "-mod=readonly",
			"GOMODCACHE": "/gomodcache",
			"GOCACHE":    "/tmp/gocache",
			"GOPROXY":    "off",
		},
		SourceDateEpoch: time.Unix(1700000000, 0),
		Mounts: []sandbox.Mount{
			{Source: "/usr", Target: "/usr"},
			{Source: "/usr/local/go", Target: "/usr/local/go"},
			{Source: "/srv/checkout", Target: "/src"},
			{Source: "/srv/modcache", Target: "/gomodcache"},
			{Source: "/srv/build/out", Target: "/out", Writable: true},
		},
		Scratch: true,
		Limits:  sandbox.Limits{WallTime: 10 * time.Minute, Processes: 512, FileSize: 1 << 30},
		Stdout:  os.Stderr,
		Stderr:  os.Stderr,
	})
	if err != nil {
		fmt.Println("sandbox:", err)
		return
	}
	if res.ExitCode != 0 || res.Killed != "" {
		fmt.Printf("step failed: exit %d, signal %q, killed %q\n", res.ExitCode, res.Signal, res.Killed)
	}
}
