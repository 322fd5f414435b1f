package controlplane_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
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

// A running build's log streams in from the worker that took it, and only
// from it; build.get shows it while the build runs.
func TestBuildLogStream(t *testing.T) {
	p, _ := planetest.New(t, controlplane.Options{})
	spec := "apiVersion: hallmark.dev/build/v1\nkind: Build\nname: app\ntoolchains:\n  go: {go: 1.26.8}\nsteps:\n  - name: build\n    toolchain: go\n    run: [go, build, -o, bin/app, .]\n    inputs: [{source: true}]\n    outputs: [bin]\n"
	queued := planetest.Must[api.Build](t, p, planetest.Local, api.SubmitBuild, &api.BuildSubmit{Nonce: api.Nonce(), Project: "default", Spec: spec, Source: emptyArchive(t)})
	w1 := auth.Principal{Subject: "w1", Role: auth.Worker, Via: "token:w1"}
	w2 := auth.Principal{Subject: "w2", Role: auth.Worker, Via: "token:w2"}
	if job := planetest.Must[api.BuildJob](t, p, w1, api.TakeBuild, &api.BuildRef{Nonce: api.Nonce()}); job.ID != queued.ID {
		t.Fatalf("took %q, want %s", job.ID, queued.ID)
	}
	for _, chunk := range []string{"build| compiling\n", "build| linking\n"} {
		planetest.Must[api.Empty](t, p, w1, api.LogBuild, &api.BuildLog{Nonce: api.Nonce(), ID: queued.ID, Data: []byte(chunk)})
	}
	if _, err := planetest.Call[api.Empty](p, w2, api.LogBuild, &api.BuildLog{Nonce: api.Nonce(), ID: queued.ID, Data: []byte("forged\n")}); api.StatusOf(err) != http.StatusConflict {
		t.Errorf("another worker wrote the log: %v", err)
	}
	b := planetest.Must[api.Build](t, p, planetest.Local, api.GetBuild, &api.BuildRef{ID: queued.ID})
	if b.Status != "running" || string(b.Log) != "build| compiling\nbuild| linking\n" {
		t.Errorf("running build: status %s, log %q", b.Status, b.Log)
	}
	if _, err := planetest.Call[api.Build](p, w2, api.FinishBuild, &api.BuildFinish{Nonce: api.Nonce(), ID: queued.ID, Error: "x"}); api.StatusOf(err) != http.StatusConflict {
		t.Errorf("another worker reported the build: %v", err)
	}
	done := planetest.Must[api.Build](t, p, w1, api.FinishBuild, &api.BuildFinish{Nonce: api.Nonce(), ID: queued.ID, Error: "step build: exited with status 1", Log: []byte("whole log\n")})
	if done.Status != "failed" || string(done.Log) != "whole log\n" {
		t.Errorf("finished build: %+v", done)
	}
	if _, err := planetest.Call[api.Empty](p, w1, api.LogBuild, &api.BuildLog{Nonce: api.Nonce(), ID: queued.ID, Data: []byte("late\n")}); api.StatusOf(err) != http.StatusConflict {
		t.Errorf("a finished build's log was written: %v", err)
	}
}

// emptyArchive is a gzipped tar with one file.
func emptyArchive(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "main.go", Mode: 0o644, Size: 0, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// Hostile source archives are refused at submission.
func TestSubmitRefusesHostileSources(t *testing.T) {
	p, _ := planetest.New(t, controlplane.Options{})
	spec := "apiVersion: hallmark.dev/build/v1\nkind: Build\nname: app\ntoolchains:\n  go: {go: 1.26.8}\nsteps:\n  - name: build\n    toolchain: go\n    run: [go, build, -o, bin/app, .]\n    inputs: [{source: true}]\n    outputs: [bin]\n"
	archive := func(h *tar.Header) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(h)
		tw.Close()
		zw.Close()
		return buf.Bytes()
	}
	for name, src := range map[string][]byte{
		"not gzip":  []byte("plain text"),
		"traversal": archive(&tar.Header{Name: "../../etc/passwd", Mode: 0o644, Typeflag: tar.TypeReg}),
		"absolute":  archive(&tar.Header{Name: "/etc/passwd", Mode: 0o644, Typeflag: tar.TypeReg}),
		"symlink":   archive(&tar.Header{Name: "link", Linkname: "/etc/shadow", Typeflag: tar.TypeSymlink}),
		"device":    archive(&tar.Header{Name: "dev", Typeflag: tar.TypeChar}),
		"unclean":   archive(&tar.Header{Name: "a/./b", Mode: 0o644, Typeflag: tar.TypeReg}),
	} {
		_, err := planetest.Call[api.Build](p, planetest.Local, api.SubmitBuild, &api.BuildSubmit{Nonce: api.Nonce(), Project: "default", Spec: spec, Source: src})
		if api.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("%s: %v, want 400", name, err)
		}
	}
	if _, err := planetest.Call[api.Build](p, planetest.Local, api.SubmitBuild, &api.BuildSubmit{Nonce: api.Nonce(), Project: "default", Spec: "kind: Build\nstpes: []\n", Source: emptyArchive(t)}); api.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("a bad spec: %v, want 400", err)
	}
	w := auth.Principal{Subject: "w1", Role: auth.Worker, Via: "token:w1"}
	if job := planetest.Must[api.BuildJob](t, p, w, api.TakeBuild, &api.BuildRef{Nonce: api.Nonce()}); job.ID != "" {
		t.Errorf("a refused submission was queued: %s", job.ID)
	}
}

// Spellings that parsers may read as a platform predicate are refused too.
func TestSignRefusesPlatformStatementSpellings(t *testing.T) {
	p, _ := planetest.New(t, controlplane.Options{})
	builder := auth.Principal{Subject: "mallory", Role: auth.Builder, Project: "default", Via: "token:1"}
	for _, tc := range []struct{ payloadType, payload string }{
		{"application/vnd.in-toto+json", `{"predicatetype":"https://slsa.dev/provenance/v1","subject":[]}`},
		{"application/vnd.in-toto+json", `{"predicateType":"https://slsa.dev/provenance/v1","predicateType":"https://example.com/x"}`},
		{"application/vnd.in-toto+json", `{"predicateType":"https://example.com/x","PredicateType":"https://slsa.dev/verification_summary/v1"}`},
		{"application/vnd.in-toto+JSON", `{"predicateType":"https://slsa.dev/provenance/v1"}`},
	} {
		_, err := planetest.Call[api.SignResponse](p, builder, api.Sign, &api.SignRequest{Nonce: api.Nonce(), Project: "default",
			Items: []api.SignItem{{PayloadType: tc.payloadType, Payload: []byte(tc.payload)}}})
		if api.StatusOf(err) != http.StatusForbidden {
			t.Errorf("%s %s: %v, want 403", tc.payloadType, tc.payload, err)
		}
	}
	// Other statements are signed as before.
	planetest.Must[api.SignResponse](t, p, builder, api.Sign, &api.SignRequest{Nonce: api.Nonce(), Project: "default",
		Items: []api.SignItem{{PayloadType: dsse.PayloadTypeInToto, Payload: []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/review/v1","subject":[{"name":"a","digest":{"sha256":"` + strings.Repeat("a", 64) + `"}}],"predicate":{}}`)}}})
}
