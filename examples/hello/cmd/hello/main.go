// Command hello is the example program that Hallmark builds reproducibly:
// built twice, in two sandboxes, it gives the same bytes.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	name := "world"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Printf("hello, %s (%s/%s)\n", name, runtime.GOOS, runtime.GOARCH)
}
