package provenance

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts
// Statement writes again, into a statement Parse reads back to the same bytes.
func FuzzParse(f *testing.F) {
	good, err := os.ReadFile("testdata/statement.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), `"team":"core"`, `"team":1`, 1)))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + shaA + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"x:y","externalParameters":{"n":1e400}},"runDetails":{"builder":{"id":"x:y"},"metadata":{"invocationId":"i","startedOn":"0001-01-01T00:00:00Z","finishedOn":"9999-12-31T23:59:59.999999999Z"}}}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "provenance: ") {
				t.Errorf("error %q does not start with \"provenance: \"", err)
			}
			return
		}
		out, err := Statement(*b)
		if err != nil {
			t.Fatalf("Parse accepted what Statement refuses: %v\n%s", err, data)
		}
		b2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse refuses what Statement wrote: %v\n%s", err, out)
		}
		out2, err := Statement(*b2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable: %v\n%s\n%s", err, out, out2)
		}
	})
}
