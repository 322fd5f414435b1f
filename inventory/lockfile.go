package inventory

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// lockfile is what one parser found in one input file. Each parser has the
// signature
//
//	func(path string, data []byte) (*lockfile, error)
//
// where path is the file's slash-separated path relative to the walk's root
// (for Locations and Warnings) and data its whole content. A parser returns
// an error only when the file is unusable as a whole (not the format it
// claims, truncated); Walk turns that error into a Warning. Problems with
// single entries (a dependency without a version, an unknown version
// scheme) go into warnings and the entry is skipped or kept without a
// version, as the parser documents.
type lockfile struct {
	// subject is the package the file itself describes, when it names
	// one (package-lock.json's "name" and "version", the root package of
	// a Cargo.lock); nil otherwise.
	subject *Component
	// components are the dependencies the file lists, with Ecosystem,
	// Name, Version, PURL, Scope, Locations (just path) and, where the
	// file records them, Hashes, Licenses and DependsOn filled in.
	components []Component
	warnings   []Warning
}

// maxFileWarnings bounds the warnings of one file; a file with more
// problems than that says so in one last warning.
const maxFileWarnings = 1000

// warn adds w to lf's warnings, up to maxFileWarnings.
func (lf *lockfile) warn(w Warning) {
	lf.warnings = appendWarning(lf.warnings, w)
}

// appendWarning appends w to the warnings ws of one file, up to
// maxFileWarnings; the one after those says that the rest are not shown.
func appendWarning(ws []Warning, w Warning) []Warning {
	switch n := len(ws); {
	case n < maxFileWarnings:
		ws = append(ws, w)
	case n == maxFileWarnings:
		ws = append(ws, Warning{Path: w.Path, Msg: fmt.Sprintf("over %d warnings; the rest are not shown", maxFileWarnings)})
	}
	return ws
}

// componentSet collects components by PURL, merging repeats (the same
// package installed in two folders, or found in two files): Scope the
// strongest, the rest united (mergeComponent). The lockfile parsers and
// Walk's builder share it.
type componentSet map[string]*Component

// add merges c into the set. A component new to the set is copied, lists
// and Hashes too, so that later merges never write into the caller's.
func (cs componentSet) add(c Component) {
	old, ok := cs[c.PURL]
	if !ok {
		c.Locations = slices.Clone(c.Locations)
		c.Licenses = slices.Clone(c.Licenses)
		c.DependsOn = slices.Clone(c.DependsOn)
		c.Hashes = maps.Clone(c.Hashes)
		cs[c.PURL] = &c
		return
	}
	mergeComponent(old, c)
}

// list returns the components sorted by PURL, with their lists sorted and
// without duplicates.
func (cs componentSet) list() []Component {
	out := make([]Component, 0, len(cs))
	for _, c := range cs {
		c.Licenses = sortedUnique(c.Licenses)
		c.Locations = sortedUnique(c.Locations)
		c.DependsOn = sortedUnique(c.DependsOn)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(x, y Component) int { return cmp.Compare(x.PURL, y.PURL) })
	return out
}
