package tlog_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorverify "github.com/sigstore/rekor-tiles/v2/pkg/verify"
	sumdbnote "golang.org/x/mod/sumdb/note"
	sumdbtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/hallmark-dev/hallmark/tlog"
)

const origin = "log.hallmark.test"

func newLog(t *testing.T) (*tlog.Log, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tlog.OpenPOSIX(context.Background(), t.TempDir(), tlog.Config{Origin: origin, Signer: priv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l, pub
}

func signedBody(t *testing.T, k *ecdsa.PrivateKey, msg string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(msg))
	sig, err := k.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	body, err := tlog.HashedRekord(sum[:], sig, k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// checkIndependently verifies an entry with golang.org/x/mod/sumdb: the
// checkpoint's signature with sumdb/note, and the inclusion proof with
// sumdb/tlog, sharing no code with Tessera or sigstore.
func checkIndependently(t *testing.T, e *protorekor.TransparencyLogEntry, v sumdbnote.Verifier) {
	t.Helper()
	n, err := sumdbnote.Open([]byte(e.InclusionProof.Checkpoint.Envelope), sumdbnote.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != origin {
		t.Fatalf("checkpoint body %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	rootRaw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootRaw) != sumdbtlog.HashSize {
		t.Fatalf("root hash %q", lines[2])
	}
	var root sumdbtlog.Hash
	copy(root[:], rootRaw)
	var proof sumdbtlog.RecordProof
	for _, h := range e.InclusionProof.Hashes {
		var x sumdbtlog.Hash
		copy(x[:], h)
		proof = append(proof, x)
	}
	if err := sumdbtlog.CheckRecord(proof, size, root, e.LogIndex, sumdbtlog.RecordHash(e.CanonicalizedBody)); err != nil {
		t.Fatalf("inclusion of %d in %d: %v", e.LogIndex, size, err)
	}
}

func TestAppendProves(t *testing.T) {
	l, pub := newLog(t)
	v, err := tlog.NewNoteVerifier(origin, pub)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const n = 40
	entries := make([]*protorekor.TransparencyLogEntry, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := l.Append(context.Background(), signedBody(t, k, fmt.Sprint("artifact ", i)))
			if err != nil {
				t.Error(err)
				return
			}
			entries[i] = e
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, e := range entries {
		if e == nil {
			t.FailNow()
		}
		if seen[e.LogIndex] {
			t.Fatalf("index %d given twice", e.LogIndex)
		}
		seen[e.LogIndex] = true
		checkIndependently(t, e, v)
		if err := rekorverify.VerifyLogEntry(e, v); err != nil {
			t.Fatalf("rekor-tiles verification of %d: %v", e.LogIndex, err)
		}
		if _, err := tlog.ParseEntry(e.CanonicalizedBody); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHashedRekordRefusesBadSignatures(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sum := sha256.Sum256([]byte("x"))
	sig, _ := k.Sign(rand.Reader, sum[:], crypto.SHA256)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := tlog.HashedRekord(sum[:], sig, other.Public()); err == nil {
		t.Error("entry with another key's signature accepted")
	}
	if _, err := tlog.HashedRekord(sum[:16], sig, k.Public()); err == nil {
		t.Error("short digest accepted")
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := tlog.HashedRekord(sum[:], sig, edPub); err == nil {
		t.Error("pure Ed25519 accepted")
	}
}

func TestCheckOrigin(t *testing.T) {
	for _, o := range []string{"", "a b", "example.com/log", "https://x", "a+b"} {
		if tlog.CheckOrigin(o) == nil {
			t.Errorf("origin %q accepted", o)
		}
	}
	if err := tlog.CheckOrigin("log.example.com"); err != nil {
		t.Error(err)
	}
}

func TestAppendRefusesNonEntries(t *testing.T) {
	l, _ := newLog(t)
	for _, body := range []string{"not an entry", `{"kind":"intoto","apiVersion":"0.0.2"}`, `{}`} {
		if _, err := l.Append(context.Background(), []byte(body)); !errors.Is(err, tlog.ErrRefused) {
			t.Errorf("Append(%q): %v", body, err)
		}
	}
}

// TestFS: the log's file system view serves what the POSIX directory holds,
// byte for byte, and nothing else.
func TestFS(t *testing.T) {
	ctx := context.Background()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	l, err := tlog.OpenPOSIX(ctx, dir, tlog.Config{Origin: origin, Signer: priv})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			if _, err := l.Append(ctx, signedBody(t, k, fmt.Sprint("fs ", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	fsys := l.FS()
	n := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if rel != "checkpoint" && !strings.HasPrefix(rel, "tile/") {
			return nil
		}
		want, _ := os.ReadFile(path)
		got, err := fs.ReadFile(fsys, rel)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want the %d bytes on disk", rel, len(got), err, len(want))
		}
		n++
		return nil
	})
	if err != nil || n < 4 {
		t.Fatalf("walked %d files: %v", n, err)
	}
	for _, bad := range []string{"../x", "tile", "tile/x/1", "tile/0/x999/000", "tile/entries/abc", ".state/treeState", "tile/9/000"} {
		if _, err := fs.ReadFile(fsys, bad); err == nil {
			t.Errorf("%s: read", bad)
		}
	}
}
