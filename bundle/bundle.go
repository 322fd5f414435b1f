// Package bundle reads and writes Sigstore bundles (protobuf-specs
// dev.sigstore.bundle.v1.Bundle in its JSON form, the .sigstore.json file):
// one signature over one artifact, the material to verify it (a public key
// hint, a certificate or a chain) and the evidence that it was logged and
// timestamped (transparency log entries with inclusion proofs or promises,
// RFC 3161 timestamps).
//
// Hallmark writes version 0.3 (MediaType). Parse reads 0.1, 0.2 and 0.3, in
// both the old (";version=0.x") and the new (".v0.x+json") media type forms.
//
// Bundles are hostile input. Parse refuses input over limit.Bundle, JSON that
// does not match the schema (unknown fields, wrong types, bad base64), and
// structurally broken content, with an error naming the field:
//
//	bundle: tlogEntries[0].inclusionProof.hashes[3]: 31 bytes, want 32
//
// Parse does not verify signatures; package verifier does.
package bundle

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/limit"
)

// MediaType is the media type of the bundles Hallmark writes.
const MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Bundle is a parsed, structurally valid Sigstore bundle.
type Bundle = sgbundle.Bundle

// Read parses the bundle file at path. Errors name the path.
func Read(path string) (*Bundle, error) {
	data, err := limit.ReadFile(path, limit.Bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Parse decodes and checks a bundle in its JSON form.
func Parse(data []byte) (*Bundle, error) {
	if len(data) > limit.Bundle {
		return nil, fmt.Errorf("bundle: %w: %d bytes, over the limit of %d", limit.ErrTooLarge, len(data), limit.Bundle)
	}
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(data, pb); err != nil {
		return nil, fmt.Errorf("bundle: malformed: %w", err)
	}
	if err := check(pb); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return b, nil
}

// Marshal returns the JSON form of b, compact and stable: the same bundle
// always gives the same bytes (protojson alone varies its whitespace).
func Marshal(b *Bundle) ([]byte, error) {
	js, err := protojson.Marshal(b.Bundle)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, js); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// check reports structural problems that sigstore-go's validation would
// let through or report without naming the field.
func check(b *protobundle.Bundle) error {
	if b.MediaType == "" {
		return errors.New("mediaType: missing")
	}
	switch c := b.Content.(type) {
	case *protobundle.Bundle_MessageSignature:
		ms := c.MessageSignature
		if ms == nil {
			return errors.New("messageSignature: empty")
		}
		if len(ms.Signature) == 0 {
			return errors.New("messageSignature.signature: missing")
		}
		if md := ms.MessageDigest; md != nil {
			if want := digestSize(md.Algorithm); want != 0 && len(md.Digest) != want {
				return fmt.Errorf("messageSignature.messageDigest.digest: %d bytes, want %d for %s", len(md.Digest), want, md.Algorithm)
			}
		}
	case *protobundle.Bundle_DsseEnvelope:
		if err := dsse.Check(c.DsseEnvelope); err != nil {
			return fmt.Errorf("dsseEnvelope.%w", err)
		}
		if n := len(c.DsseEnvelope.Signatures); n != 1 {
			return fmt.Errorf("dsseEnvelope.signatures: %d signatures, a bundle holds exactly 1", n)
		}
	case nil:
		return errors.New("content: missing: want messageSignature or dsseEnvelope")
	}
	vm := b.VerificationMaterial
	if vm == nil {
		return errors.New("verificationMaterial: missing")
	}
	switch c := vm.Content.(type) {
	case *protobundle.VerificationMaterial_Certificate:
		if c.Certificate == nil || len(c.Certificate.RawBytes) == 0 {
			return errors.New("verificationMaterial.certificate.rawBytes: missing")
		}
	case *protobundle.VerificationMaterial_X509CertificateChain:
		if c.X509CertificateChain == nil || len(c.X509CertificateChain.Certificates) == 0 {
			return errors.New("verificationMaterial.x509CertificateChain.certificates: empty")
		}
		for i, cert := range c.X509CertificateChain.Certificates {
			if cert == nil || len(cert.RawBytes) == 0 {
				return fmt.Errorf("verificationMaterial.x509CertificateChain.certificates[%d].rawBytes: missing", i)
			}
		}
	case nil:
		return errors.New("verificationMaterial: missing publicKey, certificate or x509CertificateChain")
	}
	for i, e := range vm.TlogEntries {
		if err := checkEntry(e); err != nil {
			return fmt.Errorf("verificationMaterial.tlogEntries[%d].%w", i, err)
		}
	}
	if tvd := vm.TimestampVerificationData; tvd != nil {
		for i, ts := range tvd.Rfc3161Timestamps {
			if ts == nil || len(ts.SignedTimestamp) == 0 {
				return fmt.Errorf("verificationMaterial.timestampVerificationData.rfc3161Timestamps[%d].signedTimestamp: missing", i)
			}
		}
	}
	return nil
}

func checkEntry(e *protorekor.TransparencyLogEntry) error {
	if e == nil {
		return errors.New("entry: missing")
	}
	if e.LogIndex < 0 {
		return fmt.Errorf("logIndex: %d is negative", e.LogIndex)
	}
	if e.LogId == nil || len(e.LogId.KeyId) == 0 {
		return errors.New("logId.keyId: missing")
	}
	p := e.InclusionProof
	if p == nil {
		return nil
	}
	switch {
	case p.LogIndex < 0:
		return fmt.Errorf("inclusionProof.logIndex: %d is negative", p.LogIndex)
	case p.TreeSize <= 0:
		return fmt.Errorf("inclusionProof.treeSize: %d, want a positive size", p.TreeSize)
	case p.LogIndex >= p.TreeSize:
		return fmt.Errorf("inclusionProof.logIndex: %d is not below treeSize %d", p.LogIndex, p.TreeSize)
	case len(p.RootHash) != sha256.Size:
		return fmt.Errorf("inclusionProof.rootHash: %d bytes, want %d", len(p.RootHash), sha256.Size)
	case p.Checkpoint == nil || p.Checkpoint.Envelope == "":
		return errors.New("inclusionProof.checkpoint.envelope: missing")
	}
	if err := checkCheckpoint(p); err != nil {
		return err
	}
	if len(p.Hashes) > 64 {
		return fmt.Errorf("inclusionProof.hashes: %d hashes; a proof in a tree of up to 2^64 entries has at most 64", len(p.Hashes))
	}
	for j, h := range p.Hashes {
		if len(h) != sha256.Size {
			return fmt.Errorf("inclusionProof.hashes[%d]: %d bytes, want %d", j, len(h), sha256.Size)
		}
	}
	return nil
}

// checkCheckpoint checks that an inclusion proof's tree size and root hash are
// those of the checkpoint it carries (C2SP tlog-checkpoint: origin, size and
// base64 root hash lines). Verifiers check the proof against the checkpoint;
// a proof that claims another tree is inconsistent, not just redundant.
func checkCheckpoint(p *protorekor.InclusionProof) error {
	lines := strings.SplitN(p.Checkpoint.Envelope, "\n", 4)
	if len(lines) < 4 {
		return errors.New("inclusionProof.checkpoint.envelope: not a checkpoint: want origin, size and root hash lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return fmt.Errorf("inclusionProof.checkpoint.envelope: tree size %q is not a number", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		return fmt.Errorf("inclusionProof.checkpoint.envelope: root hash %q is not base64", lines[2])
	}
	if size != p.TreeSize {
		return fmt.Errorf("inclusionProof.treeSize: %d, but the checkpoint's tree size is %d", p.TreeSize, size)
	}
	if !bytes.Equal(root, p.RootHash) {
		return errors.New("inclusionProof.rootHash: not the checkpoint's root hash")
	}
	return nil
}

func digestSize(alg protocommon.HashAlgorithm) int {
	switch alg {
	case protocommon.HashAlgorithm_SHA2_256, protocommon.HashAlgorithm_SHA3_256:
		return 32
	case protocommon.HashAlgorithm_SHA2_384, protocommon.HashAlgorithm_SHA3_384:
		return 48
	case protocommon.HashAlgorithm_SHA2_512:
		return 64
	}
	return 0
}

// KeyHint returns the hint Hallmark puts in verificationMaterial.publicKey:
// the standard base64 of the SHA-256 of the key's DER SubjectPublicKeyInfo, as
// sigstore-go computes it. Verifiers treat it as a name, never as trust.
func KeyHint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("bundle: key hint: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// NewMessageSignature returns a v0.3 bundle for a signature over the SHA-256
// digest of an artifact, made by the key named by hint.
func NewMessageSignature(sha256Digest, sig []byte, hint string) (*Bundle, error) {
	return sgbundle.NewBundle(&protobundle.Bundle{
		MediaType:            MediaType,
		VerificationMaterial: keyMaterial(hint),
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sha256Digest},
			Signature:     sig,
		}},
	})
}

// NewDSSE returns a v0.3 bundle holding env, signed by the key named by hint.
func NewDSSE(env *protodsse.Envelope, hint string) (*Bundle, error) {
	return sgbundle.NewBundle(&protobundle.Bundle{
		MediaType:            MediaType,
		VerificationMaterial: keyMaterial(hint),
		Content:              &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env},
	})
}

func keyMaterial(hint string) *protobundle.VerificationMaterial {
	return &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint}},
	}
}

// SetCertificate makes b's verification material the leaf certificate der
// (v0.3 bundles carry the leaf only; verifiers find the chain in their
// trusted root), in place of a key hint.
func SetCertificate(b *Bundle, der []byte) {
	b.VerificationMaterial.Content = &protobundle.VerificationMaterial_Certificate{
		Certificate: &protocommon.X509Certificate{RawBytes: der},
	}
}
