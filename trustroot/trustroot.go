// Package trustroot loads Sigstore trusted roots: the documents (trusted_root.json,
// media type application/vnd.dev.sigstore.trustedroot+json) that list the
// transparency logs, timestamp authorities, certificate authorities and
// certificate transparency logs a verifier trusts, each with its validity window.
//
// The public Sigstore production trusted root is embedded in the binary as data
// (sigstore-public-good.json). It is the default when no other root is given, so
// that bundles made by the public Sigstore instance verify offline. To refresh it,
// replace sigstore-public-good.json with targets/trusted_root.json from the
// sigstore/root-signing repository (verified through Sigstore's TUF repository,
// for example with `cosign trusted-root` or a TUF client), and run the tests.
//
// Roots are hostile input: Load refuses files larger than limit.TrustedRoot,
// and every error names the file.
package trustroot

import (
	_ "embed"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/limit"
)

//go:embed sigstore-public-good.json
var publicGood []byte

// PublicGood returns the embedded public Sigstore production trusted root.
func PublicGood() (*root.TrustedRoot, error) {
	tr, err := root.NewTrustedRootFromJSON(publicGood)
	if err != nil {
		// The embedded file is checked by the tests; this is a broken build.
		return nil, fmt.Errorf("trustroot: embedded public Sigstore root: %w", err)
	}
	return tr, nil
}

// PublicGoodJSON returns the embedded public Sigstore production trusted root
// as the JSON document it is, for tools that read a trusted_root.json file.
func PublicGoodJSON() []byte { return append([]byte(nil), publicGood...) }

// Load reads and parses the trusted root at path.
func Load(path string) (*root.TrustedRoot, error) {
	data, err := limit.ReadFile(path, limit.TrustedRoot)
	if err != nil {
		return nil, fmt.Errorf("trustroot: %w", err)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("trustroot: %s: %w", path, err)
	}
	return tr, nil
}
