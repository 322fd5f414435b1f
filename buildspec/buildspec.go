// Package buildspec reads and checks a build spec: the hallmark.yaml file at
// the root of a source tree that says which steps a build runs, with which
// toolchain, reading what and writing what. It is a pure library: it runs
// nothing and reads no files; the sandbox and the build runner use the
// [Spec] it returns, and the provenance generator records
// [Spec.ExternalParameters].
//
// # Format
//
// A spec is one YAML document (docs/build-spec.md,
// buildspec/schema/build-v1.schema.json):
//
//	apiVersion: hallmark.dev/build/v1
//	kind: Build
//	name: hello
//	profile: high                      # optional: the risk profile to judge the build by
//	toolchains:
//	  go:
//	    go: 1.26.8
//	    h1: h1:...                     # optional: the toolchain module's dirhash, or sha256: of its zip
//	steps:
//	  - name: fetch
//	    fetch: true                    # a fetch step: the only kind that may have the network
//	    network: true
//	    toolchain: go
//	    run: GOMODCACHE="$PWD/modcache" go mod download
//	    inputs: [{source: true}]
//	    outputs: [modcache]
//	  - name: build
//	    toolchain: go
//	    run: [go, build, -trimpath, -o, out/hello, .]
//	    inputs: [{source: true}, {step: fetch}]
//	    outputs: [out/hello]
//	    env: {CGO_ENABLED: "0"}
//	    timeout: 10m
//	    limits: {memory: 2Gi, processes: 256, cpu: 2}
//
// run is an argument list, executed as it is (no shell), or a string, which
// is the same as [/bin/sh, -c, STRING]. Steps may be listed in any order:
// [Spec.Order] is the order they run in, each step after the steps whose
// outputs it reads, and otherwise in file order.
//
// # Invariants
//
// Parse is strict: unknown keys, keys given twice, YAML aliases, a second
// document, values of the wrong type are errors. [Spec.Validate] (which
// Parse calls) refuses step names given twice or not made of [a-z0-9-],
// inputs naming an unknown step or a step itself, a cycle of steps (the
// error names the cycle), a toolchain that is missing or not declared,
// outputs that are absolute, not clean, reach out with "..", or overlap any
// other output of the spec, a SARIF file outside the step's outputs,
// environment variables with other names than [A-Z_][A-Z0-9_]* or that the
// sandbox fixes itself (SOURCE_DATE_EPOCH, TZ, PATH, HOME, LANG, LC_ALL),
// network on a step that is not a fetch step, and the limits: a file of at
// most [MaxSize] bytes, at most [MaxSteps] steps and [MaxOutputs] outputs.
//
// What cannot be checked here: a step reading another step's outputs
// without declaring that input. The sandbox enforces it: a step sees only
// the inputs it declares, mounted read-only, and nothing else of earlier
// steps.
//
// # Errors
//
// Errors are *[Error] values naming the line, column and key path where the
// file gives them (a spec built in code, such as [Shorthand]'s, has no
// lines):
//
//	buildspec: line 10, column 15: steps.build.outputs[0]: "../../etc/cron.d/x" reaches outside the output directory
//	buildspec: steps.x.inputs[0]: the steps form a cycle: build -> x -> build
//
// A cycle's error wraps [ErrCycle].
//
// # Digest and provenance
//
// [Spec.Digest] hashes the canonical JSON ([Spec.MarshalJSON]): comments,
// layout, key order and the spelling of equal values do not change it.
// [Spec.ExternalParameters] is that JSON as a map plus the digest, what
// SLSA Provenance v1's buildDefinition.externalParameters holds of the
// spec (docs/build-spec.md lists the mapping).
package buildspec

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/internal/yamlnode"
)

// The file's apiVersion and kind.
const (
	APIVersion = "hallmark.dev/build/v1"
	Kind       = "Build"
)

// Limits on a spec.
const (
	MaxSize       = 1 << 20 // bytes of the file
	MaxSteps      = 100
	MaxOutputs    = 1000 // in all steps together
	MaxToolchains = 16
	MaxInputs     = 128 // per step
	MaxEnv        = 128 // variables per step
	MaxArgs       = 1024
	MaxTimeout    = 24 * time.Hour
	MaxMemory     = 1 << 40 // bytes
	MaxProcesses  = 1 << 16
	MaxCPU        = 1024 // CPUs
)

// Cache names a dependency cache a step may read.
type Cache string

// The dependency caches.
const (
	GoModules Cache = "go-modules" // the Go module cache (GOMODCACHE), read-only
	NPM       Cache = "npm"        // the npm cache, read-only
)

// Spec is a build spec. A Spec returned by Parse is valid; one built or
// changed in code (Shorthand's included) must pass Validate before use. Its
// methods only read it: a Spec no one changes is safe for concurrent use.
type Spec struct {
	Name string `json:"name"`
	// Profile is the risk profile the build is judged by; "" for the
	// project's own.
	Profile    string               `json:"profile,omitempty"`
	Toolchains map[string]Toolchain `json:"toolchains"`
	Steps      []Step               `json:"steps"`

	// pos holds the position of each key path the file gave.
	pos map[string]position
}

type position struct{ line, column int }

// Toolchain is a verified toolchain: the Go toolchain of one version,
// optionally pinned to a digest that the builder checks before the
// toolchain is used.
type Toolchain struct {
	Go string `json:"go"` // a Go release such as "1.26.8"
	// SHA256 is the lowercase hex SHA-256 of the golang.org/toolchain
	// module zip; H1 the module's dirhash ("h1:" and base64). At most one
	// is set; with neither, the builder checks the toolchain against the
	// Go checksum database.
	SHA256 string `json:"sha256,omitempty"`
	H1     string `json:"h1,omitempty"`
}

// Step is one step of a build, run in its own sandbox.
type Step struct {
	Name string `json:"name"` // [a-z0-9-], unique in the spec
	// Run is the command and its arguments. A string in the file becomes
	// ["/bin/sh", "-c", string].
	Run       []string `json:"run"`
	Toolchain string   `json:"toolchain"`
	Inputs    []Input  `json:"inputs"`
	// Outputs are slash-separated paths relative to the step's output
	// directory, clean; a directory stands for everything under it.
	Outputs []string          `json:"outputs"`
	Env     map[string]string `json:"env"`
	// Fetch marks a step that fetches dependencies; only a fetch step may
	// have Network.
	Fetch   bool  `json:"fetch"`
	Network bool  `json:"network"`
	SAST    *SAST `json:"sast,omitempty"`
	// Timeout is 0 for the builder's default.
	Timeout time.Duration `json:"-"`
	Limits  Limits        `json:"limits"`
}

// Input is one input of a step: exactly one of its fields is set.
type Input struct {
	Source bool   `json:"source,omitempty"` // the source tree
	Step   string `json:"step,omitempty"`   // the outputs of this step
	Cache  Cache  `json:"cache,omitempty"`  // a dependency cache
}

func (in Input) String() string {
	switch {
	case in.Source:
		return "source"
	case in.Step != "":
		return "step " + in.Step
	}
	return "cache " + string(in.Cache)
}

// SAST marks a step that runs a static analyser.
type SAST struct {
	// SARIF is the path of the SARIF 2.1.0 file the step writes, at or
	// under one of its outputs.
	SARIF string `json:"sarif"`
}

// Limits are a step's resource limits; 0 is the builder's default.
type Limits struct {
	Memory    int64 `json:"memory,omitempty"`    // bytes
	Processes int   `json:"processes,omitempty"` // at once
	MilliCPU  int   `json:"millicpu,omitempty"`  // thousandths of a CPU
}

// Error is a spec that cannot be used.
type Error struct {
	Line, Column int    // 1-based; 0 when not known
	Path         string // key path such as "steps.build.outputs[0]", "" for the whole file
	Err          error
}

// Error is the text of the yamlnode.Error it holds the fields of, after
// the package's name.
func (e *Error) Error() string {
	return "buildspec: " + (&yamlnode.Error{Line: e.Line, Column: e.Column, Path: e.Path, Err: e.Err}).Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrCycle is wrapped by the error about steps that read each other's
// outputs in a cycle.
var ErrCycle = errors.New("the steps form a cycle")

var (
	stepName    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`)
	specName    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$`)
	profileName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	envName     = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,127}$`)
	goVersion   = regexp.MustCompile(`^1\.(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})|(rc|beta)[1-9][0-9]?)?$`)
	sha256Hex   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	h1Sum       = regexp.MustCompile(`^h1:[A-Za-z0-9+/]{43}=$`)
)

// reservedEnv are the variables the sandbox sets itself.
var reservedEnv = []string{"SOURCE_DATE_EPOCH", "TZ", "PATH", "HOME", "LANG", "LC_ALL"}

// Shorthand is the one-step spec of `hallmark build -- CMD ...`: a step
// "build" running cmd as it is (no shell) with the Go toolchain of version
// goVersion, reading the source tree and the Go module cache, and writing
// the directory "out". Its result must still pass Validate (cmd may be
// empty or the version malformed).
func Shorthand(cmd []string, goVersion string) *Spec {
	return &Spec{
		Name:       "build",
		Toolchains: map[string]Toolchain{"go": {Go: goVersion}},
		Steps: []Step{{
			Name:      "build",
			Run:       slices.Clone(cmd),
			Toolchain: "go",
			Inputs:    []Input{{Source: true}, {Cache: GoModules}},
			Outputs:   []string{"out"},
		}},
	}
}

// errAt returns an *Error at key path p, with the position the file gave.
func (s *Spec) errAt(p, format string, args ...any) error {
	pos := s.pos[p]
	return &Error{Line: pos.line, Column: pos.column, Path: p, Err: fmt.Errorf(format, args...)}
}

func stepPath(i int, name string) string {
	if stepName.MatchString(name) {
		return "steps." + name
	}
	return "steps[" + strconv.Itoa(i) + "]"
}

// Validate checks everything a spec must satisfy before anything runs; see
// the package documentation. The first problem found is returned.
func (s *Spec) Validate() error {
	if !specName.MatchString(s.Name) {
		return s.errAt("name", "%q is not a build name ([A-Za-z0-9._-], at most 128, starting and ending with a letter or digit)", yamlnode.Clip(s.Name))
	}
	if s.Profile != "" && !profileName.MatchString(s.Profile) {
		return s.errAt("profile", "%q is not a profile name", yamlnode.Clip(s.Profile))
	}
	if len(s.Toolchains) > MaxToolchains {
		return s.errAt("toolchains", "%d toolchains, more than the limit of %d", len(s.Toolchains), MaxToolchains)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Toolchains)) {
		if err := s.checkToolchain(name, s.Toolchains[name]); err != nil {
			return err
		}
	}
	switch {
	case len(s.Steps) == 0:
		return s.errAt("steps", "no steps: a build needs at least one")
	case len(s.Steps) > MaxSteps:
		return s.errAt("steps", "%d steps, more than the limit of %d", len(s.Steps), MaxSteps)
	}
	index := make(map[string]int, len(s.Steps))
	for i, st := range s.Steps {
		if !stepName.MatchString(st.Name) {
			return s.errAt(stepPath(i, st.Name)+".name", "%q is not a step name ([a-z0-9-], at most 64, not starting or ending with -)", yamlnode.Clip(st.Name))
		}
		if j, ok := index[st.Name]; ok {
			return s.errAt(stepPath(i, st.Name)+".name", "step %q is given twice (steps[%d] and steps[%d])", st.Name, j, i)
		}
		index[st.Name] = i
	}
	var outs []output
	for i := range s.Steps {
		o, err := s.checkStep(&s.Steps[i], index)
		if err != nil {
			return err
		}
		outs = append(outs, o...)
		if len(outs) > MaxOutputs {
			return s.errAt(stepPath(i, s.Steps[i].Name)+".outputs", "more than %d outputs in all steps", MaxOutputs)
		}
	}
	if err := s.checkOverlap(outs); err != nil {
		return err
	}
	if _, err := s.order(index); err != nil {
		return err
	}
	return nil
}

func (s *Spec) checkToolchain(name string, tc Toolchain) error {
	p := "toolchains." + name
	if !stepName.MatchString(name) {
		p = "toolchains[" + strconv.Quote(yamlnode.Clip(name)) + "]"
		return s.errAt(p, "%q is not a toolchain name ([a-z0-9-], at most 64)", yamlnode.Clip(name))
	}
	switch {
	case tc.Go == "":
		return s.errAt(p, "go is missing: want a Go release such as 1.26.8")
	case !goVersion.MatchString(tc.Go):
		return s.errAt(p+".go", "%q is not a Go release such as 1.26.8", yamlnode.Clip(tc.Go))
	case tc.SHA256 != "" && tc.H1 != "":
		return s.errAt(p+".h1", "give sha256 or h1, not both")
	case tc.SHA256 != "" && !sha256Hex.MatchString(tc.SHA256):
		return s.errAt(p+".sha256", "%q is not 64 lowercase hex digits", yamlnode.Clip(tc.SHA256))
	case tc.H1 != "" && !h1Sum.MatchString(tc.H1):
		return s.errAt(p+".h1", "%q is not a dirhash (h1: and 44 characters of base64)", yamlnode.Clip(tc.H1))
	}
	return nil
}

// output is one declared output and where it was declared.
type output struct {
	path, at, step string
	seq            int // place in the file's order of outputs, set by checkOverlap
}

func (s *Spec) checkStep(st *Step, index map[string]int) ([]output, error) {
	sp := stepPath(index[st.Name], st.Name)
	switch {
	case len(st.Run) == 0:
		return nil, s.errAt(sp, "run is missing: want a command")
	case len(st.Run) > MaxArgs:
		return nil, s.errAt(sp+".run", "%d arguments, more than the limit of %d", len(st.Run), MaxArgs)
	case st.Run[0] == "":
		return nil, s.errAt(sp+".run", "the command is empty")
	}
	for i, a := range st.Run {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, s.errAt(fmt.Sprintf("%s.run[%d]", sp, i), "argument has a NUL byte")
		}
	}
	if st.Toolchain == "" {
		return nil, s.errAt(sp, "toolchain is missing: name one of toolchains (%s)", keyList(s.Toolchains))
	}
	if _, ok := s.Toolchains[st.Toolchain]; !ok {
		return nil, s.errAt(sp+".toolchain", "toolchain %q is not declared (toolchains: %s)", yamlnode.Clip(st.Toolchain), keyList(s.Toolchains))
	}
	if st.Network && !st.Fetch {
		return nil, s.errAt(sp+".network", "network is allowed only for a fetch step (fetch: true)")
	}
	if len(st.Inputs) > MaxInputs {
		return nil, s.errAt(sp+".inputs", "%d inputs, more than the limit of %d", len(st.Inputs), MaxInputs)
	}
	seen := make(map[Input]int, len(st.Inputs))
	for i, in := range st.Inputs {
		ip := fmt.Sprintf("%s.inputs[%d]", sp, i)
		n := 0
		for _, set := range []bool{in.Source, in.Step != "", in.Cache != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			return nil, s.errAt(ip, "an input is exactly one of source: true, step: NAME, cache: go-modules|npm")
		}
		switch {
		case in.Step != "":
			if _, ok := index[in.Step]; !ok {
				return nil, s.errAt(ip+".step", "step %q is not in the spec", yamlnode.Clip(in.Step))
			}
			if in.Step == st.Name {
				return nil, s.errAt(ip+".step", "a step cannot read its own outputs")
			}
		case in.Cache != "":
			if in.Cache != GoModules && in.Cache != NPM {
				return nil, s.errAt(ip+".cache", "%q is not go-modules or npm", yamlnode.Clip(string(in.Cache)))
			}
		}
		if j, ok := seen[in]; ok {
			return nil, s.errAt(ip, "input %s is given twice (inputs[%d] and inputs[%d])", in, j, i)
		}
		seen[in] = i
	}
	outs := make([]output, 0, len(st.Outputs))
	for i, o := range st.Outputs {
		op := fmt.Sprintf("%s.outputs[%d]", sp, i)
		if err := checkPath(o); err != nil {
			return nil, s.errAt(op, "%v", err)
		}
		outs = append(outs, output{path: o, at: op, step: st.Name})
	}
	if len(st.Env) > MaxEnv {
		return nil, s.errAt(sp+".env", "%d variables, more than the limit of %d", len(st.Env), MaxEnv)
	}
	for _, k := range slices.Sorted(maps.Keys(st.Env)) {
		ep := sp + ".env." + k
		if !envName.MatchString(k) {
			ep = sp + ".env[" + strconv.Quote(yamlnode.Clip(k)) + "]"
			return nil, s.errAt(ep, "%q is not a variable name ([A-Z_][A-Z0-9_]*)", yamlnode.Clip(k))
		}
		if slices.Contains(reservedEnv, k) {
			return nil, s.errAt(ep, "%s is set by the sandbox and cannot be overridden", k)
		}
		if strings.IndexByte(st.Env[k], 0) >= 0 {
			return nil, s.errAt(ep, "value has a NUL byte")
		}
	}
	if st.SAST != nil {
		fp := sp + ".sast.sarif"
		if err := checkPath(st.SAST.SARIF); err != nil {
			return nil, s.errAt(fp, "%v", err)
		}
		if !slices.ContainsFunc(st.Outputs, func(o string) bool { return within(st.SAST.SARIF, o) }) {
			return nil, s.errAt(fp, "%q is not among the step's outputs", st.SAST.SARIF)
		}
	}
	if st.Timeout < 0 || st.Timeout > MaxTimeout || st.Timeout%time.Second != 0 {
		return nil, s.errAt(sp+".timeout", "%v is not a whole number of seconds between 0 and %v", st.Timeout, MaxTimeout)
	}
	l := st.Limits
	switch {
	case l.Memory < 0 || l.Memory > MaxMemory:
		return nil, s.errAt(sp+".limits.memory", "%d bytes is not between 1 and %d", l.Memory, int64(MaxMemory))
	case l.Processes < 0 || l.Processes > MaxProcesses:
		return nil, s.errAt(sp+".limits.processes", "%d is not between 1 and %d", l.Processes, MaxProcesses)
	case l.MilliCPU < 0 || l.MilliCPU > MaxCPU*1000:
		return nil, s.errAt(sp+".limits.cpu", "%d thousandths of a CPU is not between 1 and %d CPUs", l.MilliCPU, MaxCPU)
	}
	return outs, nil
}

// checkPath checks an output path: relative, slash-separated, clean.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("the path is empty")
	case len(p) > 1024:
		return fmt.Errorf("path of %d bytes is over the limit of 1024", len(p))
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q is absolute: want a path relative to the output directory", yamlnode.Clip(p))
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("%q has a backslash or NUL byte: want a slash-separated path", yamlnode.Clip(p))
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("%q reaches outside the output directory", yamlnode.Clip(p))
	case p == ".":
		return errors.New(`"." is the whole output directory: name what the step writes`)
	case path.Clean(p) != p:
		return fmt.Errorf("%q is not clean: write %q", yamlnode.Clip(p), yamlnode.Clip(path.Clean(p)))
	}
	return nil
}

// within reports whether p is dir or under it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// checkOverlap refuses two outputs of which one is the other or under it:
// each output file must come from one step and be declared once. outs are
// in file order; the error names the later of the two.
func (s *Spec) checkOverlap(outs []output) error {
	sorted := slices.Clone(outs)
	for i := range sorted {
		sorted[i].seq = i
	}
	slices.SortStableFunc(sorted, func(a, b output) int { return strings.Compare(a.path, b.path) })
	// Sorted, a path's descendants follow it, possibly after siblings
	// such as "a-b" or "a.txt" that sort between "a" and "a/": compare
	// each path with the ones after it while they share its prefix.
	for i, a := range sorted {
		for _, b := range sorted[i+1:] {
			if !strings.HasPrefix(b.path, a.path) {
				break
			}
			if within(b.path, a.path) {
				first, second := a, b
				if second.seq < first.seq {
					first, second = second, first
				}
				return s.errAt(second.at, "%q overlaps output %q of step %q", second.path, first.path, first.step)
			}
		}
	}
	return nil
}

// Order returns the step names in the order they run: every step after
// the steps whose outputs it reads, otherwise in file order. It returns nil
// when the steps form a cycle or name unknown steps; Validate says why.
func (s *Spec) Order() []string {
	index := make(map[string]int, len(s.Steps))
	for i, st := range s.Steps {
		if _, ok := index[st.Name]; ok {
			return nil
		}
		index[st.Name] = i
	}
	o, err := s.order(index)
	if err != nil {
		return nil
	}
	return o
}

func (s *Spec) order(index map[string]int) ([]string, error) {
	n := len(s.Steps)
	deps := make([][]int, n)
	for i, st := range s.Steps {
		for _, in := range st.Inputs {
			if in.Step == "" {
				continue
			}
			j, ok := index[in.Step]
			if !ok {
				return nil, fmt.Errorf("step %q is not in the spec", in.Step)
			}
			deps[i] = append(deps[i], j)
		}
	}
	// Depth-first, in file order: a step is placed after everything it
	// reads, then the next step of the file not placed yet. Recursion is
	// bounded by MaxSteps deep.
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, n)
	var stack []int
	out := make([]string, 0, n)
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			k := slices.Index(stack, i)
			names := make([]string, 0, len(stack)-k+1)
			for _, j := range stack[k:] {
				names = append(names, s.Steps[j].Name)
			}
			names = append(names, s.Steps[i].Name)
			last := stack[len(stack)-1]
			at := fmt.Sprintf("%s.inputs[%d]", stepPath(last, s.Steps[last].Name), inputIndex(s.Steps[last], s.Steps[i].Name))
			return s.errAt(at, "%w: %s", ErrCycle, strings.Join(names, " -> "))
		}
		state[i] = visiting
		stack = append(stack, i)
		for _, j := range deps[i] {
			if err := visit(j); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		out = append(out, s.Steps[i].Name)
		return nil
	}
	for i := range s.Steps {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func inputIndex(st Step, name string) int {
	return slices.IndexFunc(st.Inputs, func(in Input) bool { return in.Step == name })
}

// canonical is the spec's canonical JSON: encoding/json of the Spec with
// map keys sorted, timeouts in whole seconds, nil lists and maps as empty.
func (s *Spec) canonical() []byte {
	type step struct {
		Step
		Timeout int64 `json:"timeout_seconds"`
	}
	c := struct {
		APIVersion string               `json:"apiVersion"`
		Name       string               `json:"name"`
		Profile    string               `json:"profile,omitempty"`
		Toolchains map[string]Toolchain `json:"toolchains"`
		Steps      []step               `json:"steps"`
	}{APIVersion, s.Name, s.Profile, s.Toolchains, make([]step, len(s.Steps))}
	if c.Toolchains == nil {
		c.Toolchains = map[string]Toolchain{}
	}
	for i, st := range s.Steps {
		if st.Run == nil {
			st.Run = []string{}
		}
		if st.Inputs == nil {
			st.Inputs = []Input{}
		}
		if st.Outputs == nil {
			st.Outputs = []string{}
		}
		if st.Env == nil {
			st.Env = map[string]string{}
		}
		c.Steps[i] = step{st, int64(st.Timeout / time.Second)}
	}
	b, err := json.Marshal(c)
	if err != nil {
		// Only strings, bools, numbers, lists and maps with string keys:
		// encoding/json cannot fail on them.
		panic("buildspec: canonical JSON: " + err.Error())
	}
	return b
}

// MarshalJSON writes the spec's canonical JSON, the form [Spec.Digest]
// hashes: apiVersion, name, profile when set, toolchains and steps, each
// step with every field, timeout as timeout_seconds.
func (s *Spec) MarshalJSON() ([]byte, error) {
	return s.canonical(), nil
}

// Digest returns "sha256:" and the lowercase hex SHA-256 of the spec's
// canonical JSON: two files that differ only in layout, comments, key order
// or the spelling of the same values have the same digest.
func (s *Spec) Digest() string {
	return digest.SHA256(sha256.Sum256(s.canonical())).String()
}

// ExternalParameters returns what goes into the externalParameters of the
// build's SLSA provenance: the spec's canonical JSON as a JSON object (keys
// apiVersion, name, profile when set, toolchains, steps, each step with all
// of its fields, its timeout as timeout_seconds and its limits with memory
// in bytes and millicpu in thousandths of a CPU), and under "specDigest" the map
// {"sha256": HEX} of [Spec.Digest]. Every field of the spec is there;
// nothing is left out. The builder adds the source (repository, ref,
// commit) itself, under keys this map does not use ("source").
func (s *Spec) ExternalParameters() map[string]any {
	b := s.canonical()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic("buildspec: canonical JSON does not read back: " + err.Error())
	}
	m["specDigest"] = map[string]any{"sha256": digest.SHA256(sha256.Sum256(b)).Hex()}
	return m
}

func keyList[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none declared"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
