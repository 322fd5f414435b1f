package provenance_test

import (
	"fmt"
	"time"

	"github.com/hallmark-dev/hallmark/provenance"
)

func ExampleStatement() {
	start := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	data, err := provenance.Statement(provenance.Build{
		Subjects: []provenance.Subject{{Name: "hello", SHA256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}},
		External: map[string]any{"source": map[string]any{"uri": "git+https://example.com/hello.git", "ref": "refs/heads/main"}},
		Materials: []provenance.Material{{
			URI:    "git+https://example.com/hello.git@refs/heads/main",
			Digest: map[string]string{"gitCommit": "0123456789abcdef0123456789abcdef01234567"},
		}},
		BuilderID:    "https://hallmark.dev/builder/example",
		InvocationID: "build-1",
		Started:      start,
		Finished:     start.Add(time.Minute),
		Tenant:       map[string]string{"team": "core"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", data)
	// Output:
	// {"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"hello","digest":{"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://hallmark.dev/build/v1","externalParameters":{"source":{"ref":"refs/heads/main","uri":"git+https://example.com/hello.git"},"tenantProvided":{"team":"core"}},"resolvedDependencies":[{"uri":"git+https://example.com/hello.git@refs/heads/main","digest":{"gitCommit":"0123456789abcdef0123456789abcdef01234567"}}]},"runDetails":{"builder":{"id":"https://hallmark.dev/builder/example"},"metadata":{"invocationId":"build-1","startedOn":"2026-11-22T05:00:00Z","finishedOn":"2026-11-22T05:01:00Z"}}}}
}

func ExampleParse() {
	data := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"hello","digest":{"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://hallmark.dev/build/v1","externalParameters":{"profile":"release","tenantProvided":{"team":"core"}}},"runDetails":{"builder":{"id":"https://hallmark.dev/builder/example"},"metadata":{"invocationId":"build-1","startedOn":"2026-11-22T05:00:00Z","finishedOn":"2026-11-22T05:01:00Z"}}}}`)
	b, err := provenance.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Subjects[0].Name, b.Subjects[0].SHA256[:12])
	fmt.Println("builder:", b.BuilderID)
	fmt.Println("external:", b.External)
	fmt.Println("tenant-provided:", b.Tenant)
	fmt.Println("took:", b.Finished.Sub(b.Started))

	_, err = provenance.Parse([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://hallmark.dev/build/v1","externalParameters":{"p":1}},"runDetails":{"builder":{"id":"https://hallmark.dev/builder/example"},"metadata":{"invocationId":"build-1","startedOn":"2026-11-22T05:00:00Z","finishedOn":"2026-11-22T05:01:00Z"}}}}`))
	fmt.Println(err)
	// Output:
	// hello 2cf24dba5fb0
	// builder: https://hallmark.dev/builder/example
	// external: map[profile:release]
	// tenant-provided: map[team:core]
	// took: 1m0s
	// provenance: subject: none
}
