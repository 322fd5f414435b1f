package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/inventory"
	"github.com/hallmark-dev/hallmark/sbom"
)

const sbomUsage = `Usage: hallmark sbom PATH [--format cyclonedx|spdx] [-o FILE]

Writes a software bill of materials of PATH: a source tree, a directory of
built binaries, a single binary, or a lockfile.

What it finds: Go modules (go.mod and go.sum, with the main module's version
from git: its tag, else a pseudo-version), npm packages (package-lock.json and
npm-shrinkwrap.json, lockfile versions 1 to 3), Python packages
(requirements*.txt, poetry.lock), Rust crates (Cargo.lock), and every file
with executable content (ELF, PE, Mach-O, recognised by content, not by name)
with its SHA-256; a Go binary's build information adds its modules and the Go
release that built it, as the stdlib component. Directories named .git, .hg,
.svn, node_modules, vendor and testdata are not walked. Licences are SPDX ids
from lockfile metadata and from licence files (the root's, and each Go
module's in the module cache).

Output: CycloneDX 1.6 JSON (default) or SPDX 2.3 JSON, valid against their
official schemas, with package URLs, dependency relationships, hashes and
licences. The same input gives the same bytes: the document's time is
SOURCE_DATE_EPOCH when set, else the source's last commit time in a git work
tree, else omitted (CycloneDX) or the Unix epoch (SPDX, which requires one).

Flags:
  --format F       cyclonedx (default) or spdx
  -o, --output FILE  write to FILE (atomically) instead of stdout
  --no-licenses    skip licence detection (faster on large module caches)

Inputs that cannot be used in full (a corrupt lockfile, a version not in
go.sum, a truncated binary) are warnings on stderr; the SBOM lists the rest.

Exit codes: 0 written (warnings possible); 2 bad usage, or PATH unreadable.
`

func runSBOM(c *cli, args []string) error {
	fs := c.flagSet("sbom", sbomUsage)
	format := fs.String("format", "cyclonedx", "cyclonedx or spdx")
	var out string
	fs.StringVar(&out, "o", "", "output `FILE`")
	fs.StringVar(&out, "output", "", "output `FILE`")
	noLicenses := fs.Bool("no-licenses", false, "skip licence detection")
	paths, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(paths) != 1 {
		return usageErrorf("sbom: give exactly one PATH").hint("run 'hallmark sbom --help' for usage")
	}
	render := map[string]func(*inventory.Inventory, sbom.Options) ([]byte, error){
		"cyclonedx": sbom.CycloneDX,
		"spdx":      sbom.SPDX,
	}[*format]
	if render == nil {
		return usageErrorf("sbom: --format %q: want cyclonedx or spdx", *format)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	inv, err := c.inventory(ctx, paths[0], !*noLicenses)
	if err != nil {
		return err
	}
	opts := sbom.Options{ToolName: "hallmark", ToolVersion: moduleVersion()}
	if t, ok := inventory.SourceDateEpoch(paths[0]); ok {
		opts.Time = t
	}
	data, err := render(inv, opts)
	if err != nil {
		return err
	}
	return c.writeOutput(out, data)
}

// inventory walks path, printing the walk's warnings to stderr. A path that
// does not exist is a usage error.
func (c *cli) inventory(ctx context.Context, path string, licenses bool) (*inventory.Inventory, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, usageErrorf("%v", err)
	}
	inv, err := inventory.Walk(ctx, path, inventory.Options{Licenses: licenses})
	if err != nil {
		return nil, err
	}
	for _, w := range inv.Warnings {
		fmt.Fprintf(c.stderr, "hallmark: warning: %s\n", w)
	}
	return inv, nil
}

// writeOutput writes data to stdout when name is "" or "-", else to the file
// name, replaced atomically (internal/atomicfile), so a failed write never
// leaves a truncated file.
func (c *cli) writeOutput(name string, data []byte) error {
	if name == "" || name == "-" {
		_, err := c.stdout.Write(data)
		return err
	}
	return atomicfile.Write(name, data, 0o644)
}
