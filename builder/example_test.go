package builder_test

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/buildspec"
	"github.com/hallmark-dev/hallmark/provenance"
	"github.com/hallmark-dev/hallmark/toolchain"
)

// How the control plane runs a build and turns it into provenance. The
// program's main must call sandbox.Init first.
func ExampleRun() {
	data, err := os.ReadFile("checkout/hallmark.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := buildspec.Parse(data)
	if err != nil {
		fmt.Println(err) // refused before anything runs
		return
	}
	// One cache of verified trees for the platform, in its data directory.
	cache, _ := toolchain.NewCache("/var/lib/hallmark/verified")
	res, err := builder.Run(context.Background(), spec, builder.Options{
		SourceDir:  "checkout",
		OutDir:     "out",
		GoModCache: "/var/lib/hallmark/gomodcache",
		Toolchains: &toolchain.Resolver{ModCache: "/var/lib/hallmark/gomodcache", Cache: cache},
		Logs:       func(step string) io.Writer { return os.Stderr },
	})
	if err != nil {
		fmt.Println(err) // e.g. builder: step build: exited with status 1
		return
	}
	b := res.Provenance(builder.ProvenanceOptions{
		BuilderID:    "https://hallmark.example.com/builder",
		InvocationID: "build-42",
		SourceURI:    "git+https://git.example.com/hello.git",
		SourceRef:    "refs/heads/main",
		WorkerID:     "local",
	})
	statement, err := provenance.Statement(b) // then sign it in a DSSE envelope, and log it
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(statement) > 0)
}
