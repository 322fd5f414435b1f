package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// summaryWidth is where WriteText truncates summaries, in characters.
const summaryWidth = 60

// WriteText writes the findings as a table a person reads at a glance,
// without colour: severity, id, package@version (or file), fixed version,
// reachability, summary truncated to 60 characters; then one line of totals
// by severity.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if len(r.Findings) > 0 {
		fmt.Fprintln(tw, "SEVERITY\tID\tPACKAGE\tFIXED\tREACH\tSUMMARY")
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		what := f.Location.Path
		if f.Package.Name != "" {
			what = f.Package.Name + "@" + f.Package.Version
		} else if f.Location.Line > 0 {
			what = fmt.Sprintf("%s:%d", what, f.Location.Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			f.Severity, clean(f.ID), clean(what), dash(clean(f.Fixed)), dash(f.Reachability), truncate(clean(f.Summary), summaryWidth))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("scan: write text: %w", err)
	}
	counts := map[Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	var parts []string
	for _, s := range []Severity{Critical, High, Medium, Low, Unknown, None} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	line := fmt.Sprintf("%d findings in %d components", len(r.Findings), r.Components)
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	if _, err := fmt.Fprintln(w, line); err != nil {
		return fmt.Errorf("scan: write text: %w", err)
	}
	return nil
}

// clean replaces control characters, so that hostile record text cannot
// break the table or a terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// JSON forms of the report; field names are lower_snake.
type jsonReport struct {
	Subject    jsonComponent `json:"subject"`
	Components int           `json:"components"`
	Database   []jsonSource  `json:"database"`
	Findings   []Finding     `json:"findings"`
	Warnings   []string      `json:"warnings"`
}

type jsonComponent struct {
	Ecosystem string `json:"ecosystem,omitempty"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	PURL      string `json:"purl,omitempty"`
}

type jsonSource struct {
	Name     string `json:"name"`
	Imported string `json:"imported"` // RFC 3339, UTC
	Count    int    `json:"count"`
	Digest   string `json:"digest"`
}

// WriteJSON writes the report as one indented JSON object:
//
//	{"subject": {"ecosystem", "name", "version", "purl"},
//	 "components": N,
//	 "database": [{"name", "imported", "count", "digest"}],
//	 "findings": [Finding...], "warnings": ["..."]}
//
// with each Finding under the field names of its JSON tags (lower_snake:
// kind, id, aliases, summary, package{ecosystem, name, version, purl},
// fixed, severity, cvss_v3 and cvss_v4 {version, vector, base}, records,
// location{path, line, column}, reachability, tool, fingerprint,
// references). Empty lists are [] rather than null.
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{
		Subject: jsonComponent{
			Ecosystem: string(r.Subject.Ecosystem), Name: r.Subject.Name,
			Version: r.Subject.Version, PURL: r.Subject.PURL,
		},
		Components: r.Components,
		Database:   []jsonSource{},
		Findings:   r.Findings,
		Warnings:   r.Warnings,
	}
	for _, s := range r.Database {
		out.Database = append(out.Database, jsonSource{
			Name: s.Name, Imported: s.Imported.UTC().Format(time.RFC3339Nano), Count: s.Count, Digest: s.Digest,
		})
	}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("scan: write JSON: %w", err)
	}
	return nil
}

// advisoryURL is where a person reads about a vulnerability id.
func advisoryURL(id string) string {
	switch {
	case strings.HasPrefix(id, "GO-"):
		return "https://pkg.go.dev/vuln/" + id
	case strings.HasPrefix(id, "GHSA-"):
		return "https://github.com/advisories/" + id
	case strings.HasPrefix(id, "CVE-"):
		return "https://nvd.nist.gov/vuln/detail/" + id
	}
	return "https://osv.dev/vulnerability/" + id
}

// WriteCycloneDXVEX writes the vulnerability and malicious-package findings
// as a CycloneDX 1.6 JSON BOM: metadata.component is the subject, components
// the affected components (bom-ref = PURL), and one vulnerability per
// distinct id with its source (osv.dev), aliases as references, one rating
// per CVSS score (method CVSSv3, CVSSv31 or CVSSv4; or severity alone, method
// "other", without a score), affects[].ref the PURLs, and the recommendation
// "Upgrade <name> to <fixed>" per component with a fix.
//
// analysis.state is "in_triage": a match of versions against advisories
// says the vulnerable code is present, not that it is exploitable in this
// product; only a person's triage (an exception, package policy) can move
// it on. Hardening and SAST findings are not component vulnerabilities and
// are left out. The output has no timestamp or serial number, so it depends
// only on the report.
func (r *Report) WriteCycloneDXVEX(w io.Writer) error {
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	subject := cdx.Component{
		Type:    cdx.ComponentTypeApplication,
		Name:    r.Subject.Name,
		Version: r.Subject.Version,
	}
	if r.Subject.PURL != "" {
		subject.BOMRef, subject.PackageURL = r.Subject.PURL, r.Subject.PURL
	}
	bom.Metadata = &cdx.Metadata{
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "hallmark", Version: toolVersion(),
		}}},
		Component: &subject,
	}
	comps := map[string]cdx.Component{}
	type vuln struct {
		first *Finding
		refs  []string
		recs  []string
	}
	vulns := map[string]*vuln{}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Kind != Vulnerability && f.Kind != Malicious {
			continue
		}
		ref := f.Package.PURL
		if ref == "" {
			ref = f.Package.Ecosystem + ":" + f.Package.Name + "@" + f.Package.Version
		}
		if _, ok := comps[ref]; !ok && ref != r.Subject.PURL {
			c := cdx.Component{Type: cdx.ComponentTypeLibrary, BOMRef: ref, Name: f.Package.Name, Version: f.Package.Version}
			if f.Package.PURL != "" {
				c.PackageURL = f.Package.PURL
			}
			comps[ref] = c
		}
		v := vulns[f.ID]
		if v == nil {
			v = &vuln{first: f}
			vulns[f.ID] = v
		}
		if !slices.Contains(v.refs, ref) {
			v.refs = append(v.refs, ref)
		}
		if f.Fixed != "" {
			rec := "Upgrade " + f.Package.Name + " to " + f.Fixed
			if !slices.Contains(v.recs, rec) {
				v.recs = append(v.recs, rec)
			}
		}
	}
	if len(comps) > 0 {
		list := make([]cdx.Component, 0, len(comps))
		for _, k := range slices.Sorted(maps.Keys(comps)) {
			list = append(list, comps[k])
		}
		bom.Components = &list
	}
	if len(vulns) > 0 {
		list := make([]cdx.Vulnerability, 0, len(vulns))
		for _, id := range slices.Sorted(maps.Keys(vulns)) {
			list = append(list, vexVulnerability(id, vulns[id].first, vulns[id].refs, vulns[id].recs))
		}
		bom.Vulnerabilities = &list
	}
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return fmt.Errorf("scan: write CycloneDX VEX: %w", err)
	}
	return nil
}

func vexVulnerability(id string, f *Finding, refs, recs []string) cdx.Vulnerability {
	v := cdx.Vulnerability{
		BOMRef:      "vuln:" + id,
		ID:          id,
		Source:      &cdx.Source{Name: "OSV", URL: advisoryURL(id)},
		Description: f.Summary,
		Analysis:    &cdx.VulnerabilityAnalysis{State: cdx.IASInTriage},
	}
	if len(f.Aliases) > 0 {
		vr := make([]cdx.VulnerabilityReference, 0, len(f.Aliases))
		for _, a := range f.Aliases {
			vr = append(vr, cdx.VulnerabilityReference{ID: a, Source: &cdx.Source{URL: advisoryURL(a)}})
		}
		v.References = &vr
	}
	var ratings []cdx.VulnerabilityRating
	for _, s := range []*Score{f.CVSS3, f.CVSS4} {
		if s == nil {
			continue
		}
		method := cdx.ScoringMethodCVSSv31
		switch s.Version {
		case "3.0":
			method = cdx.ScoringMethodCVSSv3
		case "4.0":
			method = cdx.ScoringMethodCVSSv4
		}
		score := s.Base
		ratings = append(ratings, cdx.VulnerabilityRating{
			Score: &score, Severity: cdx.Severity(FromScore(s.Base)), Method: method, Vector: s.Vector,
		})
	}
	if len(ratings) == 0 {
		ratings = append(ratings, cdx.VulnerabilityRating{Severity: cdx.Severity(f.Severity), Method: cdx.ScoringMethodOther})
	}
	v.Ratings = &ratings
	if len(f.References) > 0 {
		adv := make([]cdx.Advisory, 0, len(f.References))
		for _, u := range f.References {
			adv = append(adv, cdx.Advisory{URL: u})
		}
		v.Advisories = &adv
	}
	slices.Sort(refs)
	aff := make([]cdx.Affects, 0, len(refs))
	for _, ref := range refs {
		aff = append(aff, cdx.Affects{Ref: ref})
	}
	v.Affects = &aff
	slices.Sort(recs)
	v.Recommendation = strings.Join(recs, "; ")
	return v
}
