package controlplane_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/keystore"
	"github.com/hallmark-dev/hallmark/tlog"
)

func TestInitRefusals(t *testing.T) {
	home := t.TempDir()
	if err := controlplane.Init(home, controlplane.InitOptions{Origin: "https://not-a-host"}); err == nil {
		t.Error("an origin that is not a hostname was accepted")
	}
	if err := controlplane.Init(home, controlplane.InitOptions{Passphrase: []byte("pw")}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(home, "control", "config.json"))
	if err := controlplane.Init(home, controlplane.InitOptions{}); err == nil {
		t.Error("a second Init succeeded")
	}
	if again, _ := os.ReadFile(filepath.Join(home, "control", "config.json")); string(again) != string(cfg) {
		t.Error("a refused Init changed the configuration")
	}
	if _, err := controlplane.Open(context.Background(), home, func() ([]byte, error) { return []byte("wrong"), nil }); !errors.Is(err, keystore.ErrPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := controlplane.Open(context.Background(), t.TempDir(), nil); !errors.Is(err, controlplane.ErrNotInitialized) {
		t.Errorf("empty directory: %v", err)
	}
	p, err := controlplane.Open(context.Background(), home, func() ([]byte, error) { return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())
}

// Record logs concurrently; the records list exactly the entries made; the
// trusted root names the log and the TSA as sigstore-go reads them.
func TestRecordAndTrustedRoot(t *testing.T) {
	home := t.TempDir()
	if err := controlplane.Init(home, controlplane.InitOptions{Origin: "log.example.test"}); err != nil {
		t.Fatal(err)
	}
	p, err := controlplane.Open(context.Background(), home, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hint, _ := bundle.KeyHint(k.Public())
	const n = 20
	var wg sync.WaitGroup
	bundles := make([]*bundle.Bundle, n)
	for i := range n {
		sum := sha256.Sum256([]byte{byte(i)})
		sig, _ := k.Sign(rand.Reader, sum[:], crypto.SHA256)
		b, err := bundle.NewMessageSignature(sum[:], sig, hint)
		if err != nil {
			t.Fatal(err)
		}
		bundles[i] = b
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Record(context.Background(), b, k.Public()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// A signature the key did not make is refused, and nothing is recorded.
	bad, _ := bundle.NewMessageSignature(make([]byte, 32), []byte("not a signature"), hint)
	if err := p.Record(context.Background(), bad, k.Public()); !errors.Is(err, tlog.ErrRefused) {
		t.Errorf("bad signature: %v", err)
	}
	raw, err := p.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())

	tr, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	logs := tr.RekorLogs()
	if len(logs) != 1 || len(tr.TimestampingAuthorities()) != 1 {
		t.Fatalf("trusted root: %d logs, %d TSAs", len(logs), len(tr.TimestampingAuthorities()))
	}
	var logID []byte
	for id, l := range logs {
		if l.BaseURL != "https://log.example.test" {
			t.Errorf("base URL %q", l.BaseURL)
		}
		logID, _ = hex.DecodeString(id)
	}
	for _, b := range bundles {
		e := b.VerificationMaterial.TlogEntries
		if len(e) != 1 || hex.EncodeToString(e[0].LogId.KeyId) != hex.EncodeToString(logID) {
			t.Fatalf("bundle log entry %v", e)
		}
		if len(b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps) != 1 {
			t.Fatal("bundle without a timestamp")
		}
	}
	known, err := controlplane.RecordedLeaves(home, logID)
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != n {
		t.Fatalf("%d records for %d signatures", len(known), n)
	}
	if other, _ := controlplane.RecordedLeaves(home, []byte("another log")); len(other) != 0 {
		t.Errorf("records of another log: %v", other)
	}
	if fromDisk, err := controlplane.TrustedRootOf(home); err != nil || string(fromDisk) != string(raw) {
		t.Errorf("TrustedRootOf differs from TrustedRoot: %v", err)
	}

	// A damaged records file is an error naming the line, not a silent pass.
	f, _ := os.OpenFile(filepath.Join(home, "records.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("{not json\n")
	f.Close()
	if _, err := controlplane.RecordedLeaves(home, logID); err == nil || !strings.Contains(err.Error(), "records.jsonl:21") {
		t.Errorf("damaged records: %v", err)
	}
}
