package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/authenticode"
	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/executable"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/policy"
	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/sbom"
	"github.com/hallmark-dev/hallmark/scan"
)

// What a release writes beside the outputs in OUT. verify --policy reads
// them back.
const (
	provenanceFile = "provenance.sigstore.json"
	verdictFile    = "verdict.sigstore.json"
	verdictDSSE    = "verdict.dsse.json"
	sbomFile       = "sbom.cdx.json"
	sbomBundle     = "sbom.sigstore.json"
	bundleSuffix   = ".sigstore.json"
)

// SBOMPredicateType is the predicate type of the SBOM attestation.
const SBOMPredicateType = "https://cyclonedx.org/bom"

// releaseOptions are what a release needs besides the build's result.
type releaseOptions struct {
	out, project string
	sf           *signingFlags
	provenance   builder.ProvenanceOptions
	noGate       bool
}

// release is what follows a successful build in hallmark build: find every
// file with executable content among the outputs; write their SBOM and scan
// them; have the gate judge the build (a dry run first: nothing is signed
// unless it passes); sign every executable (Authenticode inside PE files,
// then a Sigstore bundle beside each); have the control plane sign the
// provenance; record the gate's signed verdict over the files as delivered;
// attest the SBOM. It prints a summary.
func (c *cli) release(ctx context.Context, cn conn, res *builder.Result, o releaseOptions) error {
	stage := func(n int, what string) { fmt.Fprintf(c.stderr, "[%d/6] %s\n", n, what) }

	stage(1, "finding executable content in the outputs")
	found, err := executable.Walk(ctx, o.out, executable.Options{})
	if err != nil {
		return &checkFailedError{fmt.Errorf("release: the outputs could not all be looked into, so not all can be signed: %w", err)}
	}
	var files []string // top-level output files with executable content, each signed
	seen := map[string]bool{}
	for _, f := range found {
		if f.Unscanned != "" {
			return &checkFailedError{fmt.Errorf("release: %s could not be looked into (%s): what it holds cannot be signed", f.Path, f.Unscanned)}
		}
		if f.Info.Kind == "" || seen[f.Parts[0]] {
			continue
		}
		seen[f.Parts[0]] = true // an archive holding executables is signed as a whole
		files = append(files, f.Parts[0])
		fmt.Fprintf(c.stderr, "      %s: %s\n", f.Path, f.Info)
	}

	stage(2, "SBOM and scans of the outputs")
	inv, err := inventory.Walk(ctx, o.out, inventory.Options{Licenses: true})
	if err != nil {
		return err
	}
	bom, err := sbom.CycloneDX(inv, sbom.Options{ToolName: "hallmark", ToolVersion: moduleVersion(), Time: res.Source.SourceDateEpoch})
	if err != nil {
		return err
	}
	findings, err := c.scanOutputs(ctx, o, inv)
	if err != nil {
		return err
	}
	gate := &api.GateRequest{Project: o.project, Findings: findings, Labels: map[string]string{"build": o.provenance.InvocationID}}
	for _, comp := range inv.Components {
		gate.Components = append(gate.Components, api.Component{PURL: comp.PURL, Licenses: comp.Licenses})
	}
	subjects := func() []api.Subject {
		var s []api.Subject
		for _, out := range res.Outputs {
			s = append(s, api.Subject{Name: out.Path, Digest: "sha256:" + out.SHA256})
		}
		return s
	}

	if !o.noGate {
		stage(3, "the policy gate, before anything is signed")
		gate.Nonce, gate.Subjects, gate.DryRun = api.Nonce(), subjects(), true
		advice, err := call[api.GateResponse](ctx, cn, api.Gate, gate)
		if err != nil {
			return err
		}
		if advice.Verdict.Result == policy.Fail {
			c.printVerdict(&advice.Verdict)
			he := &hintedError{err: &checkFailedError{fmt.Errorf("build %s fails the policy of project %s (profile %s): %d finding(s) fail; nothing is signed",
				o.provenance.InvocationID, o.project, advice.Verdict.Profile, advice.Verdict.Counts.Fail)}}
			if advice.Verdict.Hint != "" {
				he.hint("%s", advice.Verdict.Hint)
			}
			return he
		}
	}

	// Every PE file must be one Authenticode can sign before any is signed.
	for _, f := range found {
		if f.Info.Kind != "pe" || len(f.Parts) != 1 {
			continue
		}
		if err := checkPE(filepath.Join(o.out, filepath.FromSlash(f.Parts[0]))); err != nil {
			return &checkFailedError{fmt.Errorf("release: %s cannot be signed, so the build cannot be released: %w", f.Path, err)}
		}
	}

	stage(4, fmt.Sprintf("signing %d executable file(s)", len(files)))
	unsigned := map[string]string{}
	req := o.sf.request() // a bundle for each file, as delivered
	for _, name := range files {
		path := filepath.Join(o.out, filepath.FromSlash(name))
		pe, err := c.embedAuthenticode(ctx, cn, o.sf, path, false)
		if err != nil {
			return &checkFailedError{fmt.Errorf("release: %s could not be signed: %w", name, err)}
		}
		d, size, err := digest.File(path)
		if err != nil {
			return err
		}
		req.Items = append(req.Items, api.SignItem{Digest: d.String()})
		if !pe {
			continue
		}
		for i := range res.Outputs {
			if res.Outputs[i].Path == name {
				unsigned[name] = res.Outputs[i].SHA256
				res.Outputs[i].SHA256, res.Outputs[i].Size = d.Hex(), size
			}
		}
	}
	if len(req.Items) > 0 {
		resp, err := signRequest(ctx, cn, req)
		if err != nil {
			return err
		}
		for i, name := range files {
			if err := atomicfile.Write(filepath.Join(o.out, filepath.FromSlash(name))+bundleSuffix, append(resp.Bundles[i], '\n'), 0o644); err != nil {
				return err
			}
		}
	}

	stage(5, "provenance, written and signed by the control plane")
	for name, sum := range unsigned {
		// The files as built, before their signatures were embedded: what
		// a rebuild reproduces.
		o.provenance.Byproducts = append(o.provenance.Byproducts, provenance.Material{Name: "unsigned/" + name, Digest: map[string]string{"sha256": sum}})
	}
	prov, err := provenance.Statement(res.Provenance(o.provenance))
	if err != nil {
		return fmt.Errorf("release: provenance: %w", err)
	}
	rec, err := call[api.BuildRecorded](ctx, cn, api.RecordBuild, &api.BuildRecord{Nonce: api.Nonce(), Project: o.project, Statement: prov})
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(o.out, provenanceFile), append(rec.Bundle, '\n'), 0o644); err != nil {
		return err
	}

	stage(6, "the verdict and the SBOM, signed over the files as delivered")
	var verdict *api.GateResponse
	if !o.noGate {
		gate.Nonce, gate.Subjects, gate.DryRun = api.Nonce(), subjects(), false
		if verdict, err = call[api.GateResponse](ctx, cn, api.Gate, gate); err != nil {
			return err
		}
		if verdict.Verdict.Result == policy.Fail { // the policy changed meanwhile
			c.printVerdict(&verdict.Verdict)
			return &checkFailedError{fmt.Errorf("build %s fails the policy of project %s", o.provenance.InvocationID, o.project)}
		}
		if err := errors.Join(atomicfile.Write(filepath.Join(o.out, verdictFile), append(verdict.Bundle, '\n'), 0o644),
			atomicfile.Write(filepath.Join(o.out, verdictDSSE), append(verdict.DSSE, '\n'), 0o644)); err != nil {
			return err
		}
	}
	st := statement{Type: "https://in-toto.io/Statement/v1", PredicateType: SBOMPredicateType, Predicate: json.RawMessage(bom)}
	for _, out := range res.Outputs {
		st.Subject = append(st.Subject, subject{Name: out.Path, Digest: map[string]string{"sha256": out.SHA256}})
	}
	payload, err := st.marshal()
	if err != nil {
		return err
	}
	req = o.sf.request()
	req.Items = []api.SignItem{{PayloadType: dsse.PayloadTypeInToto, Payload: payload}}
	sbomSigned, err := signRequest(ctx, cn, req)
	if err != nil {
		return err
	}
	if err := errors.Join(atomicfile.Write(filepath.Join(o.out, sbomFile), bom, 0o644),
		atomicfile.Write(filepath.Join(o.out, sbomBundle), append(sbomSigned.Bundles[0], '\n'), 0o644)); err != nil {
		return err
	}

	fmt.Fprintf(c.stderr, "\nbuild %s of project %s: %d output(s), every one of the %d executable(s) signed\n", o.provenance.InvocationID, o.project, len(res.Outputs), len(files))
	for _, out := range res.Outputs {
		mark := "  "
		if seen[out.Path] {
			mark = "* "
		}
		fmt.Fprintf(c.stderr, "  %s%-40s sha256:%s\n", mark, out.Path, out.SHA256[:16])
	}
	if verdict != nil {
		v := verdict.Verdict
		fmt.Fprintf(c.stderr, "  verdict     %s (profile %s: %d warn, %d excepted) %s\n", v.Result, v.Profile, v.Counts.Warn, v.Counts.Excepted, filepath.Join(o.out, verdictFile))
	}
	fmt.Fprintf(c.stderr, "  provenance  %s (signed by %s)\n  SBOM        %s, attested in %s\n  (* executable: Authenticode inside PE files, a Sigstore bundle beside each)\n",
		filepath.Join(o.out, provenanceFile), rec.Key, filepath.Join(o.out, sbomFile), filepath.Join(o.out, sbomBundle))
	return nil
}

// scanOutputs scans the outputs' inventory against the local vulnerability
// database, with hardening checks. Without a database there is nothing to
// judge vulnerabilities by, and the build is refused rather than waved
// through.
func (c *cli) scanOutputs(ctx context.Context, o releaseOptions, inv *inventory.Inventory) ([]scan.Finding, error) {
	if o.noGate {
		return nil, nil
	}
	empty := ""
	db, _, err := (dbFlags{db: &empty, home: &o.sf.plane.home}).open(false)
	if err != nil {
		return nil, withHint(err, "the gate judges the build's vulnerabilities: import a database first ('hallmark db import' or 'hallmark db update'), or pass --no-gate")
	}
	defer db.Close()
	rep, err := scan.Scan(ctx, db, inv, scan.Options{Root: o.out, Hardening: true})
	if err != nil {
		return nil, err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(c.stderr, "hallmark: warning: %s\n", w)
	}
	return rep.Findings, nil
}

// releaseFile reports whether name is one of the files a release writes
// beside the outputs.
func releaseFile(name string) bool {
	base := filepath.Base(name)
	switch base {
	case provenanceFile, verdictFile, verdictDSSE, sbomFile, sbomBundle:
		return true
	}
	return strings.HasSuffix(base, bundleSuffix)
}

// checkPE parses a PE file as Authenticode signing will.
func checkPE(path string) error {
	f, size, err := openSized(path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := authenticode.Parse(f, size)
	if err != nil {
		return err
	}
	if img.Signed() {
		return errors.New("it already carries an Authenticode signature")
	}
	return nil
}
