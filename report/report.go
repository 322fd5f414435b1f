// Package report builds the periodic security review report that
// `hallmark audit report` writes: what was built and with which verdict,
// which exceptions were granted, are about to expire or have expired (with
// their rationales and approvers), which findings are past their SLA, which
// keys signed, which artifacts were signed without a pass or warn verdict
// (there must be none) and how the policy changed.
//
// It is a pure library. The caller gathers a Data from the control plane's
// state; Summarize derives the views a reviewer reads (buckets, edges,
// lateness, the attention list); Markdown, HTML and JSON render both. Nothing
// here reads a clock, a file or the network.
//
// # Invariants
//
//   - Output is deterministic: the same Data and the same now give the same
//     bytes, whatever the order of Data's maps and of its slices (records
//     that agree on every sort key, such as time, ID and project, may keep
//     their given order among themselves).
//   - All strings in Data are untrusted. HTML escapes them (html/template and,
//     inside the hand-built SVG charts, explicit escaping); Markdown escapes
//     the characters that would break a table or start markup.
//   - Empty inputs are fine: charts say "no data", nothing divides by zero.
//   - Markdown and HTML tables stop at MaxRows rows and say how many more
//     there are; JSON is machine output and always complete.
//
// # Definitions
//
// Times are compared in UTC. A week is an ISO 8601 week (Monday 00:00 UTC to
// the next Monday), labelled as time.ISOWeek spells it ("2026-W01", which may
// begin in December of the year before). An exception is valid while
// now < Expires: at Expires it has expired. A finding is open unless its
// status is "fixed"; it is past its SLA when it is open, has a Due time and
// Due <= now. The period is [From, To]; a zero From or To leaves that side
// open.
//
// # JSON format (version 1)
//
// JSON writes one object: {"version": 1, "data": Data, "summary": Summary}
// with the field names given by the struct tags below (snake_case), times in
// RFC 3339 UTC (a zero time, such as a finding without a due date, is
// "0001-01-01T00:00:00Z"), lists and maps never null, and the keys of
// Build.Findings sorted. Fields are only added
// within a version, never renamed or removed.
//
// # Errors
//
// Summarize cannot fail. The renderers return the writer's error wrapped
// with the renderer's name ("report: html: ..."); JSON also refuses a time
// RFC 3339 cannot spell, naming it ("report: json: data.builds[3].time: year
// 10000 is outside 0-9999").
//
// # Attention list
//
// Red: every artifact in Data.Unverified; every exception that has lapsed
// (revoked, status expired, or approved with Expires <= now) while an open
// finding of the same project, vulnerability (Finding.ID) and package is
// still tracked, since the next build of that project fails again. Amber: one
// line per project with findings past their SLA. Sorted by level, kind and
// subject.
package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxRows is the number of rows a Markdown or HTML table shows before it
// says "and N more".
const MaxRows = 200

// Verdicts of a build, as the policy gate gives them.
const (
	Pass = "pass"
	Warn = "warn"
	Fail = "fail"
)

// Data is everything a report is about, gathered by the caller for the
// period [From, To].
type Data struct {
	Org           string         `json:"org"`
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	Generated     time.Time      `json:"generated"`
	Builds        []Build        `json:"builds"`
	Exceptions    []Exception    `json:"exceptions"`
	Findings      []Finding      `json:"findings"`
	KeysUsed      []KeyUse       `json:"keys_used"`
	Unverified    []Artifact     `json:"unverified"`
	PolicyChanges []PolicyChange `json:"policy_changes"`
}

// Build is one build and the gate's verdict on it.
type Build struct {
	ID      string `json:"id"`
	Project string `json:"project"`
	Subject string `json:"subject"`
	// Verdict is "pass", "warn" or "fail"; anything else is counted as other.
	Verdict string    `json:"verdict"`
	Profile string    `json:"profile"`
	Time    time.Time `json:"time"`
	// Findings counts the build's findings by severity.
	Findings map[string]int `json:"findings"`
}

// Exception is a request to bypass the gate for one vulnerability in one
// package of one project.
type Exception struct {
	ID            string    `json:"id"`
	Project       string    `json:"project"`
	Vulnerability string    `json:"vulnerability"`
	Package       string    `json:"package"`
	Reason        string    `json:"reason"`
	Requester     string    `json:"requester"`
	Approvers     []string  `json:"approvers"`
	Created       time.Time `json:"created"`
	Expires       time.Time `json:"expires"`
	// Status is "approved", "pending", "rejected", "revoked" or "expired".
	Status string `json:"status"`
}

// Finding is one tracked finding, deduplicated across builds.
type Finding struct {
	Fingerprint string `json:"fingerprint"`
	Project     string `json:"project"`
	// ID is the vulnerability or rule id.
	ID       string `json:"id"`
	Package  string `json:"package"`
	Severity string `json:"severity"`
	// Status is "open", "acknowledged", "fixed" or "reopened".
	Status    string    `json:"status"`
	Owner     string    `json:"owner"`
	FirstSeen time.Time `json:"first_seen"`
	// Due is the SLA due date; zero means none.
	Due time.Time `json:"due"`
}

// KeyUse says how often one key version signed in the period.
type KeyUse struct {
	Key        string    `json:"key"`
	Version    string    `json:"version"`
	Signatures int       `json:"signatures"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
}

// Artifact is an artifact that was signed without a pass or warn verdict.
type Artifact struct {
	Digest  string    `json:"digest"`
	Name    string    `json:"name"`
	Project string    `json:"project"`
	Time    time.Time `json:"time"`
}

// PolicyChange is one change of the policy file.
type PolicyChange struct {
	Time    time.Time `json:"time"`
	By      string    `json:"by"`
	Digest  string    `json:"digest"`
	Summary string    `json:"summary"`
}

// Summary is what Summarize derives from a Data.
type Summary struct {
	// Now is the time the views were computed at, in UTC.
	Now time.Time `json:"now"`
	// ExpiringWithinSeconds is the horizon of Expiring, in whole seconds.
	ExpiringWithinSeconds int64 `json:"expiring_within_seconds"`
	// Verdicts counts all builds by verdict.
	Verdicts Verdicts `json:"verdicts"`
	// Weeks counts builds by ISO week, oldest first, empty weeks included
	// between the first and the last (up to MaxWeeks; past that only the
	// weeks with builds).
	Weeks []Week `json:"weeks"`
	// Projects counts builds by project, sorted by project.
	Projects []ProjectVerdicts `json:"projects"`
	// Granted are the exceptions created in the period that were approved
	// (status "approved" or, since, "expired"), by creation time.
	Granted []Exception `json:"granted"`
	// Expiring are the approved exceptions with now < Expires <=
	// now+expiringWithin, soonest first.
	Expiring []Exception `json:"expiring"`
	// Expired are the exceptions with status "approved" or "expired" whose
	// Expires is in the period and not after now, by expiry.
	Expired []Exception `json:"expired"`
	// PastSLA are the open findings past their due date, latest first.
	PastSLA []Overdue `json:"past_sla"`
	// SLAByProject counts PastSLA by project, most first.
	SLAByProject []Count `json:"sla_by_project"`
	// OpenBySeverity counts open findings by severity: critical, high,
	// medium, low, then any other severity in name order.
	OpenBySeverity []Count `json:"open_by_severity"`
	// Attention lists what a reviewer must look at first, red first.
	Attention []Alert `json:"attention"`
}

// Verdicts counts builds by verdict.
type Verdicts struct {
	Pass  int `json:"pass"`
	Warn  int `json:"warn"`
	Fail  int `json:"fail"`
	Other int `json:"other"`
}

// Total is the number of builds counted.
func (v Verdicts) Total() int { return v.Pass + v.Warn + v.Fail + v.Other }

func (v *Verdicts) add(verdict string) {
	switch verdict {
	case Pass:
		v.Pass++
	case Warn:
		v.Warn++
	case Fail:
		v.Fail++
	default:
		v.Other++
	}
}

// MaxWeeks is the most weeks Summary.Weeks fills in without builds.
const MaxWeeks = 260

// Week counts the builds of one ISO week.
type Week struct {
	// Label is the ISO week, "2026-W01".
	Label string `json:"label"`
	// Start is the week's Monday, 00:00 UTC.
	Start time.Time `json:"start"`
	Verdicts
}

// ProjectVerdicts counts the builds of one project.
type ProjectVerdicts struct {
	Project string `json:"project"`
	Verdicts
}

// Count is a number of things with one name.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Overdue is a finding past its SLA.
type Overdue struct {
	Finding
	// DaysLate is the number of whole days since Due.
	DaysLate int `json:"days_late"`
}

// Alert levels.
const (
	Red   = "red"
	Amber = "amber"
)

// Alert kinds.
const (
	// AlertUnverified: an artifact was signed without a pass or warn verdict.
	AlertUnverified = "unverified-artifact"
	// AlertExpiredReferenced: an exception has expired (or was revoked) but
	// an open finding it covered is still there.
	AlertExpiredReferenced = "expired-exception-referenced"
	// AlertSLA: a project has findings past their SLA.
	AlertSLA = "sla-breach"
)

// Alert is one line of the attention list.
type Alert struct {
	// Level is "red" or "amber".
	Level   string `json:"level"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Message string `json:"message"`
}

// inPeriod reports whether t is in [from, to], zero bounds open.
func inPeriod(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || !t.After(to))
}

// weekStart is the Monday 00:00 UTC of t's ISO week.
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	wd := (int(d.Weekday()) + 6) % 7 // Monday 0 ... Sunday 6
	return d.AddDate(0, 0, -wd)
}

func weekLabel(start time.Time) string {
	y, w := start.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

var severityOrder = []string{"critical", "high", "medium", "low"}

func severityRank(s string) int {
	if i := slices.Index(severityOrder, s); i >= 0 {
		return i
	}
	return len(severityOrder)
}

func openFinding(f Finding) bool { return f.Status != "fixed" }

// Summarize derives the report's views from d at now; expiringWithin is the
// horizon of Summary.Expiring (a negative one is taken as zero). It does not
// change d.
func Summarize(d Data, now time.Time, expiringWithin time.Duration) Summary {
	now = now.UTC()
	d = normalize(d)
	if expiringWithin < 0 {
		expiringWithin = 0
	}
	s := Summary{
		Now:                   now,
		ExpiringWithinSeconds: int64(expiringWithin / time.Second),
		Weeks:                 []Week{},
		Projects:              []ProjectVerdicts{},
		Granted:               []Exception{},
		Expiring:              []Exception{},
		Expired:               []Exception{},
		PastSLA:               []Overdue{},
		SLAByProject:          []Count{},
		OpenBySeverity:        []Count{},
		Attention:             []Alert{},
	}

	// Builds by verdict, week and project.
	weeks := map[time.Time]*Verdicts{}
	projects := map[string]*Verdicts{}
	for _, b := range d.Builds {
		s.Verdicts.add(b.Verdict)
		if !b.Time.IsZero() {
			ws := weekStart(b.Time)
			if weeks[ws] == nil {
				weeks[ws] = &Verdicts{}
			}
			weeks[ws].add(b.Verdict)
		}
		if projects[b.Project] == nil {
			projects[b.Project] = &Verdicts{}
		}
		projects[b.Project].add(b.Verdict)
	}
	if len(weeks) > 0 {
		starts := make([]time.Time, 0, len(weeks))
		for ws := range weeks {
			starts = append(starts, ws)
		}
		slices.SortFunc(starts, time.Time.Compare)
		first, last := starts[0], starts[len(starts)-1]
		if last.Sub(first) < time.Duration(MaxWeeks)*7*24*time.Hour {
			starts = starts[:0]
			for ws := first; !ws.After(last); ws = ws.AddDate(0, 0, 7) {
				starts = append(starts, ws)
			}
		}
		for _, ws := range starts {
			w := Week{Label: weekLabel(ws), Start: ws}
			if v := weeks[ws]; v != nil {
				w.Verdicts = *v
			}
			s.Weeks = append(s.Weeks, w)
		}
	}
	for p, v := range projects {
		s.Projects = append(s.Projects, ProjectVerdicts{Project: p, Verdicts: *v})
	}
	slices.SortFunc(s.Projects, func(a, b ProjectVerdicts) int { return cmp.Compare(a.Project, b.Project) })

	// Exceptions.
	for _, e := range d.Exceptions {
		granted := e.Status == "approved" || e.Status == "expired"
		if granted && inPeriod(e.Created, d.From, d.To) {
			s.Granted = append(s.Granted, e)
		}
		if e.Status == "approved" && now.Before(e.Expires) && !e.Expires.After(now.Add(expiringWithin)) {
			s.Expiring = append(s.Expiring, e)
		}
		if granted && !e.Expires.IsZero() && !e.Expires.After(now) && inPeriod(e.Expires, d.From, d.To) {
			s.Expired = append(s.Expired, e)
		}
	}
	sortExceptions(s.Granted, func(e Exception) time.Time { return e.Created })
	sortExceptions(s.Expiring, func(e Exception) time.Time { return e.Expires })
	sortExceptions(s.Expired, func(e Exception) time.Time { return e.Expires })

	// Findings.
	sev := map[string]int{}
	sla := map[string]int{}
	openByKey := map[findingKey]int{} // for the lapsed exceptions below
	for _, f := range d.Findings {
		if !openFinding(f) {
			continue
		}
		openByKey[findingKey{f.Project, f.ID, f.Package}]++
		sev[strings.ToLower(f.Severity)]++
		if !f.Due.IsZero() && !f.Due.After(now) {
			s.PastSLA = append(s.PastSLA, Overdue{Finding: f, DaysLate: int((now.Unix() - f.Due.Unix()) / 86400)})
			sla[f.Project]++
		}
	}
	slices.SortFunc(s.PastSLA, func(a, b Overdue) int {
		return cmp.Or(a.Due.Compare(b.Due), cmp.Compare(a.Project, b.Project),
			cmp.Compare(a.Fingerprint, b.Fingerprint), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Package, b.Package))
	})
	for name, n := range sev {
		s.OpenBySeverity = append(s.OpenBySeverity, Count{name, n})
	}
	slices.SortFunc(s.OpenBySeverity, func(a, b Count) int {
		return cmp.Or(cmp.Compare(severityRank(a.Name), severityRank(b.Name)), cmp.Compare(a.Name, b.Name))
	})
	for name, n := range sla {
		s.SLAByProject = append(s.SLAByProject, Count{name, n})
	}
	slices.SortFunc(s.SLAByProject, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name)) })

	// Attention.
	for _, a := range d.Unverified {
		s.Attention = append(s.Attention, Alert{Level: Red, Kind: AlertUnverified, Subject: a.Digest,
			Message: fmt.Sprintf("artifact %q of project %q (%s) was signed without a pass or warn verdict", a.Name, a.Project, a.Digest)})
	}
	for _, e := range d.Exceptions {
		lapsed := e.Status == "revoked" || e.Status == "expired" ||
			(e.Status == "approved" && !e.Expires.IsZero() && !e.Expires.After(now))
		if !lapsed {
			continue
		}
		if n := openByKey[findingKey{e.Project, e.Vulnerability, e.Package}]; n > 0 {
			s.Attention = append(s.Attention, Alert{Level: Red, Kind: AlertExpiredReferenced, Subject: e.ID,
				Message: fmt.Sprintf("exception %q (%s in %s, project %q) is %s but %d open finding(s) still match it; the next build fails",
					e.ID, e.Vulnerability, e.Package, e.Project, lapsedWord(e.Status), n)})
		}
	}
	worstLate := map[string]int{}
	for _, o := range s.PastSLA {
		worstLate[o.Project] = max(worstLate[o.Project], o.DaysLate)
	}
	for _, c := range s.SLAByProject {
		worst := worstLate[c.Name]
		s.Attention = append(s.Attention, Alert{Level: Amber, Kind: AlertSLA, Subject: c.Name,
			Message: fmt.Sprintf("project %q has %d finding(s) past SLA, the latest %d day(s) late", c.Name, c.Count, worst)})
	}
	slices.SortFunc(s.Attention, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(levelRank(a.Level), levelRank(b.Level)), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Message, b.Message))
	})
	return s
}

// findingKey is what an exception covers: one vulnerability in one package
// of one project.
type findingKey struct{ project, id, pkg string }

func lapsedWord(status string) string {
	if status == "revoked" {
		return "revoked"
	}
	return "expired"
}

func levelRank(l string) int {
	if l == Red {
		return 0
	}
	return 1
}

func sortExceptions(es []Exception, key func(Exception) time.Time) {
	slices.SortFunc(es, func(a, b Exception) int {
		return cmp.Or(key(a).Compare(key(b)), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Project, b.Project))
	})
}
