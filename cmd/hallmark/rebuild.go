package main

import (
	"cmp"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/repro"
	"github.com/hallmark-dev/hallmark/verifier"
)

const rebuildUsage = `Usage: hallmark rebuild PROVENANCE_BUNDLE --key PUB.pem [--source DIR] [--spec FILE]
                        [--original DIR] [--out DIR] [--trusted-root FILE]

Rebuilds what a build's provenance describes, in fresh sandboxes, and
compares every output byte for byte with the provenance's subjects (for a PE
file signed after the build, with the digest it had before, which the
provenance keeps).

The provenance bundle is verified first (signed by --key, logged, timestamped,
against the trusted root), and must be a hallmark build's (buildType
https://hallmark.dev/build/v1, this control plane's builder). The spec
(--spec, default SOURCE/hallmark.yaml) must have the digest the provenance
records, and the source tree the tree digest it records: otherwise there is
nothing to compare, and rebuild says which differs.

On a mismatch it names each differing file and explains where it differs
(sections of ELF, PE and Mach-O files, members of tar and zip archives, lines
of text, with hints at the usual causes: timestamps, build paths, build IDs),
against --original (the first build's outputs) when given; diffoscope's
report is added when it is installed. docs/reproducible-builds.md says what
makes a Go build reproducible.

The result is attested: an in-toto statement (predicateType
https://hallmark.dev/rebuild/v1) about the subjects, with the comparison,
signed by the control plane, logged and timestamped, written to
OUT/rebuild.sigstore.json.

Flags:
  --key FILE          the public key the provenance must be signed with
  --trusted-root FILE the trusted root (default: the local control plane's)
  --source DIR        the source tree (default .)
  --spec FILE         the build spec (default SOURCE/hallmark.yaml)
  --original DIR      the first build's outputs, to explain differences
  -o, --out DIR       where the rebuilt outputs go (default rebuild)
  -p, --project P     the project the attestation is signed for (default
                      $HALLMARK_PROJECT, else "default")
  --no-download       never download a toolchain missing from the module cache
  -q, --quiet         do not echo the steps' output
` + planeFlagsUsage + `
Exit codes: 0 every output reproduced; 1 an output differs or is missing, the
source or spec differs from the provenance, or the provenance does not
verify; 2 bad usage or input.
`

// rebuildStatement is the attestation of a rebuild.
type rebuildStatement struct {
	Type          string              `json:"_type"`
	Subject       []rebuildSubject    `json:"subject"`
	PredicateType string              `json:"predicateType"`
	Predicate     rebuildPredicateDoc `json:"predicate"`
}

type rebuildSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type rebuildPredicateDoc struct {
	// Provenance is the SHA-256 of the provenance statement rebuilt.
	Provenance          map[string]string `json:"provenance"`
	InvocationID        string            `json:"invocationId"`
	RebuildInvocationID string            `json:"rebuildInvocationId"`
	Builder             string            `json:"builder"`
	Reproducible        bool              `json:"reproducible"`
	Comparison          *repro.Report     `json:"comparison"`
}

func runRebuild(c *cli, args []string) error {
	fs := c.flagSet("rebuild", rebuildUsage)
	pf := addPlaneFlags(fs)
	keyPath := fs.String("key", "", "")
	rootPath := fs.String("trusted-root", "", "")
	source := fs.String("source", ".", "")
	specPath := fs.String("spec", "", "")
	original := fs.String("original", "", "")
	var out, project string
	fs.StringVar(&out, "out", "rebuild", "")
	fs.StringVar(&out, "o", "rebuild", "")
	fs.StringVar(&project, "project", defaultProject(), "")
	fs.StringVar(&project, "p", defaultProject(), "")
	noDownload := fs.Bool("no-download", false, "")
	var quiet bool
	fs.BoolVar(&quiet, "quiet", false, "")
	fs.BoolVar(&quiet, "q", false, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("rebuild: give one PROVENANCE_BUNDLE").hint("run 'hallmark rebuild --help' for usage")
	}
	if *keyPath == "" {
		return usageErrorf("rebuild: --key is required: say whose provenance it must be")
	}
	if *specPath == "" {
		*specPath = filepath.Join(*source, "hallmark.yaml")
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return usageErrorf("rebuild: --out %s is not empty", out)
	}
	statement, prov, err := verifiedProvenance(pos[0], *keyPath, *rootPath, pf.home)
	if err != nil {
		return err
	}
	spec, _, err := readSpec(*specPath)
	if err != nil {
		return err
	}
	if want := provenanceSpecDigest(prov); "sha256:"+want != spec.Digest() {
		return &checkFailedError{fmt.Errorf("rebuild: spec %s has digest %s; the provenance records sha256:%s", *specPath, spec.Digest(), want)}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	plane, cn, opts, err := c.localBuild(ctx, pf, !*noDownload, quiet)
	if err != nil {
		return err
	}
	defer cn.Close()
	if prov.BuildType != provenance.BuildTypeV1 || prov.BuilderID != plane.BuilderID() {
		return &checkFailedError{fmt.Errorf("rebuild: %s is the provenance of builder %s (build type %s), not of this control plane's builder %s", pos[0], prov.BuilderID, prov.BuildType, plane.BuilderID())}
	}
	invocation := "r-" + api.Nonce()[:16]
	fmt.Fprintf(c.stderr, "rebuild %s of %s (build %s): %d step(s)\n", invocation, spec.Name, prov.InvocationID, len(spec.Steps))
	opts.SourceDir, opts.OutDir = *source, out
	res, err := builder.Run(ctx, spec, opts)
	if res != nil {
		c.printSteps(res)
	}
	if err != nil {
		return &checkFailedError{fmt.Errorf("rebuild %s failed: %w", invocation, err)}
	}
	rebuilt := res.Provenance(builder.ProvenanceOptions{}) // its source material, as the build recorded it
	if want, got := sourceDirHash(prov), sourceDirHash(&rebuilt); want != got {
		return &checkFailedError{fmt.Errorf("rebuild: the source tree %s has tree digest %s; the provenance records %s: rebuild from the same source", *source, got, want)}
	}
	// A PE file was signed after it was built: what the build made, and a
	// rebuild makes again, is the digest the provenance keeps as a
	// byproduct "unsigned/NAME".
	built := map[string]string{}
	for _, m := range prov.Byproducts {
		if name, ok := strings.CutPrefix(m.Name, "unsigned/"); ok && m.Digest["sha256"] != "" {
			built[name] = m.Digest["sha256"]
		}
	}
	var subjects []repro.Subject
	for _, s := range prov.Subjects {
		sub := repro.Subject{Path: s.Name, SHA256: cmp.Or(built[s.Name], s.SHA256)}
		if *original != "" {
			sub.Original = filepath.Join(*original, filepath.FromSlash(s.Name))
		}
		subjects = append(subjects, sub)
	}
	report, err := repro.CompareDigests(ctx, subjects, out, repro.Options{Diffoscope: true})
	if err != nil {
		return err
	}
	if err := report.Text(c.stderr); err != nil {
		return err
	}
	sum := sha256.Sum256(statement)
	st := rebuildStatement{Type: "https://in-toto.io/Statement/v1", PredicateType: controlplane.RebuildPredicateType,
		Predicate: rebuildPredicateDoc{Provenance: map[string]string{"sha256": hex.EncodeToString(sum[:])}, InvocationID: prov.InvocationID,
			RebuildInvocationID: invocation, Builder: plane.BuilderID(), Reproducible: report.Equal, Comparison: report}}
	for _, s := range prov.Subjects {
		st.Subject = append(st.Subject, rebuildSubject{Name: s.Name, Digest: map[string]string{"sha256": s.SHA256}})
	}
	body, err := json.Marshal(st)
	if err != nil {
		return err
	}
	rec, err := call[api.BuildRecorded](ctx, cn, api.RecordBuild, &api.BuildRecord{Nonce: api.Nonce(), Project: project, Statement: body})
	if err != nil {
		return err
	}
	bundlePath := filepath.Join(out, "rebuild.sigstore.json")
	if err := atomicfile.Write(bundlePath, append(rec.Bundle, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "the rebuild's result is signed by %s, logged and timestamped: %s\n", rec.Key, bundlePath)
	if !report.Equal {
		return &checkFailedError{fmt.Errorf("rebuild %s: %d of %d output(s) differ from the provenance of build %s", invocation, len(report.Diffs), len(prov.Subjects), prov.InvocationID)}
	}
	fmt.Fprintf(c.stderr, "reproduced: all %d output(s) of build %s are byte for byte the same\n", len(prov.Subjects), prov.InvocationID)
	return nil
}

// verifiedProvenance reads a provenance bundle, verifies it against key and
// the trusted root, and returns its statement and what it says.
func verifiedProvenance(bundlePath, keyPath, rootPath, homeDir string) ([]byte, *provenance.Build, error) {
	b, err := bundle.Read(bundlePath)
	if err != nil {
		return nil, nil, err
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, nil, usageErrorf("rebuild: %s holds no DSSE envelope: it is not a provenance bundle", bundlePath)
	}
	prov, err := provenance.Parse(env.Payload)
	if err != nil {
		return nil, nil, usageErrorf("rebuild: %s: %v", bundlePath, err)
	}
	if len(prov.Subjects) == 0 {
		return nil, nil, usageErrorf("rebuild: %s: the provenance has no subjects", bundlePath)
	}
	pub, err := readPublicKey(keyPath)
	if err != nil {
		return nil, nil, err
	}
	var trust verifier.Trust
	if trust.Roots, err = trustedRoots(rootPath, homeDir); err != nil {
		return nil, nil, err
	}
	trust.Keys = []crypto.PublicKey{pub}
	v, err := verifier.New(trust)
	if err != nil {
		return nil, nil, err
	}
	first, err := digest.Parse("sha256:" + prov.Subjects[0].SHA256)
	if err != nil {
		return nil, nil, usageErrorf("rebuild: %s: subject %s: %v", bundlePath, prov.Subjects[0].Name, err)
	}
	if _, err := v.Verify(b, verifier.Artifact{Digest: &first}, verifier.Policy{Key: true}); err != nil {
		if errors.Is(err, verifier.ErrFailed) {
			return nil, nil, &checkFailedError{fmt.Errorf("rebuild: %s does not verify: %w", bundlePath, err)}
		}
		return nil, nil, err
	}
	return env.Payload, prov, nil
}

// provenanceSpecDigest is the spec digest the provenance's
// externalParameters record (hex), or "".
func provenanceSpecDigest(b *provenance.Build) string {
	d, _ := b.External["specDigest"].(map[string]any)
	s, _ := d["sha256"].(string)
	return s
}

// sourceDirHash is the tree digest (hex) of the provenance's source
// material, or "".
func sourceDirHash(b *provenance.Build) string {
	for _, m := range b.Materials {
		if m.Name == "source" {
			return m.Digest["dirHash"]
		}
	}
	return ""
}
