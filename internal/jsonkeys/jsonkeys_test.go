package jsonkeys

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestFold checks Fold against encoding/json itself: names with the same
// Fold fill the same field, names with different ones do not.
func TestFold(t *testing.T) {
	for _, name := range []string{"scope", "SCOPE", "ſcope", "\u017fcope", "\u212aind", "kind", "Kind", "sco\u00e9pe", "scoÉpe"} {
		var v struct {
			Scope  string `json:"scope"`
			Kind   string `json:"kind"`
			Accent string `json:"scoépe"`
		}
		var raw string
		if err := json.Unmarshal([]byte(`"`+name+`"`), &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(`{"`+name+`":"x"}`), &v); err != nil {
			t.Fatal(err)
		}
		for field, got := range map[string]string{"scope": v.Scope, "kind": v.Kind, "scoépe": v.Accent} {
			if same := Fold(raw) == Fold(field); same != (got == "x") {
				t.Errorf("Fold(%q) == Fold(%q) is %v, but encoding/json filled the field: %v", raw, field, same, got == "x")
			}
		}
	}
	if Fold("purl") != Fold("PURL") || Fold("purl") == Fold("purls") {
		t.Error("Fold: ASCII case")
	}
}

func TestKind(t *testing.T) {
	for raw, want := range map[string]string{
		"": "nothing", "  ": "nothing", ` {"a":1}`: "object", "[]": "array",
		`"x"`: "string", "true": "boolean", "false": "boolean", "null": "null",
		"-1": "number", "2.5e3": "number",
	} {
		if got := Kind([]byte(raw)); got != want {
			t.Errorf("Kind(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestMembers(t *testing.T) {
	o, err := Members([]byte(`{"a": 1, "b": {"a": 2, "c": [1]}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(o) != 2 || string(o["a"]) != "1" || string(o["b"]) != `{"a": 2, "c": [1]}` {
		t.Errorf("Members = %q", o)
	}

	_, err = Members([]byte(`{"a": 1, "b": 2, "a": 3}`), nil)
	var de *DuplicateError
	if !errors.As(err, &de) || de.Name != "a" || err.Error() != `duplicate member "a"` {
		t.Errorf("duplicate: err = %v", err)
	}

	var seen []string
	stop := errors.New("stop")
	_, err = Members([]byte(`{"a": 1, "b": 2, "c": 3}`), func(name string) error {
		seen = append(seen, name)
		if name == "b" {
			return stop
		}
		return nil
	})
	if err != stop || len(seen) != 2 || seen[0] != "a" || seen[1] != "b" {
		t.Errorf("visit: err = %v, seen %q", err, seen)
	}

	if _, err := Members([]byte(`{"a": `), nil); err == nil {
		t.Error("truncated object: no error")
	}
}
