package controlplane

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/audit"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/buildspec"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/state"
)

// Remote builds: a tenant submits source and spec (build.submit), a worker
// takes the oldest queued build (build.take), runs it in sandboxes and
// reports its log, outputs and the provenance it observed (build.finish);
// the control plane checks the report against what it queued and what it
// received, signs the provenance, and keeps the outputs for build.get and
// build.output.

// Limits of a source archive, checked at submission.
const (
	maxSourceFiles    = 20000
	maxSourceEntries  = 5 * maxSourceFiles // files and directories: headers compress well
	maxSourceUnpacked = 256 << 20
	maxOutputFiles    = 10000
)

// CheckSource reads a gzipped tar of a source tree as a worker will unpack
// it and refuses what it would refuse: entries other than regular files and
// directories, names that are absolute, unclean or reach out with "..",
// too many files or entries, too many bytes.
func CheckSource(archive []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return fmt.Errorf("source: not a gzipped tar: %w", err)
	}
	tr := tar.NewReader(zr)
	entries, files, total := 0, 0, int64(0)
	for ; ; entries++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("source: after %d entries: %w", entries, err)
		}
		if entries >= maxSourceEntries {
			return fmt.Errorf("source: over %d entries", maxSourceEntries)
		}
		if err := CheckSourceName(h.Name); err != nil {
			return fmt.Errorf("source: %w", err)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			files++
		case tar.TypeDir:
		default:
			return fmt.Errorf("source: %s: entry of type %q: only files and directories are unpacked", h.Name, h.Typeflag)
		}
		// A directory's data counts too: it is read past all the same.
		total += h.Size
		if files > maxSourceFiles || total > maxSourceUnpacked {
			return fmt.Errorf("source: over %d files or %d bytes unpacked", maxSourceFiles, maxSourceUnpacked)
		}
		if n, err := io.Copy(io.Discard, tr); err != nil || n != h.Size {
			return fmt.Errorf("source: %s: truncated", h.Name)
		}
	}
}

// CheckSourceName refuses a name that could land outside the directory it
// is written in: a source archive's member, or a build output's path. The
// error names neither, so the caller says which.
func CheckSourceName(name string) error {
	clean := path.Clean(strings.TrimSuffix(name, "/"))
	if name == "" || strings.HasPrefix(name, "/") || clean == ".." || strings.HasPrefix(clean, "../") || strings.ContainsRune(name, '\\') ||
		strings.ContainsRune(name, 0) || clean != strings.TrimSuffix(name, "/") {
		return fmt.Errorf("%q is not a clean relative path", truncate(name, 200))
	}
	return nil
}

func (p *Plane) submitBuild(ctx context.Context, who auth.Principal, req *api.BuildSubmit) (*api.Build, error) {
	if err := authorize(who, auth.SubmitBuild, req.Project); err != nil {
		return nil, err
	}
	if err := p.project(ctx, req.Project); err != nil {
		return nil, err
	}
	if len(req.Source) > api.MaxSource {
		return nil, api.Errorf(http.StatusRequestEntityTooLarge, "source archive of %d bytes: at most %d", len(req.Source), api.MaxSource)
	}
	if len(req.Ref) > 256 || len(req.URI) > 1024 {
		return nil, api.Errorf(http.StatusBadRequest, "ref or uri too long")
	}
	spec, err := buildspec.Parse([]byte(req.Spec))
	if err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "spec refused before anything runs: %v", err)
	}
	if err := CheckSource(req.Source); err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "%v", err)
	}
	id := newID("b")
	sum := sha256.Sum256(req.Source)
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{p.event(who, "build.submit", req.Project, id, map[string]string{
		"spec": spec.Name, "specDigest": spec.Digest(), "source": "sha256:" + hex.EncodeToString(sum[:]), "ref": req.Ref,
	})}}); err != nil {
		return nil, err
	}
	b := state.Build{ID: id, Project: req.Project, Ref: req.Ref, URI: req.URI, Spec: []byte(req.Spec), Source: req.Source, Submitter: who.String(), Created: p.now()}
	if err := p.db.AddBuild(ctx, b); err != nil {
		return nil, err
	}
	return &api.Build{ID: id, Project: req.Project, Status: state.BuildQueued, Ref: req.Ref, Submitter: b.Submitter, Created: b.Created, Outputs: []api.BuildOutput{}}, nil
}

func (p *Plane) takeBuild(ctx context.Context, who auth.Principal, req *api.BuildRef) (*api.BuildJob, error) {
	if err := authorize(who, auth.Work, ""); err != nil {
		return nil, err
	}
	b, err := p.db.ClaimBuild(ctx, who.String(), p.now())
	if errors.Is(err, state.ErrNotFound) {
		return &api.BuildJob{}, nil
	}
	if err != nil {
		return nil, err
	}
	// Audited after the claim: a claim of an empty queue changes nothing.
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{p.event(who, "build.take", b.Project, b.ID, nil)}}); err != nil {
		return nil, err
	}
	return &api.BuildJob{ID: b.ID, Project: b.Project, Ref: b.Ref, URI: b.URI, Spec: string(b.Spec), Source: b.Source, BuilderID: p.BuilderID()}, nil
}

// finishBuild checks a worker's report against the build it claimed, signs
// the provenance of a successful build, and stores the outcome.
func (p *Plane) finishBuild(ctx context.Context, who auth.Principal, req *api.BuildFinish) (*api.Build, error) {
	if err := authorize(who, auth.Work, ""); err != nil {
		return nil, err
	}
	b, err := p.db.Build(ctx, req.ID, false)
	if errors.Is(err, state.ErrNotFound) {
		return nil, api.Errorf(http.StatusNotFound, "no build %q", truncate(req.ID, 80))
	}
	if err != nil {
		return nil, err
	}
	if b.Status != state.BuildRunning || b.Worker != who.String() {
		return nil, api.Errorf(http.StatusConflict, "build %s is %s, by worker %q: only the worker running it reports it", b.ID, b.Status, b.Worker)
	}
	if len(req.Log) > api.MaxLog {
		req.Log = append(req.Log[:api.MaxLog:api.MaxLog], "\n[log cut]\n"...)
	}
	outcome := state.Build{Status: state.BuildFailed, Error: truncate(req.Error, 2000), Log: req.Log, Finished: p.now()}
	var outputs []state.Output
	var statement []byte
	var lock *state.ToolchainLock
	if req.Succeeded {
		var prov *provenance.Build
		if outputs, prov, err = p.checkReport(b, req); err != nil {
			return nil, err
		}
		lock, err = p.toolchainLock(ctx, who, b.Project, prov)
		var refused *api.Error
		switch {
		case errors.As(err, &refused):
			// The build ran, but what it was built with needs a sign-off
			// it lacks: it fails, and says why.
			outputs, outcome.Error = nil, refused.Message
		case err != nil:
			return nil, err
		default:
			statement = req.Statement
			outcome.Status, outcome.Error = state.BuildSucceeded, ""
		}
	}
	detail := map[string]string{"status": outcome.Status, "outputs": strconv.Itoa(len(outputs))}
	if outcome.Error != "" {
		detail["error"] = truncate(outcome.Error, 300)
	}
	if err := p.commit(ctx, state.Write{Nonce: req.Nonce, Audit: []audit.Event{p.event(who, "build.finish", b.Project, b.ID, detail)}}); err != nil {
		return nil, err
	}
	if statement != nil {
		signed, err := p.signItems(ctx, who, &api.SignRequest{Nonce: api.Nonce(), Project: b.Project,
			Items: []api.SignItem{{PayloadType: dsse.PayloadTypeInToto, Payload: statement}}}, "")
		if err != nil {
			return nil, err
		}
		outcome.Bundle = signed.Bundles[0]
	}
	if err := p.db.FinishBuild(ctx, b.ID, who.String(), outcome, outputs); errors.Is(err, state.ErrDecided) {
		return nil, api.Errorf(http.StatusConflict, "build %s was reported meanwhile", b.ID)
	} else if err != nil {
		return nil, err
	}
	if lock != nil {
		if err := p.db.SetToolchainLock(ctx, *lock); err != nil {
			return nil, err
		}
	}
	return p.buildOut(ctx, b.ID)
}

// checkReport checks a successful build's outputs and provenance: outputs
// with clean, distinct paths within the limits; a provenance statement of
// this control plane's builder, for this build, about exactly these outputs,
// from the spec that was queued. It returns the outputs to store and the
// parsed provenance.
func (p *Plane) checkReport(b state.Build, req *api.BuildFinish) ([]state.Output, *provenance.Build, error) {
	if len(req.Outputs) == 0 || len(req.Outputs) > maxOutputFiles {
		return nil, nil, api.Errorf(http.StatusBadRequest, "%d outputs: want 1 to %d", len(req.Outputs), maxOutputFiles)
	}
	prov, err := provenance.Parse(req.Statement)
	if err != nil {
		return nil, nil, api.Errorf(http.StatusBadRequest, "%v", err)
	}
	spec, err := buildspec.Parse(b.Spec)
	if err != nil {
		return nil, nil, fmt.Errorf("controlplane: build %s: the queued spec no longer parses: %w", b.ID, err)
	}
	specDigest, _ := prov.External["specDigest"].(map[string]any)
	switch {
	case prov.BuilderID != p.BuilderID():
		return nil, nil, api.Errorf(http.StatusBadRequest, "provenance names builder %q, not %q", truncate(prov.BuilderID, 200), p.BuilderID())
	case prov.InvocationID != b.ID:
		return nil, nil, api.Errorf(http.StatusBadRequest, "provenance is of invocation %q, not build %s", truncate(prov.InvocationID, 80), b.ID)
	case specDigest == nil || "sha256:"+fmt.Sprint(specDigest["sha256"]) != spec.Digest():
		return nil, nil, api.Errorf(http.StatusBadRequest, "provenance records another spec than build %s's %s", b.ID, spec.Digest())
	}
	subjects := map[string]string{}
	for _, s := range prov.Subjects {
		subjects[s.Name] = s.SHA256
	}
	var outputs []state.Output
	total := 0
	for _, o := range req.Outputs {
		if err := CheckSourceName(o.Path); err != nil {
			return nil, nil, api.Errorf(http.StatusBadRequest, "output %v", err)
		}
		total += len(o.Data)
		if total > api.MaxOutputs {
			return nil, nil, api.Errorf(http.StatusRequestEntityTooLarge, "outputs over %d bytes", api.MaxOutputs)
		}
		sum := sha256.Sum256(o.Data)
		got := hex.EncodeToString(sum[:])
		want, ok := subjects[o.Path]
		if !ok || want != got {
			return nil, nil, api.Errorf(http.StatusBadRequest, "output %s (sha256:%s) is not a subject of the provenance", truncate(o.Path, 200), got)
		}
		delete(subjects, o.Path)
		outputs = append(outputs, state.Output{Path: o.Path, SHA256: got, Size: int64(len(o.Data)), Data: o.Data})
	}
	for name := range subjects {
		return nil, nil, api.Errorf(http.StatusBadRequest, "the provenance names %s, which the report does not hold", truncate(name, 200))
	}
	return outputs, prov, nil
}

// logBuild appends a chunk to a running build's log.
func (p *Plane) logBuild(ctx context.Context, who auth.Principal, req *api.BuildLog) (*api.Empty, error) {
	if err := authorize(who, auth.Work, ""); err != nil {
		return nil, err
	}
	if req.Nonce == "" {
		return nil, api.Errorf(http.StatusBadRequest, "request has no nonce: every change carries a fresh one")
	}
	if len(req.Data) > api.MaxLog {
		return nil, api.Errorf(http.StatusRequestEntityTooLarge, "log chunk of %d bytes: at most %d", len(req.Data), api.MaxLog)
	}
	// Not audited, as the log itself is kept: only the worker that took the
	// build may write it.
	err := p.db.AppendBuildLog(ctx, req.ID, who.String(), req.Data, api.MaxLog)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, api.Errorf(http.StatusNotFound, "no build %q", truncate(req.ID, 80))
	case errors.Is(err, state.ErrDecided):
		return nil, api.Errorf(http.StatusConflict, "build %s is not running on this worker", truncate(req.ID, 80))
	case err != nil:
		return nil, err
	}
	return &api.Empty{}, nil
}

// buildOut is build id as the API shows it, with its outputs' names.
func (p *Plane) buildOut(ctx context.Context, id string) (*api.Build, error) {
	b, err := p.db.Build(ctx, id, false)
	if err != nil {
		return nil, err
	}
	outs, err := p.db.Outputs(ctx, id, "")
	if err != nil {
		return nil, err
	}
	out := &api.Build{ID: b.ID, Project: b.Project, Status: b.Status, Ref: b.Ref, Submitter: b.Submitter, Worker: b.Worker,
		Created: b.Created, Started: b.Started, Finished: b.Finished, Error: b.Error, Log: b.Log, Bundle: b.Bundle, Outputs: []api.BuildOutput{}}
	if b.Status == state.BuildRunning {
		// The log so far, as the worker streams it.
		if out.Log, err = p.db.BuildLog(ctx, id); err != nil {
			return nil, err
		}
	}
	for _, o := range outs {
		out.Outputs = append(out.Outputs, api.BuildOutput{Path: o.Path, SHA256: o.SHA256, Size: o.Size})
	}
	return out, nil
}

// readableBuild returns build id if who may read its project.
func (p *Plane) readableBuild(ctx context.Context, who auth.Principal, id string) (state.Build, error) {
	if id == "" || len(id) > 64 {
		return state.Build{}, api.Errorf(http.StatusBadRequest, "build id %q: want the id 'hallmark submit' printed", truncate(id, 80))
	}
	b, err := p.db.Build(ctx, id, false)
	if errors.Is(err, state.ErrNotFound) {
		return state.Build{}, api.Errorf(http.StatusNotFound, "no build %q", id)
	}
	if err != nil {
		return state.Build{}, err
	}
	if err := authorize(who, auth.ReadProject, b.Project); err != nil {
		return state.Build{}, err
	}
	return b, nil
}

func (p *Plane) getBuild(ctx context.Context, who auth.Principal, req *api.BuildRef) (*api.Build, error) {
	if _, err := p.readableBuild(ctx, who, req.ID); err != nil {
		return nil, err
	}
	return p.buildOut(ctx, req.ID)
}

func (p *Plane) getOutput(ctx context.Context, who auth.Principal, req *api.BuildRef) (*api.BuildOutput, error) {
	if _, err := p.readableBuild(ctx, who, req.ID); err != nil {
		return nil, err
	}
	var outs []state.Output
	if req.Path != "" { // for "", Outputs would list every output, without data
		var err error
		if outs, err = p.db.Outputs(ctx, req.ID, req.Path); err != nil {
			return nil, err
		}
	}
	if len(outs) == 0 {
		return nil, api.Errorf(http.StatusNotFound, "build %s has no output %q", req.ID, truncate(req.Path, 200))
	}
	o := outs[0]
	return &api.BuildOutput{Path: o.Path, SHA256: o.SHA256, Size: o.Size, Data: o.Data}, nil
}
