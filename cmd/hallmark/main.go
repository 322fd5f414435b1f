// Command hallmark signs what a build produces and verifies what others
// receive. See the README and `hallmark help`.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
