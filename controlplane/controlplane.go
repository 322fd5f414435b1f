// Package controlplane is Hallmark's control plane running in-process on a
// local data directory: the embedded default. It holds the keys no build can
// touch (the transparency log's key, the timestamp authority's key and
// certificate chain), the transparency log, and the record of every signature
// the platform made, and it turns a signed bundle into an accountable one:
// logged, with an inclusion proof and checkpoint, and timestamped (Record).
//
// Layout of the data directory DIR:
//
//	DIR/control/config.json   origin and creation time
//	DIR/control/log.key       the log's Ed25519 key (keystore format)
//	DIR/control/tsa.key       the TSA's ECDSA P-256 key
//	DIR/control/tsa-chain.pem the TSA chain, leaf first
//	DIR/control/audit.key     the ECDSA P-256 key that signs audit log anchors
//	DIR/control/ca.key        the first CA key; ca.pem its root certificate
//	DIR/control/state.db      the state database (SQLite), unless the
//	                          configuration names a PostgreSQL database
//	DIR/keys/                 signing keys in the "file" custody backend
//	DIR/log/                  the transparency log: C2SP tlog-tiles
//
// The state database holds projects, API tokens, OIDC bindings, the key
// table (which backend holds each key version, its validity, the projects it
// may sign for), the signing records (one per signature the platform made,
// committed before the signature is logged) and the hash-chained audit log.
// It holds no secrets: tokens are stored hashed, private keys stay in their
// custody backend (package custody).
//
// Everything a caller can ask of the control plane goes through Handle (the
// operations of package api), in-process or over HTTP (package server).
//
// TrustedRoot exports what a consumer needs to verify offline, as a Sigstore
// trusted_root.json: the log, the TSA and every CA version with its validity.
package controlplane

import (
	"context"
	"crypto"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	_ "github.com/go-sql-driver/mysql" // the log's MySQL backend

	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/ca"
	"github.com/hallmark-dev/hallmark/custody"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/keystore"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/state"
	"github.com/hallmark-dev/hallmark/tlog"
	"github.com/hallmark-dev/hallmark/tsa"
)

// DefaultOrigin is the log origin when none is given at Init.
const DefaultOrigin = "log.hallmark.localhost"

// TrustedRootMediaType is the media type of exported trusted roots.
const TrustedRootMediaType = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"

// ErrNotInitialized is returned, wrapped, by Open for a data directory
// without a control plane.
var ErrNotInitialized = errors.New("no control plane in the data directory")

const (
	logKey   = "log"
	tsaKey   = "tsa"
	auditKey = "audit"
)

// DefaultProject is the project every control plane starts with.
const DefaultProject = "default"

type config struct {
	Origin   string    `json:"origin"`
	Created  time.Time `json:"created"`
	Database string    `json:"database,omitempty"` // state database URL; empty: DIR/control/state.db
	// LogDatabase is the MySQL DSN of the transparency log; empty: the
	// POSIX tiles in DIR/log.
	LogDatabase string `json:"logDatabase,omitempty"`
}

// InitOptions configure a new control plane.
type InitOptions struct {
	Origin string // log origin, a hostname; DefaultOrigin if empty
	// Passphrase encrypts the control plane's keys; nil stores them in
	// plaintext, which callers must make an explicit, insecure choice.
	Passphrase []byte
	Now        time.Time // creation time; time.Now if zero
	// Database is the state database's URL (postgres://...); empty for
	// SQLite in the data directory.
	Database string
	// LogDatabase is a MySQL DSN (user@tcp(host:port)/db) for the
	// transparency log, which replicas on several machines then share;
	// empty for the POSIX tiles in the data directory.
	LogDatabase string
}

// Init creates a control plane in the data directory home: log key, TSA key
// and certificate chain, configuration. It refuses to touch an existing one.
func Init(home string, opts InitOptions) error {
	if opts.Origin == "" {
		opts.Origin = DefaultOrigin
	}
	if err := tlog.CheckOrigin(opts.Origin); err != nil {
		return err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	dir := filepath.Join(home, "control")
	cfgPath := filepath.Join(dir, "config.json")
	if _, err := os.Stat(cfgPath); err == nil {
		return fmt.Errorf("controlplane: %s already holds a control plane", home)
	}
	ks := &keystore.Store{Dir: dir}
	if _, err := ks.Generate(logKey, keystore.Ed25519, opts.Passphrase); err != nil {
		return fmt.Errorf("controlplane: log key: %w", err)
	}
	if _, err := ks.Generate(tsaKey, keystore.ECDSAP256, opts.Passphrase); err != nil {
		return fmt.Errorf("controlplane: TSA key: %w", err)
	}
	if _, err := ks.Generate(auditKey, keystore.ECDSAP256, opts.Passphrase); err != nil {
		return fmt.Errorf("controlplane: audit key: %w", err)
	}
	if _, err := ks.Generate(purposeCA, keystore.ECDSAP256, opts.Passphrase); err != nil {
		return fmt.Errorf("controlplane: CA key: %w", err)
	}
	caSigner, err := ks.Signer(purposeCA, opts.Passphrase)
	if err != nil {
		return err
	}
	root, err := ca.NewRoot(caSigner, "Hallmark code signing CA", opts.Now.Add(-time.Hour), opts.Now.Add(caLifetime))
	if err != nil {
		return fmt.Errorf("controlplane: CA: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644); err != nil {
		return fmt.Errorf("controlplane: %w", err)
	}
	tsaSigner, err := ks.Signer(tsaKey, opts.Passphrase)
	if err != nil {
		return err
	}
	// The chain's root key signs the leaf and is then dropped: no CA key is
	// kept to be stolen. A new TSA certificate means a new chain, published
	// in a new trusted root. The leaf is backdated a little, so that a clock
	// slightly behind still sees it valid.
	chain, _, err := tsa.NewChain(tsaSigner, "Hallmark", opts.Now.Add(-time.Hour), opts.Now.AddDate(10, 0, 0))
	if err != nil {
		return fmt.Errorf("controlplane: TSA chain: %w", err)
	}
	var pemChain []byte
	for _, c := range chain {
		pemChain = append(pemChain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := atomicfile.Write(filepath.Join(dir, "tsa-chain.pem"), pemChain, 0o644); err != nil {
		return fmt.Errorf("controlplane: %w", err)
	}
	cfg, err := json.MarshalIndent(config{Origin: opts.Origin, Created: opts.Now.UTC().Truncate(time.Second), Database: opts.Database, LogDatabase: opts.LogDatabase}, "", "  ")
	if err != nil {
		return err
	}
	// The configuration goes last: it marks a complete control plane.
	if err := atomicfile.Create(cfgPath, append(cfg, '\n'), 0o644); err != nil {
		return fmt.Errorf("controlplane: %w", err)
	}
	return nil
}

// Options configure an open control plane.
type Options struct {
	// Database is the state database's URL: "postgres://..." or a SQLite
	// path. Empty means the one the data directory was created with.
	Database string
	// Passphrase is called, at most once, if keys are encrypted.
	Passphrase func() ([]byte, error)
	// PKCS11, if set, makes the HSM it names a key backend ("pkcs11").
	PKCS11 *custody.PKCS11Config
	// HTTPClient fetches OIDC discovery documents and keys; default
	// http.DefaultClient.
	HTTPClient *http.Client
	Logger     *slog.Logger     // default: discard
	Now        func() time.Time // default time.Now
	// CheckpointInterval and BatchMaxAge tune the log (tlog.Config);
	// zero means the log's defaults.
	CheckpointInterval, BatchMaxAge time.Duration
}

// Plane is an open control plane.
type Plane struct {
	home     string
	cfg      config
	db       *state.DB
	logPub   crypto.PublicKey
	log      *tlog.Log
	tsaChain []*x509.Certificate
	auditPub crypto.PublicKey
	lazy     struct {
		tsa      func() (*tsa.Authority, error)
		auditKey func() (crypto.Signer, error)
	}
	backends map[string]custody.Backend
	oidc     *auth.OIDC
	logger   *slog.Logger
	now      func() time.Time
	keys     keys
	closers  []func() error

	tiles         fs.FS
	knownProjects sync.Map // project names seen to exist
	tokens        tokenCache

	policies     policyCache
	notifying    sync.WaitGroup // webhook deliveries under way
	notifyClient *http.Client   // nil: notify's default, which follows no redirects
}

// Open opens the control plane of the data directory home.
func Open(ctx context.Context, home string, opts Options) (_ *Plane, err error) {
	dir := filepath.Join(home, "control")
	cfg, err := readConfig(home)
	if err != nil {
		return nil, err
	}
	p := &Plane{home: home, cfg: cfg, logger: opts.Logger, now: opts.Now, backends: map[string]custody.Backend{}}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.keys.signers = map[string]crypto.Signer{}
	p.oidc = auth.NewOIDC(opts.HTTPClient)
	defer func() {
		if err != nil {
			p.Close(context.Background())
		}
	}()
	passphrase := onceValues(opts.Passphrase)
	ks := &keystore.Store{Dir: dir}
	info, err := ks.Info(logKey)
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	p.logPub = info.Public
	var pass []byte
	if info.Encrypted {
		if pass, err = passphrase(); err != nil {
			return nil, err
		}
	}
	logSigner, err := ks.Signer(logKey, pass)
	if err != nil {
		return nil, fmt.Errorf("controlplane: log key: %w", err)
	}
	if p.tsaChain, err = readChain(filepath.Join(dir, "tsa-chain.pem")); err != nil {
		return nil, err
	}
	if p.auditPub, err = ks.Public(auditKey); err != nil {
		return nil, fmt.Errorf("controlplane: audit key: %w", err)
	}
	// The TSA and audit keys are decrypted when first used: each costs an
	// scrypt, which in-process commands that never sign need not pay.
	p.lazy.tsa = sync.OnceValues(func() (*tsa.Authority, error) {
		tsaSigner, err := ks.Signer(tsaKey, pass)
		if err != nil {
			return nil, fmt.Errorf("controlplane: TSA key: %w", err)
		}
		authority, err := tsa.New(tsa.Config{Signer: tsaSigner, Chain: p.tsaChain})
		if err != nil {
			return nil, fmt.Errorf("controlplane: %w", err)
		}
		return authority, nil
	})
	p.lazy.auditKey = sync.OnceValues(func() (crypto.Signer, error) {
		s, err := ks.Signer(auditKey, pass)
		if err != nil {
			return nil, fmt.Errorf("controlplane: audit key: %w", err)
		}
		return s, nil
	})
	// New keys are protected as the control plane's own are: a plane
	// created with --insecure-plaintext (tests) makes plaintext keys.
	filePass := passphrase
	if !info.Encrypted {
		filePass = custody.PlaintextUnsafe
	}
	p.backends["file"] = &custody.File{Dir: filepath.Join(home, "keys"), Passphrase: filePass}
	p.backends["control"] = &custody.File{Dir: dir, Passphrase: filePass}
	if opts.PKCS11 != nil {
		hsm, err := custody.OpenPKCS11(*opts.PKCS11)
		if err != nil {
			return nil, err
		}
		p.closers = append(p.closers, hsm.Close)
		p.backends[hsm.Name()] = hsm
	}
	if p.db, err = state.Open(ctx, stateURL(home, cfg, opts.Database)); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, p.db.Close)
	if err := p.bootstrap(ctx); err != nil {
		return nil, err
	}
	logCfg := tlog.Config{
		Origin: cfg.Origin, Signer: logSigner,
		CheckpointInterval: opts.CheckpointInterval, BatchMaxAge: opts.BatchMaxAge,
	}
	if cfg.LogDatabase == "" {
		p.log, err = tlog.OpenPOSIX(ctx, filepath.Join(home, "log"), logCfg)
		p.tiles = os.DirFS(filepath.Join(home, "log"))
	} else {
		var db *sql.DB
		if db, err = sql.Open("mysql", cfg.LogDatabase); err != nil {
			return nil, fmt.Errorf("controlplane: log database: %w", err)
		}
		p.closers = append(p.closers, db.Close)
		if logCfg.CheckpointInterval == 0 {
			logCfg.CheckpointInterval = time.Second // Tessera's MySQL minimum
		}
		if p.log, err = tlog.OpenMySQL(ctx, db, logCfg); err == nil {
			p.tiles = p.log.FS()
		}
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// onceValues calls f at most once.
func onceValues(f func() ([]byte, error)) func() ([]byte, error) {
	if f == nil {
		return func() ([]byte, error) {
			return nil, errors.New("controlplane: keys are encrypted and no passphrase was given")
		}
	}
	return sync.OnceValues(f)
}

// bootstrap gives a new state database what every control plane has: the
// default project and the CA made at Init. Several replicas may race here;
// the loser finds the rows there.
func (p *Plane) bootstrap(ctx context.Context) error {
	if _, err := p.db.Project(ctx, DefaultProject); errors.Is(err, state.ErrNotFound) {
		err := p.db.CreateProject(ctx, state.Project{Name: DefaultProject, Profile: "medium", Created: p.cfg.Created})
		if err != nil && !errors.Is(err, state.ErrExists) {
			return err
		}
	} else if err != nil {
		return err
	}
	if _, err := p.db.KeyVersions(ctx, purposeCA); err == nil {
		return nil
	} else if !errors.Is(err, state.ErrNotFound) {
		return err
	}
	dir := filepath.Join(p.home, "control")
	root, err := readChain(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return err
	}
	pub, err := (&keystore.Store{Dir: dir}).Public(purposeCA)
	if err != nil {
		return fmt.Errorf("controlplane: CA key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	err = p.db.AddKey(ctx, state.Key{
		Name: purposeCA, Version: 1, Purpose: purposeCA, Backend: "control", Ref: purposeCA, Algorithm: "ecdsa-p256",
		Public: der, Cert: root[0].Raw, NotBefore: root[0].NotBefore, Created: p.cfg.Created,
	})
	if errors.Is(err, state.ErrExists) {
		return nil
	}
	return err
}

// Close waits for in-flight appends and webhook deliveries, then closes the log, the database and
// the key backends.
func (p *Plane) Close(ctx context.Context) error {
	p.notifying.Wait()
	var errs []error
	if p.log != nil {
		errs = append(errs, p.log.Close(ctx))
	}
	for i := len(p.closers) - 1; i >= 0; i-- {
		errs = append(errs, p.closers[i]())
	}
	return errors.Join(errs...)
}

// Ready reports whether the plane can serve: its database answers.
func (p *Plane) Ready(ctx context.Context) error { return p.db.Ping(ctx) }

// AppendHashedRekord checks and logs a hashedrekord v0.0.2 request made by a
// client, and returns its log entry. Requests that do not verify are refused
// with an error wrapping tlog.ErrRefused; nothing is logged then. The entry
// is not in the platform's signing records: the platform did not make it,
// and the log monitor reports it if its key is watched.
func (p *Plane) AppendHashedRekord(ctx context.Context, req *rekorpb.HashedRekordRequestV002) (*protorekor.TransparencyLogEntry, error) {
	body, err := tlog.EntryBody(req)
	if err != nil {
		return nil, err
	}
	return p.log.Append(ctx, body)
}

// Tiles returns the transparency log's tlog-tiles tree: "checkpoint" and
// "tile/...", read from its storage.
func (p *Plane) Tiles() fs.FS { return p.tiles }

// TSA returns the control plane's timestamp authority, decrypting its key
// on first use.
func (p *Plane) TSA() (*tsa.Authority, error) { return p.lazy.tsa() }

// LogID returns the transparency log's ID.
func (p *Plane) LogID() []byte { return p.log.LogID() }

// Recorded reports whether the platform's signing records hold the entry
// with leafHash in the log logID: whether the platform made it.
func (p *Plane) Recorded(ctx context.Context, logID, leafHash []byte) (bool, error) {
	return p.db.HasRecord(ctx, logID, leafHash)
}

// TrustedRoot returns the control plane's trusted root: its transparency log
// (key, log ID, base URL from the origin, validity from creation), its
// timestamp authority (chain, validity) and every version of its CA (root
// certificate, validity: a rotated CA stays valid for the overlap, a retired
// one ends when it was retired), as a Sigstore trusted_root.json.
func (p *Plane) TrustedRoot(ctx context.Context) ([]byte, error) {
	cas, err := p.db.KeyVersions(ctx, purposeCA)
	if err != nil {
		return nil, err
	}
	return trustedRoot(p.cfg, p.logPub, p.tsaChain, cas)
}

// TrustedRootOf reads the trusted root of the control plane in home without
// opening its keys. database overrides the configured state database.
func TrustedRootOf(ctx context.Context, home, database string) ([]byte, error) {
	dir := filepath.Join(home, "control")
	cfg, err := readConfig(home)
	if err != nil {
		return nil, err
	}
	pub, err := (&keystore.Store{Dir: dir}).Public(logKey)
	if err != nil {
		return nil, err
	}
	chain, err := readChain(filepath.Join(dir, "tsa-chain.pem"))
	if err != nil {
		return nil, err
	}
	db, err := state.Open(ctx, stateURL(home, cfg, database))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cas, err := db.KeyVersions(ctx, purposeCA)
	if errors.Is(err, state.ErrNotFound) {
		// Not opened yet: the CA of Init is the only one.
		root, err := readChain(filepath.Join(dir, "ca.pem"))
		if err != nil {
			return nil, err
		}
		cas, err = []state.Key{{Name: purposeCA, Version: 1, Cert: root[0].Raw, NotBefore: root[0].NotBefore}}, nil
	}
	if err != nil {
		return nil, err
	}
	return trustedRoot(cfg, pub, chain, cas)
}

// stateURL is the state database of the control plane in home: override,
// else the configured one, else SQLite in the data directory.
func stateURL(home string, cfg config, override string) string {
	switch {
	case override != "":
		return override
	case cfg.Database != "":
		return cfg.Database
	}
	return filepath.Join(home, "control", "state.db")
}

// ErrLogInDatabase is returned, wrapped, by LogDirOf for a control plane
// whose transparency log is in MySQL: it is read through a server.
var ErrLogInDatabase = errors.New("the transparency log is in a database, not in the data directory")

// LogDirOf returns the directory of the transparency log of the control
// plane in home, to read it without opening the plane.
func LogDirOf(home string) (string, error) {
	cfg, err := readConfig(home)
	if err != nil {
		return "", err
	}
	if cfg.LogDatabase != "" {
		return "", fmt.Errorf("controlplane: %s: %w", home, ErrLogInDatabase)
	}
	return filepath.Join(home, "log"), nil
}

// Records reads the signing records of a control plane without its keys.
type Records struct{ db *state.DB }

// OpenRecords opens the signing records of the control plane in home;
// database overrides the configured state database.
func OpenRecords(ctx context.Context, home, database string) (*Records, error) {
	cfg, err := readConfig(home)
	if err != nil {
		return nil, err
	}
	db, err := state.Open(ctx, stateURL(home, cfg, database))
	if err != nil {
		return nil, err
	}
	return &Records{db}, nil
}

// Has reports whether the records hold the entry with leafHash in the log
// logID: whether the platform made it.
func (r *Records) Has(ctx context.Context, logID, leafHash []byte) (bool, error) {
	return r.db.HasRecord(ctx, logID, leafHash)
}

// Close closes the records.
func (r *Records) Close() error { return r.db.Close() }

// SigningKeys returns the public keys of every version of every signing key
// the control plane holds, whatever its backend: the keys a log monitor
// watches.
func (r *Records) SigningKeys(ctx context.Context) ([]crypto.PublicKey, error) {
	all, err := r.db.Keys(ctx)
	if err != nil {
		return nil, err
	}
	var out []crypto.PublicKey
	for _, k := range all {
		if k.Purpose != purposeSigning {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(k.Public)
		if err != nil {
			return nil, fmt.Errorf("controlplane: key %s version %d: %w", k.Name, k.Version, err)
		}
		out = append(out, pub)
	}
	return out, nil
}

// readConfig reads the configuration of the control plane in home.
func readConfig(home string) (config, error) {
	path := filepath.Join(home, "control", "config.json")
	raw, err := limit.ReadFile(path, 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return config{}, fmt.Errorf("controlplane: %s: %w", home, ErrNotInitialized)
	}
	if err != nil {
		return config{}, fmt.Errorf("controlplane: %w", err)
	}
	var cfg config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return config{}, fmt.Errorf("controlplane: %s: %w", path, err)
	}
	if err := tlog.CheckOrigin(cfg.Origin); err != nil {
		return config{}, fmt.Errorf("controlplane: %s: %w", path, err)
	}
	return cfg, nil
}

func trustedRoot(cfg config, logPub crypto.PublicKey, chain []*x509.Certificate, cas []state.Key) ([]byte, error) {
	_, logID, err := tlog.KeyHash(cfg.Origin, logPub)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(logPub)
	if err != nil {
		return nil, err
	}
	start := timestamppb.New(cfg.Created)
	var certs []*protocommon.X509Certificate
	for _, c := range chain {
		certs = append(certs, &protocommon.X509Certificate{RawBytes: c.Raw})
	}
	leaf := chain[0]
	tr := &prototrustroot.TrustedRoot{
		MediaType: TrustedRootMediaType,
		Tlogs: []*prototrustroot.TransparencyLogInstance{{
			BaseUrl:       "https://" + cfg.Origin,
			HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
			PublicKey: &protocommon.PublicKey{
				RawBytes:   der,
				KeyDetails: protocommon.PublicKeyDetails_PKIX_ED25519,
				ValidFor:   &protocommon.TimeRange{Start: start},
			},
			LogId: &protocommon.LogId{KeyId: logID},
		}},
		TimestampAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject: &protocommon.DistinguishedName{
				Organization: first(leaf.Subject.Organization),
				CommonName:   leaf.Subject.CommonName,
			},
			Uri:       "https://" + cfg.Origin + "/api/v1/timestamp",
			CertChain: &protocommon.X509CertificateChain{Certificates: certs},
			ValidFor:  &protocommon.TimeRange{Start: timestamppb.New(leaf.NotBefore)},
		}},
	}
	for _, k := range cas {
		root, err := x509.ParseCertificate(k.Cert)
		if err != nil {
			return nil, fmt.Errorf("controlplane: CA version %d: %w", k.Version, err)
		}
		end := k.NotAfter
		if !k.Retired.IsZero() && (end.IsZero() || k.Retired.Before(end)) {
			end = k.Retired
		}
		if end.IsZero() || end.After(root.NotAfter) {
			end = root.NotAfter
		}
		// A version is published valid from its certificate's start (an
		// hour before it was made, so that timestamps truncated to the
		// second or from a clock a little behind still fall inside) to
		// the end of its overlap after a rotation, or its retirement.
		tr.CertificateAuthorities = append(tr.CertificateAuthorities, ca.TrustedRootCA(root, "https://"+cfg.Origin, root.NotBefore, end))
	}
	return protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(tr)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func readChain(path string) ([]*x509.Certificate, error) {
	data, err := limit.ReadFile(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	var chain []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("controlplane: %s: %w", path, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("controlplane: %s: no certificates", path)
	}
	return chain, nil
}
