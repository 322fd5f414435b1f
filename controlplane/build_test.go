package controlplane_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/auth"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/controlplane/planetest"
	"github.com/hallmark-dev/hallmark/dsse"
	"github.com/hallmark-dev/hallmark/provenance"
)

// statementFor is the provenance of a build of spec "app" with Go goVersion.
func statementFor(t *testing.T, p *controlplane.Plane, invocation, goVersion string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(invocation))
	st, err := provenance.Statement(provenance.Build{
		Subjects:  []provenance.Subject{{Name: "bin/app", SHA256: hex.EncodeToString(sum[:])}},
		External:  map[string]any{"name": "app", "toolchains": map[string]any{"go": map[string]any{"go": goVersion}}},
		BuilderID: p.BuilderID(), InvocationID: invocation, Started: time.Now().Add(-time.Minute), Finished: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A change of a spec's toolchain lock is audited, and in a high-risk project
// its provenance is signed only once approvers signed the change off.
func TestToolchainLockChange(t *testing.T) {
	p, _ := planetest.New(t, controlplane.Options{})
	local := planetest.Local
	for _, pr := range []api.Project{{Name: "shop", Profile: "high"}, {Name: "tools", Profile: "medium"}} {
		planetest.Must[api.Project](t, p, local, api.CreateProject, &api.Project{Nonce: api.Nonce(), Name: pr.Name, Profile: pr.Profile})
	}
	record := func(project, invocation, goVersion string) error {
		_, err := planetest.Call[api.BuildRecorded](p, local, api.RecordBuild, &api.BuildRecord{Nonce: api.Nonce(), Project: project, Statement: statementFor(t, p, invocation, goVersion)})
		return err
	}
	for _, project := range []string{"shop", "tools"} {
		if err := record(project, "b-1", "1.26.8"); err != nil {
			t.Fatalf("%s: first lock: %v", project, err)
		}
		if err := record(project, "b-2", "1.26.8"); err != nil {
			t.Fatalf("%s: same lock: %v", project, err)
		}
	}
	// Medium risk: the change is recorded, no sign-off needed.
	if err := record("tools", "b-3", "1.26.9"); err != nil {
		t.Errorf("tools: changed lock: %v", err)
	}
	// High risk: refused until signed off, with the request to make.
	err := record("shop", "b-3", "1.26.9")
	if api.StatusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "hallmark exception request --vuln HALLMARK-TOOLCHAIN-CHANGE --package pkg:generic/app@") {
		t.Fatalf("shop: changed lock without sign-off: %v", err)
	}
	pkg := err.Error()[strings.Index(err.Error(), "pkg:generic/app@"):]
	pkg = pkg[:strings.IndexByte(pkg, ' ')]
	builder := auth.Principal{Subject: "alice", Role: auth.Builder, Project: "shop", Via: "token:1"}
	e := planetest.Must[api.Exception](t, p, builder, api.RequestExc, &api.ExceptionRequest{Nonce: api.Nonce(), Project: "shop",
		Vulnerability: controlplane.ToolchainChange, Package: pkg, Reason: "Go 1.26.9 fixes a security issue", Expires: time.Now().Add(72 * time.Hour)})
	for _, who := range []string{"bob", "carol"} {
		approver := auth.Principal{Subject: who, Role: auth.Approver, Project: "shop", Via: "token:" + who}
		planetest.Must[api.Exception](t, p, approver, api.ApproveExc, &api.ExceptionRef{Nonce: api.Nonce(), ID: e.ID, Comment: "ok"})
	}
	if err := record("shop", "b-4", "1.26.9"); err != nil {
		t.Fatalf("shop: changed lock with sign-off: %v", err)
	}
	if err := record("shop", "b-5", "1.26.9"); err != nil {
		t.Fatalf("shop: the new lock, again: %v", err)
	}
	log := planetest.Must[api.AuditLog](t, p, local, api.ReadAudit, &api.AuditRequest{})
	changes := 0
	for _, e := range log.Entries {
		if ev := string(e.Event); strings.Contains(ev, `"action":"toolchain.lock-change"`) && strings.Contains(ev, `"outcome":"ok"`) {
			changes++
		}
	}
	if changes != 2 {
		t.Errorf("%d lock changes audited, want 2 (tools, and shop once signed off)", changes)
	}
}

// A tenant cannot have provenance or a verdict signed through sign.
func TestSignRefusesPlatformStatements(t *testing.T) {
	p, _ := planetest.New(t, controlplane.Options{})
	builder := auth.Principal{Subject: "mallory", Role: auth.Builder, Project: "default", Via: "token:1"}
	for _, payload := range []string{
		string(statementFor(t, p, "b-1", "1.26.8")),
		`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/verification_summary/v1","subject":[],"predicate":{}}`,
		`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://hallmark.dev/rebuild/v1","subject":[],"predicate":{}}`,
	} {
		_, err := planetest.Call[api.SignResponse](p, builder, api.Sign, &api.SignRequest{Nonce: api.Nonce(), Project: "default",
			Items: []api.SignItem{{PayloadType: dsse.PayloadTypeInToto, Payload: []byte(payload)}}})
		if api.StatusOf(err) != http.StatusForbidden {
			t.Errorf("signing %.60s...: %v, want 403", payload, err)
		}
	}
	if _, err := planetest.Call[api.BuildRecorded](p, builder, api.RecordBuild, &api.BuildRecord{Nonce: api.Nonce(), Project: "default",
		Statement: statementFor(t, p, "b-2", "1.26.8")}); api.StatusOf(err) != http.StatusForbidden {
		t.Errorf("a builder recorded a build: %v", err)
	}
}
