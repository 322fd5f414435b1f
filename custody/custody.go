// Package custody keeps the control plane's private keys.
//
// A Backend holds private keys and hands them out only as crypto.Signer: no
// method returns, prints or logs private key material, and the signers it
// returns do not expose the key behind them (a type assertion on one finds no
// *ecdsa.PrivateKey). Two backends come with the package:
//
//   - File keeps keys in a directory, encrypted at rest with a passphrase, in
//     the keystore package's format (cosign reads it). The key is decrypted
//     into this process's memory to sign.
//   - PKCS11 keeps keys in a PKCS#11 token (an HSM, or SoftHSM2 in tests). The
//     key is generated on the token, sensitive and not extractable, and every
//     signature is made by the token: the key never enters this process.
//
// Every key is ECDSA P-256. ECDSA signs a digest, so an artifact is hashed
// where it lies and only its digest travels to the signer.
//
// # References
//
// Generate returns a key's reference, ref: opaque, not secret, stored in the
// control plane's database next to the backend's Name and the public key.
// Signer takes both the ref and that stored public key, and fails with
// ErrWrongKey unless the key it finds is that key; so a swapped key file or
// token object cannot make the control plane sign with a key it did not
// record. The PKCS11 backend checks this with a test signature over a
// random digest, not only by reading the token's public key object.
//
//   - file:   the key's keystore name, which is its label ("release.v2").
//   - pkcs11: an RFC 7512 PKCS#11 URI naming the private key object by
//     CKA_ID and CKA_LABEL,
//     "pkcs11:id=%3a%9f...;object=release.v2;type=private". The CKA_ID is 16
//     random bytes, each percent-encoded as RFC 7512 section 2.3 requires
//     (the hex of the CKA_ID with a '%' before each byte); "object" is the
//     RFC's name for CKA_LABEL. Tools such as p11tool and OpenSSL's pkcs11
//     provider take the same URI.
//
// Labels are human names, unique per backend: 1 to 64 letters, digits, '.',
// '_' or '-', starting with a letter or digit (keystore.CheckName). Generate
// refuses a label already taken with ErrExists.
//
// # Signing
//
// Sign takes a digest and opts naming its hash (crypto.SHA256, SHA384 or
// SHA512; the digest must be that hash's size) and returns an ASN.1 DER
// ECDSA signature, the form crypto/ecdsa.VerifyASN1 accepts. Signers are safe
// for concurrent use. The PKCS11 backend signs with CKM_ECDSA over the digest
// the caller computed; its one crypto11 context per token keeps a pool of
// PKCS#11 sessions, so concurrent Sign calls run on separate sessions.
//
// # Errors
//
// Errors begin with "custody: ", name the backend and where it is (the
// directory, the token label) and the key's label or ref; they never contain
// a PIN, a passphrase or key material. Callers can branch on ErrExists,
// ErrNotFound, ErrWrongKey, ErrPassphrase and ErrPIN with errors.Is.
//
// # PKCS#11 configuration
//
// ParsePKCS11URL reads the token's configuration from an RFC 7512 URI:
//
//	pkcs11:token=hallmark;module-path=/usr/lib/softhsm/libsofthsm2.so?pin-source=/etc/hallmark/pin
//
// Only one PKCS11 is open per module and token in a process: opening the same
// token again shares it, and must give the same PIN. (A PKCS#11 library logs
// in once per token for the whole process and then accepts any PIN, so
// without this check a wrong PIN would go unnoticed until the next restart.)
// The PKCS#11 code needs cgo; in a build without it OpenPKCS11 fails with a
// clear error and the rest of the package works.
//
// # KMS
//
// A cloud KMS (AWS KMS, Google Cloud KMS, Azure Key Vault) plugs in as a
// Backend of its own, in a package of its own, without changes here:
//
//   - Name returns the KMS's name, "awskms" or "gcpkms", stored with each key.
//   - Generate creates an asymmetric signing key, ECDSA P-256 with SHA-256
//     (AWS: CreateKey with KeySpec ECC_NIST_P256, KeyUsage SIGN_VERIFY; GCP:
//     CreateCryptoKey with purpose ASYMMETRIC_SIGN, algorithm
//     EC_SIGN_P256_SHA256), reads back its public key (GetPublicKey), and
//     returns the KMS's resource name of the key as ref: an ARN such as
//     "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-...", or
//     "projects/P/locations/L/keyRings/R/cryptoKeys/release.v2/cryptoKeyVersions/1".
//     The label becomes the key's alias or name, so the KMS refuses a reused
//     label; that refusal is reported as ErrExists.
//   - Signer fetches the key's public key from the KMS, fails with ErrWrongKey
//     unless it is the expected one, and returns a signer whose Sign calls
//     the KMS's asymmetric-sign API with the digest (AWS: Sign with
//     MessageType DIGEST and SigningAlgorithm ECDSA_SHA_256; GCP:
//     AsymmetricSign with Digest.sha256). Hashing is done by the caller; the
//     artifact never goes to the KMS. Both KMSs return an ASN.1 DER
//     signature already.
//   - Keys are never exported or imported: the key material exists only in
//     the KMS, and access is granted by the KMS's IAM policy, not by a
//     secret this process holds.
//
// # Tests
//
// Every backend passes custodytest.TestBackend. Package softhsmtest makes a
// throwaway SoftHSM2 token for tests of the PKCS11 backend and of code
// above it.
package custody

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"io"

	"github.com/hallmark-dev/hallmark/keystore"
)

// Backend holds private keys and hands them out only as crypto.Signer. A
// private key never leaves it in any other form. Implementations are safe for
// concurrent use.
type Backend interface {
	// Name is the backend's name as stored with each key: "file", "pkcs11",
	// or a KMS's name.
	Name() string

	// Generate creates a new ECDSA P-256 key labelled label and returns its
	// reference (opaque, not secret, stored in the control plane's database
	// next to the public key) and its public key. Labels are unique per
	// backend: Generate refuses one already taken with ErrExists.
	Generate(ctx context.Context, label string) (ref string, pub crypto.PublicKey, err error)

	// Signer returns a signer for the key ref. pub is the public key stored
	// with ref; Signer fails with ErrWrongKey unless the key is that key.
	Signer(ctx context.Context, ref string, pub crypto.PublicKey) (crypto.Signer, error)
}

var (
	// ErrExists is returned, wrapped, by Generate for a label already taken.
	ErrExists = errors.New("label already taken")
	// ErrNotFound is returned, wrapped, by Signer for a ref naming no key.
	ErrNotFound = errors.New("no such key")
	// ErrWrongKey is returned, wrapped, by Signer when the key at ref is not
	// the expected one. It means the key store was changed behind the
	// control plane's back.
	ErrWrongKey = errors.New("key is not the expected key")
	// ErrPassphrase is returned, wrapped, when a passphrase does not decrypt
	// a key.
	ErrPassphrase = errors.New("wrong passphrase")
	// ErrPIN is returned, wrapped, by OpenPKCS11 for a PIN the token refuses.
	ErrPIN = errors.New("wrong PIN")
)

// checkLabel reports whether label is a valid key label.
func checkLabel(label string) error {
	if err := keystore.CheckName(label); err != nil {
		return fmt.Errorf("label %q: want 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", label)
	}
	return nil
}

// expectedKey returns pub as a P-256 public key, or an error naming where.
func expectedKey(where string, pub crypto.PublicKey) (*ecdsa.PublicKey, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k == nil {
		return nil, fmt.Errorf("%s: expected public key is %T, want a P-256 *ecdsa.PublicKey", where, pub)
	}
	if k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s: expected public key is on %s, want P-256", where, k.Curve.Params().Name)
	}
	return k, nil
}

// signer is the crypto.Signer every backend here hands out. It hides the key
// behind it, checks the digest against opts, and names the key in errors.
type signer struct {
	where string // "custody: BACKEND PLACE: key REF", for errors
	pub   *ecdsa.PublicKey
	key   crypto.Signer
}

func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest, which must be the output of opts.HashFunc(): SHA-256,
// SHA-384 or SHA-512. The signature is ASN.1 DER.
func (s *signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, fmt.Errorf("%s: sign: no hash given (opts is nil)", s.where)
	}
	h := opts.HashFunc()
	switch h {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return nil, fmt.Errorf("%s: sign: hash %v: want SHA-256, SHA-384 or SHA-512", s.where, h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("%s: sign: digest is %d bytes, want %d for %v", s.where, len(digest), h.Size(), h)
	}
	sig, err := s.key.Sign(rand, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: sign: %w", s.where, err)
	}
	return sig, nil
}
