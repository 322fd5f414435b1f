// Package server serves Hallmark's control plane over HTTP. It is an
// http.Handler over a small set of operations (Ops), so the control plane that
// 'hallmark sign' runs in-process is the one 'hallmark serve' offers.
//
// Routes:
//
//	GET  /checkpoint, /tile/...   the transparency log, per C2SP tlog-tiles,
//	                              read from the log's directory
//	POST /api/v2/log/entries      append a Rekor v2 hashedrekord v0.0.2 entry:
//	                              {"hashedRekordRequestV002": {...}} in, the
//	                              TransparencyLogEntry with its inclusion proof
//	                              and checkpoint out (JSON)
//	POST /api/v1/timestamp        RFC 3161 over HTTP (application/timestamp-query)
//	GET  /api/v1/timestamp/certchain  the TSA certificate chain, PEM
//	GET  /healthz                 liveness
//
// Requests are hostile: bodies are bounded, malformed ones get a 400 naming
// what is wrong, and nothing is written to the log before the entry's
// signature verifies. Bad input never gets a 5xx.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/tlog"
)

// Ops are the control plane operations the server offers.
type Ops interface {
	// AppendHashedRekord checks the signature of a hashedrekord request,
	// logs it, and returns its log entry once a published checkpoint
	// commits to it. A request the log will not hold is an error wrapping
	// tlog.ErrRefused, and nothing is logged.
	AppendHashedRekord(ctx context.Context, req *rekorpb.HashedRekordRequestV002) (*protorekor.TransparencyLogEntry, error)
}

// maxEntryRequest bounds an append request: a signature, a digest and a key
// or certificate chain are a few KiB.
const maxEntryRequest = 256 << 10

// New returns the server's handler. tiles is the log's directory, as an
// fs.FS; only its checkpoint and tile/ tree are served. tsa serves RFC 3161.
func New(ops Ops, tsa http.Handler, tiles fs.FS, logger *slog.Logger) http.Handler {
	s := &server{ops: ops, tiles: tiles, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /checkpoint", s.file)
	mux.HandleFunc("GET /tile/", s.file)
	mux.HandleFunc("POST /api/v2/log/entries", s.appendEntry)
	mux.Handle("/api/v1/timestamp", tsa)
	mux.Handle("/api/v1/timestamp/", tsa) // GET .../certchain: the PEM chain
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

type server struct {
	ops   Ops
	tiles fs.FS
	log   *slog.Logger
}

func (s *server) file(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if !fs.ValidPath(name) || (name != "checkpoint" && !strings.HasPrefix(name, "tile/")) {
		http.NotFound(w, r)
		return
	}
	if fi, err := fs.Stat(s.tiles, name); err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(s.tiles, name)
	if err != nil {
		s.log.Error("reading log file", "path", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
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

func (s *server) appendEntry(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "content type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEntryRequest))
	if err != nil {
		http.Error(w, fmt.Sprintf("request body over %d bytes", maxEntryRequest), http.StatusRequestEntityTooLarge)
		return
	}
	var req rekorpb.CreateEntryRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		http.Error(w, "malformed request: "+err.Error(), http.StatusBadRequest)
		return
	}
	hr := req.GetHashedRekordRequestV002()
	if hr == nil {
		http.Error(w, "request has no hashedRekordRequestV002: only hashedrekord v0.0.2 entries are logged", http.StatusBadRequest)
		return
	}
	entry, err := s.ops.AppendHashedRekord(r.Context(), hr)
	switch {
	case errors.Is(err, tlog.ErrRefused):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		s.log.Error("append", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	out, err := protojson.Marshal(entry)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}
