package sbom

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/inventory"
)

const noAssertion = "NOASSERTION"

// The SPDX 2.3 JSON model, as much of it as SPDX writes. It is declared
// here rather than taken from tools-golang's spdx/v2/v2_3, which needs
// github.com/anchore/go-struct-converter, a module go.mod does not list.
type (
	spdxDocument struct {
		SPDXVersion       string              `json:"spdxVersion"`
		DataLicense       string              `json:"dataLicense"`
		SPDXID            string              `json:"SPDXID"`
		Name              string              `json:"name"`
		DocumentNamespace string              `json:"documentNamespace"`
		CreationInfo      spdxCreationInfo    `json:"creationInfo"`
		Packages          []*spdxPackageOut   `json:"packages"`
		Relationships     []*spdxRelationship `json:"relationships"`
	}
	spdxCreationInfo struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	}
	spdxPackageOut struct {
		SPDXID                string            `json:"SPDXID"`
		Name                  string            `json:"name"`
		VersionInfo           string            `json:"versionInfo,omitempty"`
		PackageFileName       string            `json:"packageFileName,omitempty"`
		DownloadLocation      string            `json:"downloadLocation"`
		FilesAnalyzed         bool              `json:"filesAnalyzed"`
		Checksums             []spdxChecksum    `json:"checksums,omitempty"`
		LicenseConcluded      string            `json:"licenseConcluded"`
		LicenseDeclared       string            `json:"licenseDeclared"`
		Comment               string            `json:"comment,omitempty"`
		ExternalRefs          []spdxExternalRef `json:"externalRefs,omitempty"`
		PrimaryPackagePurpose string            `json:"primaryPackagePurpose"`
	}
	spdxChecksum struct {
		Algorithm     string `json:"algorithm"`
		ChecksumValue string `json:"checksumValue"`
	}
	spdxExternalRef struct {
		ReferenceCategory string `json:"referenceCategory"`
		ReferenceType     string `json:"referenceType"`
		ReferenceLocator  string `json:"referenceLocator"`
	}
	spdxRelationship struct {
		SPDXElementID      string `json:"spdxElementId"`
		RelationshipType   string `json:"relationshipType"`
		RelatedSPDXElement string `json:"relatedSpdxElement"`
	}
)

// SPDX returns inv as an SPDX 2.3 JSON document, indented with two spaces.
// The package documentation describes the mapping.
func SPDX(inv *inventory.Inventory, opts Options) ([]byte, error) {
	d, err := prepare(inv)
	if err != nil {
		return nil, err
	}
	created := time.Unix(0, 0)
	if !opts.Time.IsZero() {
		created = opts.Time
	}
	creator := "Tool: " + opts.toolName()
	if opts.ToolVersion != "" {
		creator += "-" + opts.ToolVersion
	}
	name := d.subject.Name
	if name == "" {
		name = "unnamed"
	}
	doc := &spdxDocument{
		SPDXVersion: "SPDX-2.3",
		DataLicense: "CC0-1.0",
		SPDXID:      "SPDXRef-DOCUMENT",
		Name:        name,
		CreationInfo: spdxCreationInfo{
			Created:  created.UTC().Format(timestamp),
			Creators: []string{creator},
		},
	}

	ids := map[string]string{}  // SPDXID by reference
	seen := map[string]string{} // reference by SPDXID
	id := func(ref, name string) (string, error) {
		e := "SPDXRef-Package-" + sanitizeID(name) + "-" + sha256Hex([]byte(ref))[:16]
		if other, ok := seen[e]; ok {
			return "", fmt.Errorf("sbom: spdx: %s and %s have the same SPDXID %s", other, ref, e)
		}
		seen[e] = ref
		ids[ref] = e
		return e, nil
	}

	subjectID, err := id(d.subjectRef, name)
	if err != nil {
		return nil, err
	}
	subject := spdxPackage(d.subject, d.hashes[""])
	subject.SPDXID = subjectID
	subject.Name = name
	subject.PrimaryPackagePurpose = "APPLICATION"
	if d.isFile {
		subject.PrimaryPackagePurpose = "FILE"
	}
	doc.Packages = append(doc.Packages, subject)

	for _, c := range d.comps {
		p := spdxPackage(c, d.hashes[c.PURL])
		if p.SPDXID, err = id(c.PURL, p.Name); err != nil {
			return nil, err
		}
		doc.Packages = append(doc.Packages, p)
	}
	for _, f := range d.files {
		p := &spdxPackageOut{
			Name:                  fileName(f.Path),
			PackageFileName:       "./" + f.Path,
			DownloadLocation:      noAssertion,
			LicenseConcluded:      noAssertion,
			LicenseDeclared:       noAssertion,
			PrimaryPackagePurpose: "FILE",
		}
		if f.Path == "" {
			p.PackageFileName = "."
		}
		if f.SHA256 != "" {
			p.Checksums = []spdxChecksum{{"SHA256", f.SHA256}}
		}
		var lines []string
		if f.Format != "" {
			lines = append(lines, commentLine(propFormat, f.Format))
		}
		lines = append(lines, commentLine(propSize, strconv.FormatInt(f.Size, 10)))
		p.Comment = strings.Join(lines, "\n")
		if p.SPDXID, err = id(fileRef(f.Path), p.Name); err != nil {
			return nil, err
		}
		doc.Packages = append(doc.Packages, p)
	}

	rel := func(a, typ, b string) *spdxRelationship {
		return &spdxRelationship{SPDXElementID: a, RelationshipType: typ, RelatedSPDXElement: b}
	}
	var rels []*spdxRelationship
	for _, p := range d.subjectDep {
		rels = append(rels, rel(subjectID, "DEPENDS_ON", ids[p]))
	}
	for _, c := range d.comps {
		if c.DependsOn != nil && len(c.DependsOn) == 0 {
			rels = append(rels, rel(ids[c.PURL], "DEPENDS_ON", "NONE"))
		}
		for _, p := range c.DependsOn {
			rels = append(rels, rel(ids[c.PURL], "DEPENDS_ON", ids[p]))
		}
	}
	for _, f := range d.files {
		fid := ids[fileRef(f.Path)]
		rels = append(rels, rel(subjectID, "CONTAINS", fid))
		for _, p := range f.Components {
			rels = append(rels, rel(fid, "CONTAINS", ids[p]))
		}
	}
	slices.SortFunc(rels, func(a, b *spdxRelationship) int {
		return cmp.Or(
			strings.Compare(a.SPDXElementID, b.SPDXElementID),
			strings.Compare(a.RelationshipType, b.RelationshipType),
			strings.Compare(a.RelatedSPDXElement, b.RelatedSPDXElement))
	})
	doc.Relationships = append([]*spdxRelationship{rel(doc.SPDXID, "DESCRIBES", subjectID)}, rels...)

	// The namespace names the rest of the document.
	unnamed, err := encodeSPDX(doc)
	if err != nil {
		return nil, err
	}
	doc.DocumentNamespace = "https://hallmark.dev/spdx/" + url.PathEscape(name) + "-" + sha256Hex(unnamed)
	return encodeSPDX(doc)
}

func encodeSPDX(doc *spdxDocument) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("sbom: spdx: %w", err)
	}
	return buf.Bytes(), nil
}

// spdxPackage is c as an SPDX package of purpose LIBRARY, without its
// SPDXID.
func spdxPackage(c inventory.Component, hashes []hash) *spdxPackageOut {
	p := &spdxPackageOut{
		Name:                  c.Name,
		VersionInfo:           c.Version,
		DownloadLocation:      noAssertion,
		LicenseConcluded:      noAssertion,
		LicenseDeclared:       noAssertion,
		PrimaryPackagePurpose: "LIBRARY",
	}
	if p.Name == "" {
		p.Name = c.PURL
	}
	if len(c.Licenses) > 0 {
		p.LicenseDeclared = joinLicenses(c.Licenses)
	}
	for _, h := range hashes {
		p.Checksums = append(p.Checksums, spdxChecksum{hashAlgs[h.alg].spdx, h.value})
	}
	if c.PURL != "" {
		p.ExternalRefs = []spdxExternalRef{{"PACKAGE-MANAGER", "purl", c.PURL}}
	}
	p.Comment = comment(string(c.Scope), c.Licenses, c.Locations)
	return p
}

// comment holds what SPDX has no field for, one "hallmark:<key>=<quoted>"
// line per value. Licenses are listed only when there are several, since
// licenseDeclared then joins them into one expression; scope "" is left
// out.
func comment(scope string, licenses, locations []string) string {
	var lines []string
	if len(licenses) > 1 {
		for _, l := range licenses {
			lines = append(lines, commentLine(propLicense, l))
		}
	}
	for _, l := range locations {
		lines = append(lines, commentLine(propLocation, l))
	}
	if scope != "" {
		lines = append(lines, commentLine(propScope, scope))
	}
	return strings.Join(lines, "\n")
}

func commentLine(key, value string) string {
	return key + "=" + strconv.Quote(value)
}

// sanitizeID keeps the characters SPDX identifiers allow, letters, digits,
// "." and "-", replacing runs of the others with "-", and at most 64 of
// them.
func sanitizeID(s string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' {
			b.WriteByte(c)
			dash = c == '-'
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}
