// Package tlog is Hallmark's transparency log: an append-only Merkle log of
// every signature the platform makes, built on Tessera (transparency-dev),
// stored as C2SP tlog-tiles, with checkpoints (C2SP tlog-checkpoint) signed as
// C2SP signed notes by the log's Ed25519 key.
//
// Entries are Rekor v2 entries, so standard Sigstore clients check them: the
// leaf is the RFC 8785 canonical JSON of a dev.sigstore.rekor.v2.Entry of kind
// "hashedrekord", apiVersion "0.0.2" (HashedRekord), and the Merkle tree hashes
// leaves and nodes as RFC 6962 §2.1 does. A signature over an artifact's
// digest is logged with that digest; a DSSE envelope's signature is logged with
// the digest of the envelope's PAE, as Rekor v2 logs DSSE.
//
// Sigstore clients identify the log by the hostname of its base URL: the
// checkpoint origin must be that hostname, and the log ID in bundles and in the
// trusted root is the SHA-256 of origin || "\n" || 0x01 || public key, whose
// first four bytes are the checkpoint signature's key hash (C2SP signed-note,
// Ed25519 signature type).
//
// Append returns only once the entry is integrated and committed to by a
// published checkpoint: an acknowledged entry survives a crash. On POSIX,
// Tessera writes with fsync; on MySQL, durability is the server's
// (innodb_flush_log_at_trx_commit=1). Entry bodies are made by HashedRekord
// or EntryBody, which check the signature over the digest with the entry's
// key; Append itself refuses a body that is not a hashedrekord v0.0.2 entry.
package tlog

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/rekor-tiles/v2/pkg/types/hashedrekord"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"
)

// Kind and version of the entries this log holds.
const (
	Kind    = "hashedrekord"
	Version = "0.0.2"
)

// Config configures a log.
type Config struct {
	// Origin is the checkpoint origin: a hostname, such as log.example.com.
	Origin string
	// Signer is the log's Ed25519 key. It signs checkpoints only.
	Signer crypto.Signer
	// CheckpointInterval is the longest an append waits for a checkpoint to
	// commit to it. Default 100ms.
	CheckpointInterval time.Duration
	// BatchMaxAge is the longest an entry waits to be sequenced in a batch.
	// Default 100ms: under load, fewer and larger batches cost less CPU, and a
	// single signer waits for the checkpoint interval anyway (BENCHMARKS.md).
	BatchMaxAge time.Duration
	// BatchMaxSize is the largest batch. Default 1024.
	BatchMaxSize uint
}

// Log is an open log, ready to append.
type Log struct {
	logID    []byte
	appender *tessera.Appender
	reader   tessera.LogReader
	awaiter  *tessera.PublicationAwaiter
	shutdown func(context.Context) error
	cancel   context.CancelFunc

	// proofs build inclusion proofs for the latest checkpoint size. The
	// appends that one checkpoint releases (hundreds, under load) share
	// them, so each tile is read and parsed once per builder per
	// checkpoint, not per append. A builder is not safe for concurrent
	// use; there is one per CPU, so the burst of proofs after a checkpoint
	// uses every core.
	proofs []proofSlot
}

// OpenPOSIX opens, creating it if needed, the log stored in the directory dir
// (Tessera's POSIX driver: the directory is the tlog-tiles tree, ready to be
// served as static files). Several processes may append to one directory,
// serialised by file locks; one process must not open two Logs on it, since
// those locks do not exclude within a process.
func OpenPOSIX(ctx context.Context, dir string, cfg Config) (*Log, error) {
	drv, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return nil, fmt.Errorf("tlog: opening %s: %w", dir, err)
	}
	return open(ctx, drv, cfg)
}

func open(ctx context.Context, drv tessera.Driver, cfg Config) (*Log, error) {
	ns, err := NewNoteSigner(cfg.Origin, cfg.Signer)
	if err != nil {
		return nil, err
	}
	_, logID, err := KeyHash(cfg.Origin, cfg.Signer.Public())
	if err != nil {
		return nil, err
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = 100 * time.Millisecond
	}
	if cfg.BatchMaxAge == 0 {
		cfg.BatchMaxAge = 100 * time.Millisecond
	}
	if cfg.BatchMaxSize == 0 {
		cfg.BatchMaxSize = 1024
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(ns).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithPushback(64 << 10)
	// The appender's background work lives as long as the Log, not as long
	// as the caller's context.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	app, shutdown, reader, err := tessera.NewAppender(bg, drv, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("tlog: %w", err)
	}
	poll := min(cfg.CheckpointInterval/4, 25*time.Millisecond)
	return &Log{
		logID:    logID,
		appender: app,
		reader:   reader,
		awaiter:  tessera.NewPublicationAwaiter(bg, reader.ReadCheckpoint, poll),
		shutdown: shutdown,
		cancel:   cancel,
		proofs:   make([]proofSlot, runtime.GOMAXPROCS(0)),
	}, nil
}

// Close waits for in-flight appends to be integrated, then stops the log.
func (l *Log) Close(ctx context.Context) error {
	err := l.shutdown(ctx)
	l.cancel()
	return err
}

// Fetcher reads what this log has published, through the same tlog-tiles
// operations a remote reader uses, for either backend.
func (l *Log) Fetcher() Fetcher { return l.reader }

// LogID returns the log's ID, as bundles and trusted roots carry it.
func (l *Log) LogID() []byte { return append([]byte(nil), l.logID...) }

// Append adds the entry body (as made by HashedRekord) to the log and waits
// until a published checkpoint commits to it. It returns the entry as a
// Sigstore bundle carries it: index, log ID, kind and version, the canonical
// body, and an inclusion proof against that checkpoint.
func (l *Log) Append(ctx context.Context, body []byte) (*protorekor.TransparencyLogEntry, error) {
	if _, err := ParseEntry(body); err != nil {
		return nil, fmt.Errorf("tlog: %w: %w", ErrRefused, err)
	}
	idx, cpRaw, err := l.awaiter.Await(ctx, l.appender.Add(ctx, tessera.NewEntry(body)))
	if err != nil {
		return nil, fmt.Errorf("tlog: append: %w", err)
	}
	cp, err := parseCheckpoint(cpRaw)
	if err != nil {
		return nil, err
	}
	hashes, err := l.inclusionProof(ctx, idx.Index, cp.Size)
	if err != nil {
		return nil, err
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          int64(idx.Index),
		LogId:             &protocommon.LogId{KeyId: l.LogID()},
		KindVersion:       &protorekor.KindVersion{Kind: Kind, Version: Version},
		CanonicalizedBody: body,
		InclusionProof: &protorekor.InclusionProof{
			LogIndex:   int64(idx.Index),
			RootHash:   cp.Hash,
			TreeSize:   int64(cp.Size),
			Hashes:     hashes,
			Checkpoint: &protorekor.Checkpoint{Envelope: string(cpRaw)},
		},
	}, nil
}

// proofSlot is one proof builder, for one tree size.
type proofSlot struct {
	sync.Mutex
	size uint64
	pb   *client.ProofBuilder
}

// inclusionProof returns the proof of entry index in the tree of the given
// size, from a free proof builder (or, if none is free, the index's own).
func (l *Log) inclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	slot := &l.proofs[index%uint64(len(l.proofs))]
	for i := range l.proofs {
		if l.proofs[i].TryLock() {
			slot = &l.proofs[i]
			goto locked
		}
	}
	slot.Lock()
locked:
	defer slot.Unlock()
	if slot.pb == nil || slot.size != size {
		pb, err := client.NewProofBuilder(ctx, size, l.reader.ReadTile)
		if err != nil {
			return nil, fmt.Errorf("tlog: proof: %w", err)
		}
		slot.pb, slot.size = pb, size
	}
	hashes, err := slot.pb.InclusionProof(ctx, index)
	if err != nil {
		// A failed fetch must not stay cached.
		slot.pb = nil
		return nil, fmt.Errorf("tlog: inclusion proof of %d in %d: %w", index, size, err)
	}
	return hashes, nil
}

// parseCheckpoint reads the body of a signed checkpoint the log itself
// published; its signature was made by this process's key.
func parseCheckpoint(raw []byte) (*log.Checkpoint, error) {
	body, _, ok := strings.Cut(string(raw), "\n\n")
	if !ok {
		return nil, errors.New("tlog: checkpoint without signatures")
	}
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(body + "\n")); err != nil {
		return nil, fmt.Errorf("tlog: checkpoint: %w", err)
	}
	return &cp, nil
}

// algorithms are the signature algorithms whose signatures the log accepts:
// those that sign a digest, as hashedrekord v0.0.2 requires.
var algorithms = mustRegistry(
	protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
	protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384,
	protocommon.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512,
	protocommon.PublicKeyDetails_PKIX_ED25519_PH,
	protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256,
	protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256,
	protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256,
)

func mustRegistry(algs ...protocommon.PublicKeyDetails) *signature.AlgorithmRegistryConfig {
	r, err := signature.NewAlgorithmRegistryConfig(algs)
	if err != nil {
		panic(err)
	}
	return r
}

// HashedRekord returns the canonical body of the hashedrekord v0.0.2 entry for
// sig, a signature by pub over digest. pub is a public key or, for a
// certificate, its DER form as *x509.Certificate. It checks the signature
// first: the log never holds an entry whose signature does not verify.
func HashedRekord(digest, sig []byte, signer any) ([]byte, error) {
	v := &rekorpb.Verifier{}
	var pub crypto.PublicKey
	switch s := signer.(type) {
	case *x509.Certificate:
		v.Verifier = &rekorpb.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: s.Raw}}
		pub = s.PublicKey
	default:
		raw, err := x509.MarshalPKIXPublicKey(s)
		if err != nil {
			return nil, fmt.Errorf("tlog: entry key: %w", err)
		}
		v.Verifier = &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: raw}}
		pub = s
	}
	if _, ok := pub.(ed25519.PublicKey); ok {
		return nil, fmt.Errorf("tlog: %w: Ed25519 signatures sign whole messages; a hashedrekord entry holds a digest, so only prehashed signatures (ECDSA, RSA, Ed25519ph) can be logged", ErrRefused)
	}
	det, err := signature.GetDefaultAlgorithmDetails(pub)
	if err != nil {
		return nil, fmt.Errorf("tlog: entry key: %w", err)
	}
	v.KeyDetails = det.GetSignatureAlgorithm()
	return EntryBody(&rekorpb.HashedRekordRequestV002{
		Digest:    digest,
		Signature: &rekorpb.Signature{Content: sig, Verifier: v},
	})
}

// ErrRefused is returned, wrapped, for an entry the log will not hold: its
// signature does not verify, or its key or algorithm is not accepted.
var ErrRefused = errors.New("entry refused")

// EntryBody checks a hashedrekord v0.0.2 request (the signature over the
// digest, with the request's key or certificate and algorithm) and returns
// the canonical body of its entry.
func EntryBody(req *rekorpb.HashedRekordRequestV002) ([]byte, error) {
	entry, err := hashedrekord.ToLogEntry(req, algorithms)
	if err != nil {
		return nil, fmt.Errorf("tlog: %w: %w", ErrRefused, err)
	}
	js, err := protojson.Marshal(entry)
	if err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	body, err := jsoncanonicalizer.Transform(js)
	if err != nil {
		return nil, fmt.Errorf("tlog: canonical JSON: %w", err)
	}
	return body, nil
}

// LeafHash returns the RFC 6962 leaf hash of an entry body: what the log's
// tree commits to.
func LeafHash(body []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(body) }

// ParseEntry decodes a hashedrekord v0.0.2 body.
func ParseEntry(body []byte) (*rekorpb.Entry, error) {
	var e rekorpb.Entry
	if err := protojson.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("tlog: entry: %w", err)
	}
	if e.Kind != Kind || e.ApiVersion != Version || e.GetSpec().GetHashedRekordV002() == nil {
		return nil, fmt.Errorf("tlog: entry: kind %q version %q, want %s %s", e.Kind, e.ApiVersion, Kind, Version)
	}
	return &e, nil
}

// KeyHash returns the signed-note key hash and the log ID of an Ed25519 log
// key for origin (C2SP signed-note: SHA-256 of name, newline, the signature
// type 0x01 and the key; the key hash is its first four bytes).
func KeyHash(origin string, pub crypto.PublicKey) (uint32, []byte, error) {
	k, ok := pub.(ed25519.PublicKey)
	if !ok {
		return 0, nil, fmt.Errorf("tlog: log key is %T, want Ed25519", pub)
	}
	h := sha256.New()
	h.Write([]byte(origin))
	h.Write([]byte{'\n', 0x01})
	h.Write(k)
	sum := h.Sum(nil)
	return binary.BigEndian.Uint32(sum), sum, nil
}

// CheckOrigin reports whether origin can name a log: a hostname, as Sigstore
// clients derive the origin from the log's base URL.
func CheckOrigin(origin string) error {
	if origin == "" || !utf8.ValidString(origin) || strings.ContainsAny(origin, "+/:") ||
		strings.IndexFunc(origin, unicode.IsSpace) >= 0 {
		return fmt.Errorf("log origin %q: want a hostname such as log.example.com", origin)
	}
	return nil
}

// NewNoteSigner returns a signed-note signer for origin over an Ed25519
// crypto.Signer, so the log key can live in an HSM.
func NewNoteSigner(origin string, s crypto.Signer) (note.Signer, error) {
	if err := CheckOrigin(origin); err != nil {
		return nil, err
	}
	hash, _, err := KeyHash(origin, s.Public())
	if err != nil {
		return nil, err
	}
	return &noteSigner{name: origin, hash: hash, s: s}, nil
}

type noteSigner struct {
	name string
	hash uint32
	s    crypto.Signer
}

func (n *noteSigner) Name() string    { return n.name }
func (n *noteSigner) KeyHash() uint32 { return n.hash }
func (n *noteSigner) Sign(msg []byte) ([]byte, error) {
	return n.s.Sign(rand.Reader, msg, crypto.Hash(0))
}

// NewNoteVerifier returns the signed-note verifier of the log key pub for
// origin, built with golang.org/x/mod/sumdb/note.
func NewNoteVerifier(origin string, pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := note.NewEd25519VerifierKey(origin, pub)
	if err != nil {
		return nil, fmt.Errorf("tlog: verifier key: %w", err)
	}
	return note.NewVerifier(vkey)
}
