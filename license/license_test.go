package license

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/licensecheck"
)

func TestDir(t *testing.T) {
	for _, tt := range []struct {
		dir  string
		want []string
	}{
		{"mit", []string{"MIT"}},
		{"dual", []string{"Apache-2.0", "MIT"}},
		{"bsd3", []string{"BSD-3-Clause"}},
		{"none", nil},    // README and license.go are not licence files
		{"partial", nil}, // quotes a licence in a small part of it
		{"empty", nil},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			got, err := Dir(filepath.Join("testdata", tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Dir = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDirSkips(t *testing.T) {
	mit, err := os.ReadFile("testdata/mit/LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("oversized", func(t *testing.T) {
		dir := t.TempDir()
		big := bytes.Repeat(mit, MaxFileSize/len(mit)+1)
		if err := os.WriteFile(filepath.Join(dir, "LICENSE"), big, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Dir(dir)
		if err != nil || got != nil {
			t.Errorf("Dir = %q, %v; want nil, nil", got, err)
		}
	})
	t.Run("symlink and directory", func(t *testing.T) {
		dir := t.TempDir()
		target, err := filepath.Abs("testdata/mit/LICENSE")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, "LICENSE")); err != nil {
			t.Skip(err)
		}
		if err := os.Mkdir(filepath.Join(dir, "COPYING"), 0o755); err != nil {
			t.Fatal(err)
		}
		got, err := Dir(dir)
		if err != nil || got != nil {
			t.Errorf("Dir = %q, %v; want nil, nil", got, err)
		}
	})
	t.Run("case and suffixes", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"licence.MD", "Copying_mit.txt"} {
			if err := os.WriteFile(filepath.Join(dir, name), mit, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := Dir(dir)
		if err != nil || !slices.Equal(got, []string{"MIT"}) {
			t.Errorf("Dir = %q, %v; want [MIT]", got, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := Dir(filepath.Join(t.TempDir(), "nope"))
		if err == nil || !strings.HasPrefix(err.Error(), "license: ") {
			t.Errorf("Dir of a missing directory: err = %v", err)
		}
	})
}

// TestSecondaryCommonOnly checks that a secondary licence file (LICENSE-X)
// is matched against the common licences only, a main one against all.
func TestSecondaryCommonOnly(t *testing.T) {
	// The Fair License (SPDX "Fair"): short, and not a common licence.
	fair := []byte("Usage of the works is permitted provided that this instrument is retained with the works, so that any entity that uses the works is notified of this instrument.\n\nDISCLAIMER: THE WORKS ARE WITHOUT WARRANTY.\n")
	if got := licClassify(fair, true); !slices.Equal(got, []string{"Fair"}) {
		t.Fatalf("main file: %q, want [Fair]", got)
	}
	if got := licClassify(fair, false); got != nil {
		t.Errorf("secondary file: %q, want nothing (common licences only)", got)
	}
	if !licIsMainFile("LICENSE.md") || licIsMainFile("LICENSE-MIT") || licIsMainFile("COPYING_LOGO") {
		t.Error("licIsMainFile")
	}
}

func TestIsLicenseFile(t *testing.T) {
	for name, want := range map[string]bool{
		"LICENSE": true, "LICENSE.md": true, "License.txt": true, "LICENCE": true,
		"COPYING": true, "COPYING.LESSER": true, "COPYING.LIB": true, "UNLICENSE": true,
		"LICENSE-MIT": true, "LICENSE-APACHE": true, "LICENSE_BSD.txt": true,
		"NOTICE": false, "README.md": false, "license.go": false, "LICENSE-": false,
		"licenses": false, "LICENSE.go": false, "COPYRIGHT": false, "mylicense": false,
		"license_test.go": false, "LICENSE-gen.py": false, "COPYING_config.yaml": false,
	} {
		if got := licIsLicenseFile(name); got != want {
			t.Errorf("licIsLicenseFile(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestExpression(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"MIT", "MIT"},
		{"mit", "MIT"},
		{" apache-2.0 ", "Apache-2.0"},
		{"(MIT OR Apache-2.0)", "MIT OR Apache-2.0"},
		{"(mit or apache-2.0)", "MIT OR Apache-2.0"},
		{"Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"},
		{"apache-2.0 with llvm-exception", "Apache-2.0 WITH LLVM-exception"},
		{"GPL-2.0+", "GPL-2.0+"},
		{"gpl-2.0-or-later", "GPL-2.0-or-later"},
		{"LGPL-2.1-only+", "LGPL-2.1-only+"},
		{"MIT AND (BSD-3-Clause OR ISC)", "MIT AND (BSD-3-Clause OR ISC)"},
		{"(MIT AND BSD-3-Clause) OR ISC", "MIT AND BSD-3-Clause OR ISC"},
		{"MIT OR (ISC OR 0BSD)", "MIT OR ISC OR 0BSD"},
		{"((MIT))", "MIT"},
		{"(MIT OR ISC) AND (Apache-2.0 OR 0BSD)", "(MIT OR ISC) AND (Apache-2.0 OR 0BSD)"},
		{"licenseref-My-Own.1", "LicenseRef-My-Own.1"},
		{"DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2"},
		{"GPL-3.0-only WITH AdditionRef-my-exception", "GPL-3.0-only WITH AdditionRef-my-exception"},
		{"(MIT) WITH Classpath-exception-2.0", "MIT WITH Classpath-exception-2.0"},
		{"MIT\tOR\nISC", "MIT OR ISC"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Expression(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Expression(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := Expression(got)
			if err != nil || again != got {
				t.Errorf("Expression(%q) = %q, %v; not stable", got, again, err)
			}
		})
	}
}

func TestExpressionErrors(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want: a part of the error
	}{
		{"", "is empty"},
		{"   ", "is empty"},
		{"SEE LICENSE IN LICENSE.txt", "in a file"},
		{"see license in ./EULA", "in a file"},
		{"Apache 2.0", `unknown licence identifier "Apache"`},
		{"MIT/X11", `unexpected character '/'`},
		{"MIT OR", "unexpected end"},
		{"OR MIT", `unexpected "OR"`},
		{"MIT AND OR ISC", `unexpected "OR"`},
		{"MIT ISC", `unexpected "ISC" at offset 4`},
		{"(MIT OR ISC", "not closed"},
		{"MIT OR ISC)", `unexpected ")"`},
		{"()", `unexpected ")"`},
		{"MIT WITH", "without an exception"},
		{"MIT WITH MIT", `unknown licence exception "MIT"`},
		{"LLVM-exception", `unknown licence identifier "LLVM-exception"`},
		{"(MIT OR ISC) WITH LLVM-exception", "follows a parenthesized expression"},
		{"MIT And ISC", `unexpected "And" at offset 4`},
		{"GPL-2.0++", "unexpected character '+'"},
		{"LicenseRef-", `unknown licence identifier "LicenseRef-"`},
		{"DocumentRef-x:MIT", `unknown licence identifier "DocumentRef-x:MIT"`},
		{strings.Repeat("(", 40) + "MIT" + strings.Repeat(")", 40), "nested over 32 deep"},
		{strings.Repeat("MIT OR ", 1000) + "MIT", "over the limit"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Expression(tt.in)
			if err == nil {
				t.Fatalf("Expression(%q) = %q, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "license: ") {
				t.Errorf("Expression(%q): error %q, want it to contain %q", tt.in, err, tt.want)
			}
		})
	}
	for _, s := range []string{"UNLICENSED", "unlicensed", " UNLICENSED "} {
		if _, err := Expression(s); !errors.Is(err, ErrUnlicensed) {
			t.Errorf("Expression(%q): err = %v, want ErrUnlicensed", s, err)
		}
	}
}

// TestLists checks the embedded lists: well-known identifiers are there and
// no identifier is both a licence and an exception.
func TestLists(t *testing.T) {
	licenses, exceptions := licLists()
	if len(licenses) < 500 || len(exceptions) < 40 {
		t.Fatalf("%d licences and %d exceptions, want more", len(licenses), len(exceptions))
	}
	for _, id := range []string{"MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0", "GPL-2.0+", "0BSD", "ISC", "Unlicense"} {
		if licenses[strings.ToLower(id)] != id {
			t.Errorf("licence %q is missing", id)
		}
	}
	for l := range licenses {
		if _, ok := exceptions[l]; ok {
			t.Errorf("%q is a licence and an exception", l)
		}
	}
}

func FuzzExpression(f *testing.F) {
	for _, s := range []string{"MIT", "(MIT OR Apache-2.0)", "Apache-2.0 WITH LLVM-exception", "GPL-2.0+",
		"MIT AND (ISC OR 0BSD)", "LicenseRef-x", "DocumentRef-a:LicenseRef-b", "SEE LICENSE IN x", "UNLICENSED", "((", "MIT with"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Expression(s)
		if err != nil {
			return
		}
		again, err := Expression(got)
		if err != nil {
			t.Fatalf("Expression(%q) = %q, which does not parse: %v", s, got, err)
		}
		if again != got {
			t.Fatalf("Expression(%q) = %q, but Expression(%q) = %q", s, got, got, again)
		}
	})
}

// TestCommonFirstSameResult checks that scanning with the common licences
// first changes no result: on every licence file in testdata and on up to
// 400 licence files of the Go module cache, licClassify agrees with a scan
// by all of licensecheck's licences.
func TestCommonFirstSameResult(t *testing.T) {
	var files []string
	filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && licIsLicenseFile(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
			cache = strings.TrimSpace(string(out))
		}
	}
	if cache != "" {
		ms, _ := filepath.Glob(filepath.Join(cache, "*", "*", "*@*", "LICENSE*"))
		ms2, _ := filepath.Glob(filepath.Join(cache, "*", "*@*", "LICENSE*"))
		ms = append(ms, ms2...)
		if len(ms) > 400 {
			ms = ms[:400]
		}
		files = append(files, ms...)
	}
	if len(files) < 10 {
		t.Fatalf("only %d licence files to compare", len(files))
	}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil || len(text) > MaxFileSize {
			continue
		}
		got := licClassify(text, true)
		var want []string
		if cov := licensecheck.Scan(text); cov.Percent >= MinCoverage {
			for _, m := range cov.Match {
				if m.IsURL {
					continue
				}
				if id, ok := canonicalLicense(m.ID); ok {
					want = append(want, id)
				} else {
					want = append(want, "LicenseRef-"+m.ID)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: common licences first give %q, all licences %q", f, got, want)
		}
	}
	t.Logf("%d licence files agree", len(files))
}
