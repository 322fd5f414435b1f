package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/report"
)

// expiringWithin is the horizon of the report's expiring exceptions.
const expiringWithin = 14 * 24 * time.Hour

// auditReport runs 'hallmark audit report'.
func (c *cli) auditReport(args []string) error {
	fs := c.flagSet("audit report", auditUsage)
	pf := addPlaneFlags(fs)
	since := fs.String("since", "", "")
	until := fs.String("until", "", "")
	format := fs.String("format", "md", "")
	var out string
	fs.StringVar(&out, "output", "", "")
	fs.StringVar(&out, "o", "", "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("audit report: takes no arguments")
	}
	render := map[string]func(*bytes.Buffer, report.Data, report.Summary) error{
		"md":       func(b *bytes.Buffer, d report.Data, s report.Summary) error { return report.Markdown(b, d, s) },
		"markdown": func(b *bytes.Buffer, d report.Data, s report.Summary) error { return report.Markdown(b, d, s) },
		"html":     func(b *bytes.Buffer, d report.Data, s report.Summary) error { return report.HTML(b, d, s) },
		"json":     func(b *bytes.Buffer, d report.Data, s report.Summary) error { return report.JSON(b, d, s) },
	}[*format]
	if render == nil {
		return usageErrorf("audit report: --format %q: want md, html or json", *format)
	}
	now := time.Now()
	req := &api.ReportRequest{}
	if *since != "" {
		if req.Since, err = parseWhen(*since, now, true); err != nil {
			return usageErrorf("audit report: --since %q: %v", *since, err)
		}
	}
	if *until != "" {
		if req.Until, err = time.Parse(time.RFC3339, *until); err != nil {
			return usageErrorf("audit report: --until %q: want an RFC 3339 time", *until)
		}
	}
	ctx := context.Background()
	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	d, err := call[report.Data](ctx, cn, api.ReportData, req)
	if err != nil {
		return err
	}
	s := report.Summarize(*d, d.Generated, expiringWithin)
	var buf bytes.Buffer
	if err := render(&buf, *d, s); err != nil {
		return err
	}
	if err := c.writeOutput(out, buf.Bytes()); err != nil {
		return err
	}
	if len(d.Unverified) > 0 {
		fmt.Fprintf(c.stderr, "hallmark: warning: %d artifact(s) were signed without a pass or warn verdict\n", len(d.Unverified))
	}
	return nil
}
