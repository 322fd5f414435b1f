package inventory

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/hallmark-dev/hallmark/osv"
	"github.com/package-url/packageurl-go"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// goModule is what one go.mod (with the go.sum beside it) says.
type goModule struct {
	path       string      // the module path of the "module" directive
	components []Component // requires after replace and exclude
	requires   []string    // PURLs of the requires, sorted
	warnings   []Warning
}

// parseGoMod parses the go.mod at rel (data) strictly, as the go command
// parses a main module's go.mod. sum is the go.sum beside it (sumRel its
// path), nil when there is none.
//
// Each require becomes a component with the version as written (pseudo-
// versions kept) and Scope Direct, or Indirect with "// indirect". Replace
// directives apply first: a replacement by a module (it has a version)
// substitutes path and version; a replacement by a directory drops the
// require, since that code is in the tree. Excluded versions are dropped.
//
// The go and toolchain directives do not make a "stdlib" component: the go
// directive is only the oldest release the module accepts and the toolchain
// directive the one the go command prefers, neither the release that built
// anything. osv-scanner (2.5, its default ScanGoModVersion=false) leaves the
// go.mod's stdlib out of its scans for the same reason, and syft out of its
// SBOMs. The release that built a binary is its stdlib component (binary.go).
func parseGoMod(rel string, data []byte, sumRel string, sum []byte) (*goModule, error) {
	f, err := modfile.Parse(rel, data, nil)
	if err != nil {
		var list modfile.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			// Report the first error at its line, without the file
			// name and position the Warning already carries.
			e := list[0]
			e.Filename, e.Pos = "", modfile.Position{}
			return nil, &lineError{line: list[0].Pos.Line, msg: "go.mod: " + e.Error()}
		}
		return nil, fmt.Errorf("go.mod: %w", err)
	}
	if f.Module == nil || f.Module.Mod.Path == "" {
		return nil, errors.New("go.mod: no module directive")
	}
	m := &goModule{path: f.Module.Mod.Path}

	var sums map[module.Version]bool
	if sum != nil {
		var ws []Warning
		sums, ws = parseGoSum(sumRel, sum)
		m.warnings = append(m.warnings, ws...)
	}

	excluded := make(map[module.Version]bool, len(f.Exclude))
	for _, e := range f.Exclude {
		excluded[e.Mod] = true
	}
	for _, r := range f.Require {
		if excluded[r.Mod] {
			continue
		}
		mod, keep := applyReplace(f.Replace, r.Mod)
		if !keep {
			continue
		}
		scope := Direct
		if r.Indirect {
			scope = Indirect
		}
		if sums != nil && !sums[mod] && !sums[module.Version{Path: mod.Path, Version: mod.Version + "/go.mod"}] {
			line := 0
			if r.Syntax != nil {
				line = r.Syntax.Start.Line
			}
			m.warnings = append(m.warnings, Warning{Path: rel, Line: line,
				Msg: mod.Path + "@" + mod.Version + " is not in go.sum"})
		}
		c := goComponent(mod.Path, mod.Version, scope, rel)
		m.components = append(m.components, c)
		m.requires = append(m.requires, c.PURL)
	}
	m.requires = sortedUnique(m.requires)

	return m, nil
}

// lineError is an error at a line of the file a Warning names.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

// applyReplace returns what mod becomes under the replace directives, and
// false when it is replaced by a directory. A replace naming a version
// applies to that version only and takes precedence over one without, as
// in the go command.
func applyReplace(reps []*modfile.Replace, mod module.Version) (module.Version, bool) {
	var match *modfile.Replace
	for _, r := range reps {
		if r.Old.Path != mod.Path {
			continue
		}
		if r.Old.Version == mod.Version {
			match = r
			break
		}
		if r.Old.Version == "" && match == nil {
			match = r
		}
	}
	if match == nil {
		return mod, true
	}
	if match.New.Version == "" {
		return module.Version{}, false
	}
	return match.New, true
}

// parseGoSum reads a go.sum: each non-blank line is "path version h1:hash"
// where version may end in "/go.mod" and hash is the standard base64 of 32
// bytes. A line that is not of this form becomes a Warning (up to
// maxFileWarnings of them) and is skipped.
func parseGoSum(rel string, data []byte) (map[module.Version]bool, []Warning) {
	sums := make(map[module.Version]bool)
	var ws []Warning
	for i, line := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimSuffix(string(line), "\r")
		if strings.TrimSpace(s) == "" {
			continue
		}
		f := strings.Fields(s)
		if len(f) != 3 || !validGoSumHash(f[2]) {
			ws = appendWarning(ws, Warning{Path: rel, Line: i + 1, Msg: fmt.Sprintf("malformed go.sum line %q", truncate(s, 200))})
			continue
		}
		sums[module.Version{Path: f[0], Version: f[1]}] = true
	}
	return sums, ws
}

func validGoSumHash(h string) bool {
	b64, ok := strings.CutPrefix(h, "h1:")
	if !ok {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && len(b) == 32
}

// truncate cuts s to at most n bytes (and "...") on a UTF-8 character
// boundary, for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// goStdlibVersion turns a Go toolchain name ("go1.22.3", "go1.22.3-custom",
// "go1.23rc1", "go1.22.1 X:boringcrypto") into the stdlib version of the Go
// vulnerability database ("1.22.3", "1.23.0-rc.1"), or "" when it names no
// release ("devel go1.24-abcdef").
func goStdlibVersion(name string) string {
	name, _, _ = strings.Cut(name, " ")
	name, _, _ = strings.Cut(name, "-")
	return osv.GoVersion(name)
}

// goComponent is the component of module path at version.
func goComponent(modPath, version string, scope Scope, loc string) Component {
	return Component{
		Ecosystem: Go,
		Name:      modPath,
		Version:   version,
		PURL:      goPURL(modPath, version),
		Scope:     scope,
		Locations: []string{loc},
	}
}

// stdlibComponent is Go's standard library at version (no leading "v").
//
// Its PURL is pkg:golang/stdlib@1.22.3, without a "v": that is what syft
// and osv-scanner write for the standard library (trivy writes a "v").
func stdlibComponent(version, loc string) Component {
	return Component{
		Ecosystem: Go,
		Name:      "stdlib",
		Version:   version,
		PURL:      goPURL("stdlib", version),
		Scope:     Toolchain,
		Locations: []string{loc},
	}
}

// goPURL is pkg:golang/<module path>@<version>: purl-spec's golang type puts
// the module path up to its last slash in the namespace and the rest in the
// name, each segment percent-encoded where needed.
func goPURL(modPath, version string) string {
	ns, name := "", modPath
	if i := strings.LastIndexByte(modPath, '/'); i >= 0 {
		ns, name = modPath[:i], modPath[i+1:]
	}
	return packageurl.NewPackageURL(packageurl.TypeGolang, ns, name, version, nil, "").ToString()
}
