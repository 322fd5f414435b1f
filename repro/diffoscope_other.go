//go:build !unix

package repro

import "os/exec"

// ownGroup does nothing where process groups are not available; the
// context kills diffoscope itself.
func ownGroup(cmd *exec.Cmd) {}
