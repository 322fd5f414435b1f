package monitor_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/transparency-dev/tessera/client"

	"github.com/hallmark-dev/hallmark/monitor"
	"github.com/hallmark-dev/hallmark/tlog"
)

const origin = "log.monitor.test"

type testLog struct {
	dir string
	log *tlog.Log
	cl  *tlog.Client
}

func openLog(t *testing.T, dir string, key ed25519.PrivateKey) *testLog {
	t.Helper()
	l, err := tlog.OpenPOSIX(context.Background(), dir, tlog.Config{Origin: origin, Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	v, err := tlog.NewNoteVerifier(origin, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{dir: dir, log: l, cl: tlog.NewClient(client.FileFetcher{Root: dir}, origin, v)}
}

// append logs a signature by k over msg and returns its index and leaf hash.
func (l *testLog) append(t *testing.T, k *ecdsa.PrivateKey, msg string) (uint64, string) {
	t.Helper()
	sum := sha256.Sum256([]byte(msg))
	sig, _ := k.Sign(rand.Reader, sum[:], crypto.SHA256)
	body, err := tlog.HashedRekord(sum[:], sig, k.Public())
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.log.Append(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(e.LogIndex), hex.EncodeToString(tlog.LeafHash(body))
}

func TestForeignEntries(t *testing.T) {
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	l := openLog(t, t.TempDir(), logKey)
	watched, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	unwatched, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	known := map[string]bool{}
	for i := range 5 {
		_, leaf := l.append(t, watched, fmt.Sprint("platform ", i))
		known[leaf] = true
		l.append(t, unwatched, fmt.Sprint("someone else ", i))
	}
	cfg := monitor.Config{
		Log: l.cl, Origin: origin, Watched: []crypto.PublicKey{watched.Public()},
		Known: func(leaf []byte) (bool, error) { return known[hex.EncodeToString(leaf)], nil }, State: filepath.Join(t.TempDir(), "state"),
	}
	rep, err := monitor.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.From != 0 || rep.To != 10 || rep.Watched != 5 || len(rep.Foreign) != 0 {
		t.Fatalf("clean run: %+v", rep)
	}

	// A signature with the watched key that the platform did not make.
	rogue, rogueLeaf := l.append(t, watched, "made outside the platform")
	l.append(t, unwatched, "more of someone else")
	for run := range 2 { // the alarm repeats until acted on
		rep, err = monitor.Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Foreign) != 1 || rep.Foreign[0].Index != rogue || rep.From != 10 {
			t.Fatalf("run %d: %+v, want entry %d foreign", run, rep, rogue)
		}
	}
	known[rogueLeaf] = true // explained, say, by records restored from a backup
	if rep, err = monitor.Run(context.Background(), cfg); err != nil || len(rep.Foreign) != 0 || rep.To != 12 {
		t.Fatalf("after explaining: %+v %v", rep, err)
	}
}

// A log that serves a tree not extending the one the monitor saw, signed by
// the same key: a fork.
func TestFork(t *testing.T) {
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a := openLog(t, t.TempDir(), logKey)
	b := openLog(t, t.TempDir(), logKey)
	for i := range 3 {
		a.append(t, k, fmt.Sprint("a ", i))
		b.append(t, k, fmt.Sprint("b ", i))
	}
	b.append(t, k, "b 3")
	state := filepath.Join(t.TempDir(), "state")
	cfg := monitor.Config{Log: a.cl, Origin: origin, Watched: []crypto.PublicKey{k.Public()},
		Known: func([]byte) (bool, error) { return true, nil }, State: state}
	if _, err := monitor.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Log = b.cl
	_, err := monitor.Run(context.Background(), cfg)
	var ie *tlog.InconsistencyError
	if !errors.As(err, &ie) {
		t.Fatalf("fork not detected: %v", err)
	}
	t.Log(err)
}
