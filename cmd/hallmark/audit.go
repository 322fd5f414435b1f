package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/tlog"
	"github.com/hallmark-dev/hallmark/trustroot"
	"github.com/hallmark-dev/hallmark/verifier"
)

const auditUsage = `Usage:
  hallmark audit log [--after N] [--since TIME] [--verify] [--json]
  hallmark audit anchor
  hallmark audit report [--since TIME|DURATION] [--until TIME] [--format md|html|json] [-o FILE]

The audit log records every security-relevant action of the control plane:
signatures and key uses, tokens issued and revoked, role and key changes,
refused requests. Each entry's hash covers the one before it (SHA-256, from
a zero hash), and the head is signed and logged in the transparency log
(an anchor) every minute by 'hallmark serve', or by 'hallmark audit anchor'.

log prints entries (one JSON object per line with --json; else time, actor,
action, outcome, project, target), those after sequence number --after or
at or after --since (RFC 3339). --verify checks the whole chain from the
first entry, every anchor against the chain, and every anchor's bundle
(signature by the audit key, log inclusion, timestamp) against the trusted
root; any break exits 1 naming the entry. Needs the auditor or
security-admin role.

anchor logs the head now (security-admin).

report writes the periodic review of the gate (default: the last 90 days)
as markdown, HTML (with charts) or JSON: builds by verdict, per project and
per week; exceptions granted, pending, expiring within 14 days and expired,
with their reasons and approvers; open findings past their SLA; keys used;
artifacts signed without a pass or warn verdict (there should be none); and
policy changes. Needs the auditor or security-admin role.

Flags:
  --trusted-root FILE   verify anchors against this trusted root (default:
                        the local control plane's, or the server's)
` + planeFlagsUsage

func runAudit(c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf("audit: missing subcommand").hint("want log, anchor or report")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help":
		fmt.Fprint(c.stdout, auditUsage)
		return nil
	case "log", "anchor":
	case "report":
		return c.auditReport(args)
	default:
		return usageErrorf("audit: unknown subcommand %q", sub).hint("want log, anchor or report")
	}
	fs := c.flagSet("audit "+sub, auditUsage)
	pf := addPlaneFlags(fs)
	after := fs.Int64("after", 0, "")
	since := fs.String("since", "", "")
	check := fs.Bool("verify", false, "")
	asJSON := fs.Bool("json", false, "")
	rootPath := fs.String("trusted-root", "", "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("audit %s: takes no arguments", sub)
	}
	var sinceT time.Time
	if *since != "" {
		if sinceT, err = time.Parse(time.RFC3339, *since); err != nil {
			return usageErrorf("audit log: --since %q: want an RFC 3339 time such as 2026-11-01T00:00:00Z", *since)
		}
	}
	if *after < 0 {
		return usageErrorf("audit log: --after %d: want 0 or more", *after)
	}
	ctx := context.Background()
	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	if sub == "anchor" {
		a, err := call[api.Anchor](ctx, cn, api.AnchorAudit, &api.Empty{Nonce: api.Nonce()})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: audit head %d (sha256:%x) is log entry %d\n", a.Seq, a.Hash, a.LogIndex)
		return nil
	}
	from := *after
	if *check {
		from = 0 // the chain is checked from its start
	}
	var entries []audit.Entry
	all := &api.AuditLog{}
	for {
		page, err := call[api.AuditLog](ctx, cn, api.ReadAudit, &api.AuditRequest{After: from, Limit: 10000})
		if err != nil {
			return err
		}
		all.AuditKey = page.AuditKey
		all.Anchors = append(all.Anchors, page.Anchors...)
		for _, e := range page.Entries {
			ae := audit.Entry{Seq: e.Seq, EventJSON: e.Event, Prev: e.Prev, Hash: e.Hash}
			if err := json.Unmarshal(e.Event, &ae.Event); err != nil {
				return &checkFailedError{fmt.Errorf("audit log: entry %d: malformed event: %w", e.Seq, err)}
			}
			entries = append(entries, ae)
		}
		if len(page.Entries) < 10000 {
			break
		}
		from = page.Entries[len(page.Entries)-1].Seq
	}
	if *check {
		if err := c.verifyAudit(ctx, pf, *rootPath, entries, all); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if e.Seq <= *after || (!sinceT.IsZero() && e.Event.Time.Before(sinceT)) {
			continue
		}
		if *asJSON {
			line, _ := json.Marshal(map[string]any{"seq": e.Seq, "event": json.RawMessage(e.EventJSON), "hash": fmt.Sprintf("%x", e.Hash)})
			fmt.Fprintf(c.stdout, "%s\n", line)
			continue
		}
		ev := e.Event
		fmt.Fprintf(c.stdout, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, ev.Time.UTC().Format(time.RFC3339), ev.Actor, ev.Action, ev.Outcome, orDash(ev.Project), orDash(ev.Target))
	}
	return nil
}

// verifyAudit checks the chain, the anchors against it, and the anchors'
// bundles against the trusted root.
func (c *cli) verifyAudit(ctx context.Context, pf *planeFlags, rootPath string, entries []audit.Entry, log *api.AuditLog) error {
	if err := audit.Verify(audit.Genesis, entries); err != nil {
		return &checkFailedError{fmt.Errorf("audit log: chain broken: %w", err)}
	}
	if len(entries) > 0 && entries[0].Seq != 1 {
		return &checkFailedError{fmt.Errorf("audit log: chain broken: starts at %d, not 1", entries[0].Seq)}
	}
	block, _ := pem.Decode([]byte(log.AuditKey))
	if block == nil {
		return fmt.Errorf("audit log: the control plane sent no audit key")
	}
	auditKey, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("audit log: audit key: %w", err)
	}
	tr, err := c.auditTrust(ctx, pf, rootPath)
	if err != nil {
		return err
	}
	v, err := verifier.New(verifier.Trust{Roots: []*root.TrustedRoot{tr}, Keys: []crypto.PublicKey{auditKey}})
	if err != nil {
		return err
	}
	for _, a := range log.Anchors {
		i := a.Seq - 1
		if i < 0 || i >= int64(len(entries)) || !bytes.Equal(entries[i].Hash, a.Hash) {
			return &checkFailedError{fmt.Errorf("audit log: anchor of entry %d (log entry %d) does not match the chain", a.Seq, a.LogIndex)}
		}
		b, err := bundle.Parse(a.Bundle)
		if err != nil {
			return &checkFailedError{fmt.Errorf("audit log: anchor of entry %d: %w", a.Seq, err)}
		}
		d := digest.SHA256(sha256.Sum256(controlplane.AnchorStatement(a.Seq, a.Hash)))
		if _, err := v.Verify(b, verifier.Artifact{Digest: &d}, verifier.Policy{Key: true}); err != nil {
			return &checkFailedError{fmt.Errorf("audit log: anchor of entry %d (log entry %d): %w", a.Seq, a.LogIndex, err)}
		}
	}
	logged, err := c.checkLoggedAnchors(ctx, pf, tr, auditKey, entries)
	if err != nil {
		return err
	}
	last := "no anchor yet"
	if n := len(log.Anchors); n > 0 {
		a := log.Anchors[n-1]
		last = fmt.Sprintf("newest anchor: entry %d, log entry %d, %s", a.Seq, a.LogIndex, a.Time.UTC().Format(time.RFC3339))
		if unanchored := int64(len(entries)) - a.Seq; unanchored > 0 {
			last += fmt.Sprintf("; %d entries after it", unanchored)
		}
	}
	fmt.Fprintf(c.stderr, "hallmark: audit log verified: %d entries chained, %d anchors logged and verified (%s); %d anchors in the transparency log, each of a head of this chain\n", len(entries), len(log.Anchors), last, logged)
	return nil
}

// checkLoggedAnchors reads the whole transparency log and checks that every
// entry the audit key signed logs a head of the verified chain (the digest of
// its AnchorStatement): history rewritten after an anchor, even with the
// anchor deleted from the database, is caught by the append-only log. An
// anchor cut short by a crash (logged, but not in the anchors table) still
// names a head of the chain and passes.
func (c *cli) checkLoggedAnchors(ctx context.Context, pf *planeFlags, tr *root.TrustedRoot, auditKey crypto.PublicKey, entries []audit.Entry) (int, error) {
	h, err := home(pf.home)
	if err != nil {
		return 0, err
	}
	server := pf.serverURL()
	cl, _, _, err := logClientOf(tr, h, server)
	if err != nil {
		return 0, err
	}
	cp, _, err := cl.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	der, err := x509.MarshalPKIXPublicKey(auditKey)
	if err != nil {
		return 0, err
	}
	heads := make(map[[32]byte]bool, len(entries))
	for _, e := range entries {
		heads[sha256.Sum256(controlplane.AnchorStatement(e.Seq, e.Hash))] = true
	}
	logged := 0
	err = cl.Entries(ctx, 0, cp.Size, func(index uint64, body []byte) error {
		e, err := tlog.ParseEntry(body)
		if err != nil {
			return &checkFailedError{fmt.Errorf("audit log: log entry %d: %w", index, err)}
		}
		hr := e.GetSpec().GetHashedRekordV002()
		if !bytes.Equal(hr.GetSignature().GetVerifier().GetPublicKey().GetRawBytes(), der) {
			return nil
		}
		logged++
		if !heads[[32]byte(hr.GetData().GetDigest())] {
			return &checkFailedError{fmt.Errorf("audit log: log entry %d anchors an audit head that the chain does not have: its history was rewritten", index)}
		}
		return nil
	})
	return logged, err
}

// auditTrust returns the trusted root to check anchors against.
func (c *cli) auditTrust(ctx context.Context, pf *planeFlags, rootPath string) (*root.TrustedRoot, error) {
	if rootPath != "" {
		return trustroot.Load(rootPath)
	}
	server := pf.serverURL()
	if server == "" {
		h, err := home(pf.home)
		if err != nil {
			return nil, err
		}
		raw, err := controlplane.TrustedRootOf(ctx, h, pf.database)
		if err != nil {
			return nil, err
		}
		return root.NewTrustedRootFromJSON(raw)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(server, "/")+"/api/v1/trusted-root", nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit.TrustedRoot))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the server's trusted root: %s", resp.Status)
	}
	return root.NewTrustedRootFromJSON(raw)
}
