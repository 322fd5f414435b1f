package buildspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Parse reads a hallmark.yaml file and validates it. Errors are *[Error]
// values naming the line, column and key path of what is wrong.
func Parse(data []byte) (*Spec, error) {
	if len(data) > MaxSize {
		return nil, &Error{Err: fmt.Errorf("file is %d bytes, more than the limit of %d", len(data), MaxSize)}
	}
	if !utf8.Valid(data) {
		return nil, &Error{Err: errors.New("file is not valid UTF-8")}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &Error{Err: errors.New("file is empty")}
		}
		return nil, &Error{Err: err}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		return nil, &Error{Err: err}
	default:
		return nil, &Error{Line: extra.Line, Column: extra.Column, Err: errors.New("a second YAML document: the file must hold one")}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Err: errors.New("file is not one YAML document")}
	}
	s := &Spec{pos: map[string]position{}}
	if err := s.parse(doc.Content[0]); err != nil {
		return nil, err
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

// field is one key of a mapping and its value.
type field struct {
	name     string
	key, val *yaml.Node
}

// entries returns the keys of mapping n in order, refusing aliases,
// non-string keys and keys given twice.
func entries(n *yaml.Node, path string) ([]field, error) {
	if err := noAlias(n, path); err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, path, "want a mapping, have %s", describe(n))
	}
	fs := make([]field, 0, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if err := noAlias(k, path); err != nil {
			return nil, err
		}
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			return nil, errAt(k, path, "a key must be a string, have %s", describe(k))
		}
		if line, ok := seen[k.Value]; ok {
			return nil, errAt(k, path, "key %q is given twice (first at line %d)", clip(k.Value), line)
		}
		seen[k.Value] = k.Line
		fs = append(fs, field{k.Value, k, v})
	}
	return fs, nil
}

// fields is entries for a mapping of fixed keys: any other key is an error.
func fields(n *yaml.Node, path string, known ...string) ([]field, error) {
	fs, err := entries(n, path)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if !slices.Contains(known, f.name) {
			return nil, errAt(f.key, path, "unknown key %q (known: %s)", clip(f.name), strings.Join(known, ", "))
		}
	}
	return fs, nil
}

func noAlias(n *yaml.Node, path string) error {
	if n.Kind == yaml.AliasNode {
		return errAt(n, path, "YAML aliases are not allowed")
	}
	return nil
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("string %q", clip(n.Value))
		}
		return fmt.Sprintf("%s %s", strings.TrimPrefix(n.Tag, "!!"), clip(n.Value))
	}
	return "nothing"
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		i := 64
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "..."
	}
	return s
}

func str(n *yaml.Node, path string) (string, error) {
	if err := noAlias(n, path); err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", errAt(n, path, "want a string, have %s", describe(n))
	}
	return n.Value, nil
}

// scalar reads a string, or a number or boolean as written (an env value
// such as 0, a Go version such as 1.26 that YAML reads as a float).
func scalar(n *yaml.Node, path string) (string, error) {
	if err := noAlias(n, path); err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!bool") {
		return "", errAt(n, path, "want a string, have %s", describe(n))
	}
	return n.Value, nil
}

func boolean(n *yaml.Node, path string) (bool, error) {
	if err := noAlias(n, path); err != nil {
		return false, err
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, errAt(n, path, "want true or false, have %s", describe(n))
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, errAt(n, path, "%v", err)
	}
	return b, nil
}

func list(n *yaml.Node, path string, limit int) ([]*yaml.Node, error) {
	if err := noAlias(n, path); err != nil {
		return nil, err
	}
	if n.Kind != yaml.SequenceNode {
		return nil, errAt(n, path, "want a sequence, have %s", describe(n))
	}
	if len(n.Content) > limit {
		return nil, errAt(n, path, "%d entries, more than the limit of %d", len(n.Content), limit)
	}
	return n.Content, nil
}

func (s *Spec) parse(root *yaml.Node) error {
	fs, err := fields(root, "", "apiVersion", "kind", "name", "profile", "toolchains", "steps")
	if err != nil {
		return err
	}
	var sawAPI, sawKind, sawName, sawSteps bool
	for _, f := range fs {
		s.at(f.name, f.val)
		switch f.name {
		case "apiVersion":
			v, err := str(f.val, f.name)
			if err != nil {
				return err
			}
			if v != APIVersion {
				return errAt(f.val, f.name, "%q is not %s", clip(v), APIVersion)
			}
			sawAPI = true
		case "kind":
			v, err := str(f.val, f.name)
			if err != nil {
				return err
			}
			if v != Kind {
				return errAt(f.val, f.name, "%q is not %s", clip(v), Kind)
			}
			sawKind = true
		case "name":
			if s.Name, err = str(f.val, f.name); err != nil {
				return err
			}
			sawName = true
		case "profile":
			if s.Profile, err = str(f.val, f.name); err != nil {
				return err
			}
		case "toolchains":
			if err := s.toolchains(f.val); err != nil {
				return err
			}
		case "steps":
			if err := s.steps(f.val); err != nil {
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
	fs, err := entries(n, "toolchains")
	if err != nil {
		return err
	}
	if len(fs) > MaxToolchains {
		return errAt(n, "toolchains", "%d toolchains, more than the limit of %d", len(fs), MaxToolchains)
	}
	s.Toolchains = make(map[string]Toolchain, len(fs))
	for _, f := range fs {
		p := "toolchains." + f.name
		if !stepName.MatchString(f.name) {
			p = "toolchains[" + strconv.Quote(clip(f.name)) + "]"
		}
		s.at(p, f.key)
		tfs, err := fields(f.val, p, "go", "sha256", "h1")
		if err != nil {
			return err
		}
		var tc Toolchain
		for _, tf := range tfs {
			fp := p + "." + tf.name
			s.at(fp, tf.val)
			var v string
			if tf.name == "go" {
				v, err = scalar(tf.val, fp)
			} else {
				v, err = str(tf.val, fp)
			}
			if err != nil {
				return err
			}
			switch tf.name {
			case "go":
				tc.Go = v
			case "sha256":
				tc.SHA256 = v
			case "h1":
				tc.H1 = v
			}
		}
		s.Toolchains[f.name] = tc
	}
	return nil
}

func (s *Spec) steps(n *yaml.Node) error {
	items, err := list(n, "steps", MaxSteps)
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
	fs, err := fields(n, sp, "name", "run", "toolchain", "inputs", "outputs", "env", "fetch", "network", "sast", "timeout", "limits")
	if err != nil {
		return err
	}
	// The name first, so that every other key's path can carry it.
	for _, f := range fs {
		if f.name == "name" {
			if st.Name, err = str(f.val, sp+".name"); err != nil {
				return err
			}
			sp = stepPath(i, st.Name)
			s.at(sp+".name", f.val)
		}
	}
	s.at(sp, n)
	for _, f := range fs {
		p := sp + "." + f.name
		s.at(p, f.val)
		switch f.name {
		case "run":
			err = s.run(st, f.val, p)
		case "toolchain":
			st.Toolchain, err = str(f.val, p)
		case "inputs":
			err = s.inputs(st, f.val, p)
		case "outputs":
			var items []*yaml.Node
			if items, err = list(f.val, p, MaxOutputs); err != nil {
				return err
			}
			st.Outputs = make([]string, len(items))
			for j, it := range items {
				op := fmt.Sprintf("%s[%d]", p, j)
				s.at(op, it)
				if st.Outputs[j], err = str(it, op); err != nil {
					return err
				}
			}
		case "env":
			err = s.env(st, f.val, p)
		case "fetch":
			st.Fetch, err = boolean(f.val, p)
		case "network":
			st.Network, err = boolean(f.val, p)
		case "sast":
			var sfs []field
			if sfs, err = fields(f.val, p, "sarif"); err != nil {
				return err
			}
			st.SAST = &SAST{}
			for _, sf := range sfs {
				s.at(p+".sarif", sf.val)
				if st.SAST.SARIF, err = str(sf.val, p+".sarif"); err != nil {
					return err
				}
			}
			if len(sfs) == 0 {
				return errAt(f.val, p, "sarif is missing: want the path of the SARIF file the step writes")
			}
		case "timeout":
			st.Timeout, err = duration(f.val, p)
		case "limits":
			err = s.limits(st, f.val, p)
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
	items, err := list(n, p, MaxArgs)
	if err != nil {
		return errAt(n, p, "want a command: a list of arguments or a shell script string, have %s", describe(n))
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
	items, err := list(n, p, MaxInputs)
	if err != nil {
		return err
	}
	st.Inputs = make([]Input, len(items))
	for j, it := range items {
		ip := fmt.Sprintf("%s[%d]", p, j)
		s.at(ip, it)
		fs, err := fields(it, ip, "source", "step", "cache")
		if err != nil {
			return err
		}
		if len(fs) != 1 {
			return errAt(it, ip, "an input is exactly one of source: true, step: NAME, cache: go-modules|npm")
		}
		f := fs[0]
		fp := ip + "." + f.name
		s.at(fp, f.val)
		in := &st.Inputs[j]
		switch f.name {
		case "source":
			b, err := boolean(f.val, fp)
			if err != nil {
				return err
			}
			if !b {
				return errAt(f.val, fp, "source: false declares nothing: leave the input out")
			}
			in.Source = true
		case "step":
			if in.Step, err = str(f.val, fp); err != nil {
				return err
			}
			if in.Step == "" {
				return errAt(f.val, fp, "the step name is empty")
			}
		case "cache":
			c, err := str(f.val, fp)
			if err != nil {
				return err
			}
			if c == "" {
				return errAt(f.val, fp, "the cache name is empty: want go-modules or npm")
			}
			in.Cache = Cache(c)
		}
	}
	return nil
}

func (s *Spec) env(st *Step, n *yaml.Node, p string) error {
	fs, err := entries(n, p)
	if err != nil {
		return err
	}
	if len(fs) > MaxEnv {
		return errAt(n, p, "%d variables, more than the limit of %d", len(fs), MaxEnv)
	}
	st.Env = make(map[string]string, len(fs))
	for _, f := range fs {
		ep := p + "." + f.name
		if !envName.MatchString(f.name) {
			ep = p + "[" + strconv.Quote(clip(f.name)) + "]"
		}
		s.at(ep, f.key)
		v, err := scalar(f.val, ep)
		if err != nil {
			return err
		}
		st.Env[f.name] = v
	}
	return nil
}

// duration reads a Go duration ("10m", "1h30m").
func duration(n *yaml.Node, p string) (time.Duration, error) {
	v, err := str(n, p)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > MaxTimeout {
		return 0, errAt(n, p, "%q is not a Go duration between 1s and %v (such as 10m)", clip(v), MaxTimeout)
	}
	if d%time.Second != 0 {
		return 0, errAt(n, p, "%q is not a whole number of seconds", clip(v))
	}
	return d, nil
}

func (s *Spec) limits(st *Step, n *yaml.Node, p string) error {
	fs, err := fields(n, p, "memory", "processes", "cpu")
	if err != nil {
		return err
	}
	for _, f := range fs {
		fp := p + "." + f.name
		s.at(fp, f.val)
		if err := noAlias(f.val, fp); err != nil {
			return err
		}
		switch f.name {
		case "memory":
			if st.Limits.Memory, err = memory(f.val, fp); err != nil {
				return err
			}
		case "processes":
			if f.val.Kind != yaml.ScalarNode || f.val.Tag != "!!int" {
				return errAt(f.val, fp, "want a whole number, have %s", describe(f.val))
			}
			v, err := strconv.ParseInt(f.val.Value, 10, 64)
			if err != nil || v < 1 || v > MaxProcesses {
				return errAt(f.val, fp, "%s is not between 1 and %d", clip(f.val.Value), MaxProcesses)
			}
			st.Limits.Processes = int(v)
		case "cpu":
			if f.val.Kind != yaml.ScalarNode || (f.val.Tag != "!!int" && f.val.Tag != "!!float") {
				return errAt(f.val, fp, "want a number of CPUs, have %s", describe(f.val))
			}
			v, err := strconv.ParseFloat(f.val.Value, 64)
			m := math.Round(v * 1000)
			if err != nil || math.IsNaN(v) || m < 1 || m > MaxCPU*1000 || m != v*1000 && math.Abs(m-v*1000) > 1e-6 {
				return errAt(f.val, fp, "%s is not a number of CPUs between 0.001 and %d, in thousandths", clip(f.val.Value), MaxCPU)
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
		return 0, errAt(n, p, "%s is not an amount of memory between 1 byte and 1Ti (such as 512Mi, 2Gi, or a number of bytes)", clip(n.Value))
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!str") {
		return 0, errAt(n, p, "want an amount of memory such as 2Gi, have %s", describe(n))
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
