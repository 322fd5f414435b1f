package osv

import (
	"regexp"
	"strings"
)

// PyPI versions follow PEP 440 as maintained in the Python Packaging User
// Guide, "Version specifiers" (packaging.python.org/en/latest/specifications/
// version-specifiers/):
//
//	[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]
//
// parsePEP440 accepts every spelling the spec's "Normalization" section
// allows: any case, surrounding ASCII whitespace, a leading "v", "alpha", "beta",
// "c", "pre" and "preview" for pre-release labels, "rev" and "r" and a bare
// "-N" for post-releases, optional "-", "_" or "." separators and implicit
// 0 numbers after a label, and "-" or "_" between local segments. It
// refuses everything else (the spec's appendix regular expression, anchored)
// and versions longer than maxPEP440Len.
//
// Versions compare as the spec's "Summary of permitted suffixes and relative
// ordering" says, which packaging.version implements:
//
//   - by epoch, then release segment with zero padding (1.0 == 1.0.0);
//   - at an equal release, .devN < aN < bN < rcN < (release) < .postN, and a
//     dev release of a pre- or post-release comes before it
//     (1.0a1.dev1 < 1.0a1, 1.0.post1.dev1 < 1.0.post1);
//   - a local version sorts after the same public version without one; local
//     segments compare one by one, numerically when both are numbers, as
//     strings when both are not, and a number is greater than a string; a
//     longer local version whose segments start with a shorter one's is
//     greater.
//
// Numbers are compared as decimal strings without leading zeros, so that
// they have no size limit other than the version's.

// maxPEP440Len is the longest version parsePEP440 accepts, in bytes. Real
// PyPI versions are under 60 bytes.
const maxPEP440Len = 256

// pep440Syntax is the spec's appendix expression, to be matched against the
// lowercased version with whitespace trimmed.
var pep440Syntax = regexp.MustCompile(`^v?` +
	`(?:([0-9]+)!)?` + // 1: epoch
	`([0-9]+(?:\.[0-9]+)*)` + // 2: release
	`(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?` + // 3, 4: pre-release
	`(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?` + // 5 or 6, 7: post-release
	`(?:[-_.]?(dev)[-_.]?([0-9]+)?)?` + // 8, 9: dev release
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`) // 10: local

// Pre-release phases in order; noPre sorts after all of them.
const (
	preAlpha = iota
	preBeta
	preRC
	noPre
)

// pep440 is a parsed PEP 440 version. Numbers are decimal strings without
// leading zeros ("0" for zero).
type pep440 struct {
	epoch   string
	release []string // as written, trailing zeros kept
	pre     int      // preAlpha, preBeta, preRC or noPre
	preN    string
	post    bool
	postN   string
	dev     bool
	devN    string
	local   []string // lowercase; numeric segments without leading zeros
}

// parsePEP440 parses a PyPI version. Errors name the version.
func parsePEP440(s string) (pep440, error) {
	var v pep440
	if len(s) > maxPEP440Len {
		return v, invalidVersionf("version %.20q... is %d bytes, more than the limit of %d", s, len(s), maxPEP440Len)
	}
	// The syntax is ASCII; lowercasing other letters could make ASCII
	// ones (the Kelvin sign becomes "k").
	var m []string
	if isASCII(s) {
		m = pep440Syntax.FindStringSubmatch(strings.ToLower(strings.Trim(s, " \t\n\r\f\v")))
	}
	if m == nil {
		return v, invalidVersionf("version %q is not a PEP 440 version", s)
	}
	v.epoch = number(m[1])
	for r := range strings.SplitSeq(m[2], ".") {
		v.release = append(v.release, number(r))
	}
	v.pre = noPre
	switch m[3] {
	case "a", "alpha":
		v.pre = preAlpha
	case "b", "beta":
		v.pre = preBeta
	case "rc", "c", "pre", "preview":
		v.pre = preRC
	}
	v.preN = number(m[4])
	switch {
	case m[5] != "":
		v.post, v.postN = true, number(m[5])
	case m[6] != "":
		v.post, v.postN = true, number(m[7])
	}
	if m[8] != "" {
		v.dev, v.devN = true, number(m[9])
	}
	if m[10] != "" {
		for seg := range strings.FieldsFuncSeq(m[10], func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			if isDigits(seg) {
				seg = number(seg)
			}
			v.local = append(v.local, seg)
		}
	}
	return v, nil
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// number strips the leading zeros of a string of digits; "" is 0.
func number(s string) string {
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	return s
}

// compareNumbers compares two numbers in the form number returns.
func compareNumbers(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// String returns the normalized form of v, as the spec's "Normalization"
// section writes it: 1!2.0rc1.post3.dev4+ubuntu.1.
func (v pep440) String() string {
	var b strings.Builder
	if v.epoch != "0" {
		b.WriteString(v.epoch + "!")
	}
	b.WriteString(strings.Join(v.release, "."))
	if v.pre != noPre {
		b.WriteString([]string{"a", "b", "rc"}[v.pre] + v.preN)
	}
	if v.post {
		b.WriteString(".post" + v.postN)
	}
	if v.dev {
		b.WriteString(".dev" + v.devN)
	}
	if len(v.local) > 0 {
		b.WriteString("+" + strings.Join(v.local, "."))
	}
	return b.String()
}

// comparePEP440 orders two parsed versions: -1, 0 or +1 as a is below, equal
// to or above b.
func comparePEP440(a, b pep440) int {
	return sign(comparePEP440Keys(a, b))
}

func comparePEP440Keys(a, b pep440) int {
	if c := compareNumbers(a.epoch, b.epoch); c != 0 {
		return c
	}
	for i := range max(len(a.release), len(b.release)) {
		if c := compareNumbers(at(a.release, i), at(b.release, i)); c != 0 {
			return c
		}
	}
	// A dev release of a final release (1.0.dev1) sorts before its
	// pre-releases: its phase is below alpha.
	phase := func(v pep440) int {
		if v.pre == noPre && !v.post && v.dev {
			return preAlpha - 1
		}
		return v.pre
	}
	if c := phase(a) - phase(b); c != 0 {
		return c
	}
	if a.pre != noPre {
		if c := compareNumbers(a.preN, b.preN); c != 0 {
			return c
		}
	}
	if a.post != b.post { // no post-release sorts first
		return boolRank(a.post) - boolRank(b.post)
	}
	if c := compareNumbers(a.postN, b.postN); a.post && c != 0 {
		return c
	}
	if a.dev != b.dev { // no dev release sorts last
		return boolRank(b.dev) - boolRank(a.dev)
	}
	if c := compareNumbers(a.devN, b.devN); a.dev && c != 0 {
		return c
	}
	for i := range min(len(a.local), len(b.local)) {
		x, y := a.local[i], b.local[i]
		xn, yn := isDigits(x), isDigits(y)
		switch {
		case xn && yn:
			if c := compareNumbers(x, y); c != 0 {
				return c
			}
		case xn:
			return 1
		case yn:
			return -1
		default:
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		}
	}
	return len(a.local) - len(b.local)
}

// at returns release segment i of r, 0 past its end.
func at(r []string, i int) string {
	if i < len(r) {
		return r[i]
	}
	return "0"
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}
