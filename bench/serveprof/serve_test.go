// Package serveprof runs the control plane server in a test binary, as
// 'hallmark serve' runs it, with net/http/pprof beside it, so that a load
// (bench/loadgen) can be profiled from the server's side: CPU, heap,
// goroutines, and where goroutines block or wait on mutexes.
//
// It is a tool for bench/serve.sh (PROFILE=...), not a test: TestServe
// skips unless SERVEPROF_HOME names an initialized data directory. Settings,
// as environment variables:
//
//	SERVEPROF_HOME        the data directory ('hallmark init --insecure-plaintext')
//	SERVEPROF_ADDR        the API's listen address (default 127.0.0.1:8080)
//	SERVEPROF_PPROF       net/http/pprof's listen address (default 127.0.0.1:6060)
//	SERVEPROF_FOR         how long to serve (default 60s)
//	SERVEPROF_CHECKPOINT  --checkpoint-interval (default: the log's)
//	SERVEPROF_BATCH_AGE   --batch-max-age (default: the log's)
//	SERVEPROF_BLOCK       runtime.SetBlockProfileRate and
//	                      SetMutexProfileFraction argument (default 0: off)
//
// Like 'hallmark serve', it runs at GOGC=400 unless GOGC is set.
package serveprof

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiling endpoints, on their own listener
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
	"github.com/hallmark-dev/hallmark/server"
)

func TestServe(t *testing.T) {
	home := os.Getenv("SERVEPROF_HOME")
	if home == "" {
		t.Skip("SERVEPROF_HOME is not set: this is bench/serve.sh's profiling server, not a test")
	}
	env := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	dur := func(k string) time.Duration {
		d, err := time.ParseDuration(env(k, "0s"))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return d
	}
	serveFor := dur("SERVEPROF_FOR")
	if serveFor == 0 {
		serveFor = time.Minute
	}
	if n, _ := strconv.Atoi(env("SERVEPROF_BLOCK", "0")); n > 0 {
		runtime.SetBlockProfileRate(n)
		runtime.SetMutexProfileFraction(n)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	plane, err := controlplane.Open(ctx, home, controlplane.Options{
		CheckpointInterval: dur("SERVEPROF_CHECKPOINT"), BatchMaxAge: dur("SERVEPROF_BATCH_AGE"), Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer plane.Close(context.Background())

	// The same handler and limits as cmd/hallmark/serve.go, with no rate
	// limit to speak of.
	rate := 1e6
	srv := &http.Server{
		Handler: server.New(server.Config{
			Ops: plane, TSA: planetest.TSA(t, plane), Tiles: plane.Tiles(),
			TrustedRoot: plane.TrustedRoot, Ready: plane.Ready, Audit: plane.AuditRefusal,
			Logger: logger, Rate: rate, Burst: int(2 * rate),
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", env("SERVEPROF_ADDR", "127.0.0.1:8080"))
	if err != nil {
		t.Fatal(err)
	}
	pln, err := net.Listen("tcp", env("SERVEPROF_PPROF", "127.0.0.1:6060"))
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(pln, http.DefaultServeMux)
	go srv.Serve(ln)
	t.Logf("serving %s for %v, pprof on %s", ln.Addr(), serveFor, pln.Addr())
	time.Sleep(serveFor)
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	pln.Close()
}
