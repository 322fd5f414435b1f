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

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/limit"
)

const attestUsage = `Usage: hallmark attest [--key NAME] [--project P] [--bundle OUT] --predicate-type URI --predicate FILE SUBJECT...

Makes an in-toto Statement v1 whose subjects are the SUBJECT files (by name
and SHA-256 digest) and whose predicate is the JSON object in FILE, and has
the control plane sign it in a DSSE envelope, log and timestamp the
signature; writes the Sigstore bundle (v0.3) holding the envelope, the log
entry and the timestamp. Files are hashed here; only the statement travels.

Flags:
  --predicate-type URI   the predicate's type, an absolute URI, for example
                         https://slsa.dev/provenance/v1
  --predicate FILE       the predicate, a JSON object (the statement at most 4 MiB)
  -k, --key NAME         signing key (default "default")
  -p, --project P        the project signing (default $HALLMARK_PROJECT, or "default")
  --certificate          a short-lived certificate naming project and caller
                         instead of a key hint
  -b, --bundle OUT       where to write the bundle ("-" for stdout); the
                         default, with one SUBJECT, is SUBJECT.intoto.sigstore.json
` + planeFlagsUsage + `
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
	if len(payload) > api.MaxPayload {
		return usageErrorf("attest: the statement is %d bytes; the control plane signs at most %d", len(payload), api.MaxPayload)
	}
	ctx := context.Background()
	cn, err := c.connect(ctx, sf.plane)
	if err != nil {
		return err
	}
	defer cn.Close()
	req := sf.request()
	req.Items = []api.SignItem{{PayloadType: dsse.PayloadTypeInToto, Payload: payload}}
	resp, err := signRequest(ctx, cn, req)
	if err != nil {
		return err
	}
	if sf.out == "" {
		sf.out = subjects[0] + ".intoto.sigstore.json"
	}
	return c.writeBundle(sf.out, resp.Bundles[0])
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
