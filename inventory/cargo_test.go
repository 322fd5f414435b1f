package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCargoLock(t *testing.T) {
	const (
		fork    = "pkg:cargo/fork?vcs_url=git%2Bhttps:%2F%2Fgithub.com%2Fexample%2Ffork%3Fbranch%3Dmain%230123456789abcdef0123456789abcdef01234567"
		private = "pkg:cargo/private?repository_url=registry%2Bhttps:%2F%2Fmy.registry.example%2Findex"
	)
	runLockTests(t, parseCargoLock, "Cargo.lock", []lockTest{
		{
			// Version 1: checksums in [metadata], "<none>" for none;
			// the crate and its path dependency util.
			file: "cargo/v1.lock",
			want: `
				subject pkg:cargo/app@0.1.0  "app" [pkg:cargo/serde@1.0.100 pkg:cargo/util@0.1.0] [] [] [Cargo.lock]
				pkg:cargo/serde@1.0.100 direct "serde" [pkg:cargo/serde_derive@1.0.100] [SHA-256:ca978112] [] [Cargo.lock]
				pkg:cargo/serde_derive@1.0.100 indirect "serde_derive" [] [] [] [Cargo.lock]
				pkg:cargo/util@0.1.0 direct "util" [] [] [] [Cargo.lock]
			`,
		},
		{
			// Version 3: two versions of rand, git and registry
			// sources, a bad checksum, a bad package.
			file: "cargo/v3.lock",
			want: `
				subject pkg:cargo/cli@2.0.0  "cli" [` + fork + ` pkg:cargo/libc@0.2.150 ` + private + ` pkg:cargo/rand@0.8.5] [] [] [Cargo.lock]
				` + fork + ` direct "fork" [] [] [] [Cargo.lock]
				pkg:cargo/libc@0.2.150 direct "libc" [] [SHA-256:3e23e816] [] [Cargo.lock]
				` + private + ` direct "private" [] [] [] [Cargo.lock]
				pkg:cargo/rand@0.7.3 indirect "rand" [] [] [] [Cargo.lock]
				pkg:cargo/rand@0.8.5 direct "rand" [pkg:cargo/libc@0.2.150 pkg:cargo/rand@0.7.3] [SHA-256:2e7d2c03] [] [Cargo.lock]
			`,
			warnings: []string{
				`Cargo.lock: package "rand" "0.7.3": checksum "not hex" is not a SHA-256 in hex`,
				`Cargo.lock: package "fork" "0.1.0": from git (git+https://github.com/example/fork?branch=main#0123456789abcdef0123456789abcdef01234567), not a crates.io release; kept without a version`,
				`Cargo.lock: package "private" "1.2.3": from the registry registry+https://my.registry.example/index, not crates.io; kept without a version`,
				`Cargo.lock: package[6]: line 49 (last key "package.version"): incompatible types: TOML value has type int64; destination has type string; skipped`,
			},
		},
		{
			// Version 4, sparse index; member-a is the one workspace
			// package nothing depends on.
			file: "cargo/v4-workspace.lock",
			want: `
				subject pkg:cargo/member-a@0.1.0  "member-a" [pkg:cargo/itoa@1.0.9 pkg:cargo/member-b@0.2.0] [] [] [Cargo.lock]
				pkg:cargo/itoa@1.0.9 direct "itoa" [] [SHA-256:ca978112] [] [Cargo.lock]
				pkg:cargo/member-b@0.2.0 direct "member-b" [] [] [] [Cargo.lock]
			`,
			warnings: []string{
				`Cargo.lock: package "member-b" "0.2.0": dependency "missing" names no package of the lockfile; left out`,
			},
		},
	})
}

func TestParseCargoLockEntries(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		want       string
		warnings   []string
	}{
		{"independent members", "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\n",
			"pkg:cargo/a@1.0.0 direct \"a\" [] [] [] [Cargo.lock]\npkg:cargo/b@1.0.0 direct \"b\" [] [] [] [Cargo.lock]\n", nil},
		{"ambiguous dependency", "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"x\"]\n" +
			"[[package]]\nname = \"x\"\nversion = \"1.0.0\"\nsource = \"" + cargoCratesIOGit + "\"\n" +
			"[[package]]\nname = \"x\"\nversion = \"2.0.0\"\nsource = \"" + cargoCratesIOGit + "\"\n",
			"subject pkg:cargo/a@1.0.0  \"a\" [] [] [] [Cargo.lock]\npkg:cargo/x@1.0.0 indirect \"x\" [] [] [] [Cargo.lock]\npkg:cargo/x@2.0.0 indirect \"x\" [] [] [] [Cargo.lock]\n",
			[]string{`Cargo.lock: package "a" "1.0.0": dependency "x" names several packages; left out`}},
		{"bad name and version", "[[package]]\nname = \"../x\"\nversion = \"1.0.0\"\n[[package]]\nname = \"y\"\nversion = \"1.0\"\nsource = \"" + cargoCratesIOSparse + "\"\n[[package]]\nname = \"z\"\n",
			"pkg:cargo/y indirect \"y\" [] [] [] [Cargo.lock]\n",
			[]string{
				`Cargo.lock: package[0]: name "../x" is not a crate name; skipped`,
				`Cargo.lock: package "y" "1.0": version is not a semantic version; kept without a version`,
				`Cargo.lock: package "z": no version; skipped`,
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := parseCargoLock("Cargo.lock", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			got, warnings := lockSummary(lf)
			if got != tt.want || strings.Join(warnings, "\n") != strings.Join(tt.warnings, "\n") {
				t.Errorf("got\n%s%q\nwant\n%s%q", got, warnings, tt.want, tt.warnings)
			}
		})
	}
}

func TestParseCargoLockErrors(t *testing.T) {
	for _, tt := range []struct {
		name, data, want string
	}{
		{"truncated", "version = 3\n[[package]]\nname = \"a", "cargo: Cargo.lock: line 3"},
		{"version string", "version = \"3\"\n", `cargo: Cargo.lock: line 1 (last key "version"): incompatible types`},
		{"future version", "version = 5\n", "cargo: Cargo.lock: unknown format version 5"},
		{"package table", "[package]\nname = \"a\"\n", "cargo: Cargo.lock: "},
		{"deep", "x = " + strings.Repeat("[", 70) + strings.Repeat("]", 70), "nested over 64 deep"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lf, err := parseCargoLock("Cargo.lock", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseCargoLock = %v, %v; want an error containing %q", lf, err, tt.want)
			}
		})
	}
}

func FuzzParseCargoLock(f *testing.F) {
	for _, name := range []string{"v1.lock", "v3.lock", "v4-workspace.lock"} {
		data, err := os.ReadFile(filepath.Join("testdata/cargo", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := parseCargoLock("Cargo.lock", data)
		if err != nil {
			return
		}
		checkLockfile(t, lf)
		if lf.subject != nil && lf.subject.PURL == "" {
			t.Fatalf("subject without PURL: %+v", lf.subject)
		}
	})
}
