package controlplane

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/ca"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/state"
	"github.com/hallmark-dev/hallmark/tlog"
)

// DefaultKey is the signing key a request that names none gets.
const DefaultKey = "default"

// signed is one item of a sign request, signed and ready to log.
type signedItem struct {
	digest []byte // what the log entry records: the artifact digest, or SHA-256 of the DSSE PAE
	sig    []byte
	body   []byte // the hashedrekord entry
	b      *bundle.Bundle
}

// sign signs a request's items with the project's key, records the
// signatures, logs them, timestamps them, and returns their bundles.
//
// Order matters for accountability: nothing is signed before the caller is
// authorized and every item is checked; the signing records and the audit
// event are committed before any entry reaches the log; a bundle is returned
// only once its entry is committed to by a published checkpoint.
func (p *Plane) sign(ctx context.Context, who auth.Principal, req *api.SignRequest) (*api.SignResponse, error) {
	if err := authorize(who, auth.Sign, req.Project); err != nil {
		return nil, err
	}
	if err := p.project(ctx, req.Project); err != nil {
		return nil, err
	}
	for _, it := range req.Items {
		if err := checkPlatformPredicate(who, it); err != nil {
			return nil, err
		}
	}
	return p.signItems(ctx, who, req, "")
}

// signItems is sign after the authorization check: the control plane's own
// signatures (verdicts, VEX documents) come through here too, on behalf of
// the caller who asked for them, who is audited as their actor. kind, if
// not "", is what the signing records say was signed; else an item's kind
// (an artifact digest or a DSSE envelope).
func (p *Plane) signItems(ctx context.Context, who auth.Principal, req *api.SignRequest, kind string) (*api.SignResponse, error) {
	switch n := len(req.Items); {
	case n == 0:
		return nil, api.Errorf(http.StatusBadRequest, "nothing to sign: no items")
	case n > api.MaxSignItems:
		return nil, api.Errorf(http.StatusRequestEntityTooLarge, "%d items: at most %d per request", n, api.MaxSignItems)
	}
	if req.Nonce == "" {
		return nil, api.Errorf(http.StatusBadRequest, "request has no nonce: every change carries a fresh one")
	}
	digests := make([][]byte, len(req.Items))
	for i, it := range req.Items {
		var err error
		if digests[i], err = checkItem(it); err != nil {
			return nil, api.Errorf(http.StatusBadRequest, "items[%d]: %v", i, err)
		}
	}
	// The TSA is ready before anything is signed or recorded.
	if _, err := p.TSA(); err != nil {
		return nil, err
	}
	keyName := cmp.Or(req.Key, DefaultKey)
	if err := checkKeyName(keyName); err != nil {
		return nil, err
	}
	k, signer, err := p.signingKey(ctx, keyName, req.Project)
	if err != nil {
		return nil, err
	}
	var entryKey any = signer.Public()
	hint, err := bundle.KeyHint(signer.Public())
	if err != nil {
		return nil, err
	}
	detail := map[string]string{"key": k.Name + "@" + strconv.Itoa(k.Version), "items": strconv.Itoa(len(req.Items))}
	var cert *x509.Certificate
	if req.Certificate {
		certs, err := p.certificates(ctx)
		if err != nil {
			return nil, err
		}
		if cert, err = certs.Certificate(signer.Public(), ca.Identity{Project: req.Project, Builder: who.Subject}, p.now()); err != nil {
			return nil, api.Errorf(http.StatusBadRequest, "certificate: %v", err)
		}
		entryKey = cert
		detail["certificate"] = cert.SerialNumber.Text(16)
	}

	items := make([]signedItem, len(req.Items))
	records := make([]state.Record, len(req.Items))
	keyDER, _ := x509.MarshalPKIXPublicKey(signer.Public())
	fp := sha256.Sum256(keyDER)
	now := p.now()
	for i, it := range req.Items {
		s := &items[i]
		if digests[i] != nil {
			s.digest = digests[i]
			if s.sig, err = signer.Sign(rand.Reader, s.digest, crypto.SHA256); err != nil {
				return nil, fmt.Errorf("controlplane: signing with %s: %w", detail["key"], err)
			}
			if s.b, err = bundle.NewMessageSignature(s.digest, s.sig, hint); err != nil {
				return nil, err
			}
		} else {
			env, err := dsse.Sign(signer, "", it.PayloadType, it.Payload)
			if err != nil {
				return nil, fmt.Errorf("controlplane: signing with %s: %w", detail["key"], err)
			}
			sum := sha256.Sum256(dsse.PAE(it.PayloadType, it.Payload))
			s.digest, s.sig = sum[:], env.Signatures[0].Sig
			if s.b, err = bundle.NewDSSE(env, hint); err != nil {
				return nil, err
			}
		}
		if cert != nil {
			bundle.SetCertificate(s.b, cert.Raw)
		}
		if s.body, err = tlog.HashedRekord(s.digest, s.sig, entryKey); err != nil {
			return nil, fmt.Errorf("controlplane: %w", err)
		}
		records[i] = state.Record{
			LeafHash: tlog.LeafHash(s.body), LogID: p.log.LogID(), KeyFingerprint: fp[:], Digest: s.digest,
			KeyName: k.Name, KeyVersion: k.Version, Project: req.Project, Actor: who.String(), Time: now,
			Kind: state.RecordDigest,
		}
		if digests[i] == nil {
			records[i].Kind = state.RecordDSSE
		}
		if kind != "" {
			records[i].Kind = kind
		}
	}
	if len(items) > 0 {
		detail["first"] = "sha256:" + hex.EncodeToString(items[0].digest)
	}
	if err := p.commit(ctx, state.Write{
		Nonce:   req.Nonce,
		Records: records,
		Audit:   []audit.Event{p.event(who, "sign", req.Project, "key:"+k.Name, detail)},
	}); err != nil {
		return nil, err
	}
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i := range items {
		wg.Go(func() { errs[i] = p.logAndStamp(ctx, items[i].b, items[i].body, items[i].sig) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := &api.SignResponse{Key: detail["key"], Bundles: make([]json.RawMessage, len(items))}
	for i, s := range items {
		if out.Bundles[i], err = bundle.Marshal(s.b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkItem checks one item, returning its digest if it is one.
func checkItem(it api.SignItem) ([]byte, error) {
	switch {
	case it.Digest != "" && (it.PayloadType != "" || it.Payload != nil):
		return nil, errors.New("give a digest or a payload, not both")
	case it.Digest != "":
		return parseDigest(it.Digest)
	case it.PayloadType == "":
		return nil, errors.New("give a digest (sha256:<hex>) or a payloadType and payload")
	case len(it.PayloadType) > 256 || !utf8.ValidString(it.PayloadType):
		return nil, errors.New("payloadType: want at most 256 bytes of UTF-8")
	case len(it.Payload) > api.MaxPayload:
		return nil, fmt.Errorf("payload: %d bytes, at most %d", len(it.Payload), api.MaxPayload)
	}
	return nil, nil
}

// logAndStamp appends an entry body to the log and adds the entry (with its
// inclusion proof and checkpoint) and an RFC 3161 timestamp over sig to b.
func (p *Plane) logAndStamp(ctx context.Context, b *bundle.Bundle, body, sig []byte) error {
	authority, err := p.TSA()
	if err != nil {
		return err
	}
	entry, err := p.log.Append(ctx, body)
	if err != nil {
		return err
	}
	ts, err := authority.Timestamp(sig)
	if err != nil {
		return fmt.Errorf("controlplane: timestamp: %w", err)
	}
	vm := b.VerificationMaterial
	vm.TlogEntries = append(vm.TlogEntries, entry)
	if vm.TimestampVerificationData == nil {
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
	}
	vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
		&protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	return nil
}
