package report

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clone copies s into a new slice, empty rather than nil, so that JSON
// writes [] for it.
func clone[T any](s []T) []T { return append([]T{}, s...) }

// normalize returns a copy of d with times in UTC, slices (never nil) in a
// canonical order, so that renderers do not depend on the caller's order.
func normalize(d Data) Data {
	d.From, d.To, d.Generated = d.From.UTC(), d.To.UTC(), d.Generated.UTC()
	d.Builds = clone(d.Builds)
	for i := range d.Builds {
		d.Builds[i].Time = d.Builds[i].Time.UTC()
		if d.Builds[i].Findings == nil {
			d.Builds[i].Findings = map[string]int{}
		}
	}
	slices.SortStableFunc(d.Builds, func(a, b Build) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Project, b.Project))
	})
	d.Exceptions = clone(d.Exceptions)
	for i := range d.Exceptions {
		e := &d.Exceptions[i]
		e.Created, e.Expires = e.Created.UTC(), e.Expires.UTC()
		if e.Approvers == nil {
			e.Approvers = []string{}
		}
	}
	slices.SortStableFunc(d.Exceptions, func(a, b Exception) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Project, b.Project))
	})
	d.Findings = clone(d.Findings)
	for i := range d.Findings {
		f := &d.Findings[i]
		f.FirstSeen, f.Due = f.FirstSeen.UTC(), f.Due.UTC()
	}
	slices.SortStableFunc(d.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.Fingerprint, b.Fingerprint), cmp.Compare(a.ID, b.ID))
	})
	d.KeysUsed = clone(d.KeysUsed)
	for i := range d.KeysUsed {
		k := &d.KeysUsed[i]
		k.First, k.Last = k.First.UTC(), k.Last.UTC()
	}
	slices.SortStableFunc(d.KeysUsed, func(a, b KeyUse) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Version, b.Version))
	})
	d.Unverified = clone(d.Unverified)
	for i := range d.Unverified {
		d.Unverified[i].Time = d.Unverified[i].Time.UTC()
	}
	slices.SortStableFunc(d.Unverified, func(a, b Artifact) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Digest, b.Digest), cmp.Compare(a.Name, b.Name))
	})
	d.PolicyChanges = clone(d.PolicyChanges)
	for i := range d.PolicyChanges {
		d.PolicyChanges[i].Time = d.PolicyChanges[i].Time.UTC()
	}
	slices.SortStableFunc(d.PolicyChanges, func(a, b PolicyChange) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Digest, b.Digest))
	})
	return d
}

// jsonReport is the JSON document, version 1.
type jsonReport struct {
	Version int     `json:"version"`
	Data    Data    `json:"data"`
	Summary Summary `json:"summary"`
}

// JSON writes d and s as one indented JSON document (see the package doc).
func JSON(w io.Writer, d Data, s Summary) error {
	d = normalize(d)
	if err := jsonTimes(d, s); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(jsonReport{Version: 1, Data: d, Summary: s}); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

// jsonTimes names the first time RFC 3339 cannot spell (a year outside
// 0-9999), which encoding/json would refuse without saying where.
func jsonTimes(d Data, s Summary) error {
	var err error
	chk := func(t time.Time, format string, a ...any) {
		if y := t.Year(); err == nil && (y < 0 || y > 9999) {
			err = fmt.Errorf("%s: year %d is outside 0-9999", fmt.Sprintf(format, a...), y)
		}
	}
	chk(d.From, "data.from")
	chk(d.To, "data.to")
	chk(d.Generated, "data.generated")
	for i, b := range d.Builds {
		chk(b.Time, "data.builds[%d].time", i)
	}
	excs := func(name string, es []Exception) {
		for i, e := range es {
			chk(e.Created, "%s[%d].created", name, i)
			chk(e.Expires, "%s[%d].expires", name, i)
		}
	}
	excs("data.exceptions", d.Exceptions)
	for i, f := range d.Findings {
		chk(f.FirstSeen, "data.findings[%d].first_seen", i)
		chk(f.Due, "data.findings[%d].due", i)
	}
	for i, k := range d.KeysUsed {
		chk(k.First, "data.keys_used[%d].first", i)
		chk(k.Last, "data.keys_used[%d].last", i)
	}
	for i, a := range d.Unverified {
		chk(a.Time, "data.unverified[%d].time", i)
	}
	for i, c := range d.PolicyChanges {
		chk(c.Time, "data.policy_changes[%d].time", i)
	}
	chk(s.Now, "summary.now")
	for i, w := range s.Weeks {
		chk(w.Start, "summary.weeks[%d].start", i)
	}
	excs("summary.granted", s.Granted)
	excs("summary.expiring", s.Expiring)
	excs("summary.expired", s.Expired)
	for i, o := range s.PastSLA {
		chk(o.FirstSeen, "summary.past_sla[%d].first_seen", i)
		chk(o.Due, "summary.past_sla[%d].due", i)
	}
	return err
}

// day formats t as a date, or "-" when zero.
func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

// stamp formats t to the minute, or "-" when zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func period(d Data) string {
	from, to := "the beginning", "now"
	if !d.From.IsZero() {
		from = day(d.From)
	}
	if !d.To.IsZero() {
		to = day(d.To)
	}
	return from + " to " + to
}

// mdEscape makes s safe in a Markdown table cell or in a list item after its
// marker: the characters that start inline markup, HTML or an entity, or end
// a cell are backslash-escaped; line breaks and control characters become
// spaces, so no block (heading, list, fence) can start.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case strings.ContainsRune("\\`*_[]<>|~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func findingsCell(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := strings.ToLower(keys[i]), strings.ToLower(keys[j])
		return cmp.Or(cmp.Compare(severityRank(a), severityRank(b)), cmp.Compare(keys[i], keys[j])) < 0
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + strconv.Itoa(m[k])
	}
	return strings.Join(parts, ", ")
}

// Markdown writes the report as Markdown (GitHub flavour tables): the
// attention list first, then one section per subject.
func Markdown(w io.Writer, d Data, s Summary) error {
	d = normalize(d)
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	table := func(header []string, n int, row func(i int) []string) {
		if n == 0 {
			p("None.\n\n")
			return
		}
		p("| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
		for i := range min(n, MaxRows) {
			cells := row(i)
			for j := range cells {
				cells[j] = mdEscape(cells[j])
			}
			p("| %s |\n", strings.Join(cells, " | "))
		}
		if n > MaxRows {
			p("\n… and %d more.\n", n-MaxRows)
		}
		p("\n")
	}

	org := d.Org
	if org == "" {
		org = "(no organisation)"
	}
	p("# Security review: %s\n\n", mdEscape(org))
	p("Period: %s. Generated %s; views computed at %s.\n\n", period(d), stamp(d.Generated), stamp(s.Now))

	p("## Attention\n\n")
	if len(s.Attention) == 0 {
		p("Nothing needs attention.\n\n")
	} else {
		for i, a := range s.Attention {
			if i == MaxRows {
				p("- … and %d more.\n", len(s.Attention)-MaxRows)
				break
			}
			p("- **%s** (%s): %s\n", strings.ToUpper(a.Level), a.Kind, mdEscape(a.Message))
		}
		p("\n")
	}

	p("## Builds by verdict\n\n")
	v := s.Verdicts
	noun := "builds"
	if v.Total() == 1 {
		noun = "build"
	}
	p("%d %s: %d pass, %d warn, %d fail", v.Total(), noun, v.Pass, v.Warn, v.Fail)
	if v.Other > 0 {
		p(", %d with another verdict", v.Other)
	}
	p(".\n\n### By week\n\n")
	table([]string{"Week", "Starts", "Pass", "Warn", "Fail", "Other", "Total"}, len(s.Weeks), func(i int) []string {
		w := s.Weeks[i]
		return []string{w.Label, day(w.Start), itoa(w.Pass), itoa(w.Warn), itoa(w.Fail), itoa(w.Other), itoa(w.Total())}
	})
	p("### By project\n\n")
	table([]string{"Project", "Pass", "Warn", "Fail", "Other", "Total"}, len(s.Projects), func(i int) []string {
		pv := s.Projects[i]
		return []string{pv.Project, itoa(pv.Pass), itoa(pv.Warn), itoa(pv.Fail), itoa(pv.Other), itoa(pv.Total())}
	})

	excRow := func(es []Exception) func(int) []string {
		return func(i int) []string {
			e := es[i]
			return []string{e.ID, e.Project, e.Vulnerability, e.Package, e.Reason, e.Requester,
				strings.Join(e.Approvers, ", "), day(e.Created), day(e.Expires), e.Status}
		}
	}
	excHeader := []string{"ID", "Project", "Vulnerability", "Package", "Reason", "Requester", "Approvers", "Created", "Expires", "Status"}
	p("## Exceptions granted in the period\n\n")
	table(excHeader, len(s.Granted), excRow(s.Granted))
	p("## Exceptions expiring within %s\n\n", horizon(s.ExpiringWithinSeconds))
	table(excHeader, len(s.Expiring), excRow(s.Expiring))
	p("## Exceptions expired in the period\n\n")
	table(excHeader, len(s.Expired), excRow(s.Expired))

	p("## Open findings by severity\n\n")
	table([]string{"Severity", "Open"}, len(s.OpenBySeverity), func(i int) []string {
		return []string{s.OpenBySeverity[i].Name, itoa(s.OpenBySeverity[i].Count)}
	})
	p("## Open findings past SLA\n\n")
	table([]string{"Days late", "Project", "ID", "Package", "Severity", "Status", "Owner", "Due"}, len(s.PastSLA), func(i int) []string {
		o := s.PastSLA[i]
		return []string{itoa(o.DaysLate), o.Project, o.ID, o.Package, o.Severity, o.Status, o.Owner, day(o.Due)}
	})
	p("### Breaches by project\n\n")
	table([]string{"Project", "Past SLA"}, len(s.SLAByProject), func(i int) []string {
		return []string{s.SLAByProject[i].Name, itoa(s.SLAByProject[i].Count)}
	})

	p("## Keys used\n\n")
	table([]string{"Key", "Version", "Signatures", "First", "Last"}, len(d.KeysUsed), func(i int) []string {
		k := d.KeysUsed[i]
		return []string{k.Key, k.Version, itoa(k.Signatures), stamp(k.First), stamp(k.Last)}
	})

	p("## Artifacts signed without a pass or warn verdict\n\n")
	if len(d.Unverified) == 0 {
		p("None, as it must be.\n\n")
	} else {
		table([]string{"Time", "Project", "Name", "Digest"}, len(d.Unverified), func(i int) []string {
			a := d.Unverified[i]
			return []string{stamp(a.Time), a.Project, a.Name, a.Digest}
		})
	}

	p("## Policy changes\n\n")
	table([]string{"Time", "By", "Digest", "Summary"}, len(d.PolicyChanges), func(i int) []string {
		c := d.PolicyChanges[i]
		return []string{stamp(c.Time), c.By, c.Digest, c.Summary}
	})

	p("## Builds\n\n")
	table([]string{"Time", "ID", "Project", "Subject", "Profile", "Verdict", "Findings"}, len(d.Builds), func(i int) []string {
		b := d.Builds[i]
		return []string{stamp(b.Time), b.ID, b.Project, b.Subject, b.Profile, b.Verdict, findingsCell(b.Findings)}
	})
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: markdown: %w", err)
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// horizon spells a number of seconds in the largest unit, day, hour,
// minute or second, that divides it ("14 days", "90 minutes").
func horizon(sec int64) string {
	for _, u := range []struct {
		secs int64
		name string
	}{{86400, "day"}, {3600, "hour"}, {60, "minute"}} {
		if sec%u.secs == 0 {
			return plural(sec/u.secs, u.name)
		}
	}
	return plural(sec, "second")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
