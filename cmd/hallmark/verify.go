package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/trustroot"
	"github.com/hallmark-dev/hallmark/verifier"
)

const verifyUsage = `Usage: hallmark verify [--bundle FILE] (--key PUB.pem | --certificate-identity ID --certificate-oidc-issuer URL)
                       [--trusted-root T.json] [--json] FILE_OR_DIGEST

Verifies a Sigstore bundle (v0.1, v0.2 or v0.3; a message signature or a DSSE
envelope; a public key, a certificate or a chain) over FILE_OR_DIGEST, a file
or its digest written sha256:<hex>, offline, against a trusted root:
transparency log entries (Rekor v1 and v2: inclusion proofs, signed
checkpoints, inclusion promises), RFC 3161 timestamps, the certificate chain
and its validity at the verified times, SCTs, the signature, and the signer.

With --policy FILE, the argument is a release directory (the OUT of 'hallmark
build') and FILE a verification policy saying whose key, which trusted root
and builder, and which attestations it needs (docs/verification.md): the
provenance must come from that builder and cover every file, the gate's
verdict must have PASSED for every file, the SBOM must be attested, and
every file with executable content must carry its own signature (and, for
the kinds the policy names, an embedded one).

A PE file that carries an embedded Authenticode signature is checked too: its
image digest, the signature, the signer's chain to a CA of the trusted root
(code signing), and its RFC 3161 timestamp against the trusted root's TSAs;
'hallmark inspect FILE' shows what it holds.

Flags:
  -b, --bundle FILE                   the bundle (default FILE.sigstore.json)
  --policy FILE                       verify a release directory against a verification policy
  -k, --key PUB.pem                   require a signature by this public key
  --certificate-identity ID           require a certificate for this SAN (URI or email)
  --certificate-identity-regexp RE    ... or one whose SAN matches RE
  --certificate-oidc-issuer URL       require this OIDC issuer in the certificate
  --certificate-oidc-issuer-regexp RE ... or one that matches RE
  --trusted-root T.json               trusted root (default: the public Sigstore
                                      production root, embedded in hallmark, and
                                      the local control plane's, if there is one)
  --home DIR                          data directory (default $HALLMARK_HOME)
  --insecure-ignore-tlog              accept a bundle without a transparency log
                                      entry; a key signature without a timestamp
                                      is then checked at the current time
  --json                              print the verification result as JSON on stdout

Exit codes: 0 verified; 1 verification failed (the message names the check);
2 bad usage or unreadable input.
`

func runVerify(c *cli, args []string) error {
	fs := c.flagSet("verify", verifyUsage)
	var bundlePath, keyPath, rootPath string
	var id verifier.Identity
	fs.StringVar(&bundlePath, "bundle", "", "")
	fs.StringVar(&bundlePath, "b", "", "")
	fs.StringVar(&keyPath, "key", "", "")
	fs.StringVar(&keyPath, "k", "", "")
	fs.StringVar(&id.SubjectAlternativeName, "certificate-identity", "", "")
	fs.StringVar(&id.SubjectAlternativeNameRegexp, "certificate-identity-regexp", "", "")
	fs.StringVar(&id.Issuer, "certificate-oidc-issuer", "", "")
	fs.StringVar(&id.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "")
	fs.StringVar(&rootPath, "trusted-root", "", "")
	ignoreTlog := fs.Bool("insecure-ignore-tlog", false, "")
	policyPath := fs.String("policy", "", "")
	homeDir := homeFlag(fs)
	asJSON := fs.Bool("json", false, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("verify: want one FILE_OR_DIGEST, got %d arguments", len(pos)).hint("run 'hallmark verify --help' for usage")
	}
	target := pos[0]
	if *policyPath != "" {
		if keyPath != "" || rootPath != "" || bundlePath != "" || id != (verifier.Identity{}) {
			return usageErrorf("verify: --policy names the key and trusted root itself; give it alone with the release directory")
		}
		return c.verifyRelease(*policyPath, target)
	}
	hasIdentity := id != (verifier.Identity{})
	switch {
	case keyPath != "" && hasIdentity:
		return usageErrorf("verify: --key and --certificate-* flags exclude each other")
	case keyPath == "" && !hasIdentity:
		return usageErrorf("verify: say who must have signed: --key PUB.pem, or --certificate-identity and --certificate-oidc-issuer").
			hint("a signature proves nothing until you say whose it must be")
	case hasIdentity && (id.SubjectAlternativeName == "") == (id.SubjectAlternativeNameRegexp == ""):
		return usageErrorf("verify: give exactly one of --certificate-identity and --certificate-identity-regexp")
	case hasIdentity && (id.Issuer == "") == (id.IssuerRegexp == ""):
		return usageErrorf("verify: give exactly one of --certificate-oidc-issuer and --certificate-oidc-issuer-regexp")
	}

	var art verifier.Artifact
	if digest.IsDigest(target) {
		d, err := digest.Parse(target)
		if err != nil {
			return err
		}
		art.Digest = &d
		if bundlePath == "" {
			return usageErrorf("verify: --bundle is required when verifying a digest")
		}
	} else {
		if err := checkRegular(target); err != nil {
			return err
		}
		art.Path = target
		if bundlePath == "" {
			bundlePath = target + ".sigstore.json"
		}
	}
	b, err := bundle.Read(bundlePath)
	if err != nil {
		return err
	}

	var trust verifier.Trust
	var policy verifier.Policy
	policy.IgnoreTlogUnsafe = *ignoreTlog
	if trust.Roots, err = trustedRoots(rootPath, *homeDir); err != nil {
		return err
	}
	if keyPath != "" {
		pub, err := readPublicKey(keyPath)
		if err != nil {
			return err
		}
		trust.Keys = []crypto.PublicKey{pub}
		policy.Key = true
	} else {
		policy.Identity = &id
	}
	v, err := verifier.New(trust)
	if err != nil {
		return err
	}
	res, err := v.Verify(b, art, policy)
	if err != nil {
		if errors.Is(err, verifier.ErrFailed) {
			ferr := &checkFailedError{fmt.Errorf("verification failed: %w", err)}
			if *ignoreTlog || len(b.GetVerificationMaterial().GetTlogEntries()) > 0 {
				return ferr
			}
			return withHint(ferr, "the bundle has no transparency log entry; --insecure-ignore-tlog accepts that, at your own risk")
		}
		return err
	}
	if art.Path != "" {
		if err := c.verifyEmbedded(art.Path, trust.Roots); err != nil {
			return err
		}
	}
	if *asJSON {
		out, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\n", out)
	}
	fmt.Fprintf(c.stderr, "hallmark: verified %s: %s\n", target, describe(res))
	return nil
}

// describe says in a line who signed and what time evidence was verified.
func describe(res *verifier.Result) string {
	var parts []string
	switch s := res.Signature; {
	case s != nil && s.Certificate != nil:
		parts = append(parts, fmt.Sprintf("signed by %s (issuer %s)", s.Certificate.SubjectAlternativeName, s.Certificate.Issuer))
	case s != nil && s.PublicKeyID != nil:
		parts = append(parts, "signed by the given key")
	}
	if res.Statement != nil {
		parts = append(parts, fmt.Sprintf("statement of type %s", res.Statement.GetPredicateType()))
	}
	seen := map[string]bool{}
	for _, ts := range res.VerifiedTimestamps {
		s := fmt.Sprintf("%s at %s", timestampKind(ts.Type), ts.Timestamp.UTC().Format(time.RFC3339))
		if !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// trustedRoots returns the trusted root at path or, with no path, the
// embedded public Sigstore root and the local control plane's, if the data
// directory has one.
func trustedRoots(path, homeFlag string) ([]*root.TrustedRoot, error) {
	if path != "" {
		tr, err := trustroot.Load(path)
		if err != nil {
			return nil, err
		}
		return []*root.TrustedRoot{tr}, nil
	}
	pg, err := trustroot.PublicGood()
	if err != nil {
		return nil, err
	}
	roots := []*root.TrustedRoot{pg}
	h, err := home(homeFlag)
	if err != nil {
		return roots, nil
	}
	raw, err := controlplane.TrustedRootOf(context.Background(), h, "")
	if errors.Is(err, controlplane.ErrNotInitialized) {
		return roots, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the local control plane's trusted root: %w", err)
	}
	local, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("the local control plane's trusted root: %w", err)
	}
	return append(roots, local), nil
}

func timestampKind(t string) string {
	switch t {
	case "TimestampAuthority":
		return "timestamped"
	case "Tlog":
		return "logged"
	}
	return t
}

// readPublicKey reads a PEM SubjectPublicKeyInfo.
func readPublicKey(path string) (crypto.PublicKey, error) {
	data, err := limit.ReadFile(path, limit.Key)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("key %s: no PEM block", path)
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("key %s: PEM block %q, want \"PUBLIC KEY\"", path, block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return pub, nil
}
