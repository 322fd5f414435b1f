package provenance_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/keystore"
	"github.com/hallmark-dev/hallmark/provenance"
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

// TestCosignVerifiesProvenance signs a statement the way `hallmark attest`
// has the control plane sign one (DSSE, in-toto payload type, in a v0.3
// bundle with a key hint) and has cosign check it: it must accept the
// provenance for the built artifact only, and the tenant-provided fields must
// not let anything else pass as a subject.
func TestCosignVerifiesProvenance(t *testing.T) {
	cosign := cosignPath(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	artifact := write("hello", []byte("built by hallmark\n"))
	other := write("other", []byte("not built by hallmark\n"))
	injected := write("injected", []byte("a tenant's own file\n"))
	sum := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(data)
		return hex.EncodeToString(s[:])
	}

	ks := &keystore.Store{Dir: filepath.Join(dir, "keys")}
	if _, err := ks.Generate("platform", keystore.ECDSAP256, nil); err != nil {
		t.Fatal(err)
	}
	signer, err := ks.Signer("platform", nil)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := ks.PublicPEM("platform")
	if err != nil {
		t.Fatal(err)
	}
	pubPath := write("platform.pub", pubPEM)
	hint, err := bundle.KeyHint(signer.Public())
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now().UTC().Truncate(time.Second)
	b := provenance.Build{
		Subjects: []provenance.Subject{{Name: "hello", SHA256: sum(artifact)}},
		External: map[string]any{"source": map[string]any{"uri": "git+https://example.com/hello.git", "ref": "refs/heads/main"}},
		Materials: []provenance.Material{{
			URI:    "git+https://example.com/hello.git@refs/heads/main",
			Digest: map[string]string{"gitCommit": "0123456789abcdef0123456789abcdef01234567"},
		}},
		BuilderID:    "https://hallmark.dev/builder/test",
		InvocationID: "build-1",
		Started:      start,
		Finished:     start.Add(time.Second),
		// A tenant naming its own file as if it were a subject.
		Tenant: map[string]string{"subject": "injected", "sha256": sum(injected), "digest": "sha256:" + sum(injected)},
	}
	stmt, err := provenance.Statement(b)
	if err != nil {
		t.Fatal(err)
	}
	env, err := dsse.Sign(signer, "", dsse.PayloadTypeInToto, stmt)
	if err != nil {
		t.Fatal(err)
	}
	bun, err := bundle.NewDSSE(env, hint)
	if err != nil {
		t.Fatal(err)
	}
	bunJSON, err := bundle.Marshal(bun)
	if err != nil {
		t.Fatal(err)
	}
	bundlePath := write("hello.intoto.sigstore.json", bunJSON)
	// cosign wants a trusted root with the new bundle format, and would
	// fetch Sigstore's over the network without one. This one trusts no log,
	// authority or timestamp service: only the key given with --key counts.
	rootPath := write("trusted_root.json", []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))

	// The statement's subjects are the Build's Subjects and nothing else.
	parsed, err := provenance.Parse(stmt)
	if err != nil {
		t.Fatal(err)
	}
	if len(parsed.Subjects) != 1 || parsed.Subjects[0].SHA256 != sum(artifact) {
		t.Fatalf("subjects %+v, want only the artifact", parsed.Subjects)
	}

	// A home of its own, so cosign neither reads nor writes the user's
	// TUF cache; with --key and no log it has nothing to fetch.
	home := filepath.Join(dir, "home")
	if _, err := ks.Generate("other", keystore.ECDSAP256, nil); err != nil {
		t.Fatal(err)
	}
	otherPEM, err := ks.PublicPEM("other")
	if err != nil {
		t.Fatal(err)
	}
	otherPub := write("other.pub", otherPEM)
	const noMatch = "provided artifact digest does not match any digest in statement"
	tests := []struct {
		name, key, typ, artifact string
		ok                       bool
		why                      string // in cosign's output when it fails
	}{
		{"built artifact", pubPath, "slsaprovenance1", artifact, true, ""},
		{"built artifact, type as URI", pubPath, provenance.PredicateType, artifact, true, ""},
		{"another artifact", pubPath, "slsaprovenance1", other, false, noMatch},
		{"tenant-named artifact", pubPath, "slsaprovenance1", injected, false, noMatch},
		{"wrong predicate type", pubPath, "slsaprovenance02", artifact, false, "invalid predicate type"},
		{"another key", otherPub, "slsaprovenance1", artifact, false, "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			args := []string{"verify-blob-attestation",
				"--key", tt.key,
				"--type", tt.typ,
				"--bundle", bundlePath,
				"--new-bundle-format",
				"--trusted-root", rootPath,
				"--insecure-ignore-tlog=true",
				tt.artifact,
			}
			cmd := exec.CommandContext(ctx, cosign, args...)
			cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"))
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("cosign %s: timed out", strings.Join(args, " "))
			}
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("running cosign: %v", err)
			}
			if (err == nil) != tt.ok {
				t.Fatalf("cosign %s: %v, want success %v; output:\n%s", strings.Join(args, " "), err, tt.ok, out)
			}
			if tt.ok != strings.Contains(string(out), "Verified OK") {
				t.Errorf("cosign output does not match its exit status (want success %v):\n%s", tt.ok, out)
			}
			if !tt.ok && !strings.Contains(string(out), tt.why) {
				t.Errorf("cosign failed for another reason than %q:\n%s", tt.why, out)
			}
		})
	}
}
