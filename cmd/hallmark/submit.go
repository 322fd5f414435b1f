package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/api"
	"github.com/hallmark-dev/hallmark/controlplane"
	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/limit"
)

const submitUsage = `Usage:
  hallmark submit [--source DIR] [--spec FILE] [--ref REF] [--project P] [--wait]
  hallmark fetch BUILD [-o DIR]

submit queues a build in the control plane: the source tree (the files git
tracks, or every file outside .git; files and directories only) as a gzipped
tar, and the build spec (default SOURCE/hallmark.yaml), which is refused
before anything is queued if it is not valid. It prints the build's id. A
worker ('hallmark worker') takes it, runs it in sandboxes and reports its
outputs; the control plane checks them against the provenance the worker
observed, signs the provenance and keeps the outputs. Needs the builder role.

fetch downloads a finished build's outputs into DIR (default BUILD), each
checked against its SHA-256, and its signed provenance as
DIR/provenance.sigstore.json.

Flags:
  --source DIR     the source tree (default .)
  --spec FILE      the build spec (default SOURCE/hallmark.yaml)
  --ref REF        the ref the source is (default: git's symbolic HEAD)
  -p, --project P  the project (default $HALLMARK_PROJECT, else "default")
  --wait           wait for the build to end, and print its log
  -o, --out DIR    fetch: where the outputs go
` + planeFlagsUsage + `
Exit codes: 0 queued (or, with --wait, succeeded), fetched; 1 the build
failed; 2 bad usage or input, or the build is not finished.
`

func runSubmit(c *cli, args []string) error {
	fs := c.flagSet("submit", submitUsage)
	pf := addPlaneFlags(fs)
	source := fs.String("source", ".", "")
	specPath := fs.String("spec", "", "")
	ref := fs.String("ref", "", "")
	var project string
	fs.StringVar(&project, "project", defaultProject(), "")
	fs.StringVar(&project, "p", defaultProject(), "")
	wait := fs.Bool("wait", false, "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("submit: takes no arguments").hint("run 'hallmark submit --help' for usage")
	}
	if *specPath == "" {
		*specPath = filepath.Join(*source, "hallmark.yaml")
	}
	spec, specText, err := readSpec(*specPath)
	if err != nil {
		return err
	}
	archive, err := sourceArchive(*source)
	if err != nil {
		return err
	}
	if *ref == "" {
		*ref = gitRef(*source)
	}
	abs, _ := filepath.Abs(*source)
	ctx := context.Background()
	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	b, err := call[api.Build](ctx, cn, api.SubmitBuild, &api.BuildSubmit{Nonce: api.Nonce(), Project: project, Ref: *ref,
		URI: "file://" + filepath.ToSlash(abs), Spec: string(specText), Source: archive})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, b.ID)
	fmt.Fprintf(c.stderr, "build %s of %s queued for project %s (%d bytes of source)\n", b.ID, spec.Name, project, len(archive))
	if !*wait {
		return nil
	}
	shown := 0
	for b.Status == "queued" || b.Status == "running" {
		time.Sleep(time.Second)
		if b, err = call[api.Build](ctx, cn, api.GetBuild, &api.BuildRef{ID: b.ID}); err != nil {
			return err
		}
		if b.Status == "running" && len(b.Log) > shown {
			c.stderr.Write(b.Log[shown:]) // the log as the worker streams it
			shown = len(b.Log)
		}
	}
	if len(b.Log) > shown {
		c.stderr.Write(b.Log[shown:])
	}
	if b.Status != "succeeded" {
		return &checkFailedError{fmt.Errorf("build %s %s: %s", b.ID, b.Status, b.Error)}
	}
	fmt.Fprintf(c.stderr, "build %s succeeded: %d output(s); 'hallmark fetch %s' downloads them\n", b.ID, len(b.Outputs), b.ID)
	return nil
}

// sourceArchive packs the source tree: the files git tracks, or every file
// outside .git, as a gzipped tar with fixed times and owners, sorted.
func sourceArchive(dir string) ([]byte, error) {
	var names []string
	if out, err := exec.Command("git", "-C", dir, "ls-files", "-z").Output(); err == nil && len(out) > 0 {
		for _, n := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
			names = append(names, filepath.ToSlash(n))
		}
	} else {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".git" {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				names = append(names, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return nil, usageErrorf("submit: source: %v", err)
		}
	}
	slices.Sort(names)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	const maxTotal = api.MaxSource * 4 // bytes of source before compression
	total := int64(0)
	for _, n := range names {
		if err := controlplane.CheckSourceName(n); err != nil {
			return nil, usageErrorf("submit: source: %v", err)
		}
		st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			return nil, usageErrorf("submit: source: %v", err)
		}
		if !st.Mode().IsRegular() {
			return nil, usageErrorf("submit: source: %s is not a regular file: remote builds take files and directories only", n)
		}
		// Refused by its size before it is read; read with a bound, as it
		// may grow meanwhile.
		if total += st.Size(); total > maxTotal {
			return nil, usageErrorf("submit: source over %d bytes", maxTotal)
		}
		data, err := limit.ReadFile(filepath.Join(dir, filepath.FromSlash(n)), maxTotal-total+st.Size())
		if err != nil {
			return nil, usageErrorf("submit: source: %v", err)
		}
		mode := int64(0o644)
		if st.Mode()&0o111 != 0 {
			mode = 0o755
		}
		h := &tar.Header{Name: n, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > api.MaxSource {
		return nil, usageErrorf("submit: the source archive is %d bytes, over the limit of %d", buf.Len(), api.MaxSource)
	}
	return buf.Bytes(), nil
}

func runFetch(c *cli, args []string) error {
	fs := c.flagSet("fetch", submitUsage)
	pf := addPlaneFlags(fs)
	var out string
	fs.StringVar(&out, "out", "", "")
	fs.StringVar(&out, "o", "", "")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("fetch: give one BUILD id").hint("run 'hallmark fetch --help' for usage")
	}
	id := pos[0]
	if out == "" {
		out = id
	}
	ctx := context.Background()
	cn, err := c.connect(ctx, pf)
	if err != nil {
		return err
	}
	defer cn.Close()
	b, err := call[api.Build](ctx, cn, api.GetBuild, &api.BuildRef{ID: id})
	if err != nil {
		return err
	}
	switch b.Status {
	case "succeeded":
	case "failed":
		return &checkFailedError{fmt.Errorf("fetch: build %s failed: %s", id, b.Error)}
	default:
		return usageErrorf("fetch: build %s is %s: nothing to fetch yet", id, b.Status)
	}
	for _, o := range b.Outputs {
		if err := controlplane.CheckSourceName(o.Path); err != nil {
			return fmt.Errorf("fetch: build %s: %w", id, err)
		}
		got, err := call[api.BuildOutput](ctx, cn, api.GetOutput, &api.BuildRef{ID: id, Path: o.Path})
		if err != nil {
			return err
		}
		sum := sha256.Sum256(got.Data)
		if hex.EncodeToString(sum[:]) != o.SHA256 {
			return &checkFailedError{fmt.Errorf("fetch: build %s: %s does not have the digest sha256:%s the control plane lists", id, o.Path, o.SHA256)}
		}
		dst := filepath.Join(out, filepath.FromSlash(o.Path))
		if err := mkdirFor(dst); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if isExecutableHead(got.Data) {
			mode = 0o755
		}
		if err := atomicfile.Write(dst, got.Data, mode); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "  %s  sha256:%s  %d bytes\n", o.Path, o.SHA256, o.Size)
	}
	bundlePath := filepath.Join(out, "provenance.sigstore.json")
	if err := atomicfile.Write(bundlePath, append(b.Bundle, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "fetched %d output(s) of build %s into %s, with its provenance %s\n", len(b.Outputs), id, out, bundlePath)
	return nil
}

// isExecutableHead reports whether data starts like a program: ELF, a
// script, Mach-O, PE.
func isExecutableHead(data []byte) bool {
	for _, magic := range []string{"\x7fELF", "#!", "MZ", "\xcf\xfa\xed\xfe", "\xce\xfa\xed\xfe"} {
		if bytes.HasPrefix(data, []byte(magic)) {
			return true
		}
	}
	return false
}
