package bundle_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/dsse"
)

func messageBundle(t testing.TB) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sum := sha256.Sum256([]byte("artifact"))
	sig, _ := k.Sign(rand.Reader, sum[:], crypto.SHA256)
	hint, err := bundle.KeyHint(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewMessageSignature(sum[:], sig, hint)
	if err != nil {
		t.Fatal(err)
	}
	data, err := bundle.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func dsseBundle(t testing.TB) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	env, err := dsse.Sign(k, "", dsse.PayloadTypeInToto, []byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewDSSE(env, "hint")
	if err != nil {
		t.Fatal(err)
	}
	data, err := bundle.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRoundTrip(t *testing.T) {
	for name, data := range map[string][]byte{"message": messageBundle(t), "dsse": dsseBundle(t)} {
		b, err := bundle.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.MediaType != bundle.MediaType {
			t.Errorf("%s: media type %q", name, b.MediaType)
		}
		again, err := bundle.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := bundle.Parse(again)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(b.Bundle, b2.Bundle) {
			t.Errorf("%s: round trip changed the bundle", name)
		}
	}
}

// KeyHint is the base64 SHA-256 of the DER SubjectPublicKeyInfo.
func TestKeyHint(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hint, err := bundle.KeyHint(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(hint)
	if err != nil || len(raw) != sha256.Size {
		t.Fatalf("hint %q is not a base64 SHA-256", hint)
	}
}

// The public conformance bundles parse (or fail to parse) with errors that
// name the field; every structurally valid one parses.
func TestParseConformanceBundles(t *testing.T) {
	paths, _ := filepath.Glob("../../shared/conformance/bundle-verify/*/bundle.sigstore.json")
	if len(paths) == 0 {
		t.Skip("conformance bundles not found beside the repository")
	}
	for _, p := range paths {
		_, err := bundle.Read(p)
		caseName := filepath.Base(filepath.Dir(p))
		if err != nil && !strings.HasSuffix(caseName, "_fail") {
			t.Errorf("%s: %v", caseName, err)
		}
	}
}

func TestReadErrorsNameTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "broken.sigstore.json")
	os.WriteFile(p, []byte("{"), 0o644)
	_, err := bundle.Read(p)
	if err == nil || !strings.Contains(err.Error(), "broken.sigstore.json") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

// FuzzParse: Parse never panics, and what it accepts survives a round trip
// through its JSON form unchanged.
func FuzzParse(f *testing.F) {
	f.Add(messageBundle(f))
	f.Add(dsseBundle(f))
	paths, _ := filepath.Glob("../../shared/conformance/bundle-verify/*/bundle.sigstore.json")
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := bundle.Parse(data)
		if err != nil {
			return
		}
		// What parsed must be usable without panics.
		_, _ = b.VerificationContent()
		_, _ = b.SignatureContent()
		_, _ = b.TlogEntries()
		_, _ = b.Timestamps()
		again, err := bundle.Marshal(b)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		b2, err := bundle.Parse(again)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if !proto.Equal(b.Bundle, b2.Bundle) {
			t.Fatal("round trip changed the bundle")
		}
	})
}
