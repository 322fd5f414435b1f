package main

import (
	"context"
	"database/sql"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"

	"github.com/hallmark-dev/hallmark/bundle"
)

// TestKillNineLosesNoSignature kills 'hallmark serve', anchoring the audit
// log every second, with SIGKILL at a random moment while 16 clients sign,
// restarts it on the same data directory, and again, for several rounds;
// then, after one more restart, it checks that no acknowledged signature was
// lost: every bundle a client got verifies offline and its entry is in the
// log, under the final checkpoint, with the leaf acknowledged; every
// checkpoint seen, in bundles and in storage after each kill, is consistent
// with the final one; the log monitor explains every entry by the signing
// records; no audit head is anchored twice; and the audit chain verifies
// (an anchor a kill cut short included), with a sign event for every
// acknowledged request. It does so for the state in SQLite and in
// PostgreSQL with the log in POSIX tiles, and for the log in MySQL.
func TestKillNineLosesNoSignature(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts 'hallmark serve' under load for several seconds")
	}
	// In parallel, to keep within a minute: the log in MySQL mostly waits
	// for its checkpoints, a second apart.
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); testKillNine(t, "", "") })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); testKillNine(t, freshPostgres(t), "") })
	t.Run("postgres+mysql", func(t *testing.T) { t.Parallel(); testKillNine(t, freshPostgres(t), freshMySQL(t)) })
}

const (
	killClients = 16
	killRounds  = 5
)

func testKillNine(t *testing.T, database, logDatabase string) {
	start := time.Now()
	d := newPlaneDir(t, database, logDatabase)
	token := d.token("builder")
	auditor := d.token("auditor")
	storedCheckpoint := func() []byte {
		t.Helper()
		if logDatabase == "" {
			cp, err := os.ReadFile(filepath.Join(d.home, "log", "checkpoint"))
			if err != nil {
				t.Fatal(err)
			}
			return cp
		}
		db, err := sql.Open("mysql", logDatabase)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var cp []byte
		if err := db.QueryRow("SELECT note FROM Checkpoint WHERE id = 0").Scan(&cp); err != nil {
			t.Fatalf("reading the checkpoint from the log database: %v", err)
		}
		return cp
	}

	type target struct{ url, label string }
	var cur atomic.Pointer[target]
	led := new(signLedger)
	stop := make(chan struct{})
	hc := loadClient()
	run := randomHex(8)
	var wg sync.WaitGroup
	for i := range killClients {
		wg.Go(func() {
			signClient(stop, func() (string, string) {
				if p := cur.Load(); p != nil {
					return p.url, p.label
				}
				return "", ""
			}, token, run, i, hc, led)
		})
	}
	stopClients := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopClients)

	// roundOf maps a bundle's label to its round; killRounds is the final
	// restart's.
	roundOf := map[string]int{}
	var afterKill [][]byte // the log's stored checkpoint after each kill
	var trustedRoot []byte
	for r := range killRounds {
		label := fmt.Sprintf("round %d", r)
		roundOf[label] = r
		// Anchoring every second, a kill can land between an anchor's
		// claim, its log entry and its anchor row.
		p := d.serve("--anchor-every", "1s")
		up := time.Now()
		if trustedRoot == nil {
			trustedRoot = fetchTrustedRoot(t, p.url)
		}
		acked, failed := led.count(), led.failures()
		cur.Store(&target{p.url, label})
		// A random moment after the round's first acknowledgement, and at
		// least a second after the start, when the first anchor begins: the
		// kill falls anywhere in the log's checkpoint cycle, before, during
		// or after an anchor.
		for deadline := time.Now().Add(30 * time.Second); led.count() == acked; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: nothing acknowledged in 30s\n%s", r, p.stderr)
			}
		}
		time.Sleep(max(time.Until(up.Add(time.Second)), 0) + mathrand.N(1300*time.Millisecond))
		p.killNine(t)
		ran := time.Since(up)
		cur.Store(nil)
		afterKill = append(afterKill, storedCheckpoint())
		t.Logf("round %d: killed %v after serving; %d bundles acknowledged, %d requests failed in the round",
			r, ran.Round(time.Millisecond), led.count()-acked, led.failures()-failed)
		if errs, _ := p.errorLines(); len(errs) > 0 {
			t.Logf("round %d: serve logged errors: %v", r, errs)
		}
	}
	stopClients()

	// Once more: the data directory opens after the crashes, signs, serves
	// the log for the checks (anchoring at the default interval, a minute:
	// not during the test), and stops cleanly.
	label := "final restart"
	roundOf[label] = killRounds
	p := d.serve()
	trustedRoot = fetchTrustedRoot(t, p.url)
	if err := sendSign(p.url, label, token, run, killClients, 0, hc, led); err != nil {
		t.Fatalf("signing after the last restart: %v\n%s", err, p.stderr)
	}
	for _, err := range led.bad {
		t.Errorf("a response broke the API: %v", err)
	}

	ctx := context.Background()
	chk := newLogChecker(t, d, trustedRoot, p.url)
	lv, err := chk.readLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ack, errs := chk.checkAcknowledged(ctx, lv, led.acked)
	reportErrors(t, "acknowledged bundles", errs)

	// After each kill, the checkpoint on disk commits to every entry
	// acknowledged until then, and all are consistent with the final one.
	cps := map[string]*log.Checkpoint{}
	for env, cp := range ack.checkpoints {
		cps[env] = cp
	}
	for r, raw := range afterKill {
		cp, err := chk.cl.ParseCheckpoint(raw)
		if err != nil {
			t.Errorf("round %d: the checkpoint left by the kill: %v", r, err)
			continue
		}
		cps[string(raw)] = cp
		for i, a := range led.acked {
			if roundOf[a.from] <= r && ack.index[i] >= 0 && uint64(ack.index[i]) >= cp.Size {
				t.Errorf("round %d: the checkpoint left by the kill has size %d, but entry %d was acknowledged in %s", r, cp.Size, ack.index[i], a.from)
			}
		}
	}
	reportErrors(t, "checkpoints", chk.checkConsistent(ctx, lv, cps))
	monitored := d.must("log", "monitor", "--log", p.url)
	signs, verified := d.auditSigns(t, p.url, auditor)
	reportErrors(t, "audit chain", auditCovers(signs, led.requests))

	stateDB := database
	if stateDB == "" {
		stateDB = filepath.Join(d.home, "control", "state.db")
	}
	anchors := readAnchors(t, stateDB)
	logged, unrecorded, errs := chk.checkAnchors(lv, anchors)
	reportErrors(t, "audit anchors", errs)
	if logged == 0 {
		t.Errorf("no audit anchor in the log, though every round served with --anchor-every 1s")
	}

	t.Run("checks can fail", func(t *testing.T) {
		if len(led.acked) < 2 || ack.index[0] < 0 || ack.index[1] < 0 {
			t.Skip("needs two acknowledged entries")
		}
		// A copy of bundle 0 whose entry claims bundle 1's place in the log.
		other := ack.index[1]
		b, err := bundle.Parse(led.acked[0].raw)
		if err != nil {
			t.Fatal(err)
		}
		e := b.VerificationMaterial.TlogEntries[0]
		e.LogIndex, e.InclusionProof.LogIndex = other, other
		moved := led.acked[0]
		if moved.raw, err = bundle.Marshal(b); err != nil {
			t.Fatal(err)
		}
		_, errs := chk.checkAcknowledged(ctx, lv, []ackedBundle{led.acked[1], moved})
		for _, want := range [][]string{
			{"both have log index", fmt.Sprint(other)},
			{fmt.Sprintf("log entry %d holds another entry than the one acknowledged", other)},
			{"bundle 1", "offline verification"},
		} {
			if !containsError(errs, want...) {
				t.Errorf("a bundle pointing to log entry %d instead of %d: no error saying %q; got %v", other, ack.index[0], want, errs)
			}
		}
		// The log as it was after the first kill, as if it had lost every
		// entry since: the last acknowledged one is missing from it.
		old, err := chk.cl.ParseCheckpoint(afterKill[0])
		if err != nil {
			t.Fatal(err)
		}
		rolledBack := &logView{cp: old, bodies: lv.bodies[:old.Size], leaves: lv.leaves[:old.Size]}
		last := len(led.acked) - 1
		if _, errs := chk.checkAcknowledged(ctx, rolledBack, led.acked[last:]); !containsError(errs,
			fmt.Sprintf("log index %d is not under the log's checkpoint of size %d", ack.index[last], old.Size)) {
			t.Errorf("an entry the log lost: %v", errs)
		}
		// The unaltered bundle passes.
		if _, errs := chk.checkAcknowledged(ctx, lv, led.acked[:1]); len(errs) > 0 {
			t.Errorf("bundle 0, unaltered: %v", errs)
		}
	})
	p.stop(t)
	if errs, cut := p.errorLines(); len(errs)+len(cut) > 0 {
		t.Errorf("serve, restarted after the kills, logged errors: %v", append(errs, cut...))
	}

	t.Logf("%d rounds of %d clients, each ended by kill -9: %d sign requests acknowledged, %d failed (in flight at a kill, or sent to a dead server); %d bundles",
		killRounds, killClients, len(led.requests), led.failures(), len(led.acked))
	t.Logf("final tree size %d: %d acknowledged entries, %d audit anchors (%d of them cut short by a kill: logged, with no anchor row), %d entries signed and logged but never acknowledged; %d checkpoints checked consistent",
		lv.cp.Size, len(ack.leaves), logged, len(unrecorded), int(lv.cp.Size)-len(ack.leaves)-logged, len(cps))
	t.Logf("%s; %s; %d sign events for %d acknowledged requests; in %v",
		verified, monitored, len(signs), len(led.requests), time.Since(start).Round(time.Millisecond))
}
