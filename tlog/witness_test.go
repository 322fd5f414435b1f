package tlog_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera/client"
	sumdbnote "golang.org/x/mod/sumdb/note"

	"github.com/hallmark-dev/hallmark/tlog"
)

// Checkpoints cosigned by witnesses (C2SP tlog-cosignature v1) are accepted,
// and a witness policy counts only valid cosignatures by the given witnesses.
func TestWitnessCosignatures(t *testing.T) {
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	l, err := tlog.OpenPOSIX(context.Background(), dir, tlog.Config{Origin: origin, Signer: priv})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e, err := l.Append(context.Background(), signedBody(t, k, "witnessed"))
	if err != nil {
		t.Fatal(err)
	}
	l.Close(context.Background())
	logV, _ := tlog.NewNoteVerifier(origin, pub)

	witness := func(name string) (sumdbnote.Signer, sumdbnote.Verifier) {
		skey, vkey, err := sumdbnote.GenerateKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := fnote.NewSignerForCosignatureV1(skey)
		if err != nil {
			t.Fatal(err)
		}
		cv, err := fnote.VKeyToCosignatureV1(vkey)
		if err != nil {
			t.Fatal(err)
		}
		v, err := fnote.NewVerifierForCosignatureV1(cv)
		if err != nil {
			t.Fatal(err)
		}
		return s, v
	}
	w1s, w1v := witness("witness.one.test")
	w2s, w2v := witness("witness.two.test")
	_, w3v := witness("witness.three.test")

	n, err := sumdbnote.Open([]byte(e.InclusionProof.Checkpoint.Envelope), sumdbnote.VerifierList(logV))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := sumdbnote.Sign(n, w1s, w2s)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "checkpoint"), cosigned, 0o644)
	c := tlog.NewClient(client.FileFetcher{Root: dir}, origin, logV)

	// Unknown cosignatures are ignored.
	if _, _, err := c.Checkpoint(context.Background()); err != nil {
		t.Fatalf("cosigned checkpoint refused: %v", err)
	}
	c.RequireWitnesses(2, w1v, w2v, w3v)
	if _, _, err := c.Checkpoint(context.Background()); err != nil {
		t.Fatalf("2 of 3 witnesses: %v", err)
	}
	c.RequireWitnesses(3, w1v, w2v, w3v)
	if _, _, err := c.Checkpoint(context.Background()); !errors.Is(err, tlog.ErrWitnesses) {
		t.Fatalf("3 of 3 required, 2 present: %v", err)
	}
}
