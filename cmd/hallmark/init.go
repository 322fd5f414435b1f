package main

import (
	"fmt"

	"github.com/hallmark-dev/hallmark/controlplane"
)

const initUsage = `Usage: hallmark init [--origin HOST] [--database URL] [--log-database DSN] [--insecure-plaintext] [--home DIR]

Creates the control plane in the data directory: the transparency log and
its Ed25519 key, the RFC 3161 timestamp authority with its key and
certificate chain, the certificate authority, the audit key, and the state
database (SQLite in the data directory, or the PostgreSQL database --database
names, which replicas of 'hallmark serve' then share). From then on every
signature 'hallmark sign' and 'hallmark attest' get is logged, with an
inclusion proof and a checkpoint in its bundle, and timestamped. Keys are
encrypted with the data directory's passphrase (HALLMARK_KEY_PASSPHRASE, or
asked for). Next: 'hallmark key generate' makes the signing key.

Flags:
  --origin HOST          the log's origin, a hostname (default log.hallmark.localhost);
                         consumers see the log's base URL as https://HOST
  --database URL         the state database: postgres://USER@HOST:PORT/DB
  --log-database DSN     keep the transparency log in MySQL/MariaDB
                         (USER@tcp(HOST:PORT)/DB) instead of DIR/log: for
                         replicas of 'hallmark serve' on several machines
  --insecure-plaintext   store the control plane's keys unencrypted (tests only)
  --home DIR             data directory (default $HALLMARK_HOME)

Export what consumers need to verify with 'hallmark trust-root'.
`

func runInit(c *cli, args []string) error {
	fs := c.flagSet("init", initUsage)
	homeDir := homeFlag(fs)
	origin := fs.String("origin", controlplane.DefaultOrigin, "")
	plaintext := fs.Bool("insecure-plaintext", false, "")
	database := fs.String("database", "", "")
	logDatabase := fs.String("log-database", "", "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("init: takes no arguments")
	}
	h, err := home(*homeDir)
	if err != nil {
		return err
	}
	var pass []byte
	if !*plaintext {
		if pass, err = c.passphrase(true); err != nil {
			return err
		}
	}
	if err := controlplane.Init(h, controlplane.InitOptions{Origin: *origin, Passphrase: pass, Database: *database, LogDatabase: *logDatabase}); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "hallmark: control plane created in %s (log origin %s)\n", h, *origin)
	return nil
}
