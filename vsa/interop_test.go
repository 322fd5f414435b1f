package vsa_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/vsa"
)

// slsaVerifier returns the path and version of slsa-verifier from
// $HALLMARK_PEERS or ~/.cache/hallmark-peers, or skips the test.
func slsaVerifier(t *testing.T) (path, version string) {
	t.Helper()
	var dirs []string
	if d := os.Getenv("HALLMARK_PEERS"); d != "" {
		dirs = append(dirs, d)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "hallmark-peers"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "slsa-verifier")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			path = p
			break
		}
	}
	if path == "" {
		t.Skipf("slsa-verifier not found in %s; install it with "+
			"'bash /work/shared/tools/install-peers.sh ~/.cache/hallmark-peers slsa-verifier' (v2.7.1)", strings.Join(dirs, " or "))
	}
	out, err := exec.Command(path, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", path, err, out)
	}
	m := regexp.MustCompile(`GitVersion:\s*(\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("%s version: no GitVersion in\n%s", path, out)
	}
	version = string(m[1])
	t.Logf("slsa-verifier %s (%s)", version, path)
	return path, version
}

func writePublicKey(t *testing.T, dir, name string, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The signed summary verifies with slsa-verifier verify-vsa given the public
// key, and every mismatch and tampering is refused, for the reason expected.
func TestSLSAVerifierInterop(t *testing.T) {
	bin, version := slsaVerifier(t)
	dir := t.TempDir()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pubPath := writePublicKey(t, dir, "key.pub", key.Public())
	edPubPath := writePublicKey(t, dir, "ed.pub", edKey.Public())
	keyID, err := vsa.KeyID(key.Public())
	if err != nil {
		t.Fatal(err)
	}

	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sign := func(name string, s vsa.Summary, signer crypto.Signer) string {
		env, err := vsa.Sign(s, signer)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, env)
	}

	good := sign("good.json", summary(), key)
	statement, _ := vsa.Statement(summary())

	// Tampered: the signed payload with its policy URI changed, a field
	// slsa-verifier does not compare, so only the signature can catch it.
	goodEnv, _ := os.ReadFile(good)
	var e map[string]any
	if err := json.Unmarshal(goodEnv, &e); err != nil {
		t.Fatal(err)
	}
	tamperedPayload := bytes.Replace(statement, []byte("policies/default/3"), []byte("policies/lenient/1"), 1)
	if bytes.Equal(tamperedPayload, statement) {
		t.Fatal("tampering changed nothing")
	}
	e["payload"] = base64.StdEncoding.EncodeToString(tamperedPayload)
	tamperedEnv, _ := json.Marshal(e)
	tampered := write("tampered.json", tamperedEnv)

	// Signed by another key, once with that key's keyid and once claiming
	// the trusted key's keyid.
	other := sign("other.json", summary(), otherKey)
	forged, err := dsse.Sign(otherKey, keyID, dsse.PayloadTypeInToto, statement)
	if err != nil {
		t.Fatal(err)
	}
	forgedJSON, _ := json.Marshal(map[string]any{"payloadType": forged.PayloadType, "payload": forged.Payload,
		"signatures": []map[string]any{{"keyid": forged.Signatures[0].Keyid, "sig": forged.Signatures[0].Sig}}})
	forgedPath := write("forged.json", forgedJSON)

	failedSummary := summary()
	failedSummary.Result = vsa.Failed
	failed := sign("failed.json", failedSummary, key)
	edSigned := sign("ed25519.json", summary(), edKey)

	s := summary()
	base := map[string]string{
		"--attestation-path": good,
		"--subject-digest":   "sha256:" + s.Subjects[0].Digest["sha256"],
		"--verifier-id":      s.VerifierID,
		"--resource-uri":     s.ResourceURI,
		"--verified-level":   "SLSA_BUILD_LEVEL_3",
		"--public-key-path":  pubPath,
	}
	tests := []struct {
		name   string
		change map[string]string
		extra  []string
		err    string // "" for a pass; otherwise part of slsa-verifier's message
	}{
		{name: "pass"},
		{name: "pass, keyid given", extra: []string{"--public-key-id", keyID}},
		{name: "pass, lower level and custom level", change: map[string]string{"--verified-level": "SLSA_BUILD_LEVEL_2"},
			extra: []string{"--verified-level", "HALLMARK_RISK_HIGH"}},
		{name: "pass, ed25519", change: map[string]string{"--attestation-path": edSigned, "--public-key-path": edPubPath}},
		{name: "subject digest differs", change: map[string]string{"--subject-digest": "sha256:" + digestB},
			err: "expected digest not found"},
		{name: "subject digest algorithm differs", change: map[string]string{"--subject-digest": "sha512:" + digestA + digestA},
			err: "expected digest not found"},
		{name: "verifier id differs", change: map[string]string{"--verifier-id": "https://evil.example/gate"},
			err: "verifier ID mismatch"},
		{name: "resource URI differs", change: map[string]string{"--resource-uri": "pkg:generic/app@1.0.1"},
			err: "resource URI mismatch"},
		{name: "level above the verified one", change: map[string]string{"--verified-level": "SLSA_BUILD_LEVEL_4"},
			err: "expected SLSA level BUILD to be at least 4, got 3"},
		{name: "track not verified", change: map[string]string{"--verified-level": "SLSA_SOURCE_LEVEL_1"},
			err: "expected SLSA level not found: SOURCE"},
		{name: "custom level not verified", change: map[string]string{"--verified-level": "HALLMARK_RISK_LOW"},
			err: "expected verified level not found: HALLMARK_RISK_LOW"},
		{name: "payload tampered", change: map[string]string{"--attestation-path": tampered},
			err: "no valid signature"},
		{name: "signed by another key", change: map[string]string{"--attestation-path": other},
			err: "no valid signature"},
		{name: "signed by another key under the trusted keyid", change: map[string]string{"--attestation-path": forgedPath},
			err: "no valid signature"},
		{name: "other keyid given", extra: []string{"--public-key-id", "SHA256:someone-else"},
			err: "no valid signature"},
		{name: "result FAILED", change: map[string]string{"--attestation-path": failed},
			err: "verificationResult is not PASSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			for _, flag := range []string{"--attestation-path", "--subject-digest", "--verifier-id", "--resource-uri", "--verified-level", "--public-key-path"} {
				v := base[flag]
				if c, ok := tt.change[flag]; ok {
					v = c
				}
				args = append(args, flag, v)
			}
			args = append(args, tt.extra...)
			args = append([]string{"verify-vsa", "--print-attestation"}, args...)
			cmd := exec.Command(bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("slsa-verifier %s: %v", version, err)
			}
			if tt.err == "" {
				if err != nil || !strings.Contains(stderr.String(), "Verifying VSA: PASSED") {
					t.Fatalf("slsa-verifier %s %s: %v\n%s", version, strings.Join(args, " "), err, stderr.String())
				}
				// --print-attestation prints the signed statement.
				if printed := bytes.TrimSpace(stdout.Bytes()); !bytes.Equal(printed, statement) {
					t.Fatalf("printed attestation:\n%s\nwant\n%s", printed, statement)
				}
				return
			}
			if err == nil {
				t.Fatalf("slsa-verifier %s %s passed, want a failure with %q\n%s", version, strings.Join(args, " "), tt.err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "Verifying VSA: FAILED") || !strings.Contains(stderr.String(), tt.err) {
				t.Fatalf("slsa-verifier %s failed, but not with %q:\n%s", version, tt.err, stderr.String())
			}
		})
	}
}
