package inventory

import (
	"reflect"
	"strings"
	"testing"
)

// h1 is a well-formed go.sum hash.
const h1 = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

func sumLines(mods ...string) string {
	var b strings.Builder
	for _, m := range mods {
		b.WriteString(m + " " + h1 + "\n")
	}
	return b.String()
}

func TestGoMod(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tree       map[string]string
		subject    string
		dependsOn  []string
		components string
		warnings   []string
	}{{
		name: "requires with go.sum",
		tree: map[string]string{
			"go.mod": `module example.com/app

go 1.21

require (
	example.com/direct v1.2.3
	example.com/pseudo v0.0.0-20240102030405-abcdefabcdef
	example.com/ind v0.1.0 // indirect
)
`,
			"go.sum": sumLines("example.com/direct v1.2.3", "example.com/direct v1.2.3/go.mod",
				"example.com/pseudo v0.0.0-20240102030405-abcdefabcdef/go.mod", "example.com/ind v0.1.0/go.mod"),
		},
		subject: "pkg:golang/example.com/app",
		dependsOn: []string{"pkg:golang/example.com/direct@v1.2.3", "pkg:golang/example.com/ind@v0.1.0",
			"pkg:golang/example.com/pseudo@v0.0.0-20240102030405-abcdefabcdef"},
		components: lines(
			"pkg:golang/example.com/direct@v1.2.3 direct [go.mod]",
			"pkg:golang/example.com/ind@v0.1.0 indirect [go.mod]",
			"pkg:golang/example.com/pseudo@v0.0.0-20240102030405-abcdefabcdef direct [go.mod]"),
	}, {
		name:      "no go.sum: no go.sum warnings",
		tree:      map[string]string{"go.mod": "module example.com/app\n\ngo 1.22.4\n\nrequire example.com/a v1.0.0\n"},
		subject:   "pkg:golang/example.com/app",
		dependsOn: []string{"pkg:golang/example.com/a@v1.0.0"},
		components: lines(
			"pkg:golang/example.com/a@v1.0.0 direct [go.mod]"),
	}, {
		name:    "toolchain directive: no stdlib",
		tree:    map[string]string{"go.mod": "module example.com/app\n\ngo 1.21\n\ntoolchain go1.22.3\n"},
		subject: "pkg:golang/example.com/app",
	}, {
		name:    "toolchain with a suffix: no stdlib",
		tree:    map[string]string{"go.mod": "module example.com/app\n\ngo 1.21\n\ntoolchain go1.23.1-custom\n"},
		subject: "pkg:golang/example.com/app",
	}, {
		name:    "no go directive",
		tree:    map[string]string{"go.mod": "module example.com/app\n"},
		subject: "pkg:golang/example.com/app",
	}, {
		name: "replace and exclude",
		tree: map[string]string{
			"go.mod": `module example.com/app

go 1.22.0

require (
	example.com/old v1.0.0
	example.com/pinned v1.1.0
	example.com/local v0.3.0
	example.com/excluded v2.0.0+incompatible
	example.com/kept v1.0.0
)

replace example.com/old => example.com/new v1.5.0

replace example.com/pinned v1.1.0 => example.com/fork v1.1.1

replace example.com/pinned v1.0.9 => example.com/never v1.0.0

replace example.com/local => ./local

exclude example.com/excluded v2.0.0+incompatible
`,
			"go.sum": sumLines("example.com/new v1.5.0/go.mod", "example.com/fork v1.1.1/go.mod", "example.com/kept v1.0.0"),
		},
		subject: "pkg:golang/example.com/app",
		dependsOn: []string{"pkg:golang/example.com/fork@v1.1.1", "pkg:golang/example.com/kept@v1.0.0",
			"pkg:golang/example.com/new@v1.5.0"},
		components: lines(
			"pkg:golang/example.com/fork@v1.1.1 direct [go.mod]",
			"pkg:golang/example.com/kept@v1.0.0 direct [go.mod]",
			"pkg:golang/example.com/new@v1.5.0 direct [go.mod]"),
	}, {
		name: "go.sum misses a require and has a bad line",
		tree: map[string]string{
			"go.mod": "module example.com/app\n\ngo 1.22.0\n\nrequire (\n\texample.com/a v1.0.0\n\texample.com/b v1.0.0\n)\n",
			"go.sum": sumLines("example.com/a v1.0.0/go.mod") + "example.com/b v1.0.0 sha256:xyz\n\nexample.com/c v1.0.0 h1:short\n",
		},
		subject:   "pkg:golang/example.com/app",
		dependsOn: []string{"pkg:golang/example.com/a@v1.0.0", "pkg:golang/example.com/b@v1.0.0"},
		components: lines(
			"pkg:golang/example.com/a@v1.0.0 direct [go.mod]",
			"pkg:golang/example.com/b@v1.0.0 direct [go.mod]"),
		warnings: []string{
			"go.mod:7: example.com/b@v1.0.0 is not in go.sum",
			`go.sum:2: malformed go.sum line "example.com/b v1.0.0 sha256:xyz"`,
			`go.sum:4: malformed go.sum line "example.com/c v1.0.0 h1:short"`,
		},
	}, {
		name:     "go.mod that does not parse",
		tree:     map[string]string{"go.mod": "module example.com/app\n\nrequire example.com/a\n"},
		subject:  "pkg:generic/",
		warnings: []string{"go.mod:3: go.mod: usage: require module/path v1.2.3"},
	}, {
		name: "nested module: a component of its own, requires merged",
		tree: map[string]string{
			"go.mod":       "module example.com/app\n\ngo 1.22.0\n\nrequire (\n\texample.com/shared v1.0.0 // indirect\n\texample.com/tools v0.1.0\n)\n",
			"tools/go.mod": "module example.com/tools\n\ngo 1.23.0\n\nrequire example.com/shared v1.0.0\n",
		},
		subject: "pkg:golang/example.com/app",
		dependsOn: []string{"pkg:golang/example.com/shared@v1.0.0", "pkg:golang/example.com/tools",
			"pkg:golang/example.com/tools@v0.1.0"},
		components: lines(
			"pkg:golang/example.com/shared@v1.0.0 direct [go.mod tools/go.mod]",
			"pkg:golang/example.com/tools direct [tools/go.mod]",
			"pkg:golang/example.com/tools@v0.1.0 direct [go.mod]"),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			root := writeTree(t, tc.tree)
			inv := walk(t, root, Options{})
			subject := inv.Subject.PURL
			if strings.HasPrefix(tc.subject, "pkg:generic/") {
				subject = "pkg:generic/"
			}
			if subject != tc.subject {
				t.Errorf("subject %s, want %s", inv.Subject.PURL, tc.subject)
			}
			if !reflect.DeepEqual(inv.Subject.DependsOn, tc.dependsOn) {
				t.Errorf("subject depends on\n%q\nwant\n%q", inv.Subject.DependsOn, tc.dependsOn)
			}
			if got := summary(inv); got != tc.components {
				t.Errorf("components\n%s\nwant\n%s", got, tc.components)
			}
			if got := warningStrings(inv); !reflect.DeepEqual(got, tc.warnings) {
				t.Errorf("warnings\n%q\nwant\n%q", got, tc.warnings)
			}
		})
	}
}

func TestNestedModuleDependsOn(t *testing.T) {
	root := writeTree(t, map[string]string{
		"go.mod":     "module example.com/app\n",
		"sub/go.mod": "module example.com/app/sub\n\ngo 1.22.0\n\nrequire example.com/x v1.0.0\n",
	})
	inv := walk(t, root, Options{})
	c := inv.Component("pkg:golang/example.com/app/sub")
	if c == nil {
		t.Fatalf("no nested module component:\n%s", summary(inv))
	}
	want := []string{"pkg:golang/example.com/x@v1.0.0"}
	if c.Scope != Direct || !reflect.DeepEqual(c.DependsOn, want) {
		t.Errorf("nested module: scope %s, depends on %q; want direct, %q", c.Scope, c.DependsOn, want)
	}
}

func TestGoSumParse(t *testing.T) {
	sums, ws := parseGoSum("go.sum", []byte("a.com/x v1.0.0 "+h1+"\r\na.com/x v1.0.0/go.mod "+h1+"\n  \nbad\na b c d\n"))
	if len(sums) != 2 {
		t.Errorf("%d sums, want 2", len(sums))
	}
	if len(ws) != 2 || ws[0].Line != 4 || ws[1].Line != 5 {
		t.Errorf("warnings %v, want lines 4 and 5", ws)
	}
}

// TestGoSumWarningsBounded: a go.sum of garbage lines gives at most
// maxFileWarnings warnings and one saying the rest are not shown.
func TestGoSumWarningsBounded(t *testing.T) {
	_, ws := parseGoSum("go.sum", []byte(strings.Repeat("bad\n", 3*maxFileWarnings)))
	if len(ws) != maxFileWarnings+1 {
		t.Fatalf("%d warnings, want %d", len(ws), maxFileWarnings+1)
	}
	if last := ws[len(ws)-1]; !strings.Contains(last.Msg, "the rest are not shown") {
		t.Errorf("last warning %q, want one saying the rest are not shown", last.Msg)
	}
}

func TestGoPURL(t *testing.T) {
	for _, tc := range []struct{ path, version, want string }{
		{"github.com/gorilla/mux", "v1.8.0", "pkg:golang/github.com/gorilla/mux@v1.8.0"},
		{"stdlib", "1.22.1", "pkg:golang/stdlib@1.22.1"},
		{"gopkg.in/yaml.v3", "v3.0.1", "pkg:golang/gopkg.in/yaml.v3@v3.0.1"},
		{"github.com/blang/semver", "v3.5.1+incompatible", "pkg:golang/github.com/blang/semver@v3.5.1%2Bincompatible"},
		{"example.com/a b", "", "pkg:golang/example.com/a%20b"},
	} {
		if got := goPURL(tc.path, tc.version); got != tc.want {
			t.Errorf("goPURL(%q, %q) = %q, want %q", tc.path, tc.version, got, tc.want)
		}
	}
}

func TestGoStdlibVersion(t *testing.T) {
	for in, want := range map[string]string{
		"go1.22.1":                "1.22.1",
		"go1.21":                  "1.21.0",
		"go1.22.3-custom":         "1.22.3",
		"go1.23rc1":               "1.23.0-rc.1",
		"go1.22.1 X:boringcrypto": "1.22.1",
		"devel go1.24-abcdef":     "",
		"1.22.1":                  "",
		"":                        "",
	} {
		if got := goStdlibVersion(in); got != want {
			t.Errorf("goStdlibVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
