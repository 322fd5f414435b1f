package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"flag"
	"fmt"
	"os"

	"github.com/hallmark-dev/hallmark/bundle"
	"github.com/hallmark-dev/hallmark/digest"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/keystore"
)

const signUsage = `Usage: hallmark sign [--key NAME] [--bundle OUT] FILE...

Signs each FILE with a key of the data directory, logs the signature in the
control plane's transparency log, timestamps it, and writes a Sigstore bundle
(v0.3: a message signature over the file's SHA-256 digest, the log entry with
its inclusion proof and checkpoint, the RFC 3161 timestamp) to
FILE.sigstore.json, replacing one that is there. Files are hashed where they
lie, in constant memory; only the digest is signed. Needs 'hallmark init'.

Flags:
  -k, --key NAME      signing key (default "default"; see 'hallmark key')
  -b, --bundle OUT    write the bundle to OUT instead ("-" for stdout);
                      only with one FILE
  --home DIR          data directory (default $HALLMARK_HOME)

Prints the path of each bundle written, one per line.
`

func runSign(c *cli, args []string) error {
	fs := c.flagSet("sign", signUsage)
	sf := addSigningFlags(fs)
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
	signer, in, err := c.loadSigner(sf.home, sf.key)
	if err != nil {
		return err
	}
	if in.Type != keystore.ECDSAP256 {
		return usageErrorf("sign: key %q is %s, which signs whole messages; sign hashes files and signs the digest", sf.key, in.Type).
			hint("use an %s key", keystore.ECDSAP256)
	}
	hint, err := bundle.KeyHint(signer.Public())
	if err != nil {
		return err
	}
	ctx := context.Background()
	plane, err := c.openPlane(ctx, sf.home)
	if err != nil {
		return err
	}
	defer plane.Close(ctx)
	// Files go in groups: each group's log appends wait on one checkpoint.
	for start := 0; start < len(files); start += maxInFlight {
		group := files[start:min(start+maxInFlight, len(files))]
		bundles := make([]*bundle.Bundle, len(group))
		for i, f := range group {
			d, _, err := digest.File(f)
			if err != nil {
				return err
			}
			sig, err := signer.Sign(rand.Reader, d[:], crypto.SHA256)
			if err != nil {
				return fmt.Errorf("signing %s: %w", f, err)
			}
			if bundles[i], err = bundle.NewMessageSignature(d[:], sig, hint); err != nil {
				return err
			}
		}
		if err := record(ctx, plane, bundles, signer.Public()); err != nil {
			return err
		}
		for i, f := range group {
			path := sf.out
			if path == "" {
				path = f + ".sigstore.json"
			}
			if err := c.writeBundle(path, bundles[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// signingFlags are the flags of the commands that sign: where the data
// directory is, which key signs, where the bundle goes.
type signingFlags struct {
	home, key, out string
}

func addSigningFlags(fs *flag.FlagSet) *signingFlags {
	sf := new(signingFlags)
	fs.StringVar(&sf.home, "home", "", "")
	fs.StringVar(&sf.key, "key", defaultKey, "")
	fs.StringVar(&sf.key, "k", defaultKey, "")
	fs.StringVar(&sf.out, "bundle", "", "")
	fs.StringVar(&sf.out, "b", "", "")
	return sf
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

// writeBundle writes b to path ("-" for stdout) through a temporary file and
// a rename, and prints the path.
func (c *cli) writeBundle(path string, b *bundle.Bundle) error {
	data, err := bundle.Marshal(b)
	if err != nil {
		return err
	}
	data = append(data, '\n')
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
