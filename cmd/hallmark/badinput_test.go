package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput checks that hostile or broken input gets a clear error naming
// what is wrong, and the documented exit code: 1 only for a failed
// verification, 2 for bad usage and unreadable input; never a panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HALLMARK_HOME", filepath.Join(dir, "home"))
	t.Setenv("HALLMARK_KEY_PASSPHRASE", "pw")
	in := func(name string) string { return filepath.Join(dir, name) }
	mustRun(t, "init", "--insecure-plaintext")
	mustRun(t, "key", "generate")
	pub := mustRun(t, "key", "export-public", "default")
	write(t, in("pub.pem"), pub)
	write(t, in("a.txt"), "artifact\n")
	mustRun(t, "sign", in("a.txt"))
	good, err := os.ReadFile(in("a.txt.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, "attest", "--predicate-type", "https://example.com/t", "--predicate", writeTo(t, in("p.json"), "{}"), "-b", in("att.json"), in("a.txt"))
	att, err := os.ReadFile(in("att.json"))
	if err != nil {
		t.Fatal(err)
	}

	// edit returns a bundle file made from the good one by f.
	edit := func(name string, src []byte, f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(src, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return writeTo(t, in(name), string(out))
	}
	msgSig := func(m map[string]any) map[string]any { return m["messageSignature"].(map[string]any) }
	env := func(m map[string]any) map[string]any { return m["dsseEnvelope"].(map[string]any) }

	verify := func(bundle string, extra ...string) []string {
		return append([]string{"verify", "--key", in("pub.pem"), "--insecure-ignore-tlog", "--bundle", bundle}, append(extra, in("a.txt"))...)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no log entry", []string{"verify", "--key", in("pub.pem"), "--bundle", edit("nl.json", good, func(m map[string]any) {
			delete(m["verificationMaterial"].(map[string]any), "tlogEntries")
		}), in("a.txt")}, 1, "hint: the bundle has no transparency log entry"},
		{"malformed JSON", verify(writeTo(t, in("m.json"), `{"mediaType":`)), 2, "bundle: malformed"},
		{"not JSON", verify(writeTo(t, in("n.json"), "\x00\xff")), 2, "bundle: malformed"},
		{"empty file", verify(writeTo(t, in("e.json"), "")), 2, "bundle: malformed"},
		{"unknown field", verify(edit("uf.json", good, func(m map[string]any) { m["extra"] = 1 })), 2, `unknown field "extra"`},
		{"unknown media type", verify(edit("mt.json", good, func(m map[string]any) {
			m["mediaType"] = "application/vnd.dev.sigstore.bundle.v9.0+json"
		})), 2, "not yet supported"},
		{"foreign media type", verify(edit("mt2.json", good, func(m map[string]any) { m["mediaType"] = "text/plain" })), 2, "unsupported media type: text/plain"},
		{"missing media type", verify(edit("mt3.json", good, func(m map[string]any) { delete(m, "mediaType") })), 2, "mediaType: missing"},
		{"wrong base64", verify(edit("b64.json", good, func(m map[string]any) { msgSig(m)["signature"] = "!!not base64!!" })), 2, "field signature"},
		{"empty signature", verify(edit("es.json", good, func(m map[string]any) { msgSig(m)["signature"] = "" })), 2, "messageSignature.signature: missing"},
		{"truncated signature", verify(edit("ts.json", good, func(m map[string]any) {
			s := msgSig(m)["signature"].(string)
			msgSig(m)["signature"] = s[:len(s)/2]
		})), 1, "verification failed: "},
		{"short digest", verify(edit("sd.json", good, func(m map[string]any) {
			msgSig(m)["messageDigest"].(map[string]any)["digest"] = "AAAA"
		})), 2, "messageSignature.messageDigest.digest: 3 bytes, want 32"},
		{"no content", verify(edit("nc.json", good, func(m map[string]any) { delete(m, "messageSignature") })), 2, "content: missing"},
		{"no verification material", verify(edit("nv.json", good, func(m map[string]any) { delete(m, "verificationMaterial") })), 2, "verificationMaterial: missing"},
		{"dsse without signatures", verify(edit("ds.json", att, func(m map[string]any) { env(m)["signatures"] = []any{} })), 2, "dsseEnvelope.signatures: none"},
		{"dsse with two signatures", verify(edit("d2.json", att, func(m map[string]any) {
			s := env(m)["signatures"].([]any)
			env(m)["signatures"] = append(s, s[0])
		})), 2, "a bundle holds exactly 1"},
		{"dsse payload not a statement", verify(edit("dp.json", att, func(m map[string]any) { env(m)["payload"] = "bm90IGpzb24=" })), 1, "verification failed"},
		{"oversized bundle", verify(writeTo(t, in("big.json"), `{"x":"`+strings.Repeat("a", 17<<20)+`"}`)), 2, "over the limit of 16777216 bytes"},
		{"missing bundle", verify(in("nosuch.json")), 2, "nosuch.json: no such file"},
		{"missing artifact", []string{"verify", "--key", in("pub.pem"), in("nosuch.txt")}, 2, "nosuch.txt: no such file"},
		{"directory artifact", []string{"verify", "--key", in("pub.pem"), dir}, 2, "not a regular file"},
		{"bad digest", []string{"verify", "--key", in("pub.pem"), "--bundle", in("a.txt.sigstore.json"), "sha256:abc"}, 2, "not a digest"},
		{"digest without bundle", []string{"verify", "--key", in("pub.pem"), "sha256:" + strings.Repeat("0", 64)}, 2, "--bundle is required"},
		{"bad key file", []string{"verify", "--key", in("a.txt"), in("a.txt")}, 2, "no PEM block"},
		{"missing key file", []string{"verify", "--key", in("nokey.pem"), in("a.txt")}, 2, "nokey.pem: no such file"},
		{"bad trusted root", verify(in("a.txt.sigstore.json"), "--trusted-root", in("a.txt")), 2, "trustroot: "},
		{"no signer policy", []string{"verify", in("a.txt")}, 2, "say who must have signed"},
		{"key and identity", []string{"verify", "--key", in("pub.pem"), "--certificate-identity", "x", "--certificate-oidc-issuer", "y", in("a.txt")}, 2, "exclude each other"},
		{"identity without issuer", []string{"verify", "--certificate-identity", "x", in("a.txt")}, 2, "--certificate-oidc-issuer"},
		{"two targets", []string{"verify", "--key", in("pub.pem"), in("a.txt"), in("a.txt")}, 2, "want one FILE_OR_DIGEST, got 2"},
		{"unknown flag", []string{"verify", "--nope", in("a.txt")}, 2, "flag provided but not defined: -nope"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"no command", nil, 2, "Usage:"},
		{"help", []string{"verify", "--help"}, 0, ""},
		{"version extra args", []string{"version", "x"}, 2, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr does not mention %q:\n%s", tt.stderr, stderr.String())
			}
			if code != 0 && tt.args != nil && !strings.HasPrefix(stderr.String(), "hallmark: error: ") {
				t.Errorf("stderr does not start with the error line:\n%s", stderr.String())
			}
			if strings.Contains(stderr.String(), "hallmark: verified") && code != 0 {
				t.Errorf("a failure says verified:\n%s", stderr.String())
			}
		})
	}
	// Nothing above changed the good bundle or the key.
	if now, _ := os.ReadFile(in("a.txt.sigstore.json")); !bytes.Equal(now, good) {
		t.Error("a.txt.sigstore.json changed")
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, cmd := range []string{"key", "sign", "attest", "verify", "version", "digest", "init", "trust-root", "log", "serve"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{cmd, "-h"}, &stdout, &stderr); code != 0 {
			t.Errorf("%s -h: exit %d: %s", cmd, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "Usage") {
			t.Errorf("%s -h: no usage on stdout: %q", cmd, stdout.String())
		}
	}
	out := mustRun(t, "version")
	if !strings.HasPrefix(out, "hallmark ") || !strings.Contains(out, "go1.") {
		t.Errorf("version = %q", out)
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("hallmark %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeTo(t *testing.T, path, data string) string {
	write(t, path, data)
	return path
}
