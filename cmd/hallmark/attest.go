package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"

	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/keystore"
	"github.com/hallmark-dev/hallmark/limit"
)

const attestUsage = `Usage: hallmark attest [--key NAME] [--bundle OUT] --predicate-type URI --predicate FILE SUBJECT...

Makes an in-toto Statement v1 whose subjects are the SUBJECT files (by name
and SHA-256 digest) and whose predicate is the JSON object in FILE, signs it
in a DSSE envelope, logs and timestamps the signature, and writes a Sigstore
bundle (v0.3) holding the envelope, the log entry and the timestamp. Needs
'hallmark init'.

Flags:
  --predicate-type URI   the predicate's type, an absolute URI, for example
                         https://slsa.dev/provenance/v1
  --predicate FILE       the predicate, a JSON object (at most 16 MiB)
  -k, --key NAME         signing key (default "default"), ecdsa-p256
  -b, --bundle OUT       where to write the bundle ("-" for stdout); the
                         default, with one SUBJECT, is SUBJECT.intoto.sigstore.json
  --home DIR             data directory (default $HALLMARK_HOME)

Prints the path of the bundle written.
`

func runAttest(c *cli, args []string) error {
	fs := c.flagSet("attest", attestUsage)
	sf := addSigningFlags(fs)
	predType := fs.String("predicate-type", "", "")
	predFile := fs.String("predicate", "", "")
	subjects, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(subjects) == 0:
		return usageErrorf("attest: no subjects given").hint("run 'hallmark attest --help' for usage")
	case *predType == "":
		return usageErrorf("attest: --predicate-type is required").hint("for example --predicate-type https://slsa.dev/provenance/v1")
	case *predFile == "":
		return usageErrorf("attest: --predicate is required")
	case sf.out == "" && len(subjects) > 1:
		return usageErrorf("attest: %d subjects need an explicit --bundle", len(subjects))
	}
	if u, err := url.Parse(*predType); err != nil || !u.IsAbs() {
		return usageErrorf("attest: --predicate-type %q is not an absolute URI", *predType).
			hint("for example https://slsa.dev/provenance/v1 or https://cyclonedx.org/bom")
	}
	predicate, err := readPredicate(*predFile)
	if err != nil {
		return err
	}
	for _, f := range subjects {
		if err := checkRegular(f); err != nil {
			return err
		}
	}
	signer, in, err := c.loadSigner(sf.home, sf.key)
	if err != nil {
		return err
	}
	if in.Type != keystore.ECDSAP256 {
		return usageErrorf("attest: key %q is %s; its signatures over a whole envelope cannot be logged as a Rekor v2 hashedrekord entry", sf.key, in.Type).
			hint("use an %s key", keystore.ECDSAP256)
	}
	ctx := context.Background()
	plane, err := c.openPlane(ctx, sf.home)
	if err != nil {
		return err
	}
	defer plane.Close(ctx)
	st := statement{Type: ita1.StatementTypeUri, PredicateType: *predType, Predicate: predicate}
	for _, f := range subjects {
		d, _, err := digest.File(f)
		if err != nil {
			return err
		}
		st.Subject = append(st.Subject, subject{Name: filepath.ToSlash(filepath.Clean(f)), Digest: map[string]string{digest.Algorithm: d.Hex()}})
	}
	payload, err := st.marshal()
	if err != nil {
		return err
	}
	hint, err := bundle.KeyHint(signer.Public())
	if err != nil {
		return err
	}
	env, err := dsse.Sign(signer, "", dsse.PayloadTypeInToto, payload)
	if err != nil {
		return err
	}
	b, err := bundle.NewDSSE(env, hint)
	if err != nil {
		return err
	}
	if err := plane.Record(ctx, b, signer.Public()); err != nil {
		return err
	}
	if sf.out == "" {
		sf.out = subjects[0] + ".intoto.sigstore.json"
	}
	return c.writeBundle(sf.out, b)
}

// statement is an in-toto Statement v1 with its predicate kept as the exact
// bytes given, so no number or key order of the predicate is changed.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// marshal returns the statement's JSON, checked by the in-toto attestation
// bindings' own validation.
func (s *statement) marshal() ([]byte, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var check ita1.Statement
	if err := protojson.Unmarshal(data, &check); err != nil {
		return nil, fmt.Errorf("attest: statement: %w", err)
	}
	if err := check.Validate(); err != nil {
		return nil, fmt.Errorf("attest: statement: %w", err)
	}
	return data, nil
}

// readPredicate reads a predicate file: one JSON object, compacted.
func readPredicate(path string) (json.RawMessage, error) {
	data, err := limit.ReadFile(path, limit.Predicate)
	if err != nil {
		return nil, fmt.Errorf("predicate: %w", err)
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("predicate %s: not a JSON object: %w", path, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("predicate %s: not a JSON object: null", path)
	}
	if dec.More() {
		return nil, fmt.Errorf("predicate %s: data after the JSON object", path)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, fmt.Errorf("predicate %s: %w", path, err)
	}
	return buf.Bytes(), nil
}
