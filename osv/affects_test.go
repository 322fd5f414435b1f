package osv

import (
	"errors"
	"testing"
)

func semverRange(events ...Event) Range { return Range{Type: SemVer, Events: events} }

func intro(v string) Event { return Event{Introduced, v} }
func fix(v string) Event   { return Event{Fixed, v} }
func last(v string) Event  { return Event{LastAffected, v} }
func limit(v string) Event { return Event{Limit, v} }

func TestAffects(t *testing.T) {
	goPkg := Package{Ecosystem: "Go", Name: "example.com/m"}
	tests := []struct {
		name     string
		affected Affected
		version  string
		want     bool
		wantErr  error // sentinel, or errAny for any error
	}{
		{"introduced-fixed inside", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.2.0"))}}, "1.1.0", true, nil},
		{"introduced is inclusive", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.2.0"))}}, "1.0.0", true, nil},
		{"fixed is exclusive", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.2.0"))}}, "1.2.0", false, nil},
		{"before introduced", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.2.0"))}}, "0.9.9", false, nil},
		{"after fixed", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.2.0"))}}, "2.0.0", false, nil},
		{"introduced 0", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.2.0"))}}, "0.0.1", true, nil},
		{"introduced 0 covers pre-release 0.0.0-0", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.2.0"))}}, "0.0.0-0", true, nil},
		{"introduced 0 no fix", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"))}}, "99.0.0", true, nil},
		{"two events pairs, gap", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.16.12"), intro("1.17.0-0"), fix("1.17.5"))}}, "1.16.13", false, nil},
		{"two events pairs, second", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.16.12"), intro("1.17.0-0"), fix("1.17.5"))}}, "1.17.0-rc.1", true, nil},
		{"unsorted events", Affected{Package: goPkg, Ranges: []Range{semverRange(fix("1.17.5"), intro("1.17.0"), fix("1.16.12"), intro("0"))}}, "1.16.5", true, nil},
		{"unsorted events gap", Affected{Package: goPkg, Ranges: []Range{semverRange(fix("1.17.5"), intro("1.17.0"), fix("1.16.12"), intro("0"))}}, "1.16.12", false, nil},
		{"multiple ranges second matches", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.1.0")), semverRange(intro("2.0.0"), fix("2.1.0"))}}, "2.0.5", true, nil},
		{"multiple ranges none", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.1.0")), semverRange(intro("2.0.0"), fix("2.1.0"))}}, "1.5.0", false, nil},
		{"last_affected inclusive", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), last("1.3.0"))}}, "1.3.0", true, nil},
		{"after last_affected", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), last("1.3.0"))}}, "1.3.1", false, nil},
		{"pre-release after last_affected", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), last("1.3.0"))}}, "1.3.1-rc.1", false, nil},
		{"limit cuts", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), limit("2.0.0"))}}, "2.0.0", false, nil},
		{"below limit", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), limit("2.0.0"))}}, "1.9.9", true, nil},
		{"limit star", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), limit("*"))}}, "100.0.0", true, nil},
		{"limit with fixed", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.5.0"), intro("1.7.0"), limit("1.8.0"))}}, "1.7.5", true, nil},
		{"limit with fixed beyond", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.5.0"), intro("1.7.0"), limit("1.8.0"))}}, "1.9.0", false, nil},
		{"pre-release before fixed", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.2.0"))}}, "1.2.0-rc.1", true, nil},
		{"pre-release before introduced", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.2.0"))}}, "1.0.0-rc.1", false, nil},
		{"pre-release numeric order", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0-rc.2"), fix("1.0.0-rc.10"))}}, "1.0.0-rc.9", true, nil},
		{"build metadata ignored at fixed", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.2.0"))}}, "1.2.0+build.5", false, nil},
		{"build metadata ignored below", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.2.0"))}}, "1.1.0+build.5", true, nil},
		{"incompatible", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("2.7.0-rc.0+incompatible"))}}, "2.6.2+incompatible", true, nil},
		{"pseudo-version before fix", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("0.0.0-20211209124913-491a49abca63"))}}, "0.0.0-20211101000000-aaaaaaaaaaaa", true, nil},
		{"pseudo-version after fix", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("0.0.0-20211209124913-491a49abca63"))}}, "0.0.0-20220101000000-aaaaaaaaaaaa", false, nil},
		{"pseudo-version on a tag is above the tag", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.2.4"))}}, "1.2.4-0.20220101000000-aaaaaaaaaaaa", true, nil},
		{"pseudo-version after tag is below fix", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.2.3"), fix("1.2.4"))}}, "1.2.4-0.20220101000000-aaaaaaaaaaaa", true, nil},
		{"pseudo-version after fixed tag", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.2.4"))}}, "1.2.5-0.20220101000000-aaaaaaaaaaaa", false, nil},
		{"introduced equals fixed is empty", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("1.0.0"), fix("1.0.0"))}}, "1.0.0", false, nil},
		{"versions list exact", Affected{Package: Package{Ecosystem: "PyPI", Name: "x"}, Versions: []string{"1.0", "1.0.post1"}}, "1.0.post1", true, nil},
		{"versions list miss", Affected{Package: Package{Ecosystem: "PyPI", Name: "x"}, Versions: []string{"1.0"}}, "1.0.0", false, nil},
		{"versions list decides over unsupported range", Affected{Package: Package{Ecosystem: "PyPI", Name: "x"}, Versions: []string{"1.0"}, Ranges: []Range{{Type: Ecosystem, Events: []Event{intro("0")}}}}, "1.0", true, nil},
		{"unsupported ecosystem range", Affected{Package: Package{Ecosystem: "Maven", Name: "x"}, Ranges: []Range{{Type: Ecosystem, Events: []Event{intro("0"), fix("2.0")}}}}, "1.0", false, ErrUnsupportedEcosystem},
		{"SEMVER range in any ecosystem", Affected{Package: Package{Ecosystem: "PyPI", Name: "x"}, Ranges: []Range{semverRange(intro("0"), fix("2.0.0"))}}, "1.0.0", true, nil},
		{"npm ecosystem range", Affected{Package: Package{Ecosystem: "npm", Name: "x"}, Ranges: []Range{{Type: Ecosystem, Events: []Event{intro("4.0.0"), fix("4.17.21")}}}}, "4.17.20", true, nil},
		{"crates.io ecosystem range", Affected{Package: Package{Ecosystem: "crates.io", Name: "x"}, Ranges: []Range{{Type: Ecosystem, Events: []Event{intro("0"), fix("0.3.0")}}}}, "0.3.0", false, nil},
		{"git range undecided", Affected{Package: goPkg, Ranges: []Range{{Type: Git, Repo: "https://x", Events: []Event{intro("0"), fix("abc")}}}}, "1.0.0", false, ErrGitRange},
		{"git range with versions", Affected{Package: goPkg, Versions: []string{"1.0.0"}, Ranges: []Range{{Type: Git, Repo: "https://x", Events: []Event{intro("0"), fix("abc")}}}}, "1.0.0", true, nil},
		{"git range and semver range decides", Affected{Package: goPkg, Ranges: []Range{{Type: Git, Repo: "https://x", Events: []Event{intro("0")}}, semverRange(intro("0"), fix("2.0.0"))}}, "1.0.0", true, nil},
		{"git range and semver range unknown", Affected{Package: goPkg, Ranges: []Range{{Type: Git, Repo: "https://x", Events: []Event{intro("0")}}, semverRange(intro("0"), fix("2.0.0"))}}, "3.0.0", false, ErrGitRange},
		{"leading v rejected", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.2.0"))}}, "v1.1.0", false, errAny},
		{"shorthand rejected", Affected{Package: goPkg, Ranges: []Range{semverRange(intro("0"), fix("1.2.0"))}}, "1.1", false, errAny},
		{"bad ecosystem event", Affected{Package: Package{Ecosystem: "npm", Name: "x"}, Ranges: []Range{{Type: Ecosystem, Events: []Event{intro("0"), fix("2.x")}}}}, "1.0.0", false, errAny},
		{"no ranges no versions", Affected{Package: goPkg}, "1.0.0", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.affected.Affects(tt.version)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Affects(%q) error: %v", tt.version, err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Affects(%q) error = %v, want %v", tt.version, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Affects(%q) = %v, want %v", tt.version, got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestFixed(t *testing.T) {
	r := &Record{ID: "TEST-1", Affected: []Affected{
		{Package: Package{Ecosystem: "Go", Name: "stdlib"}, Ranges: []Range{
			semverRange(intro("0"), fix("1.20.12"), intro("1.21.0-0"), fix("1.21.5")),
		}},
		{Package: Package{Ecosystem: "Go", Name: "example.com/m"}, Ranges: []Range{
			semverRange(intro("1.0.0"), fix("1.4.0")),
			semverRange(intro("1.1.0"), fix("1.2.0")),
			semverRange(intro("1.0.0"), last("1.9.0")),
		}},
		{Package: Package{Ecosystem: "Go", Name: "example.com/unfixed"}, Ranges: []Range{semverRange(intro("0"))}},
	}}
	tests := []struct {
		name, pkg, version, want string
	}{
		{"first branch", "stdlib", "1.20.3", "1.20.12"},
		{"second branch", "stdlib", "1.21.0", "1.21.5"},
		{"toolchain rc", "stdlib", GoVersion("go1.21rc2"), "1.21.5"},
		{"not affected", "stdlib", "1.21.5", ""},
		{"smallest over ranges", "example.com/m", "1.1.5", "1.2.0"},
		{"only last_affected left", "example.com/m", "1.5.0", ""},
		{"no fix", "example.com/unfixed", "1.0.0", ""},
		{"other package", "example.com/other", "1.0.0", ""},
		{"invalid version", "stdlib", "go1.20", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Fixed("Go", tt.pkg, tt.version); got != tt.want {
				t.Errorf("Fixed(Go, %q, %q) = %q, want %q", tt.pkg, tt.version, got, tt.want)
			}
		})
	}
}

func TestGoVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"go1.21.3", "1.21.3"},
		{"go1.21", "1.21.0"},
		{"go1.21.0", "1.21.0"},
		{"go1", "1.0.0"},
		{"go1.21rc2", "1.21.0-rc.2"},
		{"go1.22beta1", "1.22.0-beta.1"},
		{"go1.9.2rc2", "1.9.2-rc.2"},
		{"1.21.3", ""},
		{"go", ""},
		{"go1.21.3.4", ""},
		{"go1.021", ""},
		{"go1.21rc", ""},
		{"go1.21rc02", ""},
		{"devel go1.22-abcdef", ""},
		{"go1.21.3-X:nocoverageredesign", ""},
		{"go1..3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := GoVersion(tt.in); got != tt.want {
				t.Errorf("GoVersion(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
