// Command hello is the program the repro tests build twice.
package main

import "fmt"

// t is set with -ldflags=-X main.t=... to make two builds differ.
var t = "unset"

func main() { fmt.Println("hello, built at", t) }
