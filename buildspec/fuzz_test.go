package buildspec

import (
	"encoding/json"
	"os"
	"testing"
)

func FuzzParse(f *testing.F) {
	hello, err := os.ReadFile("testdata/hello.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(hello)
	f.Add([]byte(header + "steps:\n" + step("a", "")))
	f.Add([]byte(header + "steps:\n" + step("a", "    inputs: [{step: b}]\n") + step("b", "    inputs: [{step: a}]\n")))
	f.Add([]byte(header + "steps:\n" + step("a", "    outputs: [bin, bin/x]\n    sast: {sarif: bin/x.sarif}\n")))
	f.Add([]byte(header + "steps:\n" + step("a", "    fetch: true\n    network: true\n    env: {X: 1}\n    limits: {memory: 1Gi, cpu: 1.5, processes: 9}\n    timeout: 1h\n")))
	f.Add([]byte(header + "steps:\n  - &s {name: a}\n  - *s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if s != nil {
				t.Fatal("a spec and an error")
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepts, Validate refuses: %v", err)
		}
		order := s.Order()
		if len(order) != len(s.Steps) {
			t.Fatalf("order %v of %d steps", order, len(s.Steps))
		}
		// Every step runs after the steps it reads.
		at := map[string]int{}
		for i, n := range order {
			at[n] = i
		}
		for _, st := range s.Steps {
			for _, in := range st.Inputs {
				if in.Step != "" && at[in.Step] >= at[st.Name] {
					t.Fatalf("step %s runs before its input %s: %v", st.Name, in.Step, order)
				}
			}
		}
		s2, err := Parse(data)
		if err != nil || s2.Digest() != s.Digest() {
			t.Fatalf("second Parse: %v, digest %s != %s", err, s2.Digest(), s.Digest())
		}
		if _, err := json.Marshal(s.ExternalParameters()); err != nil {
			t.Fatal(err)
		}
	})
}
