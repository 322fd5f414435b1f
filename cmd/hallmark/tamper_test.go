package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTamperedLoggedBundles alters one part of a logged, timestamped bundle
// at a time: the artifact, the signature, the inclusion proof, the
// checkpoint, the log index, the entry body, the timestamp, the DSSE payload.
// hallmark verify must fail each with exit 1, and so must cosign, when it is
// installed, against Hallmark's trusted root.
func TestTamperedLoggedBundles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HALLMARK_HOME", filepath.Join(dir, "home"))
	in := func(name string) string { return filepath.Join(dir, name) }
	mustRun(t, "init", "--insecure-plaintext")
	mustRun(t, "key", "generate")
	write(t, in("pub.pem"), mustRun(t, "key", "export-public", "default"))
	write(t, in("a.txt"), "the artifact\n")
	write(t, in("other.txt"), "another artifact\n")
	write(t, in("p.json"), `{"ok":true}`)
	mustRun(t, "trust-root", "-o", in("root.json"))
	// Some entries first, so that the proofs of ours have hashes.
	for _, f := range []string{"f1", "f2", "f3"} {
		write(t, in(f), f)
		mustRun(t, "sign", in(f))
	}
	mustRun(t, "sign", in("a.txt"))
	mustRun(t, "attest", "--predicate-type", "https://example.com/t/v1", "--predicate", in("p.json"), in("a.txt"))
	msg, _ := os.ReadFile(in("a.txt.sigstore.json"))
	att, _ := os.ReadFile(in("a.txt.intoto.sigstore.json"))
	cosign, _ := exec.LookPath("cosign")
	if cosign == "" {
		t.Log("cosign not installed: checking hallmark only (.ci/run installs cosign)")
	}

	verifyBoth := func(t *testing.T, bundle, artifact string, attestation bool) (hallmarkOK, cosignOK bool) {
		var stdout, stderr bytes.Buffer
		code := run([]string{"verify", "--key", in("pub.pem"), "--trusted-root", in("root.json"), "--bundle", bundle, artifact}, &stdout, &stderr)
		if code > 2 {
			t.Errorf("hallmark verify: exit %d: %s", code, stderr.String())
		}
		t.Logf("hallmark: exit %d %s", code, strings.TrimSpace(stderr.String()))
		hallmarkOK = code == 0
		if cosign == "" {
			return hallmarkOK, hallmarkOK
		}
		// --use-signed-timestamps: without it cosign ignores a bundle's
		// timestamps when its log entry suffices.
		args := []string{"verify-blob", "--key", in("pub.pem"), "--bundle", bundle, "--new-bundle-format", "--trusted-root", in("root.json"), "--use-signed-timestamps", artifact}
		if attestation {
			args = []string{"verify-blob-attestation", "--key", in("pub.pem"), "--bundle", bundle, "--new-bundle-format", "--trusted-root", in("root.json"), "--use-signed-timestamps", "--type", "https://example.com/t/v1", artifact}
		}
		out, err := exec.Command(cosign, args...).CombinedOutput()
		t.Logf("cosign: %v %s", err, lastLine(out))
		return hallmarkOK, err == nil
	}

	// Untouched, both verify.
	for _, c := range []struct {
		bundle      []byte
		attestation bool
	}{{msg, false}, {att, true}} {
		p := writeTo(t, in("ok.json"), string(c.bundle))
		if h, co := verifyBoth(t, p, in("a.txt"), c.attestation); !h || !co {
			t.Fatalf("untouched bundle: hallmark %v, cosign %v", h, co)
		}
	}

	entry := func(m map[string]any) map[string]any {
		return m["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any)
	}
	proof := func(m map[string]any) map[string]any { return entry(m)["inclusionProof"].(map[string]any) }
	flipB64 := func(s string) string {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x01
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct {
		name        string
		attestation bool
		artifact    string
		edit        func(m map[string]any)
	}{
		{"artifact", false, "other.txt", nil},
		{"signature", false, "", func(m map[string]any) {
			ms := m["messageSignature"].(map[string]any)
			ms["signature"] = flipB64(ms["signature"].(string))
		}},
		{"inclusion proof hash", false, "", func(m map[string]any) {
			h := proof(m)["hashes"].([]any)
			h[0] = flipB64(h[0].(string))
		}},
		{"inclusion proof root hash", false, "", func(m map[string]any) { proof(m)["rootHash"] = flipB64(proof(m)["rootHash"].(string)) }},
		{"checkpoint root hash", false, "", func(m map[string]any) {
			cp := proof(m)["checkpoint"].(map[string]any)
			lines := strings.Split(cp["envelope"].(string), "\n")
			lines[2] = flipB64(lines[2])
			cp["envelope"] = strings.Join(lines, "\n")
		}},
		{"checkpoint size", false, "", func(m map[string]any) {
			cp := proof(m)["checkpoint"].(map[string]any)
			lines := strings.Split(cp["envelope"].(string), "\n")
			lines[1] = "99"
			cp["envelope"] = strings.Join(lines, "\n")
		}},
		{"checkpoint signature", false, "", func(m map[string]any) {
			cp := proof(m)["checkpoint"].(map[string]any)
			env := cp["envelope"].(string)
			i := strings.LastIndex(env, " ")
			cp["envelope"] = env[:i+1] + flipB64(strings.TrimSuffix(env[i+1:], "\n")) + "\n"
		}},
		{"log index", false, "", func(m map[string]any) {
			entry(m)["logIndex"] = "5"
			proof(m)["logIndex"] = "5"
		}},
		{"log id", false, "", func(m map[string]any) {
			id := entry(m)["logId"].(map[string]any)
			id["keyId"] = flipB64(id["keyId"].(string))
		}},
		{"timestamp", false, "", func(m map[string]any) {
			ts := m["verificationMaterial"].(map[string]any)["timestampVerificationData"].(map[string]any)["rfc3161Timestamps"].([]any)[0].(map[string]any)
			ts["signedTimestamp"] = flipB64(ts["signedTimestamp"].(string))
		}},
		{"dsse payload", true, "", func(m map[string]any) {
			env := m["dsseEnvelope"].(map[string]any)
			p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
			env["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(p, []byte(`"ok":true`), []byte(`"ok":fals`), 1))
		}},
		{"dsse signature", true, "", func(m map[string]any) {
			s := m["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
			s["sig"] = flipB64(s["sig"].(string))
		}},
		{"dsse inclusion proof root hash", true, "", func(m map[string]any) { proof(m)["rootHash"] = flipB64(proof(m)["rootHash"].(string)) }},
		{"dsse inclusion proof hash", true, "", func(m map[string]any) {
			h := proof(m)["hashes"].([]any)
			h[0] = flipB64(h[0].(string))
		}},
		{"dsse artifact", true, "other.txt", nil},
	}
	// cosign does not read inclusionProof.rootHash: Rekor v2 proofs are
	// checked against the checkpoint's root hash. Hallmark refuses a bundle
	// whose rootHash disagrees with its checkpoint.
	cosignIgnores := map[string]bool{"inclusion proof root hash": true, "dsse inclusion proof root hash": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := msg
			if tt.attestation {
				src = att
			}
			var m map[string]any
			if err := json.Unmarshal(src, &m); err != nil {
				t.Fatal(err)
			}
			if tt.edit != nil {
				tt.edit(m)
			}
			out, _ := json.Marshal(m)
			p := writeTo(t, in("tampered.json"), string(out))
			artifact := in("a.txt")
			if tt.artifact != "" {
				artifact = in(tt.artifact)
			}
			h, co := verifyBoth(t, p, artifact, tt.attestation)
			if h {
				t.Error("hallmark verify accepted it")
			}
			if co && !cosignIgnores[tt.name] {
				t.Error("cosign accepted it")
			}
		})
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
