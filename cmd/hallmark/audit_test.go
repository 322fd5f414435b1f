package main

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/hallmark-dev/hallmark/audit"
)

// TestAuditVerifyCatchesTampering: 'hallmark audit log --verify' passes on
// the control plane's own audit log, and fails, naming the entry, when an
// event is altered in the database; an attacker who rewrites the chain from
// there on is caught by the anchor logged in the transparency log.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	t.Setenv("HALLMARK_HOME", home)
	mustRun(t, "init", "--insecure-plaintext")
	mustRun(t, "key", "generate")
	write(t, filepath.Join(dir, "a.txt"), "a")
	mustRun(t, "sign", filepath.Join(dir, "a.txt"))
	mustRun(t, "admin", "token", "issue", "--subject", "ci", "--role", "builder", "--project", "default")
	mustRun(t, "audit", "anchor")
	mustRun(t, "sign", filepath.Join(dir, "a.txt"))
	verify := func() (int, string) {
		var stdout, stderr bytes.Buffer
		code := run([]string{"audit", "log", "--verify"}, &stdout, &stderr)
		return code, stderr.String()
	}
	if code, out := verify(); code != 0 || !strings.Contains(out, "audit log verified: 5 entries chained, 1 anchors logged and verified") {
		t.Fatalf("untouched audit log: exit %d: %s", code, out)
	}

	db, err := sql.Open("sqlite", filepath.Join(home, "control", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var event []byte
	if err := db.QueryRow(`SELECT event FROM audit WHERE seq = 2`).Scan(&event); err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(event, []byte(`"sign"`), []byte(`"noop"`), 1)
	if _, err := db.Exec(`UPDATE audit SET event = ? WHERE seq = 2`, forged); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(); code != exitFailed || !strings.Contains(out, "chain broken") || !strings.Contains(out, "2") {
		t.Errorf("an altered event: exit %d: %s", code, out)
	}

	// Rewrite the chain's hashes from entry 2 on, as someone with write
	// access to the database could: the chain is whole again, but the
	// anchor in the log still holds the old head.
	rows, err := db.Query(`SELECT seq, event FROM audit WHERE seq >= 2 ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		seq   int64
		event []byte
	}
	var rewrite []row
	for rows.Next() {
		var r row
		rows.Scan(&r.seq, &r.event)
		rewrite = append(rewrite, r)
	}
	rows.Close()
	var prev []byte
	if err := db.QueryRow(`SELECT hash FROM audit WHERE seq = 1`).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	for _, r := range rewrite {
		h := audit.Hash(prev, r.seq, r.event)
		if _, err := db.Exec(`UPDATE audit SET prev = ?, hash = ? WHERE seq = ?`, prev, h, r.seq); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
	if code, out := verify(); code != exitFailed || !strings.Contains(out, "anchor of entry") {
		t.Errorf("a rewritten chain: exit %d: %s", code, out)
	}
	// Rewriting the anchor's recorded head too leaves its logged bundle,
	// signed by the audit key, over the old head.
	var anchored int64
	if err := db.QueryRow(`SELECT seq FROM anchors`).Scan(&anchored); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE anchors SET hash = (SELECT hash FROM audit WHERE seq = ?)`, anchored); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(); code != exitFailed || !strings.Contains(out, "anchor of entry 3") || !strings.Contains(out, "artifact does not match") {
		t.Errorf("a rewritten chain and anchor: exit %d: %s", code, out)
	}
	// Deleting the anchor leaves its entry in the transparency log.
	if _, err := db.Exec(`DELETE FROM anchors`); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(); code != exitFailed || !strings.Contains(out, "log entry 1 anchors an audit head that the chain does not have") {
		t.Errorf("a rewritten chain without its anchor: exit %d: %s", code, out)
	}
}
