// Package keystore keeps signing keys in a directory, encrypted at rest.
//
// Each key NAME is two files: NAME.key, the private key, mode 0600, and
// NAME.pub, its public key as a PEM SubjectPublicKeyInfo. A private key is a
// PKCS #8 DER key encrypted with a passphrase (scrypt N=2^15 r=8 p=1 and NaCl
// secretbox, the go-securesystemslib "encrypted" format), in a PEM block of
// type "ENCRYPTED SIGSTORE PRIVATE KEY": the format cosign reads, so a key can
// be used by cosign too. A key written with Plaintext (tests only) is a plain
// "PRIVATE KEY" PEM block.
//
// Keys are ECDSA P-256 by default: ECDSA signs a digest, so a file can be
// hashed where it lies and only the digest travel to the signer. Ed25519 keys
// sign whole messages and suit only callers that have the whole message, such
// as DSSE envelopes.
//
// Private keys are handed out only as crypto.Signer, so a hardware or cloud key
// can stand behind the same interface. Nothing here prints a private key.
package keystore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/limit"
)

// Key types.
const (
	ECDSAP256 = "ecdsa-p256"
	Ed25519   = "ed25519"
)

// PEM block types.
const (
	encryptedPEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
	plaintextPEM = "PRIVATE KEY"
	publicPEM    = "PUBLIC KEY"
)

var (
	// ErrNotFound is returned, wrapped, for a key that does not exist.
	ErrNotFound = errors.New("no such key")
	// ErrExists is returned, wrapped, by Generate for a name already taken.
	ErrExists = errors.New("key already exists")
	// ErrPassphrase is returned, wrapped, when a passphrase does not decrypt a key.
	ErrPassphrase = errors.New("wrong passphrase")
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`)

// CheckName reports whether name is a valid key name: 1 to 64 letters, digits,
// dots, underscores and hyphens, not starting with a dot, underscore or hyphen.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("key name %q: want 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// Store is a directory of keys.
type Store struct {
	Dir string
}

// Info describes a stored key.
type Info struct {
	Name        string
	Type        string // ECDSAP256 or Ed25519
	Encrypted   bool
	Fingerprint string // hex SHA-256 of the DER SubjectPublicKeyInfo
	Public      crypto.PublicKey
}

// Generate creates key name of type typ. With a nil passphrase the private key
// is stored unencrypted; callers must make that an explicit, insecure choice.
func (s *Store) Generate(name, typ string, passphrase []byte) (*Info, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if passphrase != nil && len(passphrase) == 0 {
		return nil, errors.New("keystore: empty passphrase")
	}
	var priv crypto.Signer
	var err error
	switch typ {
	case ECDSAP256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("key type %q: want %s or %s", typ, ECDSAP256, Ed25519)
	}
	if err != nil {
		return nil, fmt.Errorf("keystore: generate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	block := &pem.Block{Type: plaintextPEM, Bytes: der}
	if passphrase != nil {
		enc, err := encrypted.Encrypt(der, passphrase)
		if err != nil {
			return nil, fmt.Errorf("keystore: encrypt: %w", err)
		}
		block = &pem.Block{Type: encryptedPEM, Bytes: enc}
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	keyPath, pubPath := s.paths(name)
	// The private key claims the name: it is linked in only if no key of
	// that name exists, so an existing key is never touched.
	if err := atomicfile.Create(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("key %q: %w", name, ErrExists)
		}
		return nil, fmt.Errorf("keystore: %w", err)
	}
	if err := atomicfile.Write(pubPath, pem.EncodeToMemory(&pem.Block{Type: publicPEM, Bytes: pubDER}), 0o644); err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	return info(name, priv.Public(), passphrase != nil)
}

func (s *Store) paths(name string) (key, pub string) {
	return filepath.Join(s.Dir, name+".key"), filepath.Join(s.Dir, name+".pub")
}

// List returns the stored keys, sorted by name.
func (s *Store) List() ([]*Info, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	var out []*Info
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".key")
		if !ok || CheckName(name) != nil {
			continue
		}
		in, err := s.Info(name)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Info returns what is known of key name without decrypting it.
func (s *Store) Info(name string) (*Info, error) {
	pub, err := s.Public(name)
	if err != nil {
		return nil, err
	}
	keyPath, _ := s.paths(name)
	block, err := readPEM(keyPath)
	if err != nil {
		return nil, err
	}
	return info(name, pub, block.Type == encryptedPEM)
}

func info(name string, pub crypto.PublicKey, enc bool) (*Info, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", name, err)
	}
	sum := sha256.Sum256(der)
	in := &Info{Name: name, Encrypted: enc, Fingerprint: hex.EncodeToString(sum[:]), Public: pub}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("key %q: unsupported curve %s", name, k.Curve.Params().Name)
		}
		in.Type = ECDSAP256
	case ed25519.PublicKey:
		in.Type = Ed25519
	default:
		return nil, fmt.Errorf("key %q: unsupported key type %T", name, pub)
	}
	return in, nil
}

// Public returns the public key of key name.
func (s *Store) Public(name string) (crypto.PublicKey, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	_, pubPath := s.paths(name)
	block, err := readPEM(pubPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("key %q: %w", name, ErrNotFound)
		}
		return nil, err
	}
	if block.Type != publicPEM {
		return nil, fmt.Errorf("%s: PEM block %q, want %q", pubPath, block.Type, publicPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pubPath, err)
	}
	return pub, nil
}

// PublicPEM returns the public key of key name as a PEM SubjectPublicKeyInfo.
func (s *Store) PublicPEM(name string) ([]byte, error) {
	pub, err := s.Public(name)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: publicPEM, Bytes: der}), nil
}

// Signer decrypts key name with passphrase (ignored for a plaintext key) and
// checks that it matches the stored public key.
func (s *Store) Signer(name string, passphrase []byte) (crypto.Signer, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	keyPath, _ := s.paths(name)
	block, err := readPEM(keyPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("key %q: %w", name, ErrNotFound)
		}
		return nil, err
	}
	der := block.Bytes
	switch block.Type {
	case plaintextPEM:
	case encryptedPEM:
		der, err = encrypted.Decrypt(block.Bytes, passphrase)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", name, ErrPassphrase)
		}
	default:
		return nil, fmt.Errorf("%s: PEM block %q, want %q", keyPath, block.Type, encryptedPEM)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported private key type %T", keyPath, k)
	}
	pub, err := s.Public(name)
	if err != nil {
		return nil, err
	}
	if !publicEqual(signer.Public(), pub) {
		return nil, fmt.Errorf("key %q: private key does not match %s.pub", name, name)
	}
	return signer, nil
}

func publicEqual(a, b crypto.PublicKey) bool {
	ad, err1 := x509.MarshalPKIXPublicKey(a)
	bd, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(ad, bd)
}

func readPEM(path string) (*pem.Block, error) {
	data, err := limit.ReadFile(path, limit.Key)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return block, nil
}
