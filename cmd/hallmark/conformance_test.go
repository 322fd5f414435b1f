package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conformanceDir holds the public Sigstore conformance suite's offline
// bundle-verification cases, from the workspace's shared directory beside
// the repository; HALLMARK_CONFORMANCE_DIR overrides it. Its README gives the
// layout: bundle.sigstore.json, artifact (else ../a.txt), key.pub or
// identity/issuer (else the defaults below), trusted_root.json (else the
// public Sigstore root, which hallmark embeds).
const conformanceDir = "../../../shared/conformance/bundle-verify"

const (
	conformanceIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIssuer   = "https://token.actions.githubusercontent.com"
)

// TestConformance runs 'hallmark verify' on every case twice, with the
// artifact's path and with its digest, as the suite does. Cases named *_fail
// must fail, the others must pass.
func TestConformance(t *testing.T) {
	dir := conformanceDir
	if d := os.Getenv("HALLMARK_CONFORMANCE_DIR"); d != "" {
		dir = d
	}
	cases, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("conformance cases not found (set HALLMARK_CONFORMANCE_DIR): %v", err)
	}
	// No local control plane: each case's trust is only what the case gives.
	t.Setenv("HALLMARK_HOME", t.TempDir())
	n := 0
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		n++
		caseDir := filepath.Join(dir, c.Name())
		wantFail := strings.HasSuffix(c.Name(), "_fail")
		for _, byDigest := range []bool{false, true} {
			name := c.Name() + "/path"
			if byDigest {
				name = c.Name() + "/digest"
			}
			t.Run(name, func(t *testing.T) {
				args := conformanceArgs(t, dir, caseDir, byDigest)
				var stdout, stderr bytes.Buffer
				code := run(args, &stdout, &stderr)
				switch {
				case wantFail && code == exitOK:
					t.Fatalf("hallmark %s: passed, want failure\n%s", strings.Join(args, " "), stderr.String())
				case !wantFail && code != exitOK:
					t.Fatalf("hallmark %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
				case wantFail:
					if !strings.Contains(stderr.String(), "hallmark: error: ") {
						t.Errorf("failure without an error line:\n%s", stderr.String())
					}
					if strings.Contains(stderr.String(), "hallmark: verified") {
						t.Errorf("failure says verified:\n%s", stderr.String())
					}
					t.Logf("exit %d: %s", code, strings.TrimSpace(stderr.String()))
				}
			})
		}
	}
	if n < 70 {
		t.Fatalf("found %d conformance cases in %s, want the whole suite", n, dir)
	}
}

// conformanceArgs builds the verify command line for one case, as the
// conformance suite's CLI protocol does.
func conformanceArgs(t *testing.T, dir, caseDir string, byDigest bool) []string {
	t.Helper()
	args := []string{"verify", "--bundle", filepath.Join(caseDir, "bundle.sigstore.json")}
	if key := filepath.Join(caseDir, "key.pub"); exists(key) {
		args = append(args, "--key", key)
	} else {
		args = append(args,
			"--certificate-identity", readOr(filepath.Join(caseDir, "identity"), conformanceIdentity),
			"--certificate-oidc-issuer", readOr(filepath.Join(caseDir, "issuer"), conformanceIssuer))
	}
	if tr := filepath.Join(caseDir, "trusted_root.json"); exists(tr) {
		args = append(args, "--trusted-root", tr)
	}
	artifact := filepath.Join(caseDir, "artifact")
	if !exists(artifact) {
		artifact = filepath.Join(dir, "a.txt")
	}
	if byDigest {
		data, err := os.ReadFile(artifact)
		if err != nil {
			t.Fatal(err)
		}
		return append(args, fmt.Sprintf("sha256:%x", sha256.Sum256(data)))
	}
	return append(args, artifact)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readOr(path, def string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	return strings.TrimSpace(string(data))
}
