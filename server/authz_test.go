package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/buildspec"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/scan"
)

// caller is a column of the matrix: a token of a role, for a project.
type caller struct {
	name    string
	role    auth.Role
	project string
}

var callers = []caller{
	{"builder-a", auth.Builder, "a"},
	{"approver-a", auth.Approver, "a"},
	{"security-admin", auth.SecurityAdmin, ""},
	{"auditor", auth.Auditor, ""},
	{"worker", auth.Worker, ""},
}

// The authorization matrix, written out: for each endpoint and target
// project, the callers that succeed. "a" is the builder's and approver's own
// project, "b" another one. Every other cell must be refused with 403 and
// change nothing stored. It is the table of the auth package's comment, as
// the endpoints apply it.
var matrix = []struct {
	endpoint string // an api.Op name, or "log.append"
	project  string // the project the request targets, if any
	allowed  []string
}{
	{"sign", "a", []string{"builder-a"}},
	{"sign", "b", nil},
	{"log.append", "", []string{"builder-a"}},
	{"whoami", "", []string{"builder-a", "approver-a", "security-admin", "auditor", "worker"}},
	{"project.create", "", []string{"security-admin"}},
	{"project.list", "", []string{"builder-a", "approver-a", "security-admin", "auditor", "worker"}},
	{"token.issue", "", []string{"security-admin"}},
	{"token.list", "", []string{"security-admin", "auditor"}},
	{"token.revoke", "", []string{"security-admin"}},
	{"token.set-role", "", []string{"security-admin"}},
	{"oidc.bind", "", []string{"security-admin"}},
	{"oidc.list", "", []string{"security-admin", "auditor"}},
	{"oidc.unbind", "", []string{"security-admin"}},
	{"key.generate", "", []string{"security-admin"}},
	{"key.list", "", []string{"builder-a", "approver-a", "security-admin", "auditor", "worker"}},
	{"key.rotate", "", []string{"security-admin"}},
	{"key.retire", "", []string{"security-admin"}},
	{"key.restrict", "", []string{"security-admin"}},
	{"ca.rotate", "", []string{"security-admin"}},
	{"audit.list", "", []string{"security-admin", "auditor"}},
	{"audit.anchor", "", []string{"security-admin"}},
	{"record.list", "a", []string{"builder-a", "approver-a", "security-admin", "auditor"}},
	{"record.list", "b", []string{"security-admin", "auditor"}},
	{"record.list", "", []string{"security-admin", "auditor"}},
	{"policy.set", "", []string{"security-admin"}},
	{"policy.get", "", []string{"builder-a", "approver-a", "security-admin", "auditor", "worker"}},
	{"policy.history", "", []string{"builder-a", "approver-a", "security-admin", "auditor", "worker"}},
	{"gate.evaluate", "a", []string{"builder-a", "worker"}},
	{"gate.evaluate", "b", []string{"worker"}},
	{"verdict.list", "a", []string{"builder-a", "approver-a", "security-admin", "auditor"}},
	{"verdict.list", "b", []string{"security-admin", "auditor"}},
	{"finding.list", "a", []string{"builder-a", "approver-a", "security-admin", "auditor"}},
	{"finding.list", "b", []string{"security-admin", "auditor"}},
	{"finding.show", "a", []string{"builder-a", "approver-a", "security-admin", "auditor"}},
	{"finding.assign", "a", []string{"builder-a", "approver-a", "security-admin"}},
	{"finding.ack", "a", []string{"builder-a", "approver-a", "security-admin"}},
	{"finding.ack", "b", []string{"security-admin"}},
	{"exception.request", "a", []string{"builder-a", "approver-a", "security-admin"}},
	{"exception.request", "b", []string{"security-admin"}},
	{"exception.approve", "a", []string{"approver-a"}},
	{"exception.approve", "b", nil},
	{"exception.reject", "a", []string{"approver-a"}},
	{"exception.revoke", "a", []string{"approver-a", "security-admin"}},
	{"exception.revoke", "b", []string{"security-admin"}},
	{"exception.list", "a", []string{"builder-a", "approver-a", "security-admin", "auditor"}},
	{"exception.show", "a", []string{"builder-a", "approver-a", "security-admin", "auditor"}},
	{"exception.show", "b", []string{"security-admin", "auditor"}},
	{"exception.vex", "a", []string{"builder-a", "approver-a", "security-admin", "auditor"}},
	{"webhook.add", "", []string{"security-admin"}},
	{"webhook.list", "", []string{"security-admin", "auditor"}},
	{"webhook.remove", "", []string{"security-admin"}},
	{"audit.report", "", []string{"security-admin", "auditor"}},
	{"build.record", "a", []string{"worker"}},
	{"build.record", "b", []string{"worker"}},
	{"build.submit", "a", []string{"builder-a"}},
	{"build.submit", "b", nil},
	{"build.take", "", []string{"worker"}},
	{"build.finish", "", []string{"worker"}},
	{"build.log", "", []string{"worker"}},
	{"build.get", "a", []string{"builder-a", "approver-a", "security-admin", "auditor"}},
	{"build.get", "b", []string{"security-admin", "auditor"}},
	{"authenticode.sign", "a", []string{"builder-a"}},
	{"authenticode.sign", "b", nil},
	{"build.output", "a", []string{"builder-a", "approver-a", "security-admin", "auditor"}},
}

// TestAuthorizationMatrix: every endpoint x every role x own/other project;
// only the allowed cells succeed, the others get 403, are audited, and leave
// everything stored as it was.
func TestAuthorizationMatrix(t *testing.T) {
	f := newServer(t)
	p := f.plane
	for _, name := range []string{"a", "b"} {
		planetest.Must[api.Project](t, p, planetest.Local, api.CreateProject, &api.Project{Nonce: api.Nonce(), Name: name})
	}
	tokens := map[string]string{}
	for _, c := range callers {
		tokens[c.name] = planetest.Token(t, p, c.name, c.role, c.project)
	}
	// The worker's principal, for the builds it must have taken itself.
	f.worker = auth.Principal{Subject: "worker", Role: auth.Worker, Via: "token:" + strings.Split(tokens["worker"], "_")[1]}
	f.finished = map[string]string{}
	// Every operation has a row.
	covered := map[string]bool{}
	for _, row := range matrix {
		covered[row.endpoint] = true
	}
	for _, o := range api.Ops() {
		if !covered[o.Name] {
			t.Errorf("operation %s has no row in the matrix", o.Name)
		}
	}

	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	n := 0
	for _, row := range matrix {
		for _, c := range callers {
			n++
			allowed := contains(row.allowed, c.name)
			url, body := f.requestFor(t, row.endpoint, row.project, n, k)
			before := f.snapshot(t)
			code, out := post(t, url, tokens[c.name], "application/json", body)
			cell := fmt.Sprintf("%s %q by %s", row.endpoint, row.project, c.name)
			switch {
			case allowed && code != http.StatusOK:
				t.Errorf("%s: %d %s, want 200", cell, code, out)
			case !allowed && code != http.StatusForbidden:
				t.Errorf("%s: %d %s, want 403", cell, code, out)
			case !allowed:
				if after := f.snapshot(t); after != before {
					t.Errorf("%s was refused but changed what is stored:\n%s\n%s", cell, before, after)
				}
				if !f.lastAuditIs(t, "denied") {
					t.Errorf("%s: the refusal was not audited", cell)
				}
			}
		}
	}
	// Without a token, every endpoint says 401. Past the per-address
	// budget of failed authentications (a burst of 50, then 5 a second)
	// the requests are paced, or they would get 429.
	for i, row := range matrix {
		if i >= 40 {
			time.Sleep(250 * time.Millisecond)
		}
		n++
		url, body := f.requestFor(t, row.endpoint, row.project, n, k)
		if code, out := post(t, url, "", "application/json", body); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d %s", row.endpoint, code, out)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// requestFor returns the URL and a valid request body for an endpoint: one
// that succeeds when the caller may make it. i makes names unique; the
// objects a request acts on (a token to revoke, a key to retire) are made
// for it beforehand by the local operator.
func (f *fixture) requestFor(t *testing.T, endpoint, project string, i int, k *ecdsa.PrivateKey) (string, []byte) {
	t.Helper()
	p, local := f.plane, planetest.Local
	nonce := api.Nonce()
	var req any
	switch endpoint {
	case "log.append":
		return f.url + "/api/v2/log/entries", request(t, k, fmt.Sprint("append ", i))
	case "sign":
		sum := sha256.Sum256(fmt.Append(nil, "artifact ", i))
		req = api.SignRequest{Nonce: nonce, Project: project, Items: []api.SignItem{{Digest: "sha256:" + hex.EncodeToString(sum[:])}}}
	case "whoami", "project.list", "token.list", "oidc.list", "key.list":
		req = api.Empty{}
	case "project.create":
		req = api.Project{Nonce: nonce, Name: fmt.Sprint("p", i)}
	case "token.issue":
		req = api.TokenRequest{Nonce: nonce, Subject: fmt.Sprint("s", i), Role: "builder", Project: "a"}
	case "token.revoke", "token.set-role":
		tok := planetest.Must[api.Token](t, p, local, api.IssueToken, &api.TokenRequest{Nonce: api.Nonce(), Subject: "victim", Role: "builder", Project: "a"})
		if endpoint == "token.revoke" {
			req = api.TokenRef{Nonce: nonce, ID: tok.ID}
		} else {
			req = api.RoleChange{Nonce: nonce, ID: tok.ID, Role: "builder", Project: "b"}
		}
	case "oidc.bind":
		req = api.Binding{Nonce: nonce, Issuer: "https://token.actions.githubusercontent.com", Audience: "hallmark",
			Claims: map[string]string{"sub": fmt.Sprint("repo:org/app", i)}, Project: "a", Role: "builder"}
	case "oidc.unbind":
		b := planetest.Must[api.Binding](t, p, local, api.AddBinding, &api.Binding{Nonce: api.Nonce(), Issuer: "https://issuer.example",
			Audience: "hallmark", Claims: map[string]string{"sub": "x"}, Project: "a", Role: "builder"})
		req = api.Binding{Nonce: nonce, ID: b.ID}
	case "key.generate":
		req = api.KeyRequest{Nonce: nonce, Name: fmt.Sprint("k", i)}
	case "key.rotate", "key.retire", "key.restrict":
		name := fmt.Sprint("target", i)
		planetest.Must[api.Key](t, p, local, api.GenerateKey, &api.KeyRequest{Nonce: api.Nonce(), Name: name})
		req = api.KeyRequest{Nonce: nonce, Name: name, Version: 1, Projects: []string{"a"}}
	case "ca.rotate":
		req = api.KeyRequest{Nonce: nonce}
	case "audit.list":
		req = api.AuditRequest{}
	case "audit.anchor":
		req = api.Empty{Nonce: nonce}
	case "record.list":
		req = api.RecordRequest{Project: project}
	case "policy.set":
		req = api.PolicyRequest{Nonce: nonce, Policy: "apiVersion: hallmark.dev/policy/v1\nkind: Policy\ndefault_profile: medium\n", Comment: fmt.Sprint("change ", i)}
	case "policy.get":
		req = api.PolicyRef{}
	case "policy.history", "webhook.list":
		req = api.Empty{}
	case "gate.evaluate":
		req = gateRequest(nonce, project, i)
	case "verdict.list":
		req = api.VerdictRequest{Project: project}
	case "finding.list":
		req = api.FindingRequest{Project: project}
	case "finding.show", "finding.assign", "finding.ack":
		// A finding of its own for each request: an acknowledged one
		// cannot be acknowledged again.
		g := planetest.Must[api.GateResponse](t, p, local, api.Gate, gateRequest(api.Nonce(), project, i))
		req = api.FindingRequest{Nonce: nonce, Project: project, ID: g.Verdict.Decisions[0].Fingerprint, Owner: "someone", Comment: "on it"}
	case "exception.request":
		req = exceptionRequest(nonce, project, i)
	case "exception.approve", "exception.reject", "exception.revoke", "exception.show":
		e := planetest.Must[api.Exception](t, p, local, api.RequestExc, exceptionRequest(api.Nonce(), project, i))
		req = api.ExceptionRef{Nonce: nonce, ID: e.ID, Comment: "reviewed"}
	case "exception.list":
		req = api.ExceptionList{Project: project}
	case "exception.vex":
		if !f.vexReady {
			e := planetest.Must[api.Exception](t, p, local, api.RequestExc, exceptionRequest(api.Nonce(), project, i))
			approver := auth.Principal{Subject: "approver-x", Role: auth.Approver, Project: project, Via: "token:0000000000000001"}
			planetest.Must[api.Exception](t, p, approver, api.ApproveExc, &api.ExceptionRef{Nonce: api.Nonce(), ID: e.ID, Comment: "ok"})
			f.vexReady = true
		}
		req = api.VEXRequest{Nonce: nonce, Project: project}
	case "webhook.add":
		req = api.Webhook{Nonce: nonce, Name: fmt.Sprint("hook", i), Target: json.RawMessage(`{"format":"json","url":"http://127.0.0.1:1/hook"}`)}
	case "webhook.remove":
		name := fmt.Sprint("old", i)
		planetest.Must[api.Webhook](t, p, local, api.AddWebhook, &api.Webhook{Nonce: api.Nonce(), Name: name, Target: json.RawMessage(`{"format":"json","url":"http://127.0.0.1:1/hook"}`)})
		req = api.Webhook{Nonce: nonce, Name: name}
	case "audit.report":
		req = api.ReportRequest{}
	case "build.submit":
		req = api.BuildSubmit{Nonce: nonce, Project: project, Spec: buildSpec, Source: sourceArchive(t)}
	case "authenticode.sign":
		sum := sha256.Sum256(fmt.Append(nil, "pe image ", i))
		req = api.AuthenticodeRequest{Nonce: nonce, Project: project, Digest: "sha256:" + hex.EncodeToString(sum[:]), Name: "app.exe"}
	case "build.take":
		req = api.BuildRef{Nonce: nonce}
	case "build.finish", "build.log":
		// A build of its own, taken by the worker, to report as failed or
		// to stream a log chunk of.
		queued := planetest.Must[api.Build](t, p, local, api.SubmitBuild, &api.BuildSubmit{Nonce: api.Nonce(), Project: "a", Spec: buildSpec, Source: sourceArchive(t)})
		for {
			job := planetest.Must[api.BuildJob](t, p, f.worker, api.TakeBuild, &api.BuildRef{Nonce: api.Nonce()})
			if job.ID == queued.ID || job.ID == "" {
				break
			}
		}
		req = api.BuildFinish{Nonce: nonce, ID: queued.ID, Error: "step build: exited with status 1"}
		if endpoint == "build.log" {
			req = api.BuildLog{Nonce: nonce, ID: queued.ID, Data: []byte("build| compiling\n")}
		}
	case "build.get", "build.output":
		if f.finished[project] == "" {
			f.finished[project] = finishedBuild(t, f, project)
		}
		req = api.BuildRef{ID: f.finished[project], Path: "bin/app"}
	case "build.record":
		sum := sha256.Sum256(fmt.Append(nil, "output ", i))
		statement, err := provenance.Statement(provenance.Build{
			Subjects:  []provenance.Subject{{Name: "bin/app", SHA256: hex.EncodeToString(sum[:])}},
			External:  map[string]any{"name": "app"},
			BuilderID: p.BuilderID(), InvocationID: fmt.Sprint("b-", i),
			Started: time.Now().Add(-time.Minute), Finished: time.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		req = api.BuildRecord{Nonce: nonce, Project: project, Statement: statement}
	default:
		t.Fatalf("no request for %s", endpoint)
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return f.url + "/api/v1/op/" + endpoint, body
}

const buildSpec = `apiVersion: hallmark.dev/build/v1
kind: Build
name: app
toolchains:
  go: {go: 1.26.8}
steps:
  - name: build
    toolchain: go
    run: [go, build, -o, bin/app, .]
    inputs: [{source: true}]
    outputs: [bin]
`

// sourceArchive is a gzipped tar of a one-file source tree.
func sourceArchive(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte("package main\n\nfunc main() {}\n")
	if err := tw.WriteHeader(&tar.Header{Name: "main.go", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// finishedBuild queues a build of project, has the worker take it and
// report it built, and returns its id.
func finishedBuild(t *testing.T, f *fixture, project string) string {
	t.Helper()
	p := f.plane
	queued := planetest.Must[api.Build](t, p, planetest.Local, api.SubmitBuild, &api.BuildSubmit{Nonce: api.Nonce(), Project: project, Spec: buildSpec, Source: sourceArchive(t)})
	for {
		job := planetest.Must[api.BuildJob](t, p, f.worker, api.TakeBuild, &api.BuildRef{Nonce: api.Nonce()})
		if job.ID == queued.ID {
			break
		}
		if job.ID == "" {
			t.Fatal("the queued build was not there to take")
		}
	}
	spec, err := buildspec.Parse([]byte(buildSpec))
	if err != nil {
		t.Fatal(err)
	}
	app := []byte("the built app")
	sum := sha256.Sum256(app)
	external := spec.ExternalParameters()
	statement, err := provenance.Statement(provenance.Build{
		Subjects: []provenance.Subject{{Name: "bin/app", SHA256: hex.EncodeToString(sum[:])}},
		External: external, BuilderID: p.BuilderID(), InvocationID: queued.ID,
		Started: time.Now().Add(-time.Minute), Finished: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	planetest.Must[api.Build](t, p, f.worker, api.FinishBuild, &api.BuildFinish{Nonce: api.Nonce(), ID: queued.ID, Succeeded: true,
		Outputs: []api.BuildOutput{{Path: "bin/app", Data: app}}, Statement: statement})
	return queued.ID
}

// gateRequest is a gate request with one medium finding of its own.
func gateRequest(nonce, project string, i int) *api.GateRequest {
	sum := sha256.Sum256(fmt.Append(nil, "finding ", i))
	return &api.GateRequest{Nonce: nonce, Project: project,
		Subjects: []api.Subject{{Name: "app", Digest: "sha256:" + hex.EncodeToString(sum[:])}},
		Findings: []scan.Finding{{Kind: scan.Vulnerability, ID: fmt.Sprint("GO-2099-", i), Severity: scan.Medium,
			Package: scan.Package{Name: "example.com/m", Version: "v1.0.0", PURL: "pkg:golang/example.com/m@v1.0.0"}, Fingerprint: hex.EncodeToString(sum[:])}}}
}

// exceptionRequest asks for an exception of its own.
func exceptionRequest(nonce, project string, i int) *api.ExceptionRequest {
	return &api.ExceptionRequest{Nonce: nonce, Project: project, Vulnerability: fmt.Sprint("GO-2099-", i), Package: "pkg:golang/example.com/m",
		Reason: "reviewed", Expires: time.Now().Add(24 * time.Hour), Justification: "vulnerable_code_not_present"}
}

// snapshot describes what is stored, but for the audit log, which records
// refusals too: projects, tokens, bindings, keys, signing records and the
// log's size.
func (f *fixture) snapshot(t *testing.T) string {
	t.Helper()
	p, local := f.plane, planetest.Local
	var b strings.Builder
	for _, v := range []any{
		planetest.Must[api.Projects](t, p, local, api.ListProjects, &api.Empty{}),
		planetest.Must[api.Tokens](t, p, local, api.ListTokens, &api.Empty{}),
		planetest.Must[api.Bindings](t, p, local, api.ListBindings, &api.Empty{}),
		planetest.Must[api.Keys](t, p, local, api.ListKeys, &api.Empty{}),
		planetest.Must[api.Records](t, p, local, api.ListRecords, &api.RecordRequest{Limit: 10000}),
	} {
		out, _ := json.Marshal(v)
		b.Write(out)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "log size %d\n", f.checkpoint(t).N)
	return b.String()
}

// lastAuditIs reports whether the newest audit entry has outcome.
func (f *fixture) lastAuditIs(t *testing.T, outcome string) bool {
	t.Helper()
	var last api.AuditEntry
	for after := int64(0); ; {
		page := planetest.Must[api.AuditLog](t, f.plane, planetest.Local, api.ReadAudit, &api.AuditRequest{After: after, Limit: 10000})
		if len(page.Entries) == 0 {
			break
		}
		last = page.Entries[len(page.Entries)-1]
		after = last.Seq
	}
	return bytes.Contains(last.Event, []byte(`"outcome":"`+outcome+`"`))
}

// TestHealthReadinessMetrics: liveness, readiness and metrics answer without
// credentials, and metrics count requests by route and status.
func TestHealthReadinessMetrics(t *testing.T) {
	f := newServer(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, out := get(t, f.url+path); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, out)
		}
	}
	post(t, f.url+"/api/v1/op/whoami", "", "application/json", []byte(`{}`))
	post(t, f.url+"/api/v1/op/whoami/../../../etc", "", "application/json", []byte(`{}`))
	code, out := get(t, f.url+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, want := range []string{
		`hallmark_http_requests_total{code="401",route="op:whoami"} 1`,
		`hallmark_http_request_duration_seconds_bucket{route="/healthz"`,
		`hallmark_http_requests_in_flight`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(out), "etc") {
		t.Error("a request path reached the metrics' labels")
	}
}
