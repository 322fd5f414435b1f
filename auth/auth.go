// Package auth says who is calling the control plane and what they may do.
//
// A caller is a Principal: a subject, one Role, the project the role is held
// in, optional Scopes, and Via, how the caller was authenticated. Principals
// come from three places:
//
//   - an API token "hmk_<id>_<secret>" (GenerateToken, ParseToken, CheckHash),
//     whose role, project and scopes the server's state database holds;
//   - an OIDC ID token of a CI job (OIDC.Verify), mapped to one project and
//     one role by the first matching Binding;
//   - Local, for commands run in-process on the data directory.
//
// Authorize decides. This table is the whole authorization matrix; "own"
// means only on the principal's own project, "any" on any project or none,
// "-" never:
//
//	action             builder  approver  security-admin  auditor  worker
//	sign               own      -         -               -        -
//	build.submit       own      -         -               -        -
//	build.work         -        -         -               -        any
//	project.read       own      own       any             any      -
//	exception.approve  -        own       -               -        -
//	exception.request  own      own       any             -        -
//	exception.revoke   -        own       any             -        -
//	gate.evaluate      own      -         -               -        any
//	findings.manage    own      own       any             -        -
//	policy.read        any      any       any             any      any
//	audit.read         -        -         any             any      -
//	admin.projects     -        -         any             -        -
//	admin.tokens       -        -         any             -        -
//	admin.keys         -        -         any             -        -
//	admin.policy       -        -         any             -        -
//	admin.read         -        -         any             any      -
//
// A security-admin administers but does not sign, build or approve: separation
// of duties. admin.read lists tokens (never their secrets), keys and bindings.
//
// Invariants Authorize enforces, beyond the table:
//
//   - builder and approver are project-scoped (Role.ProjectScoped): a principal
//     holding them must name a project, and "own" actions need a request for
//     exactly that project. The other roles are platform-wide and a principal
//     holding them must name no project.
//   - non-nil Scopes narrow what the role allows to the listed actions; they
//     never widen it. An empty non-nil Scopes allows nothing.
//   - a Local principal (Via "local") may do every action, still narrowed by
//     Scopes if set: whoever can read the data directory holds the keys
//     anyway, so a role check there would protect nothing.
//   - unknown roles and actions are denied, Local included.
//
// API tokens are "hmk_" + id + "_" + secret, 64 ASCII characters: id is 16
// lowercase hex characters (8 random bytes) and names the token in lists and
// audit entries; secret is 32 random bytes in unpadded base64url (43
// characters, canonical: one spelling per token). Only SHA-256 of the 32
// secret bytes is stored, and compared in constant time.
//
// OIDC tokens are verified per OpenID Connect Core 1.0 §3.1.3.7 as far as it
// applies to a token not obtained by a login flow: the issuer's keys found by
// OpenID Connect Discovery 1.0, the signature in an asymmetric algorithm,
// iss exactly, aud, and exp, nbf and iat (RFC 7519 §4.1) with one minute of
// leeway. No nonce: the ID token is the CI job's bearer credential. Issuers
// must be https, except on loopback hosts. Bindings grant only builder,
// approver or worker, and must name the workload by at least one claim.
//
// Errors: a denial is a *DeniedError, which wraps ErrForbidden and says why.
// A caller who could not be authenticated (malformed or unknown token, bad
// OIDC token, issuer unreachable) gets an error wrapping ErrUnauthenticated;
// an authenticated OIDC caller no binding admits gets one wrapping
// ErrForbidden. Servers map the two to HTTP 401 and 403. No error carries a
// token's secret.
package auth

import (
	"errors"
	"fmt"
	"slices"
)

// ErrUnauthenticated is wrapped by every error about a caller who could not be
// authenticated.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrForbidden is wrapped by every error about an authenticated caller who may
// not do what was asked; from Authorize, always as a *DeniedError.
var ErrForbidden = errors.New("forbidden")

// Role is what a principal is for.
type Role string

// The roles.
const (
	Builder       Role = "builder"        // signs and submits builds for its project
	Approver      Role = "approver"       // approves exceptions for its project
	SecurityAdmin Role = "security-admin" // administers projects, tokens, keys, policy
	Auditor       Role = "auditor"        // reads everything, changes nothing
	Worker        Role = "worker"         // takes and reports build steps
)

var roles = []Role{Builder, Approver, SecurityAdmin, Auditor, Worker}

// Roles lists every role.
func Roles() []Role { return slices.Clone(roles) }

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	if r := Role(s); slices.Contains(roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("auth: unknown role %q (want builder, approver, security-admin, auditor or worker)", s)
}

// ProjectScoped reports whether a principal holding r must name a project:
// true for builder and approver; security-admin, auditor and worker are
// platform-wide and name none.
func (r Role) ProjectScoped() bool { return r == Builder || r == Approver }

// Action is what a request does.
type Action string

// The actions. See the package documentation for who may do each.
const (
	Sign           Action = "sign"              // request signatures for a project
	SubmitBuild    Action = "build.submit"      // submit a build for a project
	Work           Action = "build.work"        // take and report build steps
	ReadProject    Action = "project.read"      // read a project's keys, records, settings
	Approve        Action = "exception.approve" // approve or reject a policy exception
	RequestExc     Action = "exception.request" // request a policy exception
	RevokeExc      Action = "exception.revoke"  // revoke an exception
	Gate           Action = "gate.evaluate"     // judge a build's findings under the policy
	ManageFindings Action = "findings.manage"   // assign and acknowledge tracked findings
	ReadPolicy     Action = "policy.read"       // read the policy
	ReadAudit      Action = "audit.read"        // read the audit log
	ManageProjects Action = "admin.projects"    // create and change projects
	ManageTokens   Action = "admin.tokens"      // issue, revoke and re-role tokens, bind OIDC
	ManageKeys     Action = "admin.keys"        // generate, rotate, retire, restrict keys
	ManagePolicy   Action = "admin.policy"      // change policy
	ReadAdmin      Action = "admin.read"        // list tokens (never secrets), keys, bindings
)

// scope is how far a role may take an action.
type scope int

const (
	never      scope = iota
	own              // the principal's own project only
	anyProject       // any project, or none
)

// matrix is the table of the package documentation.
var matrix = map[Action]map[Role]scope{
	Sign:           {Builder: own},
	SubmitBuild:    {Builder: own},
	Work:           {Worker: anyProject},
	ReadProject:    {Builder: own, Approver: own, SecurityAdmin: anyProject, Auditor: anyProject},
	Approve:        {Approver: own},
	RequestExc:     {Builder: own, Approver: own, SecurityAdmin: anyProject},
	RevokeExc:      {Approver: own, SecurityAdmin: anyProject},
	Gate:           {Builder: own, Worker: anyProject},
	ManageFindings: {Builder: own, Approver: own, SecurityAdmin: anyProject},
	ReadPolicy:     {Builder: anyProject, Approver: anyProject, SecurityAdmin: anyProject, Auditor: anyProject, Worker: anyProject},
	ReadAudit:      {SecurityAdmin: anyProject, Auditor: anyProject},
	ManageProjects: {SecurityAdmin: anyProject},
	ManageTokens:   {SecurityAdmin: anyProject},
	ManageKeys:     {SecurityAdmin: anyProject},
	ManagePolicy:   {SecurityAdmin: anyProject},
	ReadAdmin:      {SecurityAdmin: anyProject, Auditor: anyProject},
}

var actions = []Action{Sign, SubmitBuild, Work, ReadProject, Approve, RequestExc, RevokeExc, Gate,
	ManageFindings, ReadPolicy, ReadAudit, ManageProjects, ManageTokens, ManageKeys, ManagePolicy, ReadAdmin}

// Actions lists every action.
func Actions() []Action { return slices.Clone(actions) }

// viaLocal is the Via of Local principals.
const viaLocal = "local"

// Principal is an authenticated caller.
type Principal struct {
	Subject string   // who: a token's subject, an OIDC token's sub
	Role    Role     // what the caller is for
	Project string   // the project the role is held in; "" for platform-wide roles
	Scopes  []Action // nil: everything the role allows; else only these of it
	Via     string   // how: "token:<id>", "oidc:<issuer>" or "local"
}

// String names p for an audit entry's actor: Via (Subject).
func (p Principal) String() string { return p.Via + " (" + p.Subject + ")" }

// Local returns the principal of a command run in-process on the data
// directory: a superuser (Role SecurityAdmin, Via "local") that Authorize
// allows every action, whatever the table says. That is no escalation:
// whoever can read the data directory holds the keys anyway.
func Local(subject string) Principal {
	return Principal{Subject: subject, Role: SecurityAdmin, Via: viaLocal}
}

// DeniedError is Authorize's answer when p may not do Action on Project.
type DeniedError struct {
	Principal Principal
	Action    Action
	Project   string // "" for a platform-wide request
	Reason    string // why, for people: "role builder may not admin.keys"
}

func (e *DeniedError) Error() string {
	on := ""
	if e.Project != "" {
		on = " on project " + e.Project
	}
	return fmt.Sprintf("auth: %s: %s may not %s%s: %s", ErrForbidden, e.Principal, e.Action, on, e.Reason)
}

// Unwrap returns ErrForbidden.
func (e *DeniedError) Unwrap() error { return ErrForbidden }

// Authorize reports whether p may do a on project; project is "" for a
// platform-wide request. It returns nil or a *DeniedError.
func Authorize(p Principal, a Action, project string) error {
	deny := func(format string, args ...any) error {
		return &DeniedError{Principal: p, Action: a, Project: project, Reason: fmt.Sprintf(format, args...)}
	}
	row, ok := matrix[a]
	if !ok {
		return deny("unknown action %q", a)
	}
	if p.Scopes != nil && !slices.Contains(p.Scopes, a) {
		return deny("token scopes exclude %s", a)
	}
	if p.Via == viaLocal {
		return nil
	}
	if !slices.Contains(roles, p.Role) {
		return deny("unknown role %q", p.Role)
	}
	switch {
	case p.Role.ProjectScoped() && p.Project == "":
		return deny("role %s needs a project and the principal names none", p.Role)
	case !p.Role.ProjectScoped() && p.Project != "":
		return deny("role %s is platform-wide but the principal names project %s", p.Role, p.Project)
	}
	switch row[p.Role] {
	case anyProject:
		return nil
	case own:
		if project == "" {
			return deny("%s needs a project", a)
		}
		if project != p.Project {
			return deny("token is for project %s, not %s", p.Project, project)
		}
		return nil
	default:
		return deny("role %s may not %s", p.Role, a)
	}
}
