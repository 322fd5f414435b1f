// Package server serves Hallmark's control plane over HTTP. It is an
// http.Handler over a small set of operations (Ops), so the control plane that
// the CLI runs in-process is the one 'hallmark serve' offers.
//
// Routes:
//
//	POST /api/v1/op/NAME          a control-plane operation (package api):
//	                              JSON in, JSON out; needs a bearer token
//	POST /api/v2/log/entries      append a Rekor v2 hashedrekord v0.0.2 entry:
//	                              {"hashedRekordRequestV002": {...}} in, the
//	                              TransparencyLogEntry with its inclusion proof
//	                              and checkpoint out (JSON); needs a caller that
//	                              may sign
//	GET  /checkpoint, /tile/...   the transparency log, per C2SP tlog-tiles,
//	                              read from the log's directory
//	POST /api/v1/timestamp        RFC 3161 over HTTP (application/timestamp-query)
//	GET  /api/v1/timestamp/certchain  the TSA certificate chain, PEM
//	GET  /api/v1/trusted-root     the trusted_root.json to verify offline
//	GET  /healthz                 liveness: the process answers
//	GET  /readyz                  readiness: the state database answers
//	GET  /metrics                 Prometheus metrics (no secrets, no tokens)
//
// Requests are hostile. Every request has a deadline; bodies are bounded
// (413); callers are authenticated ("Authorization: Bearer", 401) and rate
// limited per credential (429, with Retry-After); refusals are audited by the
// control plane. Bad input never gets a 5xx, and the message of a 5xx carries
// no details: those go to the log.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/tlog"
)

// Ops are the control plane operations the server offers.
type Ops interface {
	// Authenticate returns the principal of a bearer credential, or an
	// *api.Error (401, 403).
	Authenticate(ctx context.Context, credential string) (auth.Principal, error)
	// Handle runs the operation name for who on a JSON request and returns
	// the JSON response; errors are *api.Error, or internal failures.
	Handle(ctx context.Context, who auth.Principal, name string, body []byte) ([]byte, error)
	// AppendHashedRekord checks the signature of a hashedrekord request,
	// logs it, and returns its log entry once a published checkpoint
	// commits to it. A request the log will not hold is an error wrapping
	// tlog.ErrRefused, and nothing is logged.
	AppendHashedRekord(ctx context.Context, req *rekorpb.HashedRekordRequestV002) (*protorekor.TransparencyLogEntry, error)
}

// Config configures a server.
type Config struct {
	Ops   Ops
	TSA   http.Handler // RFC 3161
	Tiles fs.FS        // the log's directory: only checkpoint and tile/ are served
	// TrustedRoot returns the trusted_root.json.
	TrustedRoot func(ctx context.Context) ([]byte, error)
	// Ready reports whether the server can serve requests.
	Ready func(ctx context.Context) error
	// Audit records a request refused before it reached an operation for
	// want of a credential or a valid one. Requests refused by rate limits
	// are counted in the metrics, not audited: auditing them would let a
	// flood write the audit log.
	Audit  func(ctx context.Context, actor, op, outcome, reason string)
	Logger *slog.Logger
	// RequestTimeout bounds each request's work; default 60s.
	RequestTimeout time.Duration
	// Rate and Burst limit each credential's requests; defaults 2000/s
	// and 4000. Anonymous requests share a limit per client address.
	Rate  float64
	Burst int
	// Registry receives the server's metrics; default a new registry.
	Registry *prometheus.Registry
}

// Failed authentications a client address may make: a burst, then a few
// per second.
const (
	failureRate  = 5
	failureBurst = 50
)

// maxEntryRequest bounds an append request: a signature, a digest and a key
// or certificate chain are a few KiB.
const maxEntryRequest = 256 << 10

type server struct {
	Config
	limits  *limiter
	metrics *metrics
}

// New returns the server's handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	if cfg.Rate == 0 {
		cfg.Rate, cfg.Burst = 2000, 4000
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Audit == nil {
		cfg.Audit = func(context.Context, string, string, string, string) {}
	}
	s := &server{Config: cfg, limits: newLimiter(cfg.Rate, cfg.Burst), metrics: newMetrics(cfg.Registry)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/op/{name}", s.op)
	mux.HandleFunc("POST /api/v2/log/entries", s.appendEntry)
	mux.HandleFunc("GET /checkpoint", s.file)
	mux.HandleFunc("GET /tile/", s.file)
	mux.Handle("/api/v1/timestamp", cfg.TSA)
	mux.Handle("/api/v1/timestamp/", cfg.TSA) // GET .../certchain: the PEM chain
	mux.HandleFunc("GET /api/v1/trusted-root", s.trustedRoot)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	return s.instrument(mux)
}

// instrument adds the deadline and the metrics around every request.
func (s *server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.RequestTimeout)
		defer cancel()
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec()
		next.ServeHTTP(sw, r.WithContext(ctx))
		d := time.Since(start)
		s.metrics.observe(route(r), sw.status, d)
		s.Logger.Debug("request", "route", route(r), "status", sw.status, "duration", d, "client", clientAddr(r))
	})
}

// route is the metrics label for a request: its route pattern, never its
// raw path (which an attacker controls).
func route(r *http.Request) string {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/api/v1/op/"):
		if o, ok := api.Lookup(strings.TrimPrefix(p, "/api/v1/op/")); ok {
			return "op:" + o.Name
		}
		return "op:unknown"
	case strings.HasPrefix(p, "/tile/"):
		return "/tile/"
	case p == "/checkpoint", p == "/api/v2/log/entries", p == "/api/v1/timestamp", p == "/api/v1/timestamp/certchain",
		p == "/api/v1/trusted-root", p == "/healthz", p == "/readyz", p == "/metrics":
		return p
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// writeError writes err as a JSON error: an *api.Error as it is, anything
// else as a bare 500 whose details go to the log only.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status >= 500 {
		if !errors.Is(err, context.Canceled) {
			s.Logger.Error("request failed", "route", route(r), "err", err)
		}
		ae = &api.Error{Status: http.StatusInternalServerError, Message: "internal error"}
		if errors.Is(err, context.DeadlineExceeded) {
			ae = &api.Error{Status: http.StatusServiceUnavailable, Message: "request timed out"}
		}
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hallmark"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.Status)
	json.NewEncoder(w).Encode(ae)
}

// authenticate returns the caller of r, after its rate limit.
func (s *server) authenticate(w http.ResponseWriter, r *http.Request, opName string) (auth.Principal, bool) {
	// Requests without a credential, or with one that fails, draw on their
	// client address's budget of failures: a flood of them (made-up tokens
	// each get a fresh credential bucket) is stopped there before each
	// costs the database a lookup and an audit entry.
	addrKey := "fail:" + clientAddr(r)
	if s.limits.empty(addrKey, failureRate, failureBurst) {
		s.tooMany(w, r, "client address's failed authentications", opName)
		return auth.Principal{}, false
	}
	cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || cred == "" {
		s.limits.take(addrKey, failureRate, failureBurst)
		s.Audit(r.Context(), "anonymous ("+clientAddr(r)+")", opName, "denied", "no bearer credential")
		s.writeError(w, r, api.Errorf(http.StatusUnauthorized, "no credential: send \"Authorization: Bearer TOKEN\" (an API token or an OIDC ID token)"))
		return auth.Principal{}, false
	}
	// The limit is per credential (its hash: no secret is kept), checked
	// before the credential is.
	sum := sha256.Sum256([]byte(cred))
	if !s.limits.allow("cred:" + hex.EncodeToString(sum[:16])) {
		s.tooMany(w, r, "credential", opName)
		return auth.Principal{}, false
	}
	who, err := s.Ops.Authenticate(r.Context(), cred)
	if err != nil {
		s.limits.take(addrKey, failureRate, failureBurst)
		s.Audit(r.Context(), "anonymous ("+clientAddr(r)+")", opName, "denied", err.Error())
		s.writeError(w, r, err)
		return auth.Principal{}, false
	}
	return who, true
}

func (s *server) tooMany(w http.ResponseWriter, r *http.Request, who, opName string) {
	s.metrics.limited.Inc()
	w.Header().Set("Retry-After", "1")
	s.writeError(w, r, api.Errorf(http.StatusTooManyRequests, "rate limit exceeded for this %s: retry later", who))
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// readJSON reads a bounded JSON request body.
func readJSON(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, api.Errorf(http.StatusUnsupportedMediaType, "content type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, api.Errorf(http.StatusRequestEntityTooLarge, "request body over %d bytes", max)
	}
	if err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "reading request body: %v", err)
	}
	return body, nil
}

func (s *server) op(w http.ResponseWriter, r *http.Request) {
	o, ok := api.Lookup(r.PathValue("name"))
	if !ok {
		s.writeError(w, r, api.Errorf(http.StatusNotFound, "no operation %q", truncate(r.PathValue("name"), 64)))
		return
	}
	who, ok := s.authenticate(w, r, o.Name)
	if !ok {
		return
	}
	body, err := readJSON(w, r, int64(api.MaxRequestOf(o.Name)))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.Ops.Handle(r.Context(), who, o.Name, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if o == api.Sign {
		s.metrics.signed.Inc()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:n]) + "..."
}

func (s *server) appendEntry(w http.ResponseWriter, r *http.Request) {
	who, ok := s.authenticate(w, r, "log.append")
	if !ok {
		return
	}
	if err := auth.Authorize(who, auth.Sign, who.Project); err != nil || who.Project == "" {
		if err == nil {
			err = fmt.Errorf("role %s does not sign for a project", who.Role)
		}
		s.Audit(r.Context(), who.String(), "log.append", "denied", err.Error())
		s.writeError(w, r, api.Errorf(http.StatusForbidden, "%v", err))
		return
	}
	body, err := readJSON(w, r, maxEntryRequest)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req rekorpb.CreateEntryRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		s.writeError(w, r, api.Errorf(http.StatusBadRequest, "malformed request: %v", err))
		return
	}
	hr := req.GetHashedRekordRequestV002()
	if hr == nil {
		s.writeError(w, r, api.Errorf(http.StatusBadRequest, "request has no hashedRekordRequestV002: only hashedrekord v0.0.2 entries are logged"))
		return
	}
	entry, err := s.Ops.AppendHashedRekord(r.Context(), hr)
	if errors.Is(err, tlog.ErrRefused) {
		s.writeError(w, r, api.Errorf(http.StatusBadRequest, "%v", err))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := protojson.Marshal(entry)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func (s *server) file(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if !fs.ValidPath(name) || (name != "checkpoint" && !strings.HasPrefix(name, "tile/")) {
		http.NotFound(w, r)
		return
	}
	if fi, err := fs.Stat(s.Tiles, name); err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(s.Tiles, name)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("reading log file %s: %w", name, err))
		return
	}
	// Full tiles never change; partial ones and the checkpoint do.
	if name == "checkpoint" || strings.Contains(name, ".p/") {
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if name == "checkpoint" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Write(data)
}

func (s *server) trustedRoot(w http.ResponseWriter, r *http.Request) {
	raw, err := s.TrustedRoot(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(raw)
}

func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			s.Logger.Warn("not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
	}
	io.WriteString(w, "ready\n")
}
