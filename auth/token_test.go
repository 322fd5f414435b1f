package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var tokenRE = regexp.MustCompile(`^hmk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$`)

func TestTokenRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		nt, err := GenerateToken()
		if err != nil {
			t.Fatal(err)
		}
		if !tokenRE.MatchString(nt.Token) {
			t.Fatalf("token %q does not match %v", nt.Token, tokenRE)
		}
		if seen[nt.ID] || seen[nt.Token] {
			t.Fatalf("GenerateToken repeated itself: %q", nt.Token)
		}
		seen[nt.ID], seen[nt.Token] = true, true
		if !strings.HasPrefix(nt.Token, "hmk_"+nt.ID+"_") {
			t.Errorf("token %q does not carry id %q", nt.Token, nt.ID)
		}
		secret, _ := base64.RawURLEncoding.DecodeString(nt.Token[21:])
		if h := sha256.Sum256(secret); !bytes.Equal(nt.Hash, h[:]) {
			t.Errorf("Hash is not SHA-256 of the 32 secret bytes")
		}

		id, hash, err := ParseToken(nt.Token)
		if err != nil {
			t.Fatalf("ParseToken(GenerateToken()) = %v", err)
		}
		if id != nt.ID || !CheckHash(nt.Hash, hash) {
			t.Fatalf("ParseToken = %q, %x; generated %q, %x", id, hash, nt.ID, nt.Hash)
		}
		if LooksLikeJWT(nt.Token) {
			t.Errorf("LooksLikeJWT(%q) = true", nt.Token)
		}
	}
}

func TestCheckHash(t *testing.T) {
	a := sha256.Sum256([]byte("a"))
	b := sha256.Sum256([]byte("b"))
	tests := []struct {
		name              string
		stored, presented []byte
		want              bool
	}{
		{"equal", a[:], bytes.Clone(a[:]), true},
		{"different", a[:], b[:], false},
		{"both nil", nil, nil, false},
		{"both empty", []byte{}, []byte{}, false},
		{"stored nil", nil, a[:], false},
		{"presented nil", a[:], nil, false},
		{"prefix", a[:], a[:16], false},
		{"short equal", a[:16], a[:16], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckHash(tt.stored, tt.presented); got != tt.want {
				t.Errorf("CheckHash = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseTokenMalformed(t *testing.T) {
	// A valid token to mutate; its secret must appear in no error.
	const (
		id     = "0123456789abcdef"
		secret = "S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tg" // 43 chars, canonical
	)
	good := "hmk_" + id + "_" + secret
	if _, _, err := ParseToken(good); err != nil {
		t.Fatalf("ParseToken(good) = %v", err)
	}
	// The secret is base64url, so _ and - inside it are fine.
	for _, s := range []string{"_" + secret[1:], secret[:20] + "_-" + secret[22:]} {
		if _, _, err := ParseToken("hmk_" + id + "_" + s); err != nil {
			t.Errorf("ParseToken(secret %q) = %v", s, err)
		}
	}
	tests := []struct {
		name, token string
	}{
		{"empty", ""},
		{"wrong prefix", "hmc_" + id + "_" + secret},
		{"upper-case prefix", "HMK_" + id + "_" + secret},
		{"no prefix", id + "_" + secret + "xxxx"},
		{"bearer prefix", "Bearer " + good},
		{"upper-case hex", "hmk_0123456789ABCDEF_" + secret},
		{"bad hex", "hmk_0123456789abcdeg_" + secret},
		{"short id", "hmk_0123456789abcde_" + secret + "A"},
		{"long id", "hmk_0123456789abcdef0_" + secret[1:]},
		{"short secret", "hmk_" + id + "_" + secret[:42]},
		{"long secret", "hmk_" + id + "_" + secret + "A"},
		{"padded secret", "hmk_" + id + "_" + secret[:42] + "="},
		{"std base64", "hmk_" + id + "_" + secret[:41] + "+/"},
		{"extra underscore", "hmk_" + id + "__" + secret},
		{"underscore before id", "hmk__" + id + "_" + secret[1:]},
		{"no separator", "hmk_" + id + "x" + secret},
		{"three parts", "hmk_" + id + "_" + secret[:20] + "_" + secret[20:]},
		{"non-canonical secret", "hmk_" + id + "_" + secret[:42] + "h"},
		{"non-ASCII id", "hmk_0123456789abcdé_" + secret},
		{"non-ASCII secret", "hmk_" + id + "_" + secret[:41] + "é"},
		{"trailing newline", good[:63] + "\n"},
		{"space", "hmk_" + id + "_" + secret[:20] + " " + secret[21:]},
		{"trailing space", good + " "},
		{"jwt", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, hash, err := ParseToken(tt.token)
			if err == nil {
				t.Fatalf("ParseToken(%q) = %q, %x, nil; want error", tt.token, id, hash)
			}
			if id != "" || hash != nil {
				t.Errorf("ParseToken returned %q, %x with an error", id, hash)
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("error %v does not wrap ErrUnauthenticated", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "auth: unauthenticated: api token ") {
				t.Errorf("error = %q", msg)
			}
			for _, leak := range []string{secret[:8], secret[10:18], secret[30:38]} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q leaks the secret", msg)
				}
			}
		})
	}
}

func TestLooksLikeJWT(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", true},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", true}, // alg none: a JWT shape, refused by Verify
		{"hmk_0123456789abcdef_S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS", false},
		{"hmk_a.b.c", false},
		{"", false},
		{"a.b", false},
		{"a.b.c.d", false},
		{".b.c", false},
		{"a..c", false},
		{"a.b+.c", false},
		{"a.b=.c", false},
		{"a b.c.d", false},
	}
	for _, tt := range tests {
		if got := LooksLikeJWT(tt.in); got != tt.want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// parseTokenErrors are all the texts a ParseToken error may have; %d is the
// input's length, the only thing of the input an error may tell.
var parseTokenErrors = []string{
	"auth: unauthenticated: api token does not start with hmk_",
	"auth: unauthenticated: api token is %d bytes long, not 64",
	"auth: unauthenticated: api token has no _ after its 16-character id",
	"auth: unauthenticated: api token id is not 16 lowercase hex characters",
	"auth: unauthenticated: api token secret is not 43 characters of canonical base64url",
}

func FuzzParseToken(f *testing.F) {
	nt, err := GenerateToken()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		nt.Token, "", "hmk_", "hmk__", nt.Token[:63], nt.Token + "=",
		"hmk_0123456789abcdef_S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS",
		"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, hash, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v does not wrap ErrUnauthenticated", err)
			}
			for _, format := range parseTokenErrors {
				if err.Error() == strings.ReplaceAll(format, "%d", fmt.Sprint(len(s))) {
					return
				}
			}
			t.Fatalf("unexpected error text %q: it may carry input", err)
		}
		if !tokenRE.MatchString(s) {
			t.Fatalf("ParseToken accepted %q", s)
		}
		if id != s[4:20] || len(hash) != sha256.Size {
			t.Fatalf("ParseToken(%q) = %q, %x", s, id, hash)
		}
		// One spelling per token: the secret re-encodes to itself.
		raw, err := base64.RawURLEncoding.DecodeString(s[21:])
		if err != nil || base64.RawURLEncoding.EncodeToString(raw) != s[21:] {
			t.Fatalf("ParseToken accepted non-canonical secret in %q", s)
		}
		if h := sha256.Sum256(raw); !CheckHash(h[:], hash) {
			t.Fatalf("hash of %q is not SHA-256 of its secret", s)
		}
	})
}
