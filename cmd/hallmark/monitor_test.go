package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"

	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/keystore"
)

// TestMonitorAlarm: a signature made with a watched key outside the
// platform, appended to the log directly, makes 'hallmark log monitor' fail
// loudly, and keep failing; the platform's own signatures do not.
func TestMonitorAlarm(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	t.Setenv("HALLMARK_HOME", home)
	mustRun(t, "init", "--insecure-plaintext")
	mustRun(t, "key", "generate")
	mustRun(t, "key", "generate", "--name", "other")
	write(t, filepath.Join(dir, "a.txt"), "a")
	write(t, filepath.Join(dir, "b.txt"), "b")
	mustRun(t, "sign", filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt"))
	mustRun(t, "sign", "--key", "other", filepath.Join(dir, "a.txt"))

	var stdout, stderr bytes.Buffer
	if code := run([]string{"log", "monitor"}, &stdout, &stderr); code != 0 {
		t.Fatalf("monitor on the platform's own entries: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "checked entries 0 to 3; 3 signed by watched keys") {
		t.Errorf("monitor report: %s", stderr.String())
	}

	// The thief: the real key, a signature the platform never made, sent
	// straight to the log.
	signer, err := (&keystore.Store{Dir: filepath.Join(home, "keys")}).Signer("default", nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("malware"))
	sig, _ := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	der, _ := x509.MarshalPKIXPublicKey(signer.Public())
	p, err := controlplane.Open(context.Background(), home, controlplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.AppendHashedRekord(context.Background(), &rekorpb.HashedRekordRequestV002{
		Digest: sum[:],
		Signature: &rekorpb.Signature{Content: sig, Verifier: &rekorpb.Verifier{
			Verifier:   &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: der}},
			KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())
	if e.LogIndex != 3 {
		t.Fatalf("rogue entry at %d", e.LogIndex)
	}
	mustRun(t, "sign", filepath.Join(dir, "b.txt")) // the platform goes on signing

	for range 2 {
		stdout.Reset()
		stderr.Reset()
		code := run([]string{"log", "monitor"}, &stdout, &stderr)
		if code != exitFailed {
			t.Fatalf("monitor: exit %d, want %d: %s", code, exitFailed, stderr.String())
		}
		for _, want := range []string{"ALARM: 1 entries signed by watched keys that the platform did not make",
			"entry 3: key sha256:", "signed sha256:" + hex.EncodeToString(sum[:]), "hint: treat the key as compromised"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("monitor output lacks %q:\n%s", want, stderr.String())
			}
		}
	}
	// Watching only the other key, the rogue entry is not its business.
	write(t, filepath.Join(dir, "other.pem"), mustRun(t, "key", "export-public", "other"))
	stderr.Reset()
	if code := run([]string{"log", "monitor", "--key", filepath.Join(dir, "other.pem"), "--state", filepath.Join(dir, "other-state")}, &stdout, &stderr); code != 0 {
		t.Fatalf("monitor of the other key: exit %d: %s", code, stderr.String())
	}
}
