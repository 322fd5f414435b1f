// Package ca is the control plane's certificate authority: it issues
// short-lived code-signing certificates in the shape of Sigstore's Fulcio, so
// that Sigstore verifiers (sigstore-go, cosign) can pin who signed an artifact
// by the certificate's identity and issuer, exactly as they pin a Fulcio one.
//
// The root key stays in the control plane's key custody: the package only ever
// sees it as a crypto.Signer, which may be an HSM. Issued certificates name a
// project and the builder that signed for it; a Cache keeps one certificate per
// signing key and identity so that signing at a high rate does not cost a
// certificate per signature.
//
// # Certificates
//
// NewRoot makes the root: subject CN=<commonName>, O=Hallmark, self-signed,
// basicConstraints CA:TRUE with pathLen 0, keyUsage keyCertSign and cRLSign,
// a subjectKeyIdentifier, a random positive 159-bit serial number. The root key
// is ECDSA P-256, signing with ECDSA-SHA256 (P-384 with ECDSA-SHA384 is also
// accepted).
//
// Issue makes an end-entity certificate, following the Fulcio certificate
// specification ("Issued Certificate"):
//   - an empty subject and exactly one subjectAltName, a URI (below), which
//     is therefore critical (RFC 5280 §4.2.1.6);
//   - keyUsage digitalSignature, extKeyUsage id-kp-codeSigning, and
//     basicConstraints CA:FALSE;
//   - a random positive serial number of up to 159 bits, so that it fits
//     the 20 octets of DER that RFC 5280 allows;
//   - subjectKeyIdentifier from the key (RFC 7093 §2 method 1: the leftmost
//     160 bits of the SHA-256 of subjectPublicKey), and authorityKeyIdentifier
//     equal to the root's subjectKeyIdentifier;
//   - the issuer URL in the Fulcio issuer extensions: 1.3.6.1.4.1.57264.1.1
//     (deprecated, the raw string as the extension value) and
//     1.3.6.1.4.1.57264.1.8 (a DER UTF8String), per Sigstore's OID directory;
//   - validity from one minute before the issuing time (Backdate, for clock
//     skew) to the issuing time plus the lifetime: DefaultLifetime when none is
//     given, at most MaxLifetime, and never outside the root's own validity,
//     to which both ends are clamped.
//
// The key certified must be ECDSA P-256, P-384 or P-521, RSA of 2048 to 4096
// bits (a multiple of 8) with exponent 65537, or Ed25519, the keys the
// specification allows. Issued certificates carry no SCT: Hallmark's
// certificates are not logged to a Certificate Transparency log, so verifiers
// must not require one, and need a signed time (an RFC 3161 timestamp or a
// transparency log entry) to check a certificate that lives minutes.
//
// # Identity
//
// The subjectAltName URI is
//
//	<issuer>/projects/<url.PathEscape(project)>/builders/<url.PathEscape(builder)>
//
// for example https://log.hallmark.localhost/projects/web/builders/linux-amd64.
// It is what `cosign verify-blob --certificate-identity` and sigstore-go's
// certificate identity match exactly, with the issuer as
// --certificate-oidc-issuer. Project and builder names are 1 to MaxNameLen
// bytes of UTF-8 made of printable characters (letters, marks, numbers,
// punctuation, symbols and the ASCII space, so no control, format or
// bidirectional characters), without a space at either end, and neither "."
// nor "..". Escaping makes every name one path segment, so that no two
// identities share a URI.
//
// # Errors
//
// Errors begin with "ca: ", name the call and the value at fault, and are not
// sentinels: every one is a refusal to issue, which callers do not branch on.
package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Lifetimes of issued certificates.
const (
	DefaultLifetime = 10 * time.Minute // when Issue is given 0, as Fulcio
	MaxLifetime     = 24 * time.Hour
	Backdate        = time.Minute // NotBefore is this long before the issuing time
)

// MaxNameLen is the longest project or builder name, in bytes.
const MaxNameLen = 255

// Organization is the subject organization of the roots NewRoot makes.
const Organization = "Hallmark"

var (
	oidIssuer   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1} // deprecated; raw string
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8} // DER UTF8String
)

// NewRoot makes a self-signed CA certificate for signer's key, valid from
// notBefore to notAfter, as the package comment describes.
func NewRoot(signer crypto.Signer, commonName string, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if signer == nil {
		return nil, errors.New("ca: NewRoot: signer is nil")
	}
	if commonName == "" || !printable(commonName) {
		return nil, fmt.Errorf("ca: NewRoot: common name %q: want printable characters, at least one", commonName)
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("ca: NewRoot: notAfter %v is not after notBefore %v", notAfter, notBefore)
	}
	pub := signer.Public()
	alg, err := signatureAlgorithm(pub)
	if err != nil {
		return nil, fmt.Errorf("ca: NewRoot: %w", err)
	}
	skid, err := keyID(pub)
	if err != nil {
		return nil, fmt.Errorf("ca: NewRoot: %w", err)
	}
	tmpl := &x509.Certificate{
		// SerialNumber nil: crypto/x509 draws a random positive one of 159 bits.
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{Organization}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          skid,
		SignatureAlgorithm:    alg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("ca: NewRoot: %w", err)
	}
	return x509.ParseCertificate(der)
}

// CA issues certificates under one root. It is safe for concurrent use if its
// signer is.
type CA struct {
	root   *x509.Certificate
	signer crypto.Signer
	alg    x509.SignatureAlgorithm
	issuer string
	// issuerExts are the Fulcio issuer extensions of every certificate,
	// encoded once.
	issuerExts []pkix.Extension
}

// New returns a CA that issues certificates under root with signer, recording
// issuer in each. It refuses a root that is not a CA certificate allowed to
// sign certificates or that has no subjectKeyIdentifier, a signer whose public
// key is not root's, and an issuer that is not an http or https URL in
// canonical form without user, query, fragment or trailing slash.
func New(root *x509.Certificate, signer crypto.Signer, issuer string) (*CA, error) {
	if root == nil || signer == nil {
		return nil, errors.New("ca: New: root and signer must not be nil")
	}
	if !root.BasicConstraintsValid || !root.IsCA || root.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("ca: New: root %q is not a CA certificate with keyCertSign", root.Subject)
	}
	if len(root.SubjectKeyId) == 0 {
		return nil, fmt.Errorf("ca: New: root %q has no subjectKeyIdentifier", root.Subject)
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(root.PublicKey) {
		return nil, fmt.Errorf("ca: New: signer's public key is not root %q's", root.Subject)
	}
	alg, err := signatureAlgorithm(root.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("ca: New: root %q: %w", root.Subject, err)
	}
	if err := checkIssuer(issuer); err != nil {
		return nil, fmt.Errorf("ca: New: %w", err)
	}
	v2, err := asn1.MarshalWithParams(issuer, "utf8")
	if err != nil {
		return nil, fmt.Errorf("ca: New: issuer extension: %w", err)
	}
	exts := []pkix.Extension{
		{Id: oidIssuer, Value: []byte(issuer)},
		{Id: oidIssuerV2, Value: v2},
	}
	return &CA{root: root, signer: signer, alg: alg, issuer: issuer, issuerExts: exts}, nil
}

func checkIssuer(issuer string) error {
	if !asciiPrintable(issuer) {
		return fmt.Errorf("issuer %q: not printable ASCII", issuer)
	}
	u, err := url.Parse(issuer)
	switch {
	case err != nil:
		return fmt.Errorf("issuer %q: %w", issuer, err)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("issuer %q: scheme is not https or http", issuer)
	case u.Host == "":
		return fmt.Errorf("issuer %q: no host", issuer)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#"):
		return fmt.Errorf("issuer %q: has a user, query or fragment", issuer)
	case strings.HasSuffix(issuer, "/"):
		return fmt.Errorf("issuer %q: ends in a slash", issuer)
	case u.String() != issuer:
		return fmt.Errorf("issuer %q: not in canonical form %q", issuer, u.String())
	}
	return nil
}

// Root returns the CA certificate.
func (c *CA) Root() *x509.Certificate { return c.root }

// Issuer returns the issuer URL recorded in every certificate.
func (c *CA) Issuer() string { return c.issuer }

// Identity is who a certificate names: the project signed for and the builder
// that signed.
type Identity struct {
	Project, Builder string
}

func (id Identity) check() error {
	if err := checkName(id.Project); err != nil {
		return fmt.Errorf("project %q: %w", id.Project, err)
	}
	if err := checkName(id.Builder); err != nil {
		return fmt.Errorf("builder %q: %w", id.Builder, err)
	}
	return nil
}

func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > MaxNameLen:
		return fmt.Errorf("%d bytes, over %d", len(s), MaxNameLen)
	case !utf8.ValidString(s):
		return errors.New("not UTF-8")
	case !printable(s):
		return errors.New("has a control, format or other non-printable character")
	case s[0] == ' ' || s[len(s)-1] == ' ':
		return errors.New("begins or ends with a space")
	case s == "." || s == "..":
		return errors.New("is a dot segment")
	}
	return nil
}

// printable reports whether s is valid UTF-8 made only of what
// unicode.IsPrint accepts: letters, marks, numbers, punctuation, symbols and
// the ASCII space.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func asciiPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// URI returns the subjectAltName URI of certificates naming id, in the format
// the package comment gives. It does not check id; Issue does.
func (c *CA) URI(id Identity) string {
	return c.issuer + "/projects/" + url.PathEscape(id.Project) + "/builders/" + url.PathEscape(id.Builder)
}

// Issue issues a certificate for pub naming id, valid from now-Backdate to
// now+lifetime (DefaultLifetime if lifetime is 0), as the package comment
// describes. It refuses bad names, keys the Fulcio specification does not
// allow, a lifetime below 0 or above MaxLifetime, and a time outside the
// root's validity.
func (c *CA) Issue(pub crypto.PublicKey, id Identity, now time.Time, lifetime time.Duration) (*x509.Certificate, error) {
	if err := id.check(); err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	if err := checkLeafKey(pub); err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	switch {
	case lifetime == 0:
		lifetime = DefaultLifetime
	case lifetime < 0 || lifetime > MaxLifetime:
		return nil, fmt.Errorf("ca: issue: lifetime %v is not between 0 and %v", lifetime, MaxLifetime)
	}
	if now.IsZero() {
		return nil, errors.New("ca: issue: the issuing time is zero")
	}
	if now.Before(c.root.NotBefore) || !now.Before(c.root.NotAfter) {
		return nil, fmt.Errorf("ca: issue: time %v is outside the root's validity, %v to %v",
			now.UTC().Format(time.RFC3339), c.root.NotBefore.UTC().Format(time.RFC3339), c.root.NotAfter.UTC().Format(time.RFC3339))
	}
	notBefore, notAfter := now.Add(-Backdate), now.Add(lifetime)
	if notBefore.Before(c.root.NotBefore) {
		notBefore = c.root.NotBefore
	}
	if notAfter.After(c.root.NotAfter) {
		notAfter = c.root.NotAfter
	}

	uri := c.URI(id)
	u, err := url.Parse(uri)
	if err != nil || u.String() != uri {
		// Verifiers read the SAN back through url.Parse: it must come back as is.
		return nil, fmt.Errorf("ca: issue: subjectAltName %q does not survive URL parsing", uri)
	}
	skid, err := keyID(pub)
	if err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	tmpl := &x509.Certificate{
		// SerialNumber nil: crypto/x509 draws a random positive one of 159 bits.
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{u}, // critical, as the subject is empty
		SubjectKeyId:          skid,
		AuthorityKeyId:        c.root.SubjectKeyId,
		SignatureAlgorithm:    c.alg,
		ExtraExtensions:       c.issuerExts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.root, pub, c.signer)
	if err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	return x509.ParseCertificate(der)
}

// checkLeafKey checks pub against the keys the Fulcio specification allows in
// issued certificates.
func checkLeafKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("key: ECDSA curve %s is not P-256, P-384 or P-521", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 4096 || n%8 != 0 {
			return fmt.Errorf("key: RSA modulus of %d bits is not 2048 to 4096 bits in steps of 8", n)
		}
		if k.E != 65537 {
			return fmt.Errorf("key: RSA exponent %d is not 65537", k.E)
		}
		return nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("key: Ed25519 key of %d bytes", len(k))
		}
		return nil
	case nil:
		return errors.New("key: nil")
	}
	return fmt.Errorf("key: type %T is not ECDSA, RSA or Ed25519", pub)
}

// signatureAlgorithm is the algorithm with which a CA key signs.
func signatureAlgorithm(pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		switch k.Curve {
		case elliptic.P256():
			return x509.ECDSAWithSHA256, nil
		case elliptic.P384():
			return x509.ECDSAWithSHA384, nil
		}
	}
	return 0, fmt.Errorf("CA key %T is not ECDSA P-256 or P-384", pub)
}

// keyID is the key identifier of RFC 7093 §2 method 1: the leftmost 160 bits
// of the SHA-256 hash of the subjectPublicKey bit string.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return bytes.Clone(sum[:20]), nil
}

// TrustedRootCA returns the entry for root to put in a trusted_root.json's
// certificateAuthorities (protobuf-specs dev.sigstore.trustroot.v1
// CertificateAuthority): root's subject organization and common name, uri
// issuer, certChain holding root alone, and validFor from validFrom to
// validTo, each defaulting to root's own validity when zero.
func TrustedRootCA(root *x509.Certificate, issuer string, validFrom, validTo time.Time) *prototrustroot.CertificateAuthority {
	if validFrom.IsZero() {
		validFrom = root.NotBefore
	}
	if validTo.IsZero() {
		validTo = root.NotAfter
	}
	var org string
	if len(root.Subject.Organization) > 0 {
		org = root.Subject.Organization[0]
	}
	return &prototrustroot.CertificateAuthority{
		Subject:   &protocommon.DistinguishedName{Organization: org, CommonName: root.Subject.CommonName},
		Uri:       issuer,
		CertChain: &protocommon.X509CertificateChain{Certificates: []*protocommon.X509Certificate{{RawBytes: root.Raw}}},
		ValidFor:  &protocommon.TimeRange{Start: timestamppb.New(validFrom), End: timestamppb.New(validTo)},
	}
}
