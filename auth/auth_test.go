package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// wantMatrix is the authorization matrix written out by hand, independent of
// the code: for each action, what each role may do ("own": only its own
// project; "any": any project or none; "-": never). Roles in the order
// builder, approver, security-admin, auditor, worker.
var wantMatrix = map[Action][5]string{
	Sign:           {"own", "-", "-", "-", "-"},
	SubmitBuild:    {"own", "-", "-", "-", "-"},
	Work:           {"-", "-", "-", "-", "any"},
	ReadProject:    {"own", "own", "any", "any", "-"},
	Approve:        {"-", "own", "-", "-", "-"},
	RequestExc:     {"own", "own", "any", "-", "-"},
	RevokeExc:      {"-", "own", "any", "-", "-"},
	Gate:           {"own", "-", "-", "-", "any"},
	ManageFindings: {"own", "own", "any", "-", "-"},
	ReadPolicy:     {"any", "any", "any", "any", "any"},
	ReadAudit:      {"-", "-", "any", "any", "-"},
	ManageProjects: {"-", "-", "any", "-", "-"},
	ManageTokens:   {"-", "-", "any", "-", "-"},
	ManageKeys:     {"-", "-", "any", "-", "-"},
	ManagePolicy:   {"-", "-", "any", "-", "-"},
	ReadAdmin:      {"-", "-", "any", "any", "-"},
}

var matrixRoles = [5]Role{Builder, Approver, SecurityAdmin, Auditor, Worker}

func TestMatrixCoversEverything(t *testing.T) {
	for _, a := range Actions() {
		if _, ok := wantMatrix[a]; !ok {
			t.Errorf("action %s is not in the test's matrix", a)
		}
	}
	if len(wantMatrix) != len(Actions()) {
		t.Errorf("test matrix has %d actions, Actions() %d", len(wantMatrix), len(Actions()))
	}
	if !slices.Equal(Roles(), matrixRoles[:]) {
		t.Errorf("Roles() = %v, test matrix has %v", Roles(), matrixRoles)
	}
}

func TestAuthorizeMatrix(t *testing.T) {
	// Project-scoped principals hold their role in project "a"; platform-wide
	// ones in none. Requests are for "a" (own), "b" (other) or "" (none).
	requests := []struct {
		kind    string
		project string
	}{{"own", "a"}, {"other", "b"}, {"none", ""}}
	for a, row := range wantMatrix {
		for i, r := range matrixRoles {
			p := Principal{Subject: "alice", Role: r, Via: "token:0123456789abcdef"}
			if r == Builder || r == Approver {
				p.Project = "a"
			}
			for _, req := range requests {
				var want bool
				switch row[i] {
				case "any":
					want = true
				case "own":
					want = req.kind == "own"
				}
				t.Run(fmt.Sprintf("%s/%s/%s", r, a, req.kind), func(t *testing.T) {
					err := Authorize(p, a, req.project)
					if want {
						if err != nil {
							t.Fatalf("Authorize = %v, want allowed", err)
						}
						return
					}
					var de *DeniedError
					if !errors.As(err, &de) || !errors.Is(err, ErrForbidden) {
						t.Fatalf("Authorize = %v, want a *DeniedError wrapping ErrForbidden", err)
					}
					if de.Principal.Subject != "alice" || de.Action != a || de.Project != req.project || de.Reason == "" {
						t.Errorf("DeniedError = %+v", de)
					}
				})
			}
		}
	}
}

func TestAuthorizeReasons(t *testing.T) {
	builderA := Principal{Subject: "alice", Role: Builder, Project: "a", Via: "token:0123456789abcdef"}
	tests := []struct {
		name    string
		p       Principal
		action  Action
		project string
		reason  string
	}{
		{"role", builderA, ManageKeys, "", "role builder may not admin.keys"},
		{"other project", builderA, Sign, "b", "token is for project a, not b"},
		{"no project", builderA, Sign, "", "sign needs a project"},
		{"scopes", Principal{Subject: "ci", Role: Builder, Project: "a", Scopes: []Action{SubmitBuild}, Via: "token:1"}, Sign, "a", "token scopes exclude sign"},
		{"unknown action", builderA, "sign.everything", "a", `unknown action "sign.everything"`},
		{"unknown role", Principal{Subject: "x", Role: "root", Via: "token:1"}, ReadAudit, "", `unknown role "root"`},
		{"empty role", Principal{Subject: "x", Via: "token:1"}, ReadAudit, "", `unknown role ""`},
		{"builder without project", Principal{Subject: "x", Role: Builder, Via: "token:1"}, Sign, "", "role builder needs a project and the principal names none"},
		{"approver without project", Principal{Subject: "x", Role: Approver, Via: "token:1"}, Approve, "", "role approver needs a project and the principal names none"},
		{"auditor with project", Principal{Subject: "x", Role: Auditor, Project: "a", Via: "token:1"}, ReadAudit, "a", "role auditor is platform-wide but the principal names project a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(tt.p, tt.action, tt.project)
			var de *DeniedError
			if !errors.As(err, &de) {
				t.Fatalf("Authorize = %v, want *DeniedError", err)
			}
			if de.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", de.Reason, tt.reason)
			}
			if !strings.Contains(err.Error(), tt.reason) || !strings.HasPrefix(err.Error(), "auth: forbidden: ") {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

func TestDeniedErrorText(t *testing.T) {
	p := Principal{Subject: "alice", Role: Builder, Project: "a", Via: "token:0123456789abcdef"}
	err := Authorize(p, Sign, "b")
	want := "auth: forbidden: token:0123456789abcdef (alice) may not sign on project b: token is for project a, not b"
	if err == nil || err.Error() != want {
		t.Errorf("Authorize = %v, want %q", err, want)
	}
}

func TestScopesNarrow(t *testing.T) {
	tests := []struct {
		name    string
		p       Principal
		action  Action
		project string
		allowed bool
	}{
		{"in scopes", Principal{Role: Builder, Project: "a", Scopes: []Action{Sign}}, Sign, "a", true},
		{"not in scopes", Principal{Role: Builder, Project: "a", Scopes: []Action{Sign}}, SubmitBuild, "a", false},
		{"scopes do not widen", Principal{Role: Builder, Project: "a", Scopes: []Action{ManageKeys}}, ManageKeys, "", false},
		{"scopes keep the project check", Principal{Role: Builder, Project: "a", Scopes: []Action{Sign}}, Sign, "b", false},
		{"empty scopes allow nothing", Principal{Role: SecurityAdmin, Scopes: []Action{}}, ReadAdmin, "", false},
		{"nil scopes allow the role", Principal{Role: SecurityAdmin}, ReadAdmin, "", true},
		{"read-only admin token", Principal{Role: SecurityAdmin, Scopes: []Action{ReadAdmin, ReadAudit}}, ManageTokens, "", false},
		{"read-only admin token reads", Principal{Role: SecurityAdmin, Scopes: []Action{ReadAdmin, ReadAudit}}, ReadAudit, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Subject, tt.p.Via = "ci", "token:0123456789abcdef"
			err := Authorize(tt.p, tt.action, tt.project)
			if (err == nil) != tt.allowed {
				t.Errorf("Authorize = %v, want allowed %v", err, tt.allowed)
			}
		})
	}
}

func TestLocal(t *testing.T) {
	p := Local("root@host")
	if p.Via != "local" || p.Subject != "root@host" || p.Role != SecurityAdmin || p.Project != "" || p.Scopes != nil {
		t.Fatalf("Local = %+v", p)
	}
	if got, want := p.String(), "local (root@host)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, a := range Actions() {
		for _, project := range []string{"a", "b", ""} {
			if err := Authorize(p, a, project); err != nil {
				t.Errorf("Authorize(Local, %s, %q) = %v", a, project, err)
			}
		}
	}
	if err := Authorize(p, "sign.everything", ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("Authorize(Local, unknown action) = %v, want ErrForbidden", err)
	}
	p.Scopes = []Action{ReadAudit}
	if err := Authorize(p, ManageKeys, ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("Authorize(Local narrowed to audit.read, admin.keys) = %v, want ErrForbidden", err)
	}
	if err := Authorize(p, ReadAudit, ""); err != nil {
		t.Errorf("Authorize(Local narrowed to audit.read, audit.read) = %v", err)
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in            string
		want          Role
		projectScoped bool
		ok            bool
	}{
		{"builder", Builder, true, true},
		{"approver", Approver, true, true},
		{"security-admin", SecurityAdmin, false, true},
		{"auditor", Auditor, false, true},
		{"worker", Worker, false, true},
		{"", "", false, false},
		{"Builder", "", false, false},
		{"admin", "", false, false},
		{"builder ", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRole(tt.in)
			if (err == nil) != tt.ok || r != tt.want {
				t.Fatalf("ParseRole(%q) = %q, %v", tt.in, r, err)
			}
			if r.ProjectScoped() != tt.projectScoped {
				t.Errorf("%q.ProjectScoped() = %v", r, r.ProjectScoped())
			}
			if err != nil && !strings.HasPrefix(err.Error(), "auth: unknown role ") {
				t.Errorf("error = %q", err)
			}
		})
	}
}

func TestPrincipalString(t *testing.T) {
	tests := []struct {
		p    Principal
		want string
	}{
		{Principal{Subject: "alice", Via: "token:0123456789abcdef"}, "token:0123456789abcdef (alice)"},
		{Principal{Subject: "repo:o/r:ref:refs/heads/main", Via: "oidc:https://token.actions.githubusercontent.com"}, "oidc:https://token.actions.githubusercontent.com (repo:o/r:ref:refs/heads/main)"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
