package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"
)

// Exit codes. They are part of the interface: scripts branch on them.
const (
	exitOK       = 0 // success
	exitFailed   = 1 // a verification or policy check failed
	exitBadInput = 2 // bad usage, bad input, or any other error
)

const usage = `hallmark signs what a build produces and verifies what others receive.

Usage:
  hallmark <command> [flags] [arguments]

Commands:
  init        create the local control plane: keys, CA, transparency log, timestamp authority
  admin       projects, API tokens and roles, OIDC identities, the CA
  key         the control plane's signing keys: generate, rotate, retire, restrict
  sign        sign files: a logged, timestamped Sigstore bundle for each
  attest      sign an in-toto statement about files, in a Sigstore bundle
  verify      verify a Sigstore bundle against a file or digest
  inspect     show what a file is and what is signed about it
  digest      print files' SHA-256 digests, as verify takes them
  log         read and check the transparency log; monitor it for foreign entries
  audit       show and verify the hash-chained audit log
  build       run a build spec's steps in sandboxes; sign its SLSA provenance
  rebuild     rebuild what a provenance describes; compare byte for byte
  submit      queue a build in the control plane; fetch downloads its outputs
  worker      take queued builds and run them in sandboxes
  sbom        write a CycloneDX or SPDX SBOM of a source tree or binaries
  scan        find vulnerabilities, malicious packages, missing hardening
  gate        judge a build's findings under the policy; sign the verdict
  policy      the security policy: show, check, set, history; webhooks
  findings    the findings tracker: list, show, assign, acknowledge
  exception   request, approve, reject, revoke and export policy exceptions
  db          the local vulnerability database: import, update, status
  serve       serve the control plane over HTTP: API, log, timestamp authority
  trust-root  export the control plane's trusted root, for offline verification
  version     print the version

Run 'hallmark <command> --help' for a command's flags.

Exit codes: 0 success; 1 a verification failed, or scan found what
--fail-on fails on; 2 bad usage or input, or any other error. Errors go to stderr as "hallmark: error: ..." with hints;
machine output (bundles, JSON) goes to stdout.

Environment:
  HALLMARK_HOME            data directory (default $XDG_DATA_HOME/hallmark,
                           or ~/.local/share/hallmark)
  HALLMARK_KEY_PASSPHRASE  passphrase of the data directory's keys (else a prompt)
  HALLMARK_SERVER          a control plane server to use instead of the data
                           directory's (the CLI then sends digests, never files)
  HALLMARK_TOKEN           the bearer token for HALLMARK_SERVER: an API token
                           or a CI job's OIDC ID token; without a server, the
                           caller acts in-process as the token's holder
                           rather than as the data directory's operator
  HALLMARK_PROJECT         the project sign and attest act for (default "default")
`

// command is one subcommand: its name and its run function, which gets the
// arguments after the command name. Each command's usage text lives in its
// own file, next to its run function.
type command struct {
	name string
	run  func(c *cli, args []string) error
}

var commands = []command{
	{"admin", runAdmin},
	{"attest", runAttest},
	{"audit", runAudit},
	{"build", runBuild},
	{"db", runDB},
	{"digest", runDigest},
	{"exception", runException},
	{"fetch", runFetch},
	{"findings", runFindings},
	{"gate", runGate},
	{"init", runInit},
	{"inspect", runInspect},
	{"key", runKey},
	{"log", runLog},
	{"policy", runPolicy},
	{"rebuild", runRebuild},
	{"scan", runScan},
	{"sbom", runSBOM},
	{"serve", runServe},
	{"sign", runSign},
	{"submit", runSubmit},
	{"trust-root", runTrustRoot},
	{"verify", runVerify},
	{"version", runVersion},
	{"worker", runWorker},
}

// cli carries the process's outputs to the commands, so tests can run them
// in-process.
type cli struct {
	stdout, stderr io.Writer
	pass           []byte // the data directory's passphrase, once known
}

func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadInput
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	for _, cmd := range commands {
		if cmd.name == name {
			return c.exit(cmd.run(c, args[1:]))
		}
	}
	return c.exit(usageErrorf("unknown command %q", name).hint("run 'hallmark help' for the list of commands"))
}

// exit prints err, if any, and returns the process exit code for it.
func (c *cli) exit(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(c.stderr, "hallmark: error: %v\n", err)
	var he *hintedError
	if errors.As(err, &he) {
		for _, h := range he.hints {
			fmt.Fprintf(c.stderr, "hallmark: hint: %s\n", h)
		}
	}
	var ce *checkFailedError
	if errors.As(err, &ce) {
		return exitFailed
	}
	return exitBadInput
}

// hintedError is an error with hints for the person at the terminal.
type hintedError struct {
	err   error
	hints []string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

func (e *hintedError) hint(format string, a ...any) *hintedError {
	e.hints = append(e.hints, fmt.Sprintf(format, a...))
	return e
}

func usageErrorf(format string, a ...any) *hintedError {
	return &hintedError{err: fmt.Errorf(format, a...)}
}

func withHint(err error, format string, a ...any) *hintedError {
	var he *hintedError
	if errors.As(err, &he) {
		return he.hint(format, a...)
	}
	return (&hintedError{err: err}).hint(format, a...)
}

// checkFailedError marks a failed verification or policy check: exit code 1.
type checkFailedError struct{ err error }

func (e *checkFailedError) Error() string { return e.err.Error() }
func (e *checkFailedError) Unwrap() error { return e.err }

// flagSet returns a flag set for a command whose usage text is text.
func (c *cli) flagSet(name, text string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { fmt.Fprint(c.stdout, text) }
	return fs
}

// parse parses args with fs, allowing flags after positional arguments, as in
// "hallmark sign a.txt --key release". Everything after "--" is positional.
// Asking for help prints the usage and returns flag.ErrHelp.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.Usage()
				return nil, err
			}
			return nil, usageErrorf("%s: %v", fs.Name(), err).hint("run 'hallmark %s --help' for usage", fs.Name())
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stringsFlag is a flag that may be given more than once.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// homeFlag registers --home on fs; home resolves it.
func homeFlag(fs *flag.FlagSet) *string {
	return fs.String("home", "", "data `DIR` (default $HALLMARK_HOME, else $XDG_DATA_HOME/hallmark)")
}

// home returns the data directory: the flag, else $HALLMARK_HOME, else
// $XDG_DATA_HOME/hallmark, else ~/.local/share/hallmark.
func home(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if h := os.Getenv("HALLMARK_HOME"); h != "" {
		return h, nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "hallmark"), nil
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", withHint(fmt.Errorf("no data directory: %w", err), "set HALLMARK_HOME or pass --home")
	}
	return filepath.Join(u, ".local", "share", "hallmark"), nil
}

// passphrase returns the data directory's passphrase, which protects all of
// its keys: from $HALLMARK_KEY_PASSPHRASE, or asked for on the terminal once
// per process (twice when confirm is set, for a new key).
func (c *cli) passphrase(confirm bool) ([]byte, error) {
	if c.pass != nil {
		return c.pass, nil
	}
	if p, ok := os.LookupEnv("HALLMARK_KEY_PASSPHRASE"); ok {
		if p == "" {
			return nil, usageErrorf("HALLMARK_KEY_PASSPHRASE is set but empty")
		}
		c.pass = []byte(p)
		return c.pass, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, usageErrorf("no key passphrase: HALLMARK_KEY_PASSPHRASE is not set and there is no terminal to ask on").
			hint("set HALLMARK_KEY_PASSPHRASE in the environment")
	}
	defer tty.Close()
	read := func(p string) ([]byte, error) {
		fmt.Fprint(tty, p)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		return b, err
	}
	p, err := read("Passphrase of the data directory's keys: ")
	if err != nil {
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	if len(p) == 0 {
		return nil, usageErrorf("empty passphrase")
	}
	if confirm {
		again, err := read("Confirm passphrase: ")
		if err != nil {
			return nil, fmt.Errorf("reading passphrase: %w", err)
		}
		if string(again) != string(p) {
			return nil, usageErrorf("passphrases do not match")
		}
	}
	c.pass = p
	return p, nil
}
