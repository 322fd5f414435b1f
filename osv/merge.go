package osv

import (
	"cmp"
	"slices"
	"strings"
)

// Group is one vulnerability described by one or more records that name
// each other through their ids and aliases.
type Group struct {
	// ID is the primary id, chosen among IDs: first an ecosystem-native id
	// (anything that is neither GHSA- nor CVE-: GO-, PYSEC-, RUSTSEC-, MAL-,
	// ...), then a GHSA- id, then a CVE- id; within a class, the id of a
	// record in the group before an id only seen as an alias; then the
	// lexically smallest.
	ID string
	// IDs are all the ids of the group's records and their aliases, sorted.
	IDs []string
	// Records are the group's records, in input order.
	Records []*Record
}

// idClass ranks ids for the choice of a group's primary id.
func idClass(id string) int {
	switch {
	case strings.HasPrefix(id, "GHSA-"):
		return 1
	case strings.HasPrefix(id, "CVE-"):
		return 2
	}
	return 0
}

// Merge groups records that share an id through their aliases, transitively
// (A aliases B, C aliases B: A, B and C are one group), with a union-find
// over ids. Records with the same id fall in the same group. The related
// field is ignored. Groups are sorted by primary id; nil records are
// skipped.
func Merge(records []*Record) []Group {
	parent := map[string]string{}
	var find func(string) string
	find = func(id string) string {
		p, ok := parent[id]
		if !ok {
			parent[id] = id
			return id
		}
		if p == id {
			return id
		}
		root := find(p)
		parent[id] = root
		return root
	}
	union := func(a, b string) {
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	isRecord := map[string]bool{}
	for _, r := range records {
		if r == nil {
			continue
		}
		isRecord[r.ID] = true
		find(r.ID)
		for _, a := range r.Aliases {
			if a != "" {
				union(r.ID, a)
			}
		}
	}

	byRoot := map[string]*Group{}
	var roots []string
	for _, r := range records {
		if r == nil {
			continue
		}
		root := find(r.ID)
		g, ok := byRoot[root]
		if !ok {
			g = &Group{}
			byRoot[root] = g
			roots = append(roots, root)
		}
		g.Records = append(g.Records, r)
	}
	for id := range parent {
		if g := byRoot[find(id)]; g != nil {
			g.IDs = append(g.IDs, id)
		}
	}
	groups := make([]Group, 0, len(roots))
	for _, root := range roots {
		g := byRoot[root]
		slices.Sort(g.IDs)
		g.ID = slices.MinFunc(g.IDs, func(a, b string) int {
			return cmp.Or(
				cmp.Compare(idClass(a), idClass(b)),
				cmp.Compare(b2i(!isRecord[a]), b2i(!isRecord[b])),
				strings.Compare(a, b),
			)
		})
		groups = append(groups, *g)
	}
	slices.SortFunc(groups, func(a, b Group) int { return strings.Compare(a.ID, b.ID) })
	return groups
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
