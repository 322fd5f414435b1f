package state

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func testPolicies(t *testing.T, url string) {
	db := open(t, url)
	_, err := db.Policy(ctx, 0)
	wantErr(t, "no policy yet", err, ErrNotFound)
	for i, body := range []string{"first", "second"} {
		v, err := db.AddPolicy(ctx, Policy{Digest: "sha256:" + body, Body: []byte(body), Author: "admin", Comment: "c" + body, Created: ts.Add(time.Duration(i) * time.Hour)})
		ok(t, err)
		same(t, "version", v, int64(i+1))
	}
	cur, err := db.Policy(ctx, 0)
	ok(t, err)
	same(t, "current", cur, Policy{Version: 2, Digest: "sha256:second", Body: []byte("second"), Author: "admin", Comment: "csecond", Created: ts.Add(time.Hour)})
	first, err := db.Policy(ctx, 1)
	ok(t, err)
	same(t, "version 1 body", string(first.Body), "first")
	_, err = db.Policy(ctx, 3)
	wantErr(t, "version 3", err, ErrNotFound)
	all, err := db.Policies(ctx)
	ok(t, err)
	same(t, "history length", len(all), 2)
	same(t, "newest first, no bodies", [2]any{all[0].Version, all[0].Body == nil}, [2]any{int64(2), true})
	_, err = db.AddPolicy(ctx, Policy{Digest: "", Body: []byte("x"), Author: "a"})
	if err == nil {
		t.Error("a policy without a digest was stored")
	}
}

func tracked(fp, action, sev string) Tracked {
	return Tracked{Fingerprint: fp, Action: action, Rule: "r", Severity: sev, Due: ts.Add(30 * 24 * time.Hour), Finding: []byte(`{"id":"` + fp + `"}`)}
}

func testTracker(t *testing.T, url string) {
	db := open(t, url)
	verdict := func(id string, at time.Time, dry bool, scope string, ts ...Tracked) []TrackerChange {
		t.Helper()
		ch, err := db.AddVerdict(ctx, Verdict{ID: id, Project: "shop", Result: "warn", DryRun: dry, Profile: "high", Subjects: "[]", Counts: "{}",
			Verdict: []byte("{}"), Actor: "alice", Time: at}, scope, ts)
		ok(t, err)
		return ch
	}
	// First sight: open, once however many builds see it.
	same(t, "new", verdict("v1", ts, false, "app", tracked("aa", "warn", "medium"), tracked("bb", "fail", "high")),
		[]TrackerChange{{"aa", FindingOpen}, {"bb", FindingOpen}})
	same(t, "seen again", verdict("v2", ts.Add(time.Hour), false, "app", tracked("aa", "warn", "medium"), tracked("bb", "fail", "high")), []TrackerChange(nil))
	// A dry run changes nothing in the tracker.
	same(t, "dry run", verdict("v3", ts.Add(2*time.Hour), true, "app"), []TrackerChange(nil))
	fs, err := db.Findings(ctx, FindingFilter{Project: "shop"})
	ok(t, err)
	same(t, "two findings", len(fs), 2)
	for _, f := range fs {
		same(t, f.Fingerprint+" builds", f.Builds, int64(2))
		same(t, f.Fingerprint+" status", f.Status, FindingOpen)
		same(t, f.Fingerprint+" first seen", f.FirstSeen, ts)
		same(t, f.Fingerprint+" last seen", f.LastSeen, ts.Add(time.Hour))
		same(t, f.Fingerprint+" last build", f.LastBuild, "v2")
	}
	// Another scope's verdict does not fix this scope's findings.
	verdict("v4", ts.Add(3*time.Hour), false, "other")
	fs, _ = db.Findings(ctx, FindingFilter{Status: FindingFixed})
	same(t, "nothing fixed by another scope", len(fs), 0)
	// Acknowledge, assign; a build without bb fixes it; it comes back reopened.
	ok(t, db.AcknowledgeFinding(ctx, "shop", "aa"))
	wantErr(t, "ack twice", db.AcknowledgeFinding(ctx, "shop", "aa"), ErrNotFound)
	ok(t, db.SetFindingOwner(ctx, "shop", "aa", "alice"))
	wantErr(t, "owner of a missing finding", db.SetFindingOwner(ctx, "shop", "zz", "x"), ErrNotFound)
	verdict("v5", ts.Add(4*time.Hour), false, "app", tracked("aa", "warn", "medium"))
	fs, _ = db.Findings(ctx, FindingFilter{Prefix: "b"})
	same(t, "bb fixed", [2]any{fs[0].Status, fs[0].Fixed}, [2]any{FindingFixed, ts.Add(4 * time.Hour)})
	fs, _ = db.Findings(ctx, FindingFilter{Prefix: "a"})
	same(t, "aa still acknowledged, owned", [2]string{fs[0].Status, fs[0].Owner}, [2]string{FindingAcknowledged, "alice"})
	same(t, "reopened", verdict("v6", ts.Add(5*time.Hour), false, "app", tracked("aa", "warn", "medium"), tracked("bb", "fail", "high")),
		[]TrackerChange{{"bb", FindingReopened}})
	fs, _ = db.Findings(ctx, FindingFilter{Status: FindingReopened})
	same(t, "reopened finding", [3]any{len(fs), fs[0].Fixed.IsZero(), fs[0].Builds}, [3]any{1, true, int64(3)})
	// Overdue: due before the given time, not fixed.
	fs, _ = db.Findings(ctx, FindingFilter{DueBefore: ts.Add(31 * 24 * time.Hour)})
	same(t, "overdue", len(fs), 2)
	_, err = db.Findings(ctx, FindingFilter{Prefix: "x%"})
	if err == nil {
		t.Error("a prefix with a LIKE wildcard was accepted")
	}
	// Verdicts, newest first; a duplicate id is refused and changes nothing.
	vs, err := db.Verdicts(ctx, "shop", ts.Add(4*time.Hour), 0)
	ok(t, err)
	same(t, "verdicts since", []string{vs[0].ID, vs[1].ID}, []string{"v6", "v5"})
	_, err = db.AddVerdict(ctx, Verdict{ID: "v6", Project: "shop", Result: "pass", Profile: "high", Subjects: "[]", Counts: "{}", Verdict: []byte("{}"), Actor: "a", Time: ts},
		"app", []Tracked{tracked("cc", "warn", "low")})
	if err == nil {
		t.Error("a verdict id was stored twice")
	}
	fs, _ = db.Findings(ctx, FindingFilter{Prefix: "c"})
	same(t, "the refused verdict tracked nothing", len(fs), 0)
}

func exception(id string, required int) Exception {
	return Exception{ID: id, Project: "shop", Profile: "high", Vulnerability: "GO-2099-0001", Package: "pkg:golang/x@v1",
		Reason: "because", Requester: "alice", Required: required, Created: ts, Expires: ts.Add(24 * time.Hour)}
}

func testExceptions(t *testing.T, url string) {
	db := open(t, url)
	ok(t, db.AddException(ctx, exception("ex-1", 2)))
	wantErr(t, "same id", db.AddException(ctx, exception("ex-1", 2)), ErrExists)
	noExpiry := exception("ex-x", 1)
	noExpiry.Expires = time.Time{}
	if db.AddException(ctx, noExpiry) == nil {
		t.Error("an exception without an expiry was stored")
	}
	e, err := db.VoteException(ctx, "ex-1", Vote{Approver: "bob", Decision: "approve", Comment: "ok", Time: ts.Add(time.Minute)})
	ok(t, err)
	same(t, "one of two", [2]any{e.Status, len(e.Votes)}, [2]any{ExceptionPending, 1})
	_, err = db.VoteException(ctx, "ex-1", Vote{Approver: "bob", Decision: "approve", Comment: "again"})
	wantErr(t, "bob twice", err, ErrExists)
	e, err = db.VoteException(ctx, "ex-1", Vote{Approver: "carol", Decision: "approve", Comment: "ok", Time: ts.Add(2 * time.Minute)})
	ok(t, err)
	same(t, "approved", [3]any{e.Status, e.Decided, e.Votes[1]}, [3]any{ExceptionApproved, ts.Add(2 * time.Minute), Vote{"carol", "approve", "ok", ts.Add(2 * time.Minute)}})
	_, err = db.VoteException(ctx, "ex-1", Vote{Approver: "dave", Decision: "reject", Comment: "late"})
	wantErr(t, "vote on a decided exception", err, ErrDecided)
	_, err = db.VoteException(ctx, "ex-none", Vote{Approver: "dave", Decision: "approve", Comment: "?"})
	wantErr(t, "vote on nothing", err, ErrNotFound)
	if _, err := db.VoteException(ctx, "ex-1", Vote{Approver: "dave", Decision: "maybe"}); err == nil {
		t.Error("a decision other than approve or reject was stored")
	}

	ok(t, db.AddException(ctx, exception("ex-2", 2)))
	e, err = db.VoteException(ctx, "ex-2", Vote{Approver: "bob", Decision: "reject", Comment: "no"})
	ok(t, err)
	same(t, "one rejection ends it", e.Status, ExceptionRejected)
	wantErr(t, "revoke a rejected one", db.RevokeException(ctx, "ex-2", "admin", ts), ErrDecided)
	ok(t, db.RevokeException(ctx, "ex-1", "admin", ts.Add(time.Hour)))
	e, _ = db.Exception(ctx, "ex-1")
	same(t, "revoked", [2]string{e.Status, e.RevokedBy}, [2]string{ExceptionRevoked, "admin"})
	wantErr(t, "revoke nothing", db.RevokeException(ctx, "ex-none", "admin", ts), ErrNotFound)
	all, err := db.Exceptions(ctx, "shop")
	ok(t, err)
	same(t, "listed with votes", [3]int{len(all), len(all[0].Votes), len(all[1].Votes)}, [3]int{2, 2, 1})
	other, _ := db.Exceptions(ctx, "other")
	same(t, "another project's", len(other), 0)
}

// testConcurrentVotes has ten approvers vote on one exception that needs
// three approvals at once: each vote is counted once, and the exception is
// approved exactly once.
func testConcurrentVotes(t *testing.T, url string) {
	db := open(t, url)
	ok(t, db.AddException(ctx, exception("ex-c", 3)))
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = db.VoteException(ctx, "ex-c", Vote{Approver: fmt.Sprintf("approver-%d", i), Decision: "approve", Comment: "ok"})
		})
	}
	wg.Wait()
	counted := 0
	for _, err := range errs {
		switch {
		case err == nil:
			counted++
		case !errors.Is(err, ErrDecided):
			t.Errorf("vote: %v", err)
		}
	}
	e, err := db.Exception(ctx, "ex-c")
	ok(t, err)
	same(t, "votes stored, status", [3]any{len(e.Votes), counted, e.Status}, [3]any{3, 3, ExceptionApproved})
}

func testWebhooks(t *testing.T, url string) {
	db := open(t, url)
	ok(t, db.AddWebhook(ctx, Webhook{Name: "jira", Target: []byte(`{"format":"jira"}`), Created: ts, CreatedBy: "admin"}))
	wantErr(t, "twice", db.AddWebhook(ctx, Webhook{Name: "jira", Target: []byte(`{}`), CreatedBy: "admin"}), ErrExists)
	ws, err := db.Webhooks(ctx)
	ok(t, err)
	same(t, "listed", ws, []Webhook{{Name: "jira", Target: []byte(`{"format":"jira"}`), Created: ts, CreatedBy: "admin"}})
	ok(t, db.RemoveWebhook(ctx, "jira"))
	wantErr(t, "removed twice", db.RemoveWebhook(ctx, "jira"), ErrNotFound)
	if db.AddWebhook(ctx, Webhook{Name: strings.Repeat("\x00", 2), Target: []byte(`{}`), CreatedBy: "a"}) == nil {
		t.Error("a name with NUL bytes was stored")
	}
}

// testQueue: four workers drain ten queued builds at once; each build is
// claimed exactly once, in order of submission per worker; only the claiming
// worker finishes it, once.
func testToolchainLocks(t *testing.T, url string) {
	db := open(t, url)
	_, err := db.ToolchainLockOf(ctx, "shop", "app")
	wantErr(t, "none yet", err, ErrNotFound)
	first := ToolchainLock{Project: "shop", Spec: "app", Digest: "sha256:aa", Locks: `{"go":"1.26"}`, Build: "b-1", Updated: ts}
	ok(t, db.SetToolchainLock(ctx, first))
	got, err := db.ToolchainLockOf(ctx, "shop", "app")
	ok(t, err)
	same(t, "first", got, first)
	next := ToolchainLock{Project: "shop", Spec: "app", Digest: "sha256:bb", Locks: `{"go":"1.27"}`, Build: "b-2", Updated: ts.Add(time.Hour)}
	ok(t, db.SetToolchainLock(ctx, next))
	got, err = db.ToolchainLockOf(ctx, "shop", "app")
	ok(t, err)
	same(t, "replaced", got, next)
	_, err = db.ToolchainLockOf(ctx, "shop", "other")
	wantErr(t, "another spec", err, ErrNotFound)
	if err := db.SetToolchainLock(ctx, ToolchainLock{Project: "shop", Spec: "app", Digest: "d", Locks: "{}"}); err == nil {
		t.Error("a lock without its build was stored")
	}
	got, err = db.ToolchainLockOf(ctx, "shop", "app")
	ok(t, err)
	same(t, "after a refused lock", got, next)
}

func testQueue(t *testing.T, url string) {
	db := open(t, url)
	for i := range 10 {
		ok(t, db.AddBuild(ctx, Build{ID: fmt.Sprintf("b-%02d", i), Project: "shop", Spec: []byte("spec"), Source: []byte("src"),
			Submitter: "alice", Created: ts.Add(time.Duration(i) * time.Second)}))
	}
	wantErr(t, "same id", db.AddBuild(ctx, Build{ID: "b-00", Project: "shop", Spec: []byte("x"), Submitter: "a"}), ErrExists)
	var mu sync.Mutex
	claimed := map[string]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			worker := fmt.Sprint("worker-", w)
			for {
				b, err := db.ClaimBuild(ctx, worker, ts.Add(time.Hour))
				if errors.Is(err, ErrNotFound) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := claimed[b.ID]; dup {
					t.Errorf("%s claimed by %s and %s", b.ID, prev, worker)
				}
				claimed[b.ID] = worker
				mu.Unlock()
				if string(b.Source) != "src" || b.Status != BuildRunning || b.Worker != worker {
					t.Errorf("claimed build %+v", b)
				}
			}
		})
	}
	wg.Wait()
	same(t, "claimed", len(claimed), 10)
	other := "worker-x"
	wantErr(t, "finished by another worker", db.FinishBuild(ctx, "b-00", other, Build{Status: BuildSucceeded}, nil), ErrDecided)
	out := []Output{{Path: "bin/app", SHA256: strings.Repeat("a", 64), Size: 3, Data: []byte("app")}}
	ok(t, db.FinishBuild(ctx, "b-00", claimed["b-00"], Build{Status: BuildSucceeded, Log: []byte("log"), Bundle: []byte("{}"), Finished: ts.Add(2 * time.Hour)}, out))
	wantErr(t, "finished twice", db.FinishBuild(ctx, "b-00", claimed["b-00"], Build{Status: BuildFailed}, nil), ErrDecided)
	wantErr(t, "unknown build", db.FinishBuild(ctx, "b-99", "w", Build{Status: BuildFailed}, nil), ErrNotFound)
	b, err := db.Build(ctx, "b-00", true)
	ok(t, err)
	same(t, "finished build", [5]any{b.Status, string(b.Log), b.Source == nil, b.Finished, b.Started}, [5]any{BuildSucceeded, "log", true, ts.Add(2 * time.Hour), ts.Add(time.Hour)})
	list, err := db.Outputs(ctx, "b-00", "")
	ok(t, err)
	same(t, "outputs without data", list, []Output{{Path: "bin/app", SHA256: strings.Repeat("a", 64), Size: 3}})
	one, err := db.Outputs(ctx, "b-00", "bin/app")
	ok(t, err)
	same(t, "output data", string(one[0].Data), "app")
	_, err = db.ClaimBuild(ctx, "w", ts)
	wantErr(t, "empty queue", err, ErrNotFound)
}
