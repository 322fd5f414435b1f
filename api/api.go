// Package api is the control plane's API: its operations, their requests and
// responses, and its errors. One API, two transports: the CLI calls it
// in-process on a local data directory, or over HTTP on 'hallmark serve';
// either way a request is the same JSON document and goes through the same
// checks (controlplane.Plane.Handle).
//
// Over HTTP every operation is POST /api/v1/op/NAME with the request as a
// JSON body and the response as a JSON body; the caller authenticates with
// "Authorization: Bearer TOKEN" (an API token or an OIDC ID token).
// Operations that change anything are Mutating: they carry a Nonce, unique
// per request, which the control plane stores, with the request's audit
// entry (and, for sign, its signing records), before it makes the change, so
// that a replayed request is refused (409) and changes nothing. Nonces are
// kept for good.
//
// Errors are *Error: an HTTP status and a message naming what is wrong. The
// message of a 5xx never carries details; bad input always gets a 4xx.
package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Op names an operation.
type Op struct {
	Name     string
	Mutating bool // needs a Nonce; refused when replayed
}

// Path is the operation's HTTP path.
func (o Op) Path() string { return "/api/v1/op/" + o.Name }

// The operations.
var (
	Sign          = Op{"sign", true}
	Whoami        = Op{"whoami", false}
	CreateProject = Op{"project.create", true}
	ListProjects  = Op{"project.list", false}
	IssueToken    = Op{"token.issue", true}
	ListTokens    = Op{"token.list", false}
	RevokeToken   = Op{"token.revoke", true}
	SetRole       = Op{"token.set-role", true}
	AddBinding    = Op{"oidc.bind", true}
	ListBindings  = Op{"oidc.list", false}
	RemoveBinding = Op{"oidc.unbind", true}
	GenerateKey   = Op{"key.generate", true}
	ListKeys      = Op{"key.list", false}
	RotateKey     = Op{"key.rotate", true}
	RetireKey     = Op{"key.retire", true}
	RestrictKey   = Op{"key.restrict", true}
	RotateCA      = Op{"ca.rotate", true}
	ReadAudit     = Op{"audit.list", false}
	AnchorAudit   = Op{"audit.anchor", true}
	ListRecords   = Op{"record.list", false}

	SetPolicy      = Op{"policy.set", true}
	GetPolicy      = Op{"policy.get", false}
	PolicyHistory  = Op{"policy.history", false}
	Gate           = Op{"gate.evaluate", true}
	ListVerdicts   = Op{"verdict.list", false}
	ListFindings   = Op{"finding.list", false}
	ShowFinding    = Op{"finding.show", false}
	AssignFinding  = Op{"finding.assign", true}
	AckFinding     = Op{"finding.ack", true}
	RequestExc     = Op{"exception.request", true}
	ApproveExc     = Op{"exception.approve", true}
	RejectExc      = Op{"exception.reject", true}
	RevokeExc      = Op{"exception.revoke", true}
	ListExceptions = Op{"exception.list", false}
	ShowException  = Op{"exception.show", false}
	ExportVEX      = Op{"exception.vex", true}
	AddWebhook     = Op{"webhook.add", true}
	ListWebhooks   = Op{"webhook.list", false}
	RemoveWebhook  = Op{"webhook.remove", true}
	ReportData     = Op{"audit.report", false}
	RecordBuild    = Op{"build.record", true}
	SubmitBuild    = Op{"build.submit", true}
	TakeBuild      = Op{"build.take", true}
	FinishBuild    = Op{"build.finish", true}
	LogBuild       = Op{"build.log", true}
	SignPE         = Op{"authenticode.sign", true}
	GetBuild       = Op{"build.get", false}
	GetOutput      = Op{"build.output", false}
)

// Ops lists every operation.
func Ops() []Op {
	return []Op{Sign, Whoami, CreateProject, ListProjects, IssueToken, ListTokens, RevokeToken, SetRole,
		AddBinding, ListBindings, RemoveBinding, GenerateKey, ListKeys, RotateKey, RetireKey, RestrictKey,
		RotateCA, ReadAudit, AnchorAudit, ListRecords,
		SetPolicy, GetPolicy, PolicyHistory, Gate, ListVerdicts, ListFindings, ShowFinding, AssignFinding, AckFinding,
		RequestExc, ApproveExc, RejectExc, RevokeExc, ListExceptions, ShowException, ExportVEX,
		AddWebhook, ListWebhooks, RemoveWebhook, ReportData, RecordBuild,
		SubmitBuild, TakeBuild, FinishBuild, LogBuild, GetBuild, GetOutput, SignPE}
}

// Lookup returns the operation named name.
func Lookup(name string) (Op, bool) {
	for _, o := range Ops() {
		if o.Name == name {
			return o, true
		}
	}
	return Op{}, false
}

// Limits on requests.
const (
	MaxRequest     = 8 << 20 // bytes of a request body, but for MaxRequestOf's exceptions
	MaxSignItems   = 1024    // items of one sign request
	MaxPayload     = 4 << 20 // bytes of one DSSE payload
	MaxNonceLength = 128
)

// MaxBuildRequest bounds the bodies of the operations that carry a build's
// source or outputs (build.submit, build.finish): base64 in JSON, so about
// 48 MiB of files.
const MaxBuildRequest = 64 << 20

// MaxRequestOf is the largest request body the operation name accepts.
func MaxRequestOf(name string) int {
	if name == SubmitBuild.Name || name == FinishBuild.Name {
		return MaxBuildRequest
	}
	return MaxRequest
}

// Nonce returns a fresh random nonce.
func Nonce() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SignRequest asks the control plane to sign. Clients hash: an item is a
// digest, never an artifact; a DSSE item is the envelope's payload (an
// in-toto statement, at most MaxPayload bytes), which the control plane
// signs in an envelope.
type SignRequest struct {
	Nonce       string     `json:"nonce"`
	Project     string     `json:"project"`
	Key         string     `json:"key,omitempty"`         // key name; "default" if empty
	Certificate bool       `json:"certificate,omitempty"` // bundles carry a short-lived certificate naming project and caller, not a key hint
	Items       []SignItem `json:"items"`
}

// SignItem is one thing to sign: Digest, or PayloadType and Payload.
type SignItem struct {
	Digest      string `json:"digest,omitempty"` // sha256:<64 hex>
	PayloadType string `json:"payloadType,omitempty"`
	Payload     []byte `json:"payload,omitempty"`
}

// SignResponse holds one Sigstore bundle (v0.3, logged, timestamped) per
// item, in order.
type SignResponse struct {
	Bundles []json.RawMessage `json:"bundles"` // compact bundle JSON, one object per item
	Key     string            `json:"key"`     // name@version of the key that signed
}

// Principal describes a caller.
type Principal struct {
	Subject string   `json:"subject"`
	Role    string   `json:"role"`
	Project string   `json:"project,omitempty"`
	Via     string   `json:"via"`
	Scopes  []string `json:"scopes,omitempty"`
}

// Empty is a request or response without fields.
type Empty struct {
	Nonce string `json:"nonce,omitempty"`
}

// Project is a tenant.
type Project struct {
	Nonce   string    `json:"nonce,omitempty"`
	Name    string    `json:"name"`
	Profile string    `json:"profile,omitempty"` // risk profile: critical, high, medium (default), low
	Created time.Time `json:"created,omitzero"`
}

// Projects lists projects.
type Projects struct {
	Projects []Project `json:"projects"`
}

// TokenRequest issues an API token.
type TokenRequest struct {
	Nonce   string        `json:"nonce"`
	Subject string        `json:"subject"`
	Role    string        `json:"role"`
	Project string        `json:"project,omitempty"`
	TTL     time.Duration `json:"ttl,omitempty"` // default 90 days, at most a year
	Scopes  []string      `json:"scopes,omitempty"`
}

// Token describes an API token. Secret is set only in the response that
// issues it.
type Token struct {
	ID        string    `json:"id"`
	Secret    string    `json:"token,omitempty"`
	Subject   string    `json:"subject"`
	Role      string    `json:"role"`
	Project   string    `json:"project,omitempty"`
	Scopes    []string  `json:"scopes,omitempty"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Revoked   time.Time `json:"revoked,omitzero"`
	CreatedBy string    `json:"createdBy,omitempty"`
}

// Tokens lists tokens, never their secrets.
type Tokens struct {
	Tokens []Token `json:"tokens"`
}

// TokenRef names a token, for revocation.
type TokenRef struct {
	Nonce string `json:"nonce"`
	ID    string `json:"id"`
}

// RoleChange gives a token another role (and project).
type RoleChange struct {
	Nonce   string `json:"nonce"`
	ID      string `json:"id"`
	Role    string `json:"role"`
	Project string `json:"project,omitempty"`
}

// Binding maps an OIDC issuer's ID tokens to a project and role.
type Binding struct {
	Nonce    string            `json:"nonce,omitempty"`
	ID       int64             `json:"id,omitempty"`
	Issuer   string            `json:"issuer"`
	Audience string            `json:"audience"`
	Claims   map[string]string `json:"claims"`
	Project  string            `json:"project"`
	Role     string            `json:"role"`
}

// Bindings lists OIDC bindings.
type Bindings struct {
	Bindings []Binding `json:"bindings"`
}

// KeyRequest generates, rotates, retires or restricts a key.
type KeyRequest struct {
	Nonce    string        `json:"nonce"`
	Name     string        `json:"name"`
	Backend  string        `json:"backend,omitempty"`  // generate, rotate: "file" (default) or "pkcs11"
	Projects []string      `json:"projects,omitempty"` // generate, restrict: the projects that may use it; none = any
	Overlap  time.Duration `json:"overlap,omitempty"`  // rotate: how long the old version stays valid (default 24h)
	Version  int           `json:"version,omitempty"`  // retire: the version
}

// Key describes one version of a key: never its private part.
type Key struct {
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	Purpose   string    `json:"purpose"`
	Backend   string    `json:"backend"`
	Algorithm string    `json:"algorithm"`
	PublicPEM string    `json:"publicKey"`
	CertPEM   string    `json:"certificate,omitempty"`
	Projects  []string  `json:"projects,omitempty"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter,omitzero"`
	Retired   time.Time `json:"retired,omitzero"`
}

// Keys lists keys.
type Keys struct {
	Keys []Key `json:"keys"`
}

// AuditRequest asks for audit entries after sequence number After, at most
// Limit (default 1000) of them.
type AuditRequest struct {
	After int64 `json:"after,omitempty"`
	Limit int   `json:"limit,omitempty"`
}

// AuditEntry is one entry of the hash-chained audit log, as stored: Event
// is the exact JSON that was hashed.
type AuditEntry struct {
	Seq   int64  `json:"seq"`
	Event []byte `json:"event"`
	Prev  []byte `json:"prev"`
	Hash  []byte `json:"hash"`
}

// Anchor is an audit log head logged in the transparency log.
type Anchor struct {
	Seq      int64     `json:"seq"`
	Hash     []byte    `json:"hash"`
	LogIndex int64     `json:"logIndex"`
	LeafHash []byte    `json:"leafHash"`
	Bundle   []byte    `json:"bundle"`
	Time     time.Time `json:"time"`
}

// AuditLog is a page of the audit log with the anchors of its entries (an
// anchor is in the page that holds the entry it anchors).
type AuditLog struct {
	Entries []AuditEntry `json:"entries"`
	Anchors []Anchor     `json:"anchors"`
	// AuditKey is the PEM public key that signs anchors.
	AuditKey string `json:"auditKey"`
}

// RecordRequest lists signing records.
type RecordRequest struct {
	Project string `json:"project,omitempty"`
	Limit   int    `json:"limit,omitempty"`
}

// Record is a signature the platform made.
type Record struct {
	LeafHash []byte    `json:"leafHash"`
	Digest   []byte    `json:"digest"`
	Key      string    `json:"key"`
	Project  string    `json:"project"`
	Actor    string    `json:"actor"`
	Time     time.Time `json:"time"`
}

// Records lists signing records.
type Records struct {
	Records []Record `json:"records"`
}

// Error is an API error: an HTTP status and a message.
type Error struct {
	Status  int    `json:"status"`
	Message string `json:"error"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, http.StatusText(e.Status))
}

// Errorf returns an *Error with status and a formatted message.
func Errorf(status int, format string, a ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, a...)}
}

// StatusOf returns err's HTTP status: an *Error's, else 500.
func StatusOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status
	}
	return http.StatusInternalServerError
}

// Client calls the control plane over HTTP.
type Client struct {
	URL   string // the server's base URL, e.g. https://hallmark.example.com
	Token string // bearer credential: an API token or an OIDC ID token
	HTTP  *http.Client
}

// Call runs the operation name with a JSON request body and returns the JSON
// response. A refusal is an *Error with the server's status and message.
func (c *Client) Call(ctx context.Context, name string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/api/v1/op/"+name, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the response of %s: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{}
		if json.Unmarshal(out, e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(out))
			if len(e.Message) > 200 {
				e.Message = e.Message[:200] + "..."
			}
		}
		e.Status = resp.StatusCode
		return nil, e
	}
	return out, nil
}
