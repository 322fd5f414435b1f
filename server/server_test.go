package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	sumdbnote "golang.org/x/mod/sumdb/note"
	sumdbtlog "golang.org/x/mod/sumdb/tlog"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
	"github.com/hallmark-dev/hallmark/server"
)

type fixture struct {
	plane  *controlplane.Plane
	logs   *syncBuffer // what the server and the plane logged
	token  string      // a builder's, for project default
	url    string
	home   string
	origin string
	root   *prototrustroot.TrustedRoot
	// vexReady says project a has an approved exception to export.
	vexReady bool
	// worker is the worker token's principal; finished the id of a built
	// build of each project.
	worker   auth.Principal
	finished map[string]string
}

func newServer(t *testing.T) *fixture {
	return newServerWith(t, controlplane.Options{}, nil)
}

// newServerWith serves a new control plane opened with opts, its server
// configuration adjusted by tune if not nil. The server's and the plane's
// logs go to the fixture's logs.
func newServerWith(t *testing.T, opts controlplane.Options, tune func(*server.Config)) *fixture {
	t.Helper()
	logs := new(syncBuffer)
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Logger = logger
	p, home := planetest.New(t, opts)
	cfg := server.Config{
		Ops: p, TSA: planetest.TSA(t, p), Tiles: p.Tiles(), TrustedRoot: p.TrustedRoot, Ready: p.Ready,
		Audit: p.AuditRefusal, Logger: logger,
	}
	if tune != nil {
		tune(&cfg)
	}
	srv := httptest.NewServer(server.New(cfg))
	t.Cleanup(srv.Close)
	raw, err := p.TrustedRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var tr prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(raw, &tr); err != nil {
		t.Fatal(err)
	}
	return &fixture{plane: p, logs: logs, url: srv.URL, home: home, origin: controlplane.DefaultOrigin, root: &tr,
		token: planetest.Token(t, p, "ci", auth.Builder, controlplane.DefaultProject)}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// request makes a hashedrekord v0.0.2 append request for msg, signed by k.
func request(t *testing.T, k *ecdsa.PrivateKey, msg string) []byte {
	sum := sha256.Sum256([]byte(msg))
	sig, err := k.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	body, err := protojson.Marshal(&rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_HashedRekordRequestV002{
		HashedRekordRequestV002: &rekorpb.HashedRekordRequestV002{
			Digest: sum[:],
			Signature: &rekorpb.Signature{Content: sig, Verifier: &rekorpb.Verifier{
				Verifier:   &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: der}},
				KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
			}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// post posts body to url, with the bearer token if it is not empty.
func post(t *testing.T, url, token, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// tileReader reads hash tiles over HTTP for golang.org/x/mod/sumdb/tlog.
// C2SP tlog-tiles paths are sumdb's without the tile height ("tile/8/").
type tileReader struct {
	t   *testing.T
	url string
}

func (r tileReader) Height() int { return 8 }

func (r tileReader) ReadTiles(tiles []sumdbtlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, tile := range tiles {
		path := strings.Replace(tile.Path(), "tile/8/", "tile/", 1)
		code, data := get(r.t, r.url+"/"+path)
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d", path, code)
		}
		out = append(out, data)
	}
	return out, nil
}

func (r tileReader) SaveTiles([]sumdbtlog.Tile, [][]byte) {}

// checkpoint fetches and verifies the served checkpoint with sumdb/note.
func (f *fixture) checkpoint(t *testing.T) sumdbtlog.Tree {
	t.Helper()
	code, raw := get(t, f.url+"/checkpoint")
	if code != http.StatusOK {
		t.Fatalf("GET /checkpoint: %d", code)
	}
	return f.parseCheckpoint(t, raw)
}

func (f *fixture) parseCheckpoint(t *testing.T, raw []byte) sumdbtlog.Tree {
	t.Helper()
	vkey, err := sumdbnote.NewEd25519VerifierKey(f.origin, mustKey(t, f.root.Tlogs[0].PublicKey.RawBytes).(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	v, err := sumdbnote.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := sumdbnote.Open(raw, sumdbnote.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || lines[0] != f.origin {
		t.Fatalf("checkpoint %q", n.Text)
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != sumdbtlog.HashSize {
		t.Fatalf("checkpoint root %q", lines[2])
	}
	tree := sumdbtlog.Tree{N: size}
	copy(tree.Hash[:], h)
	return tree
}

func mustKey(t *testing.T, der []byte) any {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestIndependentProofs appends over HTTP, then checks with
// golang.org/x/mod/sumdb alone (no Tessera, no sigstore code), reading the
// served tiles: every entry's inclusion under the latest checkpoint, and the
// consistency of every checkpoint an append returned with the latest.
func TestIndependentProofs(t *testing.T) {
	f := newServer(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const n = 300
	entries := make([]*protorekor.TransparencyLogEntry, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			code, out := post(t, f.url+"/api/v2/log/entries", f.token, "application/json", request(t, k, fmt.Sprint("artifact ", i)))
			if code != http.StatusOK {
				t.Errorf("append %d: %d %s", i, code, out)
				return
			}
			var e protorekor.TransparencyLogEntry
			if err := protojson.Unmarshal(out, &e); err != nil {
				t.Error(err)
				return
			}
			entries[i] = &e
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	latest := f.checkpoint(t)
	if latest.N != n {
		t.Fatalf("tree size %d after %d appends", latest.N, n)
	}
	thr := sumdbtlog.TileHashReader(latest, tileReader{t, f.url})
	for _, e := range entries {
		proof, err := sumdbtlog.ProveRecord(latest.N, e.LogIndex, thr)
		if err != nil {
			t.Fatalf("prove %d: %v", e.LogIndex, err)
		}
		if err := sumdbtlog.CheckRecord(proof, latest.N, latest.Hash, e.LogIndex, sumdbtlog.RecordHash(e.CanonicalizedBody)); err != nil {
			t.Fatalf("inclusion of %d: %v", e.LogIndex, err)
		}
		old := f.parseCheckpoint(t, []byte(e.InclusionProof.Checkpoint.Envelope))
		tp, err := sumdbtlog.ProveTree(latest.N, old.N, thr)
		if err != nil {
			t.Fatalf("prove tree %d -> %d: %v", old.N, latest.N, err)
		}
		if err := sumdbtlog.CheckTree(tp, latest.N, latest.Hash, old.N, old.Hash); err != nil {
			t.Fatalf("checkpoint of size %d is not consistent with the latest: %v", old.N, err)
		}
	}
}

// TestBadRequests: hostile requests get 4xx and leave the log as it was.
func TestBadRequests(t *testing.T) {
	f := newServer(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if code, out := post(t, f.url+"/api/v2/log/entries", f.token, "application/json", request(t, k, "first")); code != http.StatusOK {
		t.Fatalf("append: %d %s", code, out)
	}
	before := f.checkpoint(t)

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	wrongSig := request(t, k, "x")
	var req rekorpb.CreateEntryRequest
	protojson.Unmarshal(wrongSig, &req)
	der, _ := x509.MarshalPKIXPublicKey(other.Public())
	req.GetHashedRekordRequestV002().Signature.Verifier.GetPublicKey().RawBytes = der
	wrongSig, _ = protojson.Marshal(&req)

	for _, c := range []struct {
		name  string
		ctype string
		body  []byte
		want  int
	}{
		{"garbage", "application/json", []byte("{not json"), 400},
		{"empty", "application/json", nil, 400},
		{"no spec", "application/json", []byte(`{}`), 400},
		{"unknown field", "application/json", []byte(`{"x":1}`), 400},
		{"signature by another key", "application/json", wrongSig, 400},
		{"wrong content type", "text/plain", request(t, k, "y"), 415},
		{"oversized", "application/json", bytes.Repeat([]byte("a"), 300<<10), 413},
	} {
		code, out := post(t, f.url+"/api/v2/log/entries", f.token, c.ctype, c.body)
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, out, c.want)
		}
	}
	for _, path := range []string{"/.state/treeState", "/tile/../.state/treeState", "/tile/", "/tile/entries", "/checkpoint/x", "/nosuch"} {
		if code, _ := get(t, f.url+path); code != http.StatusNotFound && code != http.StatusMovedPermanently {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
	resp, err := http.Get(f.url + "/api/v2/log/entries")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET append route: %d", resp.StatusCode)
	}
	if after := f.checkpoint(t); after != before {
		t.Errorf("the log changed: %v -> %v", before, after)
	}
}

// TestTimestampOverHTTP: openssl makes an RFC 3161 query, the server answers
// it, and openssl ts -verify accepts the answer with the chain from the
// exported trusted root.
func TestTimestampOverHTTP(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	f := newServer(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.WriteFile(data, []byte("a signature, say"), 0o644)
	query, err := exec.Command("openssl", "ts", "-query", "-data", data, "-sha256", "-cert").Output()
	if err != nil {
		t.Fatal(err)
	}
	code, resp := post(t, f.url+"/api/v1/timestamp", "", "application/timestamp-query", query)
	if code != http.StatusOK {
		t.Fatalf("timestamp: %d %s", code, resp)
	}
	tsr := filepath.Join(dir, "resp.tsr")
	os.WriteFile(tsr, resp, 0o644)
	certs := f.root.TimestampAuthorities[0].CertChain.Certificates
	var leaf, ca []byte
	leaf = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].RawBytes})
	for _, c := range certs[1:] {
		ca = append(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.RawBytes})...)
	}
	os.WriteFile(filepath.Join(dir, "leaf.pem"), leaf, 0o644)
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644)
	out, err := exec.Command("openssl", "ts", "-verify", "-data", data, "-in", tsr,
		"-CAfile", filepath.Join(dir, "ca.pem"), "-untrusted", filepath.Join(dir, "leaf.pem")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
	// And a changed file does not verify.
	os.WriteFile(data, []byte("another signature"), 0o644)
	if out, err := exec.Command("openssl", "ts", "-verify", "-data", data, "-in", tsr,
		"-CAfile", filepath.Join(dir, "ca.pem"), "-untrusted", filepath.Join(dir, "leaf.pem")).CombinedOutput(); err == nil {
		t.Fatalf("openssl verified a timestamp over other data:\n%s", out)
	}
}
