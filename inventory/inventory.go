// Package inventory finds the software components of a source tree or of built
// binaries: what `hallmark sbom` writes out and what `hallmark scan` matches
// against the vulnerability database.
//
// An Inventory is the result of one Walk: the subject (the main module,
// package or binary the walk was about), the components it was built from,
// and the files that carry executable content with their digests. It is plain
// data, independent of any SBOM format; package sbom renders it as CycloneDX
// or SPDX and reads those formats back into it.
//
// Components are identified by their package URL (purl-spec), which is also
// the key that Component.DependsOn refers to. Ecosystem, Name and Version are
// spelled as the OSV schema spells them, so that a component can be looked up
// in the vulnerability database without translation: Go module paths with
// versions carrying their leading "v", npm names with their scope, PyPI names
// normalized as PEP 503 says, crates.io names as written.
//
// Walk never fails on one bad input file: a lockfile that does not parse,
// a version that is not known, a binary that is truncated, each becomes a
// Warning naming the file (and line where there is one), and the walk goes on.
// Walk fails only when the root itself cannot be read.
package inventory

import (
	"cmp"
	"slices"
	"strconv"
)

// Ecosystem is an OSV ecosystem name.
type Ecosystem string

// The ecosystems Walk finds components of.
const (
	Go       Ecosystem = "Go"
	NPM      Ecosystem = "npm"
	PyPI     Ecosystem = "PyPI"
	CratesIO Ecosystem = "crates.io"
)

// Scope says how a component is related to the subject.
type Scope string

// The scopes of a component.
const (
	// Direct: the subject names the component itself (a require without
	// "// indirect", a top-level dependency of a lockfile).
	Direct Scope = "direct"
	// Indirect: the component is a dependency of a dependency.
	Indirect Scope = "indirect"
	// Toolchain: the component is the toolchain or its standard library
	// (Go's "stdlib" and "toolchain").
	Toolchain Scope = "toolchain"
	// Development: a dependency used only to develop or test the subject
	// (npm devDependencies, Poetry's dev groups).
	Development Scope = "development"
)

// Component is one package the subject is built from.
type Component struct {
	Ecosystem Ecosystem
	Name      string
	Version   string // "" when the input does not pin one
	// PURL is the component's package URL, unique within an Inventory.
	PURL  string
	Scope Scope
	// Licenses are SPDX license identifiers or expressions, sorted and
	// without duplicates; empty when unknown.
	Licenses []string
	// Hashes are digests of the component's distributed archive as the
	// lockfile records them (npm integrity, Cargo.lock checksum), by
	// algorithm name as CycloneDX writes it ("SHA-256", "SHA-512") and
	// lowercase hex.
	Hashes map[string]string
	// Locations are the files, slash-separated and relative to the walk's
	// root, that declare the component, sorted.
	Locations []string
	// DependsOn holds the PURLs of the components this one depends on,
	// sorted; nil when the input does not say.
	DependsOn []string
}

// File is a file found by the walk that carries executable content.
type File struct {
	// Path is slash-separated and relative to the walk's root; when the
	// root is the file itself, its base name.
	Path   string
	Size   int64
	SHA256 string // lowercase hex
	// Format is "elf", "pe" or "macho".
	Format string
	// Components lists the PURLs of the components the binary's own build
	// information names (Go build info), sorted.
	Components []string
}

// Warning is an input the walk could not use in full.
type Warning struct {
	Path string // slash-separated, relative to the root
	Line int    // 1-based, 0 when not known
	Msg  string
}

func (w Warning) String() string {
	if w.Line > 0 {
		return w.Path + ":" + strconv.Itoa(w.Line) + ": " + w.Msg
	}
	return w.Path + ": " + w.Msg
}

// Inventory is what one Walk found.
type Inventory struct {
	// Subject is the main component: the main module of a Go source tree,
	// the package of a package.json, the main module of a Go binary, or
	// for anything else a component named after the root directory or file
	// with Ecosystem "".
	Subject Component
	// Components are the subject's components, sorted by PURL, each PURL
	// once. The subject is not among them.
	Components []Component
	// Files are the files with executable content, sorted by Path.
	Files    []File
	Warnings []Warning
}

// Component returns the component with the given PURL, the subject included,
// or nil.
func (inv *Inventory) Component(purl string) *Component {
	if inv.Subject.PURL == purl {
		return &inv.Subject
	}
	i, ok := slices.BinarySearchFunc(inv.Components, purl, func(c Component, p string) int {
		return cmp.Compare(c.PURL, p)
	})
	if !ok {
		return nil
	}
	return &inv.Components[i]
}
