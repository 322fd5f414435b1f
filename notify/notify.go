// Package notify tells people about findings through webhooks: a generic
// JSON envelope, Jira's create-issue request and GitHub's create-issue
// request. The findings tracker calls it when a finding is new, reopened or
// past its SLA, when an exception is about to expire and when a build's
// verdict is fail.
//
// # Targets
//
// A [Target] is one webhook: a name (what errors and logs call it), a
// [Format], a URL, headers (credentials such as Authorization: their values
// are never logged nor put in errors), and a filter on event types and
// severity. [Target.Validate] requires an https URL (http only to a loopback
// host), no user information in the URL, header names that are HTTP tokens
// and values without CR, LF or NUL, and, for Jira, a project key.
//
// # Formats
//
//   - "json": the [Envelope], version 1, a JSON object with members type,
//     version, delivery, project, finding (as [scan.Finding] marshals it),
//     status, owner, first_seen, last_seen, due (RFC 3339, UTC), build and
//     url; empty members are left out. It carries the finding's text as
//     data, not as markup (HTML-significant characters are \u-escaped).
//     Receivers must ignore members they do not know; a version other than
//     1 means an incompatible change.
//   - "jira": the body of POST /rest/api/2/issue (Jira Cloud and Data
//     Center): fields.project.key, fields.issuetype.name (default "Bug"),
//     fields.summary ("[hallmark] ID in name@version (severity)", at most
//     255 characters), fields.description in Jira wiki markup, fields.labels
//     (["hallmark", severity, kind]) and fields.priority.name mapped from
//     the severity: critical Highest, high High, medium and unknown Medium,
//     low Low, none Lowest. The target URL is that endpoint. (API v3 wants
//     the description in Atlassian Document Format, so use v2.)
//   - "github": the body of POST /repos/{owner}/{repo}/issues: title (as
//     Jira's summary, at most 256 characters), body in GitHub-flavoured
//     markdown with a table of the finding's fields, and labels (the
//     target's GitHubLabels, then "hallmark", severity and kind).
//
// Text from findings comes from outside (advisory summaries, package names
// from lockfiles, SARIF messages) and is neutralized in the Jira and GitHub
// formats: control and format characters become spaces; "@" becomes the
// fullwidth "＠" where it could start a mention (anywhere but after a letter
// or digit, as in name@version); in markdown every ASCII punctuation
// character is backslash-escaped (no links, emphasis, tables or HTML) and
// identifiers are code spans; in wiki markup the characters that start
// links, mentions, macros, images, tables and emphasis are backslash-escaped.
// References are links only when they are plain http(s) URLs made of
// harmless characters. Summaries are cut to 2,000 characters, identifiers
// to 256, references to 20 of 512 characters each. Output is deterministic:
// the same target and event give the same bytes.
//
// # Delivery
//
// [Sender.Send] POSTs the rendered body with a per-attempt timeout and
// retries network errors, 429 and 5xx responses with exponential backoff and
// full jitter, honouring Retry-After (seconds or an HTTP date, capped). Other
// statuses, redirects included, are not retried. Every attempt carries the
// same X-Hallmark-Delivery header ([DeliveryID]) so a receiver can drop
// duplicates. Errors start with "notify: target NAME:" and name the last
// status; they never carry header values or the target URL (which may hold
// a token).
package notify

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hallmark-dev/hallmark/scan"
)

// The event types.
const (
	FindingNew        = "finding.new"
	FindingReopened   = "finding.reopened"
	SLABreached       = "finding.sla_breached"
	ExceptionExpiring = "exception.expiring"
	VerdictFail       = "verdict.fail"
)

var eventTypes = []string{FindingNew, FindingReopened, SLABreached, ExceptionExpiring, VerdictFail}

// The formats of a Target.
const (
	JSON   = "json"
	Jira   = "jira"
	GitHub = "github"
)

// EnvelopeVersion is the version of the generic JSON [Envelope].
const EnvelopeVersion = 1

// Limits on what is rendered.
const (
	maxSummary = 2000 // runes of a finding's summary
	maxIdent   = 256  // runes of an id, name, version, path, owner...
	maxRefs    = 20
	maxRef     = 512
	maxAliases = 50
	maxTitle   = 255 // Jira's summary limit; GitHub's title is 256
)

// Event is one thing to tell a target about.
type Event struct {
	// Type is one of the event type constants (FindingNew, ...).
	Type    string
	Project string
	// Finding is the finding the event is about; zero for verdict.fail
	// events that are about a build rather than a finding.
	Finding scan.Finding
	// Status and Owner are the tracker's (open, acknowledged, ...).
	Status, Owner string
	// FirstSeen, LastSeen and Due are the tracker's times; zero is unknown.
	FirstSeen, LastSeen, Due time.Time
	// Build names the build that saw the finding last.
	Build string
	// URL links back to the finding in hallmark; optional.
	URL string
}

// Target is one webhook receiver.
type Target struct {
	// Name identifies the target in errors and logs.
	Name string
	// Format is JSON, Jira or GitHub.
	Format string
	// URL is where to POST: https, or http to a loopback host.
	URL string
	// Headers are sent with every request (Authorization, ...). Their
	// values are secrets: never logged, never in errors.
	Headers map[string]string
	// JiraProject is the key of the Jira project issues are created in;
	// JiraIssueType the issue type's name ("Bug" when empty).
	JiraProject, JiraIssueType string
	// GitHubLabels are put on GitHub issues, before the default labels.
	GitHubLabels []string
	// Events are the event types sent; empty means all.
	Events []string
	// MinSeverity drops events about findings less severe (by
	// scan.Severity.Rank); empty means no minimum. Events without a
	// finding (Finding.ID empty) are not filtered by severity.
	MinSeverity scan.Severity
}

// reserved are headers a Target may not set: the sender sets them.
var reserved = []string{"Content-Type", "Content-Length", "Host", "Transfer-Encoding", "Connection", "X-Hallmark-Delivery", "X-Hallmark-Event"}

var jiraKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,254}$`)

// Validate reports the first problem of the target's configuration.
func (t *Target) Validate() error {
	if t.Name == "" || hasControl(t.Name) || utf8.RuneCountInString(t.Name) > maxIdent {
		return fmt.Errorf("notify: target name %q: must be 1 to %d characters without control characters", t.Name, maxIdent)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("notify: target %s: "+format, append([]any{t.Name}, args...)...)
	}
	switch t.Format {
	case JSON, Jira, GitHub:
	default:
		return fail("format %q: must be json, jira or github", t.Format)
	}
	// The URL may carry a token: errors do not repeat it.
	u, err := url.Parse(t.URL)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fail("url: not an absolute URL with a host")
	}
	if u.User != nil {
		return fail("url: user information is not allowed: put credentials in Headers")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return fail("url: http is allowed only to a loopback host; use https")
		}
	default:
		return fail("url: scheme %q: must be https", u.Scheme)
	}
	for _, name := range slices.Sorted(maps.Keys(t.Headers)) {
		if !isToken(name) {
			return fail("headers: %q is not a valid header name", name)
		}
		for _, r := range reserved {
			if strings.EqualFold(name, r) {
				return fail("headers: %s is set by the sender", r)
			}
		}
		// Never print the value.
		if strings.ContainsAny(t.Headers[name], "\r\n\x00") {
			return fail("headers: %s: value contains CR, LF or NUL", name)
		}
	}
	if t.Format == Jira {
		if !jiraKey.MatchString(t.JiraProject) {
			return fail("jira project key %q: must be an uppercase letter followed by uppercase letters, digits or _", t.JiraProject)
		}
		if hasControl(t.JiraIssueType) || utf8.RuneCountInString(t.JiraIssueType) > maxIdent {
			return fail("jira issue type %q: control characters or too long", t.JiraIssueType)
		}
	}
	for i, l := range t.GitHubLabels {
		if l == "" || hasControl(l) || utf8.RuneCountInString(l) > 50 {
			return fail("github labels[%d] %q: must be 1 to 50 characters without control characters", i, l)
		}
	}
	for i, e := range t.Events {
		if !slices.Contains(eventTypes, e) {
			return fail("events[%d] %q: unknown event type", i, e)
		}
	}
	if t.MinSeverity != "" && t.MinSeverity.Rank() < 0 {
		return fail("min severity %q: unknown severity", t.MinSeverity)
	}
	return nil
}

// Wants reports whether the target is to be told about e: its type is in
// Events (or Events is empty), and its finding is at least MinSeverity.
func (t *Target) Wants(e Event) bool {
	if len(t.Events) > 0 && !slices.Contains(t.Events, e.Type) {
		return false
	}
	if t.MinSeverity != "" && e.Finding.ID != "" && e.Finding.Severity.Rank() < t.MinSeverity.Rank() {
		return false
	}
	return true
}

func (e *Event) validate() error {
	if !slices.Contains(eventTypes, e.Type) {
		return fmt.Errorf("notify: event type %q: unknown", e.Type)
	}
	if e.Type != VerdictFail && e.Finding.ID == "" {
		return fmt.Errorf("notify: event %s: finding.id: empty", e.Type)
	}
	return nil
}

// DeliveryID is the idempotency key of e's delivery to t, sent as the
// X-Hallmark-Delivery header: the hex SHA-256 of the target's name, the event
// type, the finding's fingerprint (the build for events without one) and the
// hour (UTC Unix hours) of the event's time, the Due time for
// finding.sla_breached and exception.expiring and LastSeen otherwise, each
// followed by a newline (a zero time is hour 0). The same event sent again
// within its hour has the same key.
func DeliveryID(t Target, e Event) string {
	at := e.LastSeen
	if e.Type == SLABreached || e.Type == ExceptionExpiring {
		at = e.Due
	}
	fp := e.Finding.Fingerprint
	if fp == "" {
		fp = "build:" + e.Build
	}
	bucket := int64(0)
	if !at.IsZero() {
		bucket = at.Unix() / 3600
	}
	h := sha256.New()
	for _, s := range []string{t.Name, e.Type, fp, strconv.FormatInt(bucket, 10)} {
		h.Write([]byte(s))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Envelope is the generic JSON format, version [EnvelopeVersion].
type Envelope struct {
	Type     string        `json:"type"`
	Version  int           `json:"version"`
	Delivery string        `json:"delivery"`
	Project  string        `json:"project,omitempty"`
	Finding  *scan.Finding `json:"finding,omitempty"`
	Status   string        `json:"status,omitempty"`
	Owner    string        `json:"owner,omitempty"`
	// Times are RFC 3339 in UTC.
	FirstSeen string `json:"first_seen,omitempty"`
	LastSeen  string `json:"last_seen,omitempty"`
	Due       string `json:"due,omitempty"`
	Build     string `json:"build,omitempty"`
	URL       string `json:"url,omitempty"`
}

// Render returns the body to POST to t about e and its Content-Type. It
// fails when t is not valid or e's type is unknown or it lacks a finding.
func Render(t Target, e Event) (body []byte, contentType string, err error) {
	if err := t.Validate(); err != nil {
		return nil, "", err
	}
	if err := e.validate(); err != nil {
		return nil, "", err
	}
	var v any
	switch t.Format {
	case JSON:
		v = envelope(t, e)
	case Jira:
		v = jiraIssue(t, e)
	case GitHub:
		v = githubIssue(t, e)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, "", fmt.Errorf("notify: target %s: %w", t.Name, err)
	}
	return buf.Bytes(), "application/json", nil
}

func envelope(t Target, e Event) Envelope {
	env := Envelope{
		Type: e.Type, Version: EnvelopeVersion, Delivery: DeliveryID(t, e),
		Project: e.Project, Status: e.Status, Owner: e.Owner,
		FirstSeen: rfc3339(e.FirstSeen), LastSeen: rfc3339(e.LastSeen), Due: rfc3339(e.Due),
		Build: e.Build, URL: e.URL,
	}
	if e.Finding.ID != "" {
		f := e.Finding
		f.Summary = truncate(strings.ToValidUTF8(f.Summary, "\uFFFD"), maxSummary)
		if len(f.References) > maxRefs {
			f.References = f.References[:maxRefs]
		}
		if len(f.Aliases) > maxAliases {
			f.Aliases = f.Aliases[:maxAliases]
		}
		env.Finding = &f
	}
	return env
}

type jiraName struct {
	Name string `json:"name"`
}

type jiraFields struct {
	Project struct {
		Key string `json:"key"`
	} `json:"project"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	IssueType   jiraName `json:"issuetype"`
	Labels      []string `json:"labels"`
	Priority    jiraName `json:"priority"`
}

func jiraIssue(t Target, e Event) any {
	var f jiraFields
	f.Project.Key = t.JiraProject
	f.IssueType.Name = cmp.Or(t.JiraIssueType, "Bug")
	f.Summary = title(e)
	f.Description = jiraDescription(e)
	f.Labels = labels(nil, e)
	f.Priority.Name = jiraPriority(e.Finding.Severity)
	return struct {
		Fields jiraFields `json:"fields"`
	}{f}
}

func jiraPriority(s scan.Severity) string {
	switch s {
	case scan.Critical:
		return "Highest"
	case scan.High:
		return "High"
	case scan.Low:
		return "Low"
	case scan.None:
		return "Lowest"
	}
	return "Medium"
}

type githubBody struct {
	Title  string   `json:"title"`
	Body   string   `json:"body"`
	Labels []string `json:"labels"`
}

func githubIssue(t Target, e Event) any {
	return githubBody{Title: title(e), Body: markdownBody(e), Labels: labels(t.GitHubLabels, e)}
}

// labels are first, then "hallmark", the severity and the kind, each once.
func labels(first []string, e Event) []string {
	out := slices.Clone(first)
	for _, l := range []string{"hallmark", string(e.Finding.Severity), string(e.Finding.Kind)} {
		// Severity and kind come from the finding: keep only label-safe ones.
		if l != "" && isLabel(l) && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func isLabel(s string) bool {
	if len(s) > 50 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// title is "[hallmark] ID in name@version (severity)", plain text, at most
// maxTitle runes.
func title(e Event) string {
	f := e.Finding
	var b strings.Builder
	b.WriteString("[hallmark] ")
	switch {
	case e.Type == VerdictFail && f.ID == "":
		b.WriteString("build " + cmp.Or(e.Build, "(unnamed)") + " of " + cmp.Or(e.Project, "(no project)") + " failed the policy gate")
	default:
		if e.Type == ExceptionExpiring {
			b.WriteString("exception expiring: ")
		}
		b.WriteString(f.ID)
		switch {
		case f.Package.Name != "":
			b.WriteString(" in " + f.Package.Name)
			if f.Package.Version != "" {
				b.WriteString("@" + f.Package.Version)
			}
		case f.Location.Path != "":
			b.WriteString(" in " + f.Location.Path)
		}
		if f.Severity != "" {
			b.WriteString(" (" + string(f.Severity) + ")")
		}
		if e.Type == SLABreached {
			b.WriteString(" past its SLA")
		}
	}
	return truncate(plain(b.String()), maxTitle)
}

// eventLine says what happened, in plain words.
func eventLine(e Event) string {
	switch e.Type {
	case FindingNew:
		return "New finding"
	case FindingReopened:
		return "Finding reopened"
	case SLABreached:
		return "Finding past its SLA"
	case ExceptionExpiring:
		return "Exception expiring"
	}
	return "Build failed the policy gate"
}

type row struct{ name, value string }

// rows are the finding's fields, in order, the empty ones left out, each
// value plain and cut to maxIdent runes (the aliases to four times that).
func rows(e Event) []row {
	f := e.Finding
	rs := []row{
		{"Event", e.Type}, {"Project", e.Project}, {"Kind", string(f.Kind)}, {"ID", f.ID},
	}
	if len(f.Aliases) > 0 {
		as := f.Aliases
		if len(as) > maxAliases {
			as = as[:maxAliases]
		}
		rs = append(rs, row{"Aliases", strings.Join(as, ", ")})
	}
	rs = append(rs,
		row{"Package", f.Package.Name}, row{"Ecosystem", f.Package.Ecosystem},
		row{"Version", f.Package.Version}, row{"Package URL", f.Package.PURL},
		row{"Fixed in", f.Fixed}, row{"Severity", string(f.Severity)})
	for _, s := range []*scan.Score{f.CVSS3, f.CVSS4} {
		if s != nil {
			rs = append(rs, row{"CVSS " + s.Version, strconv.FormatFloat(s.Base, 'f', 1, 64) + " " + s.Vector})
		}
	}
	loc := f.Location.Path
	if loc != "" && f.Location.Line > 0 {
		loc += ":" + strconv.Itoa(f.Location.Line)
		if f.Location.Column > 0 {
			loc += ":" + strconv.Itoa(f.Location.Column)
		}
	}
	rs = append(rs, row{"Location", loc}, row{"Reachability", f.Reachability}, row{"Tool", f.Tool},
		row{"Status", e.Status}, row{"Owner", e.Owner},
		row{"First seen", rfc3339(e.FirstSeen)}, row{"Last seen", rfc3339(e.LastSeen)}, row{"Due", rfc3339(e.Due)},
		row{"Build", e.Build}, row{"Fingerprint", f.Fingerprint})
	rs = slices.DeleteFunc(rs, func(r row) bool { return r.value == "" })
	for i, r := range rs {
		limit := maxIdent
		if r.name == "Aliases" {
			limit = maxIdent * 4
		}
		rs[i].value = truncate(plain(r.value), limit)
	}
	return rs
}

func markdownBody(e Event) string {
	var b strings.Builder
	b.WriteString("**" + eventLine(e) + "** reported by hallmark.\n\n| Field | Value |\n| --- | --- |\n")
	for _, r := range rows(e) {
		// GFM splits table rows on | before it parses code spans.
		b.WriteString("| " + r.name + " | " + strings.ReplaceAll(codeSpan(r.value), "|", `\|`) + " |\n")
	}
	if s := e.Finding.Summary; s != "" {
		b.WriteString("\n### Summary\n\n" + markdownText(truncate(plain(s), maxSummary)) + "\n")
	}
	if refs := e.Finding.References; len(refs) > 0 {
		b.WriteString("\n### References\n\n")
		for i, r := range refs {
			if i == maxRefs {
				b.WriteString("- (" + strconv.Itoa(len(refs)-maxRefs) + " more)\n")
				break
			}
			r = truncate(plain(r), maxRef)
			if safeURL(r) {
				b.WriteString("- <" + r + ">\n")
			} else {
				b.WriteString("- " + markdownText(r) + "\n")
			}
		}
	}
	if u := plain(e.URL); u != "" {
		if safeURL(u) {
			b.WriteString("\n[Open in hallmark](<" + u + ">)\n")
		} else {
			b.WriteString("\nIn hallmark: " + markdownText(truncate(u, maxRef)) + "\n")
		}
	}
	return b.String()
}

// markdownText escapes every ASCII punctuation character (CommonMark: any
// of them may be backslash-escaped) and defuses mentions.
func markdownText(s string) string {
	var b strings.Builder
	prev := ' '
	for _, r := range s {
		switch {
		case r == '@' && mention(prev):
			b.WriteRune('＠')
		case r < 0x80 && unicode.IsPunct(r) || r < 0x80 && unicode.IsSymbol(r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

// mention reports whether an @ after prev could start a mention: it does
// unless it follows a letter or digit (an e-mail address, name@version).
func mention(prev rune) bool {
	return !unicode.IsLetter(prev) && !unicode.IsDigit(prev)
}

// codeSpan puts s in a code span: nothing in it is markup or a mention.
func codeSpan(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

func jiraDescription(e Event) string {
	var b strings.Builder
	b.WriteString("h3. " + eventLine(e) + " reported by hallmark\n\n||Field||Value||\n")
	for _, r := range rows(e) {
		b.WriteString("|" + r.name + "|" + wikiText(r.value) + "|\n")
	}
	if s := e.Finding.Summary; s != "" {
		// On a line of its own the text could start a heading or a list
		// (h1., #, bq.); after "*Summary:*" it cannot.
		b.WriteString("\n*Summary:* " + wikiText(truncate(plain(s), maxSummary)) + "\n")
	}
	if refs := e.Finding.References; len(refs) > 0 {
		b.WriteString("\nh4. References\n\n")
		for i, r := range refs {
			if i == maxRefs {
				b.WriteString("* (" + strconv.Itoa(len(refs)-maxRefs) + " more)\n")
				break
			}
			r = truncate(plain(r), maxRef)
			if safeURL(r) {
				b.WriteString("* " + r + "\n")
			} else {
				b.WriteString("* " + wikiText(r) + "\n")
			}
		}
	}
	if u := plain(e.URL); u != "" {
		if safeURL(u) {
			b.WriteString("\n[Open in hallmark|" + u + "]\n")
		} else {
			b.WriteString("\nIn hallmark: " + wikiText(truncate(u, maxRef)) + "\n")
		}
	}
	return b.String()
}

// wikiText escapes what starts Jira wiki markup: links and mentions ([),
// macros ({), images (!), tables (|), emphasis, super- and subscript,
// and defuses @.
func wikiText(s string) string {
	var b strings.Builder
	prev := ' '
	for _, r := range s {
		switch {
		case r == '@' && mention(prev):
			b.WriteRune('＠')
		case strings.ContainsRune(`\[]{}|!*_^~+?`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

// safeURL reports whether s is an http(s) URL made only of characters that
// no format here treats as markup.
func safeURL(s string) bool {
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:/?#&=%,;$", c) >= 0) {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && u.User == nil
}

// plain makes s one line of valid UTF-8: control, format (bidi, zero
// width) and line/paragraph separator characters become spaces.
func plain(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return ' '
		}
		return r
	}, s)
}

// truncate cuts s to at most n runes, the last one "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	return s[:i] + "…"
}

func hasControl(s string) bool {
	return !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
