package buildspec

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hallmark-dev/hallmark/internal/yamlnode"
)

// Parse reads a hallmark.yaml file and validates it. Errors are *[Error]
// values naming the line, column and key path of what is wrong.
func Parse(data []byte) (*Spec, error) {
	root, err := yamlnode.Document(data, MaxSize)
	if err != nil {
		return nil, asError(err)
	}
	s := &Spec{pos: map[string]position{}}
	if err := s.parse(root); err != nil {
		return nil, asError(err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func errAt(n *yaml.Node, path, format string, args ...any) error {
	return &Error{Line: n.Line, Column: n.Column, Path: path, Err: fmt.Errorf(format, args...)}
}

// at records the position of key path p for Validate's errors.
func (s *Spec) at(p string, n *yaml.Node) {
	s.pos[p] = position{n.Line, n.Column}
}

// scalar reads a string, or a number or boolean as written (an env value
// such as 0, a Go version such as 1.26 that YAML reads as a float).
func scalar(n *yaml.Node, path string) (string, error) {
	if err := yamlnode.NoAlias(n, path); err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!bool") {
		return "", errAt(n, path, "want a string, have %s", yamlnode.Describe(n))
	}
	return n.Value, nil
}

func (s *Spec) parse(root *yaml.Node) error {
	fs, err := yn.Fields(root, "", "apiVersion", "kind", "name", "profile", "toolchains", "steps")
	if err != nil {
		return err
	}
	var sawAPI, sawKind, sawName, sawSteps bool
	for _, f := range fs {
		s.at(f.Name, f.Val)
		switch f.Name {
		case "apiVersion":
			v, err := yamlnode.String(f.Val, f.Name)
			if err != nil {
				return err
			}
			if v != APIVersion {
				return errAt(f.Val, f.Name, "%q is not %s", yamlnode.Clip(v), APIVersion)
			}
			sawAPI = true
		case "kind":
			v, err := yamlnode.String(f.Val, f.Name)
			if err != nil {
				return err
			}
			if v != Kind {
				return errAt(f.Val, f.Name, "%q is not %s", yamlnode.Clip(v), Kind)
			}
			sawKind = true
		case "name":
			if s.Name, err = yamlnode.String(f.Val, f.Name); err != nil {
				return err
			}
			sawName = true
		case "profile":
			if s.Profile, err = yamlnode.String(f.Val, f.Name); err != nil {
				return err
			}
		case "toolchains":
			if err := s.toolchains(f.Val); err != nil {
				return err
			}
		case "steps":
			if err := s.steps(f.Val); err != nil {
				return err
			}
			sawSteps = true
		}
	}
	for _, m := range []struct {
		ok   bool
		what string
	}{{sawAPI, "apiVersion is missing: want " + APIVersion}, {sawKind, "kind is missing: want " + Kind}, {sawName, "name is missing"}, {sawSteps, "steps is missing"}} {
		if !m.ok {
			return errAt(root, "", "%s", m.what)
		}
	}
	if s.Toolchains == nil {
		s.Toolchains = map[string]Toolchain{}
	}
	return nil
}

func (s *Spec) toolchains(n *yaml.Node) error {
	fs, err := yn.Entries(n, "toolchains")
	if err != nil {
		return err
	}
	if len(fs) > MaxToolchains {
		return errAt(n, "toolchains", "%d toolchains, more than the limit of %d", len(fs), MaxToolchains)
	}
	s.Toolchains = make(map[string]Toolchain, len(fs))
	for _, f := range fs {
		p := "toolchains." + f.Name
		if !stepName.MatchString(f.Name) {
			p = "toolchains[" + strconv.Quote(yamlnode.Clip(f.Name)) + "]"
		}
		s.at(p, f.Key)
		tfs, err := yn.Fields(f.Val, p, "go", "sha256", "h1")
		if err != nil {
			return err
		}
		var tc Toolchain
		for _, tf := range tfs {
			fp := p + "." + tf.Name
			s.at(fp, tf.Val)
			var v string
			if tf.Name == "go" {
				v, err = scalar(tf.Val, fp)
			} else {
				v, err = yamlnode.String(tf.Val, fp)
			}
			if err != nil {
				return err
			}
			switch tf.Name {
			case "go":
				tc.Go = v
			case "sha256":
				tc.SHA256 = v
			case "h1":
				tc.H1 = v
			}
		}
		s.Toolchains[f.Name] = tc
	}
	return nil
}

func (s *Spec) steps(n *yaml.Node) error {
	items, err := yamlnode.List(n, "steps", MaxSteps)
	if err != nil {
		return err
	}
	s.Steps = make([]Step, len(items))
	for i, it := range items {
		if err := s.step(i, it); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spec) step(i int, n *yaml.Node) error {
	st := &s.Steps[i]
	sp := "steps[" + strconv.Itoa(i) + "]"
	fs, err := yn.Fields(n, sp, "name", "run", "toolchain", "inputs", "outputs", "env", "fetch", "network", "sast", "timeout", "limits")
	if err != nil {
		return err
	}
	// The name first, so that every other key's path can carry it.
	for _, f := range fs {
		if f.Name == "name" {
			if st.Name, err = yamlnode.String(f.Val, sp+".name"); err != nil {
				return err
			}
			sp = stepPath(i, st.Name)
			s.at(sp+".name", f.Val)
		}
	}
	s.at(sp, n)
	for _, f := range fs {
		p := sp + "." + f.Name
		s.at(p, f.Val)
		switch f.Name {
		case "run":
			err = s.run(st, f.Val, p)
		case "toolchain":
			st.Toolchain, err = yamlnode.String(f.Val, p)
		case "inputs":
			err = s.inputs(st, f.Val, p)
		case "outputs":
			var items []*yaml.Node
			if items, err = yamlnode.List(f.Val, p, MaxOutputs); err != nil {
				return err
			}
			st.Outputs = make([]string, len(items))
			for j, it := range items {
				op := fmt.Sprintf("%s[%d]", p, j)
				s.at(op, it)
				if st.Outputs[j], err = yamlnode.String(it, op); err != nil {
					return err
				}
			}
		case "env":
			err = s.env(st, f.Val, p)
		case "fetch":
			st.Fetch, err = yamlnode.Bool(f.Val, p)
		case "network":
			st.Network, err = yamlnode.Bool(f.Val, p)
		case "sast":
			var sfs []yamlnode.Field
			if sfs, err = yn.Fields(f.Val, p, "sarif"); err != nil {
				return err
			}
			st.SAST = &SAST{}
			for _, sf := range sfs {
				s.at(p+".sarif", sf.Val)
				if st.SAST.SARIF, err = yamlnode.String(sf.Val, p+".sarif"); err != nil {
					return err
				}
			}
			if len(sfs) == 0 {
				return errAt(f.Val, p, "sarif is missing: want the path of the SARIF file the step writes")
			}
		case "timeout":
			st.Timeout, err = duration(f.Val, p)
		case "limits":
			err = s.limits(st, f.Val, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Spec) run(st *Step, n *yaml.Node, p string) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		st.Run = []string{"/bin/sh", "-c", n.Value}
		return nil
	}
	items, err := yamlnode.List(n, p, MaxArgs)
	if err != nil {
		return errAt(n, p, "want a command: a list of arguments or a shell script string, have %s", yamlnode.Describe(n))
	}
	st.Run = make([]string, len(items))
	for j, it := range items {
		ap := fmt.Sprintf("%s[%d]", p, j)
		s.at(ap, it)
		if st.Run[j], err = scalar(it, ap); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spec) inputs(st *Step, n *yaml.Node, p string) error {
	items, err := yamlnode.List(n, p, MaxInputs)
	if err != nil {
		return err
	}
	st.Inputs = make([]Input, len(items))
	for j, it := range items {
		ip := fmt.Sprintf("%s[%d]", p, j)
		s.at(ip, it)
		fs, err := yn.Fields(it, ip, "source", "step", "cache")
		if err != nil {
			return err
		}
		if len(fs) != 1 {
			return errAt(it, ip, "an input is exactly one of source: true, step: NAME, cache: go-modules|npm")
		}
		f := fs[0]
		fp := ip + "." + f.Name
		s.at(fp, f.Val)
		in := &st.Inputs[j]
		switch f.Name {
		case "source":
			b, err := yamlnode.Bool(f.Val, fp)
			if err != nil {
				return err
			}
			if !b {
				return errAt(f.Val, fp, "source: false declares nothing: leave the input out")
			}
			in.Source = true
		case "step":
			if in.Step, err = yamlnode.String(f.Val, fp); err != nil {
				return err
			}
			if in.Step == "" {
				return errAt(f.Val, fp, "the step name is empty")
			}
		case "cache":
			c, err := yamlnode.String(f.Val, fp)
			if err != nil {
				return err
			}
			if c == "" {
				return errAt(f.Val, fp, "the cache name is empty: want go-modules or npm")
			}
			in.Cache = Cache(c)
		}
	}
	return nil
}

func (s *Spec) env(st *Step, n *yaml.Node, p string) error {
	fs, err := yn.Entries(n, p)
	if err != nil {
		return err
	}
	if len(fs) > MaxEnv {
		return errAt(n, p, "%d variables, more than the limit of %d", len(fs), MaxEnv)
	}
	st.Env = make(map[string]string, len(fs))
	for _, f := range fs {
		ep := p + "." + f.Name
		if !envName.MatchString(f.Name) {
			ep = p + "[" + strconv.Quote(yamlnode.Clip(f.Name)) + "]"
		}
		s.at(ep, f.Key)
		v, err := scalar(f.Val, ep)
		if err != nil {
			return err
		}
		st.Env[f.Name] = v
	}
	return nil
}

// duration reads a Go duration ("10m", "1h30m").
func duration(n *yaml.Node, p string) (time.Duration, error) {
	v, err := yamlnode.String(n, p)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > MaxTimeout {
		return 0, errAt(n, p, "%q is not a Go duration between 1s and %v (such as 10m)", yamlnode.Clip(v), MaxTimeout)
	}
	if d%time.Second != 0 {
		return 0, errAt(n, p, "%q is not a whole number of seconds", yamlnode.Clip(v))
	}
	return d, nil
}

func (s *Spec) limits(st *Step, n *yaml.Node, p string) error {
	fs, err := yn.Fields(n, p, "memory", "processes", "cpu")
	if err != nil {
		return err
	}
	for _, f := range fs {
		fp := p + "." + f.Name
		s.at(fp, f.Val)
		if err := yamlnode.NoAlias(f.Val, fp); err != nil {
			return err
		}
		switch f.Name {
		case "memory":
			if st.Limits.Memory, err = memory(f.Val, fp); err != nil {
				return err
			}
		case "processes":
			if f.Val.Kind != yaml.ScalarNode || f.Val.Tag != "!!int" {
				return errAt(f.Val, fp, "want a whole number, have %s", yamlnode.Describe(f.Val))
			}
			v, err := strconv.ParseInt(f.Val.Value, 10, 64)
			if err != nil || v < 1 || v > MaxProcesses {
				return errAt(f.Val, fp, "%s is not between 1 and %d", yamlnode.Clip(f.Val.Value), MaxProcesses)
			}
			st.Limits.Processes = int(v)
		case "cpu":
			if f.Val.Kind != yaml.ScalarNode || (f.Val.Tag != "!!int" && f.Val.Tag != "!!float") {
				return errAt(f.Val, fp, "want a number of CPUs, have %s", yamlnode.Describe(f.Val))
			}
			v, err := strconv.ParseFloat(f.Val.Value, 64)
			m := math.Round(v * 1000)
			if err != nil || math.IsNaN(v) || m < 1 || m > MaxCPU*1000 || math.Abs(m-v*1000) > 1e-6 {
				return errAt(f.Val, fp, "%s is not a number of CPUs between 0.001 and %d, in thousandths", yamlnode.Clip(f.Val.Value), MaxCPU)
			}
			st.Limits.MilliCPU = int(m)
		}
	}
	return nil
}

// memory reads a number of bytes, or a number with a suffix Ki, Mi, Gi
// (powers of 1024) or K, M, G (powers of 1000).
func memory(n *yaml.Node, p string) (int64, error) {
	bad := func() (int64, error) {
		return 0, errAt(n, p, "%s is not an amount of memory between 1 byte and 1Ti (such as 512Mi, 2Gi, or a number of bytes)", yamlnode.Clip(n.Value))
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!str") {
		return 0, errAt(n, p, "want an amount of memory such as 2Gi, have %s", yamlnode.Describe(n))
	}
	v := n.Value
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}} {
		if rest, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = rest, u.mult
			break
		}
	}
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return bad()
	}
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil || x < 1 || x > MaxMemory/mult {
		return bad()
	}
	return x * mult, nil
}

// yn reads this format's mappings.
var yn = yamlnode.Reader{StringKeys: true}

// asError gives errors of the YAML reader this package's error type.
func asError(err error) error {
	var e *yamlnode.Error
	if errors.As(err, &e) {
		return &Error{Line: e.Line, Column: e.Column, Path: e.Path, Err: e.Err}
	}
	return err
}
