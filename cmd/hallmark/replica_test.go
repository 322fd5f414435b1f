package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/state"
	"github.com/hallmark-dev/hallmark/tlog"
	"github.com/hallmark-dev/hallmark/verifier"
)

// The tests in this file and in crash_test.go run real 'hallmark serve'
// processes under load and then check, from the outside, what the clients
// were told against what the data directory holds. The processes are this
// test binary run under the name "hallmark", which testscript.Main (in
// TestMain) turns into the CLI.

// TestReplicasShareOneLog runs two replicas of 'hallmark serve' on one data
// directory's keys, one PostgreSQL state database and one transparency log in
// MySQL/MariaDB, started at the same moment and anchoring the audit log every
// second, so that they race to bootstrap and to anchor each audit head. It
// signs with 32 clients split across them, stops them, and checks, from a
// third process serving the log, that they kept one log and one audit chain:
// every bundle verifies offline, no two share a log index, the log holds
// exactly the acknowledged entries and the recorded audit anchors, each
// included under the final checkpoint, no audit head is anchored twice, and
// the audit chain verifies, with one sign event per acknowledged request.
func TestReplicasShareOneLog(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two 'hallmark serve' processes under load for several seconds")
	}
	const (
		clients = 32
		// A sign request waits for the MySQL log's next checkpoint, one a
		// second: each client gets 3 to 6 requests through.
		load = 6 * time.Second
	)
	start := time.Now()
	db := freshPostgres(t)
	d := newPlaneDir(t, db, freshMySQL(t))
	token := d.token("builder")
	auditor := d.token("auditor")

	replicas := []*servedProc{d.start("--anchor-every", "1s"), d.start("--anchor-every", "1s")}
	for _, r := range replicas {
		r.waitServing(t)
	}
	ready := time.Now()

	led := new(signLedger)
	stop := make(chan struct{})
	hc := loadClient()
	run := randomHex(8)
	var wg sync.WaitGroup
	for i := range clients {
		r := replicas[i%len(replicas)]
		label := fmt.Sprintf("replica %d", i%len(replicas))
		wg.Go(func() {
			signClient(stop, func() (string, string) { return r.url, label }, token, run, i, hc, led)
		})
	}
	time.Sleep(load)
	close(stop)
	wg.Wait() // the requests in flight are answered, not cancelled
	loaded := time.Now()
	// Stopped while they anchor, as they likely are (an append waits up to
	// two seconds), the replicas finish the anchor they claimed.
	var anchorsCut []string
	for i, r := range replicas {
		r.stop(t)
		errs, cut := r.errorLines()
		if len(errs) > 0 {
			t.Errorf("replica %d logged errors:\n%s", i, strings.Join(errs, "\n"))
		}
		anchorsCut = append(anchorsCut, cut...)
	}
	if led.failed > 0 || len(led.bad) > 0 {
		t.Errorf("%d of %d sign requests failed, with no replica stopped or killed; the first: %v; responses breaking the API: %v",
			led.failed, led.failed+len(led.requests), led.errs, led.bad)
	}
	if len(led.acked) == 0 {
		t.Fatal("no signature acknowledged")
	}
	byReplica := map[string]int{}
	for _, a := range led.acked {
		byReplica[a.from]++
	}
	for i := range replicas {
		if n := byReplica[fmt.Sprintf("replica %d", i)]; n == 0 {
			t.Errorf("replica %d acknowledged nothing", i)
		}
	}

	// The log in MySQL is read through a server: a third replica, which does
	// not anchor within the test (the default interval is a minute), so that
	// the log and the anchors stay as the two replicas left them.
	reader := d.serve()
	trustedRoot := fetchTrustedRoot(t, reader.url)
	ctx := context.Background()
	chk := newLogChecker(t, d, trustedRoot, reader.url)
	lv, err := chk.readLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ack, errs := chk.checkAcknowledged(ctx, lv, led.acked)
	reportErrors(t, "acknowledged bundles", errs)
	reportErrors(t, "checkpoints in bundles", chk.checkConsistent(ctx, lv, ack.checkpoints))

	anchors := readAnchors(t, db)
	logged, cutShort, errs := chk.checkAnchors(lv, anchors)
	reportErrors(t, "audit anchors", errs)
	reportErrors(t, "log entries", chk.checkExplained(lv, ack.leaves, anchors, cutShort))
	if len(cutShort) > 0 || len(anchorsCut) > 0 {
		// Anchor documents that a claimed anchor is finished, row included,
		// on shutdown; but serve closes the plane without waiting for its
		// anchoring goroutine, whose append then fails, or whose wait for
		// the checkpoint ends with the log's context (a bug, reported). The
		// checks hold all the same: 'audit log --verify' below matches
		// these entries to heads of the chain. Once fixed, make this an
		// error.
		t.Logf("anchoring cut short by a clean stop (SIGTERM): %d audit anchors logged with no anchor row %v; %d anchoring errors after the replicas began shutting down: %s",
			len(cutShort), cutShort, len(anchorsCut), strings.Join(anchorsCut, "; "))
	}
	if want := uint64(len(led.acked) + logged); lv.cp.Size != want {
		t.Errorf("the final checkpoint commits to %d entries; %d signatures were acknowledged and %d audit anchors logged, %d in all",
			lv.cp.Size, len(led.acked), logged, want)
	}

	signs, verified := d.auditSigns(t, reader.url, auditor)
	if len(signs) != len(led.requests) {
		t.Errorf("the audit chain holds %d sign events; %d sign requests were acknowledged", len(signs), len(led.requests))
	}
	reportErrors(t, "audit chain", auditCovers(signs, led.requests))
	monitored := d.must("log", "monitor", "--log", reader.url)

	t.Run("checks can fail", func(t *testing.T) {
		// An entry no client was told of, nor any anchor row records, is
		// reported: here, one whose acknowledgement is dropped.
		leaves := maps.Clone(ack.leaves)
		delete(leaves, string(ack.leafOf[0]))
		if errs := chk.checkExplained(lv, leaves, anchors, cutShort); !containsError(errs, fmt.Sprintf("log entry %d ", ack.index[0]), "acknowledged to no client") {
			t.Errorf("an entry without its acknowledgement was not reported: %v", errs)
		}
		// An audit head anchored twice: the log with its first anchor's entry
		// appended once more.
		if len(anchors) == 0 {
			t.Skip("no audit anchor")
		}
		a := anchors[0].LogIndex
		twice := &logView{cp: lv.cp, bodies: append(slices.Clip(lv.bodies), lv.bodies[a]), leaves: append(slices.Clip(lv.leaves), lv.leaves[a])}
		if _, unrecorded, errs := chk.checkAnchors(twice, anchors); !containsError(errs, fmt.Sprintf("log entries %d and %d anchor the same audit head", a, len(lv.bodies))) ||
			!slices.Equal(unrecorded, append(slices.Clone(cutShort), len(lv.bodies))) {
			t.Errorf("an audit head anchored twice was not reported: %v (entries with no anchor row: %v)", errs, unrecorded)
		}
	})
	reader.stop(t)
	if errs, cut := reader.errorLines(); len(errs)+len(cut) > 0 {
		t.Errorf("the reading replica logged errors:\n%s", strings.Join(append(errs, cut...), "\n"))
	}

	t.Logf("2 replicas, %d clients, load for %v (replicas ready after %v): %d sign requests acknowledged, %d bundles (%d from replica 0, %d from replica 1), %d audit anchors logged, %d of them with no anchor row",
		clients, loaded.Sub(ready).Round(time.Millisecond), ready.Sub(start).Round(time.Millisecond),
		len(led.requests), len(led.acked), byReplica["replica 0"], byReplica["replica 1"], logged, len(cutShort))
	t.Logf("final tree size %d; %d distinct checkpoints in bundles, all consistent with it; %s; %s; in %v",
		lv.cp.Size, len(ack.checkpoints), verified, monitored, time.Since(start).Round(time.Millisecond))
}

// hallmarkExe returns the 'hallmark' executable testscript.Main put first in
// $PATH: a copy of this test binary, which runs the CLI under that name.
var hallmarkExe = sync.OnceValues(func() (string, error) {
	path, err := exec.LookPath("hallmark")
	if err != nil {
		return "", fmt.Errorf("no hallmark in $PATH, where testscript.Main puts one: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	a, errA := os.Stat(path)
	b, errB := os.Stat(self)
	if err := errors.Join(errA, errB); err != nil {
		return "", err
	}
	if a.Size() != b.Size() {
		return "", fmt.Errorf("%s is not the copy of this test binary testscript.Main makes (%d bytes, not %d)", path, a.Size(), b.Size())
	}
	return path, nil
})

// planeDir is a data directory under test.
type planeDir struct {
	t    *testing.T
	exe  string
	home string
	// signingKey is the PEM public key of the signing key "default", read
	// at creation: later, a command that opens the control plane would open
	// its log too, beside the servers under test.
	signingKey []byte
}

// newPlaneDir creates a control plane with a signing key "default", its
// state in database (a postgres:// URL), or in SQLite if database is empty,
// and its transparency log in logDatabase (a MySQL DSN), or in POSIX tiles
// in the data directory if logDatabase is empty.
func newPlaneDir(t *testing.T, database, logDatabase string) *planeDir {
	t.Helper()
	exe, err := hallmarkExe()
	if err != nil {
		t.Fatal(err)
	}
	d := &planeDir{t: t, exe: exe, home: filepath.Join(t.TempDir(), "home")}
	args := []string{"init", "--insecure-plaintext"}
	if database != "" {
		args = append(args, "--database", database)
	}
	if logDatabase != "" {
		args = append(args, "--log-database", logDatabase)
	}
	d.must(args...)
	d.must("key", "generate")
	d.signingKey = []byte(d.must("key", "export-public", "default"))
	return d
}

// command returns a hallmark command on the data directory, in an
// environment without the caller's HALLMARK_ variables but with env.
func (d *planeDir) command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(d.exe, args...)
	cmd.Env = []string{"HALLMARK_HOME=" + d.home}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HALLMARK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// run runs a hallmark command to its end.
func (d *planeDir) run(args ...string) (stdout, stderr string, err error) {
	return d.runEnv(nil, args...)
}

// runEnv runs a hallmark command to its end, with env set.
func (d *planeDir) runEnv(env []string, args ...string) (stdout, stderr string, err error) {
	cmd := d.command(env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// must runs a hallmark command that must succeed, and returns its stdout
// or, if that is empty, its stderr.
func (d *planeDir) must(args ...string) string {
	d.t.Helper()
	stdout, stderr, err := d.run(args...)
	if err != nil {
		d.t.Fatalf("hallmark %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	if stdout == "" {
		return strings.TrimSpace(stderr)
	}
	return stdout
}

// token issues an API token with role (a builder's for project default).
func (d *planeDir) token(role string) string {
	args := []string{"admin", "token", "issue", "--subject", "load-" + role, "--role", role}
	if role == "builder" {
		args = append(args, "--project", "default")
	}
	return strings.TrimSpace(d.must(args...))
}

// auditSigns runs 'hallmark audit log --verify --json' against server with
// an auditor's token, which must pass, and returns the first digest of every
// successful sign event, and what the verification said. (Run on the data
// directory, the command reads a log in MySQL from DIR/log, where it is not:
// a bug, reported.)
func (d *planeDir) auditSigns(t *testing.T, server, token string) (firsts []string, verified string) {
	t.Helper()
	stdout, stderr, err := d.runEnv([]string{"HALLMARK_TOKEN=" + token}, "audit", "log", "--verify", "--json", "--server", server)
	if err != nil {
		t.Fatalf("hallmark audit log --verify: %v\n%s", err, stderr)
	}
	for line := range strings.Lines(stdout) {
		var e struct {
			Seq   int64 `json:"seq"`
			Event struct {
				Action  string            `json:"action"`
				Outcome string            `json:"outcome"`
				Detail  map[string]string `json:"detail"`
			} `json:"event"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("hallmark audit log --json printed %q: %v", line, err)
		}
		if e.Event.Action == "sign" && e.Event.Outcome == "ok" {
			firsts = append(firsts, e.Event.Detail["first"])
		}
	}
	return firsts, strings.TrimPrefix(strings.TrimSpace(stderr), "hallmark: ")
}

// auditCovers reports the acknowledged requests (by their first digest)
// that no sign event records.
func auditCovers(signs []string, requests []digest.SHA256) []error {
	have := map[string]bool{}
	for _, s := range signs {
		have[s] = true
	}
	var errs []error
	for _, r := range requests {
		if !have[r.String()] {
			errs = append(errs, fmt.Errorf("the acknowledged sign request for %s has no sign event", r))
		}
	}
	return errs
}

// servedProc is a running 'hallmark serve'.
type servedProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	url    string
	exited chan struct{} // closed once the process is reaped
	err    error         // its Wait error, once exited is closed
}

// serve starts 'hallmark serve' on the data directory and waits until it
// listens. It is killed when the test ends, if still running.
func (d *planeDir) serve(args ...string) *servedProc {
	d.t.Helper()
	p := d.start(args...)
	p.waitServing(d.t)
	return p
}

// start starts 'hallmark serve' on the data directory. It is killed when the
// test ends, if still running.
func (d *planeDir) start(args ...string) *servedProc {
	d.t.Helper()
	p := &servedProc{
		cmd:    d.command(nil, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...),
		stderr: new(syncBuffer),
		exited: make(chan struct{}),
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	d.t.Cleanup(p.kill)
	return p
}

// waitServing waits until the process listens, and sets its URL.
func (p *servedProc) waitServing(t *testing.T) {
	t.Helper()
	// The first start of a data directory, or a busy machine, can be slow.
	deadline := time.After(30 * time.Second)
	for {
		for line := range strings.Lines(p.stderr.String()) {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				p.url = "http://" + rec.Addr
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("hallmark serve exited before serving: %v\n%s", p.err, p.stderr)
		case <-deadline:
			p.kill()
			t.Fatalf("hallmark serve did not start serving in 30s\n%s", p.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// kill kills the process, if it runs, and reaps it.
func (p *servedProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// killNine kills the process with SIGKILL and checks that this is what
// ended it.
func (p *servedProc) killNine(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("hallmark serve ended by itself (%v) before it was killed\n%s", p.err, p.stderr)
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-p.exited
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("hallmark serve ended with %v, want death by SIGKILL\n%s", p.err, p.stderr)
	}
}

// stop stops the process with SIGTERM, which it must obey by finishing the
// requests in flight and exiting 0.
func (p *servedProc) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("hallmark serve ended by itself (%v) before it was stopped\n%s", p.err, p.stderr)
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("hallmark serve did not stop within 30s of SIGTERM\n%s", p.stderr)
	}
	if p.err != nil {
		t.Fatalf("hallmark serve, stopped by SIGTERM: %v\n%s", p.err, p.stderr)
	}
}

// errorLines returns the lines the process logged at level ERROR, but for
// those of its anchoring goroutine after it began shutting down, which it
// returns apart: serve closes the plane without waiting for that goroutine,
// so an anchor in flight fails ("appender has been shut down") or loses its
// row (a bug, reported).
func (p *servedProc) errorLines() (errs, anchorsCut []string) {
	shutdown := false
	for line := range strings.Lines(p.stderr.String()) {
		var rec struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		switch {
		case rec.Msg == "shutting down":
			shutdown = true
		case rec.Level != "ERROR":
		case shutdown && rec.Msg == "anchoring the audit log":
			anchorsCut = append(anchorsCut, strings.TrimSpace(line))
		default:
			errs = append(errs, strings.TrimSpace(line))
		}
	}
	return errs, anchorsCut
}

// fetchTrustedRoot gets the trusted root a server publishes.
func fetchTrustedRoot(t *testing.T, server string) []byte {
	t.Helper()
	resp, err := http.Get(server + "/api/v1/trusted-root")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/trusted-root: %s %v", resp.Status, err)
	}
	return raw
}

// freshPostgres creates a database hallmark_test_<random> on the local
// PostgreSQL server, dropped when the test ends, and returns its URL. It
// skips the test if the server cannot be reached.
func freshPostgres(t *testing.T) string {
	t.Helper()
	const server = "postgres://postgres@127.0.0.1:5432/"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", server+"postgres?sslmode=disable")
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		t.Skipf("no PostgreSQL server at 127.0.0.1:5432 as user postgres: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "hallmark_test_" + randomHex(8)
	// CREATE DATABASE waits for a checkpoint, which a busy disk makes slow.
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(cctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	return server + name + "?sslmode=disable"
}

// freshMySQL creates a database hallmark_test_<random> on the local MySQL or
// MariaDB server, dropped when the test ends, and returns its DSN. It skips
// the test if the server cannot be reached.
func freshMySQL(t *testing.T) string {
	t.Helper()
	const server = "root@tcp(127.0.0.1:3306)/"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := sql.Open("mysql", server)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		t.Skipf("no MySQL or MariaDB server at 127.0.0.1:3306 as user root without a password: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "hallmark_test_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	return server + name
}

// readAnchors returns the audit anchors the state database records.
func readAnchors(t *testing.T, database string) []state.Anchor {
	t.Helper()
	ctx := context.Background()
	db, err := state.Open(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	anchors, err := db.Anchors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return anchors
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// signLedger is what the signing clients were told.
type signLedger struct {
	mu       sync.Mutex
	acked    []ackedBundle   // every bundle a client got back
	requests []digest.SHA256 // the first digest of every acknowledged request
	failed   int             // requests that got no answer, or an error
	errs     []error         // the first few of those
	bad      []error         // answers that break the API's contract
}

// ackedBundle is a bundle returned to a client: an acknowledged signature.
type ackedBundle struct {
	raw    []byte
	digest digest.SHA256 // what was signed
	from   string        // which replica or round signed it
}

func (l *signLedger) add(from string, digests []digest.SHA256, out []byte, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed++
		if len(l.errs) < 3 {
			l.errs = append(l.errs, err)
		}
		return
	}
	var resp api.SignResponse
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Bundles) != len(digests) {
		l.bad = append(l.bad, fmt.Errorf("%s: answered %d items with %d bundles: %v", from, len(digests), len(resp.Bundles), err))
		return
	}
	for i, b := range resp.Bundles {
		l.acked = append(l.acked, ackedBundle{raw: b, digest: digests[i], from: from})
	}
	l.requests = append(l.requests, digests[0])
}

// count returns how many bundles were acknowledged so far.
func (l *signLedger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// failures returns how many requests failed so far.
func (l *signLedger) failures() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// signClient sends sign requests, one at a time, until stop is closed, each
// to the server target names then ("" while there is none).
func signClient(stop <-chan struct{}, target func() (url, label string), token, run string, id int, hc *http.Client, led *signLedger) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		server, label := target()
		if server == "" {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err := sendSign(server, label, token, run, id, n, hc, led); err != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// sendSign sends request n of client id, for 1 to 3 digests no other
// request has, and records the outcome in led.
func sendSign(server, label, token, run string, id, n int, hc *http.Client, led *signLedger) error {
	req := api.SignRequest{Nonce: api.Nonce(), Project: "default"}
	digests := make([]digest.SHA256, 1+n%3)
	for j := range digests {
		digests[j] = sha256.Sum256(fmt.Appendf(nil, "%s client %d request %d item %d", run, id, n, j))
		req.Items = append(req.Items, api.SignItem{Digest: digests[j].String()})
	}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := (&api.Client{URL: server, Token: token, HTTP: hc}).Call(ctx, api.Sign.Name, body)
	led.add(label, digests, out, err)
	return err
}

// loadClient returns an HTTP client that keeps a connection per client.
func loadClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr}
}

// logChecker checks bundles and the log a server serves against the
// control plane's trusted root and signing key.
type logChecker struct {
	cl       *tlog.Client
	v        *verifier.Verifier
	keyNames map[string]string // hex SHA-256 of a DER public key -> which key
	auditKey []byte            // the audit key, DER
}

func newLogChecker(t *testing.T, d *planeDir, trustedRoot []byte, server string) *logChecker {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(trustedRoot)
	if err != nil {
		t.Fatalf("trusted root: %v", err)
	}
	var tl *root.TransparencyLog
	for _, l := range tr.RekorLogs() {
		tl = l
	}
	pub, ok := tl.PublicKey.(ed25519.PublicKey)
	if len(tr.RekorLogs()) != 1 || !ok {
		t.Fatalf("trusted root: want one log, with an Ed25519 key")
	}
	u, err := url.Parse(tl.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	nv, err := tlog.NewNoteVerifier(u.Hostname(), pub)
	if err != nil {
		t.Fatal(err)
	}
	signing := parsePEMKey(t, d.signingKey)
	v, err := verifier.New(verifier.Trust{Roots: []*root.TrustedRoot{tr}, Keys: []crypto.PublicKey{signing}})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := os.ReadFile(filepath.Join(d.home, "control", "audit.pub"))
	if err != nil {
		t.Fatal(err)
	}
	auditKey := parsePEMKey(t, audit)
	auditDER, err := x509.MarshalPKIXPublicKey(auditKey)
	if err != nil {
		t.Fatal(err)
	}
	su, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	f, err := client.NewHTTPFetcher(su, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &logChecker{
		cl: tlog.NewClient(f, u.Hostname(), nv),
		v:  v,
		keyNames: map[string]string{
			keyFingerprint(t, signing):  "the signing key",
			keyFingerprint(t, auditKey): "the audit key",
		},
		auditKey: auditDER,
	}
}

func parsePEMKey(t *testing.T, data []byte) crypto.PublicKey {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("no PEM public key in %q", data)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyFingerprint(t *testing.T, k crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// logView is the log as a server serves it.
type logView struct {
	cp     *log.Checkpoint
	raw    []byte   // the signed checkpoint
	bodies [][]byte // every entry under cp, by index
	leaves [][]byte // their RFC 6962 leaf hashes
}

// readLog reads the log's checkpoint and every entry under it, checking that
// they are the entries the checkpoint commits to.
func (c *logChecker) readLog(ctx context.Context) (*logView, error) {
	cp, raw, err := c.cl.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	lv := &logView{cp: cp, raw: raw}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	tree := rf.NewEmptyRange(0)
	err = c.cl.Entries(ctx, 0, cp.Size, func(i uint64, body []byte) error {
		if i != uint64(len(lv.bodies)) {
			return fmt.Errorf("entry %d read after entry %d", i, len(lv.bodies)-1)
		}
		leaf := tlog.LeafHash(body)
		lv.bodies, lv.leaves = append(lv.bodies, body), append(lv.leaves, leaf)
		return tree.Append(leaf, nil)
	})
	if err != nil {
		return nil, err
	}
	if uint64(len(lv.bodies)) != cp.Size {
		return nil, fmt.Errorf("the checkpoint commits to %d entries; the log holds %d", cp.Size, len(lv.bodies))
	}
	if cp.Size > 0 {
		if h, err := tree.GetRootHash(nil); err != nil || !bytes.Equal(h, cp.Hash) {
			return nil, fmt.Errorf("the log's %d entries hash to %x (%v), not to the checkpoint's root %x", cp.Size, h, err, cp.Hash)
		}
	}
	return lv, nil
}

// ackCheck is what checkAcknowledged learned of the acknowledged bundles.
type ackCheck struct {
	index       []int64                    // log index of bundle i, -1 if unknown
	leafOf      [][]byte                   // leaf hash of bundle i's entry
	leaves      map[string]bool            // leaf hashes of all acknowledged entries
	checkpoints map[string]*log.Checkpoint // checkpoints the bundles carry, by envelope
}

// checkAcknowledged checks every acknowledged bundle: it parses, verifies
// offline over its digest with the signing key, has one log entry, whose
// index no other bundle has, and which the log holds at that index, included
// under the log's checkpoint. It returns every failure.
func (c *logChecker) checkAcknowledged(ctx context.Context, lv *logView, acked []ackedBundle) (*ackCheck, []error) {
	results := make([]bundleCheck, len(acked))
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range work {
				results[i] = c.checkBundle(ctx, lv, acked[i])
			}
		})
	}
	for i := range acked {
		work <- i
	}
	close(work)
	wg.Wait()

	ack := &ackCheck{
		index:       make([]int64, len(acked)),
		leafOf:      make([][]byte, len(acked)),
		leaves:      map[string]bool{},
		checkpoints: map[string]*log.Checkpoint{},
	}
	var errs []error
	at := map[int64]int{}
	for i, r := range results {
		ack.index[i], ack.leafOf[i] = r.index, r.leaf
		if r.err != nil {
			errs = append(errs, fmt.Errorf("bundle %d (%s, %s): %w", i, acked[i].from, acked[i].digest, r.err))
		}
		if r.index < 0 {
			continue
		}
		if j, ok := at[r.index]; ok {
			errs = append(errs, fmt.Errorf("bundles %d (%s) and %d (%s) both have log index %d", j, acked[j].from, i, acked[i].from, r.index))
		}
		at[r.index] = i
		ack.leaves[string(r.leaf)] = true
		if r.cp != "" && ack.checkpoints[r.cp] == nil {
			cp, err := c.cl.ParseCheckpoint([]byte(r.cp))
			if err != nil {
				errs = append(errs, fmt.Errorf("bundle %d (%s): checkpoint: %w", i, acked[i].from, err))
				continue
			}
			ack.checkpoints[r.cp] = cp
		}
	}
	return ack, errs
}

// bundleCheck is what checkBundle found of one bundle.
type bundleCheck struct {
	index int64  // its log index; -1 if it has none
	leaf  []byte // its entry's leaf hash
	cp    string // its checkpoint
	err   error  // what is wrong with it
}

func (c *logChecker) checkBundle(ctx context.Context, lv *logView, a ackedBundle) (r bundleCheck) {
	r.index = -1
	b, err := bundle.Parse(a.raw)
	if err != nil {
		r.err = err
		return r
	}
	entries := b.VerificationMaterial.GetTlogEntries()
	if len(entries) != 1 {
		r.err = fmt.Errorf("%d log entries, want 1", len(entries))
		return r
	}
	e := entries[0]
	r.index, r.leaf = e.GetLogIndex(), tlog.LeafHash(e.GetCanonicalizedBody())
	r.cp = e.GetInclusionProof().GetCheckpoint().GetEnvelope()
	var errs []error
	if _, err := c.v.Verify(b, verifier.Artifact{Digest: &a.digest}, verifier.Policy{Key: true}); err != nil {
		errs = append(errs, fmt.Errorf("offline verification: %w", err))
	}
	switch {
	case r.index < 0 || uint64(r.index) >= lv.cp.Size:
		errs = append(errs, fmt.Errorf("log index %d is not under the log's checkpoint of size %d", r.index, lv.cp.Size))
	case !bytes.Equal(lv.leaves[r.index], r.leaf):
		errs = append(errs, fmt.Errorf("log entry %d holds another entry than the one acknowledged (leaf %x, acknowledged %x)", r.index, lv.leaves[r.index], r.leaf))
	default:
		if _, err := c.cl.InclusionProof(ctx, uint64(r.index), lv.cp); err != nil {
			errs = append(errs, err)
		}
	}
	r.err = errors.Join(errs...)
	return r
}

// checkConsistent checks that every checkpoint is consistent with the log's:
// a prefix of its tree, proved by a consistency proof.
func (c *logChecker) checkConsistent(ctx context.Context, lv *logView, cps map[string]*log.Checkpoint) []error {
	var errs []error
	bySize := map[uint64]*log.Checkpoint{}
	for _, cp := range cps {
		if prev, ok := bySize[cp.Size]; ok && !bytes.Equal(prev.Hash, cp.Hash) {
			errs = append(errs, fmt.Errorf("two checkpoints of size %d with roots %x and %x", cp.Size, prev.Hash, cp.Hash))
			continue
		}
		bySize[cp.Size] = cp
	}
	for _, s := range slices.Sorted(maps.Keys(bySize)) {
		if _, err := c.cl.ConsistencyProof(ctx, bySize[s], lv.cp); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// checkExplained checks that every log entry is an acknowledged one
// (leaves), an audit anchor the state database records, or one of cutShort,
// audit anchors logged with no row (which checkAnchors finds, and 'audit log
// --verify' matches to heads of the chain); and that every anchor row's
// entry is in the log where the row says.
func (c *logChecker) checkExplained(lv *logView, leaves map[string]bool, anchors []state.Anchor, cutShort []int) []error {
	var errs []error
	anchorAt := map[uint64]bool{}
	for _, i := range cutShort {
		anchorAt[uint64(i)] = true
	}
	for _, a := range anchors {
		switch {
		case a.LogIndex < 0 || uint64(a.LogIndex) >= lv.cp.Size:
			errs = append(errs, fmt.Errorf("the anchor of audit entry %d is at log index %d, not under the checkpoint of size %d", a.Seq, a.LogIndex, lv.cp.Size))
		case !bytes.Equal(lv.leaves[a.LogIndex], a.LeafHash):
			errs = append(errs, fmt.Errorf("the anchor of audit entry %d is not log entry %d", a.Seq, a.LogIndex))
		default:
			anchorAt[uint64(a.LogIndex)] = true
		}
	}
	for i, leaf := range lv.leaves {
		if !leaves[string(leaf)] && !anchorAt[uint64(i)] {
			errs = append(errs, fmt.Errorf("log entry %d (%s) was acknowledged to no client and is no audit anchor", i, c.describe(lv.bodies[i])))
		}
	}
	return errs
}

// checkAnchors checks the audit anchors in the log, the entries the audit
// key signed: no two log the same audit head (sign the same statement), and
// no two anchor rows record the same head. It returns how many anchors the
// log holds and, in order, the indices of those no anchor row records (an
// anchor cut short: logged, but its row never written).
func (c *logChecker) checkAnchors(lv *logView, anchors []state.Anchor) (logged int, unrecorded []int, errs []error) {
	recorded := map[int64]bool{}
	bySeq := map[int64]int64{}
	for _, a := range anchors {
		recorded[a.LogIndex] = true
		if i, ok := bySeq[a.Seq]; ok {
			errs = append(errs, fmt.Errorf("two anchor rows record audit entry %d, at log indices %d and %d", a.Seq, i, a.LogIndex))
		}
		bySeq[a.Seq] = a.LogIndex
	}
	first := map[string]int{}
	for i, body := range lv.bodies {
		e, err := tlog.ParseEntry(body)
		if err != nil {
			errs = append(errs, fmt.Errorf("log entry %d: %w", i, err))
			continue
		}
		hr := e.GetSpec().GetHashedRekordV002()
		if !bytes.Equal(hr.GetSignature().GetVerifier().GetPublicKey().GetRawBytes(), c.auditKey) {
			continue
		}
		logged++
		stmt := string(hr.GetData().GetDigest())
		if j, ok := first[stmt]; ok {
			errs = append(errs, fmt.Errorf("log entries %d and %d anchor the same audit head (statement sha256:%x)", j, i, stmt))
		} else {
			first[stmt] = i
		}
		if !recorded[int64(i)] {
			unrecorded = append(unrecorded, i)
		}
	}
	return logged, unrecorded, errs
}

// describe names an entry's key and digest.
func (c *logChecker) describe(body []byte) string {
	e, err := tlog.ParseEntry(body)
	if err != nil {
		return err.Error()
	}
	hr := e.GetSpec().GetHashedRekordV002()
	sum := sha256.Sum256(hr.GetSignature().GetVerifier().GetPublicKey().GetRawBytes())
	who, ok := c.keyNames[hex.EncodeToString(sum[:])]
	if !ok {
		who = "key sha256:" + hex.EncodeToString(sum[:])
	}
	return fmt.Sprintf("signed by %s over sha256:%x", who, hr.GetData().GetDigest())
}

// reportErrors fails the test with the first errors of a check.
func reportErrors(t *testing.T, what string, errs []error) {
	t.Helper()
	if len(errs) == 0 {
		return
	}
	const show = 10
	var lines []string
	for _, err := range errs[:min(show, len(errs))] {
		lines = append(lines, "  "+err.Error())
	}
	if len(errs) > show {
		lines = append(lines, fmt.Sprintf("  and %d more", len(errs)-show))
	}
	t.Errorf("%s: %d failures:\n%s", what, len(errs), strings.Join(lines, "\n"))
}

// containsError reports whether one of errs says all of the parts.
func containsError(errs []error, parts ...string) bool {
	for _, err := range errs {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(err.Error(), p) }) {
			return true
		}
	}
	return false
}
