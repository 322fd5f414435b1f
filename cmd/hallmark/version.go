package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

const versionUsage = `Usage: hallmark version

Prints the module version of this binary (from its build information), the
source revision when the build recorded one, and the Go toolchain.
`

func runVersion(c *cli, args []string) error {
	fs := c.flagSet("version", versionUsage)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("version: takes no arguments")
	}
	fmt.Fprintln(c.stdout, version())
	return nil
}

// version describes this binary: "hallmark VERSION [REVISION] GOVERSION OS/ARCH".
func version() string {
	v, rev := "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					rev += "+dirty"
				}
			}
		}
	}
	if rev != "" {
		v += " " + rev
	}
	return fmt.Sprintf("hallmark %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// moduleVersion is this binary's module version alone, as SBOMs name their
// tool: "v1.2.3", or "(devel)" for a build outside a tagged module.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(unknown)"
}
