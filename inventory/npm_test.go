package inventory

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lockSummary lists a lockfile's subject and components, one per line:
// "purl scope name [deps] [hashes] [licenses] [locations]", and its
// warnings.
func lockSummary(lf *lockfile) (components string, warnings []string) {
	var b strings.Builder
	line := func(prefix string, c Component) {
		var hs []string
		for _, k := range slices.Sorted(maps.Keys(c.Hashes)) {
			v := c.Hashes[k]
			hs = append(hs, k+":"+v[:min(8, len(v))])
		}
		fmt.Fprintf(&b, "%s%s %s %q %v %v %v %v\n", prefix, c.PURL, c.Scope, c.Name, c.DependsOn, hs, c.Licenses, c.Locations)
	}
	if lf.subject != nil {
		line("subject ", *lf.subject)
	}
	for _, c := range lf.components {
		line("", c)
	}
	for _, w := range lf.warnings {
		warnings = append(warnings, w.String())
	}
	return b.String(), warnings
}

// lockTest is one fixture of a parser's table test.
type lockTest struct {
	file     string // under testdata
	want     string // lockSummary's components
	warnings []string
}

func runLockTests(t *testing.T, parse func(string, []byte) (*lockfile, error), name string, tests []lockTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			lf, err := parse(name, data)
			if err != nil {
				t.Fatal(err)
			}
			got, warnings := lockSummary(lf)
			want := strings.TrimLeft(strings.ReplaceAll(tt.want, "\t", ""), "\n")
			if got != want {
				t.Errorf("components:\n%s\nwant:\n%s", got, want)
			}
			if !slices.Equal(warnings, tt.warnings) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(tt.warnings, "\n"))
			}
			for _, c := range lf.components {
				if c.Ecosystem == "" || c.Name == "" || c.PURL == "" || c.Scope == "" {
					t.Errorf("component %+v is incomplete", c)
				}
			}
		})
	}
}

func TestParseNPM(t *testing.T) {
	runLockTests(t, parseNPM, "package-lock.json", []lockTest{
		{
			file: "npm/v1.json",
			want: `
				subject pkg:npm/legacy@2.0.0  "legacy" [pkg:npm/%40types/node@18.0.0 pkg:npm/accepts@1.3.8 pkg:npm/fromgit pkg:npm/left-pad@1.3.0 pkg:npm/mime-types@2.0.0] [] [] [package-lock.json]
				pkg:npm/%40types/node@18.0.0 development "@types/node" [] [SHA-512:acc28db2] [] [package-lock.json]
				pkg:npm/accepts@1.3.8 direct "accepts" [pkg:npm/mime-types@2.1.35 pkg:npm/negotiator@0.6.3] [SHA-1:3c363836] [] [package-lock.json]
				pkg:npm/fromgit direct "fromgit" [pkg:npm/mime-db@1.52.0] [] [] [package-lock.json]
				pkg:npm/left-pad@1.3.0 direct "left-pad" [] [] [] [package-lock.json]
				pkg:npm/mime-db@1.52.0 indirect "mime-db" [] [] [] [package-lock.json]
				pkg:npm/mime-types@2.0.0 direct "mime-types" [] [] [] [package-lock.json]
				pkg:npm/mime-types@2.1.35 indirect "mime-types" [pkg:npm/mime-db@1.52.0] [] [] [package-lock.json]
				pkg:npm/negotiator@0.6.3 indirect "negotiator" [] [] [] [package-lock.json]
			`,
			warnings: []string{
				`package-lock.json: dependencies["fromgit"]: version "github:example/fromgit#abcdef0" is not a semantic version; kept without a version`,
			},
		},
		{
			// "packages" wins over "dependencies"; a dependency cycle;
			// bad entries.
			file: "npm/v2.json",
			want: `
				subject pkg:npm/tool@0.0.1  "tool" [pkg:npm/a@1.0.0] [] [] [package-lock.json]
				pkg:npm/a@1.0.0 direct "a" [pkg:npm/b@1.1.0] [] [] [package-lock.json]
				pkg:npm/b@1.1.0 indirect "b" [pkg:npm/a@1.0.0] [] [] [package-lock.json]
			`,
			warnings: []string{
				`package-lock.json: packages["node_modules/bad"]: version: number where a string is expected; skipped`,
				`package-lock.json: packages["node_modules/a"].integrity: sha512 digest "not-base64!" is not 64 bytes of base64`,
				`package-lock.json: packages["node_modules/a"].license: expression "Apache 2": unknown licence identifier "Apache" at offset 0`,
				`package-lock.json: packages[""]: dependency "missing" is not in the lockfile`,
			},
		},
		{
			// Scoped, aliased, dev, optional-and-absent, nested
			// node_modules, a workspace link, licences, git.
			file: "npm/v3.json",
			want: `
				subject pkg:npm/shop@1.4.0  "shop" [pkg:npm/%40babel/core@7.24.0 pkg:npm/%40shop/ui@0.1.0 pkg:npm/express@4.18.2 pkg:npm/jest@29.7.0 pkg:npm/left-pad@1.3.0] [] [MIT] [package-lock.json]
				pkg:npm/%40babel/core@7.24.0 direct "@babel/core" [pkg:npm/debug@4.3.4] [SHA-512:1f40fc92] [MIT] [package-lock.json]
				pkg:npm/%40shop/ui@0.1.0 direct "@shop/ui" [pkg:npm/ms@2.1.2] [] [] [package-lock.json]
				pkg:npm/debug@2.6.9 indirect "debug" [pkg:npm/ms@2.0.0] [] [] [package-lock.json]
				pkg:npm/debug@4.3.4 indirect "debug" [pkg:npm/ms@2.1.2] [SHA-1:86f7e437 SHA-512:52677688] [MIT OR Apache-2.0] [package-lock.json]
				pkg:npm/express@4.18.2 direct "express" [pkg:npm/debug@2.6.9 pkg:npm/ms@2.0.0] [] [] [package-lock.json]
				pkg:npm/gitdep indirect "gitdep" [] [] [] [package-lock.json]
				pkg:npm/jest@29.7.0 development "jest" [pkg:npm/debug@4.3.4] [] [] [package-lock.json]
				pkg:npm/left-pad@1.3.0 direct "left-pad" [] [] [] [package-lock.json]
				pkg:npm/ms@2.0.0 indirect "ms" [] [] [] [package-lock.json]
				pkg:npm/ms@2.1.2 indirect "ms" [] [] [MIT] [package-lock.json]
			`,
			warnings: []string{
				`package-lock.json: packages["node_modules/broken"]: no version; skipped`,
				`package-lock.json: packages["node_modules/express"].license: "SEE LICENSE IN LICENSE.md": the licence is in a file, not an SPDX expression`,
				`package-lock.json: packages["node_modules/gitdep"]: version "git+ssh://git@github.com/example/gitdep.git#0123456789abcdef0123456789abcdef01234567" is not a semantic version; kept without a version`,
			},
		},
	})
}

func TestParseNPMHashes(t *testing.T) {
	data, err := os.ReadFile("testdata/npm/v3.json")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := parseNPM("package-lock.json", data)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(lf.components, func(c Component) bool { return c.PURL == "pkg:npm/%40babel/core@7.24.0" })
	if i < 0 {
		t.Fatal("@babel/core is missing")
	}
	// sha512("a")
	const want = "1f40fc92da241694750979ee6cf582f2d5d7d28e18335de05abc54d0560e0f5302860c652bf08d560252aa5e74210546f369fbbbce8c12cfc7957b2652fe9a75"
	if got := lf.components[i].Hashes["SHA-512"]; got != want {
		t.Errorf("SHA-512 = %s, want %s", got, want)
	}
}

func TestParseNPMErrors(t *testing.T) {
	for _, tt := range []struct {
		name, data, want string
	}{
		{"empty", ``, "npm: package-lock.json: "},
		{"truncated", "{\n  \"packages\": {\n    \"node_modules/a\": {\"version\": \"1.0", "npm: package-lock.json: line 3: unexpected end of JSON input"},
		{"array", `[]`, "package-lock.json: array where an object is expected"},
		{"lockfileVersion string", `{"lockfileVersion": "3", "packages": {}}`, `lockfileVersion: string where a number is expected`},
		{"packages array", `{"packages": []}`, `packages: array where`},
		{"neither", `{"name": "x", "lockfileVersion": 3}`, `neither "packages" nor "dependencies"`},
		{"deep", strings.Repeat(`{"a":`, 20000) + strings.Repeat(`}`, 20000), "exceeded max depth"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := parseNPM("package-lock.json", []byte(tt.data))
			if err == nil {
				t.Fatalf("parseNPM = %+v, want an error", lf)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "npm: package-lock.json: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseNPMEntries(t *testing.T) {
	// Entry-level problems are warnings; the rest of the file is used.
	for _, tt := range []struct {
		name, data string
		want       []string // PURLs
		warning    string
	}{
		{"version number", `{"packages": {"node_modules/a": {"version": 3}, "node_modules/b": {"version": "1.0.0"}}}`,
			[]string{"pkg:npm/b@1.0.0"}, `packages["node_modules/a"]: version: number where a string is expected; skipped`},
		{"entry not an object", `{"packages": {"node_modules/a": "1.0.0"}}`, nil, `packages["node_modules/a"]: string where an object is expected; skipped`},
		{"bad name", `{"packages": {"node_modules/a b": {"version": "1.0.0"}}}`, nil, `"a b" is not a valid npm package name`},
		{"scope only", `{"packages": {"node_modules/@s": {"version": "1.0.0"}}}`, nil, `"@s" is not a valid npm package name`},
		{"licence object", `{"packages": {"node_modules/a": {"version": "1.0.0", "license": {"type": "MIT"}}}}`,
			[]string{"pkg:npm/a@1.0.0"}, `packages["node_modules/a"].license: not a string`},
		{"unlicensed", `{"packages": {"node_modules/a": {"version": "1.0.0", "license": "UNLICENSED"}}}`,
			[]string{"pkg:npm/a@1.0.0"}, `UNLICENSED: no licence is granted`},
		{"absolute key", `{"packages": {"/b": {"version": "1.1.0", "dependencies": {"a": "1"}}, "x/y/../../z": {"version": "1.0.0", "dependencies": {"a": "1"}}}}`,
			[]string{"pkg:npm/b@1.1.0", "pkg:npm/z@1.0.0"}, `dependency "a" is not in the lockfile`},
		{"link out of the tree", `{"packages": {"node_modules/a": {"resolved": "../elsewhere", "link": true}}}`, nil, ""},
		{"v1 deep", `{"dependencies": ` + strings.Repeat(`{"a": {"version": "1.0.0", "dependencies": `, 1100) + `{}` + strings.Repeat(`}}`, 1100) + `}`,
			[]string{"pkg:npm/a@1.0.0"}, "nested over 1000 deep; skipped"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := parseNPM("package-lock.json", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range lf.components {
				got = append(got, c.PURL)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("components %q, want %q", got, tt.want)
			}
			var ws []string
			for _, w := range lf.warnings {
				ws = append(ws, w.String())
			}
			if tt.warning == "" && len(ws) > 0 || tt.warning != "" && (len(ws) == 0 || !strings.Contains(strings.Join(ws, "\n"), tt.warning)) {
				t.Errorf("warnings %q, want one containing %q", ws, tt.warning)
			}
		})
	}
}

func TestNPMIntegrity(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", map[string]string{"SHA-256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, false},
		{"sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb", map[string]string{"SHA-384": "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"}, false},
		{"md5-1B2M2Y8AsgTpgAmY7PhCfg== sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=?opt", map[string]string{"SHA-256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, false},
		{"sha256-AAAA", nil, true},
		{"sha512", nil, true},
	} {
		got, err := npmIntegrity(tt.in)
		if (err != nil) != tt.err || !maps.Equal(got, tt.want) {
			t.Errorf("npmIntegrity(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseNPM(f *testing.F) {
	for _, name := range []string{"v1.json", "v2.json", "v3.json"} {
		data, err := os.ReadFile(filepath.Join("testdata/npm", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"packages": {"": {"dependencies": {"a": "1"}}, "node_modules/a": {"link": true, "resolved": "."}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := parseNPM("package-lock.json", data)
		if err != nil {
			return
		}
		checkLockfile(t, lf)
	})
}

// checkLockfile checks what every parser promises of a lockfile it
// returns: complete components with unique PURLs, sorted lists, and
// DependsOn naming only PURLs.
func checkLockfile(t *testing.T, lf *lockfile) {
	t.Helper()
	seen := make(map[string]bool)
	for _, c := range lf.components {
		if c.PURL == "" || c.Name == "" || c.Ecosystem == "" || c.Scope == "" {
			t.Fatalf("incomplete component %+v", c)
		}
		if seen[c.PURL] {
			t.Fatalf("PURL %s twice", c.PURL)
		}
		seen[c.PURL] = true
		for _, l := range [][]string{c.DependsOn, c.Licenses, c.Locations} {
			if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
				t.Fatalf("component %s: %q is not sorted and unique", c.PURL, l)
			}
		}
		for _, d := range c.DependsOn {
			if !strings.HasPrefix(d, "pkg:") {
				t.Fatalf("component %s depends on %q", c.PURL, d)
			}
		}
	}
}

func TestLockfileWarningLimit(t *testing.T) {
	var b strings.Builder
	for i := range maxFileWarnings + 50 {
		fmt.Fprintf(&b, "pkg%d\n", i)
	}
	lf, err := parseRequirements("requirements.txt", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(lf.components) != maxFileWarnings+50 || len(lf.warnings) != maxFileWarnings+1 {
		t.Fatalf("%d components, %d warnings", len(lf.components), len(lf.warnings))
	}
	if last := lf.warnings[maxFileWarnings].Msg; last != "over 1000 warnings; the rest are not shown" {
		t.Errorf("last warning %q", last)
	}
}
