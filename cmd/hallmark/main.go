// Command hallmark signs what a build produces and verifies what others
// receive. See the README and `hallmark help`.
package main

import (
	"io"
	"os"

	"k8s.io/klog/v2"

	"github.com/hallmark-dev/hallmark/sandbox"
)

func main() {
	sandbox.Init() // a build step's sandbox starts as this program: it never returns there
	quietLibraries()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// quietLibraries silences the progress lines Tessera logs through klog: stderr
// is for this program's own messages.
func quietLibraries() {
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
}
