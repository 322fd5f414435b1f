package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/hallmark-dev/hallmark/server"
)

const serveUsage = `Usage: hallmark serve [--addr HOST:PORT] [--home DIR]

Serves the data directory's control plane over HTTP:

  GET  /checkpoint, /tile/...   the transparency log (C2SP tlog-tiles)
  POST /api/v2/log/entries      log a Rekor v2 hashedrekord v0.0.2 entry
  POST /api/v1/timestamp        the RFC 3161 timestamp authority
  GET  /healthz                 liveness

It listens on loopback only: authentication and TLS come with the control
plane server. SIGINT or SIGTERM stops it after in-flight appends finish.
Unless GOGC is set, it runs the garbage collector at GOGC=400.

Flags:
  --addr HOST:PORT   listen address (default 127.0.0.1:8080); a loopback address
  --home DIR         data directory (default $HALLMARK_HOME)
`

func runServe(c *cli, args []string) error {
	fs := c.flagSet("serve", serveUsage)
	homeDir := homeFlag(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("serve: takes no arguments")
	}
	if err := checkLoopback(*addr); err != nil {
		return err
	}
	// The log's appends allocate much short-lived memory; a less eager
	// collector buys about a fifth more appends per second (BENCHMARKS.md).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	plane, err := c.openPlane(ctx, *homeDir)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(c.stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		plane.Close(context.Background())
		return err
	}
	srv := &http.Server{
		Handler:           server.New(plane, plane.TSA(), os.DirFS(plane.LogDir()), logger),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
	}
	logger.Info("serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = srv.Shutdown(sctx)
	}
	if cerr := plane.Close(context.Background()); err == nil || errors.Is(err, http.ErrServerClosed) {
		err = cerr
	}
	return err
}

// checkLoopback refuses a listen address that is not on loopback.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("serve: --addr %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return usageErrorf("serve: --addr %q is not a loopback address", addr).
		hint("until authentication and TLS land, the server listens on 127.0.0.1 or ::1 only")
}
