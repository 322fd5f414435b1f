package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// The API token format; see the package documentation.
const (
	tokenPrefix    = "hmk_"
	tokenIDLen     = 16
	tokenSecretLen = 43
	tokenLen       = len(tokenPrefix) + tokenIDLen + 1 + tokenSecretLen
)

// NewToken is a freshly generated API token.
type NewToken struct {
	Token string // the whole token: show it once, never store it
	ID    string // the token's id, not secret
	Hash  []byte // SHA-256 of the secret: store this
}

// GenerateToken makes a new random API token.
func GenerateToken() (NewToken, error) {
	var id [8]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return NewToken{}, fmt.Errorf("auth: generate token: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return NewToken{}, fmt.Errorf("auth: generate token: %w", err)
	}
	h := sha256.Sum256(secret[:])
	ids := hex.EncodeToString(id[:])
	return NewToken{
		Token: tokenPrefix + ids + "_" + base64.RawURLEncoding.EncodeToString(secret[:]),
		ID:    ids,
		Hash:  h[:],
	}, nil
}

// ParseToken splits an API token into its id and the SHA-256 of its secret,
// to look the id up and compare hashes with CheckHash. A malformed token gets
// an error wrapping ErrUnauthenticated that quotes nothing of s.
func ParseToken(s string) (id string, hash []byte, err error) {
	bad := func(why string) (string, []byte, error) {
		return "", nil, fmt.Errorf("auth: %w: api token %s", ErrUnauthenticated, why)
	}
	rest, ok := strings.CutPrefix(s, tokenPrefix)
	if !ok {
		return bad("does not start with " + tokenPrefix)
	}
	if len(s) != tokenLen {
		return bad(fmt.Sprintf("is %d bytes long, not %d", len(s), tokenLen))
	}
	id, secret := rest[:tokenIDLen], rest[tokenIDLen+1:]
	if rest[tokenIDLen] != '_' {
		return bad("has no _ after its 16-character id")
	}
	if !isLowerHex(id) {
		return bad("id is not 16 lowercase hex characters")
	}
	// Strict: exactly one text per secret, so a token has one spelling.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(secret)
	if err != nil || len(raw) != 32 {
		return bad("secret is not 43 characters of canonical base64url")
	}
	h := sha256.Sum256(raw)
	return id, h[:], nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// CheckHash reports, in constant time, whether presented (from ParseToken)
// equals stored (NewToken.Hash). Anything but two SHA-256 hashes is unequal.
func CheckHash(stored, presented []byte) bool {
	if len(stored) != sha256.Size || len(presented) != sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(stored, presented) == 1
}

// LooksLikeJWT reports whether a bearer token s has the shape of a JWT (three
// base64url segments joined by dots) rather than of an API token, to choose
// between OIDC.Verify and ParseToken. It checks the shape only.
func LooksLikeJWT(s string) bool {
	if strings.HasPrefix(s, tokenPrefix) {
		return false
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return false
	}
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
