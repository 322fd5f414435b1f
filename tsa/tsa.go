// Package tsa is an RFC 3161 time-stamping authority: it answers DER
// TimeStampReq messages (RFC 3161 §2.4.1) with DER TimeStampResp messages
// (§2.4.2), in process (Authority.Respond, Authority.Timestamp) and over HTTP
// (Authority.ServeHTTP, §3.4).
//
// Hallmark stores the responses in Sigstore bundles as
// verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp,
// over the SHA-256 of the bundle's signature bytes; verifiers check them against
// the certificate chain that trusted_root.json lists under timestampAuthorities.
//
// # Certificates
//
// The chain runs leaf first, root last, with at least those two (a trusted root
// needs both). The leaf is an end-entity certificate whose extended key usage
// extension is critical and holds id-kp-timeStamping only (§2.3), whose key
// usage, if present, is digitalSignature and/or nonRepudiation (what OpenSSL
// checks), and whose key is the Signer's. New refuses anything else, a chain in
// which a certificate is not signed by the next one, and validity periods that
// do not overlap. No timestamp is issued outside the chain's common validity.
//
// # Responses
//
// A granted response carries a CMS SignedData (RFC 5652) over a TSTInfo with
// version 1, the Authority's policy, the request's messageImprint, a random
// 160-bit serialNumber, genTime in whole seconds UTC, the accuracy if one is
// configured, ordering false, the request's nonce if any, and tsa naming the
// leaf's subject. Its SignerInfo carries the signing-certificate-v2 attribute
// (RFC 5816, an ESSCertIDv2 for the leaf, hashed with the request's algorithm)
// and a signingTime that github.com/digitorus/pkcs7 takes from the host clock,
// not from Config.Now. When certReq is true the certificates field holds the
// leaf and any intermediates; the root never travels with a response,
// verifiers take it from their trusted root.
//
// Defaults: policy DefaultPolicy; hash algorithms SHA-256, SHA-384 and SHA-512
// in requests; the CMS signature hash follows the key (SHA-256 for P-256 and
// RSA, SHA-384 for P-384, SHA-512 for P-521 and Ed25519); the clock time.Now.
//
// # Errors
//
// Respond refuses a request with a rejection TimeStampResp (status 2) and a
// *RequestError carrying the PKIFailureInfo, following OpenSSL's responder:
// badDataFormat for input that is not one DER TimeStampReq of at most
// MaxRequestSize bytes, or a digest whose length does not fit its algorithm;
// badRequest for a version other than 1; badAlg for a hash other than SHA-256,
// SHA-384 or SHA-512, or one with parameters other than NULL; unacceptedPolicy
// for a reqPolicy other than the Authority's; unacceptedExtension for any
// extension, since none is recognised (§2.4.1). Any other error (the clock is
// outside the chain's validity, the signer fails) is internal: no response.
//
// ServeHTTP answers POST requests with Content-Type application/timestamp-query
// and at most MaxRequestSize bytes with 200 and an application/timestamp-reply,
// granted or rejected: §3.4 answers every request with a TimeStampResp, whose
// status is the verdict (Sigstore's timestamp-authority sends 400 instead).
// It answers 405 to other methods, 415 to other content types, 413 to larger
// bodies, and 500 with a systemFailure rejection to internal errors only, never
// to bad input. GET on a path ending in /certchain returns the chain as
// application/pem-certificate-chain.
package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/sigstore/timestamp-authority/v2/pkg/verification"
)

// DefaultPolicy is the TSA policy OID used when Config.Policy is empty:
// 1.3.6.1.4.1.32473.3161.1, under the private enterprise number that RFC 5612
// sets aside for examples. Replace it with an arc of your own organisation's
// enterprise number before timestamps need to name a published policy.
var DefaultPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 3161, 1}

// MaxRequestSize is the largest TimeStampReq accepted, in bytes.
const MaxRequestSize = 64 << 10

var (
	oidExtKeyUsage   = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidTimeStamping  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	requestHashes    = map[string]crypto.Hash{"2.16.840.1.101.3.4.2.1": crypto.SHA256, "2.16.840.1.101.3.4.2.2": crypto.SHA384, "2.16.840.1.101.3.4.2.3": crypto.SHA512}
	requestHashNames = "SHA-256, SHA-384 or SHA-512"
)

// Config configures an Authority.
type Config struct {
	Signer   crypto.Signer         // the TSA key; any crypto.Signer, so an HSM can hold it
	Chain    []*x509.Certificate   // leaf first, root last
	Policy   asn1.ObjectIdentifier // TSA policy; DefaultPolicy if empty
	Now      func() time.Time      // the clock; time.Now if nil
	Accuracy time.Duration         // TSTInfo accuracy; omitted if zero
	Logger   *slog.Logger          // for ServeHTTP; slog.Default() if nil
}

// Authority is an RFC 3161 time-stamping authority (RFC 3161, and RFC 5816 for
// ESSCertIDv2). It is safe for concurrent use if its Signer is.
type Authority struct {
	signer              crypto.Signer
	hash                crypto.Hash
	chain               []*x509.Certificate
	policy              asn1.ObjectIdentifier
	now                 func() time.Time
	accuracy            time.Duration
	notBefore, notAfter time.Time
	log                 *slog.Logger
}

// New returns an Authority after checking cfg as the package comment describes.
func New(cfg Config) (*Authority, error) {
	if cfg.Signer == nil {
		return nil, errors.New("tsa: config: Signer is nil")
	}
	if len(cfg.Chain) < 2 {
		return nil, errors.New("tsa: config: Chain must hold the TSA certificate and its root, leaf first")
	}
	a := &Authority{signer: cfg.Signer, chain: slices.Clone(cfg.Chain), policy: slices.Clone(cfg.Policy),
		now: cfg.Now, accuracy: cfg.Accuracy, log: cfg.Logger}
	for i, c := range a.chain {
		if c == nil {
			return nil, fmt.Errorf("tsa: config: Chain[%d] is nil", i)
		}
		if i == 0 || c.NotBefore.After(a.notBefore) {
			a.notBefore = c.NotBefore
		}
		if i == 0 || c.NotAfter.Before(a.notAfter) {
			a.notAfter = c.NotAfter
		}
	}
	leaf := a.chain[0]
	if err := checkLeaf(leaf); err != nil {
		return nil, err
	}
	if pub, ok := cfg.Signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(leaf.PublicKey) {
		return nil, errors.New("tsa: config: Signer's public key is not the one in Chain[0]")
	}
	var err error
	if a.hash, err = signatureHash(leaf.PublicKey); err != nil {
		return nil, err
	}
	if a.notBefore.After(a.notAfter) {
		return nil, errors.New("tsa: config: Chain validity periods do not overlap")
	}
	intermediates, roots := x509.NewCertPool(), x509.NewCertPool()
	for i, c := range a.chain[1:] {
		if err := a.chain[i].CheckSignatureFrom(c); err != nil {
			return nil, fmt.Errorf("tsa: config: Chain[%d] is not signed by Chain[%d]: %w", i, i+1, err)
		}
		intermediates.AddCert(c)
	}
	roots.AddCert(a.chain[len(a.chain)-1])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates,
		CurrentTime: a.notBefore, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return nil, fmt.Errorf("tsa: config: Chain does not verify: %w", err)
	}
	if a.accuracy < 0 {
		return nil, fmt.Errorf("tsa: config: Accuracy %v is negative", a.accuracy)
	}
	if len(a.policy) == 0 {
		a.policy = slices.Clone(DefaultPolicy)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	// Every signature of a signer outside this process (an HSM, a KMS) is
	// checked against the leaf's key as it is made, so a faulty one never
	// puts its output in a response. Go's own keys sign correctly by
	// construction, and a check would double a timestamp's cost.
	switch a.signer.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
	default:
		a.signer = &checkedSigner{Signer: a.signer, pub: leaf.PublicKey}
	}
	// The rest of a response (the request's digest and nonce, the policy,
	// the chain) is this package's own deterministic encoding: checked here
	// once, as Sigstore verifiers check it, and by the tests, rather than
	// on every response, where it cost four fifths of a timestamp's time.
	if err := a.selfTest(); err != nil {
		return nil, err
	}
	return a, nil
}

// checkedSigner verifies each signature of its Signer before returning it.
type checkedSigner struct {
	crypto.Signer
	pub crypto.PublicKey
}

func (s *checkedSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.Signer.Sign(rand, digest, opts)
	if err != nil {
		return nil, err
	}
	switch pub := s.pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return nil, errors.New("tsa: the signer's signature does not verify with the TSA certificate's key")
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, opts.HashFunc(), digest, sig); err != nil {
			return nil, fmt.Errorf("tsa: the signer's signature does not verify with the TSA certificate's key: %w", err)
		}
	}
	return sig, nil
}

// selfTest makes a timestamp and checks it as Sigstore verifiers do: granted,
// the nonce, the digest, the policy, the signature and the chain.
func (a *Authority) selfTest() error {
	if now := a.now(); now.Before(a.notBefore) || now.After(a.notAfter) {
		return nil // outside the chain's validity every request fails anyway
	}
	data := []byte("hallmark tsa self-test")
	resp, nonce, err := a.timestamp(data)
	if err != nil {
		return fmt.Errorf("tsa: self-test: %w", err)
	}
	n := len(a.chain)
	if _, err := verification.VerifyTimestampResponse(resp, bytes.NewReader(data), verification.VerifyOpts{
		OID: a.policy, TSACertificate: a.chain[0], Intermediates: a.chain[1 : n-1], Roots: a.chain[n-1:], Nonce: nonce,
	}); err != nil {
		return fmt.Errorf("tsa: self-test: the response does not verify: %w", err)
	}
	return nil
}

func checkLeaf(c *x509.Certificate) error {
	if c.IsCA {
		return errors.New("tsa: config: Chain[0] is a CA certificate, not a TSA certificate (RFC 3161 §2.3)")
	}
	i := slices.IndexFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidExtKeyUsage) })
	if i < 0 || !c.Extensions[i].Critical {
		return errors.New("tsa: config: Chain[0] has no critical extKeyUsage extension (RFC 3161 §2.3)")
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) != 0 {
		return errors.New("tsa: config: Chain[0] extKeyUsage is not id-kp-timeStamping alone (RFC 3161 §2.3)")
	}
	const allowed = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	if c.KeyUsage != 0 && (c.KeyUsage&^allowed != 0 || c.KeyUsage&allowed == 0) {
		return errors.New("tsa: config: Chain[0] keyUsage is not digitalSignature and/or nonRepudiation")
	}
	return nil
}

// signatureHash is the digest for the CMS signature by a key.
func signatureHash(pub crypto.PublicKey) (crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return crypto.SHA256, nil
		case elliptic.P384():
			return crypto.SHA384, nil
		case elliptic.P521():
			return crypto.SHA512, nil
		}
	case *rsa.PublicKey:
		return crypto.SHA256, nil
	case ed25519.PublicKey:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("tsa: config: Chain[0] key type %T is not ECDSA P-256/384/521, RSA or Ed25519", pub)
}

// NewChain makes a self-signed root CA certificate ("<org> TSA Root") with a
// fresh ECDSA P-256 key, and under it a TSA certificate ("<org> Timestamp
// Authority") for signer's key: extKeyUsage id-kp-timeStamping alone and
// critical, keyUsage digitalSignature. Both are valid from notBefore to
// notAfter. It returns the chain, leaf first, and the root key, which the
// caller keeps offline or discards.
func NewChain(signer crypto.Signer, org string, notBefore, notAfter time.Time) (chain []*x509.Certificate, rootKey crypto.Signer, err error) {
	if signer == nil || org == "" || !notAfter.After(notBefore) {
		return nil, nil, errors.New("tsa: NewChain: need a signer, an org and notBefore before notAfter")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: NewChain: root key: %w", err)
	}
	root := &x509.Certificate{
		Subject:   pkix.Name{Organization: []string{org}, CommonName: org + " TSA Root"},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	if root, err = createCertificate(root, root, key.Public(), key); err != nil {
		return nil, nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: NewChain: %w", err)
	}
	leaf := &x509.Certificate{
		Subject:   pkix.Name{Organization: []string{org}, CommonName: org + " Timestamp Authority"},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		// crypto/x509 marks ExtKeyUsage non-critical; RFC 3161 §2.3 wants it critical.
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
	}
	if leaf, err = createCertificate(leaf, root, signer.Public(), key); err != nil {
		return nil, nil, err
	}
	return []*x509.Certificate{leaf, root}, key, nil
}

func createCertificate(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err == nil {
		tmpl, err = x509.ParseCertificate(der)
	}
	if err != nil {
		return nil, fmt.Errorf("tsa: NewChain: certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return tmpl, nil
}

// Chain returns the certificate chain, leaf first, root last.
func (a *Authority) Chain() []*x509.Certificate { return slices.Clone(a.chain) }

// ChainPEM returns the certificate chain as PEM CERTIFICATE blocks, leaf first.
func (a *Authority) ChainPEM() []byte {
	var b bytes.Buffer
	for _, c := range a.chain {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// FailureInfo is a PKIFailureInfo bit (RFC 3161 §2.4.2).
type FailureInfo int

// The PKIFailureInfo values this package sends.
const (
	BadAlg              FailureInfo = 0
	BadRequest          FailureInfo = 2
	BadDataFormat       FailureInfo = 5
	UnacceptedPolicy    FailureInfo = 15
	UnacceptedExtension FailureInfo = 16
	SystemFailure       FailureInfo = 25
)

var failureNames = map[FailureInfo]string{BadAlg: "badAlg", BadRequest: "badRequest", BadDataFormat: "badDataFormat",
	UnacceptedPolicy: "unacceptedPolicy", UnacceptedExtension: "unacceptedExtension", SystemFailure: "systemFailure"}

func (f FailureInfo) String() string {
	if s, ok := failureNames[f]; ok {
		return s
	}
	return "PKIFailureInfo(" + strconv.Itoa(int(f)) + ")"
}

// RequestError is the error Respond returns with a rejection TimeStampResp.
type RequestError struct {
	Failure FailureInfo // sent in the response's failInfo
	Reason  string      // sent in the response's statusString
}

func (e *RequestError) Error() string {
	return "tsa: request: " + e.Reason + " (" + e.Failure.String() + ")"
}

// request is TimeStampReq (RFC 3161 §2.4.1).
type request struct {
	Version        int
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	ReqPolicy  asn1.ObjectIdentifier `asn1:"optional"`
	Nonce      *big.Int              `asn1:"optional"`
	CertReq    bool                  `asn1:"optional,default:false"`
	Extensions []pkix.Extension      `asn1:"tag:0,optional"`
}

// rejection is a TimeStampResp without a token (RFC 3161 §2.4.2).
type rejection struct {
	Status struct {
		Status       int
		StatusString []asn1.RawValue
		FailInfo     asn1.BitString
	}
}

func reject(f FailureInfo, format string, args ...any) ([]byte, error) {
	e := &RequestError{Failure: f, Reason: fmt.Sprintf(format, args...)}
	return rejectionDER(f, e.Reason), e
}

func rejectionDER(f FailureInfo, reason string) []byte {
	var r rejection
	r.Status.Status = 2
	r.Status.StatusString = []asn1.RawValue{{Tag: asn1.TagUTF8String, Bytes: []byte(reason)}}
	r.Status.FailInfo = asn1.BitString{Bytes: make([]byte, f/8+1), BitLength: int(f) + 1}
	r.Status.FailInfo.Bytes[f/8] = 0x80 >> (f % 8)
	der, err := asn1.Marshal(r)
	if err != nil {
		panic("tsa: marshaling a rejection: " + err.Error()) // fixed shapes only
	}
	return der
}

// Respond answers the DER TimeStampReq req with a DER TimeStampResp. A refused
// request gets a rejection response and a *RequestError; an internal failure
// gets no response and another error.
func (a *Authority) Respond(req []byte) (resp []byte, err error) {
	if len(req) > MaxRequestSize {
		return reject(BadDataFormat, "request is %d bytes, more than %d", len(req), MaxRequestSize)
	}
	var r request
	if rest, err := asn1.Unmarshal(req, &r); err != nil {
		return reject(BadDataFormat, "request is not a DER TimeStampReq: %v", err)
	} else if len(rest) > 0 {
		return reject(BadDataFormat, "request has %d bytes of trailing data", len(rest))
	}
	if r.Version != 1 {
		return reject(BadRequest, "version is %d, want 1", r.Version)
	}
	alg := r.MessageImprint.HashAlgorithm
	h, ok := requestHashes[alg.Algorithm.String()]
	if !ok {
		return reject(BadAlg, "messageImprint.hashAlgorithm %v is not %s", alg.Algorithm, requestHashNames)
	}
	if len(alg.Parameters.FullBytes) > 0 && !bytes.Equal(alg.Parameters.FullBytes, asn1.NullBytes) {
		return reject(BadAlg, "messageImprint.hashAlgorithm has parameters other than NULL")
	}
	if n := len(r.MessageImprint.HashedMessage); n != h.Size() {
		return reject(BadDataFormat, "messageImprint.hashedMessage is %d bytes, want %d for %v", n, h.Size(), h)
	}
	if r.ReqPolicy != nil && !r.ReqPolicy.Equal(a.policy) {
		return reject(UnacceptedPolicy, "reqPolicy %v is not %v", r.ReqPolicy, a.policy)
	}
	if len(r.Extensions) > 0 {
		return reject(UnacceptedExtension, "extension %v is not supported", r.Extensions[0].Id)
	}

	now := a.now().UTC().Truncate(time.Second) // genTime is encoded in whole seconds
	if now.Before(a.notBefore) || now.After(a.notAfter) {
		return nil, fmt.Errorf("tsa: time %v is outside the TSA chain's validity, %v to %v",
			now.Format(time.RFC3339), a.notBefore.UTC().Format(time.RFC3339), a.notAfter.UTC().Format(time.RFC3339))
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:     h,
		HashedMessage:     r.MessageImprint.HashedMessage,
		Time:              now,
		Accuracy:          a.accuracy,
		Nonce:             r.Nonce,
		Policy:            a.policy,
		AddTSACertificate: r.CertReq,
		Certificates:      a.chain[1 : len(a.chain)-1], // intermediates; the leaf is added anyway
	}
	if resp, err = ts.CreateResponseWithOpts(a.chain[0], a.signer, a.hash); err != nil {
		return nil, fmt.Errorf("tsa: signing the response: %w", err)
	}
	return resp, nil
}

// Timestamp returns a DER TimeStampResp over SHA-256(data), asked for with
// certReq true and a random nonce. Its signature was checked against the TSA
// certificate's key as it was made; the rest of the response is what New's
// self-test checked as Sigstore verifiers do.
func (a *Authority) Timestamp(data []byte) ([]byte, error) {
	resp, _, err := a.timestamp(data)
	return resp, err
}

func (a *Authority) timestamp(data []byte) ([]byte, *big.Int, error) {
	digest := sha256.Sum256(data)
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: nonce: %w", err)
	}
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Certificates: true, Nonce: nonce}).Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: making the request: %w", err)
	}
	resp, err := a.Respond(req)
	return resp, nonce, err
}

// ServeHTTP serves RFC 3161 over HTTP (§3.4) as the package comment describes.
func (a *Authority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if path.Base(r.URL.Path) == "certchain" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "certchain: use GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/pem-certificate-chain")
		w.Write(a.ChainPEM())
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "timestamp: use POST", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/timestamp-query" {
		http.Error(w, "timestamp: Content-Type must be application/timestamp-query", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestSize))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "timestamp: request larger than "+strconv.Itoa(MaxRequestSize)+" bytes", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "timestamp: reading request: "+err.Error(), http.StatusBadRequest)
		}
		return
	}
	code := http.StatusOK
	resp, err := a.Respond(body)
	if _, ok := errors.AsType[*RequestError](err); ok {
		a.log.Info("tsa: refused request", "remote", r.RemoteAddr, "err", err)
	} else if err != nil {
		a.log.Error("tsa: internal failure", "remote", r.RemoteAddr, "err", err)
		code, resp = http.StatusInternalServerError, rejectionDER(SystemFailure, "internal failure")
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(code)
	w.Write(resp)
}
