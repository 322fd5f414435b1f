package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
)

const signUsage = `Usage: hallmark sign [--key NAME] [--project P] [--certificate] [--bundle OUT] FILE...

Has the control plane sign each FILE: the file is hashed here, in constant
memory, and only its SHA-256 digest goes to the control plane, which signs it
with a key it holds (no key ever leaves it), logs the signature in its
transparency log, timestamps it, and returns a Sigstore bundle (v0.3: a
message signature over the digest, the log entry with its inclusion proof and
checkpoint, the RFC 3161 timestamp). The bundle goes to FILE.sigstore.json,
replacing one that is there.

A PE file (a Windows EXE, DLL, SYS or EFI image, recognised by content) is
first signed inside, with Authenticode: its image digest (package
authenticode) goes to the control plane, which signs it with the same key and
a short-lived code-signing certificate from its CA, counter-signed by its
TSA; the signature is embedded (certificate table, PE checksum), into a
temporary file renamed over FILE. The bundle then covers the signed file.
'osslsigncode verify -CAfile ca.pem -TSA-CAfile tsa-root.pem' accepts it
('hallmark trust-root --ca-pem', '--tsa-pem' write them). A PE file that
cannot be parsed is refused; one already signed is refused unless
--replace-signature.

Flags:
  -k, --key NAME      signing key (default "default"; see 'hallmark key')
  -p, --project P     the project signing (default $HALLMARK_PROJECT, or
                      "default")
  --certificate       bundles carry a short-lived certificate from the control
                      plane's CA naming the project and the caller, for
                      'verify --certificate-identity'; else a key hint
  -b, --bundle OUT    write the bundle to OUT instead ("-" for stdout);
                      only with one FILE
  --no-authenticode   do not embed Authenticode signatures in PE files
  --replace-signature replace a PE file's existing Authenticode signature
` + planeFlagsUsage + `
Prints the path of each bundle written, one per line.
`

func runSign(c *cli, args []string) error {
	fs := c.flagSet("sign", signUsage)
	sf := addSigningFlags(fs)
	noAuthenticode := fs.Bool("no-authenticode", false, "")
	replace := fs.Bool("replace-signature", false, "")
	files, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErrorf("sign: no files given").hint("run 'hallmark sign --help' for usage")
	}
	if sf.out != "" && len(files) > 1 {
		return usageErrorf("sign: --bundle names one output, but %d files were given", len(files)).
			hint("drop --bundle to write FILE.sigstore.json beside each file")
	}
	// Check every input before asking for a passphrase or signing anything.
	for _, f := range files {
		if err := checkRegular(f); err != nil {
			return err
		}
	}
	ctx := context.Background()
	cn, err := c.connect(ctx, sf.plane)
	if err != nil {
		return err
	}
	defer cn.Close()
	if !*noAuthenticode {
		for _, f := range files {
			if _, err := c.embedAuthenticode(ctx, cn, sf, f, *replace); err != nil {
				return err
			}
		}
	}
	// Files go in groups, one request each: the group's log appends wait on
	// one checkpoint.
	for start := 0; start < len(files); start += api.MaxSignItems {
		group := files[start:min(start+api.MaxSignItems, len(files))]
		req := sf.request()
		for _, f := range group {
			d, _, err := digest.File(f)
			if err != nil {
				return err
			}
			req.Items = append(req.Items, api.SignItem{Digest: "sha256:" + hex.EncodeToString(d[:])})
		}
		resp, err := signRequest(ctx, cn, req)
		if err != nil {
			return err
		}
		for i, f := range group {
			path := sf.out
			if path == "" {
				path = f + ".sigstore.json"
			}
			if err := c.writeBundle(path, resp.Bundles[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// signRequest sends req and checks that every bundle came back.
func signRequest(ctx context.Context, cn conn, req *api.SignRequest) (*api.SignResponse, error) {
	resp, err := call[api.SignResponse](ctx, cn, api.Sign, req)
	if err != nil {
		return nil, err
	}
	if len(resp.Bundles) != len(req.Items) {
		return nil, fmt.Errorf("sign: the control plane returned %d bundles for %d items", len(resp.Bundles), len(req.Items))
	}
	return resp, nil
}

// signingFlags are the flags of the commands that sign: where the control
// plane is, which key signs for which project, where the bundle goes.
type signingFlags struct {
	plane             *planeFlags
	key, project, out string
	certificate       bool
}

func addSigningFlags(fs *flag.FlagSet) *signingFlags {
	sf := &signingFlags{plane: addPlaneFlags(fs)}
	fs.StringVar(&sf.key, "key", defaultKey, "")
	fs.StringVar(&sf.key, "k", defaultKey, "")
	project := defaultProject()
	fs.StringVar(&sf.project, "project", project, "")
	fs.StringVar(&sf.project, "p", project, "")
	fs.BoolVar(&sf.certificate, "certificate", false, "")
	fs.StringVar(&sf.out, "bundle", "", "")
	fs.StringVar(&sf.out, "b", "", "")
	return sf
}

// request returns a sign request with the flags' settings and a fresh nonce.
func (sf *signingFlags) request() *api.SignRequest {
	return &api.SignRequest{Nonce: api.Nonce(), Project: sf.project, Key: sf.key, Certificate: sf.certificate}
}

// checkRegular checks that path names a regular file.
func checkRegular(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	return nil
}

// writeBundle checks the bundle the control plane returned and writes it to
// path ("-" for stdout) through a temporary file and a rename, and prints
// the path.
func (c *cli) writeBundle(path string, raw []byte) error {
	if _, err := bundle.Parse(raw); err != nil {
		return fmt.Errorf("the control plane returned a malformed bundle: %w", err)
	}
	data := append(raw, '\n')
	if path == "-" {
		_, err := c.stdout.Write(data)
		return err
	}
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("writing bundle: %w", err)
	}
	fmt.Fprintln(c.stdout, path)
	return nil
}

// defaultProject is the project commands act for unless told: $HALLMARK_PROJECT,
// else the control plane's default project.
func defaultProject() string {
	if p := os.Getenv("HALLMARK_PROJECT"); p != "" {
		return p
	}
	return controlplane.DefaultProject
}
