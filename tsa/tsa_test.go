package tsa_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/timestamp-authority/v2/pkg/verification"

	"github.com/hallmark-dev/hallmark/tsa"
)

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidMD5    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidEKU    = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// opaqueSigner hides the concrete key type, as an HSM-backed signer would.
type opaqueSigner struct{ s crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.s.Public() }
func (o opaqueSigner) Sign(r io.Reader, d []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.s.Sign(r, d, opts)
}

// failingSigner works for New's self-test, then fails: an HSM unplugged
// while the TSA runs.
type failingSigner struct {
	crypto.Signer
	calls *atomic.Int32
}

func unplugged(s crypto.Signer) failingSigner { return failingSigner{s, new(atomic.Int32)} }

func (f failingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	if f.calls.Add(1) == 1 {
		return f.Signer.Sign(r, d, o)
	}
	return nil, errors.New("hsm unplugged")
}

// lyingSigner signs with another key than the one it claims.
type lyingSigner struct {
	crypto.Signer
	other crypto.Signer
	calls *atomic.Int32
}

func (l lyingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	if l.calls.Add(1) == 1 {
		return l.Signer.Sign(r, d, o)
	}
	return l.other.Sign(r, d, o)
}

func p256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testNow is inside every test chain's validity and close to the wall clock,
// which the CMS signingTime attribute records.
var testNow = time.Now().UTC().Truncate(time.Second)

type fixture struct {
	a     *tsa.Authority
	chain []*x509.Certificate
	key   crypto.Signer
}

func (f fixture) verifyOpts() verification.VerifyOpts {
	n := len(f.chain)
	return verification.VerifyOpts{TSACertificate: f.chain[0], Intermediates: f.chain[1 : n-1], Roots: f.chain[n-1:]}
}

func newFixture(t testing.TB, key crypto.Signer) fixture {
	t.Helper()
	if key == nil {
		key = p256(t)
	}
	chain, _, err := tsa.NewChain(key, "Hallmark Test", testNow.Add(-time.Hour), testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{newAuthority(t, key, chain, func() time.Time { return testNow }), chain, key}
}

func newAuthority(t testing.TB, key crypto.Signer, chain []*x509.Certificate, now func() time.Time) *tsa.Authority {
	t.Helper()
	a, err := tsa.New(tsa.Config{Signer: opaqueSigner{key}, Chain: chain, Now: now, Accuracy: time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// issue signs tmpl with parentKey (self-signed if parent is nil).
func issue(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
}

func tsaTemplate(critical bool, ekus ...asn1.ObjectIdentifier) *x509.Certificate {
	v, _ := asn1.Marshal(ekus)
	return &x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtraExtensions: []pkix.Extension{{Id: oidEKU, Critical: critical, Value: v}}}
}

var oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}

// threeLevel returns a leaf, intermediate, root chain for key.
func threeLevel(t testing.TB, key crypto.Signer) []*x509.Certificate {
	rootKey, interKey := p256(t), p256(t)
	rootCert := issue(t, caTemplate("root"), nil, rootKey.Public(), rootKey)
	inter := issue(t, caTemplate("intermediate"), rootCert, interKey.Public(), rootKey)
	leaf := issue(t, tsaTemplate(true, oidTimeStamping), inter, key.Public(), interKey)
	return []*x509.Certificate{leaf, inter, rootCert}
}

func TestNew(t *testing.T) {
	key := p256(t)
	good, _, err := tsa.NewChain(key, "Hallmark Test", testNow.Add(-time.Hour), testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rootKey := p256(t)
	rootCert := issue(t, caTemplate("root"), nil, rootKey.Public(), rootKey)
	leafWith := func(mod func(*x509.Certificate)) []*x509.Certificate {
		tmpl := tsaTemplate(true, oidTimeStamping)
		mod(tmpl)
		return []*x509.Certificate{issue(t, tmpl, rootCert, key.Public(), rootKey), rootCert}
	}
	otherRoot := issue(t, caTemplate("other root"), nil, p256(t).Public(), p256(t))
	for _, tt := range []struct {
		name string
		cfg  tsa.Config
		want string // substring of the error; "" means New succeeds
	}{
		{"good", tsa.Config{Signer: key, Chain: good}, ""},
		{"three levels", tsa.Config{Signer: key, Chain: threeLevel(t, key)}, ""},
		{"nil signer", tsa.Config{Chain: good}, "Signer is nil"},
		{"leaf only", tsa.Config{Signer: key, Chain: good[:1]}, "its root"},
		{"nil certificate", tsa.Config{Signer: key, Chain: []*x509.Certificate{good[0], nil}}, "Chain[1] is nil"},
		{"wrong key", tsa.Config{Signer: p256(t), Chain: good}, "public key"},
		{"wrong root", tsa.Config{Signer: key, Chain: []*x509.Certificate{good[0], otherRoot}}, "not signed by"},
		{"reversed", tsa.Config{Signer: key, Chain: []*x509.Certificate{good[1], good[0]}}, "CA certificate"},
		{"EKU not critical", tsa.Config{Signer: key, Chain: leafWith(func(c *x509.Certificate) {
			c.ExtraExtensions = tsaTemplate(false, oidTimeStamping).ExtraExtensions
		})}, "critical"},
		{"no EKU", tsa.Config{Signer: key, Chain: leafWith(func(c *x509.Certificate) { c.ExtraExtensions = nil })}, "critical"},
		{"two EKUs", tsa.Config{Signer: key, Chain: leafWith(func(c *x509.Certificate) {
			c.ExtraExtensions = tsaTemplate(true, oidTimeStamping, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}).ExtraExtensions
		})}, "alone"},
		{"unknown EKU", tsa.Config{Signer: key, Chain: leafWith(func(c *x509.Certificate) {
			c.ExtraExtensions = tsaTemplate(true, oidTimeStamping, asn1.ObjectIdentifier{1, 2, 3}).ExtraExtensions
		})}, "alone"},
		{"key encipherment", tsa.Config{Signer: key, Chain: leafWith(func(c *x509.Certificate) {
			c.KeyUsage |= x509.KeyUsageKeyEncipherment
		})}, "keyUsage"},
		{"leaf is CA", tsa.Config{Signer: key, Chain: leafWith(func(c *x509.Certificate) {
			c.BasicConstraintsValid, c.IsCA = true, true
		})}, "CA certificate"},
		{"disjoint validity", tsa.Config{Signer: key, Chain: leafWith(func(c *x509.Certificate) {
			c.NotBefore, c.NotAfter = testNow.Add(2*time.Hour), testNow.Add(3*time.Hour)
		})}, "do not overlap"},
		{"negative accuracy", tsa.Config{Signer: key, Chain: good, Accuracy: -time.Second}, "negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tsa.New(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New: got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewChain(t *testing.T) {
	if _, _, err := tsa.NewChain(p256(t), "x", testNow, testNow); err == nil {
		t.Error("NewChain accepted an empty validity period")
	}
	if _, _, err := tsa.NewChain(nil, "x", testNow, testNow.Add(time.Hour)); err == nil {
		t.Error("NewChain accepted a nil signer")
	}
	chain, rootKey, err := tsa.NewChain(p256(t), "Acme", testNow, testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	leaf, rootCert := chain[0], chain[1]
	if leaf.Subject.CommonName != "Acme Timestamp Authority" || rootCert.Subject.CommonName != "Acme TSA Root" ||
		leaf.Subject.Organization[0] != "Acme" {
		t.Errorf("subjects: %v, %v", leaf.Subject, rootCert.Subject)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature || leaf.IsCA || !rootCert.IsCA {
		t.Errorf("leaf keyUsage %v, leaf CA %v, root CA %v", leaf.KeyUsage, leaf.IsCA, rootCert.IsCA)
	}
	if !rootKey.Public().(*ecdsa.PublicKey).Equal(rootCert.PublicKey) {
		t.Error("returned root key is not the root certificate's")
	}
}

// TestSigstore checks Timestamp's responses the ways Sigstore verifiers do:
// timestamp-authority's verifier, a trusted_root.json round trip, and
// sigstore-go's bundle verification.
func TestSigstore(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		name  string
		key   crypto.Signer
		chain func(crypto.Signer) []*x509.Certificate
	}{
		{"P-256", p256(t), nil},
		{"P-384", p384, nil},
		{"RSA", rsaKey, nil},
		{"Ed25519", edKey, nil},
		{"intermediate", p256(t), func(k crypto.Signer) []*x509.Certificate { return threeLevel(t, k) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.key)
			if tt.chain != nil {
				f.chain = tt.chain(tt.key)
				f.a = newAuthority(t, tt.key, f.chain, func() time.Time { return testNow })
			}
			sig := []byte("signature bytes of " + tt.name)
			resp, err := f.a.Timestamp(sig)
			if err != nil {
				t.Fatal(err)
			}

			opts := f.verifyOpts()
			opts.OID = tsa.DefaultPolicy
			ts, err := verification.VerifyTimestampResponse(resp, bytes.NewReader(sig), opts)
			if err != nil {
				t.Fatalf("timestamp-authority verify: %v", err)
			}
			if !ts.Time.Equal(testNow) || ts.Accuracy != time.Second || ts.HashAlgorithm != crypto.SHA256 {
				t.Errorf("time %v accuracy %v hash %v", ts.Time, ts.Accuracy, ts.HashAlgorithm)
			}
			if _, err := verification.VerifyTimestampResponse(resp, strings.NewReader("other"), opts); err == nil {
				t.Error("response verified for other data")
			}

			n := len(f.chain)
			tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, []root.TimestampingAuthority{
				&root.SigstoreTimestampingAuthority{Leaf: f.chain[0], Intermediates: f.chain[1 : n-1], Root: f.chain[n-1],
					ValidityPeriodStart: testNow.Add(-time.Hour), URI: "https://tsa.example"},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			trJSON, err := tr.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if tr, err = root.NewTrustedRootFromJSON(trJSON); err != nil {
				t.Fatal(err)
			}
			for _, tsaRoot := range tr.TimestampingAuthorities() {
				if _, err := tsaRoot.Verify(resp, sig); err != nil {
					t.Fatalf("trusted root TSA Verify: %v", err)
				}
			}
			// A trusted root may leave the leaf out; the response carries it.
			noLeaf := &root.SigstoreTimestampingAuthority{Intermediates: f.chain[1 : n-1], Root: f.chain[n-1]}
			if _, err := noLeaf.Verify(resp, sig); err != nil {
				t.Fatalf("TSA without leaf: Verify: %v", err)
			}

			digest := sha256.Sum256(sig)
			b, err := bundle.NewBundle(&protobundle.Bundle{
				MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
				VerificationMaterial: &protobundle.VerificationMaterial{
					Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "k"}},
					TimestampVerificationData: &protobundle.TimestampVerificationData{
						Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: resp}},
					},
				},
				Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
					MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
					Signature:     sig,
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := verify.VerifySignedTimestampWithThreshold(b, tr, 1)
			if err != nil {
				t.Fatalf("sigstore-go VerifySignedTimestampWithThreshold: %v", err)
			}
			if !got[0].Time.Equal(testNow) || got[0].URI != "https://tsa.example" {
				t.Errorf("sigstore-go timestamp %+v", got[0])
			}
		})
	}
}

type rawRequest struct {
	Version        int
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	ReqPolicy  asn1.ObjectIdentifier `asn1:"optional"`
	Nonce      *big.Int              `asn1:"optional"`
	CertReq    bool                  `asn1:"optional"`
	Extensions []pkix.Extension      `asn1:"tag:0,optional"`
}

func (r rawRequest) der(t testing.TB) []byte {
	b, err := asn1.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newRequest(alg asn1.ObjectIdentifier, digest []byte) rawRequest {
	var r rawRequest
	r.Version = 1
	r.MessageImprint.HashAlgorithm.Algorithm = alg
	r.MessageImprint.HashedMessage = digest
	return r
}

type status struct {
	Status struct {
		Status       int
		StatusString []asn1.RawValue `asn1:"optional"`
		FailInfo     asn1.BitString  `asn1:"optional"`
	}
	Token asn1.RawValue `asn1:"optional"`
}

func parseStatus(t testing.TB, resp []byte) status {
	t.Helper()
	var s status
	if rest, err := asn1.Unmarshal(resp, &s); err != nil || len(rest) > 0 {
		t.Fatalf("response is not one TimeStampResp: %v", err)
	}
	return s
}

func TestRespond(t *testing.T) {
	f := newFixture(t, nil)
	data := []byte("some signature")
	d256, d384, d512 := sha256.Sum256(data), sha512.Sum384(data), sha512.Sum512(data)
	withParams := newRequest(oidSHA256, d256[:])
	withParams.MessageImprint.HashAlgorithm.Parameters = asn1.NullRawValue
	ours := newRequest(oidSHA384, d384[:])
	ours.ReqPolicy, ours.Nonce, ours.CertReq = tsa.DefaultPolicy, big.NewInt(-42), true
	for _, tt := range []struct {
		name  string
		req   rawRequest
		certs int
	}{
		{"sha256 bare", newRequest(oidSHA256, d256[:]), 0},
		{"sha256 NULL parameters", withParams, 0},
		{"sha384 our policy, nonce, certReq", ours, 1},
		{"sha512", newRequest(oidSHA512, d512[:]), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.a.Respond(tt.req.der(t))
			if err != nil {
				t.Fatal(err)
			}
			opts := f.verifyOpts()
			opts.Nonce = tt.req.Nonce
			ts, err := verification.VerifyTimestampResponse(resp, bytes.NewReader(data), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(ts.Certificates) != tt.certs || !ts.Policy.Equal(tsa.DefaultPolicy) {
				t.Errorf("%d certificates, policy %v", len(ts.Certificates), ts.Policy)
			}
			if tt.req.Nonce != nil && ts.Nonce.Cmp(tt.req.Nonce) != 0 {
				t.Errorf("nonce %v, want %v", ts.Nonce, tt.req.Nonce)
			}
		})
	}

	t.Run("unique serials", func(t *testing.T) {
		seen := map[string]bool{}
		for range 20 {
			resp, err := f.a.Timestamp(data)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := timestamp.ParseResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			if seen[ts.SerialNumber.String()] {
				t.Fatalf("serial %v repeated", ts.SerialNumber)
			}
			seen[ts.SerialNumber.String()] = true
		}
	})
}

func TestRespondRejects(t *testing.T) {
	f := newFixture(t, nil)
	d := sha256.Sum256([]byte("x"))
	mod := func(m func(*rawRequest)) []byte {
		r := newRequest(oidSHA256, d[:])
		m(&r)
		return r.der(t)
	}
	good := newRequest(oidSHA256, d[:]).der(t)
	for _, tt := range []struct {
		name string
		req  []byte
		want tsa.FailureInfo
	}{
		{"SHA-1", newRequest(oidSHA1, d[:20]).der(t), tsa.BadAlg},
		{"MD5", newRequest(oidMD5, d[:16]).der(t), tsa.BadAlg},
		{"unknown hash", newRequest(asn1.ObjectIdentifier{1, 2, 3}, d[:]).der(t), tsa.BadAlg},
		{"hash parameters", mod(func(r *rawRequest) {
			r.MessageImprint.HashAlgorithm.Parameters = asn1.RawValue{Tag: asn1.TagInteger, Bytes: []byte{1}}
		}), tsa.BadAlg},
		{"short digest", newRequest(oidSHA256, d[:31]).der(t), tsa.BadDataFormat},
		{"long digest", newRequest(oidSHA256, append(d[:], 0)).der(t), tsa.BadDataFormat},
		{"empty digest", newRequest(oidSHA512, nil).der(t), tsa.BadDataFormat},
		{"SHA-384 with SHA-256 digest", newRequest(oidSHA384, d[:]).der(t), tsa.BadDataFormat},
		{"foreign policy", mod(func(r *rawRequest) { r.ReqPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2} }), tsa.UnacceptedPolicy},
		{"extension", mod(func(r *rawRequest) {
			r.Extensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}
		}), tsa.UnacceptedExtension},
		{"version 2", mod(func(r *rawRequest) { r.Version = 2 }), tsa.BadRequest},
		{"empty", nil, tsa.BadDataFormat},
		{"garbage", []byte("GET / HTTP/1.1\r\n"), tsa.BadDataFormat},
		{"truncated", good[:len(good)-1], tsa.BadDataFormat},
		{"trailing data", append(good[:len(good):len(good)], 0), tsa.BadDataFormat},
		{"not a request", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, tsa.BadDataFormat},
		{"oversize", make([]byte, tsa.MaxRequestSize+1), tsa.BadDataFormat},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.a.Respond(tt.req)
			rerr, ok := errors.AsType[*tsa.RequestError](err)
			if !ok {
				t.Fatalf("Respond error %v, want a *RequestError", err)
			}
			if rerr.Failure != tt.want {
				t.Errorf("Failure %v, want %v", rerr.Failure, tt.want)
			}
			s := parseStatus(t, resp)
			if s.Status.Status != 2 || len(s.Token.FullBytes) != 0 {
				t.Fatalf("status %d, token %d bytes; want a rejection", s.Status.Status, len(s.Token.FullBytes))
			}
			fi := s.Status.FailInfo
			if fi.BitLength != int(tt.want)+1 || fi.At(int(tt.want)) != 1 || bytes.Count(fi.Bytes, []byte{0}) != len(fi.Bytes)-1 {
				t.Errorf("failInfo %x/%d, want bit %d alone", fi.Bytes, fi.BitLength, tt.want)
			}
			if len(s.Status.StatusString) != 1 || s.Status.StatusString[0].Tag != asn1.TagUTF8String {
				t.Errorf("statusString %v", s.Status.StatusString)
			}
			// The failure reaches clients that use the common Go library.
			if _, err := timestamp.ParseResponse(resp); err == nil || !strings.Contains(err.Error(), "rejected") {
				t.Errorf("digitorus ParseResponse: %v", err)
			}
		})
	}
}

func TestValidity(t *testing.T) {
	f := newFixture(t, nil)
	d := sha256.Sum256(nil)
	for _, now := range []time.Time{testNow.Add(-time.Hour - time.Second), testNow.Add(time.Hour + time.Second)} {
		a := newAuthority(t, f.key, f.chain, func() time.Time { return now })
		resp, err := a.Respond(newRequest(oidSHA256, d[:]).der(t))
		if resp != nil || err == nil || !strings.Contains(err.Error(), "outside the TSA chain's validity") {
			t.Errorf("at %v: Respond = %d bytes, %v; want no response and a validity error", now, len(resp), err)
		}
		if _, ok := errors.AsType[*tsa.RequestError](err); ok {
			t.Errorf("at %v: validity failure reported as a request error", now)
		}
		if _, err := a.Timestamp(nil); err == nil {
			t.Errorf("at %v: Timestamp succeeded", now)
		}
	}
	edge := newAuthority(t, f.key, f.chain, func() time.Time { return f.chain[0].NotAfter })
	if _, err := edge.Timestamp(nil); err != nil {
		t.Errorf("at notAfter: %v", err)
	}
}

func TestSignerFailure(t *testing.T) {
	f := newFixture(t, nil)
	a := newAuthority(t, unplugged(f.key), f.chain, nil)
	d := sha256.Sum256(nil)
	resp, err := a.Respond(newRequest(oidSHA256, d[:]).der(t))
	if resp != nil || err == nil || !strings.Contains(err.Error(), "hsm unplugged") {
		t.Fatalf("Respond = %d bytes, %v", len(resp), err)
	}
	// A signer whose signatures do not verify with the certificate's key
	// gets no response out.
	liar := newAuthority(t, lyingSigner{f.key, p256(t), new(atomic.Int32)}, f.chain, nil)
	if resp, err := liar.Timestamp([]byte("x")); resp != nil || err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("a lying signer: %d bytes, %v", len(resp), err)
	}
	// A signer that fails from the start fails New's self-test.
	if _, err := tsa.New(tsa.Config{Signer: failingSigner{f.key, func() *atomic.Int32 { n := new(atomic.Int32); n.Store(1); return n }()}, Chain: f.chain}); err == nil || !strings.Contains(err.Error(), "self-test") {
		t.Fatalf("New with a dead signer: %v", err)
	}
	if _, ok := errors.AsType[*tsa.RequestError](err); ok {
		t.Fatal("signer failure reported as a request error")
	}
}

func TestServeHTTP(t *testing.T) {
	f := newFixture(t, nil)
	broken := newAuthority(t, unplugged(f.key), f.chain, nil)
	d := sha256.Sum256([]byte("x"))
	good := newRequest(oidSHA256, d[:]).der(t)
	const query = "application/timestamp-query"
	for _, tt := range []struct {
		name        string
		a           *tsa.Authority
		method      string
		path        string
		contentType string
		body        []byte
		code        int
		wantType    string
		status      int // TimeStampResp status, -1 for none
	}{
		{"granted", f.a, "POST", "/", query, good, 200, "application/timestamp-reply", 0},
		{"content-type parameters", f.a, "POST", "/api/v1/timestamp", query + "; charset=binary", good, 200, "application/timestamp-reply", 0},
		{"garbage", f.a, "POST", "/", query, []byte("garbage"), 200, "application/timestamp-reply", 2},
		{"empty body", f.a, "POST", "/", query, nil, 200, "application/timestamp-reply", 2},
		{"SHA-1", f.a, "POST", "/", query, newRequest(oidSHA1, d[:20]).der(t), 200, "application/timestamp-reply", 2},
		{"GET", f.a, "GET", "/", "", nil, 405, "", -1},
		{"PUT", f.a, "PUT", "/", query, good, 405, "", -1},
		{"wrong content type", f.a, "POST", "/", "application/octet-stream", good, 415, "", -1},
		{"no content type", f.a, "POST", "/", "", good, 415, "", -1},
		{"oversize", f.a, "POST", "/", query, make([]byte, tsa.MaxRequestSize+1), 413, "", -1},
		{"signer fails", broken, "POST", "/", query, good, 500, "application/timestamp-reply", 2},
		{"certchain", f.a, "GET", "/api/v1/timestamp/certchain", "", nil, 200, "application/pem-certificate-chain", -1},
		{"certchain POST", f.a, "POST", "/certchain", query, good, 405, "", -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			tt.a.ServeHTTP(w, r)
			if w.Code != tt.code {
				t.Fatalf("code %d, want %d; body %q", w.Code, tt.code, w.Body.Bytes())
			}
			if tt.wantType != "" && w.Header().Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type %q, want %q", w.Header().Get("Content-Type"), tt.wantType)
			}
			if tt.status >= 0 {
				if s := parseStatus(t, w.Body.Bytes()); s.Status.Status != tt.status {
					t.Errorf("TimeStampResp status %d, want %d", s.Status.Status, tt.status)
				}
			}
			if tt.name == "certchain" {
				rest := w.Body.Bytes()
				for i, c := range f.chain {
					var b *pem.Block
					if b, rest = pem.Decode(rest); b == nil || !bytes.Equal(b.Bytes, c.Raw) {
						t.Fatalf("PEM block %d is not Chain()[%d]", i, i)
					}
				}
			}
		})
	}
	if got := f.a.Chain(); len(got) != 2 || !got[0].Equal(f.chain[0]) || !got[1].Equal(f.chain[1]) {
		t.Error("Chain() is not the configured chain")
	}
}

// FuzzRespond checks that Respond never panics, answers every input with a
// TimeStampResp or an internal error, and that granted responses verify and
// match the request.
func FuzzRespond(f *testing.F) {
	fx := newFixture(f, nil)
	d := sha256.Sum256([]byte("seed"))
	r := newRequest(oidSHA256, d[:])
	f.Add(r.der(f))
	r.Nonce, r.CertReq, r.ReqPolicy = big.NewInt(7), true, tsa.DefaultPolicy
	f.Add(r.der(f))
	d5 := sha512.Sum512(nil)
	f.Add(newRequest(oidSHA512, d5[:]).der(f))
	f.Add(newRequest(oidSHA1, d[:20]).der(f))
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	roots := x509.NewCertPool()
	roots.AddCert(fx.chain[1])
	f.Fuzz(func(t *testing.T, req []byte) {
		resp, err := fx.a.Respond(req)
		if _, ok := errors.AsType[*tsa.RequestError](err); err != nil && !ok {
			t.Fatalf("internal error for outside input: %v", err)
		}
		s := parseStatus(t, resp)
		if (err == nil) != (s.Status.Status == 0) {
			t.Fatalf("status %d with error %v", s.Status.Status, err)
		}
		if err != nil {
			return
		}
		want, perr := timestamp.ParseRequest(req)
		if perr != nil {
			t.Fatalf("granted a request digitorus cannot parse: %v", perr)
		}
		ts, err := timestamp.ParseResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		p7, err := pkcs7.Parse(ts.RawToken)
		if err != nil {
			t.Fatal(err)
		}
		if len(p7.Certificates) == 0 {
			p7.Certificates = fx.chain[:1]
		}
		if err := p7.VerifyWithChain(roots); err != nil {
			t.Fatalf("granted response does not verify: %v", err)
		}
		if ts.HashAlgorithm != want.HashAlgorithm || !bytes.Equal(ts.HashedMessage, want.HashedMessage) ||
			(want.Nonce == nil) != (ts.Nonce == nil) || (want.Nonce != nil && want.Nonce.Cmp(ts.Nonce) != 0) ||
			ts.AddTSACertificate != want.Certificates {
			t.Fatalf("response %+v does not match request %+v", ts, want)
		}
	})
}

func ExampleAuthority_Timestamp() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	chain, _, _ := tsa.NewChain(key, "Example", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	a, _ := tsa.New(tsa.Config{Signer: key, Chain: chain})

	sig := []byte("signature bytes")
	resp, err := a.Timestamp(sig) // the bundle's signedTimestamp
	if err != nil {
		panic(err)
	}
	ts, _ := verification.VerifyTimestampResponse(resp, bytes.NewReader(sig),
		verification.VerifyOpts{Roots: chain[1:], TSACertificate: chain[0]})
	fmt.Println(ts.Policy, ts.HashAlgorithm)
	// Output: 1.3.6.1.4.1.32473.3161.1 SHA-256
}
