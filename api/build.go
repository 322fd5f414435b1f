package api

import "encoding/json"

// BuildRecord is what a worker (a platform component, never a tenant)
// observed of one build, for the control plane to sign and log: the in-toto
// statement with the SLSA provenance predicate that package provenance
// writes from the builder's result. The control plane checks it (strictly,
// and that its builder.id is the control plane's own builder) before
// signing it with the project's key.
type BuildRecord struct {
	Nonce     string `json:"nonce"`
	Project   string `json:"project"`
	Statement []byte `json:"statement"`
}

// BuildRecorded is the signed provenance.
type BuildRecorded struct {
	Bundle json.RawMessage `json:"bundle"` // the DSSE envelope in a Sigstore bundle, logged and timestamped
	Key    string          `json:"key"`
}
