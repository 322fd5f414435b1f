package verifier_test

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/trustroot"
	"github.com/hallmark-dev/hallmark/verifier"
)

// conformanceDir holds the public Sigstore conformance suite's offline
// bundle-verification cases (see its README for the layout). It lives in the
// workspace's shared directory, beside the repository.
const conformanceDir = "../../shared/conformance/bundle-verify"

const (
	defaultIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	defaultIssuer   = "https://token.actions.githubusercontent.com"
)

// TestConformance runs every case twice, with the artifact's path and with its
// digest, as the suite does. Cases named *_fail must fail, the others pass.
func TestConformance(t *testing.T) {
	dir := conformanceDir
	if d := os.Getenv("HALLMARK_CONFORMANCE_DIR"); d != "" {
		dir = d
	}
	cases, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("conformance cases not found (set HALLMARK_CONFORMANCE_DIR): %v", err)
	}
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
				err := runCase(t, dir, caseDir, byDigest)
				switch {
				case wantFail && err == nil:
					t.Fatalf("verification passed, want failure")
				case !wantFail && err != nil:
					t.Fatalf("verification failed: %v", err)
				case err != nil:
					t.Logf("failed as expected: %v", err)
				}
			})
		}
	}
	if n < 70 {
		t.Fatalf("found %d conformance cases in %s, want the whole suite", n, dir)
	}
}

func runCase(t *testing.T, dir, caseDir string, byDigest bool) error {
	t.Helper()
	b, err := bundle.Read(filepath.Join(caseDir, "bundle.sigstore.json"))
	if err != nil {
		return err
	}
	trust := verifier.Trust{}
	if _, err := os.Stat(filepath.Join(caseDir, "trusted_root.json")); err == nil {
		trust.Root, err = trustroot.Load(filepath.Join(caseDir, "trusted_root.json"))
		if err != nil {
			return err
		}
	} else {
		trust.Root, err = trustroot.PublicGood()
		if err != nil {
			t.Fatal(err)
		}
	}
	policy := verifier.Policy{}
	if pemBytes, err := os.ReadFile(filepath.Join(caseDir, "key.pub")); err == nil {
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
		if err != nil {
			return err // a case may give a broken key on purpose
		}
		trust.Keys = append(trust.Keys, pub)
		policy.Key = true
	} else {
		policy.Identity = &verifier.Identity{
			SubjectAlternativeName: readOr(t, filepath.Join(caseDir, "identity"), defaultIdentity),
			Issuer:                 readOr(t, filepath.Join(caseDir, "issuer"), defaultIssuer),
		}
	}
	artifact := filepath.Join(caseDir, "artifact")
	if _, err := os.Stat(artifact); err != nil {
		artifact = filepath.Join(dir, "a.txt")
	}
	art := verifier.Artifact{Path: artifact}
	if byDigest {
		data, err := os.ReadFile(artifact)
		if err != nil {
			t.Fatal(err)
		}
		d := digest.SHA256(sha256.Sum256(data))
		art = verifier.Artifact{Digest: &d}
	}
	v, err := verifier.New(trust)
	if err != nil {
		return err
	}
	_, err = v.Verify(b, art, policy)
	if err != nil && !errors.Is(err, verifier.ErrFailed) {
		t.Logf("error does not wrap ErrFailed: %v", err)
	}
	return err
}

func readOr(t *testing.T, path, def string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	return strings.TrimSpace(string(data))
}
