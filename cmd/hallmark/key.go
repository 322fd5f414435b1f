package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/api"
)

const keyUsage = `Usage:
  hallmark key generate [--name NAME] [--backend file|pkcs11] [--project P]...
  hallmark key list [--json]
  hallmark key export-public [--version N] NAME
  hallmark key rotate [--overlap DURATION] [--backend B] NAME
  hallmark key retire --version N NAME
  hallmark key restrict [--project P]... NAME

Manages the control plane's signing keys. Private keys never leave the
control plane: they live in its custody, the encrypted file keystore of the
data directory ("file", the default) or a PKCS#11 HSM ("pkcs11"); callers
only ever get signatures and public keys. All but list and export-public
need the security-admin role.

generate creates a key (ECDSA P-256; name "default" unless --name is given)
that may sign for the --project projects given, or for any project.
rotate makes a new version that signs from now on; the versions before it
stay valid for --overlap (default 24h), so what they signed still verifies
while consumers move to the new key. retire ends a version at once.
restrict sets the projects a key may sign for (none given: any).

list prints one line per key version: name@version, purpose, backend,
status, projects, SHA-256 fingerprint of the public key.
export-public prints a version's public key (default: the newest) as PEM,
the form 'hallmark verify --key' and 'cosign verify-blob --key' read.

Flags:
  -n, --name NAME     generate: the key's name
  --backend B         generate, rotate: the custody backend
  -p, --project P     generate, restrict: a project the key may sign for
  --overlap D         rotate: how long older versions stay valid
  --version N         export-public, retire: the version
  --json              list: JSON output
` + planeFlagsUsage

// defaultKey is the key used when a command is given no --key.
const defaultKey = "default"

func runKey(c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf("key: missing subcommand").hint("run 'hallmark key --help' for usage")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help":
		fmt.Fprint(c.stdout, keyUsage)
		return nil
	case "generate", "list", "export-public", "rotate", "retire", "restrict":
	default:
		return usageErrorf("key: unknown subcommand %q", sub).hint("want generate, list, export-public, rotate, retire or restrict")
	}
	fs := c.flagSet("key "+sub, keyUsage)
	pf := addPlaneFlags(fs)
	var name, backend string
	var projects stringsFlag
	fs.StringVar(&name, "name", defaultKey, "")
	fs.StringVar(&name, "n", defaultKey, "")
	fs.StringVar(&backend, "backend", "", "")
	fs.Var(&projects, "project", "")
	fs.Var(&projects, "p", "")
	overlap := fs.Duration("overlap", 0, "")
	version := fs.Int("version", 0, "")
	asJSON := fs.Bool("json", false, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	want := 1
	if sub == "generate" || sub == "list" {
		want = 0
	}
	if len(pos) != want {
		if want == 0 {
			return usageErrorf("key %s: unexpected argument %q", sub, pos[0]).hint("give the name with --name")
		}
		return usageErrorf("key %s: want one key name, got %d arguments", sub, len(pos))
	}
	if want == 1 {
		name = pos[0]
	}
	if sub == "retire" && *version <= 0 {
		return usageErrorf("key retire: --version is required").hint("'hallmark key list' shows the versions")
	}
	ctx := context.Background()
	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	req := &api.KeyRequest{Nonce: api.Nonce(), Name: name, Backend: backend, Projects: projects, Overlap: *overlap, Version: *version}
	switch sub {
	case "generate":
		k, err := call[api.Key](ctx, cn, api.GenerateKey, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: generated %s key %q in backend %s (fingerprint sha256:%s)\n", k.Algorithm, k.Name, k.Backend, fingerprint(k.PublicPEM))
	case "rotate":
		k, err := call[api.Key](ctx, cn, api.RotateKey, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: key %q version %d signs from now on (fingerprint sha256:%s); older versions stay valid for %s\n",
			k.Name, k.Version, fingerprint(k.PublicPEM), orDefault(*overlap, 24*time.Hour))
	case "retire":
		k, err := call[api.Key](ctx, cn, api.RetireKey, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: key %q version %d retired\n", k.Name, k.Version)
	case "restrict":
		if _, err := call[api.Keys](ctx, cn, api.RestrictKey, req); err != nil {
			return err
		}
		scope := "any project"
		if len(projects) > 0 {
			scope = "projects " + strings.Join(projects, ", ")
		}
		fmt.Fprintf(c.stderr, "hallmark: key %q signs for %s\n", name, scope)
	case "list":
		ks, err := call[api.Keys](ctx, cn, api.ListKeys, &api.Empty{})
		if err != nil {
			return err
		}
		if *asJSON {
			return c.printJSON(ks)
		}
		for _, k := range ks.Keys {
			scope := "any"
			if len(k.Projects) > 0 {
				scope = strings.Join(k.Projects, ",")
			}
			fmt.Fprintf(c.stdout, "%s@%d\t%s\t%s\t%s\t%s\tsha256:%s\n", k.Name, k.Version, k.Purpose, k.Backend, keyStatus(k), scope, fingerprint(k.PublicPEM))
		}
	case "export-public":
		ks, err := call[api.Keys](ctx, cn, api.ListKeys, &api.Empty{})
		if err != nil {
			return err
		}
		var found *api.Key
		for i, k := range ks.Keys {
			if k.Name == name && (*version == 0 || k.Version == *version) && (found == nil || k.Version > found.Version) {
				found = &ks.Keys[i]
			}
		}
		if found == nil {
			if *version != 0 {
				return usageErrorf("key %q has no version %d", name, *version).hint("'hallmark key list' shows the versions")
			}
			gen := "hallmark key generate"
			if name != defaultKey {
				gen += " --name " + name
			}
			return usageErrorf("key %q: no such key", name).hint("create it with '%s', or list keys with 'hallmark key list'", gen)
		}
		_, err = fmt.Fprint(c.stdout, found.PublicPEM)
		return err
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func keyStatus(k api.Key) string {
	now := time.Now()
	switch {
	case !k.Retired.IsZero():
		return "retired"
	case !k.NotAfter.IsZero() && !now.Before(k.NotAfter):
		return "expired"
	case !k.NotAfter.IsZero():
		return "valid-until-" + k.NotAfter.UTC().Format(time.RFC3339)
	}
	return "active"
}

// fingerprint returns the hex SHA-256 of a PEM public key's DER.
func fingerprint(pemKey string) string {
	block, _ := pem.Decode([]byte(pemKey))
	if block == nil {
		return "?"
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return "?"
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:])
}
