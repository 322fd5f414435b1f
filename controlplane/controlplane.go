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
//	DIR/log/                  the transparency log: C2SP tlog-tiles
//	DIR/records.jsonl         one line per signature the platform made, written
//	                          before the signature is logged
//
// TrustedRoot exports what a consumer needs to verify offline, as a Sigstore
// trusted_root.json.
package controlplane

import (
	"bufio"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/keystore"
	"github.com/hallmark-dev/hallmark/limit"
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
	logKey = "log"
	tsaKey = "tsa"
)

type config struct {
	Origin  string    `json:"origin"`
	Created time.Time `json:"created"`
}

// InitOptions configure a new control plane.
type InitOptions struct {
	Origin string // log origin, a hostname; DefaultOrigin if empty
	// Passphrase encrypts the control plane's keys; nil stores them in
	// plaintext, which callers must make an explicit, insecure choice.
	Passphrase []byte
	Now        time.Time // creation time; time.Now if zero
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
	cfg, err := json.MarshalIndent(config{Origin: opts.Origin, Created: opts.Now.UTC().Truncate(time.Second)}, "", "  ")
	if err != nil {
		return err
	}
	// The configuration goes last: it marks a complete control plane.
	if err := atomicfile.Create(cfgPath, append(cfg, '\n'), 0o644); err != nil {
		return fmt.Errorf("controlplane: %w", err)
	}
	return nil
}

// Plane is an open control plane.
type Plane struct {
	home   string
	cfg    config
	logPub crypto.PublicKey
	tsa    *tsa.Authority
	log    *tlog.Log

	recMu   sync.Mutex
	records *os.File
}

// Open opens the control plane of the data directory home. passphrase is
// called, once, if its keys are encrypted.
func Open(ctx context.Context, home string, passphrase func() ([]byte, error)) (*Plane, error) {
	dir := filepath.Join(home, "control")
	cfg, err := readConfig(home)
	if err != nil {
		return nil, err
	}
	ks := &keystore.Store{Dir: dir}
	info, err := ks.Info(logKey)
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	var pass []byte
	if info.Encrypted {
		if pass, err = passphrase(); err != nil {
			return nil, err
		}
	}
	p := &Plane{home: home, cfg: cfg, logPub: info.Public}
	logSigner, err := ks.Signer(logKey, pass)
	if err != nil {
		return nil, fmt.Errorf("controlplane: log key: %w", err)
	}
	tsaSigner, err := ks.Signer(tsaKey, pass)
	if err != nil {
		return nil, fmt.Errorf("controlplane: TSA key: %w", err)
	}
	chain, err := readChain(filepath.Join(dir, "tsa-chain.pem"))
	if err != nil {
		return nil, err
	}
	if p.tsa, err = tsa.New(tsa.Config{Signer: tsaSigner, Chain: chain}); err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	if p.log, err = tlog.OpenPOSIX(ctx, filepath.Join(home, "log"), tlog.Config{Origin: cfg.Origin, Signer: logSigner}); err != nil {
		return nil, err
	}
	if p.records, err = os.OpenFile(filepath.Join(home, "records.jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
		p.log.Close(ctx)
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	return p, nil
}

// Close waits for in-flight appends, then closes the log and the records.
func (p *Plane) Close(ctx context.Context) error {
	return errors.Join(p.log.Close(ctx), p.records.Close())
}

// AppendHashedRekord checks and logs a hashedrekord v0.0.2 request made by a
// client, and returns its log entry. Requests that do not verify are refused
// with an error wrapping tlog.ErrRefused; nothing is logged then.
func (p *Plane) AppendHashedRekord(ctx context.Context, req *rekorpb.HashedRekordRequestV002) (*protorekor.TransparencyLogEntry, error) {
	body, err := tlog.EntryBody(req)
	if err != nil {
		return nil, err
	}
	return p.log.Append(ctx, body)
}

// LogDir returns the directory of the transparency log's tiles.
func (p *Plane) LogDir() string { return filepath.Join(p.home, "log") }

// TSA returns the control plane's timestamp authority.
func (p *Plane) TSA() *tsa.Authority { return p.tsa }

// Record is one line of the platform's signing records: a signature it made.
// It is written, and synced, before the signature is logged, so that no entry
// the platform made can be missing from the records, whatever crashes when:
// the log monitor reads them to tell the platform's own entries from others.
// A record whose entry never reached the log is harmless.
type Record struct {
	LeafHash       string    `json:"leafHash"`       // hex RFC 6962 leaf hash of the entry body
	LogID          string    `json:"logId"`          // hex
	KeyFingerprint string    `json:"keyFingerprint"` // hex SHA-256 of the DER public key
	Digest         string    `json:"digest"`         // the logged digest, sha256:<hex>
	Time           time.Time `json:"time"`
}

// Record logs the signature of b, made by pub, in the transparency log,
// timestamps it, records it in the platform's signing records, and adds the
// log entry (with inclusion proof and checkpoint) and the RFC 3161 timestamp
// to b. It is safe for concurrent use.
func (p *Plane) Record(ctx context.Context, b *bundle.Bundle, pub crypto.PublicKey) error {
	loggedDigest, sig, err := signed(b)
	if err != nil {
		return err
	}
	body, err := tlog.HashedRekord(loggedDigest, sig, pub)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	fp := sha256.Sum256(der)
	if err := p.appendRecord(Record{
		LeafHash:       hex.EncodeToString(tlog.LeafHash(body)),
		LogID:          hex.EncodeToString(p.log.LogID()),
		KeyFingerprint: hex.EncodeToString(fp[:]),
		Digest:         "sha256:" + hex.EncodeToString(loggedDigest),
		Time:           time.Now().UTC(),
	}); err != nil {
		return err
	}
	entry, err := p.log.Append(ctx, body)
	if err != nil {
		return err
	}
	ts, err := p.tsa.Timestamp(sig)
	if err != nil {
		return fmt.Errorf("controlplane: timestamp: %w", err)
	}
	vm := b.VerificationMaterial
	vm.TlogEntries = append(vm.TlogEntries, entry)
	if vm.TimestampVerificationData == nil {
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
	}
	vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
		&protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	return nil
}

func (p *Plane) appendRecord(r Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	p.recMu.Lock()
	defer p.recMu.Unlock()
	if _, err := p.records.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("controlplane: signing records: %w", err)
	}
	return p.records.Sync()
}

// RecordedLeaves returns the leaf hashes (hex) of the entries that the
// signing records of the data directory home list for the log logID: the
// entries the platform made.
func RecordedLeaves(home string, logID []byte) (map[string]bool, error) {
	f, err := os.Open(filepath.Join(home, "records.jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	defer f.Close()
	want := hex.EncodeToString(logID)
	known := map[string]bool{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || len(r.LeafHash) != 64 {
			return nil, fmt.Errorf("controlplane: records.jsonl:%d: malformed record", line)
		}
		if r.LogID == want {
			known[r.LeafHash] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("controlplane: records.jsonl: %w", err)
	}
	return known, nil
}

// signed returns what a bundle's signature covers, as its log entry records
// it (the message digest, or the SHA-256 of a DSSE envelope's PAE), and the
// signature itself.
func signed(b *bundle.Bundle) (digest, sig []byte, err error) {
	if ms := b.GetMessageSignature(); ms != nil {
		if ms.GetMessageDigest().GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 {
			return nil, nil, errors.New("controlplane: only SHA-256 message digests are logged")
		}
		return ms.MessageDigest.Digest, ms.Signature, nil
	}
	env := b.GetDsseEnvelope()
	if env == nil || len(env.Signatures) != 1 {
		return nil, nil, errors.New("controlplane: bundle has neither a message signature nor a singly-signed envelope")
	}
	sum := sha256.Sum256(dsse.PAE(env.PayloadType, env.Payload))
	return sum[:], env.Signatures[0].Sig, nil
}

// TrustedRoot returns the control plane's trusted root: its transparency log
// (key, log ID, base URL from the origin, validity from creation) and its
// timestamp authority (chain, validity), as a Sigstore trusted_root.json.
func (p *Plane) TrustedRoot() ([]byte, error) {
	return trustedRoot(p.cfg, p.logPub, p.tsa.Chain())
}

// TrustedRootOf reads the trusted root of the control plane in home without
// opening its keys.
func TrustedRootOf(home string) ([]byte, error) {
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
	return trustedRoot(cfg, pub, chain)
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

func trustedRoot(cfg config, logPub crypto.PublicKey, chain []*x509.Certificate) ([]byte, error) {
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
