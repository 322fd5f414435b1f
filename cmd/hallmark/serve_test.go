package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
