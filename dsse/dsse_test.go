package dsse_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	hdsse "github.com/hallmark-dev/hallmark/dsse"
)

// The test vector of the DSSE protocol specification (protocol.md).
func TestPAEVector(t *testing.T) {
	got := string(hdsse.PAE("http://example.com/HelloWorld", []byte("hello world")))
	want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
	if got != want {
		t.Fatalf("PAE = %q, want %q", got, want)
	}
}

// PAE agrees with the reference implementation's, including for empty and
// non-ASCII input.
func TestPAEMatchesReference(t *testing.T) {
	for _, c := range []struct{ typ, body string }{
		{"", ""}, {"t", ""}, {"application/vnd.in-toto+json", `{"a":1}`}, {"ü", "\x00\xff"},
	} {
		if got, want := hdsse.PAE(c.typ, []byte(c.body)), dsse.PAE(c.typ, []byte(c.body)); string(got) != string(want) {
			t.Errorf("PAE(%q, %q) = %q, want %q", c.typ, c.body, got, want)
		}
	}
}

func ExamplePAE() {
	fmt.Printf("%s\n", hdsse.PAE("application/vnd.in-toto+json", []byte("{}")))
	// Output: DSSEv1 28 application/vnd.in-toto+json 2 {}
}

func TestSignVerify(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	env, err := hdsse.Sign(ec, "k1", hdsse.PayloadTypeInToto, []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := hdsse.Verify(env, ec.Public()); err != nil {
		t.Fatalf("ecdsa: %v", err)
	}
	// ECDSA signs SHA-256(PAE), as Sigstore verifiers expect.
	sum := sha256.Sum256(hdsse.PAE(env.PayloadType, env.Payload))
	if !ecdsa.VerifyASN1(&ec.PublicKey, sum[:], env.Signatures[0].Sig) {
		t.Fatal("ecdsa signature is not over SHA-256(PAE)")
	}
	edEnv, err := hdsse.Sign(ed, "", hdsse.PayloadTypeInToto, []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(ed.Public().(ed25519.PublicKey), hdsse.PAE(edEnv.PayloadType, edEnv.Payload), edEnv.Signatures[0].Sig) {
		t.Fatal("ed25519 signature is not over PAE")
	}
	if err := hdsse.Verify(edEnv, ed.Public()); err != nil {
		t.Fatalf("ed25519: %v", err)
	}
	// The type is signed too: changing it breaks the signature.
	env.PayloadType = "text/plain"
	if err := hdsse.Verify(env, ec.Public()); !errors.Is(err, hdsse.ErrSignature) {
		t.Fatalf("changed payload type: err = %v", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in, err string
	}{
		{`{"payloadType":"t","payload":"eA==","signatures":[{"sig":"eA=="}]}`, ""},
		{`{"payloadType":"t","payload":"eA==","signatures":[{"keyid":"k","sig":"eA=="}]}`, ""},
		{`{"payload":"eA==","signatures":[{"sig":"eA=="}]}`, "payloadType: missing"},
		{`{"payloadType":"t","signatures":[{"sig":"eA=="}]}`, "payload: missing"},
		{`{"payloadType":"t","payload":"eA==","signatures":[]}`, "signatures: none"},
		{`{"payloadType":"t","payload":"eA==","signatures":[{"sig":""}]}`, "signatures[0].sig: missing"},
		{`{"payloadType":"t","payload":"!!","signatures":[{"sig":"eA=="}]}`, "payload"},
		{`{"payloadType":"t","payload":"eA==","signatures":[{"sig":"eA=="}],"x":1}`, "unknown field"},
		{`[]`, "dsse:"},
		{``, "dsse:"},
	}
	for _, tt := range tests {
		_, err := hdsse.Parse([]byte(tt.in))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("Parse(%s): %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Parse(%s) = %v, want an error mentioning %q", tt.in, err, tt.err)
		}
	}
}

// FuzzParse: Parse never panics; what it accepts verifies (or fails) without
// panicking and survives a round trip through its JSON form.
func FuzzParse(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	env, _ := hdsse.Sign(k, "key", hdsse.PayloadTypeInToto, []byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	good, _ := protojson.Marshal(env)
	f.Add(good)
	f.Add([]byte(`{"payloadType":"t","payload":"eA==","signatures":[{"sig":"eA=="}]}`))
	f.Add([]byte(`{"payloadType":"","payload":"","signatures":null}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := hdsse.Parse(data)
		if err != nil {
			return
		}
		_ = hdsse.Verify(env, k.Public())
		again, err := protojson.Marshal(env)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		env2, err := hdsse.Parse(again)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if !proto.Equal(env, env2) {
			t.Fatal("round trip changed the envelope")
		}
	})
}

// TestMarshal checks that Marshal's JSON reads back with Parse to the same
// envelope, and that a missing envelope is an error, not a panic.
func TestMarshal(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	env, err := hdsse.Sign(ec, "k1", hdsse.PayloadTypeInToto, []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := hdsse.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	back, err := hdsse.Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal(env)): %v", err)
	}
	if !proto.Equal(back, env) {
		t.Fatalf("round trip: got %v, want %v", back, env)
	}
	if _, err := hdsse.Marshal(nil); err == nil {
		t.Fatal("Marshal(nil): no error")
	}
}
