package authenticode

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// MaxSignatureSize is the largest certificate table Verify and Inspect read.
const MaxSignatureSize = 8 << 20

// ErrInvalid is wrapped by every error of Verify that says the signature is
// wrong (as opposed to a file that cannot be read or parsed).
var ErrInvalid = errors.New("authenticode: invalid signature")

// Signature describes an embedded Authenticode signature.
type Signature struct {
	Hash         crypto.Hash         // the image digest's algorithm
	Digest       []byte              // the image digest the signature covers
	FileDigest   []byte              // the image digest of the file, with Hash
	Signer       *x509.Certificate   // the signer's certificate
	Certificates []*x509.Certificate // all certificates in the signature
	Chain        []*x509.Certificate // set by Verify: signer to root
	Timestamp    *Timestamp          // nil if there is none (or Verify was not given TSA roots)
}

// Timestamp is an RFC 3161 counter-signature of an Authenticode signature.
type Timestamp struct {
	Time   time.Time
	Serial *big.Int
	Policy asn1.ObjectIdentifier
	TSA    *x509.Certificate   // the certificate that signed the token
	Chain  []*x509.Certificate // set by Verify: TSA to root
}

// parsed is a decoded Authenticode SignedData.
type parsed struct {
	content    []byte // SpcIndirectDataContent's value bytes, what messageDigest covers
	hash       crypto.Hash
	digest     []byte
	si         signerInfo
	signedAttr []attribute
	certs      []*x509.Certificate
	signer     *x509.Certificate
	token      []byte // RFC 3161 TimeStampToken, if any
}

// token is a parsed RFC 3161 TimeStampToken whose CMS signature checks.
type token struct {
	p7 *pkcs7.PKCS7
	ts *timestamp.Timestamp
}

// parseToken parses an RFC 3161 TimeStampToken and checks its CMS
// signature; a bad signature wraps ErrInvalid.
func parseToken(der []byte) (*token, error) {
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("authenticode: signature: timestamp: %w", err)
	}
	ts, err := timestamp.Parse(der) // checks the token's CMS signature
	if err != nil {
		return nil, fmt.Errorf("%w: timestamp: %v", ErrInvalid, err)
	}
	return &token{p7: p7, ts: ts}, nil
}

var hashes = map[string]crypto.Hash{oidSHA1.String(): crypto.SHA1, oidSHA256.String(): crypto.SHA256,
	oidSHA384.String(): crypto.SHA384, oidSHA512.String(): crypto.SHA512}

// Inspect parses the PE file and its signature and computes the file's
// digest. It checks nothing a signature promises (see Verify for that),
// except the signature of an RFC 3161 timestamp, which its parser checks: a
// bad one fails with ErrInvalid.
func Inspect(r io.ReaderAt, size int64) (*Signature, error) {
	sig, _, _, err := inspect(r, size)
	return sig, err
}

func inspect(r io.ReaderAt, size int64) (*Signature, *parsed, *token, error) {
	m, err := Parse(r, size)
	if err != nil {
		return nil, nil, nil, err
	}
	if !m.Signed() {
		return nil, nil, nil, errors.New("authenticode: file is not signed (no certificate table)")
	}
	if m.CertSize > MaxSignatureSize {
		return nil, nil, nil, fmt.Errorf("authenticode: certificate table is %d bytes, more than %d", m.CertSize, MaxSignatureSize)
	}
	table := make([]byte, m.CertSize)
	if err := readAt(r, table, m.CertOffset, size, "certificate table"); err != nil {
		return nil, nil, nil, err
	}
	der, err := readCertificateTable(table)
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := parseSignature(der)
	if err != nil {
		return nil, nil, nil, err
	}
	fd, _, err := m.stream(r, p.hash.New(), nil)
	if err != nil {
		return nil, nil, nil, err
	}
	sig := &Signature{Hash: p.hash, Digest: p.digest, FileDigest: fd, Signer: p.signer, Certificates: p.certs}
	var tok *token
	if p.token != nil {
		if tok, err = parseToken(p.token); err != nil {
			return nil, nil, nil, err
		}
		sig.Timestamp = &Timestamp{Time: tok.ts.Time, Serial: tok.ts.SerialNumber, Policy: tok.ts.Policy, TSA: tok.p7.GetOnlySigner()}
	}
	return sig, p, tok, nil
}

// readCertificateTable returns the PKCS#7 signature of the one
// WIN_CERTIFICATE in table (PE/COFF §4.7).
func readCertificateTable(t []byte) ([]byte, error) {
	n := int(binary.LittleEndian.Uint32(t))
	rev, typ := binary.LittleEndian.Uint16(t[4:]), binary.LittleEndian.Uint16(t[6:])
	if n < 8 || n > len(t) {
		return nil, fmt.Errorf("authenticode: certificate table: dwLength %d does not fit the table of %d bytes", n, len(t))
	}
	if rev != 0x0200 || typ != 2 {
		return nil, fmt.Errorf("authenticode: certificate table: revision 0x%x, type %d, want 0x0200, 2 (PKCS_SIGNED_DATA)", rev, typ)
	}
	if !allZero(t[min((n+7)&^7, len(t)):]) {
		return nil, errors.New("authenticode: certificate table: holds more than one certificate entry")
	}
	return t[8:n], nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// parseSignature decodes the Authenticode SignedData in der, which may be
// followed by zero padding.
func parseSignature(der []byte) (*parsed, error) {
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("authenticode: signature: not a DER ContentInfo: %w", err)
	}
	if !allZero(rest) {
		return nil, errors.New("authenticode: signature: trailing data after the ContentInfo")
	}
	inner, err := unwrap0(ci, oidSignedData, "ContentInfo")
	if err != nil {
		return nil, err
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(inner, &sd); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("authenticode: signature: SignedData does not parse: %v", err)
	}
	idcDER, err := unwrap0(sd.ContentInfo, oidSpcIndirectData, "SignedData.contentInfo")
	if err != nil {
		return nil, err
	}
	p := &parsed{}
	var idcRaw asn1.RawValue
	var idc spcIndirectDataContent
	if rest, err := asn1.Unmarshal(idcDER, &idcRaw); err != nil || len(rest) > 0 {
		return nil, errors.New("authenticode: signature: SpcIndirectDataContent is not one DER value")
	}
	if rest, err := asn1.Unmarshal(idcDER, &idc); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("authenticode: signature: SpcIndirectDataContent does not parse: %v", err)
	}
	p.content = idcRaw.Bytes
	if !idc.Data.Type.Equal(oidSpcPEImageData) {
		return nil, fmt.Errorf("authenticode: signature: SpcIndirectDataContent data type %v is not SpcPeImageData", idc.Data.Type)
	}
	var ok bool
	if p.hash, ok = hashes[idc.MessageDigest.Algorithm.Algorithm.String()]; !ok {
		return nil, fmt.Errorf("authenticode: signature: image digest algorithm %v is not SHA-1 or SHA-2", idc.MessageDigest.Algorithm.Algorithm)
	}
	if p.digest = idc.MessageDigest.Digest; len(p.digest) != p.hash.Size() {
		return nil, fmt.Errorf("authenticode: signature: image digest is %d bytes, want %d for %v", len(p.digest), p.hash.Size(), p.hash)
	}
	if sd.Certificates.Tag == 0 && sd.Certificates.Class == asn1.ClassContextSpecific {
		for b := sd.Certificates.Bytes; len(b) > 0; {
			var c asn1.RawValue
			if b, err = asn1.Unmarshal(b, &c); err != nil {
				return nil, fmt.Errorf("authenticode: signature: certificates: %w", err)
			}
			cert, err := x509.ParseCertificate(c.FullBytes)
			if err != nil {
				return nil, fmt.Errorf("authenticode: signature: certificates[%d]: %w", len(p.certs), err)
			}
			p.certs = append(p.certs, cert)
		}
	}
	var rv asn1.RawValue
	if rest, err := asn1.Unmarshal(sd.SignerInfos.Bytes, &rv); err != nil || len(rest) > 0 {
		return nil, errors.New("authenticode: signature: signerInfos does not hold exactly one SignerInfo")
	}
	if rest, err := asn1.Unmarshal(rv.FullBytes, &p.si); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("authenticode: signature: SignerInfo does not parse: %v", err)
	}
	for _, c := range p.certs {
		if bytes.Equal(c.RawIssuer, p.si.IssuerAndSerial.Issuer.FullBytes) && c.SerialNumber.Cmp(p.si.IssuerAndSerial.Serial) == 0 {
			p.signer = c
			break
		}
	}
	if p.signer == nil {
		return nil, errors.New("authenticode: signature: the signer's certificate is not in certificates")
	}
	if p.signedAttr, err = attributes(p.si.SignedAttrs.Bytes); err != nil || len(p.signedAttr) == 0 {
		return nil, fmt.Errorf("authenticode: signature: no authenticated attributes (%v)", err)
	}
	unsigned, err := attributes(p.si.UnsignedAttrs.Bytes)
	if err != nil {
		return nil, fmt.Errorf("authenticode: signature: unauthenticated attributes: %w", err)
	}
	for _, a := range unsigned {
		if a.Type.Equal(oidSpcRFC3161) {
			var tok asn1.RawValue
			if rest, err := asn1.Unmarshal(a.Values.Bytes, &tok); err != nil || len(rest) > 0 {
				return nil, errors.New("authenticode: signature: the RFC 3161 attribute does not hold one value")
			}
			p.token = tok.FullBytes
		}
	}
	return p, nil
}

func unwrap0(ci contentInfo, want asn1.ObjectIdentifier, where string) ([]byte, error) {
	if !ci.ContentType.Equal(want) {
		return nil, fmt.Errorf("authenticode: signature: %s content type %v, want %v", where, ci.ContentType, want)
	}
	c := ci.Content
	if c.Class != asn1.ClassContextSpecific || c.Tag != 0 || !c.IsCompound || len(c.Bytes) == 0 {
		return nil, fmt.Errorf("authenticode: signature: %s has no [0] content", where)
	}
	return c.Bytes, nil
}

// attributes decodes the contents of a SET OF Attribute.
func attributes(b []byte) ([]attribute, error) {
	var as []attribute
	for len(b) > 0 {
		var a attribute
		var err error
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return nil, err
		}
		if a.Values.Tag != asn1.TagSet || a.Values.Class != asn1.ClassUniversal {
			return nil, fmt.Errorf("attribute %v: values are not a SET", a.Type)
		}
		as = append(as, a)
	}
	return as, nil
}

// single returns the one value of the one attribute of type oid.
func single(as []attribute, oid asn1.ObjectIdentifier) ([]byte, error) {
	var v []byte
	for _, a := range as {
		if a.Type.Equal(oid) {
			var rv asn1.RawValue
			rest, err := asn1.Unmarshal(a.Values.Bytes, &rv)
			if v != nil || err != nil || len(rest) > 0 {
				return nil, fmt.Errorf("%w: attribute %v is not a single value", ErrInvalid, oid)
			}
			v = rv.FullBytes
		}
	}
	if v == nil {
		return nil, fmt.Errorf("%w: no attribute %v", ErrInvalid, oid)
	}
	return v, nil
}

// checkSigner checks the signed attributes and the signer's signature.
func (p *parsed) checkSigner() error {
	ct, err := single(p.signedAttr, oidAttrContentType)
	if err != nil {
		return err
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(ct, &oid); err != nil || !oid.Equal(oidSpcIndirectData) {
		return fmt.Errorf("%w: contentType attribute is not SPC_INDIRECT_DATA", ErrInvalid)
	}
	h, ok := hashes[p.si.DigestAlgorithm.Algorithm.String()]
	if !ok {
		return fmt.Errorf("%w: SignerInfo digest algorithm %v is not SHA-1 or SHA-2", ErrInvalid, p.si.DigestAlgorithm.Algorithm)
	}
	mdDER, err := single(p.signedAttr, oidAttrMessageDigest)
	if err != nil {
		return err
	}
	var md []byte
	if _, err := asn1.Unmarshal(mdDER, &md); err != nil {
		return fmt.Errorf("%w: messageDigest attribute is not an OCTET STRING", ErrInvalid)
	}
	hh := h.New()
	hh.Write(p.content)
	if subtle.ConstantTimeCompare(md, hh.Sum(nil)) != 1 {
		return fmt.Errorf("%w: messageDigest attribute does not match SpcIndirectDataContent", ErrInvalid)
	}
	signed := bytes.Clone(p.si.SignedAttrs.FullBytes)
	signed[0] = 0x31 // signed as a SET OF, not [0] IMPLICIT
	alg := signatureAlgorithm(p.si.SignatureAlg.Algorithm, h)
	if alg == x509.UnknownSignatureAlgorithm {
		return fmt.Errorf("%w: signature algorithm %v with %v is not supported", ErrInvalid, p.si.SignatureAlg.Algorithm, h)
	}
	if err := p.signer.CheckSignature(alg, signed, p.si.Signature); err != nil {
		return fmt.Errorf("%w: the signer's signature does not verify: %v", ErrInvalid, err)
	}
	return nil
}

// Verify checks the Authenticode signature of the PE file r of size bytes:
// the file's digest is the signed one, the signer's signature over it, and
// the signer's certificate chains to roots with the code-signing extended
// key usage. If tsaRoots is not nil and the signature has an RFC 3161
// timestamp, the timestamp must cover the signature and chain to tsaRoots
// (extended key usage timeStamping), and the chain is checked at the
// timestamp's time; otherwise at now. Failures of these checks wrap
// ErrInvalid.
func Verify(r io.ReaderAt, size int64, roots, tsaRoots *x509.CertPool, now time.Time) (*Signature, error) {
	if roots == nil {
		return nil, errors.New("authenticode: verify: no roots")
	}
	sig, p, tok, err := inspect(r, size)
	if err != nil {
		return nil, err
	}
	if sig.Hash != crypto.SHA256 {
		return nil, fmt.Errorf("%w: image digest algorithm is %v, not SHA-256", ErrInvalid, sig.Hash)
	}
	if subtle.ConstantTimeCompare(sig.Digest, sig.FileDigest) != 1 {
		return nil, fmt.Errorf("%w: the file's digest %x is not the signed digest %x", ErrInvalid, sig.FileDigest, sig.Digest)
	}
	if err := p.checkSigner(); err != nil {
		return nil, err
	}
	at := now
	sig.Timestamp = nil
	if tsaRoots != nil && tok != nil {
		if sig.Timestamp, err = verifyToken(tok, p.si.Signature, tsaRoots); err != nil {
			return nil, err
		}
		at = sig.Timestamp.Time
	}
	inter := x509.NewCertPool()
	for _, c := range p.certs {
		inter.AddCert(c)
	}
	chains, err := p.signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
	if err != nil {
		return nil, fmt.Errorf("%w: signer %q: %v", ErrInvalid, p.signer.Subject.String(), err)
	}
	sig.Chain = chains[0]
	return sig, nil
}

// verifyToken checks a token, parsed by parseToken, over signature against
// tsaRoots.
func verifyToken(tok *token, signature []byte, tsaRoots *x509.CertPool) (*Timestamp, error) {
	p7, ts := tok.p7, tok.ts
	tsaCert := p7.GetOnlySigner()
	if tsaCert == nil {
		return nil, fmt.Errorf("%w: timestamp: not one signer with its certificate in the token", ErrInvalid)
	}
	if !ts.HashAlgorithm.Available() {
		return nil, fmt.Errorf("%w: timestamp: hash algorithm %v", ErrInvalid, ts.HashAlgorithm)
	}
	h := ts.HashAlgorithm.New()
	h.Write(signature)
	if !bytes.Equal(h.Sum(nil), ts.HashedMessage) {
		return nil, fmt.Errorf("%w: timestamp: messageImprint is not the digest of the signature", ErrInvalid)
	}
	inter := x509.NewCertPool()
	for _, c := range p7.Certificates {
		inter.AddCert(c)
	}
	chains, err := tsaCert.Verify(x509.VerifyOptions{Roots: tsaRoots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}})
	if err != nil {
		return nil, fmt.Errorf("%w: timestamp: TSA %q: %v", ErrInvalid, tsaCert.Subject.String(), err)
	}
	return &Timestamp{Time: ts.Time, Serial: ts.SerialNumber, Policy: ts.Policy, TSA: tsaCert, Chain: chains[0]}, nil
}
