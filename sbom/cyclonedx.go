package sbom

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/hallmark-dev/hallmark/inventory"
)

// CycloneDX returns inv as a CycloneDX 1.6 JSON BOM, indented with two
// spaces. The package documentation describes the mapping.
func CycloneDX(inv *inventory.Inventory, opts Options) ([]byte, error) {
	d, err := prepare(inv)
	if err != nil {
		return nil, err
	}
	bom := &cdx.BOM{
		JSONSchema:  "http://cyclonedx.org/schema/bom-1.6.schema.json",
		BOMFormat:   cdx.BOMFormat,
		SpecVersion: cdx.SpecVersion1_6,
		Version:     1,
	}

	tool := cdx.Component{Type: cdx.ComponentTypeApplication, Name: opts.toolName(), Version: opts.ToolVersion}
	subject := cdxComponent(d.subject, d.hashes[""])
	subject.BOMRef = d.subjectRef
	subject.Type = cdx.ComponentTypeApplication
	if d.isFile {
		subject.Type = cdx.ComponentTypeFile
	}
	subject.Scope = ""
	if subject.Name == "" {
		subject.Name = "unnamed"
	}
	bom.Metadata = &cdx.Metadata{
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{tool}},
		Component: &subject,
	}
	if !opts.Time.IsZero() {
		bom.Metadata.Timestamp = opts.Time.UTC().Format(timestamp)
	}

	comps := make([]cdx.Component, 0, len(d.comps)+len(d.files))
	deps := []cdx.Dependency{{Ref: d.subjectRef, Dependencies: &d.subjectDep}}
	for _, c := range d.comps {
		comps = append(comps, cdxComponent(c, d.hashes[c.PURL]))
		if c.DependsOn != nil {
			deps = append(deps, cdx.Dependency{Ref: c.PURL, Dependencies: &c.DependsOn})
		}
	}
	for _, f := range d.files {
		fc := cdx.Component{
			BOMRef: fileRef(f.Path),
			Type:   cdx.ComponentTypeFile,
			Name:   fileName(f.Path),
		}
		if f.SHA256 != "" {
			fc.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}}
		}
		var props []cdx.Property
		if f.Format != "" {
			props = append(props, cdx.Property{Name: propFormat, Value: f.Format})
		}
		props = append(props, cdx.Property{Name: propSize, Value: strconv.FormatInt(f.Size, 10)})
		fc.Properties = &props
		comps = append(comps, fc)
		deps = append(deps, cdx.Dependency{Ref: fc.BOMRef, Dependencies: &f.Components})
	}
	if len(comps) > 0 {
		bom.Components = &comps
	}
	slices.SortFunc(deps, func(a, b cdx.Dependency) int { return strings.Compare(a.Ref, b.Ref) })
	bom.Dependencies = &deps

	// The serial number names the rest of the document.
	unnamed, err := encodeCycloneDX(bom)
	if err != nil {
		return nil, err
	}
	bom.SerialNumber = "urn:uuid:" + uuid5(serialNamespace, "https://hallmark.dev/cyclonedx/"+sha256Hex(unnamed))
	return encodeCycloneDX(bom)
}

func encodeCycloneDX(bom *cdx.BOM) ([]byte, error) {
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("sbom: cyclonedx: %w", err)
	}
	return buf.Bytes(), nil
}

// cdxComponent is c as a CycloneDX library component.
func cdxComponent(c inventory.Component, hashes []hash) cdx.Component {
	out := cdx.Component{
		BOMRef:     c.PURL,
		Type:       cdx.ComponentTypeLibrary,
		Name:       c.Name,
		Version:    c.Version,
		PackageURL: c.PURL,
		Licenses:   cdxLicenses(c.Licenses),
	}
	switch c.Scope {
	case "":
		// Not known: no scope rather than a guess.
	case inventory.Development:
		out.Scope = cdx.ScopeOptional
	default:
		out.Scope = cdx.ScopeRequired
	}
	if len(hashes) > 0 {
		hs := make([]cdx.Hash, len(hashes))
		for i, h := range hashes {
			hs[i] = cdx.Hash{Algorithm: cdx.HashAlgorithm(h.alg), Value: h.value}
		}
		out.Hashes = &hs
	}
	var props []cdx.Property
	if c.Scope != "" {
		props = append(props, cdx.Property{Name: propScope, Value: string(c.Scope)})
	}
	for _, l := range c.Locations {
		props = append(props, cdx.Property{Name: propLocation, Value: l})
	}
	if len(props) > 0 {
		slices.SortFunc(props, func(a, b cdx.Property) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Value, b.Value))
		})
		out.Properties = &props
	}
	return out
}

// cdxLicenses is ls in the form the CycloneDX schema requires: a list of
// licenses, or a single expression.
func cdxLicenses(ls []string) *cdx.Licenses {
	if len(ls) == 0 {
		return nil
	}
	if slices.ContainsFunc(ls, isExpression) {
		return &cdx.Licenses{{Expression: joinLicenses(ls)}}
	}
	out := make(cdx.Licenses, len(ls))
	for i, l := range ls {
		if licenseIDs[l] {
			out[i] = cdx.LicenseChoice{License: &cdx.License{ID: l}}
		} else {
			out[i] = cdx.LicenseChoice{License: &cdx.License{Name: l}}
		}
	}
	return &out
}
