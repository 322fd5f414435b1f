package inventory

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/package-url/packageurl-go"
)

// The sources of crates.io packages in a Cargo.lock: the git index and the
// sparse index.
const (
	cargoCratesIOGit    = "registry+https://github.com/rust-lang/crates.io-index"
	cargoCratesIOSparse = "sparse+https://index.crates.io/"
)

// parseCargoLock reads a Cargo.lock, format versions 1 to 4
// (https://doc.rust-lang.org/cargo/guide/cargo-toml-vs-cargo-lock.html; the
// format is Cargo's own: version 1 has no "version" key and keeps checksums
// in [metadata] as "checksum <name> <version> (<source>)" = "<hex>"; version
// 2 moved them to each package's "checksum" and shortened dependencies to
// "name" or "name version" where unambiguous; versions 3 and 4 change
// encodings that do not matter here).
//
// Each [[package]] is a component with Ecosystem "crates.io", its name and
// version as written, PURL pkg:cargo/name@version, Hashes["SHA-256"] its
// checksum, DependsOn its "dependencies" ("name", "name version" or
// "name version (source)", each resolved to the one package it names; a
// dependency that names no package, or several, is left out with a
// warning). Cargo.lock does not tell dev-dependencies apart: there is no
// Development scope.
//
// The source says what a package is:
//   - the crates.io index (git or sparse): a crates.io release;
//   - another registry or git: kept without a version, its PURL qualified
//     with repository_url or vcs_url, with a warning: advisories for the
//     crates.io crate of that name do not apply to it by version;
//   - none: a package of the workspace itself (a member, or a path
//     dependency). Cargo.lock does not say which is the root: when exactly
//     one of these packages is not a dependency of another one, it is the
//     subject (a crate and its path dependencies); otherwise (a workspace of
//     independent members) there is no subject. The other workspace
//     packages are Direct components, as are the packages they or the
//     subject depend on; the rest are Indirect.
//
// A package with wrong types ("version = 3") or without name or version is
// skipped with a warning; data that is not TOML, or has a version above 4,
// is an error.
func parseCargoLock(path string, data []byte) (*lockfile, error) {
	var doc struct {
		Version  int               `toml:"version"`
		Package  []toml.Primitive  `toml:"package"`
		Metadata map[string]string `toml:"metadata"`
	}
	md, err := pyDecodeTOML(data, &doc)
	if err != nil {
		return nil, fmt.Errorf("cargo: %s: %w", path, err)
	}
	if doc.Version < 0 || doc.Version > 4 {
		return nil, fmt.Errorf("cargo: %s: unknown format version %d", path, doc.Version)
	}
	lf := &lockfile{}
	warn := func(format string, args ...any) {
		lf.warn(Warning{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	var pkgs []*cargoPkg
	byName := make(map[string][]*cargoPkg)
	for i, prim := range doc.Package {
		var p struct {
			Name         string   `toml:"name"`
			Version      string   `toml:"version"`
			Source       string   `toml:"source"`
			Checksum     string   `toml:"checksum"`
			Dependencies []string `toml:"dependencies"`
		}
		where := fmt.Sprintf("package[%d]", i)
		if err := md.PrimitiveDecode(prim, &p); err != nil {
			warn("%s: %s; skipped", where, strings.TrimPrefix(err.Error(), "toml: "))
			continue
		}
		if !cargoValidName(p.Name) {
			warn("%s: name %q is not a crate name; skipped", where, truncate(p.Name, 100))
			continue
		}
		where = fmt.Sprintf("package %q", p.Name)
		if p.Version == "" {
			warn("%s: no version; skipped", where)
			continue
		}
		where = fmt.Sprintf("package %q %q", p.Name, truncate(p.Version, 100))
		version := p.Version
		if !npmIsSemver(version) {
			warn("%s: version is not a semantic version; kept without a version", where)
			version = ""
		}
		var qual packageurl.Qualifiers
		switch {
		case p.Source == "" || p.Source == cargoCratesIOGit || p.Source == cargoCratesIOSparse:
		case strings.HasPrefix(p.Source, "git+"):
			warn("%s: from git (%s), not a crates.io release; kept without a version", where, truncate(p.Source, 200))
			qual = packageurl.QualifiersFromMap(map[string]string{"vcs_url": p.Source})
			version = ""
		default:
			src, _, _ := strings.Cut(p.Source, "#")
			warn("%s: from the registry %s, not crates.io; kept without a version", where, truncate(src, 200))
			qual = packageurl.QualifiersFromMap(map[string]string{"repository_url": src})
			version = ""
		}
		c := Component{
			Ecosystem: CratesIO,
			Name:      p.Name,
			Version:   version,
			PURL:      packageurl.NewPackageURL(packageurl.TypeCargo, "", p.Name, version, qual, "").ToString(),
			Locations: []string{path},
		}
		sum := p.Checksum
		if sum == "" && doc.Metadata != nil {
			key := "checksum " + p.Name + " " + p.Version
			if p.Source != "" {
				key += " (" + p.Source + ")"
			}
			sum = doc.Metadata[key]
		}
		if sum != "" && sum != "<none>" {
			if b, err := hex.DecodeString(sum); err == nil && len(b) == 32 {
				c.Hashes = map[string]string{"SHA-256": strings.ToLower(sum)}
			} else {
				warn("%s: checksum %q is not a SHA-256 in hex", where, truncate(sum, 100))
			}
		}
		k := &cargoPkg{name: p.Name, version: p.Version, source: p.Source, where: where, deps: p.Dependencies, c: c}
		pkgs = append(pkgs, k)
		byName[p.Name] = append(byName[p.Name], k)
	}
	// Resolve dependencies.
	var local []*cargoPkg
	directs := make(map[*cargoPkg]bool) // depended on by a workspace package
	for _, k := range pkgs {
		if k.source == "" {
			local = append(local, k)
		}
	}
	isLocal := func(k *cargoPkg) bool { return k.source == "" }
	for _, k := range pkgs {
		for _, d := range k.deps {
			t, msg := cargoResolve(byName, d)
			if t == nil {
				warn("%s: dependency %q %s; left out", k.where, truncate(d, 200), msg)
				continue
			}
			if t.c.PURL != k.c.PURL {
				k.c.DependsOn = append(k.c.DependsOn, t.c.PURL)
			}
			if isLocal(k) && t != k {
				directs[t] = true
			}
		}
	}
	// The root: the one workspace package no other one depends on.
	var root *cargoPkg
	for _, k := range local {
		if !directs[k] {
			if root != nil {
				root = nil
				break
			}
			root = k
		}
	}
	cs := componentSet{}
	for _, k := range pkgs {
		switch {
		case k == root:
			s := k.c
			s.DependsOn = sortedUnique(s.DependsOn)
			lf.subject = &s
			continue
		case isLocal(k) || directs[k]:
			k.c.Scope = Direct
		default:
			k.c.Scope = Indirect
		}
		cs.add(k.c)
	}
	lf.components = cs.list()
	return lf, nil
}

// cargoResolve finds the package a dependency entry names, or says why it
// cannot.
func cargoResolve(byName map[string][]*cargoPkg, dep string) (*cargoPkg, string) {
	name, rest, _ := strings.Cut(strings.TrimSpace(dep), " ")
	version, source, _ := strings.Cut(rest, " ")
	source = strings.TrimSuffix(strings.TrimPrefix(source, "("), ")")
	var found *cargoPkg
	n := 0
	for _, k := range byName[name] {
		if version != "" && k.version != version || source != "" && k.source != source {
			continue
		}
		found = k
		n++
	}
	switch n {
	case 0:
		return nil, "names no package of the lockfile"
	case 1:
		return found, ""
	}
	return nil, "names several packages"
}

// cargoPkg is a [[package]] of a Cargo.lock being read.
type cargoPkg struct {
	name, version, source string
	where                 string // how warnings name it
	deps                  []string
	c                     Component
}

// cargoValidName reports whether name can be a crate name: ASCII letters,
// digits, "-" and "_", at most 64 bytes.
func cargoValidName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
