package controlplane_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
	"github.com/hallmark-dev/hallmark/notify"
	"github.com/hallmark-dev/hallmark/scan"
)

// finding returns a vulnerability finding of severity sev, fingerprinted by
// its id.
func finding(id string, sev scan.Severity) scan.Finding {
	sum := sha256.Sum256([]byte(id))
	return scan.Finding{Kind: scan.Vulnerability, ID: id, Severity: sev, Summary: "test " + id, Fixed: "v1.0.1",
		Package:     scan.Package{Ecosystem: "Go", Name: "example.com/m", Version: "v1.0.0", PURL: "pkg:golang/example.com/m@v1.0.0"},
		Fingerprint: hex.EncodeToString(sum[:])}
}

func gate(project string, findings ...scan.Finding) *api.GateRequest {
	return &api.GateRequest{Nonce: api.Nonce(), Project: project, Findings: findings,
		Subjects: []api.Subject{{Name: "app", Digest: "sha256:" + strings.Repeat("ab", 32)}}}
}

// receiver is a local webhook endpoint that keeps what it is sent.
type receiver struct {
	mu     sync.Mutex
	bodies map[string][]string // path to bodies
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies[req.URL.Path] = append(r.bodies[req.URL.Path], string(body))
	r.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// wait returns the bodies sent to path once there are n, failing after a
// while.
func (r *receiver) wait(t *testing.T, path string, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		r.mu.Lock()
		got := append([]string(nil), r.bodies[path]...)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("%s received %d requests, want %d:\n%s", path, len(got), n, strings.Join(got, "\n"))
			}
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The gate tells the webhooks of new findings and failing verdicts, in the
// generic JSON and Jira's formats, and only once of a finding seen again.
func TestGateWebhooks(t *testing.T) {
	p, _ := planetest.New(t, controlplane.Options{})
	local := planetest.Local
	planetest.Must[api.Project](t, p, local, api.CreateProject, &api.Project{Nonce: api.Nonce(), Name: "shop", Profile: "high"})
	rcv := &receiver{bodies: map[string][]string{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	planetest.Must[api.Webhook](t, p, local, api.AddWebhook, &api.Webhook{Nonce: api.Nonce(), Name: "generic",
		Target: json.RawMessage(`{"format":"json","url":"` + srv.URL + `/generic","headers":{"Authorization":"Bearer s3cret"}}`)})
	planetest.Must[api.Webhook](t, p, local, api.AddWebhook, &api.Webhook{Nonce: api.Nonce(), Name: "jira",
		Target: json.RawMessage(`{"format":"jira","url":"` + srv.URL + `/rest/api/2/issue","jiraProject":"SEC","events":["finding.new"]}`)})
	list := planetest.Must[api.Webhooks](t, p, local, api.ListWebhooks, &api.Empty{})
	if out, _ := json.Marshal(list); strings.Contains(string(out), "s3cret") {
		t.Errorf("the webhook list shows a header value: %s", out)
	}

	high, medium := finding("GO-2099-0001", scan.High), finding("GO-2099-0002", scan.Medium)
	g := planetest.Must[api.GateResponse](t, p, local, api.Gate, gate("shop", high, medium))
	if g.Verdict.Result != "fail" || g.New != 2 {
		t.Fatalf("verdict %s with %d new findings, want fail with 2", g.Verdict.Result, g.New)
	}
	generic := rcv.wait(t, "/generic", 3)
	var types []string
	for _, b := range generic {
		var env notify.Envelope
		if err := json.Unmarshal([]byte(b), &env); err != nil {
			t.Fatalf("generic body: %v\n%s", err, b)
		}
		if env.Project != "shop" || env.Build != g.ID {
			t.Errorf("envelope names project %q build %q, want shop %s", env.Project, env.Build, g.ID)
		}
		if env.Finding != nil && (env.Due == "" || env.Status != "open") {
			t.Errorf("finding envelope without due date or status: %s", b)
		}
		types = append(types, env.Type)
	}
	if got := strings.Join(types, ","); !strings.Contains(got, "finding.new") || !strings.Contains(got, "verdict.fail") {
		t.Errorf("generic webhook got %s, want finding.new twice and verdict.fail", got)
	}
	jira := rcv.wait(t, "/rest/api/2/issue", 2)
	if !strings.Contains(jira[0]+jira[1], `"SEC"`) || !strings.Contains(jira[0]+jira[1], "GO-2099-0001") {
		t.Errorf("jira bodies: %s", jira)
	}

	// Seen again: nothing new to tell but the failing verdict.
	planetest.Must[api.GateResponse](t, p, local, api.Gate, gate("shop", high, medium))
	rcv.wait(t, "/generic", 4)
	rcv.wait(t, "/rest/api/2/issue", 2)

	// A bad target is refused with the reason.
	for _, target := range []string{
		`{"format":"json","url":"http://example.com/hook"}`,
		`{"format":"telex","url":"https://example.com/hook"}`,
		`{"format":"json","url":"https://example.com/hook","extra":1}`,
		`{"format":"jira","url":"https://example.com/rest/api/2/issue"}`,
	} {
		_, err := planetest.Call[api.Webhook](p, local, api.AddWebhook, &api.Webhook{Nonce: api.Nonce(), Name: "bad", Target: json.RawMessage(target)})
		if api.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("webhook %s: %v, want 400", target, err)
		}
	}
}

// Bad gate requests are refused with 4xx and record nothing.
func TestGateBadInput(t *testing.T) {
	p, _ := planetest.New(t, controlplane.Options{})
	local := planetest.Local
	ok := finding("GO-2099-0001", scan.Low)
	replayed := gate("default", ok)
	planetest.Must[api.GateResponse](t, p, local, api.Gate, replayed)
	many := make([]scan.Finding, api.MaxFindings+1)
	for i := range many {
		many[i] = finding(fmt.Sprint("GO-2099-", i), scan.Low)
	}
	for _, tc := range []struct {
		name   string
		change func(r *api.GateRequest)
		status int
		want   string
	}{
		{"no subjects", func(r *api.GateRequest) { r.Subjects = nil }, 400, "no subjects"},
		{"bad digest", func(r *api.GateRequest) { r.Subjects[0].Digest = "sha256:xyz" }, 400, `digest "sha256:xyz"`},
		{"upper-case digest", func(r *api.GateRequest) { r.Subjects[0].Digest = "sha256:" + strings.Repeat("AB", 32) }, 400, "want sha256:<64 lower-case hex>"},
		{"sha512 digest", func(r *api.GateRequest) { r.Subjects[0].Digest = "sha512:" + strings.Repeat("ab", 64) }, 400, "want sha256:<64 lower-case hex>"},
		{"bad fingerprint", func(r *api.GateRequest) { r.Findings[0].Fingerprint = "not-hex" }, 400, "fingerprint"},
		{"finding without id", func(r *api.GateRequest) { r.Findings[0].ID = "" }, 400, "kind and id are required"},
		{"too many findings", func(r *api.GateRequest) { r.Findings = many }, 413, "at most 20000"},
		{"component without purl", func(r *api.GateRequest) { r.Components = []api.Component{{}} }, 400, "purl is required"},
		{"no nonce", func(r *api.GateRequest) { r.Nonce = "" }, 400, "no nonce"},
		{"unknown project", func(r *api.GateRequest) { r.Project = "nosuch" }, 404, `no project "nosuch"`},
		{"replayed", func(r *api.GateRequest) { r.Nonce = replayed.Nonce }, 409, "replayed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gate("default", ok)
			tc.change(r)
			_, err := planetest.Call[api.GateResponse](p, local, api.Gate, r)
			if api.StatusOf(err) != tc.status || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %d with %q", err, tc.status, tc.want)
			}
		})
	}
	vs := planetest.Must[api.Verdicts](t, p, local, api.ListVerdicts, &api.VerdictRequest{})
	if len(vs.Verdicts) != 1 {
		t.Errorf("%d verdicts recorded, want only the first", len(vs.Verdicts))
	}
}

// A builder may not judge another project's build, nor set the policy; a
// worker may judge any.
func TestGateRoles(t *testing.T) {
	p, _ := planetest.New(t, controlplane.Options{})
	planetest.Must[api.Project](t, p, planetest.Local, api.CreateProject, &api.Project{Nonce: api.Nonce(), Name: "shop"})
	builder := auth.Principal{Subject: "alice", Role: auth.Builder, Project: "default", Via: "token:1"}
	if _, err := planetest.Call[api.GateResponse](p, builder, api.Gate, gate("shop", finding("GO-1", scan.Low))); api.StatusOf(err) != http.StatusForbidden {
		t.Errorf("a builder judged another project: %v", err)
	}
	if _, err := planetest.Call[api.PolicyVersion](p, builder, api.SetPolicy, &api.PolicyRequest{Nonce: api.Nonce(), Policy: controlplane.DefaultPolicy, Comment: "x"}); api.StatusOf(err) != http.StatusForbidden {
		t.Errorf("a builder set the policy: %v", err)
	}
	worker := auth.Principal{Subject: "w1", Role: auth.Worker, Via: "token:2"}
	g := planetest.Must[api.GateResponse](t, p, worker, api.Gate, gate("shop", finding("GO-1", scan.Low)))
	if g.Bundle == nil || g.DSSE == nil {
		t.Error("a passing verdict came back unsigned")
	}
}

// BenchmarkGate is one gate.evaluate through the control plane on SQLite:
// 10,000 findings judged with 1,000 approved exceptions in force, the
// verdict recorded, 10,000 tracked findings updated, the verdict signed,
// logged and timestamped. (policy.BenchmarkEvaluate is the evaluation
// alone.)
func BenchmarkGate(b *testing.B) {
	p, _ := planetest.New(b, controlplane.Options{})
	local := planetest.Local
	approver := auth.Principal{Subject: "approver", Role: auth.Approver, Project: "default", Via: "token:1"}
	findings := make([]scan.Finding, 10000)
	sevs := []scan.Severity{scan.Low, scan.Medium, scan.High, scan.Critical}
	for i := range findings {
		findings[i] = finding(fmt.Sprintf("GO-2099-%05d", i), sevs[i%len(sevs)])
		findings[i].Package.PURL = fmt.Sprintf("pkg:golang/example.com/m%d@v1.0.0", i)
	}
	for i := range 1000 {
		f := findings[i*10+3] // a critical or high one
		e := planetest.Must[api.Exception](b, p, local, api.RequestExc, &api.ExceptionRequest{Nonce: api.Nonce(), Project: "default",
			Vulnerability: f.ID, Package: f.Package.PURL, Reason: "bench", Expires: time.Now().Add(24 * time.Hour)})
		planetest.Must[api.Exception](b, p, approver, api.ApproveExc, &api.ExceptionRef{Nonce: api.Nonce(), ID: e.ID, Comment: "ok"})
	}
	b.ResetTimer()
	for b.Loop() {
		g := planetest.Must[api.GateResponse](b, p, local, api.Gate, gate("default", findings...))
		if g.Verdict.Counts.Excepted != 1000 {
			b.Fatalf("%d excepted, want 1000", g.Verdict.Counts.Excepted)
		}
	}
}
