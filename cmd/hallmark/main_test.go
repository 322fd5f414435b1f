package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hallmark-dev/hallmark/trustroot"
)

// peersDir is where .ci/run installs the peer tools (cosign) that interop
// scripts run; HALLMARK_PEERS overrides it. Scripts that need a missing tool
// skip.
func peersDir() string {
	if d := os.Getenv("HALLMARK_PEERS"); d != "" {
		return d
	}
	if c, err := os.UserCacheDir(); err == nil {
		return filepath.Join(c, "hallmark-peers")
	}
	return ""
}

func TestMain(m *testing.M) {
	if d := peersDir(); d != "" {
		os.Setenv("PATH", d+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	quietLibraries()
	testscript.Main(m, map[string]func(){
		"hallmark": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the scripts in testdata, one per feature. Each gets a
// fresh data directory in HALLMARK_HOME and the public Sigstore trusted root
// in $WORK/trusted_root.json, for cosign, which will not read it otherwise
// without the network.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(e *testscript.Env) error {
			e.Setenv("HALLMARK_HOME", filepath.Join(e.WorkDir, "home"))
			e.Setenv("PATH", os.Getenv("PATH"))
			return os.WriteFile(filepath.Join(e.WorkDir, "trusted_root.json"), trustroot.PublicGoodJSON(), 0o644)
		},
	})
}
