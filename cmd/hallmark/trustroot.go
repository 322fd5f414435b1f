package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/sigstore/sigstore-go/pkg/root"
)

const trustRootUsage = `Usage: hallmark trust-root [--out FILE] [--ca-pem FILE] [--tsa-pem FILE] [--home DIR]

Prints the control plane's trusted root: its transparency log (public key,
log ID, base URL, validity), its timestamp authority (certificate chain,
validity) and every version of its certificate authority (root certificate,
validity: a rotated CA stays valid for the rotation's overlap), in the
Sigstore trusted_root.json format. Consumers verify Hallmark's bundles
offline against it:

  hallmark verify --trusted-root trusted_root.json --key pub.pem FILE
  cosign verify-blob --trusted-root trusted_root.json --key pub.pem --bundle FILE.sigstore.json FILE
  cosign verify-blob --trusted-root trusted_root.json --bundle FILE.sigstore.json \
    --certificate-identity https://ORIGIN/projects/P/builders/WHO \
    --certificate-oidc-issuer https://ORIGIN --use-signed-timestamps --insecure-ignore-sct FILE

Authenticode signatures (see 'hallmark sign') verify against the same CA and
TSA, which --ca-pem and --tsa-pem write as PEM root certificates:

  osslsigncode verify -in app.exe -CAfile ca.pem -TSA-CAfile tsa.pem -ignore-crl

Flags:
  -o, --out FILE   write to FILE instead of stdout
  --ca-pem FILE    also write every CA version's root certificate, PEM
  --tsa-pem FILE   also write the TSA's root certificate, PEM
  --home DIR       data directory (default $HALLMARK_HOME)
`

func runTrustRoot(c *cli, args []string) error {
	fs := c.flagSet("trust-root", trustRootUsage)
	homeDir := homeFlag(fs)
	var out string
	fs.StringVar(&out, "out", "", "")
	fs.StringVar(&out, "o", "", "")
	caPEM := fs.String("ca-pem", "", "")
	tsaPEM := fs.String("tsa-pem", "", "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("trust-root: takes no arguments")
	}
	h, err := home(*homeDir)
	if err != nil {
		return err
	}
	tr, err := controlplane.TrustedRootOf(context.Background(), h, "")
	if errors.Is(err, controlplane.ErrNotInitialized) {
		return withHint(err, "create it with 'hallmark init'")
	}
	if err != nil {
		return err
	}
	if *caPEM != "" || *tsaPEM != "" {
		if err := writeRootPEMs(tr, *caPEM, *tsaPEM); err != nil {
			return err
		}
	}
	tr = append(tr, '\n')
	if out == "" {
		_, err := c.stdout.Write(tr)
		return err
	}
	if err := atomicfile.Write(out, tr, 0o644); err != nil {
		return fmt.Errorf("trust-root: %w", err)
	}
	fmt.Fprintln(c.stdout, out)
	return nil
}

// writeRootPEMs writes the root certificates of a trusted root's CAs and
// TSAs as PEM, to the files named ("" for none).
func writeRootPEMs(trustedRoot []byte, caFile, tsaFile string) error {
	tr, err := root.NewTrustedRootFromJSON(trustedRoot)
	if err != nil {
		return fmt.Errorf("trust-root: %w", err)
	}
	cas, tsas := rootCerts(tr)
	for _, w := range []struct {
		file  string
		certs []*x509.Certificate
	}{{caFile, cas}, {tsaFile, tsas}} {
		if w.file == "" {
			continue
		}
		var data []byte
		for _, cert := range w.certs {
			data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
		}
		if err := atomicfile.Write(w.file, data, 0o644); err != nil {
			return fmt.Errorf("trust-root: %w", err)
		}
	}
	return nil
}
