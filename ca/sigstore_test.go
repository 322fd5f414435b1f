package ca_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/ca"
	"github.com/hallmark-dev/hallmark/tsa"
	"github.com/hallmark-dev/hallmark/verifier"
)

// world is a CA and a timestamp authority as a control plane runs them, at
// the real time (cosign checks nothing against the clock here, but a real
// time keeps the test honest), and the trusted root that lists both.
type world struct {
	ca          *ca.CA
	tsaKey      *ecdsa.PrivateKey
	tsaChain    []*x509.Certificate
	now         time.Time
	trustedRoot []byte
}

func newWorld(t *testing.T) *world {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	w := &world{now: now, tsaKey: ecKey(t)}
	w.ca = newCAWith(t, ecKey(t), now.AddDate(0, 0, -1), now.AddDate(1, 0, 0))
	var err error
	w.tsaChain, _, err = tsa.NewChain(w.tsaKey, "Hallmark Test", now.AddDate(0, 0, -1), now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	w.trustedRoot = trustedRootJSON(t, w.tsaChain, ca.TrustedRootCA(w.ca.Root(), testIssuer, time.Time{}, time.Time{}))
	return w
}

// trustedRootJSON is a trusted_root.json with the given certificate
// authorities and one timestamp authority, written as the control plane
// writes its own, and no transparency log.
func trustedRootJSON(t *testing.T, tsaChain []*x509.Certificate, cas ...*prototrustroot.CertificateAuthority) []byte {
	t.Helper()
	var certs []*protocommon.X509Certificate
	for _, c := range tsaChain {
		certs = append(certs, &protocommon.X509Certificate{RawBytes: c.Raw})
	}
	leaf := tsaChain[0]
	js, err := protojson.MarshalOptions{Multiline: true}.Marshal(&prototrustroot.TrustedRoot{
		MediaType:              trustedRootMediaType,
		CertificateAuthorities: cas,
		TimestampAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   &protocommon.DistinguishedName{Organization: leaf.Subject.Organization[0], CommonName: leaf.Subject.CommonName},
			Uri:       "https://log.hallmark.localhost/api/v1/timestamp",
			CertChain: &protocommon.X509CertificateChain{Certificates: certs},
			ValidFor:  &protocommon.TimeRange{Start: timestamppb.New(leaf.NotBefore)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// sign signs artifact with a fresh ECDSA key certified by c for id at w.now,
// timestamps the signature at tsaTime, and returns the v0.3 bundle's JSON.
func (w *world) sign(t *testing.T, c *ca.CA, id ca.Identity, artifact []byte, tsaTime time.Time) []byte {
	t.Helper()
	key := ecKey(t)
	cert, err := c.Issue(key.Public(), id, w.now, 0)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(artifact)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	auth, err := tsa.New(tsa.Config{Signer: w.tsaKey, Chain: w.tsaChain, Now: func() time.Time { return tsaTime }})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := auth.Timestamp(sig)
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(&protobundle.Bundle{
		MediaType: bundle.MediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}},
			TimestampVerificationData: &protobundle.TimestampVerificationData{
				Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts}},
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
	return js
}

// verifyCase is one bundle and one policy, shared by the sigstore-go, Hallmark
// verifier and cosign tests.
type verifyCase struct {
	name        string
	bundle      []byte
	trustedRoot []byte
	artifact    []byte
	san, issuer string
	ok          bool
}

func verifyCases(t *testing.T) []verifyCase {
	w := newWorld(t)
	artifact := []byte("hallmark test artifact\n")
	builder := ca.Identity{Project: "acme/web", Builder: "linux-amd64"}
	uri := w.ca.URI(builder)
	good := w.sign(t, w.ca, builder, artifact, w.now)

	// A CA that nobody trusts, recording the same issuer.
	rogue := newCAWith(t, ecKey(t), w.now.AddDate(0, 0, -1), w.now.AddDate(1, 0, 0))

	cert := func(js []byte) *x509.Certificate {
		b, err := bundle.Parse(js)
		if err != nil {
			t.Fatal(err)
		}
		vc, err := b.VerificationContent()
		if err != nil {
			t.Fatal(err)
		}
		return vc.Certificate()
	}
	notAfter, notBefore := cert(good).NotAfter, cert(good).NotBefore

	return []verifyCase{
		{"valid", good, w.trustedRoot, artifact, uri, testIssuer, true},
		{"timestamped at the last second", w.sign(t, w.ca, builder, artifact, notAfter), w.trustedRoot, artifact, uri, testIssuer, true},
		{"wrong builder", good, w.trustedRoot, artifact, w.ca.URI(ca.Identity{Project: "acme/web", Builder: "linux-arm64"}), testIssuer, false},
		{"wrong project", good, w.trustedRoot, artifact, w.ca.URI(ca.Identity{Project: "acme", Builder: "web/builders/linux-amd64"}), testIssuer, false},
		{"wrong issuer", good, w.trustedRoot, artifact, uri, "https://fulcio.sigstore.dev", false},
		{"expired certificate", w.sign(t, w.ca, builder, artifact, notAfter.Add(time.Minute)), w.trustedRoot, artifact, uri, testIssuer, false},
		{"certificate not yet valid", w.sign(t, w.ca, builder, artifact, notBefore.Add(-time.Minute)), w.trustedRoot, artifact, uri, testIssuer, false},
		{"untrusted CA", w.sign(t, rogue, builder, artifact, w.now), w.trustedRoot, artifact, uri, testIssuer, false},
		{"CA trusted from after the signature", good,
			trustedRootJSON(t, w.tsaChain, ca.TrustedRootCA(w.ca.Root(), testIssuer, w.now.Add(time.Hour), time.Time{})),
			artifact, uri, testIssuer, false},
		{"other artifact", good, w.trustedRoot, []byte("something else\n"), uri, testIssuer, false},
	}
}

func TestSigstoreGoVerifies(t *testing.T) {
	for _, tt := range verifyCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := root.NewTrustedRootFromJSON(tt.trustedRoot)
			if err != nil {
				t.Fatal(err)
			}
			b, err := bundle.Parse(tt.bundle)
			if err != nil {
				t.Fatal(err)
			}
			v, err := verify.NewVerifier(tr, verify.WithSignedTimestamps(1))
			if err != nil {
				t.Fatal(err)
			}
			id, err := verify.NewShortCertificateIdentity(tt.issuer, "", tt.san, "")
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(tt.artifact)), verify.WithCertificateIdentity(id)))
			if tt.ok != (err == nil) {
				t.Fatalf("sigstore-go Verify: error %v, want success %v", err, tt.ok)
			}
			if err != nil {
				t.Logf("refused as expected: %v", err)
				return
			}
			if got := res.Signature.Certificate; got.SubjectAlternativeName != tt.san || got.Issuer != tt.issuer {
				t.Errorf("verified identity %q from %q, want %q from %q", got.SubjectAlternativeName, got.Issuer, tt.san, tt.issuer)
			}
		})
	}
}

func TestHallmarkVerifierVerifies(t *testing.T) {
	dir := t.TempDir()
	for i, tt := range verifyCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := root.NewTrustedRootFromJSON(tt.trustedRoot)
			if err != nil {
				t.Fatal(err)
			}
			b, err := bundle.Parse(tt.bundle)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "artifact"+string(rune('a'+i)))
			if err := os.WriteFile(path, tt.artifact, 0o644); err != nil {
				t.Fatal(err)
			}
			v, err := verifier.New(verifier.Trust{Roots: []*root.TrustedRoot{tr}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(b, verifier.Artifact{Path: path}, verifier.Policy{
				Identity:         &verifier.Identity{SubjectAlternativeName: tt.san, Issuer: tt.issuer},
				IgnoreTlogUnsafe: true,
			})
			if tt.ok != (err == nil) {
				t.Fatalf("verifier.Verify: error %v, want success %v", err, tt.ok)
			}
			if err != nil {
				t.Logf("refused as expected: %v", err)
			}
		})
	}
}
