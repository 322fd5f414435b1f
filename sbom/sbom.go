// Package sbom writes an [inventory.Inventory] as a CycloneDX 1.6 or an
// SPDX 2.3 JSON document, and reads either format (as written here or by
// other tools such as syft) back into an Inventory.
//
// # Writing
//
// [CycloneDX] and [SPDX] are pure functions of the Inventory and the
// [Options]: the same input gives byte-identical output, whatever the order
// of the Inventory's slices. Everything is sorted (components by purl, files
// by path, dependencies by reference, properties by name then value) and the
// JSON is indented with two spaces, ending in a newline. Nothing random goes
// in: the CycloneDX serialNumber is a name-based (version 5, RFC 9562) UUID
// over the SHA-256 of the document rendered without it, and the SPDX
// documentNamespace is https://hallmark.dev/spdx/<name>-<sha256 hex> over the
// document rendered without it. Two different inventories therefore get
// different identifiers, and the same inventory always the same ones.
//
// Options.Time is the document's creation time (the CLI passes
// SOURCE_DATE_EPOCH or the time of the source commit), written in UTC with
// second precision. When it is zero, CycloneDX omits metadata.timestamp
// (the field is optional) and SPDX, whose creationInfo.created is mandatory,
// says 1970-01-01T00:00:00Z: the Unix epoch, the conventional "no date"
// of reproducible builds, rather than a wall-clock time that would make the
// output differ on every run and claim a date nobody chose.
//
// CycloneDX mapping (CycloneDX 1.6, written with cyclonedx-go):
//   - metadata.component is the subject, of type application, or of type
//     file when the subject has no ecosystem and is itself one of the files
//     (a walk of a single binary); metadata.tools lists the tool in the
//     components form of CycloneDX 1.5 and later;
//   - each component is of type library (Go's stdlib and toolchain too, as
//     syft writes them), with bom-ref and purl set to its PURL; scope is
//     "optional" for development dependencies, "required" for the others,
//     and absent when the component's Scope is ""; Hallmark's own scope is
//     kept in the property "hallmark:scope";
//     each location is a property "hallmark:location";
//   - licenses: one license per entry, by id when the identifier is on the
//     SPDX list the CycloneDX schema knows, by name otherwise; a license
//     expression is written as an expression. The schema allows either a list
//     of licenses or one expression, so a component with several entries of
//     which one is an expression gets a single expression joining them all
//     with AND (read back as that one expression);
//   - each file becomes a component of type file named by its path ("." for
//     the walk's root itself), with bom-ref "file:" plus that name, its
//     SHA-256 and the properties "hallmark:format" and "hallmark:size";
//   - dependencies has one entry for the subject (its DependsOn, or when that
//     is nil its components of scope Direct, Development and Toolchain: all
//     but the indirect ones), one for every component whose DependsOn
//     is not nil (an entry without dependsOn says "depends on nothing", as
//     the CycloneDX specification has it; no entry says "not known"), and
//     one for every file listing the components
//     its build information names. References to components that are not in
//     the document, and self-references, are dropped.
//
// SPDX mapping (SPDX 2.3, written with encoding/json from a model declared
// here: tools-golang's spdx/v2/v2_3 needs a module go.mod does not list):
//   - every element is a package: the subject (purpose APPLICATION, or FILE
//     as above), which the document DESCRIBES; every component (purpose
//     LIBRARY). Every package's SPDXID is SPDXRef-Package-<name>-<16 hex
//     digits of the SHA-256 of its reference> (a component's reference is
//     its purl, a file's and the subject's their CycloneDX bom-ref), the
//     name reduced to the letters, digits, "." and "-" that SPDX
//     identifiers allow. Packages have downloadLocation and licenseConcluded
//     NOASSERTION, filesAnalyzed false, licenseDeclared the licenses joined
//     with AND (or NOASSERTION), checksums, and an externalRef of category
//     PACKAGE-MANAGER and type purl;
//   - files are packages of purpose FILE named by their path, with
//     packageFileName "./path" and a SHA-256 checksum, not SPDX files:
//     SPDX 2.3 (clause 8.4) makes a SHA-1 checksum mandatory for every file,
//     and an Inventory carries only SHA-256, while package checksums may be
//     any algorithm. The subject CONTAINS every file package;
//   - what SPDX has no field for goes in the package comment, one line per
//     value, "hallmark:<key>=<Go-quoted value>": scope, location, and for
//     files format and size; license, one line per entry, when there are
//     several, so that they can be read back apart;
//   - relationships: DESCRIBES, DEPENDS_ON for every dependency (DEPENDS_ON
//     NONE for a component known to depend on nothing), the subject
//     DEPENDS_ON its dependencies as for CycloneDX, a file package CONTAINS
//     the components its build information names, the subject CONTAINS the
//     file packages.
//
// Writing fails only on an Inventory that breaks its own invariants: a
// component without a purl, two components with the same purl, two files
// with the same path, or a file whose bom-ref is a component's purl. Hashes whose algorithm the formats do not know, or
// whose value is not lowercase hex of the algorithm's length, are left out.
//
// # Reading
//
// [Read] takes a CycloneDX 1.4 to 1.7 JSON BOM (bomFormat "CycloneDX"; recent
// syft releases write 1.7, whose components and dependencies Read uses are
// those of 1.6) or an
// SPDX 2.2 or 2.3 JSON document (spdxVersion) of at most [MaxSize] bytes with
// at most [MaxComponents] components or packages. The input is hostile: no
// object may have two members whose names are equal ignoring case (decoders
// disagree on which one wins, and encoding/json matches names ignoring case),
// values nest at most 64 deep, and every value Read uses must have its
// schema's JSON type. Fields Read does not use are ignored.
//
// Dependencies come from CycloneDX dependencies (by bom-ref, or by purl for
// components without one) and from SPDX relationships: DEPENDS_ON (to NONE:
// depends on nothing), every *_DEPENDENCY_OF the other way round, and
// CONTAINS (or CONTAINED_BY) from a file to a component for File.Components.
// References to elements that are not components are dropped.
//
// Components are identified by their purl. Ecosystem, Name and Version come
// from it as the OSV schema spells them: pkg:golang is "Go" with the module
// path as name (case kept: Go module paths are case-sensitive), pkg:npm is
// "npm" with "@scope/name", pkg:pypi is "PyPI" with the PEP 503 normalized
// name, pkg:cargo is "crates.io"; any other type keeps Ecosystem "" with the
// purl's namespace/name. The version is the purl's, or the component's own
// version field when the purl has none. Go's stdlib and toolchain versions
// are written as the Go vulnerability database writes them, without "go" or
// "v", as osv.GoVersion maps them (pkg:golang/stdlib@go1.22.1 and
// @v1.22.1 give "1.22.1", @go1.21rc2 gives "1.21.0-rc.2"); Go module
// versions have their "v", which is added when the purl lacks it. A component without a purl is left out with a Warning
// whose Path is the component's JSON path; a purl that does not parse is an
// error. Components with the same purl are merged. Scope comes from the
// "hallmark:scope" property or comment line; without it, stdlib and
// toolchain are Toolchain, CycloneDX optional and excluded components are
// Development, and the rest have scope "". Locations come from
// "hallmark:location" and from syft's "syft:location:N:path" properties.
// CycloneDX components of type file and SPDX packages of purpose FILE
// without a purl, as well as SPDX files, become Files (Format "" unless
// "hallmark:format" says).
//
// Errors are lowercase and name the JSON path, for example
//
//	sbom: components[3].purl: purl scheme is not "pkg": "npm/x@1"
package sbom

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/inventory"
)

// Limits on what Read accepts.
const (
	// MaxSize is the largest document Read accepts, in bytes.
	MaxSize = 64 << 20
	// MaxComponents is the largest number of components (CycloneDX,
	// nested ones included) or packages and files (SPDX) Read accepts.
	MaxComponents = 1_000_000
)

// Options are what an SBOM says besides the Inventory.
type Options struct {
	// Time is the document's creation time. Zero: CycloneDX has no
	// metadata.timestamp, SPDX says the Unix epoch (see the package
	// documentation).
	Time time.Time
	// ToolName and ToolVersion name the tool that wrote the document;
	// ToolName defaults to "hallmark", ToolVersion may be empty.
	ToolName, ToolVersion string
}

func (o Options) toolName() string {
	if o.ToolName == "" {
		return "hallmark"
	}
	return o.ToolName
}

// timestamp is the format of both formats' creation times: RFC 3339 in UTC
// with second precision, as SPDX requires.
const timestamp = "2006-01-02T15:04:05Z"

// Property names and comment keys of Hallmark's own data.
const (
	propScope    = "hallmark:scope"
	propLocation = "hallmark:location"
	propFormat   = "hallmark:format"
	propSize     = "hallmark:size"
	propLicense  = "hallmark:license"
)

// hashAlgs maps CycloneDX hash algorithm names, as inventory.Component.Hashes
// uses them, to their SPDX names and to the hex length of their digests.
var hashAlgs = map[string]struct {
	spdx string
	hex  int
}{
	"MD5":         {"MD5", 32},
	"SHA-1":       {"SHA1", 40},
	"SHA-256":     {"SHA256", 64},
	"SHA-384":     {"SHA384", 96},
	"SHA-512":     {"SHA512", 128},
	"SHA3-256":    {"SHA3-256", 64},
	"SHA3-384":    {"SHA3-384", 96},
	"SHA3-512":    {"SHA3-512", 128},
	"BLAKE2b-256": {"BLAKE2b-256", 64},
	"BLAKE2b-384": {"BLAKE2b-384", 96},
	"BLAKE2b-512": {"BLAKE2b-512", 128},
	"BLAKE3":      {"BLAKE3", 64},
}

// hash is one digest of a component, in CycloneDX naming.
type hash struct{ alg, value string }

// doc is an Inventory checked and put in the canonical order both writers
// render.
type doc struct {
	subject    inventory.Component
	subjectRef string // bom-ref of the subject
	subjectDep []string
	isFile     bool // the subject is the file at the walk's root
	comps      []inventory.Component
	hashes     map[string][]hash // by purl, and "" for the subject
	files      []inventory.File
	has        map[string]bool // purls of comps
}

// prepare checks inv's invariants and returns it sorted, without dangling
// references, so that the renderings depend only on its content.
func prepare(inv *inventory.Inventory) (*doc, error) {
	if inv == nil {
		return nil, fmt.Errorf("sbom: nil inventory")
	}
	d := &doc{
		subject: inv.Subject,
		hashes:  map[string][]hash{},
		has:     map[string]bool{},
	}
	d.comps = slices.Clone(inv.Components)
	slices.SortFunc(d.comps, func(a, b inventory.Component) int { return strings.Compare(a.PURL, b.PURL) })
	for i, c := range d.comps {
		if c.PURL == "" {
			return nil, fmt.Errorf("sbom: component %q: no purl", c.Name)
		}
		if i > 0 && d.comps[i-1].PURL == c.PURL {
			return nil, fmt.Errorf("sbom: component %s: listed twice", c.PURL)
		}
		d.has[c.PURL] = true
	}
	d.subjectRef = inv.Subject.PURL
	if d.subjectRef == "" || d.has[d.subjectRef] {
		d.subjectRef = "hallmark:subject"
	}
	for i := range d.comps {
		c := &d.comps[i]
		c.Licenses = sortedSet(c.Licenses)
		c.Locations = sortedSet(c.Locations)
		c.DependsOn = d.refs(c.DependsOn, c.PURL)
		d.hashes[c.PURL] = goodHashes(c.Hashes)
	}
	d.subject.Licenses = sortedSet(d.subject.Licenses)
	d.subject.Locations = sortedSet(d.subject.Locations)
	d.hashes[""] = goodHashes(d.subject.Hashes)
	if inv.Subject.DependsOn != nil {
		d.subjectDep = d.refs(inv.Subject.DependsOn, inv.Subject.PURL)
	} else {
		d.subjectDep = []string{}
		for _, c := range d.comps {
			if c.Scope == inventory.Direct || c.Scope == inventory.Development || c.Scope == inventory.Toolchain {
				d.subjectDep = append(d.subjectDep, c.PURL)
			}
		}
	}

	d.files = slices.Clone(inv.Files)
	slices.SortFunc(d.files, func(a, b inventory.File) int { return strings.Compare(a.Path, b.Path) })
	for i := range d.files {
		f := &d.files[i]
		if i > 0 && d.files[i-1].Path == f.Path {
			return nil, fmt.Errorf("sbom: file %q: listed twice", f.Path)
		}
		if d.has[fileRef(f.Path)] || d.subjectRef == fileRef(f.Path) {
			return nil, fmt.Errorf("sbom: file %q: its reference %q is also a component's", f.Path, fileRef(f.Path))
		}
		if f.Path == "" && inv.Subject.Ecosystem == "" {
			d.isFile = true
		}
		if !isHex(f.SHA256, 64) {
			f.SHA256 = ""
		}
		f.Components = d.refs(f.Components, "")
		if f.Components == nil {
			f.Components = []string{}
		}
	}
	return d, nil
}

// refs returns the purls of refs that are components of d, other than self,
// sorted and each once; nil for nil.
func (d *doc) refs(refs []string, self string) []string {
	if refs == nil {
		return nil
	}
	out := []string{}
	for _, r := range sortedSet(refs) {
		if d.has[r] && r != self {
			out = append(out, r)
		}
	}
	return out
}

// goodHashes returns the hashes of m that the formats can carry, sorted by
// algorithm.
func goodHashes(m map[string]string) []hash {
	var out []hash
	for alg, v := range m {
		if a, ok := hashAlgs[alg]; ok && isHex(v, a.hex) {
			out = append(out, hash{alg, v})
		}
	}
	slices.SortFunc(out, func(a, b hash) int { return strings.Compare(a.alg, b.alg) })
	return out
}

// isHex reports whether s is n lowercase hexadecimal digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// sortedSet returns a sorted copy of s without duplicates and empty strings;
// nil for nil, empty for empty.
func sortedSet(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// fileName is how a file's path is written: "." for the root itself.
func fileName(path string) string {
	if path == "" {
		return "."
	}
	return path
}

// fileRef is the CycloneDX bom-ref of the file at path.
func fileRef(path string) string { return "file:" + fileName(path) }

// isExpression reports whether a license string is an SPDX expression
// rather than a single identifier.
func isExpression(l string) bool {
	return strings.ContainsAny(l, " \t\n()")
}

// joinLicenses returns one SPDX expression meaning all of ls.
func joinLicenses(ls []string) string {
	if len(ls) == 1 {
		return ls[0]
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		if isExpression(l) {
			l = "(" + l + ")"
		}
		parts[i] = l
	}
	return strings.Join(parts, " AND ")
}

// uuid5 returns the name-based UUID (version 5, SHA-1) of name in the
// namespace ns, in its text form.
func uuid5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// serialNamespace is the UUID namespace of CycloneDX serial numbers: the
// RFC 9562 URL namespace, the name being
// https://hallmark.dev/cyclonedx/<sha256 hex>.
var serialNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
