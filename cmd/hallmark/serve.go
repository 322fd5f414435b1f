package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/server"
)

const serveUsage = `Usage: hallmark serve [--addr HOST:PORT] [--tls-cert F --tls-key F] [--home DIR] [--database URL]

Serves the data directory's control plane over HTTP: the control-plane API
(the operations the CLI runs in-process: signing, projects, tokens, keys,
audit), the transparency log, the timestamp authority.

  POST /api/v1/op/NAME          a control-plane operation; needs a bearer token
  POST /api/v2/log/entries      log a Rekor v2 hashedrekord v0.0.2 entry
  GET  /checkpoint, /tile/...   the transparency log (C2SP tlog-tiles)
  POST /api/v1/timestamp        the RFC 3161 timestamp authority
  GET  /api/v1/trusted-root     the trusted root, to verify offline
  GET  /healthz, /readyz        liveness; readiness (the database answers)
  GET  /metrics                 Prometheus metrics

With --tls-cert and --tls-key it serves HTTPS (TLS 1.2 or later). Without,
it listens on loopback only, unless --insecure-listen-plaintext says that
something in front of it (a TLS-terminating proxy) protects the tokens.
Several replicas may serve one control plane: the same data directory's keys,
one PostgreSQL state database and one MySQL transparency log ('hallmark init
--database postgres://... --log-database USER@tcp(HOST:PORT)/DB').

Logs are JSON lines (log/slog) on stderr. SIGINT or SIGTERM stops it after
in-flight requests, and their log appends, finish. Unless GOGC is set, it
runs the garbage collector at GOGC=400, and unless GOMEMLIMIT is set, with a
soft memory limit of 200 MiB.

Flags:
  --addr HOST:PORT               listen address (default 127.0.0.1:8080)
  --tls-cert FILE, --tls-key FILE  serve HTTPS with this certificate and key
  --insecure-listen-plaintext    allow plain HTTP on a non-loopback address
  --rate N                       requests per second per credential (default 2000)
  --anchor-every DURATION        log the audit log's head this often (default 1m)
  --checkpoint-interval D        the longest a signature waits for a checkpoint (default 100ms)
  --batch-max-age D              the longest an entry waits to be sequenced (default 100ms)
  --home DIR                     data directory (default $HALLMARK_HOME)
  --database URL                 the state database, if not the data directory's
  --pkcs11 URL                   a PKCS#11 token as key backend "pkcs11"
`

func runServe(c *cli, args []string) error {
	fs := c.flagSet("serve", serveUsage)
	pf := addPlaneFlags(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "")
	certFile := fs.String("tls-cert", "", "")
	keyFile := fs.String("tls-key", "", "")
	plaintext := fs.Bool("insecure-listen-plaintext", false, "")
	rate := fs.Float64("rate", 2000, "")
	anchorEvery := fs.Duration("anchor-every", time.Minute, "")
	cpInterval := fs.Duration("checkpoint-interval", 0, "")
	batchAge := fs.Duration("batch-max-age", 0, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("serve: takes no arguments")
	}
	if pf.server != "" {
		return usageErrorf("serve: --server names a remote control plane; serve runs one")
	}
	if (*certFile == "") != (*keyFile == "") {
		return usageErrorf("serve: give both --tls-cert and --tls-key, or neither")
	}
	if *rate <= 0 || *anchorEvery < time.Second {
		return usageErrorf("serve: --rate must be positive and --anchor-every at least 1s")
	}
	if *cpInterval < 0 || *cpInterval > time.Minute || *batchAge < 0 || *batchAge > time.Minute {
		return usageErrorf("serve: --checkpoint-interval and --batch-max-age must be between 0 and 1m")
	}
	var tlsCfg *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return usageErrorf("serve: TLS certificate: %v", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	} else if !*plaintext {
		if err := checkLoopback(*addr); err != nil {
			return err
		}
	}
	// The log's appends allocate much short-lived memory; a less eager
	// collector buys about a fifth more appends per second (BENCHMARKS.md).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	// ... within a soft memory limit, past which it collects as often as it
	// must (the heap under load is far smaller; see BENCHMARKS.md).
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(200 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(c.stderr, nil))
	plane, err := c.openPlaneWith(ctx, pf, controlplane.Options{CheckpointInterval: *cpInterval, BatchMaxAge: *batchAge, Logger: logger})
	if err != nil {
		return err
	}
	// The TSA's key is opened now, so a wrong key fails at start-up.
	authority, err := plane.TSA()
	if err != nil {
		plane.Close(context.Background())
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		plane.Close(context.Background())
		return err
	}
	if tlsCfg != nil {
		ln = tlsListener(ln, tlsCfg)
	}
	srv := &http.Server{
		Handler: server.New(server.Config{
			Ops: plane, TSA: authority, Tiles: plane.Tiles(),
			TrustedRoot: plane.TrustedRoot, Ready: plane.Ready, Audit: plane.AuditRefusal,
			Logger: logger, Rate: *rate, Burst: int(2 * *rate),
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	anchorCtx, stopAnchor := context.WithCancel(context.Background())
	defer stopAnchor()
	anchoring := make(chan struct{})
	go func() {
		defer close(anchoring)
		plane.AnchorEvery(anchorCtx, *anchorEvery)
	}()
	logger.Info("serving", "addr", ln.Addr().String(), "tls", tlsCfg != nil)
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
	stopAnchor()
	<-anchoring // an anchor in flight finishes before the log closes
	if cerr := plane.Close(context.Background()); err == nil || errors.Is(err, http.ErrServerClosed) {
		err = cerr
	}
	return err
}

func tlsListener(ln net.Listener, cfg *tls.Config) net.Listener { return tls.NewListener(ln, cfg) }

// checkLoopback refuses a plain-HTTP listen address that is not on loopback.
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
	return usageErrorf("serve: --addr %q is not a loopback address, and without TLS tokens would cross the network in the clear", addr).
		hint("give --tls-cert and --tls-key, or --insecure-listen-plaintext behind a TLS-terminating proxy")
}
