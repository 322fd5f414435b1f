package serveprof

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/hallmark-dev/hallmark/tlog"
	"github.com/hallmark-dev/hallmark/tsa"
)

// The per-signature steps of a served sign request, each alone, to put
// prices on the profile's items:
//
//	go test -run '^$' -bench Cost ./bench/serveprof

func BenchmarkCostRawSign(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("artifact"))
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, key, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCostRawVerify(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("artifact"))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, d[:])
	for b.Loop() {
		if !ecdsa.VerifyASN1(&key.PublicKey, d[:], sig) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkCostHashedRekord is tlog.HashedRekord: the log entry body, with a
// verification of the signature.
func BenchmarkCostHashedRekord(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("artifact"))
	sig, _ := key.Sign(rand.Reader, d[:], crypto.SHA256)
	for b.Loop() {
		if _, err := tlog.HashedRekord(d[:], sig, key.Public()); err != nil {
			b.Fatal(err)
		}
	}
}

func authority(b *testing.B) *tsa.Authority {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	chain, _, err := tsa.NewChain(key, "bench", now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	a, err := tsa.New(tsa.Config{Signer: key, Chain: chain})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkCostTimestamp is tsa.Authority.Timestamp as the control plane
// calls it for every signature: a request, the response, and a full
// verification of that response (PKCS#7 signature and certificate chain).
func BenchmarkCostTimestamp(b *testing.B) {
	a := authority(b)
	sig := make([]byte, 72)
	for b.Loop() {
		if _, err := a.Timestamp(sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCostRespond is the response alone, without the verification
// Timestamp adds.
func BenchmarkCostRespond(b *testing.B) {
	a := authority(b)
	d := sha256.Sum256(make([]byte, 72))
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: d[:], Certificates: true}).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := a.Respond(req); err != nil {
			b.Fatal(err)
		}
	}
}
