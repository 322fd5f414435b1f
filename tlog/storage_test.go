package tlog_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/transparency-dev/formats/log"
	sumdbtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/hallmark-dev/hallmark/tlog"
)

// opener opens the log kept in one storage with cfg. The storage is empty at
// the first call, and every call opens the same storage.
type opener func(ctx context.Context, cfg tlog.Config) (*tlog.Log, error)

// testStorage checks a storage backend of tlog.Log, in the manner of
// golang.org/x/mod/sumdb/storage.TestStorage: every backend must pass it.
//
// It checks that concurrent appends get distinct, dense indexes; that every
// returned entry verifies independently of Tessera (checkIndependently); that
// reading the log back through its Fetcher gives the same entries and the
// same proofs, and checkpoints consistent with each other; that a refused
// entry never reaches the log; that a closed log refuses appends; and that a
// reopened log keeps its entries and continues from its size.
func testStorage(t *testing.T, open opener) {
	ctx := context.Background()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewNoteVerifier(origin, pub)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tlog.Config{Origin: origin, Signer: priv}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	l, err := open(ctx, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			l.Close(ctx)
		}
	}()

	// Two rounds of concurrent appends, crossing the first entry bundle's
	// and hash tile's boundary (256 entries), so that proofs and bundles are
	// read both from partial and from full tiles.
	var bodies [][]byte // bodies in the order appended
	var entries []*protorekor.TransparencyLogEntry
	for round, n := range []int{200, 100} {
		batch := makeBodies(t, k, fmt.Sprintf("round %d", round), n)
		// A refused entry yields no body, so it cannot be appended.
		if body, err := badBody(k); !errors.Is(err, tlog.ErrRefused) || body != nil {
			t.Fatalf("entry with a bad signature: body %q, error %v; want none and ErrRefused", body, err)
		}
		es, err := appendAll(l, batch)
		if err != nil {
			t.Fatal(err)
		}
		checkDense(t, es, batch, uint64(len(bodies)))
		bodies = append(bodies, batch...)
		entries = append(entries, es...)
	}
	for _, e := range entries {
		checkIndependently(t, e, v)
	}

	c := tlog.NewClient(l.Fetcher(), origin, v)
	late, _, err := c.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if late.Size != uint64(len(bodies)) {
		t.Fatalf("checkpoint size %d after %d appends", late.Size, len(bodies))
	}
	checkReadBack(t, c, late, entries)
	checkProofs(t, c, entries, late)

	// A closed log refuses appends; a reopened one has kept its entries and
	// continues from its size.
	if err := l.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	closed = true
	if _, err := l.Append(ctx, bodies[0]); err == nil {
		t.Fatal("append to a closed log succeeded")
	}
	l, err = open(ctx, cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	closed = false
	c = tlog.NewClient(l.Fetcher(), origin, v)
	cp, _, err := c.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("reopened log: %v", err)
	}
	if cp.Size != late.Size || !bytes.Equal(cp.Hash, late.Hash) {
		t.Fatalf("reopened log has size %d, root %x; closed with size %d, root %x", cp.Size, cp.Hash, late.Size, late.Hash)
	}
	batch := makeBodies(t, k, "reopened", 20)
	es, err := appendAll(l, batch)
	if err != nil {
		t.Fatal(err)
	}
	checkDense(t, es, batch, uint64(len(bodies)))
	bodies = append(bodies, batch...)
	entries = append(entries, es...)
	for _, e := range es {
		checkIndependently(t, e, v)
	}
	latest, _, err := c.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Size != uint64(len(bodies)) {
		t.Fatalf("checkpoint size %d after %d appends", latest.Size, len(bodies))
	}
	checkReadBack(t, c, latest, entries)
	checkProofs(t, c, entries, latest)
}

// makeBodies returns n distinct entry bodies signed by k.
func makeBodies(t *testing.T, k *ecdsa.PrivateKey, prefix string, n int) [][]byte {
	t.Helper()
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = signedBody(t, k, fmt.Sprintf("%s artifact %d", prefix, i))
	}
	return bodies
}

// badBody asks HashedRekord for the body of a signature by another key.
func badBody(k *ecdsa.PrivateKey) ([]byte, error) {
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte("forged artifact"))
	sig, err := other.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return tlog.HashedRekord(sum[:], sig, k.Public())
}

// appendAll appends bodies concurrently, one goroutine each, and returns the
// entries in the order of bodies.
func appendAll(l *tlog.Log, bodies [][]byte) ([]*protorekor.TransparencyLogEntry, error) {
	entries := make([]*protorekor.TransparencyLogEntry, len(bodies))
	errs := make([]error, len(bodies))
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() { entries[i], errs[i] = l.Append(context.Background(), body) })
	}
	wg.Wait()
	return entries, errors.Join(errs...)
}

// checkDense checks that entries, returned for bodies appended to a log of
// size from, hold those bodies at distinct indexes filling [from, from+n).
func checkDense(t *testing.T, entries []*protorekor.TransparencyLogEntry, bodies [][]byte, from uint64) {
	t.Helper()
	seen := make(map[int64]bool)
	for i, e := range entries {
		idx := e.LogIndex
		switch {
		case seen[idx]:
			t.Fatalf("index %d given twice", idx)
		case idx < int64(from) || idx >= int64(from)+int64(len(entries)):
			t.Fatalf("index %d outside [%d, %d)", idx, from, int(from)+len(entries))
		case !bytes.Equal(e.CanonicalizedBody, bodies[i]):
			t.Fatalf("entry %d holds another body than the one appended", idx)
		case e.InclusionProof.GetLogIndex() != idx || e.InclusionProof.GetTreeSize() <= idx:
			t.Fatalf("entry %d has an inclusion proof of %d in %d", idx, e.InclusionProof.GetLogIndex(), e.InclusionProof.GetTreeSize())
		}
		seen[idx] = true
	}
}

// checkReadBack checks that the tree of cp, read through c, holds exactly
// the bodies of entries at their indexes, all of them valid entries.
func checkReadBack(t *testing.T, c *tlog.Client, cp *log.Checkpoint, entries []*protorekor.TransparencyLogEntry) {
	t.Helper()
	bodies := make([][]byte, len(entries))
	for _, e := range entries {
		bodies[e.LogIndex] = e.CanonicalizedBody
	}
	var got uint64
	err := c.Entries(context.Background(), 0, cp.Size, func(i uint64, body []byte) error {
		if i != got {
			return fmt.Errorf("entry %d read after %d entries", i, got)
		}
		got++
		if i >= uint64(len(bodies)) || !bytes.Equal(body, bodies[i]) {
			return fmt.Errorf("entry %d is not the body appended at %d", i, i)
		}
		_, err := tlog.ParseEntry(body)
		return err
	})
	if err != nil {
		t.Fatalf("reading back: %v", err)
	}
	if got != uint64(len(bodies)) {
		t.Fatalf("read back %d entries, appended %d", got, len(bodies))
	}
	for _, i := range []uint64{0, cp.Size / 2, cp.Size - 1} {
		body, err := c.Entry(context.Background(), i, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, bodies[i]) {
			t.Fatalf("entry %d is not the body appended at %d", i, i)
		}
	}
}

// checkProofs checks, reading through c, that each entry's inclusion proof is
// the one the log serves for its checkpoint, that each entry is included in
// the tree of latest, and that every checkpoint the entries carry is
// consistent with latest (verified by c and again by sumdb/tlog).
func checkProofs(t *testing.T, c *tlog.Client, entries []*protorekor.TransparencyLogEntry, latest *log.Checkpoint) {
	t.Helper()
	ctx := context.Background()
	cps := make(map[uint64]*log.Checkpoint)
	for _, e := range entries {
		idx := uint64(e.LogIndex)
		cp, err := c.ParseCheckpoint([]byte(e.InclusionProof.Checkpoint.Envelope))
		if err != nil {
			t.Fatalf("entry %d: %v", idx, err)
		}
		if old, ok := cps[cp.Size]; ok && !bytes.Equal(old.Hash, cp.Hash) {
			t.Fatalf("two checkpoints of size %d with roots %x and %x", cp.Size, old.Hash, cp.Hash)
		}
		cps[cp.Size] = cp
		hashes, err := c.InclusionProof(ctx, idx, cp)
		if err != nil {
			t.Fatalf("entry %d: %v", idx, err)
		}
		if !slices.EqualFunc(hashes, e.InclusionProof.Hashes, bytes.Equal) {
			t.Fatalf("entry %d: the log serves another inclusion proof in %d than Append returned", idx, cp.Size)
		}
		if _, err := c.InclusionProof(ctx, idx, latest); err != nil {
			t.Fatalf("entry %d in the latest checkpoint: %v", idx, err)
		}
	}
	if len(cps) < 2 {
		t.Logf("entries carry %d checkpoints", len(cps))
	}
	for _, cp := range cps {
		hashes, err := c.ConsistencyProof(ctx, cp, latest)
		if err != nil {
			t.Fatal(err)
		}
		var p sumdbtlog.TreeProof
		for _, h := range hashes {
			p = append(p, sumdbtlog.Hash(h))
		}
		if err := sumdbtlog.CheckTree(p, int64(latest.Size), sumdbtlog.Hash(latest.Hash), int64(cp.Size), sumdbtlog.Hash(cp.Hash)); err != nil {
			t.Fatalf("sumdb/tlog: tree %d is not a prefix of %d: %v", cp.Size, latest.Size, err)
		}
	}
}

func TestStoragePOSIX(t *testing.T) {
	dir := t.TempDir()
	testStorage(t, func(ctx context.Context, cfg tlog.Config) (*tlog.Log, error) {
		return tlog.OpenPOSIX(ctx, dir, cfg)
	})
}
