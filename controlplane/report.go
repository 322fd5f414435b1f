package controlplane

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/policy"
	"github.com/hallmark-dev/hallmark/report"
	"github.com/hallmark-dev/hallmark/scan"
	"github.com/hallmark-dev/hallmark/state"
)

// maxReportRecords bounds the signing records one report reads.
const maxReportRecords = 1_000_000

// reportData gathers what the periodic audit report shows (package report
// renders it): the period's verdicts, every exception and tracked finding,
// the keys used, the artifacts signed without a verdict that let them
// through, and the policy's changes.
func (p *Plane) reportData(ctx context.Context, who auth.Principal, req *api.ReportRequest) (*report.Data, error) {
	if err := authorize(who, auth.ReadAudit, ""); err != nil {
		return nil, err
	}
	now := p.now().UTC()
	to := req.Until
	if to.IsZero() {
		to = now
	}
	from := req.Since
	if from.IsZero() {
		from = to.AddDate(0, 0, -90)
	}
	if !from.Before(to) {
		return nil, api.Errorf(http.StatusBadRequest, "period from %s to %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	d := &report.Data{Org: p.cfg.Origin, From: from.UTC(), To: to.UTC(), Generated: now,
		Builds: []report.Build{}, Exceptions: []report.Exception{}, Findings: []report.Finding{}, KeysUsed: []report.KeyUse{},
		Unverified: []report.Artifact{}, PolicyChanges: []report.PolicyChange{}}

	verdicts, err := p.db.Verdicts(ctx, "", time.Time{}, 0)
	if err != nil {
		return nil, err
	}
	passed := map[string]bool{} // project + digest of subjects a verdict let through
	for _, v := range verdicts {
		var subjects []api.Subject
		if err := json.Unmarshal([]byte(v.Subjects), &subjects); err != nil {
			return nil, fmt.Errorf("controlplane: verdict %s: %w", v.ID, err)
		}
		if !v.DryRun && v.Result != string(policy.Fail) {
			for _, s := range subjects {
				passed[v.Project+"\x00"+s.Digest] = true
			}
		}
		if v.DryRun || v.Time.Before(from) || v.Time.After(to) {
			continue
		}
		var verdict policy.Verdict
		if err := json.Unmarshal(v.Verdict, &verdict); err != nil {
			return nil, fmt.Errorf("controlplane: verdict %s: %w", v.ID, err)
		}
		b := report.Build{ID: v.ID, Project: v.Project, Verdict: v.Result, Profile: v.Profile, Time: v.Time, Findings: map[string]int{}}
		names := make([]string, len(subjects))
		for i, s := range subjects {
			names[i] = s.Name
		}
		b.Subject = strings.Join(names, ", ")
		for _, dec := range verdict.Decisions {
			if dec.Action != policy.Pass {
				b.Findings[cmp.Or(string(dec.Severity), "unknown")]++
			}
		}
		d.Builds = append(d.Builds, b)
	}

	exceptions, err := p.db.Exceptions(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, e := range exceptions {
		x := exceptionOut(e, now)
		re := report.Exception{ID: e.ID, Project: e.Project, Vulnerability: e.Vulnerability, Package: e.Package, Reason: e.Reason,
			Requester: e.Requester, Approvers: []string{}, Created: e.Created, Expires: e.Expires, Status: x.Status}
		if e.Fingerprint != "" {
			re.Vulnerability = "finding " + e.Fingerprint[:12]
		}
		for _, v := range e.Votes {
			if v.Decision == "approve" {
				re.Approvers = append(re.Approvers, v.Approver)
			}
		}
		d.Exceptions = append(d.Exceptions, re)
	}

	findings, err := p.db.Findings(ctx, state.FindingFilter{})
	if err != nil {
		return nil, err
	}
	for _, t := range findings {
		var f scan.Finding
		if err := json.Unmarshal(t.Finding, &f); err != nil {
			return nil, fmt.Errorf("controlplane: finding %s: %w", t.Fingerprint, err)
		}
		pkg := f.Package.PURL
		if pkg == "" && f.Package.Name != "" {
			pkg = f.Package.Name + "@" + f.Package.Version
		}
		d.Findings = append(d.Findings, report.Finding{Fingerprint: t.Fingerprint, Project: t.Project, ID: f.ID, Package: pkg,
			Severity: cmp.Or(t.Severity, "unknown"), Status: t.Status, Owner: t.Owner, FirstSeen: t.FirstSeen, Due: t.Due})
	}

	records, err := p.db.RecordsBetween(ctx, from, to, maxReportRecords)
	if err != nil {
		return nil, err
	}
	uses := map[string]*report.KeyUse{}
	for _, r := range records {
		k := r.KeyName + "@" + strconv.Itoa(r.KeyVersion)
		u, ok := uses[k]
		if !ok {
			u = &report.KeyUse{Key: r.KeyName, Version: strconv.Itoa(r.KeyVersion), First: r.Time}
			uses[k] = u
		}
		u.Signatures++
		u.Last = r.Time
		digest := "sha256:" + hex.EncodeToString(r.Digest)
		if r.Kind == state.RecordDigest && !passed[r.Project+"\x00"+digest] {
			d.Unverified = append(d.Unverified, report.Artifact{Digest: digest, Name: "(signed by " + r.Actor + ")", Project: r.Project, Time: r.Time})
		}
	}
	for _, u := range uses {
		d.KeysUsed = append(d.KeysUsed, *u)
	}
	sort.Slice(d.KeysUsed, func(i, j int) bool {
		return d.KeysUsed[i].Key+"@"+d.KeysUsed[i].Version < d.KeysUsed[j].Key+"@"+d.KeysUsed[j].Version
	})

	versions, err := p.db.Policies(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		if v.Created.Before(from) || v.Created.After(to) {
			continue
		}
		d.PolicyChanges = append(d.PolicyChanges, report.PolicyChange{Time: v.Created, By: v.Author, Digest: v.Digest,
			Summary: "version " + strconv.FormatInt(v.Version, 10) + ": " + cmp.Or(v.Comment, "(no comment)")})
	}
	return d, nil
}
