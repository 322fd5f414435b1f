package tlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// Fetcher reads a log through the C2SP tlog-tiles API: its checkpoint, its
// hash tiles and its entry bundles. Tessera's client.HTTPFetcher (a log served
// over HTTP) and client.FileFetcher (a log directory) implement it.
type Fetcher interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// Client reads a log and checks what it reads: checkpoints against the log's
// key and origin (and, with RequireWitnesses, against witnesses' keys), proofs
// against checkpoints.
type Client struct {
	f        Fetcher
	origin   string
	verifier note.Verifier

	witnesses       []note.Verifier
	witnessRequired int
}

// RequireWitnesses makes the client accept only checkpoints cosigned (C2SP
// tlog-cosignature) by at least n of the witnesses, each given by its
// verifier (for example from transparency-dev/formats/note's
// NewVerifierForCosignatureV1). Signatures by unknown keys are ignored.
func (c *Client) RequireWitnesses(n int, witnesses ...note.Verifier) {
	c.witnesses, c.witnessRequired = witnesses, n
}

// ErrWitnesses is returned, wrapped, for a checkpoint without enough
// witness cosignatures.
var ErrWitnesses = errors.New("not enough witness cosignatures")

// NewClient returns a client of the log that f reads, whose checkpoints are
// signed by v for origin.
func NewClient(f Fetcher, origin string, v note.Verifier) *Client {
	return &Client{f: f, origin: origin, verifier: v}
}

// Checkpoint fetches the log's latest checkpoint and verifies its signature,
// its origin and the witness policy. Cosignatures by keys the client does not
// know are ignored.
func (c *Client) Checkpoint(ctx context.Context) (*log.Checkpoint, []byte, error) {
	raw, err := c.f.ReadCheckpoint(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("tlog: reading checkpoint: %w", err)
	}
	cp, err := c.ParseCheckpoint(raw)
	if err != nil {
		return nil, nil, err
	}
	return cp, raw, nil
}

// ParseCheckpoint verifies a signed checkpoint (C2SP tlog-checkpoint in a
// signed note) against origin and v, and returns its contents.
func ParseCheckpoint(raw []byte, origin string, v note.Verifier) (*log.Checkpoint, error) {
	cp, _, _, err := log.ParseCheckpoint(raw, origin, v)
	if err != nil {
		return nil, fmt.Errorf("tlog: checkpoint: %w", err)
	}
	return cp, nil
}

// ParseCheckpoint verifies a signed checkpoint of this client's log,
// including the witness policy, if any.
func (c *Client) ParseCheckpoint(raw []byte) (*log.Checkpoint, error) {
	cp, _, n, err := log.ParseCheckpoint(raw, c.origin, c.verifier, c.witnesses...)
	if err != nil {
		return nil, fmt.Errorf("tlog: checkpoint: %w", err)
	}
	if c.witnessRequired > 0 {
		cosigned := map[uint32]bool{}
		for _, s := range n.Sigs {
			for _, w := range c.witnesses {
				if s.Hash == w.KeyHash() && s.Name == w.Name() {
					cosigned[s.Hash] = true
				}
			}
		}
		if len(cosigned) < c.witnessRequired {
			return nil, fmt.Errorf("tlog: checkpoint: %w: %d of the %d required", ErrWitnesses, len(cosigned), c.witnessRequired)
		}
	}
	return cp, nil
}

// InclusionProof returns the proof that entry index is in the tree of the
// given size, after checking it against root.
func (c *Client) InclusionProof(ctx context.Context, index uint64, cp *log.Checkpoint) ([][]byte, error) {
	if index >= cp.Size {
		return nil, fmt.Errorf("tlog: index %d is not below the tree size %d", index, cp.Size)
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, c.f.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	hashes, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("tlog: inclusion proof of %d in %d: %w", index, cp.Size, err)
	}
	body, err := c.Entry(ctx, index, cp.Size)
	if err != nil {
		return nil, err
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, rfc6962.DefaultHasher.HashLeaf(body), hashes, cp.Hash); err != nil {
		return nil, fmt.Errorf("tlog: the log served an inclusion proof of %d that does not verify: %w", index, err)
	}
	return hashes, nil
}

// ConsistencyProof returns the proof that the tree old is a prefix of the
// tree cur, after checking it.
func (c *Client) ConsistencyProof(ctx context.Context, old, cur *log.Checkpoint) ([][]byte, error) {
	if old.Size > cur.Size {
		return nil, fmt.Errorf("tlog: tree of size %d cannot extend one of size %d", cur.Size, old.Size)
	}
	pb, err := client.NewProofBuilder(ctx, cur.Size, c.f.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	hashes, err := pb.ConsistencyProof(ctx, old.Size, cur.Size)
	if err != nil {
		return nil, fmt.Errorf("tlog: consistency proof %d to %d: %w", old.Size, cur.Size, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, cur.Size, hashes, old.Hash, cur.Hash); err != nil {
		return nil, &InconsistencyError{Old: old, New: cur, Err: err}
	}
	return hashes, nil
}

// InconsistencyError reports two checkpoints that no append-only log could
// have published both of: the log forked or rewrote its history.
type InconsistencyError struct {
	Old, New *log.Checkpoint
	Err      error
}

func (e *InconsistencyError) Error() string {
	return fmt.Sprintf("tlog: checkpoint of size %d is not consistent with the earlier one of size %d: the log forked or rewrote history: %v",
		e.New.Size, e.Old.Size, e.Err)
}

func (e *InconsistencyError) Unwrap() error { return e.Err }

// Entry returns the body of entry index of a tree of the given size.
func (c *Client) Entry(ctx context.Context, index, size uint64) ([]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("tlog: index %d is not below the tree size %d", index, size)
	}
	b, err := client.GetEntryBundle(ctx, c.f.ReadEntryBundle, index/layout, size)
	if err != nil {
		return nil, fmt.Errorf("tlog: entry bundle of %d: %w", index, err)
	}
	i := index % layout
	if i >= uint64(len(b.Entries)) {
		return nil, fmt.Errorf("tlog: entry bundle of %d holds %d entries", index, len(b.Entries))
	}
	return b.Entries[i], nil
}

// Entries calls f with every entry in [from, to) of a tree of size to, in
// order, stopping at the first error.
func (c *Client) Entries(ctx context.Context, from, to uint64, f func(index uint64, body []byte) error) error {
	for bi := from / layout; bi*layout < to; bi++ {
		b, err := client.GetEntryBundle(ctx, c.f.ReadEntryBundle, bi, to)
		if err != nil {
			return fmt.Errorf("tlog: entry bundle %d: %w", bi, err)
		}
		for j, body := range b.Entries {
			idx := bi*layout + uint64(j)
			if idx < from || idx >= to {
				continue
			}
			if err := f(idx, body); err != nil {
				return err
			}
		}
	}
	return nil
}

// layout is the number of entries in a full entry bundle (C2SP tlog-tiles).
const layout = 256
