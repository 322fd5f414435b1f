package report_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/report"
)

func TestWeeks(t *testing.T) {
	tests := []struct {
		name   string
		times  []string
		labels []string
		starts []string
	}{
		{
			// 2025-12-29 is the Monday of ISO week 2026-W01; 2026-01-04 its Sunday.
			name:   "year boundary",
			times:  []string{"2025-12-28T23:59:59Z", "2025-12-29T00:00:00Z", "2026-01-01T12:00:00Z", "2026-01-04T23:59:59Z", "2026-01-05T00:00:00Z"},
			labels: []string{"2025-W52", "2026-W01", "2026-W02"},
			starts: []string{"2025-12-22", "2025-12-29", "2026-01-05"},
		},
		{
			// 2020 has 53 ISO weeks; 2021-01-01 is a Friday of 2020-W53.
			name:   "week 53",
			times:  []string{"2021-01-01T00:00:00Z", "2021-01-03T10:00:00Z"},
			labels: []string{"2020-W53"},
			starts: []string{"2020-12-28"},
		},
		{
			name:   "time zone is UTC",
			times:  []string{"2026-01-05T01:00:00+03:00"}, // Sunday 22:00 UTC
			labels: []string{"2026-W01"},
			starts: []string{"2025-12-29"},
		},
		{
			name:   "empty weeks filled",
			times:  []string{"2026-01-05T00:00:00Z", "2026-01-26T00:00:00Z"},
			labels: []string{"2026-W02", "2026-W03", "2026-W04", "2026-W05"},
			starts: []string{"2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"},
		},
		{
			name:   "far apart weeks not filled",
			times:  []string{"1999-01-04T00:00:00Z", "2026-01-05T00:00:00Z"},
			labels: []string{"1999-W01", "2026-W02"},
			starts: []string{"1999-01-04", "2026-01-05"},
		},
		{
			name:   "builds without time only in totals",
			times:  []string{""},
			labels: []string{},
			starts: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d report.Data
			for i, s := range tt.times {
				var tm time.Time
				if s != "" {
					tm = date(s)
				}
				d.Builds = append(d.Builds, report.Build{ID: string(rune('a' + i)), Verdict: "pass", Time: tm})
			}
			s := report.Summarize(d, now, 0)
			var labels, starts []string
			total := 0
			for _, w := range s.Weeks {
				labels = append(labels, w.Label)
				starts = append(starts, w.Start.Format("2006-01-02"))
				total += w.Total()
				if w.Start.Weekday() != time.Monday || w.Start.Location() != time.UTC {
					t.Errorf("week %s starts %v", w.Label, w.Start)
				}
			}
			if !slices.Equal(labels, tt.labels) && len(labels)+len(tt.labels) > 0 {
				t.Errorf("labels %v, want %v", labels, tt.labels)
			}
			if !slices.Equal(starts, tt.starts) && len(starts)+len(tt.starts) > 0 {
				t.Errorf("starts %v, want %v", starts, tt.starts)
			}
			if s.Verdicts.Total() != len(tt.times) {
				t.Errorf("total %d, want %d", s.Verdicts.Total(), len(tt.times))
			}
			if len(tt.labels) > 0 && total != len(tt.times) {
				t.Errorf("weeks hold %d builds, want %d", total, len(tt.times))
			}
		})
	}
}

func TestVerdictCounts(t *testing.T) {
	d := report.Data{Builds: []report.Build{
		{Project: "b", Verdict: "pass", Time: now}, {Project: "a", Verdict: "fail", Time: now},
		{Project: "a", Verdict: "warn", Time: now}, {Project: "a", Verdict: "PASS", Time: now},
	}}
	s := report.Summarize(d, now, 0)
	if want := (report.Verdicts{Pass: 1, Warn: 1, Fail: 1, Other: 1}); s.Verdicts != want {
		t.Errorf("verdicts %+v, want %+v", s.Verdicts, want)
	}
	want := []report.ProjectVerdicts{
		{Project: "a", Verdicts: report.Verdicts{Warn: 1, Fail: 1, Other: 1}},
		{Project: "b", Verdicts: report.Verdicts{Pass: 1}},
	}
	if !slices.Equal(s.Projects, want) {
		t.Errorf("projects %+v, want %+v", s.Projects, want)
	}
}

func TestExceptionEdges(t *testing.T) {
	const within = 14 * 24 * time.Hour
	from := now.AddDate(0, -1, 0)
	tests := []struct {
		name                       string
		e                          report.Exception
		granted, expiring, expired bool
	}{
		{"expires now: expired, not expiring", report.Exception{Created: from, Expires: now, Status: "approved"}, true, false, true},
		{"expires a second from now: expiring", report.Exception{Created: from, Expires: now.Add(time.Second), Status: "approved"}, true, true, false},
		{"expires at the horizon: expiring", report.Exception{Created: from, Expires: now.Add(within), Status: "approved"}, true, true, false},
		{"expires past the horizon", report.Exception{Created: from, Expires: now.Add(within + time.Second), Status: "approved"}, true, false, false},
		{"created at From: granted", report.Exception{Created: from, Expires: now.AddDate(1, 0, 0), Status: "approved"}, true, false, false},
		{"created before From: not granted", report.Exception{Created: from.Add(-time.Second), Expires: now.AddDate(1, 0, 0), Status: "approved"}, false, false, false},
		{"created after To: not granted", report.Exception{Created: now.Add(time.Second), Expires: now.AddDate(1, 0, 0), Status: "approved"}, false, false, false},
		{"expired before the period", report.Exception{Created: from.AddDate(0, -2, 0), Expires: from.Add(-time.Second), Status: "expired"}, false, false, false},
		{"expired at From", report.Exception{Created: from.AddDate(0, -2, 0), Expires: from, Status: "expired"}, false, false, true},
		{"status expired counts as granted", report.Exception{Created: from, Expires: now.Add(-time.Hour), Status: "expired"}, true, false, true},
		{"pending is never granted", report.Exception{Created: from, Expires: now.Add(time.Hour), Status: "pending"}, false, false, false},
		{"rejected", report.Exception{Created: from, Expires: now.Add(-time.Hour), Status: "rejected"}, false, false, false},
		{"revoked", report.Exception{Created: from, Expires: now.Add(time.Hour), Status: "revoked"}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.e.ID = "E"
			s := report.Summarize(report.Data{From: from, To: now, Exceptions: []report.Exception{tt.e}}, now, within)
			if got := len(s.Granted) == 1; got != tt.granted {
				t.Errorf("granted %v, want %v", got, tt.granted)
			}
			if got := len(s.Expiring) == 1; got != tt.expiring {
				t.Errorf("expiring %v, want %v", got, tt.expiring)
			}
			if got := len(s.Expired) == 1; got != tt.expired {
				t.Errorf("expired %v, want %v", got, tt.expired)
			}
		})
	}
}

func TestExpiringOrder(t *testing.T) {
	d := report.Data{Exceptions: []report.Exception{
		{ID: "late", Expires: now.Add(72 * time.Hour), Status: "approved"},
		{ID: "soon", Expires: now.Add(time.Hour), Status: "approved"},
		{ID: "mid", Expires: now.Add(24 * time.Hour), Status: "approved"},
	}}
	s := report.Summarize(d, now, 7*24*time.Hour)
	var ids []string
	for _, e := range s.Expiring {
		ids = append(ids, e.ID)
	}
	if want := []string{"soon", "mid", "late"}; !slices.Equal(ids, want) {
		t.Errorf("expiring %v, want %v", ids, want)
	}
}

func TestPastSLA(t *testing.T) {
	d := report.Data{Findings: []report.Finding{
		{Fingerprint: "due-now", Project: "p", Status: "open", Severity: "High", Due: now},
		{Fingerprint: "due-later", Project: "p", Status: "open", Severity: "low", Due: now.Add(time.Second)},
		{Fingerprint: "no-due", Project: "p", Status: "open", Severity: "low"},
		{Fingerprint: "fixed-late", Project: "p", Status: "fixed", Severity: "critical", Due: now.AddDate(0, 0, -30)},
		{Fingerprint: "ack-late", Project: "q", Status: "acknowledged", Severity: "medium", Due: now.Add(-49 * time.Hour)},
		{Fingerprint: "reopened-late", Project: "q", Status: "reopened", Severity: "weird", Due: now.AddDate(0, 0, -10)},
	}}
	s := report.Summarize(d, now, 0)
	var got []string
	var late []int
	for _, o := range s.PastSLA {
		got = append(got, o.Fingerprint)
		late = append(late, o.DaysLate)
	}
	if want := []string{"reopened-late", "ack-late", "due-now"}; !slices.Equal(got, want) {
		t.Errorf("past SLA %v, want %v (latest first)", got, want)
	}
	if want := []int{10, 2, 0}; !slices.Equal(late, want) {
		t.Errorf("days late %v, want %v", late, want)
	}
	if want := []report.Count{{Name: "q", Count: 2}, {Name: "p", Count: 1}}; !slices.Equal(s.SLAByProject, want) {
		t.Errorf("by project %v, want %v", s.SLAByProject, want)
	}
	if want := []report.Count{{Name: "high", Count: 1}, {Name: "medium", Count: 1}, {Name: "low", Count: 2}, {Name: "weird", Count: 1}}; !slices.Equal(s.OpenBySeverity, want) {
		t.Errorf("by severity %v, want %v", s.OpenBySeverity, want)
	}
}

func TestAttention(t *testing.T) {
	d := report.Data{
		Unverified: []report.Artifact{{Digest: "sha256:bb", Name: "b"}, {Digest: "sha256:aa", Name: "a"}},
		Exceptions: []report.Exception{
			{ID: "lapsed", Project: "p", Vulnerability: "CVE-1", Package: "pkg:x", Expires: now, Status: "approved"},
			{ID: "revoked", Project: "p", Vulnerability: "CVE-2", Package: "pkg:x", Expires: now.Add(time.Hour), Status: "revoked"},
			{ID: "valid", Project: "p", Vulnerability: "CVE-3", Package: "pkg:x", Expires: now.Add(time.Hour), Status: "approved"},
			{ID: "expired-unreferenced", Project: "p", Vulnerability: "CVE-4", Package: "pkg:x", Expires: now.Add(-time.Hour), Status: "expired"},
			{ID: "expired-fixed", Project: "p", Vulnerability: "CVE-5", Package: "pkg:x", Expires: now.Add(-time.Hour), Status: "expired"},
			{ID: "other-project", Project: "q", Vulnerability: "CVE-1", Package: "pkg:x", Expires: now.Add(-time.Hour), Status: "expired"},
		},
		Findings: []report.Finding{
			{Fingerprint: "1", Project: "p", ID: "CVE-1", Package: "pkg:x", Status: "open"},
			{Fingerprint: "2", Project: "p", ID: "CVE-2", Package: "pkg:x", Status: "reopened"},
			{Fingerprint: "3", Project: "p", ID: "CVE-3", Package: "pkg:x", Status: "open"},
			{Fingerprint: "5", Project: "p", ID: "CVE-5", Package: "pkg:x", Status: "fixed"},
			{Fingerprint: "6", Project: "r", ID: "X", Status: "open", Due: now.Add(-time.Hour)},
		},
	}
	s := report.Summarize(d, now, 0)
	type key struct{ level, kind, subject string }
	var got []key
	for _, a := range s.Attention {
		got = append(got, key{a.Level, a.Kind, a.Subject})
		if a.Message == "" {
			t.Errorf("alert %v has no message", a)
		}
	}
	want := []key{
		{report.Red, report.AlertExpiredReferenced, "lapsed"},
		{report.Red, report.AlertExpiredReferenced, "revoked"},
		{report.Red, report.AlertUnverified, "sha256:aa"},
		{report.Red, report.AlertUnverified, "sha256:bb"},
		{report.Amber, report.AlertSLA, "r"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("attention\n got %v\nwant %v", got, want)
	}
}

func TestSummarizeDoesNotChangeData(t *testing.T) {
	d := fixture()
	before := fixture()
	report.Summarize(d, now, time.Hour)
	for i := range d.Builds {
		if d.Builds[i].ID != before.Builds[i].ID {
			t.Fatalf("Summarize reordered Data.Builds")
		}
	}
	for i := range d.Exceptions {
		if d.Exceptions[i].ID != before.Exceptions[i].ID {
			t.Fatalf("Summarize reordered Data.Exceptions")
		}
	}
}

// TestExpiringHorizon: the horizon is spelled in the largest unit that
// divides it, singular for one.
func TestExpiringHorizon(t *testing.T) {
	for _, tt := range []struct {
		within time.Duration
		want   string
	}{
		{14 * 24 * time.Hour, "14 days"},
		{24 * time.Hour, "1 day"},
		{time.Hour, "1 hour"},
		{36 * time.Hour, "36 hours"},
		{90 * time.Minute, "90 minutes"},
		{30 * time.Second, "30 seconds"},
		{0, "0 days"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			s := report.Summarize(report.Data{}, now, tt.within)
			var b bytes.Buffer
			if err := report.Markdown(&b, report.Data{}, s); err != nil {
				t.Fatal(err)
			}
			if want := "## Exceptions expiring within " + tt.want + "\n"; !strings.Contains(b.String(), want) {
				t.Errorf("markdown lacks %q", want)
			}
		})
	}
}
