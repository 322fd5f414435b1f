package main

import (
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// showBundle shows a bundle that was not verified: a checkpoint of any
// shape must not make it panic.
func TestShowBundleCheckpoint(t *testing.T) {
	for _, tc := range []struct{ name, envelope, want string }{
		{"note", "log.example\n42\nROOT=\n\n— sig\n", "log.example tree size 42"},
		{"one line", "log.example", `"log.example"`},
		{"none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &sgbundle.Bundle{Bundle: &protobundle.Bundle{VerificationMaterial: &protobundle.VerificationMaterial{
				TlogEntries: []*protorekor.TransparencyLogEntry{{InclusionProof: &protorekor.InclusionProof{
					Checkpoint: &protorekor.Checkpoint{Envelope: tc.envelope}}}}}}}
			got := showBundle("b.sigstore.json", b)
			if len(got.LogEntries) != 1 || got.LogEntries[0].Checkpoint != tc.want {
				t.Fatalf("log entries %+v, want one with checkpoint %q", got.LogEntries, tc.want)
			}
		})
	}
}
