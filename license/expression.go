package license

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrUnlicensed is returned by Expression for "UNLICENSED", npm's way of
// saying that no licence is granted.
var ErrUnlicensed = errors.New("license: UNLICENSED: no licence is granted")

// MaxExpression is the length above which Expression refuses a string, and
// maxDepth the deepest nesting of parentheses it accepts.
const (
	MaxExpression = 4096
	maxDepth      = 32
)

//go:embed spdx_licenses.txt
var licLicenseList string

//go:embed spdx_exceptions.txt
var licExceptionList string

// licLists maps the lowercase form of every SPDX licence and exception
// identifier to its canonical spelling.
var licLists = sync.OnceValues(func() (licenses, exceptions map[string]string) {
	return licLoad(licLicenseList), licLoad(licExceptionList)
})

func licLoad(list string) map[string]string {
	m := make(map[string]string, 1024)
	for line := range strings.Lines(list) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		m[strings.ToLower(line)] = line
	}
	return m
}

// canonicalLicense returns the SPDX License List spelling of the licence
// identifier id, matched without case.
func canonicalLicense(id string) (string, bool) {
	licenses, _ := licLists()
	c, ok := licenses[strings.ToLower(id)]
	return c, ok
}

// Expression normalizes s, a declared licence, into an SPDX licence
// expression:
//
//	expression = and-expr *("OR" and-expr)
//	and-expr   = with-expr *("AND" with-expr)
//	with-expr  = simple ["WITH" exception]
//	simple     = license-id ["+"] | license-ref | "(" expression ")"
//	license-ref = ["DocumentRef-" idstring ":"] "LicenseRef-" idstring
//	exception  = exception-id | ["DocumentRef-" idstring ":"] "AdditionRef-" idstring
//
// where idstring is letters, digits, "." and "-". License and exception
// identifiers must be on the SPDX License List and are matched without case;
// the operators may be written in upper or in lower case. AND binds tighter
// than OR, as the specification says.
//
// The result spells identifiers as the list does, operators in upper case,
// one space around each operator and parentheses only where precedence needs
// them: "(mit or apache-2.0)" becomes "MIT OR Apache-2.0" and
// "(MIT AND BSD-3-Clause) OR ISC" becomes "MIT AND BSD-3-Clause OR ISC".
//
// "UNLICENSED" gives ErrUnlicensed. "SEE LICENSE IN <file>" (npm's pointer
// to a licence file), an unknown identifier, a misplaced operator or
// parenthesis, a string over MaxExpression bytes or nested over 32 deep give
// an error naming the string and the offending token.
func Expression(s string) (string, error) {
	if len(s) > MaxExpression {
		return "", fmt.Errorf("license: expression of %d bytes is over the limit of %d", len(s), MaxExpression)
	}
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "UNLICENSED") {
		return "", ErrUnlicensed
	}
	if len(t) >= len("SEE LICENSE IN") && strings.EqualFold(t[:len("SEE LICENSE IN")], "SEE LICENSE IN") {
		return "", fmt.Errorf("license: %q: the licence is in a file, not an SPDX expression", s)
	}
	toks, err := licTokenize(t)
	if err != nil {
		return "", fmt.Errorf("license: expression %q: %w", s, err)
	}
	if len(toks) == 0 {
		return "", fmt.Errorf("license: expression %q is empty", s)
	}
	p := &licParser{toks: toks}
	n, err := p.or(0)
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q at offset %d", p.toks[p.pos].text, p.toks[p.pos].off)
	}
	if err != nil {
		return "", fmt.Errorf("license: expression %q: %w", s, err)
	}
	var b strings.Builder
	n.write(&b, 0)
	return b.String(), nil
}

type licToken struct {
	text string
	off  int // byte offset in the trimmed input
}

// licTokenize splits s into parentheses and words (identifiers, with a
// trailing "+" where there is one, and operators).
func licTokenize(s string) ([]licToken, error) {
	var toks []licToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, licToken{s[i : i+1], i})
			i++
		case licIDByte(c) || c == ':':
			j := i
			for j < len(s) && (licIDByte(s[j]) || s[j] == ':') {
				j++
			}
			if j < len(s) && s[j] == '+' {
				j++
			}
			toks = append(toks, licToken{s[i:j], i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", rune(c), i)
		}
	}
	return toks, nil
}

func licIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-'
}

// licNode is a parsed expression: an identifier (op == "") or an operator
// over its operands (op "AND", "OR": len(args) >= 2; "WITH": args[0] and the
// exception in id).
type licNode struct {
	op   string
	id   string
	args []*licNode
}

// precedence of a node: how tightly it binds.
func (n *licNode) prec() int {
	switch n.op {
	case "OR":
		return 1
	case "AND":
		return 2
	}
	return 3
}

func (n *licNode) write(b *strings.Builder, outer int) {
	paren := n.prec() < outer
	if paren {
		b.WriteByte('(')
	}
	switch n.op {
	case "":
		b.WriteString(n.id)
	case "WITH":
		n.args[0].write(b, 3)
		b.WriteString(" WITH ")
		b.WriteString(n.id)
	default:
		for i, a := range n.args {
			if i > 0 {
				b.WriteString(" " + n.op + " ")
			}
			// Operands of the same operator need no parentheses:
			// AND and OR are associative.
			a.write(b, n.prec())
		}
	}
	if paren {
		b.WriteByte(')')
	}
}

type licParser struct {
	toks []licToken
	pos  int
}

// operator reports whether the next token is the operator op in upper or
// lower case, and consumes it if so.
func (p *licParser) operator(op string) bool {
	if p.pos < len(p.toks) {
		t := p.toks[p.pos].text
		if t == op || t == strings.ToLower(op) {
			p.pos++
			return true
		}
	}
	return false
}

func (p *licParser) or(depth int) (*licNode, error) {
	return p.binary("OR", depth, p.and)
}

func (p *licParser) and(depth int) (*licNode, error) {
	return p.binary("AND", depth, p.with)
}

func (p *licParser) binary(op string, depth int, operand func(int) (*licNode, error)) (*licNode, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	args := []*licNode{first}
	for p.operator(op) {
		a, err := operand(depth)
		if err != nil {
			return nil, err
		}
		if a.op == op {
			args = append(args, a.args...)
		} else {
			args = append(args, a)
		}
	}
	if len(args) == 1 {
		return first, nil
	}
	if first.op == op {
		args = append(first.args, args[1:]...)
	}
	return &licNode{op: op, args: args}, nil
}

func (p *licParser) with(depth int) (*licNode, error) {
	n, err := p.simple(depth)
	if err != nil {
		return nil, err
	}
	if !p.operator("WITH") {
		return n, nil
	}
	if p.pos >= len(p.toks) {
		return nil, errors.New("WITH at the end, without an exception")
	}
	t := p.toks[p.pos]
	p.pos++
	id, err := licException(t)
	if err != nil {
		return nil, err
	}
	if n.op != "" {
		return nil, fmt.Errorf("WITH at offset %d follows a parenthesized expression, not a licence", t.off)
	}
	return &licNode{op: "WITH", id: id, args: []*licNode{n}}, nil
}

func (p *licParser) simple(depth int) (*licNode, error) {
	if p.pos >= len(p.toks) {
		return nil, errors.New("unexpected end, a licence is missing")
	}
	t := p.toks[p.pos]
	p.pos++
	if t.text == "(" {
		if depth >= maxDepth {
			return nil, fmt.Errorf("parentheses nested over %d deep at offset %d", maxDepth, t.off)
		}
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].text != ")" {
			return nil, fmt.Errorf("parenthesis at offset %d is not closed", t.off)
		}
		p.pos++
		return n, nil
	}
	id, err := licLicense(t)
	if err != nil {
		return nil, err
	}
	return &licNode{id: id}, nil
}

// licLicense checks a licence identifier token and returns its canonical
// spelling.
func licLicense(t licToken) (string, error) {
	if t.text == ")" || licIsOperator(t.text) {
		return "", fmt.Errorf("unexpected %q at offset %d where a licence should be", t.text, t.off)
	}
	if ref, ok := licRef(t.text, "LicenseRef-"); ok {
		return ref, nil
	}
	id, plus := strings.CutSuffix(t.text, "+")
	c, ok := canonicalLicense(id)
	if !ok {
		return "", fmt.Errorf("unknown licence identifier %q at offset %d", t.text, t.off)
	}
	if plus {
		c += "+"
	}
	return c, nil
}

// licException checks an exception identifier token and returns its
// canonical spelling.
func licException(t licToken) (string, error) {
	if ref, ok := licRef(t.text, "AdditionRef-"); ok {
		return ref, nil
	}
	_, exceptions := licLists()
	if c, ok := exceptions[strings.ToLower(t.text)]; ok {
		return c, nil
	}
	return "", fmt.Errorf("unknown licence exception %q at offset %d", t.text, t.off)
}

// licRef reports whether s is a user-defined reference with the given
// prefix ("LicenseRef-", "AdditionRef-"), optionally preceded by
// "DocumentRef-idstring:", and returns it with the prefixes spelled as the
// specification spells them.
func licRef(s, prefix string) (string, bool) {
	doc := ""
	if i := strings.IndexByte(s, ':'); i >= 0 {
		const docPrefix = "DocumentRef-"
		d := s[:i]
		if len(d) <= len(docPrefix) || !strings.EqualFold(d[:len(docPrefix)], docPrefix) || strings.ContainsAny(d, "+") {
			return "", false
		}
		doc = docPrefix + d[len(docPrefix):] + ":"
		s = s[i+1:]
	}
	if len(s) <= len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) || strings.ContainsAny(s, ":+") {
		return "", false
	}
	return doc + prefix + s[len(prefix):], true
}

func licIsOperator(s string) bool {
	switch s {
	case "AND", "OR", "WITH", "and", "or", "with":
		return true
	}
	return false
}
