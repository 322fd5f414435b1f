package tlog_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/hallmark-dev/hallmark/tlog"
)

// FuzzParseEntry: entry bodies come from logs and bundles; parsing never
// panics, and what parses is a hashedrekord v0.0.2 entry.
func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"AAAA"}}}}`))
	f.Add([]byte(`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := tlog.ParseEntry(body)
		if err != nil {
			return
		}
		if e.Kind != tlog.Kind || e.ApiVersion != tlog.Version || e.GetSpec().GetHashedRekordV002() == nil {
			t.Fatalf("ParseEntry accepted %q", body)
		}
	})
}

// FuzzParseCheckpoint: checkpoints come from logs and bundles; parsing never
// panics, and only checkpoints signed by the log's key parse.
func FuzzParseCheckpoint(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	v, err := tlog.NewNoteVerifier(origin, pub)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(origin + "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— " + origin + " AAAA\n"))
	f.Add([]byte(origin + "\n18446744073709551615\n\n\n"))
	f.Add([]byte("\n\n\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := tlog.ParseCheckpoint(raw, origin, v); err == nil {
			t.Fatalf("a checkpoint without the log's signature parsed: %q", raw)
		}
	})
}
