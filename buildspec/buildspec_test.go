package buildspec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const header = "apiVersion: hallmark.dev/build/v1\nkind: Build\nname: t\ntoolchains:\n  go: {go: 1.26.8}\n"

// step is a minimal valid step named name, with extra keys appended.
func step(name, extra string) string {
	return "  - name: " + name + "\n    toolchain: go\n    run: [true]\n" + extra
}

func TestParseGood(t *testing.T) {
	data, err := os.ReadFile("testdata/hello.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "hello" || s.Profile != "high" || len(s.Steps) != 5 {
		t.Fatalf("spec %+v", s)
	}
	if tc := s.Toolchains["go"]; tc.Go != "1.26.8" || tc.H1 == "" {
		t.Errorf("toolchain %+v", tc)
	}
	lin := s.Steps[1]
	if want := []string{"go", "build", "-trimpath", "-buildvcs=false", "-o", "bin/linux-amd64/hello", "./cmd/hello"}; !slices.Equal(lin.Run, want) {
		t.Errorf("run %q", lin.Run)
	}
	if lin.Env["CGO_ENABLED"] != "0" || lin.Env["GOOS"] != "linux" {
		t.Errorf("env %v", lin.Env)
	}
	if lin.Timeout != 10*time.Minute || lin.Limits != (Limits{Memory: 2 << 30, Processes: 512, MilliCPU: 2000}) {
		t.Errorf("timeout %v limits %+v", lin.Timeout, lin.Limits)
	}
	if !slices.Equal(lin.Inputs, []Input{{Source: true}, {Step: "fetch"}}) {
		t.Errorf("inputs %v", lin.Inputs)
	}
	if f := s.Steps[0]; !f.Fetch || !f.Network {
		t.Errorf("fetch step %+v", f)
	}
	if v := s.Steps[3]; v.Run[0] != "/bin/sh" || v.Run[1] != "-c" || v.SAST == nil || v.SAST.SARIF != "reports/vet.sarif" {
		t.Errorf("vet step %+v", v)
	}
	if p := s.Steps[4]; p.Limits.MilliCPU != 500 || p.Limits.Memory != 256<<20 {
		t.Errorf("package limits %+v", p.Limits)
	}
}

func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		name, steps string
		want        []string
	}{
		{"file order", step("a", "") + step("b", "") + step("c", ""), []string{"a", "b", "c"}},
		{"dependency first", step("a", "    inputs: [{step: c}]\n") + step("b", "") + step("c", ""), []string{"c", "a", "b"}},
		{"chain backwards", step("a", "    inputs: [{step: b}]\n") + step("b", "    inputs: [{step: c}]\n") + step("c", ""), []string{"c", "b", "a"}},
		{"diamond", step("d", "    inputs: [{step: b}, {step: c}]\n") + step("b", "    inputs: [{step: a}]\n") + step("c", "    inputs: [{step: a}]\n") + step("a", ""), []string{"a", "b", "c", "d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(header + "steps:\n" + tc.steps))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Order(); !slices.Equal(got, tc.want) {
				t.Errorf("Order() = %v, want %v", got, tc.want)
			}
		})
	}
	s := Shorthand([]string{"go", "build"}, "1.26.8")
	s.Steps = append(s.Steps, Step{Name: "x", Run: []string{"true"}, Toolchain: "go", Inputs: []Input{{Step: "build"}}})
	s.Steps[0].Inputs = append(s.Steps[0].Inputs, Input{Step: "x"})
	if o := s.Order(); o != nil {
		t.Errorf("Order of a cycle = %v", o)
	}
}

// Every error names its line and key path.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		line       int
		want       string
	}{
		{"empty", "", 0, "buildspec: file is empty"},
		{"not yaml", "a: [", 0, "buildspec: yaml: line 1: did not find expected node content"},
		{"two documents", header + "steps:\n" + step("a", "") + "---\na: 1\n", 10, "a second YAML document"},
		{"not utf-8", "name: \xff\n", 0, "not valid UTF-8"},
		{"too big", header + "# " + strings.Repeat("x", MaxSize) + "\n", 0, "more than the limit of 1048576"},
		{"unknown top key", header + "stpes: []\n", 6, `unknown key "stpes"`},
		{"unknown step key", header + "steps:\n" + step("a", "    netwrok: true\n"), 10, `steps[0]: unknown key "netwrok"`},
		{"repeated key", header + "steps:\n" + step("a", "    run: [false]\n"), 10, `steps[0]: key "run" is given twice (first at line 9)`},
		{"alias", header + "steps:\n" + step("a", "    outputs: &o [x]\n") + step("b", "    outputs: *o\n"), 14, "steps.b.outputs: YAML aliases are not allowed"},
		{"alias as step", header + "steps:\n  - &s {name: a, toolchain: go, run: [x]}\n  - *s\n", 8, "steps[1]: YAML aliases are not allowed"},
		{"wrong apiVersion", strings.Replace(header, "build/v1", "build/v2", 1) + "steps:\n" + step("a", ""), 1, `apiVersion: "hallmark.dev/build/v2" is not hallmark.dev/build/v1`},
		{"wrong kind", strings.Replace(header, "kind: Build", "kind: Policy", 1) + "steps:\n" + step("a", ""), 2, `kind: "Policy" is not Build`},
		{"no name", strings.Replace(header, "name: t\n", "", 1) + "steps:\n" + step("a", ""), 1, "name is missing"},
		{"no steps key", header, 1, "steps is missing"},
		{"no steps", header + "steps: []\n", 6, "steps: no steps"},
		{"bad build name", strings.Replace(header, "name: t", "name: '-x'", 1) + "steps:\n" + step("a", ""), 3, `name: "-x" is not a build name`},
		{"duplicate step", header + "steps:\n" + step("a", "") + step("a", ""), 10, `steps.a.name: step "a" is given twice (steps[0] and steps[1])`},
		{"bad step name", header + "steps:\n" + step("Build_1", ""), 7, `steps[0].name: "Build_1" is not a step name`},
		{"step name not a string", header + "steps:\n  - name: [a]\n", 7, "steps[0].name: want a string, have a sequence"},
		{"no run", header + "steps:\n  - name: a\n    toolchain: go\n", 7, "steps.a: run is missing"},
		{"run a mapping", header + "steps:\n" + strings.Replace(step("a", ""), "[true]", "{x: 1}", 1), 9, "steps.a.run: want a command"},
		{"run empty command", header + "steps:\n" + strings.Replace(step("a", ""), "[true]", "['']", 1), 9, "steps.a.run: the command is empty"},
		{"run NUL", header + "steps:\n" + strings.Replace(step("a", ""), "[true]", `[x, "a\0b"]`, 1), 9, "steps.a.run[1]: argument has a NUL byte"},
		{"missing toolchain", header + "steps:\n  - name: a\n    run: [x]\n", 7, "steps.a: toolchain is missing: name one of toolchains (go)"},
		{"unknown toolchain", header + "steps:\n" + strings.Replace(step("a", ""), "toolchain: go", "toolchain: rust", 1), 8, `steps.a.toolchain: toolchain "rust" is not declared (toolchains: go)`},
		{"no toolchains", strings.Replace(header, "toolchains:\n  go: {go: 1.26.8}\n", "", 1) + "steps:\n" + step("a", ""), 6, `toolchain "go" is not declared (toolchains: none declared)`},
		{"toolchain without go", strings.Replace(header, "{go: 1.26.8}", "{}", 1) + "steps:\n" + step("a", ""), 5, "toolchains.go: go is missing"},
		{"bad go version", strings.Replace(header, "1.26.8", "latest", 1) + "steps:\n" + step("a", ""), 5, `toolchains.go.go: "latest" is not a Go release`},
		{"bad sha256", strings.Replace(header, "{go: 1.26.8}", "{go: 1.26.8, sha256: ABC}", 1) + "steps:\n" + step("a", ""), 5, `toolchains.go.sha256: "ABC" is not 64 lowercase hex digits`},
		{"bad h1", strings.Replace(header, "{go: 1.26.8}", "{go: 1.26.8, h1: 'h1:x'}", 1) + "steps:\n" + step("a", ""), 5, `toolchains.go.h1: "h1:x" is not a dirhash`},
		{"sha256 and h1", strings.Replace(header, "{go: 1.26.8}", "{go: 1.26.8, sha256: "+strings.Repeat("a", 64)+", h1: 'h1:"+strings.Repeat("A", 43)+"='}", 1) + "steps:\n" + step("a", ""), 5, "toolchains.go.h1: give sha256 or h1, not both"},
		{"bad toolchain name", strings.Replace(header, "  go: {", "  Go!: {", 1) + "steps:\n" + step("a", ""), 5, `toolchains["Go!"]: "Go!" is not a toolchain name`},
		{"unknown input step", header + "steps:\n" + step("a", "    inputs: [{step: b}]\n"), 10, `steps.a.inputs[0].step: step "b" is not in the spec`},
		{"own outputs", header + "steps:\n" + step("a", "    inputs: [{step: a}]\n"), 10, "steps.a.inputs[0].step: a step cannot read its own outputs"},
		{"input two kinds", header + "steps:\n" + step("a", "    inputs: [{source: true, cache: npm}]\n"), 10, "steps.a.inputs[0]: an input is exactly one of"},
		{"input none", header + "steps:\n" + step("a", "    inputs: [{}]\n"), 10, "steps.a.inputs[0]: an input is exactly one of"},
		{"source false", header + "steps:\n" + step("a", "    inputs: [{source: false}]\n"), 10, "steps.a.inputs[0].source: source: false declares nothing"},
		{"unknown cache", header + "steps:\n" + step("a", "    inputs: [{cache: pip}]\n"), 10, `steps.a.inputs[0].cache: "pip" is not go-modules or npm`},
		{"input twice", header + "steps:\n" + step("a", "    inputs: [{source: true}, {source: true}]\n"), 10, "steps.a.inputs[1]: input source is given twice (inputs[0] and inputs[1])"},
		{"cycle", header + "steps:\n" + step("a", "    inputs: [{step: b}]\n") + step("b", "    inputs: [{step: c}]\n") + step("c", "    inputs: [{source: true}, {step: a}]\n"), 18,
			"steps.c.inputs[1]: the steps form a cycle: a -> b -> c -> a"},
		{"cycle of two", header + "steps:\n" + step("x", "") + step("a", "    inputs: [{step: b}]\n") + step("b", "    inputs: [{step: a}]\n"), 17, "steps.b.inputs[0]: the steps form a cycle: a -> b -> a"},
		{"absolute output", header + "steps:\n" + step("a", "    outputs: [/etc/passwd]\n"), 10, `steps.a.outputs[0]: "/etc/passwd" is absolute`},
		{"dotdot output", header + "steps:\n" + step("a", "    outputs: [../x]\n"), 10, `steps.a.outputs[0]: "../x" reaches outside the output directory`},
		{"unclean output", header + "steps:\n" + step("a", "    outputs: [a/./b/]\n"), 10, `steps.a.outputs[0]: "a/./b/" is not clean: write "a/b"`},
		{"hidden dotdot", header + "steps:\n" + step("a", "    outputs: [a/../../b]\n"), 10, `"a/../../b" is not clean`},
		{"dot output", header + "steps:\n" + step("a", "    outputs: [.]\n"), 10, `"." is the whole output directory`},
		{"empty output", header + "steps:\n" + step("a", "    outputs: ['']\n"), 10, "steps.a.outputs[0]: the path is empty"},
		{"backslash output", header + "steps:\n" + step("a", "    outputs: ['a\\b']\n"), 10, "has a backslash"},
		{"overlap same step", header + "steps:\n" + step("a", "    outputs: [bin, bin/x]\n"), 10, `steps.a.outputs[1]: "bin/x" overlaps output "bin" of step "a"`},
		{"overlap same step, parent later", header + "steps:\n" + step("a", "    outputs: [bin/x, bin]\n"), 10, `steps.a.outputs[1]: "bin" overlaps output "bin/x" of step "a"`},
		{"overlap across steps", header + "steps:\n" + step("a", "    outputs: [bin/x, bin-y, bin.z]\n") + step("b", "    outputs: [bin]\n"), 14, `steps.b.outputs[0]: "bin" overlaps output "bin/x" of step "a"`},
		{"same output", header + "steps:\n" + step("a", "    outputs: [dist]\n") + step("b", "    outputs: [dist]\n"), 14, `steps.b.outputs[0]: "dist" overlaps output "dist" of step "a"`},
		{"network without fetch", header + "steps:\n" + step("a", "    network: true\n"), 10, "steps.a.network: network is allowed only for a fetch step (fetch: true)"},
		{"network not bool", header + "steps:\n" + step("a", "    network: yes please\n"), 10, `steps.a.network: want true or false, have string "yes please"`},
		{"env bad name", header + "steps:\n" + step("a", "    env: {go-flags: x}\n"), 10, `steps.a.env["go-flags"]: "go-flags" is not a variable name`},
		{"env reserved", header + "steps:\n" + step("a", "    env:\n      SOURCE_DATE_EPOCH: 0\n"), 11, "steps.a.env.SOURCE_DATE_EPOCH: SOURCE_DATE_EPOCH is set by the sandbox and cannot be overridden"},
		{"env PATH", header + "steps:\n" + step("a", "    env: {PATH: /tmp}\n"), 10, "steps.a.env.PATH: PATH is set by the sandbox"},
		{"env value mapping", header + "steps:\n" + step("a", "    env: {X: {y: 1}}\n"), 10, "steps.a.env.X: want a string, have a mapping"},
		{"env null", header + "steps:\n" + step("a", "    env: {X: }\n"), 10, "steps.a.env.X: want a string, have null"},
		{"env NUL", header + "steps:\n" + step("a", "    env: {X: \"a\\0\"}\n"), 10, "steps.a.env.X: value has a NUL byte"},
		{"sarif outside outputs", header + "steps:\n" + step("a", "    outputs: [bin]\n    sast: {sarif: reports/x.sarif}\n"), 11, `steps.a.sast.sarif: "reports/x.sarif" is not among the step's outputs`},
		{"sarif absolute", header + "steps:\n" + step("a", "    sast: {sarif: /x.sarif}\n"), 10, `steps.a.sast.sarif: "/x.sarif" is absolute`},
		{"sarif missing", header + "steps:\n" + step("a", "    sast: {}\n"), 10, "steps.a.sast: sarif is missing"},
		{"bad timeout", header + "steps:\n" + step("a", "    timeout: forever\n"), 10, `steps.a.timeout: "forever" is not a Go duration`},
		{"long timeout", header + "steps:\n" + step("a", "    timeout: 25h\n"), 10, `"25h" is not a Go duration between 1s and 24h0m0s`},
		{"fraction timeout", header + "steps:\n" + step("a", "    timeout: 1.5s\n"), 10, "not a whole number of seconds"},
		{"bad memory", header + "steps:\n" + step("a", "    limits: {memory: 2GB}\n"), 10, "steps.a.limits.memory: 2GB is not an amount of memory"},
		{"huge memory", header + "steps:\n" + step("a", "    limits: {memory: 9999999Ti}\n"), 10, "steps.a.limits.memory: 9999999Ti is not an amount"},
		{"zero processes", header + "steps:\n" + step("a", "    limits: {processes: 0}\n"), 10, "steps.a.limits.processes: 0 is not between 1 and 65536"},
		{"cpu string", header + "steps:\n" + step("a", "    limits: {cpu: two}\n"), 10, `steps.a.limits.cpu: want a number of CPUs, have string "two"`},
		{"cpu too fine", header + "steps:\n" + step("a", "    limits: {cpu: 0.0001}\n"), 10, "steps.a.limits.cpu: 0.0001 is not a number of CPUs"},
		{"cpu between thousandths", header + "steps:\n" + step("a", "    limits: {cpu: 1.0015}\n"), 10, "steps.a.limits.cpu: 1.0015 is not a number of CPUs"},
		{"cpu nan", header + "steps:\n" + step("a", "    limits: {cpu: .nan}\n"), 10, "steps.a.limits.cpu: .nan is not"},
		{"unknown limit", header + "steps:\n" + step("a", "    limits: {disk: 1}\n"), 10, `steps.a.limits: unknown key "disk" (known: memory, processes, cpu)`},
		{"bad profile", strings.Replace(header, "name: t\n", "name: t\nprofile: 'a b'\n", 1) + "steps:\n" + step("a", ""), 4, `profile: "a b" is not a profile name`},
		{"non-string key", header + "steps:\n" + step("a", "    env: {1: x}\n"), 10, "steps.a.env: a key must be a string, have int 1"},
		{"too many steps", header + "steps:\n" + strings.Repeat(step("a", ""), MaxSteps+1), 7, "steps: 101 entries, more than the limit of 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.file))
			if err == nil {
				t.Fatalf("Parse accepts:\n%s", tc.file)
			}
			if s != nil {
				t.Error("a spec and an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if e.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", e.Line, tc.line, err)
			}
		})
	}
}

func TestTooManyOutputs(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + "steps:\n")
	for i := range 3 {
		b.WriteString(step(string(rune('a'+i)), "    outputs:\n"))
		for j := range 400 {
			b.WriteString("      - d" + string(rune('a'+i)) + "/" + strings.Repeat("x", j%7+1) + "/" + string(rune('0'+j%10)) + string(rune('0'+j/10%10)) + string(rune('0'+j/100)) + "\n")
		}
	}
	_, err := Parse([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "steps.c.outputs: more than 1000 outputs in all steps") {
		t.Fatalf("error %v", err)
	}
}

func TestShorthand(t *testing.T) {
	s := Shorthand([]string{"go", "build", "-o", "out/app", "."}, "1.26.8")
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if o := s.Order(); !slices.Equal(o, []string{"build"}) {
		t.Errorf("order %v", o)
	}
	st := s.Steps[0]
	if st.Toolchain != "go" || st.Network || !slices.Equal(st.Outputs, []string{"out"}) || !slices.Equal(st.Inputs, []Input{{Source: true}, {Cache: GoModules}}) {
		t.Errorf("step %+v", st)
	}
	for _, bad := range []*Spec{Shorthand(nil, "1.26.8"), Shorthand([]string{"x"}, "go1.26"), Shorthand([]string{""}, "1.26.8")} {
		err := bad.Validate()
		var e *Error
		if !errors.As(err, &e) || e.Line != 0 {
			t.Errorf("Validate of %+v: %v", bad, err)
		}
	}
	// Validate in code: changed after the fact.
	s.Steps[0].Network = true
	if err := s.Validate(); err == nil || err.Error() != "buildspec: steps.build.network: network is allowed only for a fetch step (fetch: true)" {
		t.Errorf("network: %v", err)
	}
	s.Steps[0].Network = false
	s.Steps[0].Env = map[string]string{"HOME": "/root"}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "HOME is set by the sandbox") {
		t.Errorf("env: %v", err)
	}
}

// The digest is of the meaning, not of the layout.
func TestDigest(t *testing.T) {
	a := header + "steps:\n" + step("a", "    env: {A: '1', B: x}\n    outputs: [o]\n")
	b := "# same spec, other layout\nkind: Build\napiVersion: hallmark.dev/build/v1\ntoolchains: {go: {go: '1.26.8'}}\nname: t\nsteps: [{run: ['true'], outputs: [o], toolchain: go, env: {B: x, A: 1}, name: a}]\n"
	c := strings.Replace(a, "B: x", "B: y", 1)
	sa, err := Parse([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Parse([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Parse([]byte(c))
	if err != nil {
		t.Fatal(err)
	}
	if sa.Digest() != sb.Digest() {
		t.Errorf("same spec, digests %s and %s", sa.Digest(), sb.Digest())
	}
	if sa.Digest() == sc.Digest() {
		t.Error("an env value change does not change the digest")
	}
	if !strings.HasPrefix(sa.Digest(), "sha256:") || len(sa.Digest()) != 7+64 {
		t.Errorf("digest %q", sa.Digest())
	}
	// A script string is the same as its /bin/sh -c list.
	d1, _ := Parse([]byte(header + "steps:\n" + strings.Replace(step("a", ""), "[true]", "'make all'", 1)))
	d2, _ := Parse([]byte(header + "steps:\n" + strings.Replace(step("a", ""), "[true]", "[/bin/sh, -c, make all]", 1)))
	if d1 == nil || d2 == nil || d1.Digest() != d2.Digest() {
		t.Error("a script and its /bin/sh -c list differ")
	}
}

func TestExternalParameters(t *testing.T) {
	data, err := os.ReadFile("testdata/hello.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p := s.ExternalParameters()
	if p["apiVersion"] != APIVersion || p["name"] != "hello" || p["profile"] != "high" {
		t.Errorf("parameters %v", p)
	}
	if d := p["specDigest"].(map[string]any)["sha256"]; "sha256:"+d.(string) != s.Digest() {
		t.Errorf("specDigest %v, Digest %s", d, s.Digest())
	}
	steps := p["steps"].([]any)
	if len(steps) != len(s.Steps) {
		t.Fatalf("%d steps", len(steps))
	}
	// Every field of every step is enumerated, zero values included.
	for i, st := range steps {
		m := st.(map[string]any)
		for _, k := range []string{"name", "run", "toolchain", "inputs", "outputs", "env", "fetch", "network", "timeout_seconds", "limits"} {
			if _, ok := m[k]; !ok {
				t.Errorf("step %d: no %s", i, k)
			}
		}
	}
	lin := steps[1].(map[string]any)
	if lin["timeout_seconds"] != float64(600) || lin["limits"].(map[string]any)["millicpu"] != float64(2000) {
		t.Errorf("linux step %v", lin)
	}
	if steps[3].(map[string]any)["sast"].(map[string]any)["sarif"] != "reports/vet.sarif" {
		t.Errorf("vet step %v", steps[3])
	}
	tc := p["toolchains"].(map[string]any)["go"].(map[string]any)
	if tc["go"] != "1.26.8" || tc["h1"] != s.Toolchains["go"].H1 {
		t.Errorf("toolchain %v", tc)
	}
}

// Validate checks a spec built in code as Parse checks a file, without
// lines.
func TestValidateInCode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Spec)
		want   string
	}{
		{"sub-second timeout", func(s *Spec) { s.Steps[0].Timeout = 1500 * time.Millisecond }, "steps.build.timeout: 1.5s is not a whole number of seconds"},
		{"negative memory", func(s *Spec) { s.Steps[0].Limits.Memory = -1 }, "steps.build.limits.memory: -1 bytes"},
		{"too many cpus", func(s *Spec) { s.Steps[0].Limits.MilliCPU = 2000000 }, "steps.build.limits.cpu: 2000000 thousandths"},
		{"absolute output", func(s *Spec) { s.Steps[0].Outputs = []string{"/out"} }, `steps.build.outputs[0]: "/out" is absolute`},
		{"NUL env", func(s *Spec) { s.Steps[0].Env = map[string]string{"A": "\x00"} }, "steps.build.env.A: value has a NUL byte"},
		{"bad env name", func(s *Spec) { s.Steps[0].Env = map[string]string{"a=b": "c"} }, `steps.build.env["a=b"]`},
		{"no toolchains", func(s *Spec) { s.Toolchains = nil }, `toolchain "go" is not declared (toolchains: none declared)`},
		{"bad step name", func(s *Spec) { s.Steps[0].Name = "../x" }, `steps[0].name: "../x" is not a step name`},
		{"cycle", func(s *Spec) {
			s.Steps = append(s.Steps, Step{Name: "x", Run: []string{"true"}, Toolchain: "go", Inputs: []Input{{Step: "build"}}})
			s.Steps[0].Inputs = append(s.Steps[0].Inputs, Input{Step: "x"})
		}, "steps.x.inputs[0]: the steps form a cycle: build -> x -> build"},
		{"empty input", func(s *Spec) { s.Steps[0].Inputs = []Input{{}} }, "steps.build.inputs[0]: an input is exactly one of"},
		{"too many steps", func(s *Spec) { s.Steps = make([]Step, MaxSteps+1) }, "steps: 101 steps, more than the limit of 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Shorthand([]string{"make"}, "1.26.8")
			tc.change(s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.name == "cycle" && !errors.Is(err, ErrCycle) {
				t.Errorf("%v is not ErrCycle", err)
			}
		})
	}
}

func TestMarshalJSON(t *testing.T) {
	s := Shorthand([]string{"make"}, "1.26.8")
	s.Steps[0].Timeout = time.Minute
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"hallmark.dev/build/v1","name":"build","toolchains":{"go":{"go":"1.26.8"}},"steps":[{"name":"build","run":["make"],"toolchain":"go","inputs":[{"source":true},{"cache":"go-modules"}],"outputs":["out"],"env":{},"fetch":false,"network":false,"limits":{},"timeout_seconds":60}]}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
	sum := sha256.Sum256(b)
	if s.Digest() != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Error("Digest is not the SHA-256 of the JSON")
	}
}
