package api

import (
	"encoding/json"
	"time"

	"github.com/hallmark-dev/hallmark/policy"
	"github.com/hallmark-dev/hallmark/scan"
)

// Limits on gate requests.
const (
	MaxFindings   = 20000 // findings of one gate request
	MaxComponents = 20000 // components of one gate request
	MaxSubjects   = 1024  // subjects of one gate request
)

// PolicyRequest stores a new version of the policy file (security-admin).
type PolicyRequest struct {
	Nonce   string `json:"nonce"`
	Policy  string `json:"policy"`            // the YAML file, at most policy.MaxSize bytes
	Comment string `json:"comment,omitempty"` // why it changed
}

// PolicyRef names a version of the policy; 0 is the current one.
type PolicyRef struct {
	Version int64 `json:"version,omitempty"`
}

// PolicyVersion is one stored version of the policy file.
type PolicyVersion struct {
	Version int64     `json:"version"`
	Digest  string    `json:"digest"`           // policy.Policy.Digest
	Policy  string    `json:"policy,omitempty"` // the file; left out of histories
	Author  string    `json:"author"`
	Comment string    `json:"comment,omitempty"`
	Created time.Time `json:"created"`
}

// PolicyVersions lists versions, newest first.
type PolicyVersions struct {
	Versions []PolicyVersion `json:"versions"`
}

// Subject is an artifact a verdict is about.
type Subject struct {
	Name   string `json:"name"`
	Digest string `json:"digest"` // sha256:<64 hex>
}

// Component is a package of the build, judged by its licences.
type Component struct {
	PURL     string   `json:"purl"`
	Licenses []string `json:"licenses,omitempty"`
}

// GateRequest asks the control plane to judge a build's findings under the
// project's policy. Non-dry-run verdicts are recorded; findings that fail,
// warn or are excepted go to the findings tracker; a pass or warn verdict is
// signed as an SLSA verification summary and logged.
type GateRequest struct {
	Nonce      string            `json:"nonce"`
	Project    string            `json:"project"`
	Subjects   []Subject         `json:"subjects"`
	Findings   []scan.Finding    `json:"findings"`
	Components []Component       `json:"components,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"` // build.labels for CEL rules
	DryRun     bool              `json:"dryRun,omitempty"`
}

// GateResponse is the verdict, with its signed summary when it passed.
type GateResponse struct {
	ID      string          `json:"id"`
	Verdict policy.Verdict  `json:"verdict"`
	Policy  int64           `json:"policyVersion"`
	Bundle  json.RawMessage `json:"bundle,omitempty"`   // the VSA in a Sigstore bundle (pass and warn only)
	DSSE    json.RawMessage `json:"envelope,omitempty"` // the same DSSE envelope, bare, for slsa-verifier
	// Tracked counts the findings the tracker saw first in this build.
	New int `json:"newFindings"`
}

// VerdictRequest lists recorded verdicts.
type VerdictRequest struct {
	Project string    `json:"project,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Limit   int       `json:"limit,omitempty"`
}

// VerdictSummary is one recorded verdict, without its decisions.
type VerdictSummary struct {
	ID       string        `json:"id"`
	Project  string        `json:"project"`
	Result   string        `json:"result"`
	DryRun   bool          `json:"dryRun,omitempty"`
	Profile  string        `json:"profile"`
	Policy   int64         `json:"policyVersion"`
	Subjects []Subject     `json:"subjects"`
	Counts   policy.Counts `json:"counts"`
	Actor    string        `json:"actor"`
	Time     time.Time     `json:"time"`
}

// Verdicts lists verdicts, newest first.
type Verdicts struct {
	Verdicts []VerdictSummary `json:"verdicts"`
}

// FindingRequest lists or names tracked findings. ID is a fingerprint or a
// unique prefix of one (at least 8 hex digits).
type FindingRequest struct {
	Nonce   string `json:"nonce,omitempty"`
	ID      string `json:"id,omitempty"`
	Project string `json:"project,omitempty"`
	Status  string `json:"status,omitempty"`  // list: open, acknowledged, fixed, reopened; "" all
	Overdue bool   `json:"overdue,omitempty"` // list: only those past their SLA due date
	Owner   string `json:"owner,omitempty"`   // assign: the new owner
	Comment string `json:"comment,omitempty"` // ack: why
	Limit   int    `json:"limit,omitempty"`
}

// TrackedFinding is a finding as the tracker knows it, across builds.
type TrackedFinding struct {
	Fingerprint string       `json:"fingerprint"`
	Project     string       `json:"project"`
	Status      string       `json:"status"`
	Owner       string       `json:"owner,omitempty"`
	Action      string       `json:"action"` // the last verdict's decision: fail, warn or excepted
	Rule        string       `json:"rule"`
	Subject     string       `json:"subject"`
	FirstSeen   time.Time    `json:"firstSeen"`
	LastSeen    time.Time    `json:"lastSeen"`
	Due         time.Time    `json:"due"`
	Fixed       time.Time    `json:"fixed,omitzero"`
	Builds      int64        `json:"builds"` // verdicts that saw it
	LastBuild   string       `json:"lastBuild"`
	Finding     scan.Finding `json:"finding"`
}

// TrackedFindings lists tracked findings.
type TrackedFindings struct {
	Findings []TrackedFinding `json:"findings"`
}

// ExceptionRequest asks for an exception: the scope (a tracked finding's
// fingerprint, or a vulnerability and a package), a reason and an expiry.
type ExceptionRequest struct {
	Nonce         string    `json:"nonce"`
	Project       string    `json:"project"`
	Finding       string    `json:"finding,omitempty"` // a tracked finding's fingerprint or unique prefix
	Vulnerability string    `json:"vulnerability,omitempty"`
	Package       string    `json:"package,omitempty"` // a purl
	Reason        string    `json:"reason"`
	Expires       time.Time `json:"expires"`
	Justification string    `json:"justification,omitempty"` // OpenVEX status justification
	Impact        string    `json:"impact,omitempty"`        // OpenVEX impact or action statement
}

// ExceptionRef names an exception, with a comment for approvals and
// rejections.
type ExceptionRef struct {
	Nonce   string `json:"nonce,omitempty"`
	ID      string `json:"id"`
	Comment string `json:"comment,omitempty"`
}

// ExceptionList lists exceptions.
type ExceptionList struct {
	Project string `json:"project,omitempty"`
	Status  string `json:"status,omitempty"` // pending, approved, rejected, revoked, expired; "" all
	// Expiring keeps approved exceptions that expire within this long.
	Expiring time.Duration `json:"expiring,omitempty"`
}

// Vote is one approver's decision on an exception.
type Vote struct {
	By       string    `json:"by"`
	Decision string    `json:"decision"` // approve or reject
	Comment  string    `json:"comment"`
	At       time.Time `json:"at"`
}

// Exception is a request to let a failing finding pass, and its fate.
type Exception struct {
	ID            string    `json:"id"`
	Project       string    `json:"project"`
	Profile       string    `json:"profile"`
	Vulnerability string    `json:"vulnerability,omitempty"`
	Package       string    `json:"package,omitempty"`
	Fingerprint   string    `json:"fingerprint,omitempty"`
	Reason        string    `json:"reason"`
	Justification string    `json:"justification,omitempty"`
	Impact        string    `json:"impact,omitempty"`
	Requester     string    `json:"requester"`
	Created       time.Time `json:"created"`
	Expires       time.Time `json:"expires"`
	// Status is pending, approved, rejected, revoked, or expired (an
	// approved or pending exception past its expiry).
	Status    string `json:"status"`
	Required  int    `json:"approvalsRequired"`
	Votes     []Vote `json:"votes"`
	RevokedBy string `json:"revokedBy,omitempty"`
}

// Exceptions lists exceptions.
type Exceptions struct {
	Exceptions []Exception `json:"exceptions"`
}

// VEXRequest exports a project's approved, unexpired exceptions as an
// OpenVEX document signed by the platform.
type VEXRequest struct {
	Nonce   string `json:"nonce"`
	Project string `json:"project"`
	// Product is the purl the statements are about; default the excepted
	// package itself, which is what SBOM-scanning consumers (grype) match.
	Product string `json:"product,omitempty"`
}

// VEX is an OpenVEX document and the bundle signing it (a message
// signature over its SHA-256).
type VEX struct {
	Document   []byte          `json:"document"`
	Bundle     json.RawMessage `json:"bundle"`
	Statements int             `json:"statements"`
}

// Webhook is a notification target (notify.Target as JSON). Header values
// are secrets: lists show their names only.
type Webhook struct {
	Nonce  string          `json:"nonce,omitempty"`
	Name   string          `json:"name"`
	Target json.RawMessage `json:"target,omitempty"`
}

// Webhooks lists webhooks.
type Webhooks struct {
	Webhooks []Webhook `json:"webhooks"`
}

// ReportRequest asks for the data of an audit report over [Since, Until].
type ReportRequest struct {
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}
