package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
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

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
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
	srv := httptest.NewServer(server.New(server.Config{Ops: p, TSA: planetest.TSA(t, p), Tiles: p.Tiles(), TrustedRoot: p.TrustedRoot}))
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
	addr := serveAddr(t, &stderr)
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

// serveAddr waits for 'hallmark serve' to log where it listens.
func serveAddr(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(stderr.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				return rec.Addr
			}
		}
	}
	t.Fatalf("serve did not start: %s", stderr.String())
	return ""
}

// With --tls-cert and --tls-key, serve speaks HTTPS only, and the CLI's
// token works over it; without them, a non-loopback address is refused.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HALLMARK_HOME", filepath.Join(dir, "home"))
	mustRun(t, "init", "--insecure-plaintext")
	token := strings.TrimSpace(mustRun(t, "admin", "token", "issue", "--subject", "aud", "--role", "auditor"))

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	write(t, filepath.Join(dir, "tls.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(t, filepath.Join(dir, "tls.key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))

	var stdout bytes.Buffer
	var stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run([]string{"serve", "--addr", "127.0.0.1:0", "--tls-cert", filepath.Join(dir, "tls.pem"), "--tls-key", filepath.Join(dir, "tls.key")}, &stdout, &stderr)
	}()
	addr := serveAddr(t, &stderr)
	pool := x509.NewCertPool()
	cert, _ := x509.ParseCertificate(der)
	pool.AddCert(cert)
	cl := &api.Client{URL: "https://" + addr, Token: token, HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	out, err := cl.Call(context.Background(), api.Whoami.Name, []byte(`{}`))
	if err != nil || !strings.Contains(string(out), `"role":"auditor"`) {
		t.Errorf("whoami over TLS: %s %v", out, err)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered on the TLS port")
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	if code := <-done; code != 0 {
		t.Errorf("serve: exit %d: %s", code, stderr.String())
	}

	var e bytes.Buffer
	if code := run([]string{"serve", "--addr", "0.0.0.0:0"}, &stdout, &e); code != exitBadInput || !strings.Contains(e.String(), "--tls-cert") {
		t.Errorf("plain HTTP on all interfaces: exit %d: %s", code, e.String())
	}
	e.Reset()
	if code := run([]string{"serve", "--tls-cert", filepath.Join(dir, "tls.pem")}, &stdout, &e); code != exitBadInput || !strings.Contains(e.String(), "give both") {
		t.Errorf("half a TLS configuration: exit %d: %s", code, e.String())
	}
}
