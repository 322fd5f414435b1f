package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/server"
)

// The log commands read a served log as they read a local one.
func TestLogOverHTTP(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	t.Setenv("HALLMARK_HOME", home)
	mustRun(t, "init", "--insecure-plaintext")
	mustRun(t, "key", "generate", "--insecure-plaintext")
	write(t, filepath.Join(dir, "a.txt"), "a")
	mustRun(t, "sign", filepath.Join(dir, "a.txt"))
	mustRun(t, "trust-root", "-o", filepath.Join(dir, "root.json"))

	p, err := controlplane.Open(context.Background(), home, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	srv := httptest.NewServer(server.New(p, p.TSA(), os.DirFS(p.LogDir()), slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()

	// A reader elsewhere has only the URL and the trusted root.
	t.Setenv("HALLMARK_HOME", filepath.Join(dir, "elsewhere"))
	remote := []string{"--log", srv.URL, "--trusted-root", filepath.Join(dir, "root.json")}
	if out := mustRun(t, append([]string{"log", "checkpoint"}, remote...)...); !strings.HasPrefix(out, controlplane.DefaultOrigin+"\n1\n") {
		t.Errorf("checkpoint over HTTP: %q", out)
	}
	if out := mustRun(t, append([]string{"log", "inclusion", "0"}, remote...)...); !strings.Contains(out, `"treeSize": 1`) {
		t.Errorf("inclusion over HTTP: %s", out)
	}
	// A log served under another key is refused.
	var stdout, stderr bytes.Buffer
	code := run([]string{"log", "checkpoint", "--log", srv.URL, "--trusted-root", "../../../shared/conformance/bundle-verify/rekor2-happy-path/trusted_root.json"}, &stdout, &stderr)
	if code == 0 {
		t.Errorf("a checkpoint verified under another log's key: %s", stdout.String())
	}
}

func TestServeListensOnLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:0": true, "localhost:9": true,
		"0.0.0.0:8080": false, ":8080": false, "192.0.2.1:80": false, "nohostport": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
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

// SIGTERM stops 'hallmark serve' only after the appends in flight are
// answered and logged.
func TestServeGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	t.Setenv("HALLMARK_HOME", home)
	mustRun(t, "init", "--insecure-plaintext")
	var stdout bytes.Buffer
	var stderr syncBuffer
	done := make(chan int)
	go func() { done <- run([]string{"serve", "--addr", "127.0.0.1:0"}, &stdout, &stderr) }()
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(stderr.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				addr = rec.Addr
			}
		}
	}
	if addr == "" {
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := appendRequest(t, k, fmt.Sprint("in flight ", i))
			resp, err := http.Post("http://"+addr+"/api/v2/log/entries", "application/json", bytes.NewReader(req))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	time.Sleep(30 * time.Millisecond) // the appends are waiting for a checkpoint
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	wg.Wait()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve: exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("append %d in flight at shutdown: status %d", i, c)
		}
	}
	if out := mustRun(t, "log", "checkpoint"); !strings.HasPrefix(out, controlplane.DefaultOrigin+"\n"+strconv.Itoa(n)+"\n") {
		t.Errorf("after shutdown the log holds: %q", out)
	}
}

func appendRequest(t *testing.T, k *ecdsa.PrivateKey, msg string) []byte {
	t.Helper()
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
