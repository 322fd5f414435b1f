package inventory

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/package-url/packageurl-go"
)

// normalizePyPI is a Python package name normalized as PEP 503 says:
// lowercase, each run of "-", "_" and "." one "-". It is the name OSV and
// purl-spec use for PyPI packages.
func normalizePyPI(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

// pyNameRE is a valid distribution name (PEP 508 "identifier").
var pyNameRE = regexp.MustCompile(`^(?i:[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)

// pyComponent is the PyPI component of name at version ("" for none).
func pyComponent(name, version, loc string, scope Scope) Component {
	n := normalizePyPI(name)
	return Component{
		Ecosystem: PyPI,
		Name:      n,
		Version:   version,
		PURL:      packageurl.NewPackageURL(packageurl.TypePyPi, "", n, version, nil, "").ToString(),
		Scope:     scope,
		Locations: []string{loc},
	}
}

// pyMaxLine bounds one logical line of a requirements file (continuations
// joined).
const pyMaxLine = 64 << 10

// parseRequirements reads a pip requirements file (requirements.txt,
// requirements-dev.txt, ...; https://pip.pypa.io/en/stable/reference/requirements-file-format/).
//
// Each requirement is a component with Ecosystem "PyPI", its name
// normalized by normalizePyPI, Scope Direct (a requirements file lists what
// the project asks for; one compiled by pip-compile lists indirect pins too,
// which it does not mark in a form this parser reads), and DependsOn nil.
// The file names no subject.
//
// A requirement is pinned when its version specifier is one "==" clause
// without a wildcard ("requests==2.31.0") or one "===" clause (arbitrary
// equality, "===1.0-custom"); the version is kept as written. Any other
// specifier (">=", "~=", "!=", "==1.*", several clauses, none) gives a
// component without a version and a warning "not pinned". Extras
// ("name[socks]==1.0") are dropped: they select optional dependencies, not
// another package. Environment markers after ";" are ignored: the
// requirement is reported whatever the platform. Comments ("#" at the start
// of a line or after white space) and line continuations ("\" at the end of
// a line) are handled as pip does.
//
// "--hash=sha256:<hex>" options give Hashes["SHA-256"] (likewise sha384,
// sha512) only when the requirement carries exactly one hash of that
// algorithm: several hashes are those of several distribution files (one
// wheel per platform, the sdist) and none of them is the component's.
//
// Lines skipped with a warning: "-r"/"--requirement" and
// "-c"/"--constraint" includes (a walk reads every requirements*.txt file
// itself; constraints name no requirement), "-e"/"--editable" and direct
// references (a path or URL instead of a name, "name @ URL"), which name no
// PyPI release, and unknown options. Global options (--index-url,
// --find-links, --pre, ...) are ignored silently.
//
// The format has no structure to be broken: parseRequirements returns an
// error only for data that is not UTF-8 text.
func parseRequirements(path string, data []byte) (*lockfile, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("pypi: %s: not UTF-8 text", path)
	}
	lf := &lockfile{}
	warn := func(line int, format string, args ...any) {
		lf.warn(Warning{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	cs := componentSet{}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		var logical strings.Builder
		for {
			l := lines[i]
			cont := strings.HasSuffix(l, `\`) && !strings.HasSuffix(l, `\\`)
			if cont {
				l = l[:len(l)-1]
			}
			if logical.Len()+len(l) > pyMaxLine {
				warn(start, "line longer than %d bytes; skipped", pyMaxLine)
				logical.Reset()
				for cont && i+1 < len(lines) {
					i++
					cont = strings.HasSuffix(lines[i], `\`)
				}
				break
			}
			logical.WriteString(l)
			if !cont || i+1 >= len(lines) {
				break
			}
			i++
		}
		line := pyStripComment(logical.String())
		if line == "" {
			continue
		}
		if line[0] == '-' {
			pyOption(line, start, warn)
			continue
		}
		c, msg, ok := pyRequirement(line, path)
		if msg != "" {
			warn(start, "%s", msg)
		}
		if ok {
			cs.add(c)
		}
	}
	lf.components = cs.list()
	return lf, nil
}

// pyStripComment removes a comment ("#" at the start or after white
// space) and surrounding white space.
func pyStripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			s = s[:i]
			break
		}
	}
	return strings.TrimSpace(s)
}

// pyOption handles a line that starts with an option.
func pyOption(line string, n int, warn func(int, string, ...any)) {
	name, arg, _ := strings.Cut(line, " ")
	if n, a, ok := strings.Cut(name, "="); ok {
		name, arg = n, a+" "+arg
	}
	if strings.HasPrefix(name, "-r") && name != "-r" || strings.HasPrefix(name, "-c") && name != "-c" || strings.HasPrefix(name, "-e") && name != "-e" {
		// -rfile: pip accepts the short options without a space.
		arg, name = name[2:], name[:2]
	}
	arg = strings.TrimSpace(arg)
	switch name {
	case "-r", "--requirement":
		warn(n, "include of %q not followed: a walk reads every requirements*.txt file itself", truncate(arg, 200))
	case "-c", "--constraint":
		warn(n, "constraints file %q not read: it names no requirement", truncate(arg, 200))
	case "-e", "--editable":
		warn(n, "editable requirement %q skipped: it names no PyPI release", truncate(arg, 200))
	case "-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links",
		"--trusted-host", "--no-binary", "--only-binary", "--prefer-binary", "--pre",
		"--require-hashes", "--use-feature", "--config-settings", "--global-option":
	default:
		warn(n, "unknown option %q ignored", truncate(name, 100))
	}
}

// pyRequirement parses one requirement line. It returns the component and
// whether there is one, and a message for a warning ("" for none).
func pyRequirement(line, loc string) (Component, string, bool) {
	// Per-requirement options: --hash, which may repeat.
	req, opts, _ := strings.Cut(line, " --")
	if strings.HasPrefix(line, "--") {
		req, opts = "", line[2:]
	}
	hashes, msg := pyHashes(opts)
	req = strings.TrimSpace(req)
	if semi := strings.IndexByte(req, ';'); semi >= 0 {
		req = strings.TrimSpace(req[:semi])
	}
	// The name: letters, digits and . _ -.
	end := 0
	for end < len(req) && (pyIsNameByte(req[end])) {
		end++
	}
	name, rest := req[:end], strings.TrimSpace(req[end:])
	if name == "" || !pyNameRE.MatchString(name) || strings.Contains(req, "://") && !strings.HasPrefix(rest, "@") || pyIsArchive(name) {
		return Component{}, pyJoin(msg, fmt.Sprintf("%q is not a requirement of a named PyPI release; skipped", truncate(req, 200))), false
	}
	if strings.HasPrefix(rest, "[") {
		close := strings.IndexByte(rest, ']')
		if close < 0 {
			return Component{}, pyJoin(msg, fmt.Sprintf("%q: extras not closed; skipped", truncate(req, 200))), false
		}
		rest = strings.TrimSpace(rest[close+1:])
	}
	c := pyComponent(name, "", loc, Direct)
	if strings.HasPrefix(rest, "@") {
		return c, pyJoin(msg, fmt.Sprintf("%s: a direct reference (%s), not pinned to a PyPI release", c.Name, truncate(strings.TrimSpace(rest[1:]), 200))), true
	}
	version, ok := pyPinned(rest)
	if !ok {
		spec := rest
		if spec == "" {
			spec = "no version specifier"
		}
		return c, pyJoin(msg, fmt.Sprintf("%s: not pinned (%s)", c.Name, truncate(spec, 200))), true
	}
	c = pyComponent(name, version, loc, Direct)
	c.Hashes = hashes
	return c, msg, true
}

// pyIsArchive reports whether name is rather the file name of a
// distribution archive (a requirement by local file).
func pyIsArchive(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".egg"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

func pyIsNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// pyPinned returns the version a specifier pins, if it pins one.
func pyPinned(spec string) (string, bool) {
	spec = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(spec, "("), ")"))
	if strings.Contains(spec, ",") {
		return "", false
	}
	var v string
	switch {
	case strings.HasPrefix(spec, "==="):
		v = strings.TrimSpace(spec[3:])
	case strings.HasPrefix(spec, "=="):
		v = strings.TrimSpace(spec[2:])
		if strings.HasSuffix(v, ".*") {
			return "", false
		}
	default:
		return "", false
	}
	if v == "" || strings.ContainsAny(v, " \t*<>=!~") {
		return "", false
	}
	return v, true
}

// pyHashes reads the --hash options of a requirement (opts is the text
// after its first " --"), keeping an algorithm's digest when it is the only
// one of that algorithm.
func pyHashes(opts string) (map[string]string, string) {
	if opts == "" {
		return nil, ""
	}
	count := make(map[string]int)
	found := make(map[string]string)
	var bad []string
	for _, o := range strings.Split(" --"+opts, " --")[1:] {
		name, val, ok := strings.Cut(strings.TrimSpace(o), "=")
		if !ok {
			name, val, _ = strings.Cut(strings.TrimSpace(o), " ")
		}
		if name != "hash" {
			continue
		}
		alg, hexd, _ := strings.Cut(strings.TrimSpace(val), ":")
		var key string
		var size int
		switch alg {
		case "sha256":
			key, size = "SHA-256", 32
		case "sha384":
			key, size = "SHA-384", 48
		case "sha512":
			key, size = "SHA-512", 64
		default:
			bad = append(bad, strconv.Quote(truncate(val, 100)))
			continue
		}
		sum, err := hex.DecodeString(hexd)
		if err != nil || len(sum) != size {
			bad = append(bad, strconv.Quote(truncate(val, 100)))
			continue
		}
		count[key]++
		found[key] = strings.ToLower(hexd)
	}
	var hashes map[string]string
	for k, n := range count {
		if n == 1 {
			if hashes == nil {
				hashes = make(map[string]string)
			}
			hashes[k] = found[k]
		}
	}
	if len(bad) > 0 {
		return hashes, "--hash " + strings.Join(bad, ", ") + " is not sha256, sha384 or sha512 with a hex digest of the right length"
	}
	return hashes, ""
}

func pyJoin(a, b string) string {
	if a == "" {
		return b
	}
	return b + "; " + a
}

// pyMaxTOMLNesting bounds the nesting of arrays and tables in a TOML
// lockfile: the TOML decoder recurses on nesting, and lockfiles nest a few
// levels deep.
const pyMaxTOMLNesting = 64

// pyDecodeTOML decodes a TOML lockfile into v after checking its nesting.
// Errors are the decoder's, without its "toml: " prefix.
func pyDecodeTOML(data []byte, v any) (toml.MetaData, error) {
	if err := pyTOMLNesting(data); err != nil {
		return toml.MetaData{}, err
	}
	md, err := toml.Decode(string(data), v)
	if err != nil {
		return md, errors.New(strings.TrimPrefix(err.Error(), "toml: "))
	}
	return md, nil
}

// pyTOMLNesting reports an error when brackets and braces outside strings
// and comments nest deeper than pyMaxTOMLNesting.
func pyTOMLNesting(data []byte) error {
	depth, line := 0, 1
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\n':
			line++
		case '#':
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
		case '"', '\'':
			delim := []byte{c}
			if i+2 < len(data) && data[i+1] == c && data[i+2] == c {
				delim = []byte{c, c, c}
			}
			i += len(delim)
			for i < len(data) && !bytes.HasPrefix(data[i:], delim) {
				if data[i] == '\\' && c == '"' {
					i++
				} else if data[i] == '\n' {
					line++
					if len(delim) == 1 {
						break
					}
				}
				i++
			}
			i += len(delim) - 1
		case '[', '{':
			depth++
			if depth > pyMaxTOMLNesting {
				return fmt.Errorf("line %d: nested over %d deep", line, pyMaxTOMLNesting)
			}
		case ']', '}':
			depth = max(depth-1, 0)
		}
	}
	return nil
}

// parsePoetryLock reads a poetry.lock (TOML, lock-version 1.x and 2.x, as
// Poetry writes it; the format is Poetry's own and documented only by its
// source).
//
// Each [[package]] is a component with Ecosystem "PyPI", its name
// normalized by normalizePyPI and its version as written; DependsOn holds
// every package of the lock whose normalized name is a key of its
// [package.dependencies] (a dependency absent from the lock, an extra not
// selected, is left out). Hashes: the sha256 of its files (the "files"
// array, or lock-version 1's [metadata.files]) when there is exactly one
// file, as for requirements files. The file names no subject.
//
// Scope: Development for a package whose category is "dev" (lock-version
// 1) or whose groups do not include "main" (Poetry 2); else, since the
// lock does not record what pyproject.toml asks for, Indirect for a package
// that another non-development package of the lock depends on and Direct
// for the others.
//
// A package with a [package.source] of type "git", "url", "file" or
// "directory" is not a PyPI release: it is kept without a version, with a
// warning. A package with a wrong type ("version = 3") or without name or
// version is skipped with a warning naming its line. Data that is not TOML
// is an error.
func parsePoetryLock(path string, data []byte) (*lockfile, error) {
	var doc struct {
		Package  []toml.Primitive `toml:"package"`
		Metadata struct {
			Files map[string][]pyFile `toml:"files"`
		} `toml:"metadata"`
	}
	md, err := pyDecodeTOML(data, &doc)
	if err != nil {
		return nil, fmt.Errorf("pypi: %s: %w", path, err)
	}
	lf := &lockfile{}
	warn := func(format string, args ...any) {
		lf.warn(Warning{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	type pkg struct {
		c    Component
		dev  bool
		deps []string // normalized names
	}
	var pkgs []pkg
	byName := make(map[string][]int)
	for i, prim := range doc.Package {
		var p struct {
			Name         string                    `toml:"name"`
			Version      string                    `toml:"version"`
			Category     string                    `toml:"category"`
			Groups       []string                  `toml:"groups"`
			Files        []pyFile                  `toml:"files"`
			Dependencies map[string]toml.Primitive `toml:"dependencies"`
			Source       struct {
				Type string `toml:"type"`
			} `toml:"source"`
		}
		where := fmt.Sprintf("package[%d]", i)
		if err := md.PrimitiveDecode(prim, &p); err != nil {
			warn("%s: %s; skipped", where, strings.TrimPrefix(err.Error(), "toml: "))
			continue
		}
		if p.Name != "" {
			where = fmt.Sprintf("package %q", truncate(p.Name, 100))
		}
		if !pyNameRE.MatchString(p.Name) {
			warn("%s: not a valid package name; skipped", where)
			continue
		}
		if p.Version == "" {
			warn("%s: no version; skipped", where)
			continue
		}
		version := p.Version
		switch p.Source.Type {
		case "", "legacy":
		default:
			warn("%s: from a %s source, not a PyPI release; kept without a version", where, truncate(p.Source.Type, 50))
			version = ""
		}
		c := pyComponent(p.Name, version, path, "")
		files := p.Files
		if files == nil {
			files = doc.Metadata.Files[p.Name]
		}
		if len(files) == 1 {
			if alg, h, ok := strings.Cut(files[0].Hash, ":"); ok && alg == "sha256" && len(h) == 64 {
				if _, err := hex.DecodeString(h); err == nil {
					c.Hashes = map[string]string{"SHA-256": strings.ToLower(h)}
				}
			}
		}
		dev := p.Category == "dev" || len(p.Groups) > 0 && !slices.Contains(p.Groups, "main")
		var deps []string
		for name := range p.Dependencies {
			deps = append(deps, normalizePyPI(name))
		}
		byName[c.Name] = append(byName[c.Name], len(pkgs))
		pkgs = append(pkgs, pkg{c: c, dev: dev, deps: deps})
	}
	required := make(map[int]bool)
	for i := range pkgs {
		for _, d := range pkgs[i].deps {
			for _, j := range byName[d] {
				if j != i && !pkgs[i].dev {
					required[j] = true
				}
				if pkgs[j].c.PURL != pkgs[i].c.PURL {
					pkgs[i].c.DependsOn = append(pkgs[i].c.DependsOn, pkgs[j].c.PURL)
				}
			}
		}
	}
	cs := componentSet{}
	for i, p := range pkgs {
		switch {
		case p.dev:
			p.c.Scope = Development
		case required[i]:
			p.c.Scope = Indirect
		default:
			p.c.Scope = Direct
		}
		cs.add(p.c)
	}
	lf.components = cs.list()
	return lf, nil
}

// pyFile is an entry of a poetry.lock "files" array.
type pyFile struct {
	File string `toml:"file"`
	Hash string `toml:"hash"`
}
