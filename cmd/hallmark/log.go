package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/monitor"
	"github.com/hallmark-dev/hallmark/tlog"
	"github.com/hallmark-dev/hallmark/trustroot"
)

const logUsage = `Usage:
  hallmark log checkpoint                 print the log's checkpoint, verified
  hallmark log inclusion INDEX            print and check the inclusion proof of an entry
  hallmark log consistency OLD_CHECKPOINT print and check the proof that the log extends an earlier checkpoint
  hallmark log get INDEX                  print an entry's body (a Rekor v2 hashedrekord entry)
  hallmark log monitor [--key PUB.pem]... [--state FILE]
                                          check new entries for signatures by the watched keys
                                          that the platform's records do not explain

Reads the transparency log through the C2SP tlog-tiles API, from the data
directory or, with --log URL, from a server, and checks everything it reads:
checkpoints against the log's key and origin, proofs against checkpoints.

Flags:
  --log URL               read the log served at URL (default: the data directory's log)
  --trusted-root T.json   the log's key and origin (default: the local control plane's)
  --witness VKEY          a witness's note verifier key (C2SP signed-note; cosignature/v1
                          or Ed25519); repeatable: checkpoints must be cosigned by them
  --witnesses-required N  how many of the witnesses must cosign (default: all given)
  --home DIR              data directory (default $HALLMARK_HOME)
  --key PUB.pem           (monitor) a public key to watch; repeatable; default: every
                          signing key of the data directory
  --state FILE            (monitor) the last verified checkpoint (default DIR/monitor/checkpoint)

monitor exits 1 with a message naming each foreign entry, or when the log's
new checkpoint is not consistent with the stored one (a fork or a rewrite of
history). The stored checkpoint advances only after a clean run.
`

func runLog(c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf("log: missing subcommand").hint("run 'hallmark log --help' for usage")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "-help" {
		fmt.Fprint(c.stdout, logUsage)
		return nil
	}
	fs := c.flagSet("log "+sub, logUsage)
	homeDir := homeFlag(fs)
	logURL := fs.String("log", "", "")
	rootPath := fs.String("trusted-root", "", "")
	var keys, witnesses stringsFlag
	var state string
	fs.Var(&witnesses, "witness", "")
	witnessesRequired := fs.Int("witnesses-required", -1, "")
	if sub == "monitor" {
		fs.Var(&keys, "key", "")
		fs.StringVar(&state, "state", "", "")
	}
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	h, err := home(*homeDir)
	if err != nil {
		return err
	}
	cl, origin, logID, err := logClient(h, *logURL, *rootPath)
	if err != nil {
		return err
	}
	if err := requireWitnesses(cl, witnesses, *witnessesRequired); err != nil {
		return err
	}
	ctx := context.Background()
	switch sub {
	case "checkpoint":
		if len(pos) != 0 {
			return usageErrorf("log checkpoint: takes no arguments")
		}
		_, raw, err := cl.Checkpoint(ctx)
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(raw)
		return err
	case "inclusion", "get":
		if len(pos) != 1 {
			return usageErrorf("log %s: want one INDEX", sub)
		}
		index, err := strconv.ParseUint(pos[0], 10, 63)
		if err != nil {
			return usageErrorf("log %s: INDEX %q is not an entry index", sub, pos[0])
		}
		cp, raw, err := cl.Checkpoint(ctx)
		if err != nil {
			return err
		}
		if sub == "get" {
			body, err := cl.Entry(ctx, index, cp.Size)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "%s\n", body)
			return err
		}
		hashes, err := cl.InclusionProof(ctx, index, cp)
		if err != nil {
			return &checkFailedError{err}
		}
		return c.printJSON(map[string]any{"logIndex": index, "treeSize": cp.Size, "rootHash": cp.Hash, "hashes": hashes, "checkpoint": string(raw)})
	case "consistency":
		if len(pos) != 1 {
			return usageErrorf("log consistency: want the file of an earlier checkpoint")
		}
		oldRaw, err := limit.ReadFile(pos[0], 64<<10)
		if err != nil {
			return err
		}
		old, err := cl.ParseCheckpoint(oldRaw)
		if err != nil {
			return &checkFailedError{fmt.Errorf("%s: %w", pos[0], err)}
		}
		cur, _, err := cl.Checkpoint(ctx)
		if err != nil {
			return err
		}
		hashes, err := cl.ConsistencyProof(ctx, old, cur)
		if err != nil {
			return &checkFailedError{err}
		}
		return c.printJSON(map[string]any{"oldSize": old.Size, "newSize": cur.Size, "hashes": hashes})
	case "monitor":
		if len(pos) != 0 {
			return usageErrorf("log monitor: takes no arguments")
		}
		return c.monitor(ctx, h, cl, origin, logID, keys, state)
	default:
		return usageErrorf("log: unknown subcommand %q", sub).hint("want checkpoint, inclusion, consistency, get or monitor")
	}
}

func (c *cli) monitor(ctx context.Context, h string, cl *tlog.Client, origin string, logID []byte, keyPaths []string, state string) error {
	var watched []crypto.PublicKey
	for _, p := range keyPaths {
		k, err := readPublicKey(p)
		if err != nil {
			return err
		}
		watched = append(watched, k)
	}
	records, err := controlplane.OpenRecords(ctx, h, "")
	if err != nil {
		return err
	}
	defer records.Close()
	if len(keyPaths) == 0 {
		if watched, err = records.SigningKeys(ctx); err != nil {
			return err
		}
		if len(watched) == 0 {
			return usageErrorf("log monitor: no keys to watch").hint("give --key PUB.pem, or generate keys with 'hallmark key generate'")
		}
	}
	if state == "" {
		state = filepath.Join(h, "monitor", "checkpoint")
		if err := mkdirFor(state); err != nil {
			return err
		}
	}
	rep, err := monitor.Run(ctx, monitor.Config{
		Log: cl, Origin: origin, Watched: watched, State: state,
		Known: func(leaf []byte) (bool, error) { return records.Has(ctx, logID, leaf) },
	})
	var ie *tlog.InconsistencyError
	if errors.As(err, &ie) {
		return &checkFailedError{fmt.Errorf("log monitor: ALARM: %w", err)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "hallmark: log monitor: checked entries %d to %d; %d signed by watched keys\n", rep.From, rep.To, rep.Watched)
	if len(rep.Foreign) == 0 {
		return nil
	}
	var lines []string
	for _, f := range rep.Foreign {
		lines = append(lines, fmt.Sprintf("entry %d: key sha256:%s signed %s", f.Index, f.KeyFingerprint, f.Digest))
	}
	return withHint(&checkFailedError{fmt.Errorf("log monitor: ALARM: %d entries signed by watched keys that the platform did not make:\n  %s",
		len(rep.Foreign), strings.Join(lines, "\n  "))},
		"treat the key as compromised: retire it and investigate; the alarm repeats until the state is cleared")
}

// requireWitnesses sets the client's witness policy: n of the witnesses'
// cosignatures, all of them when n < 0.
func requireWitnesses(cl *tlog.Client, vkeys []string, n int) error {
	if len(vkeys) == 0 {
		if n > 0 {
			return usageErrorf("--witnesses-required %d, but no --witness given", n)
		}
		return nil
	}
	var vs []note.Verifier
	for _, vk := range vkeys {
		v, err := fnote.NewVerifierForCosignatureV1(vk)
		if err != nil {
			if v, err = note.NewVerifier(vk); err != nil {
				return usageErrorf("--witness %q: not a note verifier key: %v", vk, err)
			}
		}
		vs = append(vs, v)
	}
	if n < 0 {
		n = len(vs)
	}
	if n > len(vs) {
		return usageErrorf("--witnesses-required %d, but only %d witnesses given", n, len(vs))
	}
	cl.RequireWitnesses(n, vs...)
	return nil
}

// logClient returns a client for the log at logURL (or the data directory's),
// trusting the log key and origin of the trusted root at rootPath (or the
// local control plane's).
func logClient(h, logURL, rootPath string) (*tlog.Client, string, []byte, error) {
	var tr *root.TrustedRoot
	var err error
	if rootPath != "" {
		tr, err = trustroot.Load(rootPath)
	} else {
		var raw []byte
		raw, err = controlplane.TrustedRootOf(context.Background(), h, "")
		if errors.Is(err, controlplane.ErrNotInitialized) {
			return nil, "", nil, withHint(err, "give the log's trusted root with --trusted-root, or create a control plane with 'hallmark init'")
		}
		if err == nil {
			tr, err = root.NewTrustedRootFromJSON(raw)
		}
	}
	if err != nil {
		return nil, "", nil, err
	}
	return logClientOf(tr, h, logURL)
}

// logClientOf returns a client for the log at logURL (or the data
// directory's), trusting the log key and origin of tr.
func logClientOf(tr *root.TrustedRoot, h, logURL string) (*tlog.Client, string, []byte, error) {
	var tl *root.TransparencyLog
	for _, l := range tr.RekorLogs() {
		if _, ok := l.PublicKey.(ed25519.PublicKey); ok {
			if tl != nil {
				return nil, "", nil, usageErrorf("the trusted root lists several Ed25519 logs; give one log's root")
			}
			tl = l
		}
	}
	if tl == nil {
		return nil, "", nil, usageErrorf("the trusted root lists no log with an Ed25519 key")
	}
	u, err := url.Parse(tl.BaseURL)
	if err != nil {
		return nil, "", nil, fmt.Errorf("trusted root: log base URL %q: %w", tl.BaseURL, err)
	}
	origin := u.Hostname()
	v, err := tlog.NewNoteVerifier(origin, tl.PublicKey.(ed25519.PublicKey))
	if err != nil {
		return nil, "", nil, err
	}
	var f tlog.Fetcher
	if logURL != "" {
		lu, err := url.Parse(logURL)
		if err != nil || (lu.Scheme != "http" && lu.Scheme != "https") {
			return nil, "", nil, usageErrorf("--log %q: want an http or https URL", logURL)
		}
		hf, err := client.NewHTTPFetcher(lu, nil)
		if err != nil {
			return nil, "", nil, err
		}
		f = hf
	} else {
		dir, err := controlplane.LogDirOf(h)
		if errors.Is(err, controlplane.ErrLogInDatabase) {
			return nil, "", nil, withHint(err, "read it through a server of this control plane: give --log URL (or --server URL)")
		}
		if errors.Is(err, controlplane.ErrNotInitialized) {
			dir, err = filepath.Join(h, "log"), nil
		}
		if err != nil {
			return nil, "", nil, err
		}
		f = client.FileFetcher{Root: dir}
	}
	return tlog.NewClient(f, origin, v), origin, tl.ID, nil
}

func (c *cli) printJSON(v any) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", out)
	return err
}

// mkdirFor makes the directory that will hold path.
func mkdirFor(path string) error {
	return os.MkdirAll(filepath.Dir(path), 0o755)
}
