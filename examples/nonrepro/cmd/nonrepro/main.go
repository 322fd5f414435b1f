// Command nonrepro is deliberately not reproducible: its build stamps the
// time of the build into it (-ldflags=-X main.built=...), so that two builds
// of the same source differ and `hallmark rebuild` has something to catch.
package main

import "fmt"

var built = "unknown"

func main() { fmt.Println("built at", built) }
