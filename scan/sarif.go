package scan

// SARIF 2.1.0 (OASIS Standard, docs.oasis-open.org/sarif/sarif/v2.1.0):
// ReadSARIF takes the results of any SAST tool in, WriteSARIF puts a
// Report out for GitHub code scanning and other consumers.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
)

// SARIF input limits.
const (
	MaxSARIFSize    = 64 << 20  // bytes of one SARIF log
	MaxSARIFResults = 1_000_000 // results over all runs
)

const (
	sarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	sarifInfo   = "https://github.com/hallmark-dev/hallmark"
)

type sarifMessage struct {
	Text     string `json:"text,omitempty"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     *sarifMessage  `json:"shortDescription,omitempty"`
	FullDescription      *sarifMessage  `json:"fullDescription,omitempty"`
	Help                 *sarifMessage  `json:"help,omitempty"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration *sarifConfig   `json:"defaultConfiguration,omitempty"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine,omitempty"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation *sarifArtifactLocation `json:"artifactLocation,omitempty"`
	Region           *sarifRegion           `json:"region,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
}

type sarifRuleRef struct {
	ID    string `json:"id,omitempty"`
	Index *int   `json:"index,omitempty"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId,omitempty"`
	RuleIndex           *int              `json:"ruleIndex,omitempty"`
	Rule                *sarifRuleRef     `json:"rule,omitempty"`
	Level               string            `json:"level,omitempty"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	SemanticVer    string      `json:"semanticVersion,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

// decodeAt decodes raw into v, naming path in the error.
func decodeAt(name, path string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("scan: %s: %s.%s: is %s, want %s", name, path, te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("scan: %s: %s: %w", name, path, err)
	}
	return nil
}

// ReadSARIF reads the results of a SARIF 2.1.0 log (gosec, semgrep,
// staticcheck, CodeQL, ...) as SAST findings, named name in errors.
//
// The rule of a result is found by ruleIndex, rule.index, ruleId or rule.id,
// in that order. Its severity is the CVSS scale on the rule's
// properties["security-severity"] when present (the GitHub convention),
// else the result's level, else the rule's defaultConfiguration.level, else
// "warning" (the spec's default): error is high, warning medium, note low,
// none none. The location is the first location's artifact URI, start line
// and column. The fingerprint hashes the tool, the rule and the
// partialFingerprints when there are any, else the URI and line.
// Logs larger than MaxSARIFSize or with more than MaxSARIFResults results are
// refused.
func ReadSARIF(r io.Reader, name string) ([]Finding, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSARIFSize+1))
	if err != nil {
		return nil, fmt.Errorf("scan: %s: %w", name, err)
	}
	if len(data) > MaxSARIFSize {
		return nil, fmt.Errorf("scan: %s: larger than the limit of %d bytes", name, MaxSARIFSize)
	}
	var top struct {
		Version *string           `json:"version"`
		Runs    []json.RawMessage `json:"runs"`
	}
	// json.Unmarshal checks the syntax of the whole log before decoding.
	var syntax *json.SyntaxError
	switch err := decodeAt(name, "$", data, &top); {
	case errors.As(err, &syntax):
		return nil, fmt.Errorf("scan: %s: invalid JSON: %v", name, syntax)
	case bytes.HasPrefix(bytes.TrimSpace(data), []byte("null")):
		return nil, fmt.Errorf("scan: %s: log is null, want object", name)
	case err != nil:
		return nil, err
	}
	if top.Version == nil {
		return nil, fmt.Errorf("scan: %s: version: missing", name)
	}
	if *top.Version != "2.1.0" {
		return nil, fmt.Errorf("scan: %s: version: %q, want \"2.1.0\"", name, *top.Version)
	}
	var out []Finding
	total := 0
	for i, rawRun := range top.Runs {
		rpath := fmt.Sprintf("runs[%d]", i)
		var run struct {
			Tool struct {
				Driver struct {
					Name  string            `json:"name"`
					Rules []json.RawMessage `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []json.RawMessage `json:"results"`
		}
		if err := decodeAt(name, rpath, rawRun, &run); err != nil {
			return nil, err
		}
		tool := run.Tool.Driver.Name
		if tool == "" {
			return nil, fmt.Errorf("scan: %s: %s.tool.driver.name: missing", name, rpath)
		}
		total += len(run.Results)
		if total > MaxSARIFResults {
			return nil, fmt.Errorf("scan: %s: %s.results: more than %d results", name, rpath, MaxSARIFResults)
		}
		rules := make([]sarifRule, len(run.Tool.Driver.Rules))
		byID := map[string]int{}
		for j, raw := range run.Tool.Driver.Rules {
			path := fmt.Sprintf("%s.tool.driver.rules[%d]", rpath, j)
			if err := decodeAt(name, path, raw, &rules[j]); err != nil {
				return nil, err
			}
			if _, dup := byID[rules[j].ID]; !dup {
				byID[rules[j].ID] = j
			}
		}
		for j, raw := range run.Results {
			path := fmt.Sprintf("%s.results[%d]", rpath, j)
			var res sarifResult
			if err := decodeAt(name, path, raw, &res); err != nil {
				return nil, err
			}
			f, err := sastFinding(tool, rules, byID, &res)
			if err != nil {
				return nil, fmt.Errorf("scan: %s: %s.%w", name, path, err)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// sastFinding converts one result; errors start with the field name.
func sastFinding(tool string, rules []sarifRule, byID map[string]int, res *sarifResult) (Finding, error) {
	var rule *sarifRule
	index := -1
	switch {
	case res.RuleIndex != nil:
		index = *res.RuleIndex
		if index < -1 || index >= len(rules) {
			return Finding{}, fmt.Errorf("ruleIndex: %d outside the %d rules", index, len(rules))
		}
	case res.Rule != nil && res.Rule.Index != nil:
		index = *res.Rule.Index
		if index < -1 || index >= len(rules) {
			return Finding{}, fmt.Errorf("rule.index: %d outside the %d rules", index, len(rules))
		}
	}
	id := res.RuleID
	if id == "" && res.Rule != nil {
		id = res.Rule.ID
	}
	if index >= 0 {
		rule = &rules[index]
		if id == "" {
			id = rule.ID
		}
	} else if j, ok := byID[id]; ok && id != "" {
		rule = &rules[j]
	}
	if id == "" {
		return Finding{}, errors.New("ruleId: missing, and no rule names it")
	}
	f := Finding{Kind: SAST, ID: id, Tool: tool, Summary: res.Message.Text}
	if f.Summary == "" && rule != nil && rule.ShortDescription != nil {
		f.Summary = rule.ShortDescription.Text
	}
	level := res.Level
	if level == "" && rule != nil && rule.DefaultConfiguration != nil {
		level = rule.DefaultConfiguration.Level
	}
	switch level {
	case "error":
		f.Severity = High
	case "", "warning":
		f.Severity = Medium
	case "note":
		f.Severity = Low
	case "none":
		f.Severity = None
	default:
		return Finding{}, fmt.Errorf("level: %q is not error, warning, note or none", level)
	}
	if rule != nil {
		if v, ok := rule.Properties["security-severity"]; ok {
			score, err := securitySeverity(v)
			if err != nil {
				return Finding{}, fmt.Errorf("rule %s: properties[\"security-severity\"]: %w", id, err)
			}
			f.Severity = FromScore(score)
		}
		if rule.HelpURI != "" {
			f.References = []string{rule.HelpURI}
		}
	}
	if len(res.Locations) > 0 && res.Locations[0].PhysicalLocation != nil {
		pl := res.Locations[0].PhysicalLocation
		if pl.ArtifactLocation != nil {
			f.Location.Path = pl.ArtifactLocation.URI
		}
		if pl.Region != nil {
			if pl.Region.StartLine < 0 || pl.Region.StartColumn < 0 {
				return Finding{}, errors.New("locations[0].physicalLocation.region: negative line or column")
			}
			f.Location.Line, f.Location.Column = pl.Region.StartLine, pl.Region.StartColumn
		}
	}
	parts := []string{string(SAST), tool, id}
	if len(res.PartialFingerprints) > 0 {
		for _, k := range slices.Sorted(maps.Keys(res.PartialFingerprints)) {
			parts = append(parts, k+"="+res.PartialFingerprints[k])
		}
	} else {
		parts = append(parts, f.Location.Path, strconv.Itoa(f.Location.Line))
	}
	f.Fingerprint = Fingerprint(parts...)
	return f, nil
}

// securitySeverity reads a security-severity property: a number in
// [0, 10], written as a string (or, leniently, as a number).
func securitySeverity(v any) (float64, error) {
	var score float64
	switch v := v.(type) {
	case string:
		s, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		score = s
	case float64:
		score = v
	default:
		return 0, fmt.Errorf("is %T, want a number as a string", v)
	}
	if !(score >= 0 && score <= 10) {
		return 0, fmt.Errorf("%v outside [0, 10]", score)
	}
	return score, nil
}

// toolVersion is the version of the running hallmark, "devel" when unknown.
func toolVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(s Severity) string {
	switch s {
	case Critical, High:
		return "error"
	case Medium, Unknown:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the report as a SARIF 2.1.0 log for GitHub code
// scanning: one run of the tool "hallmark", one rule per distinct finding
// id (sorted), one result per finding in Report order. A rule's properties
// hold "security-severity" (the highest CVSS base score, as a string, when
// known), "aliases" and "tags"; its help names the fixed versions. A
// result's partialFingerprints hold "hallmark/v1": the Fingerprint; its
// level is error for critical and high, warning for medium and unknown,
// note for low and none; its location is the finding's file (else the
// subject's), at its line or line 1. Findings without a CVSS score (malicious
// packages among them) have no security-severity, and GitHub then ranks them
// by level. The output depends only on the report and the hallmark version.
func (r *Report) WriteSARIF(w io.Writer) error {
	log := sarifLog{Schema: sarifSchema, Version: "2.1.0"}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "hallmark",
			Version:        toolVersion(),
			InformationURI: sarifInfo,
		}},
		Results: []sarifResult{},
	}
	byID := map[string][]*Finding{}
	for i := range r.Findings {
		f := &r.Findings[i]
		byID[f.ID] = append(byID[f.ID], f)
	}
	ids := slices.Sorted(maps.Keys(byID))
	index := map[string]int{}
	for i, id := range ids {
		index[id] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleOf(id, byID[id]))
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		ix := index[f.ID]
		res := sarifResult{
			RuleID:              f.ID,
			RuleIndex:           &ix,
			Level:               sarifLevel(f.Severity),
			Message:             sarifMessage{Text: resultMessage(f)},
			PartialFingerprints: map[string]string{"hallmark/v1": f.Fingerprint},
		}
		// GitHub code scanning wants a location for every result.
		uri := f.Location.Path
		if uri == "" && len(r.Subject.Locations) > 0 {
			uri = r.Subject.Locations[0]
		}
		if uri != "" {
			line := max(f.Location.Line, 1)
			res.Locations = []sarifLocation{{PhysicalLocation: &sarifPhysicalLocation{
				ArtifactLocation: &sarifArtifactLocation{URI: uri},
				Region:           &sarifRegion{StartLine: line, StartColumn: f.Location.Column},
			}}}
		}
		run.Results = append(run.Results, res)
	}
	log.Runs = []sarifRun{run}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("scan: write SARIF: %w", err)
	}
	return nil
}

// sarifRuleOf describes the rule id, reported by the findings fs.
func sarifRuleOf(id string, fs []*Finding) sarifRule {
	f := fs[0]
	rule := sarifRule{ID: id}
	summary := f.Summary
	if summary == "" {
		summary = id
	}
	rule.ShortDescription = &sarifMessage{Text: summary}
	rule.FullDescription = &sarifMessage{Text: summary}
	if len(f.References) > 0 {
		rule.HelpURI = f.References[0]
	}
	var help []string
	best := -1.0
	for _, g := range fs {
		best = max(best, g.Score())
		if g.Package.Name == "" {
			continue
		}
		line := g.Package.Name + "@" + g.Package.Version + ": "
		if g.Fixed != "" {
			line += "fixed in " + g.Fixed
		} else {
			line += "no fixed version known"
		}
		if !slices.Contains(help, line) {
			help = append(help, line)
		}
	}
	text := summary
	if len(help) > 0 {
		text += "\n\n" + strings.Join(help, "\n")
	}
	rule.Help = &sarifMessage{Text: text}
	props := map[string]any{"tags": []string{"security", string(f.Kind)}}
	if best >= 0 {
		props["security-severity"] = strconv.FormatFloat(best, 'f', 1, 64)
	}
	if len(f.Aliases) > 0 {
		props["aliases"] = f.Aliases
	}
	rule.Properties = props
	return rule
}

// resultMessage says what a finding is about in one sentence.
func resultMessage(f *Finding) string {
	var b strings.Builder
	switch f.Kind {
	case Vulnerability, Malicious:
		what := "affected by"
		if f.Kind == Malicious {
			what = "reported malicious by"
		}
		fmt.Fprintf(&b, "%s %s@%s is %s %s", f.Package.Ecosystem, f.Package.Name, f.Package.Version, what, f.ID)
		if f.Summary != "" {
			fmt.Fprintf(&b, ": %s", f.Summary)
		}
		if f.Fixed != "" {
			fmt.Fprintf(&b, "; fixed in %s", f.Fixed)
		} else {
			b.WriteString("; no fixed version known")
		}
	case Hardening:
		fmt.Fprintf(&b, "%s fails %s", f.Location.Path, strings.TrimPrefix(f.ID, "hardening/"))
		if f.Summary != "" {
			fmt.Fprintf(&b, ": %s", f.Summary)
		}
	default:
		b.WriteString(f.Summary)
		if f.Summary == "" {
			b.WriteString(f.ID)
		}
	}
	return b.String()
}
