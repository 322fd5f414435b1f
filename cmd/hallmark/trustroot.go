package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
)

const trustRootUsage = `Usage: hallmark trust-root [--out FILE] [--home DIR]

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

Flags:
  -o, --out FILE   write to FILE instead of stdout
  --home DIR       data directory (default $HALLMARK_HOME)
`

func runTrustRoot(c *cli, args []string) error {
	fs := c.flagSet("trust-root", trustRootUsage)
	homeDir := homeFlag(fs)
	var out string
	fs.StringVar(&out, "out", "", "")
	fs.StringVar(&out, "o", "", "")
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
