// Package verifier verifies Sigstore bundles offline, following the Sigstore
// client specification's verification steps, on top of sigstore-go's
// pkg/verify.
//
// Verification takes two things, as in sigstore-go: what is trusted (Trust: a
// trusted root with its transparency logs, timestamp authorities, certificate
// authorities and CT logs, and optionally long-lived public keys) and what one
// artifact must satisfy (Policy: signed by a given key, or by a certificate with
// a given identity and OIDC issuer). New refuses a Trust with nothing in it; a
// Policy with neither a key nor an identity is refused by Verify.
//
// What a bundle carries must verify, and a bundle must carry enough:
//   - at least one transparency log entry with a valid inclusion proof (and
//     checkpoint) or inclusion promise, from a log in the trusted root, unless
//     Policy.IgnoreTlogUnsafe;
//   - every kind of time evidence present (inclusion promises, RFC 3161
//     timestamps) must verify, and at least one verified observer time must
//     exist; certificates are checked for validity at those times;
//   - certificates chain to a CA in the trusted root and, when the root lists
//     CT logs, carry a valid SCT;
//   - the signature verifies over the artifact (streamed, never read whole for
//     ECDSA and RSA keys) or its digest; a DSSE statement's subject must match.
//
// Every error says which check failed; all of them wrap ErrFailed, so callers
// that only need a yes or no can test for it.
package verifier

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/digest"
)

// ErrFailed is wrapped by every verification failure.
var ErrFailed = errors.New("verification failed")

// Trust is what the verifier trusts.
type Trust struct {
	// Roots list the trusted transparency logs, timestamp authorities,
	// certificate authorities and CT logs; what any of them lists is trusted.
	// They may be empty only when Keys is set and policies ignore the
	// transparency log.
	Roots []*root.TrustedRoot
	// Keys are long-lived signing keys, trusted without validity limits.
	Keys []crypto.PublicKey
}

// Identity is the certificate identity a signature must come from: the
// certificate's subject alternative name and its OIDC issuer extension, each
// matched exactly or, where the Regexp form is set, by a regular expression.
type Identity struct {
	SubjectAlternativeName       string
	SubjectAlternativeNameRegexp string
	Issuer                       string
	IssuerRegexp                 string
}

// Policy is what one artifact's bundle must satisfy.
type Policy struct {
	// Key requires a signature by one of Trust.Keys rather than a certificate.
	Key bool
	// Identity requires a certificate with this identity.
	Identity *Identity
	// IgnoreTlogUnsafe drops the requirement of a transparency log entry. A key
	// signature with no time evidence is then checked at the current time.
	IgnoreTlogUnsafe bool
}

// Artifact is what the bundle must sign: a file, or the SHA-256 digest of one.
type Artifact struct {
	Path   string
	Digest *digest.SHA256
}

// Verifier verifies bundles against one Trust.
type Verifier struct {
	trust    Trust
	material root.TrustedMaterial
}

// New returns a verifier for trust. It refuses a Trust with neither a root nor
// keys.
func New(trust Trust) (*Verifier, error) {
	var coll root.TrustedMaterialCollection
	for _, k := range trust.Keys {
		sv, err := signature.LoadDefaultVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("verifier: trusted key: %w", err)
		}
		ek := root.NewExpiringKey(sv, time.Time{}, time.Time{})
		coll = append(coll, root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return ek, nil
		}))
	}
	for _, r := range trust.Roots {
		coll = append(coll, r)
	}
	if len(coll) == 0 {
		return nil, errors.New("verifier: nothing is trusted: give a trusted root or a key")
	}
	return &Verifier{trust: trust, material: coll}, nil
}

// needSCT reports whether leaf must carry a signed certificate timestamp:
// whether it chains to a CA of a trusted root that publishes CT logs (the
// public Sigstore instance's Fulcio does). A root without CT logs, such as a
// Hallmark control plane's, vouches for its CA's certificates through the
// transparency log entry and timestamp instead; its certificates cannot pass
// for the others', since the decision follows the chain, not the bundle.
func (v *Verifier) needSCT(leaf *x509.Certificate) bool {
	for _, r := range v.trust.Roots {
		if len(r.CTLogs()) == 0 {
			continue
		}
		for _, ca := range r.FulcioCertificateAuthorities() {
			if _, err := ca.Verify(leaf, leaf.NotBefore); err == nil {
				return true
			}
		}
	}
	return false
}

// Result is what a successful verification established.
type Result = verify.VerificationResult

// Verify checks b against the trust, the policy and the artifact.
func (v *Verifier) Verify(b *bundle.Bundle, art Artifact, p Policy) (*Result, error) {
	if p.Key == (p.Identity != nil) {
		return nil, errors.New("verifier: policy must require either a key or a certificate identity")
	}
	if p.Key && len(v.trust.Keys) == 0 {
		return nil, errors.New("verifier: policy requires a key but no key is trusted")
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, fail("verification material", err)
	}
	leaf := vc.Certificate()

	timestamps, err := b.Timestamps()
	if err != nil {
		return nil, fail("timestamps", err)
	}
	var opts []verify.VerifierOption
	if !p.IgnoreTlogUnsafe {
		if len(v.material.RekorLogs()) == 0 {
			return nil, fail("transparency log", errors.New("the trusted root lists no transparency log"))
		}
		opts = append(opts, verify.WithTransparencyLog(1))
		if b.HasInclusionPromise() {
			opts = append(opts, verify.WithIntegratedTimestamps(1))
		}
	}
	if len(timestamps) > 0 {
		opts = append(opts, verify.WithSignedTimestamps(1))
	}
	switch {
	case leaf != nil:
		if v.needSCT(leaf) {
			opts = append(opts, verify.WithSignedCertificateTimestamps(1))
		}
		opts = append(opts, verify.WithObserverTimestamps(1))
	case p.IgnoreTlogUnsafe && len(timestamps) == 0:
		opts = []verify.VerifierOption{verify.WithNoObserverTimestamps()}
	default:
		opts = append(opts, verify.WithObserverTimestamps(1))
	}
	sv, err := verify.NewVerifier(v.material, opts...)
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}

	var popts []verify.PolicyOption
	if p.Key {
		popts = append(popts, verify.WithKey())
	} else {
		id, err := verify.NewShortCertificateIdentity(p.Identity.Issuer, p.Identity.IssuerRegexp,
			p.Identity.SubjectAlternativeName, p.Identity.SubjectAlternativeNameRegexp)
		if err != nil {
			return nil, fmt.Errorf("verifier: identity: %w", err)
		}
		popts = append(popts, verify.WithCertificateIdentity(id))
	}

	artOpt, closeArt, err := v.artifactOption(b, art, leaf == nil)
	if err != nil {
		return nil, err
	}
	defer closeArt()
	res, err := sv.Verify(b, verify.NewPolicy(artOpt, popts...))
	if err != nil {
		return nil, fail(checkName(err), stepError{err})
	}
	return res, nil
}

// steps maps the messages with which sigstore-go's Verify reports each step's
// failure to the name of the check a person is told failed.
var steps = []struct{ prefix, check string }{
	{"failed to build policy", "policy"},
	{"failed to verify log inclusion", "transparency log inclusion"},
	{"failed to verify timestamps", "timestamps"},
	{"failed to fetch verification content", "verification material"},
	{"expected key signature", "signer: want a key, bundle has a certificate"},
	{"must provide timestamp", "timestamps"},
	{"failed to summarize certificate", "certificate"},
	{"failed to verify leaf certificate", "certificate chain"},
	{"failed to verify signed certificate timestamp", "certificate transparency (SCT)"},
	{"signature time outside of public key validity", "key validity"},
	{"SCTs required", "certificate transparency (SCT)"},
	{"failed to get signature verifier", "signing key"},
	{"failed to verify signature", "signature"},
	{"failed to fetch envelope statement", "in-toto statement"},
	{"can't verify certificate identities", "certificate identity"},
	{"failed to verify certificate identity", "certificate identity"},
}

func checkName(err error) string {
	msg := err.Error()
	for _, s := range steps {
		if strings.HasPrefix(msg, s.prefix) {
			return s.check
		}
	}
	return "bundle"
}

// stepError drops sigstore-go's "failed to verify X: " lead, which repeats
// the check's name.
type stepError struct{ err error }

func (e stepError) Error() string {
	msg := e.err.Error()
	if strings.HasPrefix(msg, "failed to ") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}

func (e stepError) Unwrap() error { return e.err }

// artifactOption picks how sigstore-go sees the artifact. A message signature
// by an ECDSA or RSA key is checked against a digest we stream ourselves, so
// that big files are never read into memory; Ed25519 message signatures sign
// the whole message, and DSSE statements are matched by sigstore-go's own
// streaming hasher, so those get the file.
func (v *Verifier) artifactOption(b *bundle.Bundle, art Artifact, keySigned bool) (verify.ArtifactPolicyOption, func(), error) {
	nop := func() {}
	if art.Digest != nil {
		return verify.WithArtifactDigest(digest.Algorithm, art.Digest[:]), nop, nil
	}
	if art.Path == "" {
		return nil, nop, errors.New("verifier: no artifact or digest given")
	}
	if ms := b.GetMessageSignature(); ms != nil && ms.GetMessageDigest().GetAlgorithm() == protocommon.HashAlgorithm_SHA2_256 && !v.ed25519Signer(b, keySigned) {
		d, _, err := digest.File(art.Path)
		if err != nil {
			return nil, nop, fmt.Errorf("verifier: artifact: %w", err)
		}
		return verify.WithArtifactDigest(digest.Algorithm, d[:]), nop, nil
	}
	f, err := os.Open(art.Path)
	if err != nil {
		return nil, nop, fmt.Errorf("verifier: artifact: %w", err)
	}
	return verify.WithArtifact(f), func() { f.Close() }, nil
}

// ed25519Signer reports whether b may have been signed by an Ed25519 key.
func (v *Verifier) ed25519Signer(b *bundle.Bundle, keySigned bool) bool {
	if !keySigned {
		vc, err := b.VerificationContent()
		if err != nil || vc.Certificate() == nil {
			return false
		}
		_, ok := vc.Certificate().PublicKey.(ed25519.PublicKey)
		return ok
	}
	for _, k := range v.trust.Keys {
		if _, ok := k.(ed25519.PublicKey); ok {
			return true
		}
	}
	return false
}

// fail wraps err as the failure of the named check.
func fail(check string, err error) error {
	return &CheckError{Check: check, Err: err}
}

// CheckError is a verification failure: which check failed, and why.
type CheckError struct {
	Check string
	Err   error
}

func (e *CheckError) Error() string { return fmt.Sprintf("%s: %v", e.Check, e.Err) }

// Unwrap returns both the cause and ErrFailed.
func (e *CheckError) Unwrap() []error { return []error{ErrFailed, e.Err} }
