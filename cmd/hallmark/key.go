package main

import (
	"crypto"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hallmark-dev/hallmark/keystore"
)

const keyUsage = `Usage:
  hallmark key generate [--type ecdsa-p256|ed25519] [--name NAME] [--insecure-plaintext]
  hallmark key list
  hallmark key export-public NAME

Manages the signing keys of the local control plane, in DIR/keys of the data
directory. Private keys are encrypted at rest with a passphrase, taken from
HALLMARK_KEY_PASSPHRASE or asked for on the terminal; they are never printed.

generate creates a key (name "default" unless --name is given):
  -t, --type TYPE           ecdsa-p256 (default) or ed25519. ECDSA signs digests,
                            so files are hashed where they lie; Ed25519 signs
                            whole messages and serves attest only
  -n, --name NAME           the key's name
  --insecure-plaintext      store the private key unencrypted (tests only)

list prints one line per key: name, type, protection, SHA-256 fingerprint.

export-public prints the public key as a PEM SubjectPublicKeyInfo, the form
'hallmark verify --key' and 'cosign verify-blob --key' read.

Flags common to all:
  --home DIR                data directory (default $HALLMARK_HOME)
`

// defaultKey is the key used when a command is given no --key.
const defaultKey = "default"

func runKey(c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf("key: missing subcommand").hint("run 'hallmark key --help' for usage")
	}
	sub, args := args[0], args[1:]
	fs := c.flagSet("key "+sub, keyUsage)
	homeDir := homeFlag(fs)
	switch sub {
	case "-h", "-help", "--help":
		fmt.Fprint(c.stdout, keyUsage)
		return nil
	case "generate":
		var typ, name string
		fs.StringVar(&typ, "type", keystore.ECDSAP256, "")
		fs.StringVar(&typ, "t", keystore.ECDSAP256, "")
		fs.StringVar(&name, "name", defaultKey, "")
		fs.StringVar(&name, "n", defaultKey, "")
		plaintext := fs.Bool("insecure-plaintext", false, "")
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("key generate: unexpected argument %q", pos[0]).hint("give the name with --name")
		}
		store, err := keyStore(*homeDir)
		if err != nil {
			return err
		}
		if err := keystore.CheckName(name); err != nil {
			return err
		}
		if _, err := store.Info(name); err == nil {
			return usageErrorf("key %q already exists", name).hint("choose another --name; keys are never overwritten")
		}
		var pass []byte
		if !*plaintext {
			if pass, err = c.passphrase(true); err != nil {
				return err
			}
		}
		in, err := store.Generate(name, typ, pass)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: generated %s key %q (fingerprint %s)\n", in.Type, in.Name, in.Fingerprint)
		return nil
	case "list":
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("key list: takes no arguments")
		}
		store, err := keyStore(*homeDir)
		if err != nil {
			return err
		}
		keys, err := store.List()
		if err != nil {
			return err
		}
		for _, k := range keys {
			prot := "encrypted"
			if !k.Encrypted {
				prot = "plaintext"
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\tsha256:%s\n", k.Name, k.Type, prot, k.Fingerprint)
		}
		return nil
	case "export-public":
		pos, err := c.parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageErrorf("key export-public: want one key name, got %d arguments", len(pos))
		}
		store, err := keyStore(*homeDir)
		if err != nil {
			return err
		}
		p, err := store.PublicPEM(pos[0])
		if err != nil {
			return keyError(err, pos[0])
		}
		_, err = c.stdout.Write(p)
		return err
	default:
		return usageErrorf("key: unknown subcommand %q", sub).hint("want generate, list or export-public")
	}
}

func keyStore(homeFlag string) (*keystore.Store, error) {
	h, err := home(homeFlag)
	if err != nil {
		return nil, err
	}
	return &keystore.Store{Dir: filepath.Join(h, "keys")}, nil
}

// keyError adds the hint that fits a keystore error.
func keyError(err error, name string) error {
	switch {
	case errors.Is(err, keystore.ErrNotFound):
		gen := "hallmark key generate"
		if name != defaultKey {
			gen += " --name " + name
		}
		return withHint(err, "create it with '%s', or list keys with 'hallmark key list'", gen)
	case errors.Is(err, keystore.ErrPassphrase):
		return withHint(err, "check the passphrase (HALLMARK_KEY_PASSPHRASE, when it is set)")
	}
	return err
}

// loadSigner opens key name of the store in homeFlag's data directory,
// asking for the passphrase if the key is encrypted.
func (c *cli) loadSigner(homeFlag, name string) (crypto.Signer, *keystore.Info, error) {
	store, err := keyStore(homeFlag)
	if err != nil {
		return nil, nil, err
	}
	in, err := store.Info(name)
	if err != nil {
		return nil, nil, keyError(err, name)
	}
	var pass []byte
	if in.Encrypted {
		if pass, err = c.passphrase(false); err != nil {
			return nil, nil, err
		}
	}
	s, err := store.Signer(name, pass)
	if err != nil {
		return nil, nil, keyError(err, name)
	}
	return s, in, nil
}
