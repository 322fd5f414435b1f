package builder

import (
	"encoding/base64"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/toolchain"
)

// ProvenanceOptions are what the control plane adds to a Result to make the
// build's provenance: who it is, which invocation, where the source came
// from.
type ProvenanceOptions struct {
	BuilderID      string            // absolute URI of the control plane's trust boundary
	BuilderVersion map[string]string // e.g. {"hallmark": "v0.3.0"}
	InvocationID   string            // the build's id at the control plane
	// SourceURI is the repository (git+https://host/repo.git, or file:///path
	// for a local build) and SourceRef the ref asked for (refs/heads/main).
	SourceURI, SourceRef string
	WorkerID             string // "local" for an in-process build
	// Tenant holds tenant-provided names and annotations, kept apart
	// (provenance.Build.Tenant).
	Tenant map[string]string
	// Byproducts are added after the step logs (an SBOM, say).
	Byproducts []provenance.Material
}

// Provenance returns the provenance.Build of a successful build, unsigned:
// subjects are the outputs; externalParameters are the spec's
// (buildspec.Spec.ExternalParameters) plus "source" {uri, ref, commit};
// internalParameters the sandbox's settings and the worker; materials the
// source (commit and tree digest), the toolchains (their module, h1 as
// dirHash and zip sha256) and the dependencies; byproducts the step logs.
// The caller renders it with provenance.Statement, signs and logs it.
func (r *Result) Provenance(o ProvenanceOptions) provenance.Build {
	ext := r.Spec.ExternalParameters()
	ext["source"] = map[string]any{"uri": o.SourceURI, "ref": o.SourceRef, "commit": r.Source.Commit}
	in := map[string]any{"sandbox": r.Sandbox, "workerId": o.WorkerID}
	b := provenance.Build{
		BuildType:      provenance.BuildTypeV1,
		External:       ext,
		Internal:       in,
		BuilderID:      o.BuilderID,
		BuilderVersion: o.BuilderVersion,
		InvocationID:   o.InvocationID,
		Started:        r.Started,
		Finished:       r.Finished,
		Tenant:         o.Tenant,
	}
	for _, out := range r.Outputs {
		b.Subjects = append(b.Subjects, provenance.Subject{Name: out.Path, SHA256: out.SHA256})
	}
	src := provenance.Material{Name: "source", URI: o.SourceURI, Digest: map[string]string{"dirHash": h1Hex(r.Source.H1)}}
	if o.SourceRef != "" && o.SourceURI != "" {
		src.URI = o.SourceURI + "@" + o.SourceRef
	}
	if r.Source.Commit != "" {
		src.Digest["gitCommit"] = r.Source.Commit
	}
	b.Materials = append(b.Materials, src)
	for _, name := range slices.Sorted(maps.Keys(r.Toolchains)) {
		tc := r.Toolchains[name]
		m := provenance.Material{
			Name:   "toolchain:" + name,
			URI:    "pkg:golang/" + toolchain.ModulePath + "@" + tc.Version,
			Digest: map[string]string{"dirHash": h1Hex(tc.H1)},
		}
		if tc.SHA256 != "" {
			m.Digest["sha256"] = tc.SHA256
		}
		b.Materials = append(b.Materials, m)
	}
	for _, d := range r.Dependencies {
		b.Materials = append(b.Materials, provenance.Material{URI: d.PURL, Digest: d.Digest})
	}
	for _, s := range r.Steps {
		b.Byproducts = append(b.Byproducts, provenance.Material{Name: "log/" + s.Name, Digest: map[string]string{"sha256": s.LogSHA256}})
	}
	b.Byproducts = append(b.Byproducts, o.Byproducts...)
	return b
}

// h1Hex turns "h1:BASE64" into the hex of the SHA-256 it holds.
func h1Hex(h1 string) string {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h1, "h1:"))
	if err != nil {
		return ""
	}
	return hex.EncodeToString(raw)
}
