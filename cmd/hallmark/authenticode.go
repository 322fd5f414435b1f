package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/authenticode"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// isPE reports whether the file starts as a PE image does ("MZ").
func isPE(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return startsPE(f), nil
}

func startsPE(r io.ReaderAt) bool {
	head := make([]byte, 2)
	_, err := r.ReadAt(head, 0)
	return err == nil && bytes.Equal(head, []byte("MZ"))
}

// openSized opens path for the authenticode package's readers, which take
// the file's size.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// embedAuthenticode signs the PE file path in place with an Authenticode
// signature from the control plane (only its image digest travels), and
// reports whether it was a PE file. A file that starts like one but cannot
// be parsed is an error: it would otherwise leave unsigned.
func (c *cli) embedAuthenticode(ctx context.Context, cn conn, sf *signingFlags, path string, replace bool) (bool, error) {
	pe, err := isPE(path)
	if err != nil || !pe {
		return false, err
	}
	sign := func(ctx context.Context, digest []byte) ([]byte, error) {
		resp, err := call[api.AuthenticodeSignature](ctx, cn, api.SignPE, &api.AuthenticodeRequest{Nonce: api.Nonce(), Project: sf.project,
			Key: sf.key, Digest: "sha256:" + hex.EncodeToString(digest), Name: filepath.Base(path)})
		if err != nil {
			return nil, err
		}
		return resp.Signature, nil
	}
	img, err := authenticode.SignFile(ctx, path, path, sign, authenticode.Options{Replace: replace})
	if errors.Is(err, authenticode.ErrSigned) {
		return true, withHint(fmt.Errorf("sign: %s already carries an Authenticode signature", path), "--replace-signature replaces it")
	}
	if err != nil {
		return true, fmt.Errorf("sign: %s: Authenticode: %w", path, err)
	}
	fmt.Fprintf(c.stderr, "hallmark: %s: Authenticode signature embedded (image digest sha256:%x)\n", path, img.Digest)
	return true, nil
}

// rootCerts returns the root certificates of a trusted root's CAs and TSAs.
func rootCerts(tr *root.TrustedRoot) (cas, tsas []*x509.Certificate) {
	for _, a := range tr.FulcioCertificateAuthorities() {
		if f, ok := a.(*root.FulcioCertificateAuthority); ok {
			cas = append(cas, f.Root)
		}
	}
	for _, a := range tr.TimestampingAuthorities() {
		if t, ok := a.(*root.SigstoreTimestampingAuthority); ok {
			tsas = append(tsas, t.Root)
		}
	}
	return cas, tsas
}

// authenticodePools returns the root certificates of the trusted roots'
// CAs and TSAs.
func authenticodePools(roots []*root.TrustedRoot) (cas, tsas *x509.CertPool) {
	cas, tsas = x509.NewCertPool(), x509.NewCertPool()
	for _, tr := range roots {
		c, t := rootCerts(tr)
		for _, cert := range c {
			cas.AddCert(cert)
		}
		for _, cert := range t {
			tsas.AddCert(cert)
		}
	}
	return cas, tsas
}

// verifyEmbedded checks the Authenticode signature of a PE file that has
// one, against the trusted roots' CAs and TSAs. Other files pass.
func (c *cli) verifyEmbedded(path string, roots []*root.TrustedRoot) error {
	f, size, err := openSized(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if !startsPE(f) {
		return nil
	}
	img, err := authenticode.Parse(f, size)
	if err != nil {
		return &checkFailedError{fmt.Errorf("verify: %s: %w", path, err)}
	}
	if !img.Signed() {
		fmt.Fprintf(c.stderr, "hallmark: %s: a PE file without an embedded Authenticode signature\n", path)
		return nil
	}
	cas, tsas := authenticodePools(roots)
	sig, err := authenticode.Verify(f, size, cas, tsas, time.Now())
	if err != nil {
		return &checkFailedError{fmt.Errorf("verify: %s: embedded Authenticode signature: %w", path, err)}
	}
	fmt.Fprintf(c.stderr, "hallmark: verified %s: embedded Authenticode signature by %s%s\n", path, certName(sig.Signer), stampNote(sig))
	return nil
}

func certName(cert *x509.Certificate) string {
	for _, u := range cert.URIs {
		return u.String()
	}
	if cert.Subject.CommonName != "" {
		return cert.Subject.CommonName
	}
	return cert.Subject.String()
}

func stampNote(sig *authenticode.Signature) string {
	if sig.Timestamp == nil {
		return ", not timestamped"
	}
	return ", timestamped at " + sig.Timestamp.Time.UTC().Format(time.RFC3339)
}
