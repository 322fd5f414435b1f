package policy

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/hallmark-dev/hallmark/internal/yamlnode"

	"github.com/hallmark-dev/hallmark/license"
	"github.com/hallmark-dev/hallmark/scan"
)

// Parse reads a policy file. Errors are *ParseError values naming the line,
// column and key path of what is wrong.
func Parse(data []byte) (*Policy, error) {
	root, err := yamlnode.Document(data, MaxSize)
	if err != nil {
		return nil, asError(err)
	}
	var ps parser
	p, err := ps.policy(root)
	if err != nil {
		return nil, asError(err)
	}
	return p, nil
}

// parser turns the YAML node tree into a Policy.
type parser struct {
	raw      map[string]*rawProfile
	order    []string // profile names in file order
	resolved map[string]*Profile
	visiting map[string]bool
}

func errAt(n *yaml.Node, path, format string, args ...any) error {
	return &ParseError{Line: n.Line, Column: n.Column, Path: path, Err: fmt.Errorf(format, args...)}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// nameKey is how a user-chosen name appears in a key path.
func nameKey(path, name string) string {
	if plainName.MatchString(name) {
		return join(path, name)
	}
	return path + "[" + strconv.Quote(name) + "]"
}

var plainName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// name reads a user-chosen name (a profile, a project): a non-empty scalar
// of printable characters, at most maxName bytes.
func name(n *yaml.Node, path, what string) (string, error) {
	if err := yamlnode.NoAlias(n, path); err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", errAt(n, path, "want a %s name, have %s", what, yamlnode.Describe(n))
	}
	if err := checkName(n.Value, what); err != nil {
		return "", errAt(n, path, "%v", err)
	}
	return n.Value, nil
}

func checkName(s, what string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s name is empty", what)
	case len(s) > maxName:
		return fmt.Errorf("%s name of %d bytes is over the limit of %d", what, len(s), maxName)
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("%s name %q has characters that are not printable", what, s)
	}
	return nil
}

func mode(n *yaml.Node, path string) (Mode, error) {
	s, err := yamlnode.String(n, path)
	if err != nil {
		return "", err
	}
	switch m := Mode(s); m {
	case ModeFail, ModeWarn, ModeIgnore:
		return m, nil
	}
	return "", errAt(n, path, "%q is not fail, warn or ignore", yamlnode.Clip(s))
}

func action(n *yaml.Node, path string) (Action, error) {
	s, err := yamlnode.String(n, path)
	if err != nil {
		return "", err
	}
	switch a := Action(s); a {
	case Fail, Warn:
		return a, nil
	}
	return "", errAt(n, path, "%q is not fail or warn", yamlnode.Clip(s))
}

// threshold reads a severity, "never", or when scores is set a CVSS score.
func threshold(n *yaml.Node, path string, scores bool) (Threshold, error) {
	if err := yamlnode.NoAlias(n, path); err != nil {
		return Threshold{}, err
	}
	want := "critical, high, medium, low or never"
	if scores {
		want += ", or a CVSS score in (0, 10]"
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		if !scores {
			return Threshold{}, errAt(n, path, "a score threshold applies to vulnerabilities only: want %s", want)
		}
		v, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsNaN(v) || v <= 0 || v > 10 {
			return Threshold{}, errAt(n, path, "score %s is not in (0, 10]", yamlnode.Clip(n.Value))
		}
		return Threshold{Score: v}, nil
	}
	s, err := yamlnode.String(n, path)
	if err != nil {
		return Threshold{}, errAt(n, path, "want %s, have %s", want, yamlnode.Describe(n))
	}
	switch sev := scan.Severity(s); sev {
	case scan.Critical, scan.High, scan.Medium, scan.Low:
		return Threshold{Severity: sev}, nil
	case "never":
		return Threshold{}, nil
	}
	return Threshold{}, errAt(n, path, "%q is not %s", yamlnode.Clip(s), want)
}

// duration reads a Go duration ("720h") or a number of days ("90d").
func duration(n *yaml.Node, path string) (time.Duration, error) {
	s, err := yamlnode.String(n, path)
	if err != nil {
		return 0, err
	}
	d, err := parseDuration(s)
	if err != nil {
		return 0, errAt(n, path, "%v", err)
	}
	return d, nil
}

func parseDuration(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && strings.Trim(days, "0123456789") == "" {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > int64(maxExpiryCeiling/day) {
			return 0, fmt.Errorf("duration %q is over the limit of %dd", yamlnode.Clip(s), maxExpiryCeiling/day)
		}
		d = time.Duration(n) * day
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("duration %q is neither a number of days (\"90d\") nor a Go duration (\"720h\")", yamlnode.Clip(s))
		}
	}
	switch {
	case d <= 0:
		return 0, fmt.Errorf("duration %q is not positive", yamlnode.Clip(s))
	case d > maxExpiryCeiling:
		return 0, fmt.Errorf("duration %q is over the limit of %dd", yamlnode.Clip(s), maxExpiryCeiling/day)
	}
	return d, nil
}

// licenseID reads an allow or deny entry: one SPDX licence identifier,
// optionally WITH an exception, or UNLICENSED, normalized to the SPDX
// License List's spelling.
func licenseID(n *yaml.Node, path string) (string, error) {
	s, err := yamlnode.String(n, path)
	if err != nil {
		return "", err
	}
	norm, err := license.Expression(s)
	if errors.Is(err, license.ErrUnlicensed) {
		return unlicensed, nil
	}
	if err != nil {
		return "", errAt(n, path, "%v", err)
	}
	if strings.Contains(norm, " AND ") || strings.Contains(norm, " OR ") {
		return "", errAt(n, path, "%q is an expression: list licence identifiers one by one", yamlnode.Clip(s))
	}
	return norm, nil
}

// unlicensed is how lists and licence expressions name npm's UNLICENSED.
const unlicensed = "UNLICENSED"

// rawThresholds holds the keys a file sets for one finding kind.
type rawThresholds struct {
	failOn, warnOn *Threshold
	unscored       *Mode
	fixableOnly    *bool
}

func (t *rawThresholds) apply(to *Thresholds) {
	if t.failOn != nil {
		to.FailOn = *t.failOn
	}
	if t.warnOn != nil {
		to.WarnOn = *t.warnOn
	}
	if t.unscored != nil {
		to.Unscored = *t.unscored
	}
}

// rawProfile holds the keys a file sets for one profile.
type rawProfile struct {
	name        string
	node        *yaml.Node
	path        string
	extends     string
	extendsNode *yaml.Node

	vulns, hardening, sast rawThresholds
	allow, deny            []string // nil when the file does not set the list
	unknown                *Mode
	licAction              *Action
	maxExpiry              *time.Duration
	approvals              *int
}

func (ps *parser) policy(root *yaml.Node) (*Policy, error) {
	fs, err := yn.Fields(root, "", "apiVersion", "kind", "default_profile", "profiles", "rules", "projects")
	if err != nil {
		return nil, err
	}
	pol := &Policy{projects: map[string]string{}}
	var sawAPI, sawKind bool
	var defNode, projNode *yaml.Node
	for _, f := range fs {
		switch f.Name {
		case "apiVersion":
			s, err := yamlnode.String(f.Val, f.Name)
			if err != nil {
				return nil, err
			}
			if s != APIVersion {
				return nil, errAt(f.Val, f.Name, "%q is not %s", yamlnode.Clip(s), APIVersion)
			}
			sawAPI = true
		case "kind":
			s, err := yamlnode.String(f.Val, f.Name)
			if err != nil {
				return nil, err
			}
			if s != Kind {
				return nil, errAt(f.Val, f.Name, "%q is not %s", yamlnode.Clip(s), Kind)
			}
			sawKind = true
		case "default_profile":
			if pol.defaultProfile, err = name(f.Val, f.Name, "profile"); err != nil {
				return nil, err
			}
			defNode = f.Val
		case "profiles":
			if err := ps.profiles(f.Val); err != nil {
				return nil, err
			}
		case "rules":
			if pol.rules, err = rules(f.Val); err != nil {
				return nil, err
			}
		case "projects":
			projNode = f.Val
		}
	}
	if !sawAPI {
		return nil, errAt(root, "", "apiVersion is missing: want %s", APIVersion)
	}
	if !sawKind {
		return nil, errAt(root, "", "kind is missing: want %s", Kind)
	}
	if pol.profiles, err = ps.resolveAll(); err != nil {
		return nil, err
	}
	if defNode != nil {
		if _, ok := pol.profiles[pol.defaultProfile]; !ok {
			return nil, errAt(defNode, "default_profile", "%w %q (profiles: %s)", ErrUnknownProfile, pol.defaultProfile, profileNames(pol.profiles))
		}
	}
	if projNode != nil {
		fs, err := yn.Entries(projNode, "projects")
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			proj, err := name(f.Key, "projects", "project")
			if err != nil {
				return nil, err
			}
			path := nameKey("projects", proj)
			prof, err := name(f.Val, path, "profile")
			if err != nil {
				return nil, err
			}
			if _, ok := pol.profiles[prof]; !ok {
				return nil, errAt(f.Val, path, "%w %q (profiles: %s)", ErrUnknownProfile, prof, profileNames(pol.profiles))
			}
			pol.projects[proj] = prof
		}
	}
	if err := pol.computeDigest(); err != nil {
		return nil, err
	}
	return pol, nil
}

func (ps *parser) profiles(n *yaml.Node) error {
	fs, err := yn.Entries(n, "profiles")
	if err != nil {
		return err
	}
	if len(fs) > MaxProfiles {
		return errAt(n, "profiles", "%d profiles, more than the limit of %d", len(fs), MaxProfiles)
	}
	ps.raw = make(map[string]*rawProfile, len(fs))
	for _, f := range fs {
		pn, err := name(f.Key, "profiles", "profile")
		if err != nil {
			return err
		}
		rp, err := profile(pn, f.Val, nameKey("profiles", pn))
		if err != nil {
			return err
		}
		ps.raw[pn] = rp
		ps.order = append(ps.order, pn)
	}
	return nil
}

func profile(pn string, n *yaml.Node, path string) (*rawProfile, error) {
	rp := &rawProfile{name: pn, node: n, path: path}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return rp, nil // "low:" alone keeps the built-in as it is
	}
	fs, err := yn.Fields(n, path, "extends", "description", "vulnerabilities", "hardening", "sast", "licenses", "exceptions")
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		p := join(path, f.Name)
		switch f.Name {
		case "extends":
			if rp.extends, err = name(f.Val, p, "profile"); err != nil {
				return nil, err
			}
			rp.extendsNode = f.Val
		case "description":
			if _, err := yamlnode.String(f.Val, p); err != nil {
				return nil, err
			}
		case "vulnerabilities":
			err = thresholds(f.Val, p, &rp.vulns, true)
		case "hardening":
			err = thresholds(f.Val, p, &rp.hardening, false)
		case "sast":
			err = thresholds(f.Val, p, &rp.sast, false)
		case "licenses":
			err = rp.licenses(f.Val, p)
		case "exceptions":
			err = rp.exceptions(f.Val, p)
		}
		if err != nil {
			return nil, err
		}
	}
	return rp, nil
}

func thresholds(n *yaml.Node, path string, t *rawThresholds, vulns bool) error {
	known := []string{"fail_on", "warn_on", "unscored"}
	if vulns {
		known = []string{"fail_on", "warn_on", "fixable_only", "unscored"}
	}
	fs, err := yn.Fields(n, path, known...)
	if err != nil {
		return err
	}
	for _, f := range fs {
		p := join(path, f.Name)
		switch f.Name {
		case "fail_on", "warn_on":
			th, err := threshold(f.Val, p, vulns)
			if err != nil {
				return err
			}
			if f.Name == "fail_on" {
				t.failOn = &th
			} else {
				t.warnOn = &th
			}
		case "fixable_only":
			b, err := yamlnode.Bool(f.Val, p)
			if err != nil {
				return err
			}
			t.fixableOnly = &b
		case "unscored":
			m, err := mode(f.Val, p)
			if err != nil {
				return err
			}
			t.unscored = &m
		}
	}
	return nil
}

func (rp *rawProfile) licenses(n *yaml.Node, path string) error {
	fs, err := yn.Fields(n, path, "allow", "deny", "unknown", "action")
	if err != nil {
		return err
	}
	for _, f := range fs {
		p := join(path, f.Name)
		switch f.Name {
		case "allow", "deny":
			items, err := yamlnode.List(f.Val, p, MaxListEntries)
			if err != nil {
				return err
			}
			ids := make([]string, 0, len(items))
			for i, it := range items {
				id, err := licenseID(it, fmt.Sprintf("%s[%d]", p, i))
				if err != nil {
					return err
				}
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			if f.Name == "allow" {
				rp.allow = ids
			} else {
				rp.deny = ids
			}
		case "unknown":
			m, err := mode(f.Val, p)
			if err != nil {
				return err
			}
			rp.unknown = &m
		case "action":
			a, err := action(f.Val, p)
			if err != nil {
				return err
			}
			rp.licAction = &a
		}
	}
	return nil
}

func (rp *rawProfile) exceptions(n *yaml.Node, path string) error {
	fs, err := yn.Fields(n, path, "max_expiry", "approvals_required")
	if err != nil {
		return err
	}
	for _, f := range fs {
		p := join(path, f.Name)
		switch f.Name {
		case "max_expiry":
			d, err := duration(f.Val, p)
			if err != nil {
				return err
			}
			rp.maxExpiry = &d
		case "approvals_required":
			i, err := yamlnode.Int(f.Val, p)
			if err != nil {
				return err
			}
			if i < 1 || i > maxApprovals {
				return errAt(f.Val, p, "%d is not between 1 and %d", i, maxApprovals)
			}
			rp.approvals = &i
		}
	}
	return nil
}

// resolveAll returns the built-in profiles with the file's applied, and
// the file's new profiles on top of what they extend.
func (ps *parser) resolveAll() (map[string]*Profile, error) {
	ps.resolved = make(map[string]*Profile, len(builtins)+len(ps.raw))
	ps.visiting = map[string]bool{}
	for n := range builtins {
		if _, ok := ps.raw[n]; !ok {
			p := builtins[n]
			ps.resolved[n] = p.clone()
		}
	}
	for _, n := range ps.order {
		if _, err := ps.resolve(n); err != nil {
			return nil, err
		}
	}
	for _, p := range ps.resolved {
		if p.Licenses.Allow == nil {
			p.Licenses.Allow = []string{}
		}
		if p.Licenses.Deny == nil {
			p.Licenses.Deny = []string{}
		}
		slices.Sort(p.Licenses.Allow)
		slices.Sort(p.Licenses.Deny)
		p.index()
	}
	return ps.resolved, nil
}

func (ps *parser) resolve(pn string) (*Profile, error) {
	if p, ok := ps.resolved[pn]; ok {
		return p, nil
	}
	rp := ps.raw[pn]
	if ps.visiting[pn] {
		return nil, errAt(rp.extendsNode, join(rp.path, "extends"), "profile %q extends itself through a cycle", pn)
	}
	ps.visiting[pn] = true
	var base *Profile
	switch _, builtin := builtins[pn]; {
	case rp.extends != "":
		_, inFile := ps.raw[rp.extends]
		_, isBuiltin := builtins[rp.extends]
		if !inFile && !isBuiltin {
			known := make(map[string]*Profile)
			for n := range builtins {
				known[n] = nil
			}
			for n := range ps.raw {
				known[n] = nil
			}
			return nil, errAt(rp.extendsNode, join(rp.path, "extends"), "%w %q (profiles: %s)", ErrUnknownProfile, rp.extends, profileNames(known))
		}
		// A built-in the file does not change is resolved already.
		b, err := ps.resolve(rp.extends)
		if err != nil {
			return nil, err
		}
		base = b.clone()
	case builtin:
		b := builtins[pn]
		base = b.clone()
	default:
		return nil, errAt(rp.node, rp.path, "profile %q is not built in: say which profile it extends (extends: critical, high, medium, low or another profile)", pn)
	}
	base.Name = pn
	rp.vulns.apply(&base.Vulnerabilities.Thresholds)
	if rp.vulns.fixableOnly != nil {
		base.Vulnerabilities.FixableOnly = *rp.vulns.fixableOnly
	}
	rp.hardening.apply(&base.Hardening)
	rp.sast.apply(&base.SAST)
	if rp.allow != nil {
		base.Licenses.Allow = slices.Clone(rp.allow)
	}
	if rp.deny != nil {
		base.Licenses.Deny = slices.Clone(rp.deny)
	}
	if rp.unknown != nil {
		base.Licenses.Unknown = *rp.unknown
	}
	if rp.licAction != nil {
		base.Licenses.Action = *rp.licAction
	}
	if rp.maxExpiry != nil {
		base.Exceptions.MaxExpiry = *rp.maxExpiry
	}
	if rp.approvals != nil {
		base.Exceptions.ApprovalsRequired = *rp.approvals
	}
	delete(ps.visiting, pn)
	ps.resolved[pn] = base
	return base, nil
}

// yn reads this format's mappings.
var yn = yamlnode.Reader{StringKeys: false}

// asError gives errors of the YAML reader this package's error type.
func asError(err error) error {
	var e *yamlnode.Error
	if errors.As(err, &e) {
		return &ParseError{Line: e.Line, Column: e.Column, Path: e.Path, Err: e.Err}
	}
	return err
}
