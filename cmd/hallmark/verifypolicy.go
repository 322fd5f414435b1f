package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/authenticode"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/executable"
	"github.com/hallmark-dev/hallmark/internal/yamlnode"
	"github.com/hallmark-dev/hallmark/limit"
	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/verifier"
	"github.com/hallmark-dev/hallmark/vsa"
)

// A verification policy says what a release directory (the OUT of
// 'hallmark build') must prove before it is admitted: whose key, which
// trusted root, which builder, and which attestations.
//
//	apiVersion: hallmark.dev/verify/v1
//	kind: VerificationPolicy
//	key: platform.pub                  # relative to the policy file
//	trustedRoot: trusted_root.json     # relative to the policy file
//	builder: https://log.hallmark.localhost/builder
//	verdict: required                  # required (default) or optional
//	sbom: required                     # required (default) or optional
//	embedded: [pe]                     # kinds that must carry an embedded signature
type verifyPolicy struct {
	dir                string
	key, trustedRoot   string
	builder            string
	verdict, sbom      bool
	embedded           []executable.Kind
	pub                crypto.PublicKey
	roots              []*root.TrustedRoot
	caRoots, tsaRoots  *x509.CertPool
	verifierWithPolicy *verifier.Verifier
}

const verifyPolicyAPIVersion = "hallmark.dev/verify/v1"

func readVerifyPolicy(path string) (*verifyPolicy, error) {
	data, err := limit.ReadFile(path, 1<<20)
	if err != nil {
		return nil, usageErrorf("verify: --policy: %v", err)
	}
	bad := func(err error) error { return usageErrorf("verify: policy %s: %v", path, err) }
	doc, err := yamlnode.Document(data, 1<<20)
	if err != nil {
		return nil, bad(err)
	}
	fields, err := yamlnode.Reader{StringKeys: true}.Fields(doc, "", "apiVersion", "kind", "key", "trustedRoot", "builder", "verdict", "sbom", "embedded")
	if err != nil {
		return nil, bad(err)
	}
	p := &verifyPolicy{dir: filepath.Dir(path), verdict: true, sbom: true}
	var apiVersion, kind string
	required := func(f yamlnode.Field) (bool, error) {
		v, err := yamlnode.String(f.Val, f.Name)
		if err != nil {
			return false, err
		}
		switch v {
		case "required":
			return true, nil
		case "optional":
			return false, nil
		}
		return false, yamlnode.Errorf(f.Val, f.Name, "%q: want required or optional", yamlnode.Clip(v))
	}
	kinds := func(f yamlnode.Field) ([]executable.Kind, error) {
		items, err := yamlnode.List(f.Val, f.Name, 32)
		if err != nil {
			return nil, err
		}
		var ks []executable.Kind
		for i, it := range items {
			s, err := yamlnode.String(it, fmt.Sprintf("%s[%d]", f.Name, i))
			if err != nil {
				return nil, err
			}
			k, err := executable.ParseKind(s)
			if err != nil {
				return nil, err
			}
			ks = append(ks, k)
		}
		return ks, nil
	}
	for _, f := range fields {
		var err error
		switch f.Name {
		case "apiVersion":
			apiVersion, err = yamlnode.String(f.Val, f.Name)
		case "kind":
			kind, err = yamlnode.String(f.Val, f.Name)
		case "key":
			p.key, err = yamlnode.String(f.Val, f.Name)
		case "trustedRoot":
			p.trustedRoot, err = yamlnode.String(f.Val, f.Name)
		case "builder":
			p.builder, err = yamlnode.String(f.Val, f.Name)
		case "verdict":
			p.verdict, err = required(f)
		case "sbom":
			p.sbom, err = required(f)
		case "embedded":
			p.embedded, err = kinds(f)
		}
		if err != nil {
			return nil, bad(err)
		}
	}
	switch {
	case apiVersion != verifyPolicyAPIVersion || kind != "VerificationPolicy":
		return nil, bad(fmt.Errorf("want apiVersion %s and kind VerificationPolicy", verifyPolicyAPIVersion))
	case p.key == "" || p.trustedRoot == "" || p.builder == "":
		return nil, bad(errors.New("key, trustedRoot and builder are required: a release proves nothing until you say whose it must be"))
	}
	if p.pub, err = readPublicKey(filepath.Join(p.dir, p.key)); err != nil {
		return nil, err
	}
	if p.roots, err = trustedRoots(filepath.Join(p.dir, p.trustedRoot), ""); err != nil {
		return nil, err
	}
	p.caRoots, p.tsaRoots = authenticodePools(p.roots)
	if p.verifierWithPolicy, err = verifier.New(verifier.Trust{Roots: p.roots, Keys: []crypto.PublicKey{p.pub}}); err != nil {
		return nil, err
	}
	return p, nil
}

// verifyRelease checks a release directory against a verification policy,
// and says what it checked, file by file. Any failure exits 1.
func (c *cli) verifyRelease(policyPath, dir string) error {
	p, err := readVerifyPolicy(policyPath)
	if err != nil {
		return err
	}
	files := map[string]string{} // slash path to sha256 hex
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() || releaseFile(rel) { // rebuild.sigstore.json too: a bundle
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		sum, _, err := digest.File(path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = sum.Hex()
		return nil
	})
	if err != nil {
		return usageErrorf("verify: %s: %v", dir, err)
	}
	if len(files) == 0 {
		return usageErrorf("verify: %s holds no files to verify", dir)
	}
	var failures []string
	fail := func(format string, a ...any) { failures = append(failures, fmt.Sprintf(format, a...)) }
	ok := func(format string, a ...any) { fmt.Fprintf(c.stderr, "  ok  "+format+"\n", a...) }
	covers := func(what string, subjects map[string]string) bool {
		all := true
		for name, sum := range files {
			if subjects[name] != sum {
				fail("%s does not cover %s (sha256:%s)", what, name, sum)
				all = false
			}
		}
		return all
	}

	// Provenance: this builder, this build type, every file a subject.
	if payload, err := p.verifyStatement(filepath.Join(dir, provenanceFile)); err != nil {
		fail("provenance: %v", err)
	} else if prov, err := provenance.Parse(payload); err != nil {
		fail("provenance: %v", err)
	} else {
		subjects := map[string]string{}
		for _, s := range prov.Subjects {
			subjects[s.Name] = s.SHA256
		}
		switch {
		case prov.BuilderID != p.builder:
			fail("provenance: builder %q, the policy trusts %q", prov.BuilderID, p.builder)
		case prov.BuildType != provenance.BuildTypeV1:
			fail("provenance: build type %q, want %s", prov.BuildType, provenance.BuildTypeV1)
		case covers("provenance", subjects):
			ok("provenance of build %s by %s covers %d file(s)", prov.InvocationID, prov.BuilderID, len(files))
		}
	}
	// The gate's verdict: PASSED, about every file.
	if p.verdict {
		if payload, err := p.verifyStatement(filepath.Join(dir, verdictFile)); err != nil {
			fail("verdict: %v", err)
		} else if s, err := vsa.Parse(payload); err != nil {
			fail("verdict: %v", err)
		} else if s.Result != vsa.Passed {
			fail("verdict: %s", s.Result)
		} else {
			subjects := map[string]string{}
			for _, sub := range s.Subjects {
				subjects[sub.Name] = sub.Digest["sha256"]
			}
			if covers("verdict", subjects) {
				ok("verdict PASSED (%s) by %s, policy %s", strings.Join(s.VerifiedLevels, ", "), s.VerifierID, s.PolicyURI)
			}
		}
	}
	// The SBOM, attested about every file.
	if p.sbom {
		if payload, err := p.verifyStatement(filepath.Join(dir, sbomBundle)); err != nil {
			fail("SBOM: %v", err)
		} else {
			var st struct {
				PredicateType string `json:"predicateType"`
				Subject       []struct {
					Name   string            `json:"name"`
					Digest map[string]string `json:"digest"`
				} `json:"subject"`
			}
			if err := json.Unmarshal(payload, &st); err != nil || st.PredicateType != SBOMPredicateType {
				fail("SBOM: the attestation is not of type %s", SBOMPredicateType)
			} else {
				subjects := map[string]string{}
				for _, sub := range st.Subject {
					subjects[sub.Name] = sub.Digest["sha256"]
				}
				if covers("SBOM attestation", subjects) {
					ok("SBOM attested (%s)", SBOMPredicateType)
				}
			}
		}
	}
	// Every executable: its own bundle, and an embedded signature where the
	// policy wants one.
	found, err := executable.Walk(context.Background(), dir, executable.Options{})
	if err != nil {
		fail("executables: %v", err)
	}
	checked := map[string]bool{}
	for _, f := range found {
		name := f.Parts[0]
		if f.Info.Kind == "" || checked[name] || releaseFile(name) {
			continue
		}
		checked[name] = true
		path := filepath.Join(dir, filepath.FromSlash(name))
		b, err := bundle.Read(path + bundleSuffix)
		if err != nil {
			fail("%s (%s): no signature: %v", name, f.Info.Kind, err)
			continue
		}
		if _, err := p.verifierWithPolicy.Verify(b, verifier.Artifact{Path: path}, verifier.Policy{Key: true}); err != nil {
			fail("%s: %v", name, err)
			continue
		}
		note := "signed"
		if f.Info.Kind == "pe" && len(f.Parts) == 1 {
			if err := p.verifyAuthenticode(path); err != nil {
				if slices.Contains(p.embedded, executable.Kind("pe")) {
					fail("%s: embedded signature: %v", name, err)
					continue
				}
			} else {
				note = "signed, Authenticode inside"
			}
		} else if len(f.Parts) == 1 && slices.Contains(p.embedded, f.Info.Kind) {
			fail("%s: the policy wants an embedded signature in %s files, which hallmark cannot check", name, f.Info.Kind)
			continue
		}
		ok("%s (%s): %s", name, f.Info, note)
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintf(c.stderr, "  FAIL %s\n", f)
		}
		return &checkFailedError{fmt.Errorf("verify: %s does not meet policy %s: %d failure(s)", dir, policyPath, len(failures))}
	}
	fmt.Fprintf(c.stderr, "hallmark: verified %s against policy %s: %d file(s), %d executable(s)\n", dir, policyPath, len(files), len(checked))
	return nil
}

// verifyStatement verifies a DSSE bundle with the policy's key and trusted
// root, and returns its payload.
func (p *verifyPolicy) verifyStatement(path string) ([]byte, error) {
	b, err := bundle.Read(path)
	if err != nil {
		return nil, err
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("%s holds no DSSE envelope", path)
	}
	// The signature is checked for the statement's first subject; which
	// files the statement covers is the caller's to check.
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(env.Payload, &st); err != nil || len(st.Subject) == 0 {
		return nil, fmt.Errorf("%s: not an in-toto statement with subjects", path)
	}
	d, err := digest.Parse("sha256:" + st.Subject[0].Digest["sha256"])
	if err != nil {
		return nil, fmt.Errorf("%s: subject[0]: %w", path, err)
	}
	if _, err := p.verifierWithPolicy.Verify(b, verifier.Artifact{Digest: &d}, verifier.Policy{Key: true}); err != nil {
		return nil, err
	}
	return env.Payload, nil
}

func (p *verifyPolicy) verifyAuthenticode(path string) error {
	f, size, err := openSized(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = authenticode.Verify(f, size, p.caRoots, p.tsaRoots, time.Now())
	return err
}
