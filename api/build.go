package api

import (
	"encoding/json"
	"time"
)

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

// Limits on queued builds.
const (
	MaxSource  = 32 << 20 // bytes of a submitted source archive (tar.gz)
	MaxOutputs = 40 << 20 // bytes of a build's outputs, all together
	MaxLog     = 1 << 20  // bytes of a build's log kept
)

// BuildSubmit queues a build: the source tree as a gzipped tar, the ref it
// was taken from, and the build spec (hallmark.yaml's text).
type BuildSubmit struct {
	Nonce   string `json:"nonce"`
	Project string `json:"project"`
	Ref     string `json:"ref,omitempty"`
	URI     string `json:"uri,omitempty"` // where the source came from, for the provenance
	Spec    string `json:"spec"`
	Source  []byte `json:"source"`
}

// BuildRef names a queued build, or an output of it.
type BuildRef struct {
	Nonce string `json:"nonce,omitempty"`
	ID    string `json:"id,omitempty"`
	Path  string `json:"path,omitempty"`
}

// BuildJob is a queued build handed to a worker: everything it needs, and
// the builder id and invocation id the provenance must carry.
type BuildJob struct {
	ID        string `json:"id"` // "" when the queue is empty
	Project   string `json:"project,omitempty"`
	Ref       string `json:"ref,omitempty"`
	URI       string `json:"uri,omitempty"`
	Spec      string `json:"spec,omitempty"`
	Source    []byte `json:"source,omitempty"`
	BuilderID string `json:"builderId,omitempty"`
}

// BuildLog is a chunk of a running build's log, sent by its worker as the
// steps write it.
type BuildLog struct {
	Nonce string `json:"nonce"`
	ID    string `json:"id"`
	Data  []byte `json:"data"`
}

// BuildOutput is one output file.
type BuildOutput struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Data   []byte `json:"data,omitempty"`
}

// BuildFinish is a worker's report of a build: its log, and either its
// outputs and provenance (succeeded) or why it failed.
type BuildFinish struct {
	Nonce     string        `json:"nonce"`
	ID        string        `json:"id"`
	Succeeded bool          `json:"succeeded"`
	Error     string        `json:"error,omitempty"`
	Log       []byte        `json:"log,omitempty"`
	Outputs   []BuildOutput `json:"outputs,omitempty"`
	Statement []byte        `json:"statement,omitempty"` // the provenance statement
}

// Build is a queued build as its project sees it.
type Build struct {
	ID        string        `json:"id"`
	Project   string        `json:"project"`
	Status    string        `json:"status"` // queued, running, succeeded, failed
	Ref       string        `json:"ref,omitempty"`
	Submitter string        `json:"submitter"`
	Worker    string        `json:"worker,omitempty"`
	Created   time.Time     `json:"created"`
	Started   time.Time     `json:"started,omitzero"`
	Finished  time.Time     `json:"finished,omitzero"`
	Error     string        `json:"error,omitempty"`
	Log       []byte        `json:"log,omitempty"`
	Outputs   []BuildOutput `json:"outputs"`
	Bundle    []byte        `json:"bundle,omitempty"` // the provenance's Sigstore bundle
}

// AuthenticodeRequest asks for an Authenticode signature over a PE file's
// image digest (package authenticode): only the digest travels.
type AuthenticodeRequest struct {
	Nonce   string `json:"nonce"`
	Project string `json:"project"`
	Key     string `json:"key,omitempty"` // key name; "default" if empty
	Digest  string `json:"digest"`        // sha256:<64 hex>, the Authenticode image digest
	Name    string `json:"name,omitempty"`
}

// AuthenticodeSignature is the DER PKCS#7 ContentInfo to embed: signed by
// the project's key, with a short-lived code-signing certificate from the
// control plane's CA and the CA's certificate, and an RFC 3161
// counter-signature from the platform's TSA.
type AuthenticodeSignature struct {
	Signature []byte `json:"signature"`
	Key       string `json:"key"`
}
