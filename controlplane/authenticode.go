package controlplane

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/authenticode"
	"github.com/hallmark-dev/hallmark/ca"
	"github.com/hallmark-dev/hallmark/state"
)

// signPE makes an Authenticode signature over a PE image digest, with the
// project's key, a code-signing certificate the control plane's CA issues
// for it (naming the project and the caller, as for Sigstore bundles) and a
// counter-signature from the platform's TSA. The signature is recorded
// (kind "authenticode", the image digest) and audited like every other.
func (p *Plane) signPE(ctx context.Context, who auth.Principal, req *api.AuthenticodeRequest) (*api.AuthenticodeSignature, error) {
	if err := authorize(who, auth.Sign, req.Project); err != nil {
		return nil, err
	}
	if err := p.project(ctx, req.Project); err != nil {
		return nil, err
	}
	digest, err := parseDigest(req.Digest)
	if err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "digest: %v", err)
	}
	if len(req.Name) > 1024 {
		return nil, api.Errorf(http.StatusBadRequest, "name of %d bytes: at most 1024", len(req.Name))
	}
	keyName := cmp.Or(req.Key, DefaultKey)
	if err := checkKeyName(keyName); err != nil {
		return nil, err
	}
	k, signer, err := p.signingKey(ctx, keyName, req.Project)
	if err != nil {
		return nil, err
	}
	certs, err := p.certificates(ctx)
	if err != nil {
		return nil, err
	}
	leaf, err := certs.Certificate(signer.Public(), ca.Identity{Project: req.Project, Builder: who.Subject}, p.now())
	if err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "certificate: %v", err)
	}
	authority, err := p.TSA()
	if err != nil {
		return nil, err
	}
	s := &authenticode.Signer{
		Key: signer, Chain: []*x509.Certificate{leaf, certs.Root()},
		Timestamp: func(ctx context.Context, sig []byte) ([]byte, error) {
			resp, err := authority.Timestamp(sig)
			if err != nil {
				return nil, err
			}
			return authenticode.TokenFromResponse(resp)
		},
		ProgramName: req.Name, MoreInfoURL: p.issuer() + "/projects/" + req.Project,
	}
	keyLabel := k.Name + "@" + strconv.Itoa(k.Version)
	keyDER, _ := x509.MarshalPKIXPublicKey(signer.Public())
	fp := sha256.Sum256(keyDER)
	now := p.now()
	detail := map[string]string{"key": keyLabel, "digest": "sha256:" + hex.EncodeToString(digest), "certificate": leaf.SerialNumber.Text(16)}
	if req.Name != "" {
		detail["name"] = truncate(req.Name, 200)
	}
	leafHash := sha256.Sum256(append([]byte("authenticode\x00"), digest...))
	if err := p.commit(ctx, state.Write{
		Nonce: req.Nonce,
		Records: []state.Record{{LeafHash: leafHash[:], LogID: p.log.LogID(), KeyFingerprint: fp[:], Digest: digest,
			KeyName: k.Name, KeyVersion: k.Version, Project: req.Project, Actor: who.String(), Time: now, Kind: state.RecordAuthenticode}},
		Audit: []audit.Event{p.event(who, "authenticode.sign", req.Project, "key:"+k.Name, detail)},
	}); err != nil {
		return nil, err
	}
	sig, err := s.Sign(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("controlplane: authenticode: %w", err)
	}
	return &api.AuthenticodeSignature{Signature: sig, Key: keyLabel}, nil
}
