package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/hallmark-dev/hallmark/authenticode"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/executable"
)

const inspectUsage = `Usage: hallmark inspect [--bundle FILE] [--json] FILE

Shows what FILE is and what is signed about it, without judging it ('hallmark
verify' judges): its SHA-256 and the kind of executable content it holds; for
a PE file its embedded Authenticode signature (image digest, signer
certificate and issuer, validity, RFC 3161 timestamp); and for its Sigstore
bundle (FILE.sigstore.json, or --bundle) who signed it, what statement it
carries, and which transparency log entry records it, with its log index and
the timestamps.

Flags:
  -b, --bundle FILE   the bundle (default FILE.sigstore.json, if there is one)
  --json              JSON output
`

// inspection is what inspect shows, as JSON.
type inspection struct {
	File         string             `json:"file"`
	SHA256       string             `json:"sha256"`
	Size         int64              `json:"size"`
	Executable   *executable.Info   `json:"executable,omitempty"`
	Authenticode *authenticodeShown `json:"authenticode,omitempty"`
	Bundle       *bundleShown       `json:"bundle,omitempty"`
}

type authenticodeShown struct {
	ImageDigest string    `json:"imageDigest"`
	FileDigest  string    `json:"fileDigest"`
	Matches     bool      `json:"matches"`
	Signer      string    `json:"signer"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	Timestamp   time.Time `json:"timestamp,omitzero"`
	TSA         string    `json:"tsa,omitempty"`
}

type bundleShown struct {
	Path          string      `json:"path"`
	MediaType     string      `json:"mediaType"`
	Signer        string      `json:"signer"`
	PredicateType string      `json:"predicateType,omitempty"`
	LogEntries    []logShown  `json:"logEntries"`
	Timestamps    []time.Time `json:"timestamps"`
}

type logShown struct {
	LogIndex       int64     `json:"logIndex"`
	LogID          string    `json:"logId"`
	Kind           string    `json:"kind"`
	IntegratedTime time.Time `json:"integratedTime,omitzero"`
	Checkpoint     string    `json:"checkpoint,omitempty"`
}

func runInspect(c *cli, args []string) error {
	fs := c.flagSet("inspect", inspectUsage)
	var bundlePath string
	fs.StringVar(&bundlePath, "bundle", "", "")
	fs.StringVar(&bundlePath, "b", "", "")
	asJSON := fs.Bool("json", false, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("inspect: give one FILE").hint("run 'hallmark inspect --help' for usage")
	}
	path := pos[0]
	if err := checkRegular(path); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return usageErrorf("inspect: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	d, size, err := digest.File(path)
	if err != nil {
		return err
	}
	out := inspection{File: path, SHA256: d.String(), Size: size}
	if info, ok, err := executable.Detect(f, st.Size(), path); err != nil {
		return err
	} else if ok {
		out.Executable = &info
	}
	if out.Executable != nil && out.Executable.Kind == "pe" {
		if img, err := authenticode.Parse(f, st.Size()); err == nil && img.Signed() {
			sig, err := authenticode.Inspect(f, st.Size())
			if err != nil {
				return &checkFailedError{fmt.Errorf("inspect: %s: embedded Authenticode signature: %w", path, err)}
			}
			a := &authenticodeShown{ImageDigest: fmt.Sprintf("sha256:%x", sig.Digest), FileDigest: fmt.Sprintf("sha256:%x", sig.FileDigest),
				Matches: string(sig.Digest) == string(sig.FileDigest), Signer: certName(sig.Signer), Issuer: sig.Signer.Issuer.String(),
				Serial: sig.Signer.SerialNumber.Text(16), NotBefore: sig.Signer.NotBefore, NotAfter: sig.Signer.NotAfter}
			if sig.Timestamp != nil {
				a.Timestamp = sig.Timestamp.Time.UTC()
			}
			out.Authenticode = a
		}
	}
	if bundlePath == "" {
		if _, err := os.Stat(path + ".sigstore.json"); err == nil {
			bundlePath = path + ".sigstore.json"
		}
	}
	if bundlePath != "" {
		b, err := bundle.Read(bundlePath)
		if err != nil {
			return err
		}
		out.Bundle = showBundle(bundlePath, b)
	}
	if *asJSON {
		return c.printJSON(out)
	}
	w := c.stdout
	fmt.Fprintf(w, "%s\n  sha256      %s\n  size        %d bytes\n", path, strings.TrimPrefix(out.SHA256, "sha256:"), out.Size)
	if e := out.Executable; e != nil {
		fmt.Fprintf(w, "  content     %s\n", e)
	} else {
		fmt.Fprintf(w, "  content     no executable content\n")
	}
	if a := out.Authenticode; a != nil {
		fmt.Fprintf(w, "Authenticode (embedded)\n  signer      %s\n  issuer      %s\n  serial      %s\n  valid       %s to %s\n  image       %s",
			a.Signer, a.Issuer, a.Serial, a.NotBefore.UTC().Format(time.RFC3339), a.NotAfter.UTC().Format(time.RFC3339), a.ImageDigest)
		if a.Matches {
			fmt.Fprintln(w, " (the file's)")
		} else {
			fmt.Fprintf(w, " (the file's is %s: changed since it was signed)\n", a.FileDigest)
		}
		if !a.Timestamp.IsZero() {
			fmt.Fprintf(w, "  timestamp   %s\n", a.Timestamp.Format(time.RFC3339))
		}
	} else if out.Executable != nil && out.Executable.Kind == "pe" {
		fmt.Fprintf(w, "Authenticode: none embedded\n")
	}
	if b := out.Bundle; b != nil {
		fmt.Fprintf(w, "Sigstore bundle %s (%s)\n  signer      %s\n", b.Path, b.MediaType, b.Signer)
		if b.PredicateType != "" {
			fmt.Fprintf(w, "  statement   %s\n", b.PredicateType)
		}
		for _, e := range b.LogEntries {
			fmt.Fprintf(w, "  log entry   %d of log %s (%s)", e.LogIndex, e.LogID, e.Kind)
			if !e.IntegratedTime.IsZero() {
				fmt.Fprintf(w, ", integrated %s", e.IntegratedTime.Format(time.RFC3339))
			}
			fmt.Fprintln(w)
			if e.Checkpoint != "" {
				fmt.Fprintf(w, "  checkpoint  %s\n", e.Checkpoint)
			}
		}
		for _, t := range b.Timestamps {
			fmt.Fprintf(w, "  timestamp   %s (RFC 3161)\n", t.Format(time.RFC3339))
		}
	} else {
		fmt.Fprintf(w, "Sigstore bundle: none found (looked for %s.sigstore.json)\n", path)
	}
	return nil
}

// showBundle describes a bundle without verifying it.
func showBundle(path string, b *bundle.Bundle) *bundleShown {
	out := &bundleShown{Path: path, MediaType: b.GetMediaType(), LogEntries: []logShown{}, Timestamps: []time.Time{}}
	vm := b.GetVerificationMaterial()
	switch {
	case vm.GetCertificate() != nil:
		out.Signer = "a certificate (verify with --certificate-identity)"
	case vm.GetX509CertificateChain() != nil:
		out.Signer = "a certificate chain"
	case vm.GetPublicKey() != nil:
		out.Signer = "key " + vm.GetPublicKey().GetHint()
	}
	if env := b.GetDsseEnvelope(); env != nil {
		var st struct {
			PredicateType string `json:"predicateType"`
		}
		if json.Unmarshal(env.Payload, &st) == nil {
			out.PredicateType = st.PredicateType
		}
	}
	for _, e := range vm.GetTlogEntries() {
		l := logShown{LogIndex: e.GetLogIndex(), LogID: base64.StdEncoding.EncodeToString(e.GetLogId().GetKeyId()),
			Kind: e.GetKindVersion().GetKind() + " " + e.GetKindVersion().GetVersion()}
		if t := e.GetIntegratedTime(); t > 0 {
			l.IntegratedTime = time.Unix(t, 0).UTC()
		}
		// A checkpoint's note starts "ORIGIN\nTREE SIZE\n"; the bundle is
		// not verified here, so a shorter one is shown as it is.
		if cp := e.GetInclusionProof().GetCheckpoint().GetEnvelope(); cp != "" {
			if lines := strings.SplitN(cp, "\n", 3); len(lines) >= 2 {
				l.Checkpoint = lines[0] + " tree size " + lines[1]
			} else {
				l.Checkpoint = strconv.Quote(cp)
			}
		}
		out.LogEntries = append(out.LogEntries, l)
	}
	for _, ts := range vm.GetTimestampVerificationData().GetRfc3161Timestamps() {
		if t, err := rfc3161Time(ts.GetSignedTimestamp()); err == nil {
			out.Timestamps = append(out.Timestamps, t)
		}
	}
	return out
}

// rfc3161Time is the genTime of a DER TimeStampResp (as bundles hold
// them) or TimeStampToken, unverified.
func rfc3161Time(der []byte) (time.Time, error) {
	ts, err := timestamp.ParseResponse(der)
	if err != nil {
		if ts, err = timestamp.Parse(der); err != nil {
			return time.Time{}, err
		}
	}
	return ts.Time.UTC(), nil
}
