package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalizePyPI(t *testing.T) {
	for in, want := range map[string]string{
		"Django":               "django",
		"Flask_SQLAlchemy":     "flask-sqlalchemy",
		"zope.interface":       "zope-interface",
		"A-._B":                "a-b",
		"ruamel.yaml.clib":     "ruamel-yaml-clib",
		"already-normal":       "already-normal",
		"":                     "",
		"x__":                  "x-",
		"PyYAML":               "pyyaml",
		"charset_normalizer-3": "charset-normalizer-3",
	} {
		if got := normalizePyPI(in); got != want {
			t.Errorf("normalizePyPI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseRequirements(t *testing.T) {
	runLockTests(t, parseRequirements, "requirements.txt", []lockTest{{
		file: "python/requirements.txt",
		want: `
			pkg:pypi/arbitrary@1.0-custom direct "arbitrary" [] [] [] [requirements.txt]
			pkg:pypi/attrs@23.1.0 direct "attrs" [] [] [] [requirements.txt]
			pkg:pypi/cryptography@41.0.5 direct "cryptography" [] [] [] [requirements.txt]
			pkg:pypi/django@4.2.7 direct "django" [] [] [] [requirements.txt]
			pkg:pypi/flask-sqlalchemy@3.1.1 direct "flask-sqlalchemy" [] [SHA-256:ca978112] [] [requirements.txt]
			pkg:pypi/internal direct "internal" [] [] [] [requirements.txt]
			pkg:pypi/numpy direct "numpy" [] [] [] [requirements.txt]
			pkg:pypi/pandas direct "pandas" [] [] [] [requirements.txt]
			pkg:pypi/requests@2.31.0 direct "requests" [] [] [] [requirements.txt]
			pkg:pypi/six direct "six" [] [] [] [requirements.txt]
			pkg:pypi/urllib3 direct "urllib3" [] [] [] [requirements.txt]
		`,
		warnings: []string{
			`requirements.txt:10: include of "requirements-dev.txt" not followed: a walk reads every requirements*.txt file itself`,
			`requirements.txt:11: constraints file "constraints.txt" not read: it names no requirement`,
			`requirements.txt:12: editable requirement "git+https://github.com/example/project.git#egg=project" skipped: it names no PyPI release`,
			`requirements.txt:14: urllib3: not pinned (>=1.26,<3)`,
			`requirements.txt:15: six: not pinned (no version specifier)`,
			`requirements.txt:16: numpy: not pinned (~=1.26.0)`,
			`requirements.txt:17: pandas: not pinned (==2.*)`,
			`requirements.txt:18: internal: a direct reference (https://example.com/internal-1.0.tar.gz), not pinned to a PyPI release`,
			`requirements.txt:19: "https://example.com/pkg-1.0-py3-none-any.whl" is not a requirement of a named PyPI release; skipped`,
			`requirements.txt:20: "./local/pkg" is not a requirement of a named PyPI release; skipped`,
			`requirements.txt:21: --hash "md5:00" is not sha256, sha384 or sha512 with a hex digest of the right length`,
			`requirements.txt:22: unknown option "--frobnicate" ignored`,
		},
	}})
}

func TestParseRequirementsLines(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		want       string // lockSummary
		warnings   []string
	}{
		{"crlf and continuation at the end", "a==1\r\nb==2 \\", "pkg:pypi/a@1 direct \"a\" [] [] [] [r.txt]\npkg:pypi/b@2 direct \"b\" [] [] [] [r.txt]\n", nil},
		{"short include", "-rbase.txt\n-c c.txt", "", []string{
			`r.txt:1: include of "base.txt" not followed: a walk reads every requirements*.txt file itself`,
			`r.txt:2: constraints file "c.txt" not read: it names no requirement`}},
		{"comment only", "# nothing\n\n   # more", "", nil},
		{"hash with space", "a==1 --hash sha512:" + strings.Repeat("ab", 64), "pkg:pypi/a@1 direct \"a\" [] [SHA-512:abababab] [] [r.txt]\n", nil},
		{"parenthesized", "a (==1.0)", "pkg:pypi/a@1.0 direct \"a\" [] [] [] [r.txt]\n", nil},
		{"unclosed extras", "a[x==1", "", []string{`r.txt:1: "a[x==1": extras not closed; skipped`}},
		{"duplicate", "a==1\nA==1", "pkg:pypi/a@1 direct \"a\" [] [] [] [r.txt]\n", nil},
		{"long line", strings.Repeat("x", pyMaxLine+1) + "\nb==1", "pkg:pypi/b@1 direct \"b\" [] [] [] [r.txt]\n", []string{
			"r.txt:1: line longer than 65536 bytes; skipped"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := parseRequirements("r.txt", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			got, warnings := lockSummary(lf)
			if got != tt.want || strings.Join(warnings, "\n") != strings.Join(tt.warnings, "\n") {
				t.Errorf("got\n%s%q\nwant\n%s%q", got, warnings, tt.want, tt.warnings)
			}
		})
	}
	if _, err := parseRequirements("r.txt", []byte("a==1\n\xff\xfe")); err == nil || !strings.Contains(err.Error(), "pypi: r.txt: not UTF-8") {
		t.Errorf("binary data: err = %v", err)
	}
}

func TestParsePoetryLock(t *testing.T) {
	runLockTests(t, parsePoetryLock, "poetry.lock", []lockTest{
		{
			file: "python/poetry-v1.lock",
			want: `
				pkg:pypi/certifi@2023.7.22 indirect "certifi" [] [SHA-256:92d60375] [] [poetry.lock]
				pkg:pypi/charset-normalizer@3.3.2 indirect "charset-normalizer" [] [] [] [poetry.lock]
				pkg:pypi/pytest@7.4.3 development "pytest" [pkg:pypi/certifi@2023.7.22] [] [] [poetry.lock]
				pkg:pypi/requests@2.31.0 direct "requests" [pkg:pypi/certifi@2023.7.22 pkg:pypi/charset-normalizer@3.3.2] [] [] [poetry.lock]
			`,
		},
		{
			file: "python/poetry-v2.lock",
			want: `
				pkg:pypi/black@23.11.0 development "black" [pkg:pypi/click@8.1.7] [] [] [poetry.lock]
				pkg:pypi/click@8.1.7 direct "click" [pkg:pypi/colorama@0.4.6] [SHA-256:ae74fb96] [] [poetry.lock]
				pkg:pypi/colorama@0.4.6 indirect "colorama" [] [] [] [poetry.lock]
				pkg:pypi/mylib direct "mylib" [] [] [] [poetry.lock]
			`,
			warnings: []string{
				`poetry.lock: package "mylib": from a git source, not a PyPI release; kept without a version`,
				`poetry.lock: package[4]: line 51 (last key "package.version"): incompatible types: TOML value has type int64; destination has type string; skipped`,
				`poetry.lock: package "noversion": no version; skipped`,
			},
		},
	})
}

func TestParsePoetryLockErrors(t *testing.T) {
	for _, tt := range []struct {
		name, data, want string
	}{
		{"truncated", "[[package]]\nname = \"a\nversion", "pypi: poetry.lock: line 2"},
		{"package not an array", "package = 3\n", `pypi: poetry.lock: line 1 (last key "package"): incompatible types`},
		{"deep", "a = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "pypi: poetry.lock: line 1: nested over 64 deep"},
		{"deep tables", "a = " + strings.Repeat("{b=", 100) + "1" + strings.Repeat("}", 100), "nested over 64 deep"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := parsePoetryLock("poetry.lock", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parsePoetryLock = %v, %v; want an error containing %q", lf, err, tt.want)
			}
		})
	}
	// Brackets in strings and comments do not count as nesting.
	data := "# [[[[\n[[package]]\nname = \"a\"\nversion = \"1.0\"\ndescription = \"" + strings.Repeat("[", 100) + "\"\nx = '''\n" + strings.Repeat("{", 100) + "\n'''\n"
	lf, err := parsePoetryLock("poetry.lock", []byte(data))
	if err != nil || len(lf.components) != 1 {
		t.Errorf("brackets in strings: %v, %v", lf, err)
	}
}

func FuzzParseRequirements(f *testing.F) {
	data, err := os.ReadFile("testdata/python/requirements.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("a==1 \\\n --hash=sha256:00\n-r\n-e\n--\n[x]==1\nb @\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := parseRequirements("requirements.txt", data)
		if err != nil {
			return
		}
		checkLockfile(t, lf)
	})
}

func FuzzParsePoetryLock(f *testing.F) {
	for _, name := range []string{"poetry-v1.lock", "poetry-v2.lock"} {
		data, err := os.ReadFile(filepath.Join("testdata/python", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := parsePoetryLock("poetry.lock", data)
		if err != nil {
			return
		}
		checkLockfile(t, lf)
	})
}
