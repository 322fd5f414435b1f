package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
)

// HTML writes the report as one self-contained HTML file: inline CSS, no
// script, no external resource, server-side SVG charts each with a <title>,
// a <desc> and a table of the same numbers under it. It prints on A4 or
// Letter without cut charts.
func HTML(w io.Writer, d Data, s Summary) error {
	d = normalize(d)
	v := htmlView{
		D: d, S: s,
		Period:        period(d),
		WeeksChart:    weeksChart(s.Weeks),
		SeverityChart: severityChart(s.OpenBySeverity),
		TimelineChart: timelineChart(d.Exceptions, s.Now),
		SLAChart:      slaChart(s.SLAByProject),
		Expiring:      horizon(s.ExpiringWithinSeconds),
	}
	bw := bufio.NewWriter(w)
	if err := htmlTemplate().Execute(bw, v); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

type htmlView struct {
	D             Data
	S             Summary
	Period        string
	Expiring      string
	WeeksChart    template.HTML
	SeverityChart template.HTML
	TimelineChart template.HTML
	SLAChart      template.HTML
}

// capped is a table's rows, at most MaxRows, and how many were left off.
type capped struct {
	Rows any
	More int
}

func capRows[T any](rows []T) capped {
	if len(rows) > MaxRows {
		return capped{rows[:MaxRows], len(rows) - MaxRows}
	}
	return capped{rows, 0}
}

// htmlTemplate is parsed on first use, not at the start-up of every
// program that imports the package.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"day":      day,
		"stamp":    stamp,
		"join":     func(s []string) string { return strings.Join(s, ", ") },
		"findings": findingsCell,
		"upper":    strings.ToUpper,
		"builds":   capRows[Build],
		"excs":     capRows[Exception],
		"weeks":    capRows[Week],
		"projects": capRows[ProjectVerdicts],
		"counts":   capRows[Count],
		"overdue":  capRows[Overdue],
		"keys":     capRows[KeyUse],
		"arts":     capRows[Artifact],
		"changes":  capRows[PolicyChange],
		"alerts":   capRows[Alert],
	}).Parse(htmlSource))
})

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Security review: {{if .D.Org}}{{.D.Org}}{{else}}(no organisation){{end}} ({{.Period}})</title>
<style>
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #222; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; }
.meta { color: #555; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: .25rem .4rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f2f2f2; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.more { font-style: italic; color: #555; }
.tiles { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.tile { border: 1px solid #ccc; border-radius: 4px; padding: .4rem .8rem; min-width: 7rem; }
.tile b { display: block; font-size: 1.5rem; }
.attention { list-style: none; padding: 0; }
.attention li { border-left: 6px solid; padding: .3rem .6rem; margin: .3rem 0; }
.attention li.red { border-color: #D55E00; background: #fbe9e1; }
.attention li.amber { border-color: #E69F00; background: #fdf3df; }
.ok { border-left: 6px solid #0072B2; padding: .3rem .6rem; background: #e5f0f8; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg text { font-family: inherit; fill: #222; }
svg .axis { font-size: 11px; fill: #444; }
svg .lbl { font-size: 12px; }
svg .in { font-size: 11px; fill: #fff; font-weight: 600; paint-order: stroke; stroke: #222; stroke-width: 2px; }
svg .nodata { font-size: 16px; fill: #666; }
svg .grid { stroke: #e3e3e3; stroke-width: 1; }
svg .axisline { stroke: #222; stroke-width: 1; }
svg .today { stroke: #222; stroke-width: 2; stroke-dasharray: 5 3; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; }
  figure, .tiles, tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
<header>
<h1>Security review: {{if .D.Org}}{{.D.Org}}{{else}}(no organisation){{end}}</h1>
<p class="meta">Period: {{.Period}}. Generated {{stamp .D.Generated}}; views computed at {{stamp .S.Now}}.</p>
</header>

<section id="attention">
<h2>Attention</h2>
{{- with alerts .S.Attention}}{{if .Rows}}
<ul class="attention">
{{- range .Rows}}
<li class="{{.Level}}"><strong>{{upper .Level}}</strong> ({{.Kind}}): {{.Message}}</li>
{{- end}}
{{- if .More}}
<li class="more">… and {{.More}} more.</li>
{{- end}}
</ul>
{{- else}}
<p class="ok">Nothing needs attention.</p>
{{- end}}{{end}}
<div class="tiles">
<div class="tile"><b>{{.S.Verdicts.Total}}</b>builds</div>
<div class="tile"><b>{{.S.Verdicts.Fail}}</b>failed</div>
<div class="tile"><b>{{len .S.Granted}}</b>exceptions granted</div>
<div class="tile"><b>{{len .S.Expiring}}</b>expiring within {{.Expiring}}</div>
<div class="tile"><b>{{len .S.PastSLA}}</b>findings past SLA</div>
<div class="tile"><b>{{len .D.Unverified}}</b>signed without pass or warn</div>
</div>
</section>

<section id="builds">
<h2>Builds by verdict</h2>
<p>{{.S.Verdicts.Total}} build{{if ne .S.Verdicts.Total 1}}s{{end}}: {{.S.Verdicts.Pass}} pass, {{.S.Verdicts.Warn}} warn, {{.S.Verdicts.Fail}} fail{{if .S.Verdicts.Other}}, {{.S.Verdicts.Other}} with another verdict{{end}}.</p>
<figure>
<figcaption>Builds per week by verdict</figcaption>
{{.WeeksChart}}
</figure>
{{- with weeks .S.Weeks}}{{if .Rows}}
<table>
<caption class="more">The numbers behind the chart</caption>
<thead><tr><th>Week</th><th>Starts</th><th class="n">Pass</th><th class="n">Warn</th><th class="n">Fail</th><th class="n">Other</th><th class="n">Total</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{.Label}}</td><td>{{day .Start}}</td><td class="n">{{.Pass}}</td><td class="n">{{.Warn}}</td><td class="n">{{.Fail}}</td><td class="n">{{.Other}}</td><td class="n">{{.Total}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more weeks.</p>{{end}}
{{- end}}{{end}}
<h3>By project</h3>
{{- with projects .S.Projects}}{{if .Rows}}
<table>
<thead><tr><th>Project</th><th class="n">Pass</th><th class="n">Warn</th><th class="n">Fail</th><th class="n">Other</th><th class="n">Total</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{.Project}}</td><td class="n">{{.Pass}}</td><td class="n">{{.Warn}}</td><td class="n">{{.Fail}}</td><td class="n">{{.Other}}</td><td class="n">{{.Total}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more projects.</p>{{end}}
{{- else}}
<p>None.</p>
{{- end}}{{end}}
</section>

<section id="exceptions">
<h2>Exceptions</h2>
<figure>
<figcaption>Validity of exceptions</figcaption>
{{.TimelineChart}}
</figure>
<h3>Granted in the period</h3>
{{template "excs" excs .S.Granted}}
<h3>Expiring within {{.Expiring}}</h3>
{{template "excs" excs .S.Expiring}}
<h3>Expired in the period</h3>
{{template "excs" excs .S.Expired}}
<h3>All {{len .D.Exceptions}} exceptions (the data behind the chart)</h3>
{{template "excs" excs .D.Exceptions}}
</section>

<section id="findings">
<h2>Findings</h2>
<figure>
<figcaption>Open findings by severity</figcaption>
{{.SeverityChart}}
</figure>
{{- with counts .S.OpenBySeverity}}{{if .Rows}}
<table>
<thead><tr><th>Severity</th><th class="n">Open</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{.Name}}</td><td class="n">{{.Count}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more.</p>{{end}}
{{- end}}{{end}}
<h3>Past SLA</h3>
<figure>
<figcaption>Findings past SLA by project</figcaption>
{{.SLAChart}}
</figure>
{{- with counts .S.SLAByProject}}{{if .Rows}}
<table>
<thead><tr><th>Project</th><th class="n">Past SLA</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{.Name}}</td><td class="n">{{.Count}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more.</p>{{end}}
{{- end}}{{end}}
{{- with overdue .S.PastSLA}}{{if .Rows}}
<table>
<thead><tr><th class="n">Days late</th><th>Project</th><th>ID</th><th>Package</th><th>Severity</th><th>Status</th><th>Owner</th><th>Due</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td class="n">{{.DaysLate}}</td><td>{{.Project}}</td><td>{{.ID}}</td><td>{{.Package}}</td><td>{{.Severity}}</td><td>{{.Status}}</td><td>{{.Owner}}</td><td>{{day .Due}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more.</p>{{end}}
{{- else}}
<p>None.</p>
{{- end}}{{end}}
</section>

<section id="keys">
<h2>Keys used</h2>
{{- with keys .D.KeysUsed}}{{if .Rows}}
<table>
<thead><tr><th>Key</th><th>Version</th><th class="n">Signatures</th><th>First</th><th>Last</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{.Key}}</td><td>{{.Version}}</td><td class="n">{{.Signatures}}</td><td>{{stamp .First}}</td><td>{{stamp .Last}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more.</p>{{end}}
{{- else}}
<p>None.</p>
{{- end}}{{end}}
</section>

<section id="unverified">
<h2>Artifacts signed without a pass or warn verdict</h2>
{{- with arts .D.Unverified}}{{if .Rows}}
<table>
<thead><tr><th>Time</th><th>Project</th><th>Name</th><th>Digest</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{stamp .Time}}</td><td>{{.Project}}</td><td>{{.Name}}</td><td><code>{{.Digest}}</code></td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more.</p>{{end}}
{{- else}}
<p class="ok">None, as it must be.</p>
{{- end}}{{end}}
</section>

<section id="policy">
<h2>Policy changes</h2>
{{- with changes .D.PolicyChanges}}{{if .Rows}}
<table>
<thead><tr><th>Time</th><th>By</th><th>Digest</th><th>Summary</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{stamp .Time}}</td><td>{{.By}}</td><td><code>{{.Digest}}</code></td><td>{{.Summary}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more.</p>{{end}}
{{- else}}
<p>None.</p>
{{- end}}{{end}}
</section>

<section id="build-list">
<h2>Builds</h2>
{{- with builds .D.Builds}}{{if .Rows}}
<table>
<thead><tr><th>Time</th><th>ID</th><th>Project</th><th>Subject</th><th>Profile</th><th>Verdict</th><th>Findings</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{stamp .Time}}</td><td>{{.ID}}</td><td>{{.Project}}</td><td>{{.Subject}}</td><td>{{.Profile}}</td><td>{{.Verdict}}</td><td>{{findings .Findings}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more.</p>{{end}}
{{- else}}
<p>None.</p>
{{- end}}{{end}}
</section>
</body>
</html>
{{define "excs"}}
{{- if .Rows}}
<table>
<thead><tr><th>ID</th><th>Project</th><th>Vulnerability</th><th>Package</th><th>Reason</th><th>Requester</th><th>Approvers</th><th>Created</th><th>Expires</th><th>Status</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{.ID}}</td><td>{{.Project}}</td><td>{{.Vulnerability}}</td><td>{{.Package}}</td><td>{{.Reason}}</td><td>{{.Requester}}</td><td>{{join .Approvers}}</td><td>{{day .Created}}</td><td>{{day .Expires}}</td><td>{{.Status}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .More}}<p class="more">… and {{.More}} more.</p>{{end}}
{{- else}}
<p>None.</p>
{{- end}}
{{- end}}
`
