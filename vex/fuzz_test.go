package vex

import (
	"bytes"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts
// JSON writes back, the schema accepts, and Parse reads again to the same
// document.
func FuzzParse(f *testing.F) {
	f.Add(mustJSON(f, sample()))
	f.Add([]byte(foreign))
	f.Add([]byte(`{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "urn:x", "author": "a", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
		"statements": [{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/%40s/a@1"}], "status": "fixed"}]}`))
	sch := compileSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		out, err := d.JSON()
		if err != nil {
			t.Fatalf("Parse accepted a document JSON refuses: %v\n%s", err, data)
		}
		if err := schemaErr(sch, out); err != nil {
			t.Fatalf("schema refuses what JSON wrote: %v\n%s", err, out)
		}
		d2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse refuses what JSON wrote: %v\n%s", err, out)
		}
		out2, err := d2.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
	})
}
