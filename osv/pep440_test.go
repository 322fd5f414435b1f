package osv

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// specOrder is the spec's example of versions in increasing order
// ("Summary of permitted suffixes and relative ordering"), with local
// versions added where the spec places them.
var specOrder = []string{
	"1.dev0",
	"1.0.dev456",
	"1.0a1",
	"1.0a2.dev456",
	"1.0a12.dev456",
	"1.0a12",
	"1.0b1.dev456",
	"1.0b2",
	"1.0b2.post345.dev456",
	"1.0b2.post345",
	"1.0rc1.dev456",
	"1.0rc1",
	"1.0",
	"1.0+abc.5",
	"1.0+abc.7",
	"1.0+5",
	"1.0.post456.dev34",
	"1.0.post456",
	"1.0.15",
	"1.1.dev1",
}

func TestPEP440SpecOrder(t *testing.T) {
	vs := make([]pep440, len(specOrder))
	for i, s := range specOrder {
		v, err := parsePEP440(s)
		if err != nil {
			t.Fatal(err)
		}
		vs[i] = v
	}
	for i := range vs {
		for j := range vs {
			want := sign(i - j)
			if got := comparePEP440(vs[i], vs[j]); got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", specOrder[i], specOrder[j], got, want)
			}
		}
	}
}

func TestPEP440Compare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		// Release segments, zero padding.
		{"1.0.0", "1.0", 0},
		{"1", "1.0.0.0", 0},
		{"1.0.1", "1.0", 1},
		{"1.2", "1.10", -1},
		{"1.9.post1", "1.10", -1},
		{"01.02", "1.2", 0},
		{"2.0", "10.0", -1},
		{"1.0.0.0.1", "1.0", 1},
		{"123456789012345678901234567890", "123456789012345678901234567891", -1},
		// Epochs.
		{"1!1.0", "2.0", 1},
		{"0!1.0", "1.0", 0},
		{"1!1.0", "2!0.1", -1},
		{"1!0", "99999", 1},
		// Normalization.
		{"1.0RC1", "1.0rc1", 0},
		{"1.0-1", "1.0.post1", 0},
		{"v1.0", "1.0", 0},
		{"V1.0", "1.0", 0},
		{"  1.0\n", "1.0", 0},
		{"1.0alpha1", "1.0a1", 0},
		{"1.0-a.1", "1.0a1", 0},
		{"1.0_beta_2", "1.0b2", 0},
		{"1.0c1", "1.0rc1", 0},
		{"1.0pre1", "1.0rc1", 0},
		{"1.0preview1", "1.0rc1", 0},
		{"1.0a", "1.0a0", 0},
		{"1.0rev1", "1.0.post1", 0},
		{"1.0r1", "1.0.post1", 0},
		{"1.0-post-1", "1.0.post1", 0},
		{"1.0.post", "1.0.post0", 0},
		{"1.0-dev1", "1.0.dev1", 0},
		{"1.0dev", "1.0.dev0", 0},
		{"1.0+Ubuntu-1", "1.0+ubuntu.1", 0},
		{"1.0+ubuntu_01", "1.0+ubuntu.1", 0},
		// Phases.
		{"1.0.dev1", "1.0a1", -1},
		{"1.0a1.dev1", "1.0a1", -1},
		{"1.0.post1.dev1", "1.0.post1", -1},
		{"1.0.post1.dev1", "1.0", 1},
		{"1.0a1", "1.0b1", -1},
		{"1.0b9", "1.0rc1", -1},
		{"1.0rc9", "1.0", -1},
		{"1.0", "1.0.post0", -1},
		{"1.0.dev9", "1.0.dev10", -1},
		{"1.0a2", "1.0a10", -1},
		{"1.0a1.post1", "1.0a2", -1},
		{"1.0a1.post1", "1.0a1", 1},
		{"1.0rc1.post1.dev2", "1.0rc1.post1", -1},
		{"1.0.dev0", "0.9.post9", 1},
		{"1.1.dev1", "1.0.post999", 1},
		// Local versions.
		{"1.0+local", "1.0", 1},
		{"1.0+local", "1.0.post1", -1},
		{"1.0+1", "1.0+a", 1},
		{"1.0+a.1", "1.0+a", 1},
		{"1.0+a.b", "1.0+a.1", -1},
		{"1.0+2", "1.0+10", -1},
		{"1.0+abc", "1.0+abd", -1},
		{"1.0a1+x", "1.0a1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			a, err := parsePEP440(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := parsePEP440(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := comparePEP440(a, b); got != tt.want {
				t.Errorf("compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := comparePEP440(b, a); got != -tt.want {
				t.Errorf("compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

func TestPEP440String(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.0", "1.0"},
		{"1.0.0", "1.0.0"},
		{"v1.0", "1.0"},
		{"0!1.0", "1.0"},
		{"01!01.002", "1!1.2"},
		{"1.0RC1", "1.0rc1"},
		{"1.0-c.1", "1.0rc1"},
		{"1.0ALPHA", "1.0a0"},
		{"1.0-1", "1.0.post1"},
		{"1.0.r", "1.0.post0"},
		{"1.0_dev_3", "1.0.dev3"},
		{"1!2.0rc1.post3.dev4+Ubuntu-01_x", "1!2.0rc1.post3.dev4+ubuntu.1.x"},
		{" 2.10.1\t", "2.10.1"},
		{"1.0-rc-", "1.0rc0"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := parsePEP440(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.String(); got != tt.want {
				t.Errorf("parsePEP440(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPEP440Invalid(t *testing.T) {
	for _, in := range []string{
		"", " ", "v", "abc", "1.0.0.", "1..0", ".1", "1.0+", "1.0+abc..1", "1.0+a+b",
		"1.0-", "1.0_1", "1.0a1a2", "1.0.post1.post2", "1.0.dev1.dev2", "1.0.dev1a1",
		"1!", "!1", "1!2!3", "-1", "1.0 rc1", "1.0-rc-a", "1.0.x", "1.*", "1.0,1.1", "٣.0", "1.0+\u212a", "\u00a01.0",
		"1." + strings.Repeat("0", maxPEP440Len),
	} {
		t.Run(fmt.Sprintf("%.30q", in), func(t *testing.T) {
			_, err := parsePEP440(in)
			if err == nil {
				t.Fatalf("parsePEP440(%q) succeeded", in)
			}
			if !errors.Is(err, ErrInvalidVersion) {
				t.Errorf("error %v is not ErrInvalidVersion", err)
			}
			if name := fmt.Sprintf("%.20q", in); !strings.Contains(err.Error(), strings.TrimSuffix(name, `"`)) {
				t.Errorf("error %q does not name the version", err)
			}
		})
	}
}

func pypiRange(events ...Event) Range { return Range{Type: Ecosystem, Events: events} }

func TestAffectsPyPI(t *testing.T) {
	pkg := Package{Ecosystem: "PyPI", Name: "p"}
	tests := []struct {
		name    string
		ranges  []Range
		version string
		want    bool
		wantErr error
	}{
		{"introduced 0", []Range{pypiRange(intro("0"), fix("2.10.1"))}, "0.0.dev0", true, nil},
		{"below fixed", []Range{pypiRange(intro("0"), fix("2.10.1"))}, "2.10", true, nil},
		{"pre-release of fixed", []Range{pypiRange(intro("0"), fix("2.10.1"))}, "2.10.1rc1", true, nil},
		{"fixed", []Range{pypiRange(intro("0"), fix("2.10.1"))}, "2.10.1", false, nil},
		{"fixed spelled otherwise", []Range{pypiRange(intro("0"), fix("2.10.1"))}, "v2.10.1.0", false, nil},
		{"post-release of fixed", []Range{pypiRange(intro("0"), fix("2.10.1"))}, "2.10.1.post1", false, nil},
		{"local of fixed", []Range{pypiRange(intro("0"), fix("2.10.1"))}, "2.10.1+deb1", false, nil},
		{"numeric not lexical", []Range{pypiRange(intro("0"), fix("2.10.1"))}, "2.9", true, nil},
		{"introduced inclusive", []Range{pypiRange(intro("1.0"), fix("1.5"))}, "1.0.0", true, nil},
		{"dev before introduced", []Range{pypiRange(intro("1.0"), fix("1.5"))}, "1.0.dev1", false, nil},
		{"pre before introduced", []Range{pypiRange(intro("1.0"), fix("1.5"))}, "1.0rc1", false, nil},
		{"post after introduced", []Range{pypiRange(intro("1.0"), fix("1.5"))}, "1.0.post1", true, nil},
		{"last_affected inclusive", []Range{pypiRange(intro("0.5"), last("0.9.2"))}, "0.9.2", true, nil},
		{"post of last_affected", []Range{pypiRange(intro("0.5"), last("0.9.2"))}, "0.9.2.post1", false, nil},
		{"dev of next after last_affected", []Range{pypiRange(intro("0.5"), last("0.9.2"))}, "0.9.3.dev0", false, nil},
		{"limit", []Range{pypiRange(intro("0"), limit("3.0"))}, "3.0a1", true, nil},
		{"at limit", []Range{pypiRange(intro("0"), limit("3.0"))}, "3.0", false, nil},
		{"limit star", []Range{pypiRange(intro("1.0"), limit("*"))}, "1!0", true, nil},
		{"pairs first", []Range{pypiRange(intro("1.0"), fix("1.11.29"), intro("2.0a1"), fix("2.1.11"))}, "1.11.28", true, nil},
		{"pairs gap", []Range{pypiRange(intro("1.0"), fix("1.11.29"), intro("2.0a1"), fix("2.1.11"))}, "2.0.dev5", false, nil},
		{"pairs second", []Range{pypiRange(intro("1.0"), fix("1.11.29"), intro("2.0a1"), fix("2.1.11"))}, "2.0a1", true, nil},
		{"pairs unsorted", []Range{pypiRange(fix("2.1.11"), intro("2.0a1"), fix("1.11.29"), intro("1.0"))}, "2.1.10", true, nil},
		{"pairs after", []Range{pypiRange(intro("1.0"), fix("1.11.29"), intro("2.0a1"), fix("2.1.11"))}, "2.1.11", false, nil},
		{"epoch", []Range{pypiRange(intro("0"), fix("2.0"))}, "1!1.0", false, nil},
		{"introduced equals fixed", []Range{pypiRange(intro("1.0"), fix("1.0.0"))}, "1.0", false, nil},
		{"SEMVER range in PyPI still SemVer", []Range{semverRange(intro("0"), fix("2.0.0"))}, "1.0", false, ErrInvalidVersion},
		{"invalid queried version", []Range{pypiRange(intro("0"), fix("2.0"))}, "2.0-beta-x", false, ErrInvalidVersion},
		{"invalid event", []Range{pypiRange(intro("0"), fix("2.x"))}, "1.0", false, ErrInvalidVersion},
		{"Debian-style suffix not PyPI", []Range{pypiRange(intro("0"), fix("2.0"))}, "1.0~rc1", false, ErrInvalidVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Affected{Package: pkg, Ranges: tt.ranges}
			got, err := a.Affects(tt.version)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Affects(%q) error: %v", tt.version, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Affects(%q) error = %v, want %v", tt.version, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Affects(%q) = %v, want %v", tt.version, got, tt.want)
			}
		})
	}
}

func TestAffectsPyPIErrorNamesEvent(t *testing.T) {
	a := Affected{Package: Package{Ecosystem: "PyPI", Name: "p"}, Ranges: []Range{pypiRange(intro("0"), fix("2.0")), pypiRange(intro("0"), fix("3..0"))}}
	_, err := a.Affects("1.0")
	want := `osv: PyPI p: ranges[1].events[1]: version "3..0" is not a PEP 440 version`
	if err == nil || err.Error() != want {
		t.Errorf("Affects error = %v, want %s", err, want)
	}
	_, err = a.Affects("1.0+")
	want = `osv: PyPI p: version "1.0+" is not a PEP 440 version`
	if err == nil || err.Error() != want {
		t.Errorf("Affects error = %v, want %s", err, want)
	}
}

func TestFixedPyPI(t *testing.T) {
	r := readRecord(t, "PYSEC-TEST-1")
	r.Affected = append(r.Affected, Affected{
		Package: Package{Ecosystem: "PyPI", Name: "two-fixes"},
		Ranges: []Range{
			pypiRange(intro("0"), fix("1.10")),
			pypiRange(intro("0"), fix("1.9.post1")),
			pypiRange(intro("0"), fix("1.9rc1")),
		},
	})
	tests := []struct {
		name, pkg, version, want string
	}{
		{"introduced 0", "templater", "2.10", "2.10.1"},
		{"zero padded", "templater", "2.10.0", "2.10.1"},
		{"pre-release of fix", "templater", "2.10.1rc1", "2.10.1"},
		{"fixed", "templater", "2.10.1", ""},
		{"first pair", "webkit-lite", "1.4", "1.11.29"},
		{"second pair pre-release", "webkit-lite", "2.0b3", "2.1.11"},
		{"third pair, fix is a pre-release", "webkit-lite", "2.2.7.dev1", "2.2.7rc1"},
		{"at the pre-release fix", "webkit-lite", "2.2.7rc1", ""},
		{"in a gap", "webkit-lite", "2.1.11.post1", ""},
		{"last_affected has no fix", "parserlib", "0.9.2", ""},
		{"epoch range", "parserlib", "1!0.2", "1!0.3"},
		{"epoch range excludes epoch 0", "parserlib", "5.0", ""},
		{"smallest by PEP 440", "two-fixes", "1.0", "1.9rc1"},
		{"smallest above version", "two-fixes", "1.9rc1", "1.9.post1"},
		{"invalid version", "templater", "2.x", ""},
		{"other package", "nothing", "1.0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Fixed("PyPI", tt.pkg, tt.version); got != tt.want {
				t.Errorf("Fixed(PyPI, %q, %q) = %q, want %q", tt.pkg, tt.version, got, tt.want)
			}
		})
	}
}

func TestAffectsPyPIRecord(t *testing.T) {
	r := readRecord(t, "PYSEC-TEST-1")
	tests := []struct {
		pkg     int
		version string
		want    bool
	}{
		{0, "2.10", true},
		{0, "2.11", false},
		{1, "2.0a1.dev1", false},
		{1, "2.0a1", true},
		{2, "0.5", false},
		{2, "0.5.post1", true},
		{2, "0.9.2+local.1", false},
		{2, "1!0", true},
	}
	for _, tt := range tests {
		a := r.Affected[tt.pkg]
		t.Run(a.Package.Name+"@"+tt.version, func(t *testing.T) {
			got, err := a.Affects(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Affects(%q) = %v, want %v", tt.version, got, tt.want)
			}
		})
	}
}

func ExampleRecord_Fixed_pyPI() {
	r := &Record{ID: "PYSEC-EXAMPLE", Affected: []Affected{{
		Package: Package{Ecosystem: "PyPI", Name: "templater"},
		Ranges: []Range{{Type: Ecosystem, Events: []Event{
			{Introduced, "0"}, {Fixed, "2.10.1"},
			{Introduced, "3.0.0a1"}, {Fixed, "3.0.0rc2"},
		}}},
	}}}
	for _, v := range []string{"2.9", "2.10.1", "3.0.0b1", "3.0.0"} {
		ok, _ := r.Affected[0].Affects(v)
		fmt.Printf("%s affected=%v fixed=%q\n", v, ok, r.Fixed("PyPI", "templater", v))
	}
	// Output:
	// 2.9 affected=true fixed="2.10.1"
	// 2.10.1 affected=false fixed=""
	// 3.0.0b1 affected=true fixed="3.0.0rc2"
	// 3.0.0 affected=false fixed=""
}

func FuzzPEP440(f *testing.F) {
	for _, s := range specOrder {
		f.Add(s, "1.0", "v1!2.0-RC.3-post-4_dev5+Ab-01")
	}
	f.Add("1.0-1", "1.0.post1", "1.0+5")
	f.Add("1..0", "1.0+", " v01!0.0a ")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var vs []pep440
		for _, s := range []string{a, b, c} {
			v, err := parsePEP440(s)
			if err != nil {
				if !errors.Is(err, ErrInvalidVersion) {
					t.Fatalf("parsePEP440(%q) error %v is not ErrInvalidVersion", s, err)
				}
				continue
			}
			n := v.String()
			w, err := parsePEP440(n)
			if err != nil {
				t.Fatalf("normalized %q of %q does not parse: %v", n, s, err)
			}
			if !reflect.DeepEqual(v, w) {
				t.Fatalf("parse(normalize(%q)) = %+v, want %+v", s, w, v)
			}
			if w.String() != n {
				t.Fatalf("normalize is not idempotent on %q: %q then %q", s, n, w.String())
			}
			if comparePEP440(v, v) != 0 {
				t.Fatalf("%q is not equal to itself", s)
			}
			vs = append(vs, v)
		}
		for _, x := range vs {
			for _, y := range vs {
				if comparePEP440(x, y) != -comparePEP440(y, x) {
					t.Fatalf("compare(%s, %s) is not antisymmetric", x, y)
				}
				for _, z := range vs {
					if comparePEP440(x, y) <= 0 && comparePEP440(y, z) <= 0 && comparePEP440(x, z) > 0 {
						t.Fatalf("compare is not transitive on %s <= %s <= %s", x, y, z)
					}
				}
			}
		}
	})
}

func TestFixedBefore(t *testing.T) {
	for _, tc := range []struct {
		eco, a, b string
		want      bool
	}{
		{"PyPI", "2.9", "2.10.1", true},
		{"PyPI", "1.9rc1", "1.9", true},
		{"PyPI", "2.10.1", "2.9", false},
		{"Go", "0.3.7", "0.10.0", true},
		{"Go", "0.0.0-20210520170846-37e1c6afe023", "0.1.0", true},
		{"npm", "4.17.21", "4.17.19", false},
	} {
		if got := FixedBefore(tc.eco, tc.a, tc.b); got != tc.want {
			t.Errorf("FixedBefore(%s, %s, %s) = %v, want %v", tc.eco, tc.a, tc.b, got, tc.want)
		}
	}
}
