package custody_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/hallmark-dev/hallmark/custody"
	"github.com/hallmark-dev/hallmark/custody/softhsmtest"
)

// BenchmarkSign signs SHA-256 digests with each backend, serially and from
// GOMAXPROCS goroutines (go test -bench Sign -cpu 1,4,16).
func BenchmarkSign(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) custody.Backend
	}{
		{"file", func(b *testing.B) custody.Backend {
			return &custody.File{Dir: b.TempDir(), Passphrase: passphrase("correct horse")}
		}},
		{"pkcs11", func(b *testing.B) custody.Backend { return openPKCS11(b, softhsmtest.New(b)) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			backend := be.open(b)
			ctx := context.Background()
			ref, pub, err := backend.Generate(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			s, err := backend.Signer(ctx, ref, pub)
			if err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256([]byte("artifact"))
			b.Run("serial", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Sign(rand.Reader, sum[:], crypto.SHA256); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.Sign(rand.Reader, sum[:], crypto.SHA256); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
