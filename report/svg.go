package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// The charts are SVG written here, not by html/template, so every piece of
// data that goes into one passes through esc first.

// Colours from the Okabe-Ito palette, which stays distinct under the common
// colour-vision deficiencies; every mark also carries a text label.
const (
	colPass   = "#0072B2" // blue
	colWarn   = "#E69F00" // orange
	colFail   = "#D55E00" // vermillion, drawn hatched
	colSky    = "#56B4E9"
	colYellow = "#F0E442"
	colGrey   = "#999999"
	colInk    = "#222222"
)

// maxChartWeeks is the most weeks the week chart draws, the latest ones.
const maxChartWeeks = 156

// maxTimelineRows is the most exceptions the timeline draws.
const maxTimelineRows = 30

// maxLabelRunes is where a label in a chart is cut.
const maxLabelRunes = 32

// esc escapes s for SVG text or an attribute, after replacing invalid UTF-8
// and control characters, which XML does not allow.
func esc(s string) string { return template.HTMLEscapeString(clean(s)) }

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xfffe || r == 0xffff {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// cut shortens s to n runes, marking the cut, after clean.
func cut(s string, n int) string {
	r := []rune(clean(s))
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return string(r)
}

type svg struct{ b strings.Builder }

func newSVG(id string, w, h int, title, desc string) *svg {
	s := &svg{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 %d %d" width="%d" height="%d" aria-labelledby="%s-t %s-d">`, w, h, w, h, id, id)
	fmt.Fprintf(&s.b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	return s
}

func (s *svg) f(format string, a ...any) { fmt.Fprintf(&s.b, format, a...) }

// text writes an escaped label.
func (s *svg) text(x, y float64, anchor, class, label string) {
	s.f(`<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`, x, y, anchor, class, esc(label))
}

func (s *svg) html() template.HTML {
	s.b.WriteString(`</svg>`)
	return template.HTML(s.b.String()) // every datum was escaped by esc
}

func noData(id, title string, w, h int) template.HTML {
	s := newSVG(id, w, h, title, "No data for this period.")
	s.f(`<rect x="0.5" y="0.5" width="%d" height="%d" fill="none" stroke="%s"/>`, w-1, h-1, colGrey)
	s.text(float64(w)/2, float64(h)/2+5, "middle", "nodata", "no data")
	return s.html()
}

// hatch defines the hatched fill used for "fail" and "expired".
func (s *svg) hatch(id, colour string) {
	s.f(`<defs><pattern id="%s" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`+
		`<rect width="6" height="6" fill="%s"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern></defs>`, id, colour)
}

// niceMax rounds m up to 1, 2 or 5 times a power of ten.
func niceMax(m int) int {
	if m <= 1 {
		return 1
	}
	p := 1
	for p*10 <= m {
		p *= 10
	}
	for _, k := range []int{1, 2, 5, 10} {
		if k*p >= m {
			return k * p
		}
	}
	return 10 * p
}

func (s *svg) legend(x, y float64, items [][2]string) {
	for _, it := range items {
		s.f(`<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s" stroke="%s" stroke-width="0.5"/>`, x, y-10, it[1], colInk)
		s.text(x+16, y, "start", "lbl", it[0])
		x += 24 + 8*float64(len(it[0]))
	}
}

// weeksChart is a stacked bar chart of builds per week by verdict.
func weeksChart(weeks []Week) template.HTML {
	const id, w, h = "chart-weeks", 760, 300
	title := "Builds per week by verdict"
	dropped := 0
	if len(weeks) > maxChartWeeks {
		dropped = len(weeks) - maxChartWeeks
		weeks = weeks[dropped:]
	}
	total, peak := 0, 0
	for _, wk := range weeks {
		total += wk.Total()
		peak = max(peak, wk.Total())
	}
	if total == 0 {
		return noData(id, title, w, h)
	}
	desc := fmt.Sprintf("Stacked bars, one per ISO week from %s to %s: pass at the bottom (blue), warn in the middle (orange), fail on top (hatched vermillion), other in grey. %d builds in all.",
		weeks[0].Label, weeks[len(weeks)-1].Label, total)
	if dropped > 0 {
		desc += fmt.Sprintf(" %d earlier weeks are only in the table.", dropped)
	}
	s := newSVG(id, w, h, title, desc)
	s.hatch(id+"-fail", colFail)
	const left, right, top, bottom = 48.0, 12.0, 30.0, 48.0
	pw, ph := w-left-right, h-top-bottom
	ymax := niceMax(peak)
	s.yGrid(left, top, pw, ph, ymax)
	slot := pw / float64(len(weeks))
	bw := math.Max(1, slot*0.75)
	every := int(math.Ceil(float64(len(weeks)) / 16))
	lastYear := ""
	for i, wk := range weeks {
		x := left + slot*float64(i) + (slot-bw)/2
		y := top + ph
		for _, seg := range []struct {
			n     int
			fill  string
			label string
		}{{wk.Pass, colPass, "pass"}, {wk.Warn, colWarn, "warn"}, {wk.Fail, "url(#" + id + "-fail)", "fail"}, {wk.Other, colGrey, "other"}} {
			if seg.n == 0 {
				continue
			}
			sh := ph * float64(seg.n) / float64(ymax)
			y -= sh
			s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d %s</title></rect>`, x, y, bw, sh, seg.fill, esc(wk.Label), seg.n, seg.label)
			if sh >= 14 && bw >= 18 {
				s.f(`<text x="%.1f" y="%.1f" text-anchor="middle" class="in">%d</text>`, x+bw/2, y+sh/2+4, seg.n)
			}
		}
		if i%every == 0 {
			year, week, _ := strings.Cut(wk.Label, "-")
			s.text(x+bw/2, top+ph+16, "middle", "axis", week)
			if year != lastYear {
				s.text(x+bw/2, top+ph+30, "middle", "axis", year)
				lastYear = year
			}
		}
	}
	s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axisline"/>`, left, top+ph, left+pw, top+ph)
	s.legend(left, 18, [][2]string{{"pass", colPass}, {"warn", colWarn}, {"fail", "url(#" + id + "-fail)"}, {"other", colGrey}})
	s.text(left+pw, 18, "end", "axis", "builds per ISO week")
	return s.html()
}

// yGrid draws horizontal grid lines at whole numbers from 0 to ymax, a
// value niceMax returned: every unit up to 5, else five steps.
func (s *svg) yGrid(left, top, pw, ph float64, ymax int) {
	ticks := min(ymax, 5)
	for i := 0; i <= ticks; i++ {
		y := top + ph - ph*float64(i)/float64(ticks)
		s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, left, y, left+pw, y)
		s.text(left-6, y+4, "end", "axis", fmt.Sprint(ymax/ticks*i))
	}
}

func severityColour(name string) string {
	switch name {
	case "critical":
		return colFail
	case "high":
		return colWarn
	case "medium":
		return colYellow
	case "low":
		return colSky
	}
	return colGrey
}

// severityChart is a bar chart of open findings by severity.
func severityChart(counts []Count) template.HTML {
	const id, w, h = "chart-severity", 760, 260
	title := "Open findings by severity"
	total, peak := 0, 0
	for _, c := range counts {
		total += c.Count
		peak = max(peak, c.Count)
	}
	if total == 0 {
		return noData(id, title, w, h)
	}
	if len(counts) > 12 {
		counts = counts[:12]
	}
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = fmt.Sprintf("%s %d", cut(c.Name, maxLabelRunes), c.Count)
	}
	s := newSVG(id, w, h, title, fmt.Sprintf("Bars, one per severity, labelled with the severity and the count: %s.", strings.Join(parts, ", ")))
	const left, right, top, bottom = 48.0, 12.0, 20.0, 40.0
	pw, ph := w-left-right, h-top-bottom
	ymax := niceMax(peak)
	s.yGrid(left, top, pw, ph, ymax)
	slot := pw / float64(len(counts))
	bw := math.Min(90, slot*0.6)
	for i, c := range counts {
		x := left + slot*float64(i) + (slot-bw)/2
		bh := ph * float64(c.Count) / float64(ymax)
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="%s" stroke-width="0.5"/>`, x, top+ph-bh, bw, bh, severityColour(c.Name), colInk)
		s.text(x+bw/2, top+ph-bh-4, "middle", "lbl", fmt.Sprint(c.Count))
		s.text(x+bw/2, top+ph+16, "middle", "lbl", cut(c.Name, 16))
	}
	s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axisline"/>`, left, top+ph, left+pw, top+ph)
	return s.html()
}

// timelineChart draws each exception as a bar from Created to Expires, with
// now marked.
func timelineChart(es []Exception, now time.Time) template.HTML {
	const id, w = "chart-exceptions", 760
	title := "Validity of exceptions"
	var rows []Exception
	for _, e := range es {
		if e.Status == "rejected" || (e.Created.IsZero() && e.Expires.IsZero()) {
			continue
		}
		rows = append(rows, e)
	}
	if len(rows) == 0 {
		return noData(id, title, w, 120)
	}
	sortExceptions(rows, func(e Exception) time.Time { return e.Expires })
	more := 0
	if len(rows) > maxTimelineRows {
		// Keep those nearest to now: expiring soonest, then the most recently expired.
		i := 0
		for i < len(rows) && !rows[i].Expires.After(now) {
			i++
		}
		lo := max(0, min(i-maxTimelineRows/3, len(rows)-maxTimelineRows))
		more = len(rows) - maxTimelineRows
		rows = rows[lo : lo+maxTimelineRows]
	}
	const left, right, top, rowH = 230.0, 20.0, 40.0, 22.0
	h := int(top + rowH*float64(len(rows)) + 40)
	if more > 0 {
		h += 16
	}
	lo, hi := now, now
	for _, e := range rows {
		for _, t := range []time.Time{e.Created, e.Expires} {
			if t.IsZero() {
				continue
			}
			if t.Before(lo) {
				lo = t
			}
			if t.After(hi) {
				hi = t
			}
		}
	}
	// Unix seconds, not Sub, which saturates past 292 years.
	span := float64(hi.Unix() - lo.Unix())
	if span <= 0 {
		span = 1
	}
	pw := float64(w) - left - right
	x := func(t time.Time) float64 { return left + pw*float64(t.Unix()-lo.Unix())/span }
	s := newSVG(id, w, h, title, fmt.Sprintf(
		"One bar per exception from its creation to its expiry, %d shown, sorted by expiry. Solid blue: valid; hatched vermillion: expired or lapsed; grey: pending or revoked. A dashed line marks today, %s.", len(rows), day(now)))
	s.hatch(id+"-expired", colFail)
	s.legend(left, 16, [][2]string{{"valid", colPass}, {"expired", "url(#" + id + "-expired)"}, {"pending/revoked", colGrey}})
	for i, e := range rows {
		y := top + rowH*float64(i)
		start, end := e.Created, e.Expires
		if start.IsZero() {
			start = end
		}
		if end.IsZero() || end.Before(start) {
			end = start
		}
		fill, state := colPass, "valid"
		switch {
		case e.Status == "pending" || e.Status == "revoked":
			fill, state = colGrey, e.Status
		case e.Status == "expired" || !e.Expires.After(now):
			fill, state = "url(#"+id+"-expired)", "expired"
		}
		s.text(left-8, y+rowH/2+4, "end", "lbl", cut(e.ID+" "+e.Vulnerability, maxLabelRunes))
		x0, x1 := x(start), x(end)
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="%s" stroke-width="0.5"><title>%s: %s to %s, %s</title></rect>`,
			x0, y+3, math.Max(2, x1-x0), rowH-6, fill, colInk, esc(e.ID), day(e.Created), day(e.Expires), state)
	}
	bottom := top + rowH*float64(len(rows))
	nx := x(now)
	s.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="today"/>`, nx, top-6, nx, bottom+4)
	anchor := "middle"
	if nx > float64(w)-80 {
		anchor = "end"
	} else if nx < left+60 {
		anchor = "start"
	}
	s.text(nx, bottom+18, anchor, "lbl", "today "+day(now))
	s.text(left, bottom+34, "start", "axis", day(lo))
	s.text(left+pw, bottom+34, "end", "axis", day(hi))
	if more > 0 {
		s.text(left, bottom+50, "start", "axis", fmt.Sprintf("and %d more (see the table)", more))
	}
	return s.html()
}

// slaChart is a horizontal bar chart of findings past SLA by project.
func slaChart(counts []Count) template.HTML {
	const id, w = "chart-sla", 760
	title := "Findings past SLA by project"
	if len(counts) == 0 {
		return noData(id, title, w, 120)
	}
	shown, more := counts, 0
	if len(shown) > 20 {
		more = len(shown) - 20
		shown = shown[:20]
	}
	const left, right, top, rowH = 230.0, 60.0, 12.0, 22.0
	h := int(top + rowH*float64(len(shown)) + 16)
	if more > 0 {
		h += 16
	}
	peak := shown[0].Count
	for _, c := range shown {
		peak = max(peak, c.Count)
	}
	s := newSVG(id, w, h, title, fmt.Sprintf("One bar per project, longest first, labelled with the number of open findings past their SLA; %d project(s).", len(counts)))
	pw := float64(w) - left - right
	for i, c := range shown {
		y := top + rowH*float64(i)
		bw := pw * float64(c.Count) / float64(max(peak, 1))
		s.text(left-8, y+rowH/2+4, "end", "lbl", cut(c.Name, maxLabelRunes))
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="%s" stroke-width="0.5"/>`, left, y+3, math.Max(2, bw), rowH-6, colWarn, colInk)
		s.text(left+math.Max(2, bw)+6, y+rowH/2+4, "start", "lbl", fmt.Sprint(c.Count))
	}
	if more > 0 {
		s.text(left, top+rowH*float64(len(shown))+14, "start", "axis", fmt.Sprintf("and %d more (see the table)", more))
	}
	return s.html()
}
