//go:build cgo

// Package softhsmtest gives tests a fresh SoftHSM2 token to run the custody
// package's PKCS#11 backend against.
//
// New makes a token in a temporary directory of its own, so tests never touch
// the system's tokens (/var/lib/softhsm) and leave nothing behind. SoftHSM reads
// its configuration from SOFTHSM2_CONF when the library is initialized, so New
// sets that variable with t.Setenv: tests that use it cannot run in parallel,
// and every custody.PKCS11 a test opens must be closed before the test ends
// (the library is initialized again, with the next test's configuration, only
// once the last one is closed).
//
// New skips the test when SoftHSM2 is not installed (Debian package softhsm2),
// and when the test binary is built without cgo, which PKCS#11 needs.
package softhsmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hallmark-dev/hallmark/custody"
)

// The token New makes.
const (
	TokenLabel = "hallmark-test"
	PIN        = "1234"
	SOPIN      = "5678"
)

// modules lists where New looks for the SoftHSM2 library, in order.
var modules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// New initializes an empty SoftHSM2 token labelled TokenLabel with user PIN
// PIN in a temporary directory, points SOFTHSM2_CONF at it for the rest of
// the test, and returns the configuration that opens it.
func New(t testing.TB) custody.PKCS11Config {
	t.Helper()
	module := ""
	for _, m := range modules {
		if _, err := os.Stat(m); err == nil {
			module = m
			break
		}
	}
	if module == "" {
		t.Skipf("softhsmtest: SoftHSM2 library not found (looked in %v); install the softhsm2 package", modules)
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		t.Skip("softhsmtest: softhsm2-util not in PATH; install the softhsm2 package")
	}

	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	text := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatalf("softhsmtest: %v", err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)

	cmd := exec.Command(util, "--init-token", "--free", "--label", TokenLabel, "--so-pin", SOPIN, "--pin", PIN)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsmtest: softhsm2-util --init-token: %v\n%s", err, out)
	}
	return custody.PKCS11Config{Module: module, TokenLabel: TokenLabel, PIN: PIN}
}
