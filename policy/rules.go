package policy

import (
	"fmt"
	"regexp"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
	"go.yaml.in/yaml/v3"

	"github.com/hallmark-dev/hallmark/scan"
)

// celEnv declares what rules see: finding and build, both maps from string
// keys to values of any type. It is shared by all policies: a cel.Env is
// safe for concurrent use.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("finding", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("build", cel.MapType(cel.StringType, cel.DynType)),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserRecursionLimit(64),
		cel.ParserExpressionSizeLimit(MaxExpression),
	)
})

var ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// rules reads and compiles the rules list.
func rules(n *yaml.Node) ([]Rule, error) {
	items, err := strList(n, "rules", MaxRules)
	if err != nil {
		return nil, err
	}
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("policy: CEL environment: %w", err)
	}
	rs := make([]Rule, 0, len(items))
	seen := map[string]int{}
	for i, it := range items {
		path := fmt.Sprintf("rules[%d]", i)
		fs, err := fields(it, path, "name", "description", "expression", "action")
		if err != nil {
			return nil, err
		}
		var r Rule
		var exprNode *yaml.Node
		for _, f := range fs {
			p := join(path, f.name)
			switch f.name {
			case "name":
				if r.Name, err = str(f.val, p); err != nil {
					return nil, err
				}
				if !ruleName.MatchString(r.Name) {
					return nil, errAt(f.val, p, "rule name %q is not 1 to 64 letters, digits, '.', '_' or '-' starting with a letter or digit", clip(r.Name))
				}
				if line, ok := seen[r.Name]; ok {
					return nil, errAt(f.val, p, "rule name %q is used twice (first at line %d)", r.Name, line)
				}
				seen[r.Name] = f.val.Line
			case "description":
				r.Description, err = str(f.val, p)
			case "expression":
				r.Expression, err = str(f.val, p)
				exprNode = f.val
			case "action":
				r.Action, err = action(f.val, p)
			}
			if err != nil {
				return nil, err
			}
		}
		switch {
		case r.Name == "":
			return nil, errAt(it, path, "name is missing")
		case exprNode == nil:
			return nil, errAt(it, path, "rule %q: expression is missing", r.Name)
		case r.Action == "":
			return nil, errAt(it, path, "rule %q: action is missing (fail or warn)", r.Name)
		}
		p := join(path, "expression")
		if len(r.Expression) > MaxExpression {
			return nil, errAt(exprNode, p, "rule %q: expression of %d bytes is over the limit of %d", r.Name, len(r.Expression), MaxExpression)
		}
		ast, iss := env.Compile(r.Expression)
		if iss != nil && iss.Err() != nil {
			errs := iss.Errors()
			if len(errs) == 0 {
				return nil, errAt(exprNode, p, "rule %q: %v", r.Name, iss.Err())
			}
			e := errs[0]
			more := ""
			if len(errs) > 1 {
				more = fmt.Sprintf(" (and %d more errors)", len(errs)-1)
			}
			return nil, errAt(exprNode, p, "rule %q: %d:%d: %s%s", r.Name, e.Location.Line(), e.Location.Column()+1, e.Message, more)
		}
		switch k := ast.OutputType().Kind(); k {
		case types.BoolKind, types.DynKind:
		default:
			return nil, errAt(exprNode, p, "rule %q: the expression gives %s, not a bool", r.Name, ast.OutputType())
		}
		r.prg, err = env.Program(ast, cel.CostLimit(MaxRuleCost))
		if err != nil {
			return nil, errAt(exprNode, p, "rule %q: %v", r.Name, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// activation is what one rule evaluation sees: the finding and the build.
type activation struct {
	finding any
	build   ref.Val
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "finding":
		return a.finding, true
	case "build":
		return a.build, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// match evaluates r for the activation: true, false, or an error when the
// rule fails at run time (a missing key, a value of the wrong type, the cost
// limit) or gives something other than a bool.
func (r *Rule) match(act *activation) (bool, error) {
	out, _, err := r.prg.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("gave %s, not a bool", out.Type().TypeName())
	}
	return b, nil
}

// findingMaps hold the finding as rules see it. Keys: kind, id, aliases,
// severity, score (-1 when no CVSS score is known), fixable, fixed, package
// {ecosystem, name, version, purl}, reachability, location {path, line,
// column}. One evaluation fills the same maps for each finding in turn, so
// that judging a finding allocates no map.
type findingMaps struct {
	finding, pkg, loc map[string]any
}

func newFindingMaps() *findingMaps {
	m := &findingMaps{
		finding: make(map[string]any, 11),
		pkg:     make(map[string]any, 4),
		loc:     make(map[string]any, 3),
	}
	m.finding["package"] = m.pkg
	m.finding["location"] = m.loc
	return m
}

var noAliases = []string{}

// fill sets the maps to f's values.
func (m *findingMaps) fill(f *scan.Finding) map[string]any {
	aliases := f.Aliases
	if aliases == nil {
		aliases = noAliases
	}
	m.finding["kind"] = string(f.Kind)
	m.finding["id"] = f.ID
	m.finding["aliases"] = aliases
	m.finding["severity"] = string(f.Severity)
	m.finding["score"] = f.Score()
	m.finding["fixable"] = f.Fixable()
	m.finding["fixed"] = f.Fixed
	m.finding["reachability"] = f.Reachability
	m.pkg["ecosystem"] = f.Package.Ecosystem
	m.pkg["name"] = f.Package.Name
	m.pkg["version"] = f.Package.Version
	m.pkg["purl"] = f.Package.PURL
	m.loc["path"] = f.Location.Path
	m.loc["line"] = int64(f.Location.Line)
	m.loc["column"] = int64(f.Location.Column)
	return m.finding
}
