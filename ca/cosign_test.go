package ca_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cosignPath returns the cosign 2.x binary that interop tests run:
// $HALLMARK_PEERS/cosign, or ~/.cache/hallmark-peers/cosign, where
// install-peers.sh (in the shared tools) puts it.
func cosignPath(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HALLMARK_PEERS")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skipf("cosign not found: no HALLMARK_PEERS and no home directory: %v", err)
		}
		dir = filepath.Join(home, ".cache", "hallmark-peers")
	}
	path := filepath.Join(dir, "cosign")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("cosign not installed at %s (install-peers.sh DIR cosign, then HALLMARK_PEERS=DIR): %v", path, err)
	}
	return path
}

// cosignVerifyArgs are the flags with which cosign 2.6.5 verifies a bundle
// that this package's certificate signs, fully offline:
//   - --trusted-root: trust from a file; without it cosign fetches Sigstore's
//     trusted root through TUF, over the network;
//   - --use-signed-timestamps: check the certificate at the time of the
//     bundle's RFC 3161 timestamp. Without it, with --insecure-ignore-tlog,
//     cosign checks the certificate against the current time instead, so a
//     bundle fails ten minutes after signing and one timestamped after its
//     certificate expired passes while the certificate is still valid (the
//     "expired certificate" case catches that);
//   - --insecure-ignore-tlog=true: the bundle has no transparency log entry;
//   - --insecure-ignore-sct: the certificate carries no SCT, as it is not
//     logged to a CT log;
//   - --new-bundle-format: cosign also infers it from the bundle's media type.
func cosignVerifyArgs(bundlePath, trustedRootPath, identity, issuer, artifactPath string) []string {
	return []string{
		"verify-blob",
		"--bundle", bundlePath,
		"--new-bundle-format",
		"--trusted-root", trustedRootPath,
		"--certificate-identity", identity,
		"--certificate-oidc-issuer", issuer,
		"--use-signed-timestamps",
		"--insecure-ignore-tlog=true",
		"--insecure-ignore-sct",
		artifactPath,
	}
}

// TestCosignVerifies runs cosign verify-blob over the same bundles as
// TestSigstoreGoVerifies. Cosign runs with an empty environment, its home and
// TUF root in a fresh directory, and a proxy that refuses every connection,
// so that it cannot reach the internet, and it must not try: its TUF root
// stays empty.
func TestCosignVerifies(t *testing.T) {
	cosign := cosignPath(t)
	dir := t.TempDir()
	tufRoot := filepath.Join(dir, "tuf")
	env := []string{
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"TUF_ROOT=" + tufRoot,
		"SIGSTORE_NO_CACHE=true",
		"HTTPS_PROXY=http://127.0.0.1:1",
		"HTTP_PROXY=http://127.0.0.1:1",
		"NO_PROXY=",
	}
	run := func(t *testing.T, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cosign, args...)
		cmd.Env = env
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("cosign %s: timed out", strings.Join(args, " "))
		}
		return string(out), err
	}
	if out, err := run(t, "version"); err == nil {
		t.Logf("cosign version:\n%s", out)
	}

	for i, tt := range verifyCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			sub := filepath.Join(dir, strings.Repeat("x", i+1))
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			bundlePath := filepath.Join(sub, "artifact.sigstore.json")
			rootPath := filepath.Join(sub, "trusted_root.json")
			artifactPath := filepath.Join(sub, "artifact")
			for path, data := range map[string][]byte{bundlePath: tt.bundle, rootPath: tt.trustedRoot, artifactPath: tt.artifact} {
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := cosignVerifyArgs(bundlePath, rootPath, tt.san, tt.issuer, artifactPath)
			out, err := run(t, args...)
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("running cosign: %v", err)
			}
			if tt.ok != (err == nil) {
				t.Fatalf("cosign %s: %v, want success %v; output:\n%s", strings.Join(args, " "), err, tt.ok, out)
			}
			if tt.ok && !strings.Contains(out, "Verified OK") {
				t.Errorf("cosign succeeded without saying Verified OK:\n%s", out)
			}
			if !tt.ok {
				t.Logf("refused as expected:\n%s", out)
			}
		})
	}
	if entries, err := os.ReadDir(tufRoot); err == nil && len(entries) > 0 {
		t.Errorf("cosign wrote to its TUF root %s: it tried to fetch Sigstore's trusted root", tufRoot)
	}
}
