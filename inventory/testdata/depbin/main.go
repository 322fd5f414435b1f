// Command depbin is built by the inventory tests: a Go binary whose build
// information names one dependency module (golang.org/x/mod) besides the
// standard library.
package main

import (
	"fmt"
	"os"

	"golang.org/x/mod/semver"
)

func main() {
	for _, v := range os.Args[1:] {
		fmt.Println(v, semver.IsValid(v))
	}
}
