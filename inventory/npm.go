package inventory

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/hallmark-dev/hallmark/license"
	"github.com/package-url/packageurl-go"
	"golang.org/x/mod/semver"
)

// parseNPM reads an npm package-lock.json or npm-shrinkwrap.json, in any
// lockfileVersion (1, 2 or 3; see
// https://docs.npmjs.com/cli/configuring-npm/package-lock-json).
//
// Versions 2 and 3 list every installed package in "packages", keyed by its
// folder: "" is the root package (its name and version are the subject),
// "node_modules/a/node_modules/@s/b" is package "@s/b" installed under "a"
// (the name is what follows the last "node_modules/", unless the entry has a
// "name" of its own: then the folder is an alias, as npm:bar@1 installs bar
// under a folder foo, and the entry's "name" is the package). Version 1 has
// only "dependencies", nested as node_modules folders are; the parser lays it
// out in the same folder keys. A version 2 file carries both; "packages" is
// read and "dependencies" ignored.
//
// Each package is a component with Ecosystem "npm" and the PURL
// pkg:npm/[%40scope/]name@version. Its Hashes come from "integrity" (one or
// more Subresource Integrity "sha1-", "sha256-", "sha384-", "sha512-"
// base64 digests, written as lowercase hex under "SHA-1" ... "SHA-512"),
// its Licenses from "license" normalized by license.Expression (a licence
// that is not a valid SPDX expression is a warning, and the component is
// kept without it), its DependsOn from "dependencies" and
// "optionalDependencies" (version 1: "requires"), each name resolved as
// Node.js resolves require(): the nearest node_modules/<name> in the folder
// itself or in a folder above it.
//
// Scope: a package marked "dev": true is Development ("devOptional" is
// not: such a package is also an optional dependency of the product); else
// a package the root depends on (dependencies, devDependencies,
// optionalDependencies) is Direct, any other Indirect. Version 1 files do not say what the root
// depends on: there a top-level package that no other package requires is
// taken as Direct, the others as Indirect (a package that is both required
// by the root and by another package is reported Indirect).
//
// Entries skipped or kept in part, each with a warning:
//   - "link": true entries are not components: they point at a folder of the
//     tree (an npm workspace or a file: dependency) that has its own entry;
//     a dependency on a link resolves to that folder's package. Folder
//     entries outside node_modules ("packages/a", workspaces) are components
//     of the tree itself, Scope Direct, without a warning when they have no
//     version.
//   - an entry without a version is skipped (npm writes one for every
//     installed package; a missing one means an incomplete lockfile).
//   - a version that is not a semantic version (version 1 writes git URLs,
//     tarball URLs and file: paths there) keeps the component without a
//     version: it is part of the product, but no vulnerability range can
//     match it. osv-scanner also keeps such packages rather than dropping
//     them.
//   - a dependency that resolves to no entry is left out of DependsOn
//     (silently for an optional one, which may not be installed on this
//     platform).
//
// Errors: data that is not JSON, or whose top level has the wrong types
// ("lockfileVersion": "3"), or without "packages" and "dependencies". An
// entry with wrong types (a "version": 3) is a warning and is skipped.
func parseNPM(path string, data []byte) (*lockfile, error) {
	var top struct {
		Name            string                     `json:"name"`
		Version         string                     `json:"version"`
		LockfileVersion int                        `json:"lockfileVersion"`
		Packages        map[string]json.RawMessage `json:"packages"`
		Dependencies    map[string]json.RawMessage `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("npm: %s: %s", path, npmJSONError(data, err))
	}
	p := &npmParser{path: path, lf: &lockfile{}, nodes: make(map[string]*npmNode), links: make(map[string]string)}
	switch {
	case top.Packages != nil:
		p.readPackages(top.Packages)
	case top.Dependencies != nil:
		p.readV1("", "dependencies", top.Dependencies, 0)
	default:
		return nil, fmt.Errorf("npm: %s: neither \"packages\" nor \"dependencies\": not a package-lock.json", path)
	}
	if p.root == nil && top.Name != "" {
		p.root = &npmNode{name: top.Name, version: top.Version}
	}
	p.build()
	return p.lf, nil
}

// npmMaxDepth bounds the nesting of a version 1 lockfile's "dependencies";
// encoding/json already refuses documents nested deeper than 10000.
const npmMaxDepth = 1000

// npmNode is one package entry of the lockfile, at its folder key.
type npmNode struct {
	key       string // folder: "node_modules/a/node_modules/b"; "" for the root
	where     string // how messages name the entry: packages["..."]
	name      string
	version   string
	integrity string
	license   json.RawMessage
	dev       bool
	folder    bool // a folder of the tree outside node_modules (workspace)
	deps      []string
	optional  map[string]bool
	devDeps   []string // the root's devDependencies
	component *Component
}

type npmParser struct {
	path  string
	lf    *lockfile
	root  *npmNode
	nodes map[string]*npmNode // by folder key, root and links excluded
	links map[string]string   // link folder key -> target folder key
	order []string            // node keys in the order they were read
	// rootEntry: the root package has an entry of its own (packages[""]),
	// which says what it depends on.
	rootEntry bool
}

func (p *npmParser) warn(format string, args ...any) {
	p.lf.warn(Warning{Path: p.path, Msg: fmt.Sprintf(format, args...)})
}

// readPackages reads a version 2 or 3 "packages" map.
func (p *npmParser) readPackages(pkgs map[string]json.RawMessage) {
	for _, key := range slices.Sorted(maps.Keys(pkgs)) {
		where := "packages[" + strconv.Quote(truncate(key, 200)) + "]"
		var e struct {
			Name                 string            `json:"name"`
			Version              string            `json:"version"`
			Resolved             string            `json:"resolved"`
			Integrity            string            `json:"integrity"`
			License              json.RawMessage   `json:"license"`
			Dev                  bool              `json:"dev"`
			Link                 bool              `json:"link"`
			Dependencies         map[string]string `json:"dependencies"`
			OptionalDependencies map[string]string `json:"optionalDependencies"`
			DevDependencies      map[string]string `json:"devDependencies"`
		}
		if err := json.Unmarshal(pkgs[key], &e); err != nil {
			p.warn("%s: %s; skipped", where, npmFieldError(err))
			continue
		}
		if e.Link {
			target := strings.TrimPrefix(path.Clean(e.Resolved), "./")
			if e.Resolved == "" || strings.HasPrefix(target, "../") || target == ".." {
				// A link out of the tree: nothing here describes it.
				continue
			}
			if target == "." {
				target = ""
			}
			p.links[key] = target
			continue
		}
		n := &npmNode{key: key, where: where, name: e.Name, version: e.Version, integrity: e.Integrity,
			license: e.License, dev: e.Dev}
		for name := range e.Dependencies {
			n.deps = append(n.deps, name)
		}
		for name := range e.OptionalDependencies {
			n.deps = append(n.deps, name)
			if n.optional == nil {
				n.optional = make(map[string]bool)
			}
			n.optional[name] = true
		}
		slices.Sort(n.deps)
		n.deps = slices.Compact(n.deps)
		if key == "" {
			n.devDeps = slices.Sorted(maps.Keys(e.DevDependencies))
			p.root = n
			p.rootEntry = true
			continue
		}
		folder := npmFolderName(key)
		if folder == "" {
			// Outside node_modules: a folder of the tree itself.
			n.folder = true
			if n.name == "" {
				n.name = path.Base(key)
			}
		} else if n.name == "" {
			n.name = folder
		}
		p.add(n)
	}
}

// readV1 reads a version 1 "dependencies" object (or an entry's nested
// one), laying its entries out under the folder key prefix.
func (p *npmParser) readV1(prefix, where string, deps map[string]json.RawMessage, depth int) {
	if depth > npmMaxDepth {
		p.warn("%s: nested over %d deep; skipped", where, npmMaxDepth)
		return
	}
	for _, folder := range slices.Sorted(maps.Keys(deps)) {
		w := where + "[" + strconv.Quote(truncate(folder, 200)) + "]"
		var e struct {
			Version      string                     `json:"version"`
			Integrity    string                     `json:"integrity"`
			Dev          bool                       `json:"dev"`
			Requires     map[string]string          `json:"requires"`
			Dependencies map[string]json.RawMessage `json:"dependencies"`
		}
		if err := json.Unmarshal(deps[folder], &e); err != nil {
			p.warn("%s: %s; skipped", w, npmFieldError(err))
			continue
		}
		key := prefix + "node_modules/" + folder
		n := &npmNode{key: key, where: w, name: folder, version: e.Version, integrity: e.Integrity, dev: e.Dev}
		if rest, ok := strings.CutPrefix(e.Version, "npm:"); ok {
			// An alias: "foo": {"version": "npm:bar@1.0.0"}.
			if i := strings.LastIndexByte(rest, '@'); i > 0 {
				n.name, n.version = rest[:i], rest[i+1:]
			}
		}
		n.deps = slices.Sorted(maps.Keys(e.Requires))
		p.add(n)
		if e.Dependencies != nil {
			p.readV1(key+"/", w+".dependencies", e.Dependencies, depth+1)
		}
	}
}

func (p *npmParser) add(n *npmNode) {
	if _, dup := p.nodes[n.key]; dup {
		return
	}
	p.nodes[n.key] = n
	p.order = append(p.order, n.key)
}

// npmFolderName is the package folder name a key ends in, the part after
// its last "node_modules/"; "" when the key is not under node_modules.
func npmFolderName(key string) string {
	i := strings.LastIndex("/"+key, "/node_modules/")
	if i < 0 {
		return ""
	}
	return key[i+len("node_modules/"):]
}

// resolve finds the folder key that name resolves to from folder key from,
// following a link to its target; "" when there is none.
func (p *npmParser) resolve(from, name string) string {
	dir := from
	for {
		cand := "node_modules/" + name
		if dir != "" {
			cand = dir + "/" + cand
		}
		if t, ok := p.links[cand]; ok {
			cand = t
			if _, ok := p.nodes[cand]; ok || cand == "" {
				return cand
			}
			return ""
		}
		if _, ok := p.nodes[cand]; ok {
			return cand
		}
		if dir == "" {
			return ""
		}
		up := path.Dir(dir)
		if up == "." || up == "/" || up == dir {
			up = ""
		}
		dir = up
	}
}

// build turns the nodes into the lockfile's components and subject.
func (p *npmParser) build() {
	for _, key := range p.order {
		n := p.nodes[key]
		c, ok := p.component(n)
		if ok {
			n.component = &c
		}
	}
	// Which packages the root depends on.
	direct := make(map[string]bool)
	var rootDeps []string
	if p.rootEntry {
		for _, name := range append(slices.Clone(p.root.deps), p.root.devDeps...) {
			k := p.resolve("", name)
			if k == "" {
				if !p.root.optional[name] {
					p.warn("packages[\"\"]: dependency %q is not in the lockfile", truncate(name, 200))
				}
				continue
			}
			direct[k] = true
		}
		for _, n := range p.nodes {
			if n.folder {
				direct[n.key] = true
			}
		}
	} else {
		required := make(map[string]bool)
		for _, key := range p.order {
			for _, name := range p.nodes[key].deps {
				if k := p.resolve(key, name); k != "" && k != key {
					required[k] = true
				}
			}
		}
		for _, key := range p.order {
			if strings.Count(key, "node_modules/") == 1 && strings.HasPrefix(key, "node_modules/") && !required[key] || p.nodes[key].folder {
				direct[key] = true
			}
		}
	}
	for k := range direct {
		if n := p.nodes[k]; n != nil && n.component != nil {
			rootDeps = append(rootDeps, n.component.PURL)
		}
	}
	cs := componentSet{}
	for _, key := range p.order {
		n := p.nodes[key]
		if n.component == nil {
			continue
		}
		c := *n.component
		switch {
		case n.dev:
			c.Scope = Development
		case direct[key]:
			c.Scope = Direct
		default:
			c.Scope = Indirect
		}
		for _, name := range n.deps {
			k := p.resolve(key, name)
			if k == "" {
				if !n.optional[name] {
					p.warn("%s: dependency %q is not in the lockfile", n.where, truncate(name, 200))
				}
				continue
			}
			if d := p.nodes[k]; d != nil && d.component != nil && d.component.PURL != c.PURL {
				c.DependsOn = append(c.DependsOn, d.component.PURL)
			}
		}
		cs.add(c)
	}
	p.lf.components = cs.list()
	if p.root != nil && p.root.name != "" {
		if !npmValidName(p.root.name) {
			p.warn("root package name %q is not a valid npm name", truncate(p.root.name, 200))
			return
		}
		s := Component{Ecosystem: NPM, Name: p.root.name, Version: p.root.version,
			PURL: npmPURL(p.root.name, p.root.version), Locations: []string{p.path}}
		s.DependsOn = sortedUnique(rootDeps)
		if p.root.license != nil {
			s.Licenses = p.licenses(p.root)
		}
		p.lf.subject = &s
	}
}

// component makes the component of a node, or reports why it cannot.
func (p *npmParser) component(n *npmNode) (Component, bool) {
	if !npmValidName(n.name) {
		p.warn("%s: %q is not a valid npm package name; skipped", n.where, truncate(n.name, 200))
		return Component{}, false
	}
	v := n.version
	if v == "" && !n.folder {
		p.warn("%s: no version; skipped", n.where)
		return Component{}, false
	}
	if v != "" && !npmIsSemver(v) {
		p.warn("%s: version %q is not a semantic version; kept without a version", n.where, truncate(v, 200))
		v = ""
	}
	c := Component{Ecosystem: NPM, Name: n.name, Version: v, PURL: npmPURL(n.name, v), Locations: []string{p.path}}
	if n.integrity != "" {
		h, err := npmIntegrity(n.integrity)
		if err != nil {
			p.warn("%s.integrity: %v", n.where, err)
		}
		c.Hashes = h
	}
	c.Licenses = p.licenses(n)
	return c, true
}

func (p *npmParser) licenses(n *npmNode) []string {
	if len(n.license) == 0 || bytes.Equal(n.license, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(n.license, &s); err != nil {
		p.warn("%s.license: not a string", n.where)
		return nil
	}
	expr, err := license.Expression(s)
	if err != nil {
		p.warn("%s.license: %s", n.where, strings.TrimPrefix(err.Error(), "license: "))
		return nil
	}
	return []string{expr}
}

// npmValidName reports whether name can be an npm package name: "name" or
// "@scope/name", without spaces, control characters or path tricks.
func npmValidName(name string) bool {
	if name == "" || len(name) > 214 {
		return false
	}
	rest := name
	if scope, n, ok := strings.Cut(name, "/"); ok {
		if len(scope) < 2 || scope[0] != '@' {
			return false
		}
		rest = n
		name = scope[1:]
	} else if name[0] == '@' {
		return false
	}
	for _, part := range []string{name, rest} {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "/\\ %") {
			return false
		}
		for _, r := range part {
			if r < 0x21 || r == 0x7f {
				return false
			}
		}
	}
	return true
}

// npmIsSemver reports whether v is a full semantic version (1.2.3,
// 1.2.3-rc.1, 1.2.3+build), as npm and Cargo write the version of a
// registry package. parseCargoLock uses it too.
func npmIsSemver(v string) bool {
	if v == "" || v[0] == 'v' || !semver.IsValid("v"+v) {
		return false
	}
	core, _, _ := strings.Cut(v, "-")
	core, _, _ = strings.Cut(core, "+")
	return strings.Count(core, ".") == 2
}

// npmPURL is pkg:npm/[%40scope/]name[@version].
func npmPURL(name, version string) string {
	ns, n := "", name
	if scope, rest, ok := strings.Cut(name, "/"); ok {
		ns, n = scope, rest
	}
	return packageurl.NewPackageURL(packageurl.TypeNPM, ns, n, version, nil, "").ToString()
}

// npmIntegrity decodes a Subresource Integrity value ("sha512-<base64>",
// several separated by spaces) into Hashes. Digests of unknown algorithms
// are ignored; a malformed one is an error, with the others still returned.
func npmIntegrity(s string) (map[string]string, error) {
	var hashes map[string]string
	var errs []error
	for _, f := range strings.Fields(s) {
		alg, b64, ok := strings.Cut(f, "-")
		if !ok {
			errs = append(errs, fmt.Errorf("%q is not algorithm-base64", truncate(f, 100)))
			continue
		}
		// Options after "?" are allowed by the SRI grammar.
		b64, _, _ = strings.Cut(b64, "?")
		var name string
		var size int
		switch alg {
		case "sha1":
			name, size = "SHA-1", 20
		case "sha256":
			name, size = "SHA-256", 32
		case "sha384":
			name, size = "SHA-384", 48
		case "sha512":
			name, size = "SHA-512", 64
		default:
			continue
		}
		sum, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sum) != size {
			errs = append(errs, fmt.Errorf("%s digest %q is not %d bytes of base64", alg, truncate(b64, 100), size))
			continue
		}
		if hashes == nil {
			hashes = make(map[string]string)
		}
		hashes[name] = hex.EncodeToString(sum)
	}
	return hashes, errors.Join(errs...)
}

// npmJSONError words a JSON decoding error of the whole file, with the line
// of a syntax error.
func npmJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Sprintf("line %d: %v", line, err)
	}
	return npmFieldError(err)
}

// npmFieldError words a decoding error of one entry.
func npmFieldError(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Type == nil {
		return err.Error()
	}
	want := "a " + te.Type.Kind().String()
	switch te.Type.Kind() {
	case reflect.Struct, reflect.Map:
		want = "an object"
	case reflect.Slice, reflect.Array:
		want = "an array"
	case reflect.Int, reflect.Int64, reflect.Float64:
		want = "a number"
	case reflect.Bool:
		want = "a boolean"
	}
	msg := te.Value + " where " + want + " is expected"
	if te.Field != "" {
		msg = te.Field + ": " + msg
	}
	return msg
}
