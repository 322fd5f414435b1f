package hardening_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The fixtures are real binaries built once per test run by the installed
// gcc and go toolchains, in a directory removed by TestMain.

var fixtureDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "hardening-test-")
	if err != nil {
		panic(err)
	}
	fixtureDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

const cSource = `#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
	char buf[64];
	strcpy(buf, argc > 1 ? argv[1] : "hardening");
	printf("%s %d\n", buf, argc);
	return 0;
}
`

const goSource = `package main

import "fmt"

func main() { fmt.Println("hardening") }
`

const cgoSource = `package main

// #include <stdio.h>
// static void hello(void) { char buf[32]; snprintf(buf, sizeof buf, "%s", "hardening"); puts(buf); }
import "C"

func main() { C.hello() }
`

// fixture describes one binary and how to build it.
type fixture struct {
	tool string   // "gcc" or "go"
	args []string // gcc flags, or go build flags
	env  []string // extra environment for go build
	src  string   // Go source; goSource if empty
}

var fixtures = map[string]fixture{
	"c-hardened": {tool: "gcc", args: []string{"-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-O2",
		"-pie", "-fPIE", "-Wl,-z,relro,-z,now"}},
	"c-soft": {tool: "gcc", args: []string{"-fno-stack-protector", "-U_FORTIFY_SOURCE", "-D_FORTIFY_SOURCE=0",
		"-O0", "-no-pie", "-fno-pie", "-Wl,-z,norelro", "-Wl,-z,execstack", "-Wl,-rpath,/tmp"}},
	"go-pie":          {tool: "go", args: []string{"-trimpath", "-buildmode=pie"}},
	"go-plain":        {tool: "go"},
	"go-cgo":          {tool: "go", env: []string{"CGO_ENABLED=1", "CGO_CFLAGS=-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2"}, src: cgoSource},
	"go-windows":      {tool: "go", env: []string{"GOOS=windows", "GOARCH=amd64"}},
	"go-windows-386":  {tool: "go", env: []string{"GOOS=windows", "GOARCH=386"}},
	"go-darwin":       {tool: "go", env: []string{"GOOS=darwin", "GOARCH=arm64"}},
	"go-darwin-amd64": {tool: "go", env: []string{"GOOS=darwin", "GOARCH=amd64"}},
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
	failed  = map[string]string{}
)

// build returns the path of the named fixture, building it on first use, and
// skips the test if the compiler it needs is missing.
func build(tb testing.TB, name string) string {
	tb.Helper()
	fx, ok := fixtures[name]
	if !ok {
		tb.Fatalf("no fixture %q", name)
	}
	for _, tool := range []string{fx.tool, map[bool]string{true: "gcc"}[fx.src == cgoSource]} {
		if _, err := exec.LookPath(tool); tool != "" && err != nil {
			tb.Skipf("fixture %s needs %s, which is not installed: %v", name, tool, err)
		}
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if msg, ok := failed[name]; ok {
		tb.Fatal(msg)
	}
	dir := filepath.Join(fixtureDir, name)
	out := filepath.Join(dir, "bin")
	var cmd *exec.Cmd
	switch fx.tool {
	case "gcc":
		must(tb, os.MkdirAll(dir, 0o755))
		must(tb, os.WriteFile(filepath.Join(dir, "main.c"), []byte(cSource), 0o644))
		cmd = exec.Command("gcc", append(fx.args, "-o", out, "main.c")...)
	case "go":
		must(tb, os.MkdirAll(dir, 0o755))
		must(tb, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/fixture\n\ngo 1.22\n"), 0o644))
		src := fx.src
		if src == "" {
			src = goSource
		}
		must(tb, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
		cmd = exec.Command("go", append(append([]string{"build"}, fx.args...), "-o", out, ".")...)
		// Never reach the network; never fetch another toolchain.
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=", "GOWORK=off")
		cmd.Env = append(cmd.Env, fx.env...)
	}
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		failed[name] = "building fixture " + name + ": " + err.Error() + "\n" + string(b)
		tb.Fatal(failed[name])
	}
	built[name] = out
	return out
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
