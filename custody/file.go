package custody

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"

	"github.com/hallmark-dev/hallmark/keystore"
)

// File keeps keys encrypted at rest in a directory, in the keystore package's
// format (readable by cosign). A key's ref is its keystore name, which is its
// label. Each Signer call decrypts the key again (scrypt, tens of
// milliseconds); the signer it returns signs in memory.
//
// A File must not be copied after first use.
type File struct {
	// Dir is the keystore directory.
	Dir string

	// Passphrase returns the passphrase that encrypts keys. It is asked at
	// most once, on first use, and its answer, error included, is kept for
	// the File's lifetime. A nil passphrase stores keys unencrypted: for
	// tests only; say so with PlaintextUnsafe.
	Passphrase func() ([]byte, error)

	once sync.Once
	pass []byte
	err  error
}

// PlaintextUnsafe is a File.Passphrase that stores keys unencrypted. For
// tests only.
func PlaintextUnsafe() ([]byte, error) { return nil, nil }

var _ Backend = (*File)(nil)

// Name returns "file".
func (f *File) Name() string { return "file" }

func (f *File) where() string { return fmt.Sprintf("custody: file %s", f.Dir) }

func (f *File) passphrase() ([]byte, error) {
	f.once.Do(func() {
		if f.Passphrase == nil {
			f.err = fmt.Errorf("%s: no Passphrase function (use PlaintextUnsafe for unencrypted test keys)", f.where())
			return
		}
		f.pass, f.err = f.Passphrase()
		if f.err != nil {
			f.err = fmt.Errorf("%s: passphrase: %w", f.where(), f.err)
		}
	})
	return f.pass, f.err
}

// Generate creates key label, encrypted with the passphrase, and returns its
// ref, which is label.
func (f *File) Generate(ctx context.Context, label string) (string, crypto.PublicKey, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("%s: generate %q: %w", f.where(), label, err)
	}
	if f.Dir == "" {
		return "", nil, errors.New("custody: file: no directory")
	}
	if err := checkLabel(label); err != nil {
		return "", nil, fmt.Errorf("%s: generate: %w", f.where(), err)
	}
	pass, err := f.passphrase()
	if err != nil {
		return "", nil, err
	}
	s := &keystore.Store{Dir: f.Dir}
	in, err := s.Generate(label, keystore.ECDSAP256, pass)
	if errors.Is(err, keystore.ErrExists) {
		return "", nil, fmt.Errorf("%s: generate %q: %w", f.where(), label, ErrExists)
	}
	if err != nil {
		return "", nil, fmt.Errorf("%s: generate %q: %w", f.where(), label, err)
	}
	return label, in.Public, nil
}

// Signer decrypts key ref and checks that it is pub.
func (f *File) Signer(ctx context.Context, ref string, pub crypto.PublicKey) (crypto.Signer, error) {
	where := fmt.Sprintf("%s: key %q", f.where(), ref)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if f.Dir == "" {
		return nil, errors.New("custody: file: no directory")
	}
	want, err := expectedKey(where, pub)
	if err != nil {
		return nil, err
	}
	if err := checkLabel(ref); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	pass, err := f.passphrase()
	if err != nil {
		return nil, err
	}
	s := &keystore.Store{Dir: f.Dir}
	if pass != nil {
		// Keys are encrypted at rest: refuse one that is not.
		in, err := s.Info(ref)
		if err == nil && !in.Encrypted {
			return nil, fmt.Errorf("%s: stored unencrypted, refusing it", where)
		}
	}
	key, err := s.Signer(ref, pass)
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		return nil, fmt.Errorf("%s: %w", where, ErrNotFound)
	case errors.Is(err, keystore.ErrPassphrase):
		return nil, fmt.Errorf("%s: %w", where, ErrPassphrase)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if !want.Equal(key.Public()) {
		return nil, fmt.Errorf("%s: %w", where, ErrWrongKey)
	}
	return &signer{where: where, pub: want, key: key}, nil
}
