// Package monitor watches a transparency log for signatures the platform did
// not make: the key-compromise alarm.
//
// A run starts from the last checkpoint it verified (kept in a state file),
// fetches the log's current checkpoint, checks that the new tree extends the
// old one (a consistency proof, RFC 6962 §2.1.2: a log that forks or rewrites
// history is caught here), then reads every new entry. An entry whose signing
// key is one of the watched keys and which the platform's signing records do
// not list is foreign: someone signed with a watched key outside
// the platform. Run reports them; the state advances only after a clean run,
// so the alarm repeats until someone acts on it.
package monitor

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"

	"github.com/transparency-dev/formats/log"

	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/tlog"
)

// Config is what a run needs.
type Config struct {
	Log     *tlog.Client
	Origin  string
	Watched []crypto.PublicKey
	// Known reports whether the platform's records account for the entry
	// with this RFC 6962 leaf hash.
	Known func(leafHash []byte) (bool, error)
	// State is the file holding the last verified checkpoint.
	State string
}

// Foreign is an entry signed by a watched key that the records do not explain.
type Foreign struct {
	Index          uint64
	KeyFingerprint string // hex SHA-256 of the DER public key
	Digest         string // what the signature covers, sha256:<hex>
}

// Report is the outcome of a run.
type Report struct {
	From, To uint64 // the entries [From, To) were checked
	Watched  int    // how many of them a watched key signed
	Foreign  []Foreign
}

// Run checks the log's new entries since the stored checkpoint. A fork or a
// rewrite of history is an *tlog.InconsistencyError.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	watched := map[string]bool{}
	for _, k := range cfg.Watched {
		fp, err := fingerprint(k)
		if err != nil {
			return nil, err
		}
		watched[fp] = true
	}
	cur, curRaw, err := cfg.Log.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	old := &log.Checkpoint{Origin: cfg.Origin} // the empty tree
	oldRaw, err := limit.ReadFile(cfg.State, 64<<10)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("monitor: state: %w", err)
	default:
		if old, err = cfg.Log.ParseCheckpoint(oldRaw); err != nil {
			return nil, fmt.Errorf("monitor: stored checkpoint %s: %w", cfg.State, err)
		}
	}
	if old.Size > 0 {
		if _, err := cfg.Log.ConsistencyProof(ctx, old, cur); err != nil {
			return nil, err
		}
	}
	rep := &Report{From: old.Size, To: cur.Size}
	err = cfg.Log.Entries(ctx, old.Size, cur.Size, func(index uint64, body []byte) error {
		e, err := tlog.ParseEntry(body)
		if err != nil {
			return fmt.Errorf("monitor: entry %d: %w", index, err)
		}
		hr := e.GetSpec().GetHashedRekordV002()
		fp, err := entryKey(hr.GetSignature().GetVerifier().GetPublicKey().GetRawBytes(),
			hr.GetSignature().GetVerifier().GetX509Certificate().GetRawBytes())
		if err != nil {
			return fmt.Errorf("monitor: entry %d: %w", index, err)
		}
		if !watched[fp] {
			return nil
		}
		rep.Watched++
		known, err := cfg.Known(tlog.LeafHash(body))
		if err != nil {
			return fmt.Errorf("monitor: entry %d: platform records: %w", index, err)
		}
		if !known {
			rep.Foreign = append(rep.Foreign, Foreign{Index: index, KeyFingerprint: fp,
				Digest: "sha256:" + hex.EncodeToString(hr.GetData().GetDigest())})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(rep.Foreign) == 0 {
		if err := atomicfile.Write(cfg.State, curRaw, 0o644); err != nil {
			return nil, fmt.Errorf("monitor: state: %w", err)
		}
	}
	return rep, nil
}

// entryKey returns the fingerprint of the key in an entry's verifier: a DER
// public key, or the key of a DER certificate.
func entryKey(pubDER, certDER []byte) (string, error) {
	if len(certDER) > 0 {
		c, err := x509.ParseCertificate(certDER)
		if err != nil {
			return "", err
		}
		return fingerprint(c.PublicKey)
	}
	sum := sha256.Sum256(pubDER)
	return hex.EncodeToString(sum[:]), nil
}

func fingerprint(k crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", fmt.Errorf("monitor: watched key: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}
