package controlplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/state"
	"github.com/hallmark-dev/hallmark/vsa"
)

// BuilderID is the builder.id of the provenance the control plane signs: its
// own trust boundary, https://ORIGIN/builder.
func (p *Plane) BuilderID() string { return p.issuer() + "/builder" }

// RebuildPredicateType is the predicate type of a rebuild's attestation: a
// provenance's outputs rebuilt in a fresh sandbox and compared byte for byte
// (docs/reproducible-builds.md).
const RebuildPredicateType = "https://hallmark.dev/rebuild/v1"

// platformPredicates are the predicate types only the platform writes: build
// provenance, rebuild results and gate verdicts. A tenant who could sign one with the
// project's key could forge what the platform alone may say.
var platformPredicates = []string{
	provenance.PredicateType,
	"https://slsa.dev/provenance/v0.2",
	vsa.PredicateType,
	RebuildPredicateType,
}

// checkPlatformPredicate refuses a DSSE item whose in-toto statement has a
// platform predicate, unless who is the platform (a worker, or the local
// operator).
func checkPlatformPredicate(who auth.Principal, it api.SignItem) error {
	if it.Payload == nil || who.Role == auth.Worker || auth.Authorize(who, auth.Work, "") == nil {
		return nil
	}
	// Whatever the payload type says, and however the key is spelled or
	// repeated (parsers differ on case and on duplicates), a top-level
	// predicateType naming a platform predicate is refused. A payload that
	// is not a JSON object carries no predicate.
	dec := json.NewDecoder(bytes.NewReader(it.Payload))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil
		}
		var typ string
		if strings.EqualFold(key, "predicateType") && json.Unmarshal(value, &typ) == nil && slices.Contains(platformPredicates, strings.TrimSpace(typ)) {
			return api.Errorf(http.StatusForbidden, "statements of type %s are written by the control plane only (build provenance, rebuilds, gate verdicts), not signed on request", typ)
		}
	}
	return nil
}

// recordBuild signs and logs what a worker observed: a build's provenance,
// or a rebuild's result.
func (p *Plane) recordBuild(ctx context.Context, who auth.Principal, req *api.BuildRecord) (*api.BuildRecorded, error) {
	if err := authorize(who, auth.Work, req.Project); err != nil {
		return nil, err
	}
	if err := p.project(ctx, req.Project); err != nil {
		return nil, err
	}
	var head struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate struct {
			Invocation string `json:"rebuildInvocationId"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(req.Statement, &head); err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "statement: %s", jsonError(err))
	}
	var invocation string
	var lock *state.ToolchainLock
	switch head.PredicateType {
	case provenance.PredicateType:
		b, err := provenance.Parse(req.Statement)
		if err != nil {
			return nil, api.Errorf(http.StatusBadRequest, "%v", err)
		}
		if b.BuilderID != p.BuilderID() {
			return nil, api.Errorf(http.StatusBadRequest, "provenance names builder %q: this control plane signs for %q only", truncate(b.BuilderID, 200), p.BuilderID())
		}
		invocation = b.InvocationID
		if lock, err = p.toolchainLock(ctx, who, req.Project, b); err != nil {
			return nil, err
		}
	case RebuildPredicateType:
		if len(head.Subject) == 0 || head.Predicate.Invocation == "" {
			return nil, api.Errorf(http.StatusBadRequest, "rebuild statement: subjects and predicate.rebuildInvocationId are required")
		}
		for i, s := range head.Subject {
			if _, err := parseDigest("sha256:" + s.Digest["sha256"]); err != nil {
				return nil, api.Errorf(http.StatusBadRequest, "rebuild statement: subject[%d]: want a sha256 digest", i)
			}
		}
		invocation = head.Predicate.Invocation
	default:
		return nil, api.Errorf(http.StatusBadRequest, "statement of type %q: want %s or %s", truncate(head.PredicateType, 100), provenance.PredicateType, RebuildPredicateType)
	}
	detail := map[string]string{"invocation": invocation, "type": head.PredicateType, "subjects": strconv.Itoa(len(head.Subject))}
	if len(head.Subject) > 0 {
		detail["first"] = head.Subject[0].Name
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{p.event(who, "build.record", req.Project, invocation, detail)}}); err != nil {
		return nil, err
	}
	signed, err := p.signItems(ctx, who, &api.SignRequest{Nonce: api.Nonce(), Project: req.Project,
		Items: []api.SignItem{{PayloadType: dsse.PayloadTypeInToto, Payload: req.Statement}}}, "")
	if err != nil {
		return nil, err
	}
	if lock != nil {
		if err := p.db.SetToolchainLock(ctx, *lock); err != nil {
			return nil, err
		}
	}
	return &api.BuildRecorded{Bundle: signed.Bundles[0], Key: signed.Key}, nil
}

// ToolchainChange is the vulnerability id of the exception that signs off a
// change of a spec's toolchain lock in a project whose profile asks for it;
// its package is pkg:generic/SPEC@LOCKDIGEST (the first 16 hex digits of the
// new lock's SHA-256).
const ToolchainChange = "HALLMARK-TOOLCHAIN-CHANGE"

// toolchainLock checks the toolchain lock a provenance records against the
// one the project's spec last built with. A first lock is recorded; a
// change is audited and, where the project's profile asks for more than one
// approval of its exceptions (high and critical by default), needs an
// approved exception for it. It returns the record to store once the
// provenance is signed, or nil when nothing changed.
func (p *Plane) toolchainLock(ctx context.Context, who auth.Principal, project string, b *provenance.Build) (*state.ToolchainLock, error) {
	spec, _ := b.External["name"].(string)
	if spec == "" {
		return nil, api.Errorf(http.StatusBadRequest, "provenance: externalParameters.name (the spec's name) is missing")
	}
	locks, err := json.Marshal(b.External["toolchains"]) // map keys sorted: canonical
	if err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "provenance: externalParameters.toolchains: %v", err)
	}
	sum := sha256.Sum256(locks)
	next := &state.ToolchainLock{Project: project, Spec: spec, Digest: "sha256:" + hex.EncodeToString(sum[:]), Locks: string(locks), Build: b.InvocationID, Updated: p.now()}
	prev, err := p.db.ToolchainLockOf(ctx, project, spec)
	if errors.Is(err, state.ErrNotFound) {
		return next, nil
	}
	if err != nil {
		return nil, err
	}
	if prev.Digest == next.Digest {
		return nil, nil
	}
	detail := map[string]string{"spec": spec, "from": prev.Locks, "to": next.Locks, "build": b.InvocationID}
	_, prof, err := p.profileFor(ctx, project)
	if err != nil {
		return nil, err
	}
	if prof.Exceptions.ApprovalsRequired > 1 {
		pkg := "pkg:generic/" + spec + "@" + hex.EncodeToString(sum[:8])
		ok, err := p.approvedFor(ctx, project, ToolchainChange, pkg)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.AuditRefusal(ctx, who.String(), "toolchain.lock-change", "refused", "no sign-off for "+pkg)
			return nil, api.Errorf(http.StatusConflict, "the toolchain lock of spec %s changed (%s to %s), and project %s's profile %s asks for sign-off: "+
				"request it with 'hallmark exception request --vuln %s --package %s --project %s --reason TEXT --expires 7d' and have %d approvers approve it, then build again",
				spec, prev.Locks, next.Locks, project, prof.Name, ToolchainChange, pkg, project, prof.Exceptions.ApprovalsRequired)
		}
		detail["signedOff"] = pkg
	}
	if err := p.commit(ctx, state.Write{Nonce: api.Nonce(), Audit: []audit.Event{p.event(who, "toolchain.lock-change", project, spec, detail)}}); err != nil {
		return nil, err
	}
	return next, nil
}

// approvedFor reports whether project has an approved, unexpired exception
// for exactly vuln in pkg.
func (p *Plane) approvedFor(ctx context.Context, project, vuln, pkg string) (bool, error) {
	all, err := p.db.Exceptions(ctx, project)
	if err != nil {
		return false, err
	}
	now := p.now()
	for _, e := range all {
		if e.Vulnerability == vuln && e.Package == pkg && exceptionOut(e, now).Status == state.ExceptionApproved {
			return true, nil
		}
	}
	return false, nil
}
