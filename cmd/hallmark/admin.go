package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/api"
)

const adminUsage = `Usage:
  hallmark admin bootstrap [--subject NAME] [--ttl DURATION]
  hallmark admin whoami
  hallmark admin project create [--profile critical|high|medium|low] NAME
  hallmark admin project list
  hallmark admin token issue --subject NAME --role ROLE [--project P] [--ttl D] [--scope ACTION]...
  hallmark admin token list
  hallmark admin token revoke ID
  hallmark admin token set-role --role ROLE [--project P] ID
  hallmark admin oidc bind --issuer URL --audience AUD --claim K=V... --role ROLE --project P
  hallmark admin oidc list
  hallmark admin oidc unbind ID
  hallmark admin ca rotate [--overlap DURATION] [--backend B]

Administers the control plane: projects (tenants), API tokens and their
roles, OIDC workload identities, the certificate authority. Every change is
audited. All but whoami need the security-admin role; list also suits an
auditor.

Roles: builder and approver act for one project (--project); security-admin,
auditor and worker are platform-wide. A token is printed once, on stdout, when
it is issued: only its SHA-256 is kept. Tokens expire (--ttl, default 90 days,
at most a year); --scope narrows a token to some actions of its role.

bootstrap issues the first security-admin token. It runs in-process only:
whoever can read the data directory holds its keys anyway.

oidc bind lets a CI job's ID token from --issuer, with audience --audience
and every --claim (for example sub=repo:org/app:ref:refs/heads/main) equal,
act as ROLE for project P. Bindings may grant builder, approver or worker.

Flags:
  --subject NAME      who holds the token
  --role ROLE         builder, approver, security-admin, auditor or worker
  -p, --project P     the project of a builder or approver
  --ttl D             token lifetime, such as 720h
  --scope ACTION      restrict the token to ACTION (repeatable)
  --profile P         project risk profile (default medium)
  --issuer, --audience, --claim   oidc bind: what the ID token must carry
  --overlap D         ca rotate: how long the old CA stays valid (default 24h)
  --backend B         ca rotate: the custody backend of the new CA key
  --json              list: JSON output
` + planeFlagsUsage

func runAdmin(c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf("admin: missing subcommand").hint("run 'hallmark admin --help' for usage")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "-help" || sub == "--help" {
		fmt.Fprint(c.stdout, adminUsage)
		return nil
	}
	verb := ""
	switch sub {
	case "bootstrap", "whoami":
	case "project", "token", "oidc", "ca":
		if len(args) == 0 {
			return usageErrorf("admin %s: missing subcommand", sub).hint("run 'hallmark admin --help' for usage")
		}
		verb, args = args[0], args[1:]
	default:
		return usageErrorf("admin: unknown subcommand %q", sub).hint("want bootstrap, whoami, project, token, oidc or ca")
	}
	name := strings.TrimSpace(sub + " " + verb)
	fs := c.flagSet("admin "+name, adminUsage)
	pf := addPlaneFlags(fs)
	subject := fs.String("subject", "", "")
	role := fs.String("role", "", "")
	var project string
	fs.StringVar(&project, "project", "", "")
	fs.StringVar(&project, "p", "", "")
	ttl := fs.Duration("ttl", 0, "")
	var scopes, claims stringsFlag
	fs.Var(&scopes, "scope", "")
	fs.Var(&claims, "claim", "")
	profile := fs.String("profile", "", "")
	issuer := fs.String("issuer", "", "")
	audience := fs.String("audience", "", "")
	overlap := fs.Duration("overlap", 0, "")
	backend := fs.String("backend", "", "")
	asJSON := fs.Bool("json", false, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	wantArgs := map[string]int{"project create": 1, "token revoke": 1, "token set-role": 1, "oidc unbind": 1}[name]
	if len(pos) != wantArgs {
		return usageErrorf("admin %s: want %d arguments, got %d", name, wantArgs, len(pos)).hint("run 'hallmark admin --help' for usage")
	}
	if name == "bootstrap" && pf.serverURL() != "" {
		return usageErrorf("admin bootstrap runs in-process on the data directory, not against a server").
			hint("run it on the control plane's machine with --home; unset HALLMARK_SERVER")
	}
	ctx := context.Background()
	var cn conn
	if name == "bootstrap" {
		p, err := c.openPlane(ctx, pf)
		if err != nil {
			return err
		}
		l, _ := localConn(p)
		cn = l
	} else if cn, err = c.connect(ctx, pf); err != nil {
		return err
	}
	defer cn.Close()
	nonce := api.Nonce()
	switch name {
	case "bootstrap":
		if *subject == "" {
			*subject = "admin"
		}
		t, err := call[api.Token](ctx, cn, api.IssueToken, &api.TokenRequest{Nonce: nonce, Subject: *subject, Role: "security-admin", TTL: *ttl})
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, t.Secret)
		fmt.Fprintf(c.stderr, "hallmark: issued security-admin token %s for %q, valid until %s; it is shown once\n", t.ID, t.Subject, t.Expires.UTC().Format(time.RFC3339))
	case "whoami":
		who, err := call[api.Principal](ctx, cn, api.Whoami, &api.Empty{})
		if err != nil {
			return err
		}
		return c.printJSON(who)
	case "project create":
		pr, err := call[api.Project](ctx, cn, api.CreateProject, &api.Project{Nonce: nonce, Name: pos[0], Profile: *profile})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: created project %q (profile %s)\n", pr.Name, pr.Profile)
	case "project list":
		ps, err := call[api.Projects](ctx, cn, api.ListProjects, &api.Empty{})
		if err != nil || *asJSON {
			return jsonOr(c, ps, err)
		}
		for _, p := range ps.Projects {
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", p.Name, p.Profile, p.Created.UTC().Format(time.RFC3339))
		}
	case "token issue":
		t, err := call[api.Token](ctx, cn, api.IssueToken, &api.TokenRequest{Nonce: nonce, Subject: *subject, Role: *role, Project: project, TTL: *ttl, Scopes: scopes})
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, t.Secret)
		fmt.Fprintf(c.stderr, "hallmark: issued %s token %s for %q, valid until %s; it is shown once\n", t.Role, t.ID, t.Subject, t.Expires.UTC().Format(time.RFC3339))
	case "token list":
		ts, err := call[api.Tokens](ctx, cn, api.ListTokens, &api.Empty{})
		if err != nil || *asJSON {
			return jsonOr(c, ts, err)
		}
		for _, t := range ts.Tokens {
			status := "valid"
			if !t.Revoked.IsZero() {
				status = "revoked"
			} else if time.Now().After(t.Expires) {
				status = "expired"
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Subject, t.Role, orDash(t.Project), status, t.Expires.UTC().Format(time.RFC3339))
		}
	case "token revoke":
		t, err := call[api.Token](ctx, cn, api.RevokeToken, &api.TokenRef{Nonce: nonce, ID: pos[0]})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: revoked token %s (%s)\n", t.ID, t.Subject)
	case "token set-role":
		t, err := call[api.Token](ctx, cn, api.SetRole, &api.RoleChange{Nonce: nonce, ID: pos[0], Role: *role, Project: project})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: token %s is now %s %s\n", t.ID, t.Role, orDash(t.Project))
	case "oidc bind":
		m := map[string]string{}
		for _, kv := range claims {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return usageErrorf("admin oidc bind: --claim %q: want NAME=VALUE", kv)
			}
			m[k] = v
		}
		b, err := call[api.Binding](ctx, cn, api.AddBinding, &api.Binding{Nonce: nonce, Issuer: *issuer, Audience: *audience, Claims: m, Project: project, Role: *role})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: OIDC binding %d: tokens from %s act as %s of %s\n", b.ID, b.Issuer, b.Role, b.Project)
	case "oidc list":
		bs, err := call[api.Bindings](ctx, cn, api.ListBindings, &api.Empty{})
		if err != nil || *asJSON {
			return jsonOr(c, bs, err)
		}
		for _, b := range bs.Bindings {
			fmt.Fprintf(c.stdout, "%d\t%s\t%s\t%s\t%s\t%v\n", b.ID, b.Issuer, b.Audience, b.Role, b.Project, b.Claims)
		}
	case "oidc unbind":
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return usageErrorf("admin oidc unbind: %q is not a binding number", pos[0])
		}
		if _, err := call[api.Empty](ctx, cn, api.RemoveBinding, &api.Binding{Nonce: nonce, ID: id}); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: removed OIDC binding %d\n", id)
	case "ca rotate":
		k, err := call[api.Key](ctx, cn, api.RotateCA, &api.KeyRequest{Nonce: nonce, Overlap: *overlap, Backend: *backend})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "hallmark: CA version %d issues certificates from now on; export the new trusted root with 'hallmark trust-root'\n", k.Version)
	default:
		return usageErrorf("admin %s: unknown subcommand", name).hint("run 'hallmark admin --help' for usage")
	}
	return nil
}

func jsonOr(c *cli, v any, err error) error {
	if err != nil {
		return err
	}
	return c.printJSON(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
