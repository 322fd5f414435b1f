package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hallmark-dev/hallmark/sandbox"
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
	sandbox.Init()
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
			// Builds find the Go toolchain module in the host's module
			// cache, as the go command would (testscript's HOME is not the
			// host's).
			for _, v := range []string{"GOMODCACHE", "GOCACHE", "GOPATH"} {
				if out, err := exec.Command("go", "env", v).Output(); err == nil {
					e.Setenv(v, strings.TrimSpace(string(out)))
				}
			}
			return os.WriteFile(filepath.Join(e.WorkDir, "trusted_root.json"), trustroot.PublicGoodJSON(), 0o644)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"openvex-valid": openvexValid,
		},
	})
}

// openvexValid is the script command "openvex-valid FILE": FILE validates
// against the OpenVEX v0.2.0 JSON schema (vex/testdata).
func openvexValid(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: openvex-valid FILE")
	}
	f, err := os.Open(filepath.Join("..", "..", "vex", "testdata", "openvex_json_schema.json"))
	ts.Check(err)
	defer f.Close()
	schema, err := jsonschema.UnmarshalJSON(f)
	ts.Check(err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	id := schema.(map[string]any)["$id"].(string)
	ts.Check(c.AddResource(id, schema))
	sch, err := c.Compile(id)
	ts.Check(err)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(ts.ReadFile(args[0])))
	ts.Check(err)
	err = sch.Validate(inst)
	switch {
	case err != nil && !neg:
		ts.Fatalf("%s does not validate against the OpenVEX schema: %v", args[0], err)
	case err == nil && neg:
		ts.Fatalf("%s validates against the OpenVEX schema", args[0])
	}
}
