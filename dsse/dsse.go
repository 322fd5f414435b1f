// Package dsse signs and checks Dead Simple Signing Envelopes (DSSE v1.0.2,
// github.com/secure-systems-lab/dsse, protocol.md and envelope.md).
//
// A signature covers the pre-authentication encoding of the payload,
//
//	PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// where LEN is the decimal byte length without leading zeros. ECDSA and RSA
// keys sign the SHA-256 digest of PAE; Ed25519 keys sign PAE itself. That is how
// Sigstore clients (cosign, sigstore-go) verify DSSE in bundles.
//
// The wire form is JSON with payload and sig in standard base64. Envelopes are
// hostile input: Parse is strict (unknown fields, bad base64 and empty fields
// are errors that name the field) and bounded in size.
package dsse

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// PayloadTypeInToto is the payload type of in-toto statements.
const PayloadTypeInToto = "application/vnd.in-toto+json"

// MaxSize is the largest envelope Parse accepts.
const MaxSize = 16 << 20

// maxSignatures bounds the work a hostile envelope can ask for.
const maxSignatures = 16

// PAE returns the pre-authentication encoding of payloadType and payload.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.Grow(32 + len(payloadType) + len(payload))
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// Sign returns an envelope holding payload with one signature by s. keyID is
// recorded as the signature's keyid and may be empty.
func Sign(s crypto.Signer, keyID, payloadType string, payload []byte) (*protodsse.Envelope, error) {
	if payloadType == "" {
		return nil, errors.New("dsse: empty payload type")
	}
	pae := PAE(payloadType, payload)
	var sig []byte
	var err error
	switch s.Public().(type) {
	case ed25519.PublicKey:
		sig, err = s.Sign(rand.Reader, pae, crypto.Hash(0))
	case *ecdsa.PublicKey, *rsa.PublicKey:
		sum := sha256.Sum256(pae)
		sig, err = s.Sign(rand.Reader, sum[:], crypto.SHA256)
	default:
		return nil, fmt.Errorf("dsse: unsupported key type %T", s.Public())
	}
	if err != nil {
		return nil, fmt.Errorf("dsse: sign: %w", err)
	}
	return &protodsse.Envelope{
		Payload:     payload,
		PayloadType: payloadType,
		Signatures:  []*protodsse.Signature{{Sig: sig, Keyid: keyID}},
	}, nil
}

// ErrSignature is returned, wrapped, when no signature of an envelope
// verifies with the given key.
var ErrSignature = errors.New("dsse: signature does not verify")

// Verify checks that at least one signature of env verifies with pub.
func Verify(env *protodsse.Envelope, pub crypto.PublicKey) error {
	if err := Check(env); err != nil {
		return fmt.Errorf("dsse: %w", err)
	}
	pae := PAE(env.PayloadType, env.Payload)
	sum := sha256.Sum256(pae)
	for _, s := range env.Signatures {
		var ok bool
		switch k := pub.(type) {
		case *ecdsa.PublicKey:
			ok = ecdsa.VerifyASN1(k, sum[:], s.Sig)
		case ed25519.PublicKey:
			ok = ed25519.Verify(k, pae, s.Sig)
		case *rsa.PublicKey:
			ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], s.Sig) == nil ||
				rsa.VerifyPSS(k, crypto.SHA256, sum[:], s.Sig, nil) == nil
		default:
			return fmt.Errorf("dsse: unsupported key type %T", pub)
		}
		if ok {
			return nil
		}
	}
	return ErrSignature
}

// Parse decodes an envelope from its JSON form and checks it with Check.
func Parse(data []byte) (*protodsse.Envelope, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("dsse: envelope of %d bytes is over the limit of %d", len(data), MaxSize)
	}
	var env protodsse.Envelope
	if err := protojson.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("dsse: %w", err)
	}
	if err := Check(&env); err != nil {
		return nil, fmt.Errorf("dsse: %w", err)
	}
	return &env, nil
}

// Check reports the first structural problem of env, naming the field
// relative to the envelope ("signatures[0].sig: missing"), so callers can
// prefix where the envelope sits: a missing payload type or payload, no
// signatures, too many, or an empty one.
func Check(env *protodsse.Envelope) error {
	switch {
	case env == nil:
		return errors.New("envelope: missing")
	case env.PayloadType == "":
		return errors.New("payloadType: missing")
	case len(env.Payload) == 0:
		return errors.New("payload: missing")
	case len(env.Signatures) == 0:
		return errors.New("signatures: none")
	case len(env.Signatures) > maxSignatures:
		return fmt.Errorf("signatures: %d is over the limit of %d", len(env.Signatures), maxSignatures)
	}
	for i, s := range env.Signatures {
		if s == nil || len(s.Sig) == 0 {
			return fmt.Errorf("signatures[%d].sig: missing", i)
		}
	}
	return nil
}

// Marshal returns env in its JSON form (envelope.md): payloadType, payload
// and signatures with keyid and sig, bytes in standard base64, the form that
// DSSE tools outside Sigstore (slsa-verifier, in-toto) read. A nil env (a
// bundle holding a message signature has no envelope) is an error.
func Marshal(env *protodsse.Envelope) ([]byte, error) {
	if env == nil {
		return nil, errors.New("dsse: no envelope")
	}
	type signature struct {
		KeyID string `json:"keyid"`
		Sig   []byte `json:"sig"`
	}
	w := struct {
		PayloadType string      `json:"payloadType"`
		Payload     []byte      `json:"payload"`
		Signatures  []signature `json:"signatures"`
	}{PayloadType: env.PayloadType, Payload: env.Payload, Signatures: []signature{}}
	for _, s := range env.Signatures {
		w.Signatures = append(w.Signatures, signature{KeyID: s.Keyid, Sig: s.Sig})
	}
	out, err := json.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("dsse: %w", err)
	}
	return out, nil
}
