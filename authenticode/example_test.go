package authenticode_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hallmark-dev/hallmark/authenticode"
	"github.com/hallmark-dev/hallmark/tsa"
)

// The control plane holds key and chain and the platform TSA; the build
// side hashes the file and sends only the digest (here, in process).
func ExampleSignFile() {
	var (
		key       crypto.Signer       // code-signing key (HSM, KMS, keystore)
		chain     []*x509.Certificate // its certificate first, then intermediates
		authority *tsa.Authority      // the platform TSA
	)
	signer := &authenticode.Signer{
		Key:   key,
		Chain: chain,
		Timestamp: func(ctx context.Context, signature []byte) ([]byte, error) {
			resp, err := authority.Timestamp(signature) // over SHA-256(signature)
			if err != nil {
				return nil, err
			}
			return authenticode.TokenFromResponse(resp)
		},
	}
	img, err := authenticode.SignFile(context.Background(), "app.exe", "app.exe", signer.Sign, authenticode.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("signed digest %x, certificate table at 0x%x\n", img.Digest, img.CertOffset)
}

func ExampleVerify() {
	var roots, tsaRoots *x509.CertPool // trusted code-signing and TSA roots
	f, err := os.Open("app.exe")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	sig, err := authenticode.Verify(f, fi.Size(), roots, tsaRoots, time.Now())
	if err != nil {
		log.Fatal(err) // errors.Is(err, authenticode.ErrInvalid) for a bad signature
	}
	fmt.Println("signed by", sig.Signer.Subject, "serial", sig.Signer.SerialNumber, "issuer", sig.Signer.Issuer)
	if sig.Timestamp != nil {
		fmt.Println("timestamped", sig.Timestamp.Time, "by", sig.Timestamp.TSA.Subject)
	}
}
