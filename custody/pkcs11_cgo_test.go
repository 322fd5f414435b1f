//go:build cgo

package custody_test

import (
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/hallmark-dev/hallmark/custody"
	"github.com/hallmark-dev/hallmark/custody/softhsmtest"
)

// configure opens cfg's token with crypto11 directly, beside the backend,
// as another program on the machine would.
func configure(t *testing.T, cfg custody.PKCS11Config) *crypto11.Context {
	t.Helper()
	c, err := crypto11.Configure(&crypto11.Config{Path: cfg.Module, TokenLabel: cfg.TokenLabel, Pin: cfg.PIN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPKCS11KeyNotExtractable(t *testing.T) {
	cfg := softhsmtest.New(t)
	p := openPKCS11(t, cfg)
	if _, _, err := p.Generate(context.Background(), "release"); err != nil {
		t.Fatal(err)
	}

	c := configure(t, cfg)
	key, err := c.FindKeyPair(nil, []byte("release"))
	if err != nil || key == nil {
		t.Fatalf("find the key: %v", err)
	}
	// C_GetAttributeValue of the private value fails.
	v, err := c.GetAttribute(key, crypto11.CkaValue)
	var code pkcs11.Error
	if !errors.As(err, &code) || code != pkcs11.CKR_ATTRIBUTE_SENSITIVE {
		t.Errorf("reading CKA_VALUE: value %v, err %v; want CKR_ATTRIBUTE_SENSITIVE", v, err)
	}
	attrs, err := c.GetAttributes(key, []crypto11.AttributeType{
		crypto11.CkaSensitive, crypto11.CkaExtractable, crypto11.CkaAlwaysSensitive,
		crypto11.CkaNeverExtractable, crypto11.CkaToken, crypto11.CkaDerive, crypto11.CkaDecrypt,
	})
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[crypto11.AttributeType]bool{
		crypto11.CkaSensitive:        true,
		crypto11.CkaExtractable:      false,
		crypto11.CkaAlwaysSensitive:  true,
		crypto11.CkaNeverExtractable: true,
		crypto11.CkaToken:            true,
		crypto11.CkaDerive:           false,
		crypto11.CkaDecrypt:          false,
	} {
		if got := attrs[a].Value; len(got) != 1 || (got[0] != 0) != want {
			t.Errorf("attribute %#x = %v, want %v", a, got, want)
		}
	}
}

// TestPKCS11RefusesExposedKey puts keys on the token that are or were
// extractable, or not sensitive, and checks that Signer refuses them.
func TestPKCS11RefusesExposedKey(t *testing.T) {
	cfg := softhsmtest.New(t)
	p := openPKCS11(t, cfg)
	c := configure(t, cfg)
	for i, tt := range []struct {
		name        string
		sensitive   bool
		extractable bool
		err         string
	}{
		{"extractable", true, true, "CKA_EXTRACTABLE true"},
		{"not sensitive", false, false, "CKA_SENSITIVE false"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, label := []byte{0xee, byte(i)}, fmt.Sprintf("exposed-%d", i)
			public, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
			if err != nil {
				t.Fatal(err)
			}
			private := public.Copy()
			private.Set(crypto11.CkaSensitive, tt.sensitive)
			private.Set(crypto11.CkaExtractable, tt.extractable)
			key, err := c.GenerateECDSAKeyPairWithAttributes(public, private, elliptic.P256())
			if err != nil {
				t.Fatal(err)
			}
			ref := fmt.Sprintf("pkcs11:id=%%ee%%%02x;object=%s;type=private", i, label)
			_, err = p.Signer(context.Background(), ref, key.Public())
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want it to contain %q", err, tt.err)
			}
		})
	}
}
