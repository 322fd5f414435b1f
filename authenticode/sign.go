package authenticode

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
)

var (
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidSHA1              = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidRSA               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSpcIndirectData   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcPEImageData    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 15}
	oidSpcStatementType  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 11}
	oidSpcIndividual     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 21}
	oidSpcSpOpusInfo     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 12}
	oidSpcRFC3161        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 3, 3, 1}

	// spcPEImageData is SpcPeImageData with empty flags and the file link
	// every signer writes: [0] { [2] { [0] BMPString "<<<Obsolete>>>" } }.
	spcPEImageData = mustMarshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true,
		Bytes: append([]byte{0x03, 0x01, 0x00}, explicit(0, explicit(2, spcString("<<<Obsolete>>>")))...)})
)

// Timestamper returns a DER RFC 3161 TimeStampToken (a ContentInfo holding
// SignedData over a TSTInfo) whose messageImprint is the SHA-256 of
// signature, the SignerInfo's encryptedDigest octets. TokenFromResponse
// turns a TimeStampResp into one.
type Timestamper func(ctx context.Context, signature []byte) (token []byte, err error)

// Signer makes Authenticode signatures over digests (the signing side, which
// never sees the file). Key must be the public key of Chain[0].
type Signer struct {
	Key         crypto.Signer       // ECDSA P-256 or RSA
	Chain       []*x509.Certificate // code-signing leaf first; put in the signature's certificates
	Timestamp   Timestamper         // nil: no timestamp
	ProgramName string              // SpcSpOpusInfo programName; optional
	MoreInfoURL string              // SpcSpOpusInfo moreInfo; optional
}

type algorithm struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

var (
	algSHA256 = algorithm{oidSHA256, asn1.NullRawValue}
	algRSA    = algorithm{oidRSA, asn1.NullRawValue}
	algECDSA  = algorithm{Algorithm: oidECDSAWithSHA256}
)

type digestInfo struct {
	Algorithm algorithm
	Digest    []byte
}

type spcIndirectDataContent struct {
	Data struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue `asn1:"optional"`
	}
	MessageDigest digestInfo
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue // SET OF
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version         int
	IssuerAndSerial issuerAndSerial
	DigestAlgorithm algorithm
	SignedAttrs     asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlg    algorithm
	Signature       []byte
	UnsignedAttrs   asn1.RawValue `asn1:"optional,tag:1"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"optional"` // [0] EXPLICIT, which the tag option would not write for FullBytes
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue // SET OF
	ContentInfo      contentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      asn1.RawValue // SET OF
}

// set encodes the DER encodings elems as a DER SET OF, sorted.
func set(class, tag int, elems ...[]byte) asn1.RawValue {
	elems = slices.Clone(elems)
	slices.SortFunc(elems, bytes.Compare)
	return asn1.RawValue{Class: class, Tag: tag, IsCompound: true, Bytes: bytes.Join(elems, nil)}
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic("authenticode: marshaling fixed shapes: " + err.Error())
	}
	return b
}

func attr(oid asn1.ObjectIdentifier, value []byte) []byte {
	return mustMarshal(attribute{oid, set(asn1.ClassUniversal, asn1.TagSet, value)})
}

// spcString encodes SpcString's unicode choice: [0] IMPLICIT BMPString.
func spcString(s string) []byte {
	var b []byte
	for _, r := range s {
		if r > 0xffff {
			r = 0xfffd
		}
		b = append(b, byte(r>>8), byte(r))
	}
	return mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: b})
}

func explicit(tag int, inner []byte) []byte {
	return mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: inner})
}

// Sign returns a DER ContentInfo holding the Authenticode SignedData over the
// SHA-256 image digest: SpcIndirectDataContent, the signed attributes
// contentType, messageDigest, SpcStatementType (individual) and
// SpcSpOpusInfo, the chain in certificates and, if s.Timestamp is set, an
// RFC 3161 token over the signature as the unsigned attribute
// 1.3.6.1.4.1.311.3.3.1.
func (s *Signer) Sign(ctx context.Context, digest []byte) ([]byte, error) {
	if len(digest) != 32 {
		return nil, fmt.Errorf("authenticode: sign: digest is %d bytes, want 32 (SHA-256)", len(digest))
	}
	if s.Key == nil || len(s.Chain) == 0 || s.Chain[0] == nil {
		return nil, errors.New("authenticode: sign: need a key and a chain, leaf first")
	}
	for i, c := range s.Chain {
		if c == nil || len(c.Raw) == 0 || c.SerialNumber == nil {
			return nil, fmt.Errorf("authenticode: sign: Chain[%d] is not a parsed certificate", i)
		}
	}
	leaf := s.Chain[0]
	if pub, ok := s.Key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(leaf.PublicKey) {
		return nil, errors.New("authenticode: sign: the key is not the one in Chain[0]")
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) {
		return nil, errors.New("authenticode: sign: Chain[0] has no code-signing extended key usage")
	}
	var sigAlg algorithm
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		sigAlg = algRSA
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize != 256 {
			return nil, fmt.Errorf("authenticode: sign: ECDSA key on %s, want P-256", k.Curve.Params().Name)
		}
		sigAlg = algECDSA
	default:
		return nil, fmt.Errorf("authenticode: sign: key type %T is not ECDSA P-256 or RSA", leaf.PublicKey)
	}

	var idc spcIndirectDataContent
	idc.Data.Type = oidSpcPEImageData
	idc.Data.Value = asn1.RawValue{FullBytes: spcPEImageData}
	idc.MessageDigest = digestInfo{algSHA256, digest}
	content := mustMarshal(idc)
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(content, &raw); err != nil {
		return nil, fmt.Errorf("authenticode: sign: %w", err)
	}
	// The messageDigest attribute covers the content's value bytes, without
	// the SEQUENCE tag and length (Authenticode PE format, "signerInfos").
	md := sha256.Sum256(raw.Bytes)

	var opus []byte
	if s.ProgramName != "" {
		opus = append(opus, explicit(0, spcString(s.ProgramName))...)
	}
	if s.MoreInfoURL != "" {
		// SpcLink url: [0] IMPLICIT IA5String.
		link := mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: []byte(s.MoreInfoURL)})
		opus = append(opus, explicit(1, link)...)
	}
	attrs := set(asn1.ClassContextSpecific, 0,
		attr(oidAttrContentType, mustMarshal(oidSpcIndirectData)),
		attr(oidSpcSpOpusInfo, mustMarshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: opus})),
		attr(oidSpcStatementType, mustMarshal([]asn1.ObjectIdentifier{oidSpcIndividual})),
		attr(oidAttrMessageDigest, mustMarshal(md[:])),
	)
	// The signature covers the attributes encoded as a SET (tag 0x31).
	toSign := mustMarshal(asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: attrs.Bytes})
	h := sha256.Sum256(toSign)
	sig, err := s.Key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("authenticode: sign: %w", err)
	}
	if err := leaf.CheckSignature(signatureAlgorithm(sigAlg.Algorithm, crypto.SHA256), toSign, sig); err != nil {
		return nil, fmt.Errorf("authenticode: sign: the key's signature does not verify with Chain[0]: %w", err)
	}

	si := signerInfo{
		Version:         1,
		IssuerAndSerial: issuerAndSerial{asn1.RawValue{FullBytes: leaf.RawIssuer}, leaf.SerialNumber},
		DigestAlgorithm: algSHA256,
		SignedAttrs:     attrs,
		SignatureAlg:    sigAlg,
		Signature:       sig,
	}
	if s.Timestamp != nil {
		token, err := s.Timestamp(ctx, sig)
		if err != nil {
			return nil, fmt.Errorf("authenticode: sign: timestamp: %w", err)
		}
		var tok asn1.RawValue
		if rest, err := asn1.Unmarshal(token, &tok); err != nil || len(rest) > 0 || tok.Tag != asn1.TagSequence {
			return nil, errors.New("authenticode: sign: timestamp: the token is not one DER ContentInfo")
		}
		si.UnsignedAttrs = set(asn1.ClassContextSpecific, 1, attr(oidSpcRFC3161, token))
	}

	var certs [][]byte
	for _, c := range s.Chain {
		certs = append(certs, c.Raw)
	}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: set(asn1.ClassUniversal, asn1.TagSet, mustMarshal(algSHA256)),
		ContentInfo:      contentInfo{oidSpcIndirectData, asn1.RawValue{FullBytes: explicit(0, content)}},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: bytes.Join(certs, nil)},
		SignerInfos:      set(asn1.ClassUniversal, asn1.TagSet, mustMarshal(si)),
	}
	return mustMarshal(contentInfo{oidSignedData, asn1.RawValue{FullBytes: explicit(0, mustMarshal(sd))}}), nil
}

// TokenFromResponse returns the TimeStampToken of a granted DER
// TimeStampResp (RFC 3161 §2.4.2), such as tsa.Authority.Timestamp returns.
func TokenFromResponse(resp []byte) ([]byte, error) {
	var r struct {
		Status struct {
			Status int
			Rest   asn1.RawContent `asn1:"optional"`
		}
		Token asn1.RawValue `asn1:"optional"`
	}
	if rest, err := asn1.Unmarshal(resp, &r); err != nil || len(rest) > 0 {
		return nil, errors.New("authenticode: timestamp response is not one DER TimeStampResp")
	}
	if r.Status.Status > 1 || len(r.Token.FullBytes) == 0 {
		return nil, fmt.Errorf("authenticode: timestamp response: status %d, no token", r.Status.Status)
	}
	return r.Token.FullBytes, nil
}

// Options are the choices of SignFile.
type Options struct {
	// Replace drops an existing certificate table and signs again; without
	// it SignFile refuses a signed file with ErrSigned.
	Replace bool
}

// ErrSigned is returned by SignFile for a file that already has a
// certificate table, unless Options.Replace is set.
var ErrSigned = errors.New("authenticode: file is already signed")

// SignFunc signs an image digest, returning a DER ContentInfo as
// Signer.Sign does (the signer may be remote: only the digest travels).
type SignFunc func(ctx context.Context, digest []byte) (signature []byte, err error)

// SignFile signs the PE file in and writes the signed file to out (which may
// be in). It reads in once, copying it to a temporary file in out's
// directory while hashing it, then has sign sign the digest, appends the
// certificate table, sets its directory entry and the checksum, and renames
// the temporary file to out, with in's mode. On any error out is untouched.
func SignFile(ctx context.Context, in, out string, sign SignFunc, opts Options) (*Image, error) {
	f, err := os.Open(in)
	if err != nil {
		return nil, fmt.Errorf("authenticode: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("authenticode: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("authenticode: %s is not a regular file", in)
	}
	m, err := Parse(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, in)
	}
	if m.Signed() && !opts.Replace {
		return nil, fmt.Errorf("%w: %s (certificate table at 0x%x)", ErrSigned, in, m.CertOffset)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".sign-*")
	if err != nil {
		return nil, fmt.Errorf("authenticode: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	digest, sum, err := m.stream(f, crypto.SHA256.New(), tmp)
	if err != nil {
		return nil, err
	}
	m.Digest = digest
	sig, err := sign(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("authenticode: signing %s: %w", in, err)
	}
	table := certificateTable(sig)
	certOff := m.hashEnd()
	if certOff+int64(len(table)) > MaxSize {
		return nil, fmt.Errorf("authenticode: %s: signed file would be more than %d bytes", in, int64(MaxSize))
	}
	if _, err := tmp.Write(table); err != nil {
		return nil, fmt.Errorf("authenticode: writing: %w", err)
	}
	var dir [8]byte
	binary.LittleEndian.PutUint32(dir[:], uint32(certOff))
	binary.LittleEndian.PutUint32(dir[4:], uint32(len(table)))
	// The directory entry is 4-byte aligned (Parse checks e_lfanew) and
	// table 8-byte aligned, so word offsets line up as checksumAdd wants.
	sum = checksumAdd(sum, table)
	sum = checksumAdd(sum, dir[:])
	size := certOff + int64(len(table))
	var ck [4]byte
	binary.LittleEndian.PutUint32(ck[:], checksumFinal(sum, size))
	if _, err := tmp.WriteAt(dir[:], m.CertDirOffset); err != nil {
		return nil, fmt.Errorf("authenticode: writing: %w", err)
	}
	if _, err := tmp.WriteAt(ck[:], m.ChecksumOffset); err != nil {
		return nil, fmt.Errorf("authenticode: writing: %w", err)
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		return nil, fmt.Errorf("authenticode: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("authenticode: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("authenticode: %w", err)
	}
	done = true
	m.Size, m.CertOffset, m.CertSize = size, certOff, int64(len(table))
	return m, nil
}

// certificateTable is one WIN_CERTIFICATE: dwLength (including the zero
// padding to 8 bytes), wRevision 0x0200, wCertificateType
// WIN_CERT_TYPE_PKCS_SIGNED_DATA (2), then the signature.
func certificateTable(sig []byte) []byte {
	n := (8 + len(sig) + 7) &^ 7
	t := make([]byte, n)
	binary.LittleEndian.PutUint32(t, uint32(n))
	binary.LittleEndian.PutUint16(t[4:], 0x0200)
	binary.LittleEndian.PutUint16(t[6:], 2)
	copy(t[8:], sig)
	return t
}

func signatureAlgorithm(alg asn1.ObjectIdentifier, h crypto.Hash) x509.SignatureAlgorithm {
	// Both key OIDs and key-with-hash OIDs occur; the SignerInfo's digest
	// algorithm picks the hash.
	i := slices.Index([]crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}, h)
	switch {
	case i < 0:
	case alg.Equal(oidRSA), len(alg) == 7 && alg[:6].Equal(oidRSA[:6]):
		return []x509.SignatureAlgorithm{x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA}[i]
	case alg.Equal(asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}), len(alg) == 7 && alg[:6].Equal(oidECDSAWithSHA256[:6]):
		return []x509.SignatureAlgorithm{x509.ECDSAWithSHA1, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512}[i]
	}
	return x509.UnknownSignatureAlgorithm
}
