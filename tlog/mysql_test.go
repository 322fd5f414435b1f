package tlog_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/hallmark-dev/hallmark/tlog"
)

// testMySQLDSN is the server the MySQL tests use when HALLMARK_TEST_MYSQL_DSN
// is not set: the local MariaDB.
const testMySQLDSN = "root@tcp(127.0.0.1:3306)/"

// mysqlDatabase creates a database with a fresh name on the test server,
// dropped when the test ends, and returns the DSN of that database. It skips
// the test if the server cannot be reached, unless HALLMARK_TEST_MYSQL_DSN
// names it (then the test fails).
func mysqlDatabase(t *testing.T) string {
	t.Helper()
	dsn, set := os.LookupEnv("HALLMARK_TEST_MYSQL_DSN")
	if !set {
		dsn = testMySQLDSN
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("HALLMARK_TEST_MYSQL_DSN: %v", err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		if set {
			t.Fatalf("MySQL server %s (HALLMARK_TEST_MYSQL_DSN): %v", cfg.Addr, err)
		}
		t.Skipf("no MySQL/MariaDB server at %s (set HALLMARK_TEST_MYSQL_DSN to use another): %v", cfg.Addr, err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "hallmark_tlog_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE `" + name + "`"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// openMySQLDB opens a connection pool to dsn, closed when the test ends
// (after the logs on it, which are closed by cleanups registered later).
func openMySQLDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Well below MariaDB's default max_connections of 151, which hundreds
	// of concurrent appends would otherwise exceed.
	db.SetMaxOpenConns(16)
	return db
}

func TestMySQL(t *testing.T) {
	db := openMySQLDB(t, mysqlDatabase(t))
	testStorage(t, func(ctx context.Context, cfg tlog.Config) (*tlog.Log, error) {
		return tlog.OpenMySQL(ctx, db, cfg)
	})
}

// TestMySQLReplicas appends through two logs open on one database at once,
// each with its own connection pool, as two `hallmark serve` replicas do.
func TestMySQLReplicas(t *testing.T) {
	dsn := mysqlDatabase(t)
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

	// The replicas start together, as after a deployment.
	replicas := make([]*tlog.Log, 2)
	errs := make([]error, len(replicas))
	var wg sync.WaitGroup
	for i := range replicas {
		db := openMySQLDB(t, dsn)
		wg.Go(func() { replicas[i], errs[i] = tlog.OpenMySQL(ctx, db, cfg) })
	}
	wg.Wait()
	for _, l := range replicas {
		if l != nil {
			t.Cleanup(func() { l.Close(ctx) })
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("starting replicas: %v", err)
	}

	const perReplica = 150
	bodies := make([][][]byte, len(replicas))
	entries := make([][]*protorekor.TransparencyLogEntry, len(replicas))
	for i := range replicas {
		bodies[i] = makeBodies(t, k, "replica "+string(rune('a'+i)), perReplica)
	}
	for i, l := range replicas {
		wg.Go(func() { entries[i], errs[i] = appendAll(l, bodies[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	all := slices.Concat(entries...)
	checkDense(t, all, slices.Concat(bodies...), 0)
	for _, e := range all {
		checkIndependently(t, e, v)
	}
	c := tlog.NewClient(replicas[1].Fetcher(), origin, v)
	latest, _, err := c.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Size != uint64(len(all)) {
		t.Fatalf("checkpoint size %d after %d appends", latest.Size, len(all))
	}
	checkReadBack(t, c, latest, all)
	checkProofs(t, c, all, latest)
}

func TestOpenMySQLRefusesShortCheckpointInterval(t *testing.T) {
	db := openMySQLDB(t, mysqlDatabase(t))
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tlog.Config{Origin: origin, Signer: priv, CheckpointInterval: 100 * time.Millisecond}
	if l, err := tlog.OpenMySQL(context.Background(), db, cfg); err == nil {
		l.Close(context.Background())
		t.Fatal("OpenMySQL accepted a 100ms checkpoint interval")
	}
}
