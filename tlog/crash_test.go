package tlog_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera/client"

	"github.com/hallmark-dev/hallmark/tlog"
)

// The crash test re-executes the test binary as an appender (TestCrashChild),
// configured by these environment variables.
const (
	crashDirEnv   = "HALLMARK_CRASH_CHILD" // the log directory; unset: not a child
	crashSeedEnv  = "HALLMARK_CRASH_SEED"  // hex Ed25519 seed of the log key
	crashRoundEnv = "HALLMARK_CRASH_ROUND" // makes the child's messages unique

	crashOrigin  = "crash.hallmark.test"
	crashWorkers = 16
	crashRounds  = 16
)

// TestCrashChild is the appender process of TestCrashDurability; run
// directly it does nothing. It appends until killed, from crashWorkers
// goroutines, and prints a line for each acknowledged entry:
//
//	<index> <hex SHA-256 of the body> <base64 of the signed checkpoint>
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	// Any failure here ends the process before the parent kills it, which
	// the parent reports with this stderr.
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "crash child: "+format+"\n", args...)
		os.Exit(3)
	}
	seed, err := hex.DecodeString(os.Getenv(crashSeedEnv))
	if err != nil || len(seed) != ed25519.SeedSize {
		fail("bad %s", crashSeedEnv)
	}
	round := os.Getenv(crashRoundEnv)
	ctx := context.Background()
	l, err := tlog.OpenPOSIX(ctx, dir, tlog.Config{Origin: crashOrigin, Signer: ed25519.NewKeyFromSeed(seed)})
	if err != nil {
		fail("%v", err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fail("%v", err)
	}
	var mu sync.Mutex
	for w := range crashWorkers {
		go func() {
			for i := 0; ; i++ {
				sum := sha256.Sum256(fmt.Appendf(nil, "crash round %s worker %d entry %d", round, w, i))
				sig, err := k.Sign(rand.Reader, sum[:], crypto.SHA256)
				if err != nil {
					fail("%v", err)
				}
				body, err := tlog.HashedRekord(sum[:], sig, k.Public())
				if err != nil {
					fail("%v", err)
				}
				e, err := l.Append(ctx, body)
				if err != nil {
					fail("%v", err)
				}
				bodySum := sha256.Sum256(body)
				line := fmt.Sprintf("%d %x %s\n", e.LogIndex, bodySum,
					base64.StdEncoding.EncodeToString([]byte(e.InclusionProof.Checkpoint.Envelope)))
				mu.Lock()
				_, err = os.Stdout.WriteString(line) // unbuffered: one write per line
				mu.Unlock()
				if err != nil {
					fail("%v", err)
				}
			}
		}()
	}
	select {}
}

// TestCrashDurability kills an appending process with SIGKILL, again and
// again, and checks after each kill, reading the log directory with no
// appender running, that every entry acknowledged so far is included under
// the newest checkpoint and that every checkpoint seen is consistent with it.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts an appender process for several seconds")
	}
	start := time.Now()
	dir := t.TempDir()
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	v, err := tlog.NewNoteVerifier(crashOrigin, pub)
	if err != nil {
		t.Fatal(err)
	}
	st := &crashState{
		c:     tlog.NewClient(client.FileFetcher{Root: dir}, crashOrigin, v),
		acked: map[uint64]string{},
		cps:   map[uint64]*log.Checkpoint{},
		envs:  map[string]*log.Checkpoint{},
	}
	for r := range crashRounds {
		lines, firstAck, ran := runCrashChild(t, dir, hex.EncodeToString(seed), r)
		n := len(st.acked)
		st.record(t, r, lines)
		size := st.check(t, r)
		t.Logf("round %d: first acknowledgement after %v, killed after %v, %d new entries acknowledged, newest checkpoint size %d",
			r, firstAck.Round(time.Millisecond), ran.Round(time.Millisecond), len(st.acked)-n, size)
	}
	t.Logf("%d rounds, %d entries acknowledged, final tree size %d, %d distinct checkpoints checked, in %v",
		crashRounds, len(st.acked), st.newest.Size, len(st.cps), time.Since(start).Round(time.Millisecond))
}

// runCrashChild starts an appender on dir, kills it with SIGKILL after a
// random 150–900ms (or, if it has acknowledged nothing by then, right after
// its first acknowledgement). It returns the complete lines the child
// printed, when it printed the first, and when it was killed.
func runCrashChild(t *testing.T, dir, seed string, round int) (lines []string, firstAck, ran time.Duration) {
	t.Helper()
	// The first open of a fresh log, a busy machine or the race detector can
	// delay the first acknowledgement well past the random kill time.
	const firstAckLimit = 30 * time.Second

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(),
		crashDirEnv+"="+dir,
		crashSeedEnv+"="+seed,
		crashRoundEnv+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()

	// The reader keeps every complete line: the child prints one only after
	// Append returned, so each is an acknowledgement, even if it is read
	// after the kill. A trailing partial line is not.
	first := make(chan struct{})
	exited := make(chan error, 1)
	go func() {
		br := bufio.NewReader(stdout)
		for {
			s, err := br.ReadString('\n')
			if err != nil {
				break // io.EOF after the kill; a partial line is dropped
			}
			if len(lines) == 0 {
				firstAck = time.Since(started)
				close(first)
			}
			lines = append(lines, s)
		}
		exited <- cmd.Wait()
	}()

	killed := false
	kill := func() {
		if !killed {
			killed = true
			if err := cmd.Process.Kill(); err != nil {
				t.Errorf("round %d: kill: %v", round, err)
			}
		}
	}
	// If a check below fails, the child must not outlive the test.
	defer kill()
	childFailed := func(err error) {
		killed = true // already reaped
		t.Fatalf("round %d: the appender exited by itself after %v (%v); stderr:\n%s",
			round, time.Since(started).Round(time.Millisecond), err, stderr.String())
	}

	delay := 150*time.Millisecond + mathrand.N(750*time.Millisecond)
	select {
	case <-time.After(delay):
	case err := <-exited:
		childFailed(err)
	}
	select {
	case <-first:
	case err := <-exited:
		childFailed(err)
	case <-time.After(firstAckLimit - delay):
		kill()
		<-exited
		t.Fatalf("round %d: no entry acknowledged within %v of starting the appender; stderr:\n%s",
			round, firstAckLimit, stderr.String())
	}
	kill()
	ran = time.Since(started)
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != -1 {
			t.Fatalf("round %d: the appender ended with %v, want death by SIGKILL; stderr:\n%s", round, err, stderr.String())
		}
	case <-time.After(firstAckLimit):
		t.Fatalf("round %d: the appender has not died %v after SIGKILL", round, firstAckLimit)
	}
	return lines, firstAck, ran
}

// crashState is what the parent knows of the log across rounds.
type crashState struct {
	c      *tlog.Client
	acked  map[uint64]string          // index -> hex SHA-256 of the acknowledged body
	cps    map[uint64]*log.Checkpoint // every checkpoint seen, by size
	envs   map[string]*log.Checkpoint // the child's checkpoints, verified once
	newest *log.Checkpoint
}

// record adds a round's acknowledgements: each names a checkpoint, signed by
// the log key, that commits to its index, and no index is acknowledged with
// two bodies.
func (st *crashState) record(t *testing.T, round int, lines []string) {
	t.Helper()
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("round %d: appender printed %q", round, line)
		}
		idx, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			t.Fatalf("round %d: appender printed %q: %v", round, line, err)
		}
		if sum, err := hex.DecodeString(f[1]); err != nil || len(sum) != sha256.Size {
			t.Fatalf("round %d: appender printed %q: bad body hash", round, line)
		}
		cp, ok := st.envs[f[2]]
		if !ok {
			env, err := base64.StdEncoding.DecodeString(f[2])
			if err != nil {
				t.Fatalf("round %d: appender printed %q: %v", round, line, err)
			}
			if cp, err = st.c.ParseCheckpoint(env); err != nil {
				t.Fatalf("round %d: checkpoint acknowledging entry %d: %v", round, idx, err)
			}
			st.envs[f[2]] = cp
			st.addCheckpoint(t, round, cp)
		}
		if idx >= cp.Size {
			t.Fatalf("round %d: entry %d acknowledged with a checkpoint of size %d", round, idx, cp.Size)
		}
		if prev, ok := st.acked[idx]; ok && prev != f[1] {
			t.Fatalf("round %d: index %d acknowledged twice, for bodies %s and %s", round, idx, prev, f[1])
		}
		st.acked[idx] = f[1]
	}
	if len(lines) == 0 {
		t.Fatalf("round %d: no entry acknowledged", round)
	}
}

// addCheckpoint keeps cp, refusing a second root for a size already seen.
func (st *crashState) addCheckpoint(t *testing.T, round int, cp *log.Checkpoint) {
	t.Helper()
	if prev, ok := st.cps[cp.Size]; ok {
		if !bytes.Equal(prev.Hash, cp.Hash) {
			t.Fatalf("round %d: two checkpoints of size %d with roots %x and %x", round, cp.Size, prev.Hash, cp.Hash)
		}
		return
	}
	st.cps[cp.Size] = cp
}

// check reads the log as it was left by the kill: every checkpoint seen is
// consistent with the newest, and every acknowledged entry is included under
// it with the acknowledged body. It returns the newest size.
func (st *crashState) check(t *testing.T, round int) uint64 {
	t.Helper()
	ctx := context.Background()
	cp, _, err := st.c.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("round %d: newest checkpoint after the kill: %v", round, err)
	}
	st.addCheckpoint(t, round, cp)
	st.newest = cp
	for _, old := range st.cps {
		if _, err := st.c.ConsistencyProof(ctx, old, cp); err != nil {
			t.Fatalf("round %d: checkpoint of size %d against the newest, of size %d: %v", round, old.Size, cp.Size, err)
		}
	}
	for idx, sum := range st.acked {
		if _, err := st.c.InclusionProof(ctx, idx, cp); err != nil {
			t.Fatalf("round %d: acknowledged entry %d under the newest checkpoint, of size %d: %v", round, idx, cp.Size, err)
		}
		body, err := st.c.Entry(ctx, idx, cp.Size)
		if err != nil {
			t.Fatalf("round %d: acknowledged entry %d: %v", round, idx, err)
		}
		if got := sha256.Sum256(body); hex.EncodeToString(got[:]) != sum {
			t.Fatalf("round %d: entry %d has body %x, acknowledged %s", round, idx, got, sum)
		}
	}
	return cp.Size
}
