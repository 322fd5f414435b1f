package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/policy"
)

const policyUsage = `Usage:
  hallmark policy show [--version N]
  hallmark policy history
  hallmark policy check FILE
  hallmark policy set FILE --comment TEXT
  hallmark policy webhook add NAME --format json|jira|github --url URL [--header 'NAME: VALUE']...
                                   [--jira-project KEY] [--jira-issue-type T] [--label L]...
                                   [--event TYPE]... [--min-severity SEV]
  hallmark policy webhook list
  hallmark policy webhook remove NAME

The security policy is one YAML file (docs/policy.md): risk profiles with
their thresholds per finding kind, licence lists, exception caps, custom CEL
rules, and the profile of each project. The control plane keeps every
version; the newest is in force. Until one is set, the built-in profiles
apply, each project judged by the profile it was created with.

show prints the policy in force (or version N); history lists the versions
with who set them and why. check reads FILE as set would and reports the
first problem with its line and column, without contacting the control
plane. set stores FILE as the next version: it needs the security-admin role
and is audited with the policy's digest.

Webhooks tell people about new and reopened findings and failing verdicts:
generic JSON, Jira's create-issue request or GitHub's create-issue request
(docs/policy.md#notifications). Header values are credentials: the control
plane never shows them again. Event types: finding.new, finding.reopened,
verdict.fail (default all).

Flags:
  --version N      show: that version (default the one in force)
  --comment TEXT   set: why the policy changes (required)
  --json           show, history, webhook list: JSON output
` + planeFlagsUsage

func runPolicy(c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf("policy: missing subcommand").hint("run 'hallmark policy --help' for usage")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "-help" || sub == "--help" {
		fmt.Fprint(c.stdout, policyUsage)
		return nil
	}
	if sub == "webhook" {
		if len(args) == 0 {
			return usageErrorf("policy webhook: missing subcommand").hint("want add, list or remove")
		}
		sub, args = "webhook "+args[0], args[1:]
	}
	fs := c.flagSet("policy "+sub, policyUsage)
	pf := addPlaneFlags(fs)
	version := fs.Int64("version", 0, "")
	comment := fs.String("comment", "", "")
	asJSON := fs.Bool("json", false, "")
	format := fs.String("format", "", "")
	url := fs.String("url", "", "")
	jiraProject := fs.String("jira-project", "", "")
	jiraType := fs.String("jira-issue-type", "", "")
	minSeverity := fs.String("min-severity", "", "")
	var headers, labels, events stringsFlag
	fs.Var(&headers, "header", "")
	fs.Var(&labels, "label", "")
	fs.Var(&events, "event", "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	want := map[string]int{"show": 0, "history": 0, "check": 1, "set": 1, "webhook add": 1, "webhook list": 0, "webhook remove": 1}
	n, ok := want[sub]
	if !ok {
		return usageErrorf("policy: unknown subcommand %q", sub).hint("want show, history, check, set or webhook")
	}
	if len(pos) != n {
		return usageErrorf("policy %s: want %d argument(s), got %d", sub, n, len(pos)).hint("run 'hallmark policy --help' for usage")
	}
	if sub == "check" {
		_, err := readPolicy(pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "policy %s is valid\n", pos[0])
		return nil
	}
	ctx := context.Background()
	var body []byte
	if sub == "set" {
		if strings.TrimSpace(*comment) == "" {
			return usageErrorf("policy set: --comment is required: say why the policy changes")
		}
		if body, err = readPolicy(pos[0]); err != nil {
			return err
		}
	}
	var target []byte
	if sub == "webhook add" {
		t := map[string]any{"format": *format, "url": *url}
		if len(headers) > 0 {
			hs := map[string]string{}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok {
					return usageErrorf("policy webhook add: --header %q: want 'NAME: VALUE'", h)
				}
				hs[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			t["headers"] = hs
		}
		for k, v := range map[string]string{"jiraProject": *jiraProject, "jiraIssueType": *jiraType, "minSeverity": *minSeverity} {
			if v != "" {
				t[k] = v
			}
		}
		if len(labels) > 0 {
			t["githubLabels"] = []string(labels)
		}
		if len(events) > 0 {
			t["events"] = []string(events)
		}
		if target, err = json.Marshal(t); err != nil {
			return err
		}
	}
	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	switch sub {
	case "show":
		v, err := call[api.PolicyVersion](ctx, cn, api.GetPolicy, &api.PolicyRef{Version: *version})
		if err != nil {
			return err
		}
		if *asJSON {
			return c.printJSON(v)
		}
		fmt.Fprintf(c.stderr, "policy version %d (%s), set by %s\n", v.Version, v.Digest, v.Author)
		fmt.Fprint(c.stdout, v.Policy)
	case "history":
		vs, err := call[api.PolicyVersions](ctx, cn, api.PolicyHistory, &api.Empty{})
		if err != nil {
			return err
		}
		if *asJSON {
			return c.printJSON(vs)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for _, v := range vs.Versions {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", v.Version, v.Created.Format("2006-01-02T15:04:05Z"), v.Author, v.Digest, v.Comment)
		}
		return tw.Flush()
	case "set":
		v, err := call[api.PolicyVersion](ctx, cn, api.SetPolicy, &api.PolicyRequest{Nonce: api.Nonce(), Policy: string(body), Comment: *comment})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "policy version %d is in force (%s)\n", v.Version, v.Digest)
	case "webhook add":
		w, err := call[api.Webhook](ctx, cn, api.AddWebhook, &api.Webhook{Nonce: api.Nonce(), Name: pos[0], Target: target})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "webhook %s added: %s\n", w.Name, w.Target)
	case "webhook list":
		ws, err := call[api.Webhooks](ctx, cn, api.ListWebhooks, &api.Empty{})
		if err != nil {
			return err
		}
		if *asJSON {
			return c.printJSON(ws)
		}
		for _, w := range ws.Webhooks {
			fmt.Fprintf(c.stdout, "%s\t%s\n", w.Name, w.Target)
		}
	case "webhook remove":
		if _, err := call[api.Empty](ctx, cn, api.RemoveWebhook, &api.Webhook{Nonce: api.Nonce(), Name: pos[0]}); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "webhook %s removed\n", pos[0])
	}
	return nil
}

// readPolicy reads and parses a policy file, so that a bad one is refused
// with its line and column before anything is sent.
func readPolicy(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, usageErrorf("policy: %v", err)
	}
	defer f.Close()
	body, err := limit.Read(f, name, policy.MaxSize)
	if err != nil {
		return nil, usageErrorf("policy: %v", err)
	}
	if _, err := policy.Parse(body); err != nil {
		return nil, withHint(fmt.Errorf("%s: %w", name, err), "docs/policy.md describes the format; 'hallmark policy check FILE' checks a file")
	}
	return body, nil
}
