package policy

import (
	"fmt"
	"reflect"
	"regexp"
	"sync"

	"github.com/hallmark-dev/hallmark/internal/yamlnode"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
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
	items, err := yamlnode.List(n, "rules", MaxRules)
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
		fs, err := yn.Fields(it, path, "name", "description", "expression", "action")
		if err != nil {
			return nil, err
		}
		var r Rule
		var exprNode *yaml.Node
		for _, f := range fs {
			p := join(path, f.Name)
			switch f.Name {
			case "name":
				if r.Name, err = yamlnode.String(f.Val, p); err != nil {
					return nil, err
				}
				if !ruleName.MatchString(r.Name) {
					return nil, errAt(f.Val, p, "rule name %q is not 1 to 64 letters, digits, '.', '_' or '-' starting with a letter or digit", yamlnode.Clip(r.Name))
				}
				if line, ok := seen[r.Name]; ok {
					return nil, errAt(f.Val, p, "rule name %q is used twice (first at line %d)", r.Name, line)
				}
				seen[r.Name] = f.Val.Line
			case "description":
				r.Description, err = yamlnode.String(f.Val, p)
			case "expression":
				r.Expression, err = yamlnode.String(f.Val, p)
				exprNode = f.Val
			case "action":
				r.Action, err = action(f.Val, p)
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
		r.prg, err = env.Program(ast, cel.CostLimit(MaxRuleCost), cel.EvalOptions(cel.OptOptimize))
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

// findingVal is the finding as rules see it: a CEL map with the keys kind,
// id, aliases, severity, score (-1 when no CVSS score is known), fixable,
// fixed, package {ecosystem, name, version, purl}, reachability and
// location {path, line, column}. Key lookups read the finding directly, so
// that judging a finding converts only the values a rule reads; the other
// map operations (iteration, equality, conversion) work on a map built
// when first needed.
type findingVal struct {
	f    *scan.Finding
	full traits.Mapper
}

const findingKeys = 10

var _ traits.Mapper = (*findingVal)(nil)

func (v *findingVal) materialize() traits.Mapper {
	if v.full == nil {
		f := v.f
		v.full = types.DefaultTypeAdapter.NativeToValue(map[string]any{
			"kind":         string(f.Kind),
			"id":           f.ID,
			"aliases":      aliasesOf(f),
			"severity":     string(f.Severity),
			"score":        f.Score(),
			"fixable":      f.Fixable(),
			"fixed":        f.Fixed,
			"package":      packageOf(f),
			"reachability": f.Reachability,
			"location":     locationOf(f),
		}).(traits.Mapper)
	}
	return v.full
}

func aliasesOf(f *scan.Finding) []string {
	if f.Aliases == nil {
		return []string{}
	}
	return f.Aliases
}

func packageOf(f *scan.Finding) map[string]any {
	return map[string]any{"ecosystem": f.Package.Ecosystem, "name": f.Package.Name, "version": f.Package.Version, "purl": f.Package.PURL}
}

func locationOf(f *scan.Finding) map[string]any {
	return map[string]any{"path": f.Location.Path, "line": int64(f.Location.Line), "column": int64(f.Location.Column)}
}

// Find implements traits.Mapper.
func (v *findingVal) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	f := v.f
	switch k {
	case "kind":
		return types.String(f.Kind), true
	case "id":
		return types.String(f.ID), true
	case "aliases":
		return types.DefaultTypeAdapter.NativeToValue(aliasesOf(f)), true
	case "severity":
		return types.String(f.Severity), true
	case "score":
		return types.Double(f.Score()), true
	case "fixable":
		return types.Bool(f.Fixable()), true
	case "fixed":
		return types.String(f.Fixed), true
	case "package":
		return types.DefaultTypeAdapter.NativeToValue(packageOf(f)), true
	case "reachability":
		return types.String(f.Reachability), true
	case "location":
		return types.DefaultTypeAdapter.NativeToValue(locationOf(f)), true
	}
	return nil, false
}

// Get implements traits.Indexer.
func (v *findingVal) Get(key ref.Val) ref.Val {
	if val, ok := v.Find(key); ok {
		return val
	}
	return types.NewErr("no such key: %v", key)
}

// Contains implements traits.Container.
func (v *findingVal) Contains(key ref.Val) ref.Val {
	_, ok := v.Find(key)
	return types.Bool(ok)
}

func (v *findingVal) Size() ref.Val               { return types.Int(findingKeys) }
func (v *findingVal) Iterator() traits.Iterator   { return v.materialize().Iterator() }
func (v *findingVal) Equal(other ref.Val) ref.Val { return v.materialize().Equal(other) }
func (v *findingVal) Type() ref.Type              { return types.MapType }
func (v *findingVal) Value() any                  { return v.materialize().Value() }
func (v *findingVal) ConvertToNative(t reflect.Type) (any, error) {
	return v.materialize().ConvertToNative(t)
}

func (v *findingVal) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return v
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from '%s' to '%s'", types.MapType, t)
}
