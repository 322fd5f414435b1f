//go:build !cgo

package softhsmtest

import (
	"testing"

	"github.com/hallmark-dev/hallmark/custody"
)

// The token New makes.
const (
	TokenLabel = "hallmark-test"
	PIN        = "1234"
	SOPIN      = "5678"
)

// New skips the test: PKCS#11 needs a build with cgo.
func New(t testing.TB) custody.PKCS11Config {
	t.Helper()
	t.Skip("softhsmtest: PKCS#11 needs a build with cgo (CGO_ENABLED=1)")
	return custody.PKCS11Config{}
}
