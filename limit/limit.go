// Package limit bounds what Hallmark reads from outside. Every file and body
// that comes from a user or the network is hostile until verified; reading it
// whole is allowed only up to a stated size, and going over is an error that
// names the file and the limit.
package limit

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Sizes of the documents Hallmark reads whole. Artifacts are never read whole:
// they are streamed through a hash.
const (
	Bundle      = 16 << 20 // a Sigstore bundle; real ones are a few KiB
	TrustedRoot = 4 << 20  // a trusted_root.json
	Predicate   = 16 << 20 // an attestation predicate
	Key         = 64 << 10 // a PEM key file
)

// ErrTooLarge is returned, wrapped, for input over its limit.
var ErrTooLarge = errors.New("too large")

// ReadFile reads the whole file at path, refusing one larger than max bytes.
// Errors name the path.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the path
	}
	defer f.Close()
	return Read(f, path, max)
}

// Read reads r to the end, refusing more than max bytes. name identifies r in
// errors.
func Read(r io.Reader, name string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: over the limit of %d bytes", name, ErrTooLarge, max)
	}
	return data, nil
}
