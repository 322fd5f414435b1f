package buildspec_test

import (
	"fmt"
	"log"

	"github.com/hallmark-dev/hallmark/buildspec"
)

// Steps run in the order their inputs ask for; the file's order breaks
// ties.
func ExampleParse() {
	s, err := buildspec.Parse([]byte(`apiVersion: hallmark.dev/build/v1
kind: Build
name: hello
toolchains:
  go: {go: 1.26.8}
steps:
  - name: build
    toolchain: go
    run: [go, build, -trimpath, -o, bin/hello, .]
    inputs: [{source: true}, {step: fetch}]
    outputs: [bin]
    env: {CGO_ENABLED: "0"}
  - name: fetch
    fetch: true
    network: true
    toolchain: go
    run: go mod download && cp -R "$(go env GOMODCACHE)" modcache
    inputs: [{source: true}]
    outputs: [modcache]
`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Order())
	fmt.Printf("%q\n", s.Steps[1].Run)
	// Output:
	// [fetch build]
	// ["/bin/sh" "-c" "go mod download && cp -R \"$(go env GOMODCACHE)\" modcache"]
}

// Errors name the line, the column and the key.
func ExampleParse_error() {
	_, err := buildspec.Parse([]byte(`apiVersion: hallmark.dev/build/v1
kind: Build
name: hello
toolchains:
  go: {go: 1.26.8}
steps:
  - name: build
    toolchain: go
    run: [go, build, -o, ../../etc/cron.d/x, .]
    outputs: [../../etc/cron.d/x]
`))
	fmt.Println(err)
	// Output:
	// buildspec: line 10, column 15: steps.build.outputs[0]: "../../etc/cron.d/x" reaches outside the output directory
}

// The one-step spec of `hallmark build -- go build -o out/app .`.
func ExampleShorthand() {
	s := buildspec.Shorthand([]string{"go", "build", "-o", "out/app", "."}, "1.26.8")
	if err := s.Validate(); err != nil {
		log.Fatal(err)
	}
	st := s.Steps[0]
	fmt.Println(st.Name, st.Run, st.Inputs, st.Outputs)
	// Output:
	// build [go build -o out/app .] [source cache go-modules] [out]
}
