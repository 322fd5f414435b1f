package state

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/audit"
)

// The backends. Each passes testStorage against a real database.

func TestSQLite(t *testing.T) { testStorage(t, sqliteDatabase) }

func TestPostgres(t *testing.T) { testStorage(t, postgresDatabase) }

func sqliteDatabase(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "state.db")
}

// TestSQLitePath opens SQLite databases by the names Open accepts,
// including characters a URI would take for syntax.
func TestSQLitePath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ url, file string }{
		{"sqlite:" + filepath.Join(dir, "a.db"), "a.db"},
		{filepath.Join(dir, "b.db"), "b.db"},
		{"sqlite:" + filepath.Join(dir, "c?mode=ro#x%41.db"), "c?mode=ro#x%41.db"},
	} {
		db := open(t, tc.url)
		if db.Backend() != "sqlite" {
			t.Errorf("%s: backend %q", tc.url, db.Backend())
		}
		ok(t, db.CreateProject(ctx, Project{Name: "p"}))
		ok(t, db.Close())
		fi, err := os.Stat(filepath.Join(dir, tc.file))
		ok(t, err)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", tc.file, fi.Mode())
		}
		if _, err := open(t, tc.url).Project(ctx, "p"); err != nil {
			t.Errorf("%s: reopened: %v", tc.url, err)
		}
	}
	for _, url := range []string{"sqlite:", filepath.Join(dir, "missing", "x.db"), dir} {
		if db, err := Open(ctx, url); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", url)
		}
	}
}

// testPostgresURLs are the servers the PostgreSQL tests try when
// HALLMARK_TEST_POSTGRES_URL is not set: the local server, as postgres or root.
var testPostgresURLs = []string{
	"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
	"postgres://root@127.0.0.1:5432/postgres?sslmode=disable",
}

// postgresDatabase creates a database with a fresh name, dropped when the
// test ends, and returns its URL. It skips the test if no server can be
// reached, unless HALLMARK_TEST_POSTGRES_URL names one (then it fails).
func postgresDatabase(t testing.TB) string {
	t.Helper()
	urls := testPostgresURLs
	env, set := os.LookupEnv("HALLMARK_TEST_POSTGRES_URL")
	if set {
		urls = []string{env}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var admin *sql.DB
	var adminURL string
	var errs []error
	for _, u := range urls {
		db, err := sql.Open("pgx", u)
		if err == nil {
			err = db.PingContext(ctx)
		}
		if err != nil {
			errs = append(errs, err)
			if db != nil {
				db.Close()
			}
			continue
		}
		admin, adminURL = db, u
		break
	}
	if admin == nil {
		if set {
			t.Fatalf("PostgreSQL server (HALLMARK_TEST_POSTGRES_URL): %v", errors.Join(errs...))
		}
		t.Skipf("no PostgreSQL server at 127.0.0.1:5432 (set HALLMARK_TEST_POSTGRES_URL to use another): %v", errors.Join(errs...))
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 8)
	rand.Read(b)
	name := "hallmark_test_" + hex.EncodeToString(b)
	// CREATE DATABASE waits for a checkpoint, which a busy disk can make slow.
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(cctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// testStorage runs the conformance tests; fresh returns the URL of a new,
// empty database, which each test gets.
func testStorage(t *testing.T, fresh func(testing.TB) string) {
	for _, tc := range []struct {
		name string
		f    func(t *testing.T, url string)
	}{
		{"Projects", testProjects},
		{"Tokens", testTokens},
		{"OIDCBindings", testOIDCBindings},
		{"Keys", testKeys},
		{"Times", testTimes},
		{"Commit", testCommit},
		{"Replay", testReplay},
		{"ReplayInBatch", testReplayInBatch},
		{"ConcurrentChain", testConcurrentChain},
		{"TwoHandles", testTwoHandles},
		{"Anchors", testAnchors},
		{"PruneNonces", testPruneNonces},
		{"Migrations", testMigrations},
		{"ConcurrentOpen", testConcurrentOpen},
		{"BadInput", testBadInput},
		{"CanceledAndClosed", testCanceledAndClosed},
		{"Policies", testPolicies},
		{"Tracker", testTracker},
		{"Exceptions", testExceptions},
		{"ConcurrentVotes", testConcurrentVotes},
		{"Webhooks", testWebhooks},
		{"Queue", testQueue},
		{"ToolchainLocks", testToolchainLocks},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, fresh(t)) })
	}
}

var ctx = context.Background()

// ts is a time with nanoseconds, which PostgreSQL timestamps would lose.
var ts = time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)

func open(t testing.TB, url string) *DB {
	t.Helper()
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

func same(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func record(i int, project string) Record {
	return Record{
		LeafHash:       hash(fmt.Sprint("leaf", i)),
		LogID:          hash("log"),
		KeyFingerprint: hash("key"),
		Digest:         hash(fmt.Sprint("artifact", i)),
		KeyName:        "release",
		KeyVersion:     2,
		Project:        project,
		Actor:          "token:abc",
		Time:           ts.Add(time.Duration(i) * time.Second),
	}
}

func event(target string) audit.Event {
	return audit.Event{
		Time:    ts,
		Actor:   "token:abc",
		Action:  "sign",
		Project: "alpha",
		Target:  target,
		Outcome: audit.OutcomeOK,
		Detail:  map[string]string{"key": "release/2"},
	}
}

// chain reads the whole audit chain in pages, verifies it, and returns it.
func chain(t testing.TB, db *DB) []audit.Entry {
	t.Helper()
	var all []audit.Entry
	prev := audit.Genesis
	for {
		page, err := db.AuditEntries(ctx, int64(len(all)), 500)
		ok(t, err)
		if len(page) == 0 {
			break
		}
		if err := audit.Verify(prev, page); err != nil {
			t.Fatalf("audit chain after entry %d: %v", len(all), err)
		}
		prev = page[len(page)-1].Hash
		all = append(all, page...)
	}
	seq, head, err := db.AuditHead(ctx)
	ok(t, err)
	if seq != int64(len(all)) || !bytes.Equal(head, prev) {
		t.Fatalf("audit head is %d %x, chain ends at %d %x", seq, head, len(all), prev)
	}
	return all
}

func testProjects(t *testing.T, url string) {
	db := open(t, url)
	// Sorted bytewise on both backends, whatever the server's locale.
	names := []string{"beta", "Zulu", "alpha", "été"}
	for i, n := range names {
		ok(t, db.CreateProject(ctx, Project{Name: n, Profile: "slsa3", Created: ts.Add(time.Duration(i))}))
	}
	wantErr(t, "duplicate", db.CreateProject(ctx, Project{Name: "beta"}), ErrExists)
	p, err := db.Project(ctx, "alpha")
	ok(t, err)
	same(t, "Project", p, Project{Name: "alpha", Profile: "slsa3", Created: ts.Add(2)})
	_, err = db.Project(ctx, "gamma")
	wantErr(t, "missing project", err, ErrNotFound)
	ps, err := db.Projects(ctx)
	ok(t, err)
	var got []string
	for _, p := range ps {
		got = append(got, p.Name)
	}
	same(t, "Projects", got, []string{"Zulu", "alpha", "beta", "été"})

	ok(t, db.CreateProject(ctx, Project{Name: "now"}))
	if p, _ := db.Project(ctx, "now"); time.Since(p.Created) > time.Minute {
		t.Errorf("zero Created stored as %v, want now", p.Created)
	}
}

func testTokens(t *testing.T, url string) {
	db := open(t, url)
	t1 := Token{ID: "t1", Hash: hash("secret1"), Subject: "ci@example.com", Role: "signer", Project: "alpha",
		Scopes: []string{"sign", "read"}, Created: ts, Expires: ts.Add(24 * time.Hour), CreatedBy: "local"}
	t2 := Token{ID: "t2", Hash: hash("secret2"), Subject: "admin", Role: "admin", Created: ts.Add(-time.Hour)}
	ok(t, db.CreateToken(ctx, t1))
	ok(t, db.CreateToken(ctx, t2))
	wantErr(t, "duplicate", db.CreateToken(ctx, t1), ErrExists)

	got, err := db.Token(ctx, "t1")
	ok(t, err)
	same(t, "Token", got, t1)
	_, err = db.Token(ctx, "t3")
	wantErr(t, "missing token", err, ErrNotFound)
	all, err := db.Tokens(ctx)
	ok(t, err)
	same(t, "Tokens", all, []Token{t2, t1})

	ok(t, db.RevokeToken(ctx, "t1", ts.Add(time.Minute)))
	ok(t, db.RevokeToken(ctx, "t1", ts.Add(time.Hour)))
	got, _ = db.Token(ctx, "t1")
	same(t, "revoked", got.Revoked, ts.Add(time.Minute))
	wantErr(t, "revoke missing", db.RevokeToken(ctx, "t3", ts), ErrNotFound)

	ok(t, db.SetTokenRole(ctx, "t2", "auditor", "beta"))
	got, _ = db.Token(ctx, "t2")
	if got.Role != "auditor" || got.Project != "beta" || !got.Revoked.IsZero() {
		t.Errorf("after SetTokenRole: %+v", got)
	}
	wantErr(t, "role of missing", db.SetTokenRole(ctx, "t3", "admin", ""), ErrNotFound)
}

func testOIDCBindings(t *testing.T, url string) {
	db := open(t, url)
	b1 := OIDCBinding{Issuer: "https://token.actions.githubusercontent.com", Audience: "hallmark",
		Claims: map[string]string{"repository": "acme/app", "ref": "refs/heads/main"}, Project: "alpha", Role: "signer", Created: ts}
	b2 := OIDCBinding{Issuer: "https://gitlab.com", Audience: "hallmark", Role: "reader", Created: ts}
	id1, err := db.AddOIDCBinding(ctx, b1)
	ok(t, err)
	id2, err := db.AddOIDCBinding(ctx, b2)
	ok(t, err)
	if id1 == id2 {
		t.Fatalf("two bindings got ID %d", id1)
	}
	b1.ID, b2.ID = id1, id2
	bs, err := db.OIDCBindings(ctx)
	ok(t, err)
	same(t, "OIDCBindings", bs, []OIDCBinding{b1, b2})
	ok(t, db.RemoveOIDCBinding(ctx, id1))
	wantErr(t, "removing twice", db.RemoveOIDCBinding(ctx, id1), ErrNotFound)
	bs, _ = db.OIDCBindings(ctx)
	same(t, "after remove", bs, []OIDCBinding{b2})
}

func testKeys(t *testing.T, url string) {
	db := open(t, url)
	k := func(name string, v int) Key {
		return Key{Name: name, Version: v, Purpose: PurposeSigning, Backend: "file", Ref: fmt.Sprintf("%s-%d.key", name, v),
			Algorithm: "ecdsa-p256", Public: hash(name), NotBefore: ts, Created: ts}
	}
	ca := Key{Name: "ca", Version: 1, Purpose: PurposeCA, Backend: "pkcs11", Ref: "slot=0;label=ca", Algorithm: "ecdsa-p384",
		Public: hash("ca"), Cert: []byte("DER"), Projects: []string{"alpha", "beta"}, NotBefore: ts, NotAfter: ts.AddDate(5, 0, 0), Created: ts}
	for _, key := range []Key{k("release", 2), ca, k("release", 1), k("nightly", 1)} {
		ok(t, db.AddKey(ctx, key))
	}
	wantErr(t, "duplicate", db.AddKey(ctx, k("release", 2)), ErrExists)

	all, err := db.Keys(ctx)
	ok(t, err)
	same(t, "Keys", all, []Key{ca, k("nightly", 1), k("release", 1), k("release", 2)})
	vs, err := db.KeyVersions(ctx, "release")
	ok(t, err)
	same(t, "KeyVersions", vs, []Key{k("release", 1), k("release", 2)})
	_, err = db.KeyVersions(ctx, "none")
	wantErr(t, "missing key", err, ErrNotFound)

	ok(t, db.SetKeyProjects(ctx, "release", 1, []string{"alpha"}))
	ok(t, db.SetKeyNotAfter(ctx, "release", 1, ts.Add(time.Hour)))
	ok(t, db.RetireKey(ctx, "release", 1, ts.Add(2*time.Hour)))
	ok(t, db.RetireKey(ctx, "release", 1, ts.Add(3*time.Hour)))
	ok(t, db.SetKeyProjects(ctx, "ca", 1, nil))
	ok(t, db.SetKeyNotAfter(ctx, "ca", 1, time.Time{}))
	want1 := k("release", 1)
	want1.Projects, want1.NotAfter, want1.Retired = []string{"alpha"}, ts.Add(time.Hour), ts.Add(2*time.Hour)
	wantCA := ca
	wantCA.Projects, wantCA.NotAfter = nil, time.Time{}
	all, _ = db.Keys(ctx)
	same(t, "after changes", all, []Key{wantCA, k("nightly", 1), want1, k("release", 2)})

	wantErr(t, "projects of missing", db.SetKeyProjects(ctx, "release", 3, nil), ErrNotFound)
	wantErr(t, "not after of missing", db.SetKeyNotAfter(ctx, "none", 1, ts), ErrNotFound)
	wantErr(t, "retire missing", db.RetireKey(ctx, "release", 9, ts), ErrNotFound)
}

// testTimes checks that times round-trip to the nanosecond, in UTC, over
// the whole range allowed, and that times outside it are refused.
func testTimes(t *testing.T, url string) {
	db := open(t, url)
	for i, tm := range []time.Time{
		ts,
		time.Date(2026, 1, 1, 1, 0, 0, 1, time.FixedZone("CET", 3600)),
		time.Unix(0, 0), // not the zero time
		time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC),
		time.Now(), // with a monotonic reading
	} {
		id := fmt.Sprint("t", i)
		ok(t, db.CreateToken(ctx, Token{ID: id, Hash: hash(id), Role: "r", Created: tm, Expires: tm}))
		got, err := db.Token(ctx, id)
		ok(t, err)
		if !got.Created.Equal(tm) || !got.Expires.Equal(tm) || got.Created.Location() != time.UTC {
			t.Errorf("%v came back as %v", tm, got.Created)
		}
	}
	for _, tm := range []time.Time{time.Date(1677, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if err := db.CreateToken(ctx, Token{ID: "x", Hash: hash("x"), Role: "r", Created: tm}); err == nil {
			t.Errorf("time %v was accepted", tm)
		}
	}
}

func testCommit(t *testing.T, url string) {
	db := open(t, url)
	seq, head, err := db.AuditHead(ctx)
	ok(t, err)
	if seq != 0 || !bytes.Equal(head, audit.Genesis) {
		t.Errorf("empty audit head = %d %x", seq, head)
	}
	r1, r2, r3 := record(1, "alpha"), record(2, "beta"), record(3, "alpha")
	e1, e2, e3 := event("one"), event("two"), event("three")
	e2.Time = time.Date(2026, 1, 1, 0, 0, 0, 5, time.FixedZone("X", -7200))
	seqs, err := db.Commit(ctx, Write{Nonce: "n1", Records: []Record{r1, r2}, Audit: []audit.Event{e1, e2}})
	ok(t, err)
	same(t, "first seqs", seqs, []int64{1, 2})
	seqs, err = db.Commit(ctx, Write{Records: []Record{r3}, Audit: []audit.Event{e3}})
	ok(t, err)
	same(t, "second seqs", seqs, []int64{3})
	for _, w := range []Write{{Nonce: "n2"}, {Records: []Record{record(4, "gamma")}}, {}} {
		seqs, err = db.Commit(ctx, w)
		if err != nil || len(seqs) != 0 {
			t.Errorf("Commit(%+v) = %v, %v; want no entries", w, seqs, err)
		}
	}

	for _, tc := range []struct {
		log, leaf []byte
		want      bool
	}{
		{r1.LogID, r1.LeafHash, true},
		{r3.LogID, r3.LeafHash, true},
		{r1.LogID, hash("other"), false},
		{hash("other log"), r1.LeafHash, false},
	} {
		if got, err := db.HasRecord(ctx, tc.log, tc.leaf); err != nil || got != tc.want {
			t.Errorf("HasRecord(%x, %x) = %v, %v; want %v", tc.log[:4], tc.leaf[:4], got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		project string
		limit   int
		want    []Record
	}{
		{"", 10, []Record{record(4, "gamma"), r3, r2, r1}},
		{"", 2, []Record{record(4, "gamma"), r3}},
		{"alpha", 10, []Record{r3, r1}},
		{"none", 10, nil},
	} {
		got, err := db.Records(ctx, tc.project, tc.limit)
		ok(t, err)
		same(t, fmt.Sprintf("Records(%q, %d)", tc.project, tc.limit), got, tc.want)
	}

	entries := chain(t, db)
	e2.Time = e2.Time.UTC()
	for i, want := range []audit.Event{e1, e2, e3} {
		same(t, fmt.Sprint("event ", i+1), entries[i].Event, want)
	}
	page, err := db.AuditEntries(ctx, 1, 1)
	ok(t, err)
	same(t, "AuditEntries(1, 1)", page, entries[1:2])
	page, err = db.AuditEntries(ctx, 3, 10)
	ok(t, err)
	same(t, "AuditEntries(3, 10)", len(page), 0)
}

func testReplay(t *testing.T, url string) {
	db := open(t, url)
	_, err := db.Commit(ctx, Write{Nonce: "n", Audit: []audit.Event{event("first")}})
	ok(t, err)
	r := record(1, "alpha")
	seqs, err := db.Commit(ctx, Write{Nonce: "n", Records: []Record{r}, Audit: []audit.Event{event("replayed")}})
	wantErr(t, "replay", err, ErrReplay)
	if len(seqs) != 0 {
		t.Errorf("replay got entries %v", seqs)
	}
	if has, _ := db.HasRecord(ctx, r.LogID, r.LeafHash); has {
		t.Error("a replayed Write's record was stored")
	}
	if len(chain(t, db)) != 1 {
		t.Error("a replayed Write's audit event was stored")
	}
}

// testReplayInBatch commits one batch in which some Writes replay a nonce:
// only those fail.
func testReplayInBatch(t *testing.T, url string) {
	db := open(t, url)
	_, err := db.Commit(ctx, Write{Nonce: "used"})
	ok(t, err)
	nonces := []string{"a", "used", "b", "b", "", "c"}
	wantSeqs := [][]int64{{1}, nil, {2}, nil, {3}, {4}}
	var batch []*pending
	for i, n := range nonces {
		p, err := prepare(Write{Nonce: n, Records: []Record{record(i, "alpha")}, Audit: []audit.Event{event(fmt.Sprint(i))}})
		ok(t, err)
		batch = append(batch, p)
	}
	db.commitBatch(batch)
	var targets []string
	for i, p := range batch {
		<-p.done
		replay := wantSeqs[i] == nil
		if replay && !errors.Is(p.err, ErrReplay) || !replay && p.err != nil {
			t.Errorf("Write %d (nonce %q): error %v", i, nonces[i], p.err)
		}
		same(t, fmt.Sprint("Write ", i, " entries"), p.seqs, wantSeqs[i])
		r := record(i, "alpha")
		if has, _ := db.HasRecord(ctx, r.LogID, r.LeafHash); has == replay {
			t.Errorf("Write %d (nonce %q): record stored = %v", i, nonces[i], has)
		}
		if !replay {
			targets = append(targets, fmt.Sprint(i))
		}
	}
	var got []string
	for _, e := range chain(t, db) {
		got = append(got, e.Event.Target)
	}
	same(t, "chained events", got, targets)
}

// testConcurrentChain commits from many goroutines, every tenth Write a
// replay, and checks the chain holds exactly the successful Writes' events.
func testConcurrentChain(t *testing.T, url string) {
	db := open(t, url)
	const goroutines, writes = 64, 50
	var mu sync.Mutex
	targets := map[int64]string{}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range writes {
				nonce, replay := fmt.Sprintf("%d-%d", g, i), i%10 == 9
				if replay {
					nonce = fmt.Sprintf("%d-%d", g, i-1)
				}
				evs := []audit.Event{event(fmt.Sprintf("%d-%d", g, i))}
				if i%7 == 0 {
					evs = append(evs, event(fmt.Sprintf("%d-%d-b", g, i)))
				}
				seqs, err := db.Commit(ctx, Write{Nonce: nonce, Records: []Record{record(g*writes+i, "alpha")}, Audit: evs})
				if replay {
					if !errors.Is(err, ErrReplay) || seqs != nil {
						t.Errorf("replay %s: %v, %v", nonce, seqs, err)
					}
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if len(seqs) != len(evs) || len(seqs) == 2 && seqs[1] != seqs[0]+1 {
					t.Errorf("Write %d-%d: entries %v", g, i, seqs)
				}
				mu.Lock()
				for j, s := range seqs {
					if _, dup := targets[s]; dup {
						t.Errorf("entry %d given out twice", s)
					}
					targets[s] = evs[j].Target
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	entries := chain(t, db)
	if len(entries) != len(targets) {
		t.Fatalf("chain has %d entries, Commits returned %d", len(entries), len(targets))
	}
	for _, e := range entries {
		if targets[e.Seq] != e.Event.Target {
			t.Fatalf("entry %d is %q, Commit said %q", e.Seq, e.Event.Target, targets[e.Seq])
		}
	}
	recs, err := db.Records(ctx, "alpha", 1<<20)
	ok(t, err)
	if want := goroutines * (writes - writes/10); len(recs) != want {
		t.Errorf("%d records stored, want %d", len(recs), want)
	}
}

// testTwoHandles commits through two DBs on one database, as two processes
// would: they must keep one chain.
func testTwoHandles(t *testing.T, url string) {
	dbs := []*DB{open(t, url), open(t, url)}
	const goroutines, writes = 16, 50
	var wg sync.WaitGroup
	var n atomic.Int64
	for _, db := range dbs {
		for range goroutines {
			wg.Go(func() {
				for range writes {
					i := n.Add(1)
					if _, err := db.Commit(ctx, Write{Nonce: fmt.Sprint(i), Audit: []audit.Event{event(fmt.Sprint(i))}}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	entries := chain(t, dbs[1])
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Event.Target] = true
	}
	if len(entries) != 2*goroutines*writes || len(seen) != len(entries) {
		t.Errorf("chain has %d entries, %d distinct; want %d", len(entries), len(seen), 2*goroutines*writes)
	}
	if _, err := dbs[0].Commit(ctx, Write{Nonce: "1"}); !errors.Is(err, ErrReplay) {
		t.Errorf("a nonce used through the other handle: %v", err)
	}
}

func testAnchors(t *testing.T, url string) {
	db := open(t, url)
	_, err := db.Commit(ctx, Write{Audit: []audit.Event{event("1"), event("2"), event("3")}})
	ok(t, err)
	entries := chain(t, db)
	a2 := Anchor{Seq: 2, Hash: entries[1].Hash, LogIndex: 7, LeafHash: hash("leaf 7"), Bundle: []byte(`{"logIndex":"7"}`), Time: ts}
	a3 := Anchor{Seq: 3, Hash: entries[2].Hash, LogIndex: 0, LeafHash: hash("leaf 0"), Bundle: []byte(`{}`), Time: ts}
	ok(t, db.AddAnchor(ctx, a3))
	ok(t, db.AddAnchor(ctx, a2))
	wantErr(t, "duplicate", db.AddAnchor(ctx, a2), ErrExists)
	bad := a2
	bad.Seq = 9
	wantErr(t, "anchor past the head", db.AddAnchor(ctx, bad), ErrNotFound)
	bad.Seq = 1
	if err := db.AddAnchor(ctx, bad); err == nil || !strings.Contains(err.Error(), "not the entry's hash") {
		t.Errorf("anchor with another entry's hash: %v", err)
	}
	as, err := db.Anchors(ctx)
	ok(t, err)
	same(t, "Anchors", as, []Anchor{a2, a3})
}

func testPruneNonces(t *testing.T, url string) {
	db := open(t, url)
	for _, n := range []string{"a", "b"} {
		_, err := db.Commit(ctx, Write{Nonce: n})
		ok(t, err)
	}
	n, err := db.PruneNonces(ctx, time.Now().Add(-time.Hour))
	ok(t, err)
	same(t, "pruned before an hour ago", n, int64(0))
	_, err = db.Commit(ctx, Write{Nonce: "a"})
	wantErr(t, "replay before pruning", err, ErrReplay)
	n, err = db.PruneNonces(ctx, time.Now().Add(time.Second))
	ok(t, err)
	same(t, "pruned all", n, int64(2))
	_, err = db.Commit(ctx, Write{Nonce: "a"})
	ok(t, err)
}

// testMigrations reopens a database: migrations run once, data survives,
// and a database from a newer program is refused.
func testMigrations(t *testing.T, url string) {
	db, err := Open(ctx, url)
	ok(t, err)
	ok(t, db.CreateProject(ctx, Project{Name: "alpha"}))
	_, err = db.Commit(ctx, Write{Audit: []audit.Event{event("1")}})
	ok(t, err)
	ok(t, db.Close())
	for range 2 {
		db = open(t, url)
		_, err := db.Project(ctx, "alpha")
		ok(t, err)
		if len(chain(t, db)) != 1 {
			t.Error("the audit chain changed on reopening")
		}
		var n, heads int
		ok(t, db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n))
		ok(t, db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_head").Scan(&heads))
		if n != len(migrations) || heads != 1 {
			t.Errorf("after reopening: %d migrations recorded, %d audit heads", n, heads)
		}
		ok(t, db.Close())
	}
	raw := open(t, url)
	_, err = raw.w.ExecContext(ctx, raw.d.q("INSERT INTO schema_migrations (version, applied) VALUES (?, 0)"), len(migrations)+1)
	ok(t, err)
	if _, err := Open(ctx, url); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("opening a newer database: %v", err)
	}
}

// testConcurrentOpen opens one new database from several goroutines at
// once, as processes starting together would.
func testConcurrentOpen(t *testing.T, url string) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			db, err := Open(ctx, url)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := db.Commit(ctx, Write{Audit: []audit.Event{event("x")}}); err != nil {
				t.Error(err)
			}
			db.Close()
		})
	}
	wg.Wait()
	db := open(t, url)
	if n := len(chain(t, db)); n != 8 {
		t.Errorf("chain has %d entries, want 8", n)
	}
}

// testBadInput checks that bad input is refused with an error, stores
// nothing and does not panic.
func testBadInput(t *testing.T, url string) {
	db := open(t, url)
	short := hash("x")[:31]
	key := Key{Name: "k", Version: 1, Purpose: PurposeSigning, Backend: "file", Algorithm: "ed25519", Public: hash("k")}
	badKey := func(f func(*Key)) Key { k := key; f(&k); return k }
	tok := Token{ID: "t", Hash: hash("t"), Role: "r"}
	badRecord := func(f func(*Record)) Write { r := record(1, "alpha"); f(&r); return Write{Records: []Record{r}} }
	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"project without name", func() error { return db.CreateProject(ctx, Project{}) }},
		{"project name with NUL", func() error { return db.CreateProject(ctx, Project{Name: "a\x00b"}) }},
		{"project name not UTF-8", func() error { return db.CreateProject(ctx, Project{Name: "\xff"}) }},
		{"token without ID", func() error { return db.CreateToken(ctx, Token{Hash: hash("t"), Role: "r"}) }},
		{"token hash short", func() error { t := tok; t.Hash = short; return db.CreateToken(ctx, t) }},
		{"token without role", func() error { t := tok; t.Role = ""; return db.CreateToken(ctx, t) }},
		{"token empty scope", func() error { t := tok; t.Scopes = []string{""}; return db.CreateToken(ctx, t) }},
		{"role empty", func() error { return db.SetTokenRole(ctx, "t", "", "") }},
		{"binding without issuer", func() error {
			_, err := db.AddOIDCBinding(ctx, OIDCBinding{Audience: "a", Role: "r"})
			return err
		}},
		{"binding claim NUL", func() error {
			_, err := db.AddOIDCBinding(ctx, OIDCBinding{Issuer: "i", Audience: "a", Role: "r", Claims: map[string]string{"sub": "\x00"}})
			return err
		}},
		{"key version 0", func() error { return db.AddKey(ctx, badKey(func(k *Key) { k.Version = 0 })) }},
		{"key purpose", func() error { return db.AddKey(ctx, badKey(func(k *Key) { k.Purpose = "encryption" })) }},
		{"key without public", func() error { return db.AddKey(ctx, badKey(func(k *Key) { k.Public = nil })) }},
		{"key without name", func() error { return db.AddKey(ctx, badKey(func(k *Key) { k.Name = "" })) }},
		{"key projects empty name", func() error { return db.SetKeyProjects(ctx, "k", 1, []string{""}) }},
		{"record leaf short", func() error { _, err := db.Commit(ctx, badRecord(func(r *Record) { r.LeafHash = short })); return err }},
		{"record log ID nil", func() error { _, err := db.Commit(ctx, badRecord(func(r *Record) { r.LogID = nil })); return err }},
		{"record digest long", func() error {
			_, err := db.Commit(ctx, badRecord(func(r *Record) { r.Digest = make([]byte, 65) }))
			return err
		}},
		{"record without actor", func() error { _, err := db.Commit(ctx, badRecord(func(r *Record) { r.Actor = "" })); return err }},
		{"record time", func() error {
			_, err := db.Commit(ctx, badRecord(func(r *Record) { r.Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }))
			return err
		}},
		{"event outcome", func() error {
			e := event("x")
			e.Outcome = "fine"
			_, err := db.Commit(ctx, Write{Nonce: "n", Audit: []audit.Event{event("y"), e}})
			return err
		}},
		{"nonce not UTF-8", func() error { _, err := db.Commit(ctx, Write{Nonce: "\xff"}); return err }},
		{"records limit", func() error { _, err := db.Records(ctx, "", 0); return err }},
		{"audit limit", func() error { _, err := db.AuditEntries(ctx, 0, -1); return err }},
		{"anchor hash short", func() error {
			return db.AddAnchor(ctx, Anchor{Seq: 1, Hash: short, LeafHash: hash("l"), Bundle: []byte("{}")})
		}},
		{"anchor without bundle", func() error { return db.AddAnchor(ctx, Anchor{Seq: 1, Hash: hash("h"), LeafHash: hash("l")}) }},
		{"prune zero time", func() error { _, err := db.PruneNonces(ctx, time.Time{}); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "state: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line starting with the package name", err)
			}
		})
	}
	ps, _ := db.Projects(ctx)
	ks, _ := db.Keys(ctx)
	ts, _ := db.Tokens(ctx)
	rs, _ := db.Records(ctx, "", 10)
	if len(ps)+len(ks)+len(ts)+len(rs)+len(chain(t, db)) != 0 {
		t.Error("refused input was stored")
	}
	if _, err := db.Commit(ctx, Write{Nonce: "n"}); err != nil {
		t.Errorf("the nonce of a refused Write was used: %v", err)
	}
}

func testCanceledAndClosed(t *testing.T, url string) {
	db := open(t, url)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.Commit(cctx, Write{Nonce: "n", Audit: []audit.Event{event("x")}}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled Commit: %v", err)
	}
	if _, err := db.Commit(ctx, Write{Nonce: "n"}); err != nil {
		t.Errorf("a canceled Commit used its nonce: %v", err)
	}
	ok(t, db.Close())
	ok(t, db.Close())
	if _, err := db.Commit(ctx, Write{Nonce: "m"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Commit after Close: %v", err)
	}
	if err := db.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if n := len(chain(t, open(t, url))); n != 0 {
		t.Errorf("chain has %d entries, want none", n)
	}
}

// BenchmarkCommit commits from many goroutines at once, each Commit one
// nonce, one record and one audit event, as a signing request does.
func BenchmarkCommit(b *testing.B) {
	for _, bc := range []struct {
		name  string
		fresh func(testing.TB) string
	}{{"sqlite", sqliteDatabase}, {"postgres", postgresDatabase}} {
		b.Run(bc.name, func(b *testing.B) {
			db := open(b, bc.fresh(b))
			var n atomic.Int64
			b.SetParallelism(64)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(n.Add(1))
					w := Write{Nonce: fmt.Sprint(i), Records: []Record{record(i, "bench")}, Audit: []audit.Event{event(fmt.Sprint(i))}}
					if _, err := db.Commit(ctx, w); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}
