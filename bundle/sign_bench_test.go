package bundle_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/keystore"
)

// benchDigest is the fixed SHA-256 digest both benchmarks sign.
var benchDigest = sha256.Sum256([]byte("hallmark benchmark artifact"))

// BenchmarkSignBundle measures what `hallmark sign` does per file once the
// digest is known: an ECDSA P-256 signature through the keystore's
// crypto.Signer, a v0.3 message-signature bundle and its JSON encoding. Key
// loading happens once, outside the timer.
func BenchmarkSignBundle(b *testing.B) {
	store := &keystore.Store{Dir: b.TempDir()}
	if _, err := store.Generate("bench", keystore.ECDSAP256, nil); err != nil {
		b.Fatal(err)
	}
	signer, err := store.Signer("bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	hint, err := bundle.KeyHint(signer.Public())
	if err != nil {
		b.Fatal(err)
	}
	var size int
	for b.Loop() {
		sig, err := signer.Sign(rand.Reader, benchDigest[:], crypto.SHA256)
		if err != nil {
			b.Fatal(err)
		}
		bn, err := bundle.NewMessageSignature(benchDigest[:], sig, hint)
		if err != nil {
			b.Fatal(err)
		}
		data, err := bundle.Marshal(bn)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "bundle-bytes")
}

// BenchmarkRawECDSAP256 is the floor for BenchmarkSignBundle: a bare
// crypto/ecdsa P-256 signature over the same digest.
func BenchmarkRawECDSAP256(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, priv, benchDigest[:]); err != nil {
			b.Fatal(err)
		}
	}
}
