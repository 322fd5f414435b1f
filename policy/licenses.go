package policy

import (
	"errors"
	"slices"
	"strings"

	"github.com/hallmark-dev/hallmark/internal/yamlnode"

	"github.com/hallmark-dev/hallmark/license"
)

// licStatus is how acceptable a licence is; higher is better, so that OR
// takes the best of its operands and AND the worst.
type licStatus int

const (
	licDenied licStatus = iota
	licNotAllowed
	licUnknown
	licAllowed
)

// licenseResult is the judgement of one component's licences.
type licenseResult struct {
	status licStatus
	expr   string // the licences as an SPDX expression, "NOASSERTION" if none
	reason string
}

// judgeLicenses judges a component's licences, each an SPDX identifier or
// expression, all of which apply (as with AND). A licence that does not
// parse, or none at all, is unknown; but a denied licence among the others
// still denies, and a licence not allowed still counts, since unknown is
// between the two.
func judgeLicenses(lics []string, prof *Profile) licenseResult {
	if len(lics) == 0 {
		return licenseResult{status: licUnknown, expr: "NOASSERTION", reason: "the component has no known licence"}
	}
	status := licAllowed
	var exprs, bad []string
	var denied, notAllowed []string
	for _, l := range lics {
		norm, err := license.Expression(l)
		if errors.Is(err, license.ErrUnlicensed) {
			norm, err = unlicensed, nil
		}
		if err != nil {
			bad = append(bad, yamlnode.Clip(l))
			exprs = append(exprs, yamlnode.Clip(l))
			status = min(status, licUnknown)
			continue
		}
		exprs = append(exprs, norm)
		lp := licParser{toks: licTokens(norm), prof: prof, denied: &denied, notAllowed: &notAllowed}
		s, ok := lp.or()
		if !ok || lp.pos != len(lp.toks) {
			bad = append(bad, yamlnode.Clip(l))
			status = min(status, licUnknown)
			continue
		}
		status = min(status, s)
	}
	r := licenseResult{status: status, expr: strings.Join(exprs, " AND ")}
	if len(exprs) > 1 {
		for i, e := range exprs {
			if strings.Contains(e, " OR ") {
				exprs[i] = "(" + e + ")"
			}
		}
		r.expr = strings.Join(exprs, " AND ")
	}
	switch status {
	case licDenied:
		r.reason = "licence " + r.expr + ": denied: " + strings.Join(uniq(denied), ", ")
	case licNotAllowed:
		r.reason = "licence " + r.expr + ": not on the allow list: " + strings.Join(uniq(notAllowed), ", ")
	case licUnknown:
		r.reason = "licence not known: " + strings.Join(bad, ", ")
		if slices.Contains(exprs, unlicensed) && len(bad) == 0 {
			r.reason = "UNLICENSED: no licence is granted, and the lists do not name UNLICENSED"
		}
	}
	return r
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// licTokens splits a normalized expression into identifiers, operators
// and parentheses.
func licTokens(s string) []string {
	var toks []string
	for f := range strings.FieldsSeq(s) {
		for f != "" {
			switch {
			case f[0] == '(' || f[0] == ')':
				toks = append(toks, f[:1])
				f = f[1:]
			default:
				i := strings.IndexAny(f, "()")
				if i < 0 {
					i = len(f)
				}
				toks = append(toks, f[:i])
				f = f[i:]
			}
		}
	}
	return toks
}

// licParser evaluates a normalized expression against a profile's lists,
// with the grammar of license.Expression.
type licParser struct {
	toks               []string
	pos                int
	depth              int
	prof               *Profile
	denied, notAllowed *[]string
}

func (p *licParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *licParser) or() (licStatus, bool) {
	s, ok := p.and()
	for ok && p.peek() == "OR" {
		p.pos++
		var t licStatus
		t, ok = p.and()
		s = max(s, t)
	}
	return s, ok
}

func (p *licParser) and() (licStatus, bool) {
	s, ok := p.term()
	for ok && p.peek() == "AND" {
		p.pos++
		var t licStatus
		t, ok = p.term()
		s = min(s, t)
	}
	return s, ok
}

func (p *licParser) term() (licStatus, bool) {
	t := p.peek()
	switch t {
	case "", "AND", "OR", "WITH", ")":
		return 0, false
	case "(":
		if p.depth++; p.depth > 64 {
			return 0, false
		}
		p.pos++
		s, ok := p.or()
		if !ok || p.peek() != ")" {
			return 0, false
		}
		p.pos++
		p.depth--
		return s, true
	}
	p.pos++
	id, full := t, t
	if p.peek() == "WITH" {
		p.pos++
		exc := p.peek()
		switch exc {
		case "", "AND", "OR", "WITH", "(", ")":
			return 0, false
		}
		p.pos++
		full = id + " WITH " + exc
	}
	return p.judge(id, full), true
}

// judge judges one licence, full being it with its exception if any: an
// entry for full decides before one for id, and at each level deny wins.
// UNLICENSED that no list names is unknown.
func (p *licParser) judge(id, full string) licStatus {
	lp := p.prof
	switch {
	case lp.deny[full]:
		*p.denied = append(*p.denied, full)
		return licDenied
	case lp.allow[full]:
		return licAllowed
	case full != id && lp.deny[id]:
		*p.denied = append(*p.denied, full)
		return licDenied
	case full != id && lp.allow[id]:
		return licAllowed
	case id == unlicensed:
		return licUnknown
	case len(lp.allow) == 0:
		return licAllowed
	}
	*p.notAllowed = append(*p.notAllowed, full)
	return licNotAllowed
}
