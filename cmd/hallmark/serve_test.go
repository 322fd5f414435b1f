package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/server"
)

// The log commands read a served log as they read a local one.
func TestLogOverHTTP(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	t.Setenv("HALLMARK_HOME", home)
	mustRun(t, "init", "--insecure-plaintext")
	mustRun(t, "key", "generate")
	write(t, filepath.Join(dir, "a.txt"), "a")
	mustRun(t, "sign", filepath.Join(dir, "a.txt"))
	mustRun(t, "trust-root", "-o", filepath.Join(dir, "root.json"))

	p, err := controlplane.Open(context.Background(), home, controlplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	srv := httptest.NewServer(server.New(server.Config{Ops: p, TSA: p.TSA(), Tiles: os.DirFS(p.LogDir()), TrustedRoot: p.TrustedRoot}))
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

// SIGTERM stops 'hallmark serve' only after the sign requests in flight are
// answered: signed, logged and timestamped.
func TestServeGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	t.Setenv("HALLMARK_HOME", home)
	mustRun(t, "init", "--insecure-plaintext")
	mustRun(t, "key", "generate")
	token := strings.TrimSpace(mustRun(t, "admin", "token", "issue", "--subject", "ci", "--role", "builder", "--project", "default"))
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
	cl := &api.Client{URL: "http://" + addr, Token: token}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sum := sha256.Sum256(fmt.Append(nil, "in flight ", i))
			req, _ := json.Marshal(api.SignRequest{Nonce: api.Nonce(), Project: "default",
				Items: []api.SignItem{{Digest: "sha256:" + hex.EncodeToString(sum[:])}}})
			_, errs[i] = cl.Call(context.Background(), api.Sign.Name, req)
		})
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
	for i, err := range errs {
		if err != nil {
			t.Errorf("sign request %d in flight at shutdown: %v", i, err)
		}
	}
	if out := mustRun(t, "log", "checkpoint"); !strings.HasPrefix(out, controlplane.DefaultOrigin+"\n"+strconv.Itoa(n)+"\n") {
		t.Errorf("after shutdown the log holds: %q", out)
	}
}
