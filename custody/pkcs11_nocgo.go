//go:build !cgo

package custody

import (
	"context"
	"crypto"
	"errors"
)

// errNoCgo is what the PKCS#11 backend says in a build without cgo.
var errNoCgo = errors.New("custody: PKCS#11 needs a build with cgo (CGO_ENABLED=1)")

// PKCS11 keeps keys in a PKCS#11 token (an HSM). This build has no cgo, so
// it has no PKCS#11: OpenPKCS11 always fails.
type PKCS11 struct{}

var _ Backend = (*PKCS11)(nil)

// OpenPKCS11 fails: PKCS#11 needs a build with cgo.
func OpenPKCS11(cfg PKCS11Config) (*PKCS11, error) { return nil, errNoCgo }

// Name returns "pkcs11".
func (p *PKCS11) Name() string { return "pkcs11" }

// Close does nothing.
func (p *PKCS11) Close() error { return nil }

// Generate fails: PKCS#11 needs a build with cgo.
func (p *PKCS11) Generate(ctx context.Context, label string) (string, crypto.PublicKey, error) {
	return "", nil, errNoCgo
}

// Signer fails: PKCS#11 needs a build with cgo.
func (p *PKCS11) Signer(ctx context.Context, ref string, pub crypto.PublicKey) (crypto.Signer, error) {
	return nil, errNoCgo
}
