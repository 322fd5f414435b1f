package inventory

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestWalkFindsLockfiles checks that Walk recognises each lockfile by its
// name and merges what the parsers find; the formats themselves are tested
// with their parsers.
func TestWalkFindsLockfiles(t *testing.T) {
	root := writeTree(t, map[string]string{
		"package-lock.json": `{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{
			"":{"name":"app","version":"1.0.0","dependencies":{"left-pad":"^1.3.0"}},
			"node_modules/left-pad":{"version":"1.3.0"}}}`,
		"tool/npm-shrinkwrap.json": `{"name":"@acme/tool","version":"0.2.0","lockfileVersion":3,"packages":{
			"":{"name":"@acme/tool","version":"0.2.0","devDependencies":{"left-pad":"1.3.0","is-odd":"3.0.1"}},
			"node_modules/left-pad":{"version":"1.3.0","dev":true},
			"node_modules/is-odd":{"version":"3.0.1","dev":true}}}`,
		"node_modules/left-pad/package-lock.json": `{"name":"left-pad","version":"1.3.0","lockfileVersion":3,"packages":{"":{}}}`,
		"broken/package-lock.json":                `{"lockfileVersion": 3, "packages": [`,
	})
	inv := walk(t, root, Options{})
	if inv.Subject.PURL != "pkg:npm/app@1.0.0" || !slices.Equal(inv.Subject.Locations, []string{"package-lock.json"}) {
		t.Errorf("subject %+v, want the root package-lock.json's package", inv.Subject)
	}
	want := lines(
		"pkg:npm/%40acme/tool@0.2.0 direct [tool/npm-shrinkwrap.json]",
		"pkg:npm/is-odd@3.0.1 development [tool/npm-shrinkwrap.json]",
		"pkg:npm/left-pad@1.3.0 direct [package-lock.json tool/npm-shrinkwrap.json]")
	if got := summary(inv); got != want {
		t.Errorf("components\n%s\nwant\n%s", got, want)
	}
	wantDeps := []string{"pkg:npm/%40acme/tool@0.2.0", "pkg:npm/left-pad@1.3.0"}
	if !slices.Equal(inv.Subject.DependsOn, wantDeps) {
		t.Errorf("subject depends on %q, want %q", inv.Subject.DependsOn, wantDeps)
	}
	if len(inv.Warnings) != 1 || inv.Warnings[0].Path != "broken/package-lock.json" {
		t.Errorf("warnings %q, want one for broken/package-lock.json", warningStrings(inv))
	}

	// A lockfile as the root: as if it were alone in its directory.
	inv = walk(t, filepath.Join(root, "tool", "npm-shrinkwrap.json"), Options{})
	if inv.Subject.PURL != "pkg:npm/%40acme/tool@0.2.0" || len(inv.Components) != 2 {
		t.Errorf("single lockfile: subject %s, components\n%s", inv.Subject.PURL, summary(inv))
	}
	for _, c := range inv.Components {
		if !slices.Equal(c.Locations, []string{"npm-shrinkwrap.json"}) {
			t.Errorf("single lockfile: %s located in %v", c.PURL, c.Locations)
		}
	}
}

func TestWalkFindsPythonLockfiles(t *testing.T) {
	root := writeTree(t, map[string]string{
		"requirements.txt":          "Requests==2.31.0\n",
		"requirements-dev.txt":      "pytest==8.0.0\n",
		"docs/requirements_doc.txt": "sphinx==7.2.6\nrequests==2.31.0\n",
		"requirements.in":           "flask\n",
		"notes.txt":                 "django==1.0\n",
		"svc/poetry.lock": `[[package]]
name = "urllib3"
version = "2.2.1"
description = ""
optional = false
python-versions = ">=3.8"
files = []

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "0"
`,
	})
	inv := walk(t, root, Options{})
	want := lines(
		"pkg:pypi/pytest@8.0.0 direct [requirements-dev.txt]",
		"pkg:pypi/requests@2.31.0 direct [docs/requirements_doc.txt requirements.txt]",
		"pkg:pypi/sphinx@7.2.6 direct [docs/requirements_doc.txt]",
		"pkg:pypi/urllib3@2.2.1 direct [svc/poetry.lock]")
	if got := summary(inv); got != want {
		t.Errorf("components\n%s\nwant\n%s", got, want)
	}
	if inv.Subject.Ecosystem != "" {
		t.Errorf("subject %+v: Python lockfiles name no subject", inv.Subject)
	}
	if c := inv.Component("pkg:pypi/requests@2.31.0"); c == nil || c.Ecosystem != PyPI || c.Name != "requests" {
		t.Errorf("requests: %+v, want PyPI requests", c)
	}
}

func TestWalkFindsCargoLock(t *testing.T) {
	root := writeTree(t, map[string]string{
		"Cargo.lock": `version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde",
]

[[package]]
name = "serde"
version = "1.0.197"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "3fb1c873e1b9b056a4dc4c0c198b24c3ffa059243875552b2bd0933b1aee4ce2"
`,
		"target/release/.fingerprint/x": "not an executable",
	})
	inv := walk(t, root, Options{})
	if inv.Subject.Ecosystem != CratesIO || inv.Subject.Name != "app" {
		t.Errorf("subject %+v, want the crate app of the Cargo.lock at the root", inv.Subject)
	}
	c := inv.Component("pkg:cargo/serde@1.0.197")
	if c == nil || c.Ecosystem != CratesIO || !slices.Equal(c.Locations, []string{"Cargo.lock"}) {
		t.Fatalf("serde: %+v\ncomponents\n%s", c, summary(inv))
	}
	if !slices.Contains(inv.Subject.DependsOn, c.PURL) {
		t.Errorf("subject depends on %q, want serde", inv.Subject.DependsOn)
	}
}
