package main

import (
	"fmt"

	"github.com/hallmark-dev/hallmark/digest"
)

const digestUsage = `Usage: hallmark digest FILE...

Prints the SHA-256 digest of each FILE as "sha256:<hex>  FILE", one per line:
the form 'hallmark verify' takes in place of a file. Files are hashed as
they stream, in constant memory.
`

func runDigest(c *cli, args []string) error {
	fs := c.flagSet("digest", digestUsage)
	files, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErrorf("digest: no files given").hint("run 'hallmark digest --help' for usage")
	}
	for _, f := range files {
		d, _, err := digest.File(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s  %s\n", d, f)
	}
	return nil
}
