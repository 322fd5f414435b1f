// Package repro compares the outputs of two builds byte for byte and, where
// they differ, explains why.
//
// Compare walks two directory trees (or takes two single files) and matches
// entries by relative slash-separated path. Every regular file is streamed
// through SHA-256; symbolic links are compared by target and never followed;
// permission bits (with setuid, setgid and sticky) are compared for every
// entry but links. Directories are containers only: an empty directory and a
// directory's own mode are not compared. CompareDigests checks a tree against the
// (path, SHA-256) subjects of a provenance when the original outputs are not
// at hand: a difference can then only be named, unless a subject carries the
// path of a local copy of the original, which is then explained like Compare
// would. CompareDigests opens the tree through an os.Root, so a subject name
// or a symbolic link in the tree cannot reach outside it.
//
// # Explanations
//
// For each file whose contents differ, the format is detected by magic number
// and explained at the level of that format:
//
//   - ELF (debug/elf), PE (debug/pe) and Mach-O (debug/macho): sections present
//     in one file only, sections whose size or bytes differ (with file offsets
//     and the first differing offset), PE COFF TimeDateStamp, CheckSum and
//     debug directory, Mach-O LC_UUID, GNU and Go build IDs;
//   - tar, zip and gzip: members present in one only, member order, per-member
//     mtime, owner, mode and contents, recursing into members whose contents
//     differ (to depth 3); gzip header mtime and name;
//   - text: a unified diff of the first hunks;
//   - anything else: the first differing offset with hex context.
//
// Over that, a hints layer names common causes in words (Hint.Cause is a
// stable identifier, one of the Cause constants): an embedded timestamp
// (times in text around a differing byte, or a 4- or 8-byte word of Unix
// seconds or nanoseconds; COFF and gzip header times), an embedded build
// directory (absolute paths found in one file only, paired by their common
// tail), differing Go and GNU build IDs, Mach-O UUIDs and PDB GUIDs, archive
// member order, mtimes, owners and modes. Hints are likely causes, not
// proofs.
// With Options.Diffoscope, diffoscope (when on PATH) is run on each differing
// pair with a timeout and its bounded text output is included as well.
//
// # Bounds
//
// Files are never read whole for comparison: contents are streamed in 64 KiB
// blocks. Structured explanations read headers through io.ReaderAt; archive
// members and text files are read whole only below stated limits
// (Options.MaxMember, Options.MaxText); at most 8 members per archive are
// read, 2×MaxMember in all, and each level of nesting gets a quarter of the
// limit. Sections are compared up to twice the file's size in all, so
// overlapping section tables cannot multiply the work; strings are searched
// in the first 256 MiB of a file; tar members are hashed up to twice the
// archive's size in all, so sparse members cannot expand without bound.
// Each explanation is capped in lines and bytes and says when it was cut
// (FileDiff.Truncated). All inputs are treated as hostile: a malformed ELF
// or archive yields a detail line saying so, never a panic and never an
// error for the whole comparison. Report.Text escapes control characters.
//
// # Formats followed
//
// ELF: System V gABI, "Sections" and "Note Section". PE: Microsoft "PE
// Format", "COFF File Header", "Optional Header Windows-Specific Fields"
// (CheckSum), "Optional Header Data Directories" and "Debug Directory"
// (CodeView "RSDS"). Mach-O: loader.h, LC_UUID (0x1b), S_ZEROFILL section
// types. tar: POSIX pax/ustar via archive/tar. zip: APPNOTE via archive/zip.
// gzip: RFC 1952 section 2.3 (MTIME, OS, FNAME). Text diffs are in the
// unified format of GNU diff.
//
// # JSON
//
// A Report marshals with encoding/json to this stable shape (fields marked
// omitempty are left out when empty):
//
//	{"want": "dir-or-file", "got": "dir-or-file", "equal": false, "files": 12,
//	 "diffs": [{
//	   "path": "bin/hello",               // slash-separated, relative
//	   "kind": "changed",                 // "missing" (in want only), "extra" (in got only), "changed"
//	   "what": ["content", "mode"],       // for "changed": content, mode, type, target
//	   "want": {"type": "file", "size": 1534 /* -1: unknown */, "sha256": "<hex>", "crc32": "<hex, zip members>",
//	            "mode": "-rwxr-xr-x", "target": "<symlink target>"},
//	   "got":  {...},
//	   "format": "elf",                   // elf, pe, macho, tar, zip, gzip, text, binary
//	   "details": ["section .text ..."],  // one finding per line
//	   "hints": [{"cause": "timestamp", "text": "the build embeds a timestamp: ..."}],
//	   "diff": "--- want\n+++ got\n...",  // unified diff (text) or hex context (binary)
//	   "members": [ /* FileDiff of archive members, same shape */ ],
//	   "diffoscope": "...",               // diffoscope's text output, when run
//	   "truncated": true                  // the explanation was capped
//	 }]}
//
// # Errors
//
// Compare returns an error only when a root cannot be read, a walk exceeds
// Options.MaxFiles (ErrTooManyFiles), the context ends, or a file cannot be
// read while hashing; the error names the path. CompareDigests also refuses
// a subject whose path is not local or reaches outside the tree through a
// link, whose digest is not 64 hex digits, or that is named twice. A
// difference is never an error.
package repro

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/digest"
)

// Options tunes a comparison. The zero value is usable.
type Options struct {
	// Diffoscope runs diffoscope on each pair of differing files when it is
	// on PATH, and includes its text output. A failing or missing diffoscope
	// is noted in the details; the built-in explanation is always given.
	Diffoscope bool
	// DiffoscopeTimeout bounds each diffoscope run (default 2 minutes).
	DiffoscopeTimeout time.Duration
	// MaxDiffoscope bounds the diffoscope text kept per file (default 64 KiB).
	MaxDiffoscope int
	// NoExplain only names differences, without reading formats.
	NoExplain bool
	// MaxFiles bounds the entries walked in each tree (default 1,000,000).
	MaxFiles int
	// MaxText is the largest file given a line diff (default 1 MiB).
	MaxText int64
	// MaxMember is the largest archive member, or decompressed gzip stream,
	// read into memory to explain it (default 64 MiB).
	MaxMember int64
	// MaxExplain bounds the bytes of details, diff and hints per file
	// (default 16 KiB).
	MaxExplain int
}

func (o *Options) fill() {
	if o.DiffoscopeTimeout <= 0 {
		o.DiffoscopeTimeout = 2 * time.Minute
	}
	if o.MaxDiffoscope <= 0 {
		o.MaxDiffoscope = 64 << 10
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = 1_000_000
	}
	if o.MaxText <= 0 {
		o.MaxText = 1 << 20
	}
	if o.MaxMember <= 0 {
		o.MaxMember = 64 << 20
	}
	if o.MaxExplain <= 0 {
		o.MaxExplain = 16 << 10
	}
}

// Kinds of FileDiff.
const (
	Missing = "missing" // in want only
	Extra   = "extra"   // in got only
	Changed = "changed" // in both, differing
)

// Aspects listed in FileDiff.What.
const (
	WhatContent = "content"
	WhatMode    = "mode"
	WhatType    = "type"
	WhatTarget  = "target"
)

// Causes named in Hint.Cause.
const (
	CauseTimestamp    = "timestamp"     // a time embedded in the output
	CauseBuildPath    = "build-path"    // an absolute build directory embedded
	CauseGoBuildID    = "go-build-id"   // Go build IDs differ
	CauseGNUBuildID   = "gnu-build-id"  // ELF .note.gnu.build-id differs
	CauseUUID         = "uuid"          // Mach-O LC_UUID or PE debug GUID differs
	CauseArchiveOrder = "archive-order" // archive members in a different order
	CauseArchiveMtime = "archive-mtime" // archive member mtimes differ
	CauseArchiveOwner = "archive-owner" // archive member uid/gid/names differ
	CauseArchiveMode  = "archive-mode"  // archive member modes differ
)

// Report is the result of a comparison.
type Report struct {
	Want  string     `json:"want"`
	Got   string     `json:"got"`
	Equal bool       `json:"equal"`
	Files int        `json:"files"` // entries compared (union of both sides)
	Diffs []FileDiff `json:"diffs,omitempty"`
}

// Entry describes one side of a FileDiff.
type Entry struct {
	Type   string `json:"type"`             // "file", "symlink", "dir" or "other"
	Size   int64  `json:"size"`             // -1 when unknown (a provenance subject)
	SHA256 string `json:"sha256,omitempty"` // lowercase hex, regular files
	CRC32  string `json:"crc32,omitempty"`  // hex, zip members (their SHA-256 is not computed)
	Mode   string `json:"mode,omitempty"`   // fs.FileMode.String
	Target string `json:"target,omitempty"` // symlink target
}

// Hint is a likely cause of a difference, said in words.
type Hint struct {
	Cause string `json:"cause"` // one of the Cause constants
	Text  string `json:"text"`
}

// FileDiff is one path that differs, with its explanation.
type FileDiff struct {
	Path       string     `json:"path"`
	Kind       string     `json:"kind"`
	What       []string   `json:"what,omitempty"`
	Want       *Entry     `json:"want,omitempty"`
	Got        *Entry     `json:"got,omitempty"`
	Format     string     `json:"format,omitempty"`
	Details    []string   `json:"details,omitempty"`
	Hints      []Hint     `json:"hints,omitempty"`
	Diff       string     `json:"diff,omitempty"`
	Members    []FileDiff `json:"members,omitempty"`
	Diffoscope string     `json:"diffoscope,omitempty"`
	Truncated  bool       `json:"truncated,omitempty"`
}

// Subject is one expected output, as named in a provenance's subjects.
type Subject struct {
	Path   string // relative to the tree, slash-separated
	SHA256 string // hex
	// Original, when not empty, is a local copy of the original output. If
	// its digest matches SHA256, a differing file is explained against it.
	Original string
}

// ErrTooManyFiles is returned, wrapped, when a tree has more than
// Options.MaxFiles entries.
var ErrTooManyFiles = errors.New("too many files")

type node struct {
	abs   string
	entry Entry
	mode  fs.FileMode
}

// Compare compares want and got, two directories or two files, and explains
// every difference.
func Compare(ctx context.Context, want, got string, opts Options) (*Report, error) {
	opts.fill()
	// Resolve the roots themselves, so that a root given as a symbolic
	// link to a directory is walked; links inside are never followed.
	wantRoot, err := filepath.EvalSymlinks(want)
	if err != nil {
		return nil, fmt.Errorf("repro: want: %w", err)
	}
	gotRoot, err := filepath.EvalSymlinks(got)
	if err != nil {
		return nil, fmt.Errorf("repro: got: %w", err)
	}
	wi, err := os.Stat(wantRoot)
	if err != nil {
		return nil, fmt.Errorf("repro: want: %w", err)
	}
	gi, err := os.Stat(gotRoot)
	if err != nil {
		return nil, fmt.Errorf("repro: got: %w", err)
	}
	var wm, gm map[string]*node
	switch {
	case wi.IsDir() && gi.IsDir():
		if wm, err = walk(ctx, wantRoot, opts.MaxFiles); err != nil {
			return nil, err
		}
		if gm, err = walk(ctx, gotRoot, opts.MaxFiles); err != nil {
			return nil, err
		}
	case wi.Mode().IsRegular() && gi.Mode().IsRegular():
		name := filepath.Base(got)
		if filepath.Base(want) != name {
			name = "."
		}
		wm = map[string]*node{name: {abs: wantRoot, mode: wi.Mode(), entry: entryOf(wi, "")}}
		gm = map[string]*node{name: {abs: gotRoot, mode: gi.Mode(), entry: entryOf(gi, "")}}
	default:
		return nil, fmt.Errorf("repro: want %s and got %s: not both directories nor both regular files", want, got)
	}
	rep := &Report{Want: want, Got: got}
	var names []string
	for n := range wm {
		names = append(names, n)
	}
	for n := range gm {
		if _, ok := wm[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	rep.Files = len(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		w, g := wm[name], gm[name]
		for _, n := range []*node{w, g} {
			if n != nil && n.entry.Type == "file" {
				if err := hashNode(n); err != nil {
					return nil, err
				}
			}
		}
		d, ok := compareNodes(name, w, g)
		if !ok {
			continue
		}
		if slices.Contains(d.What, WhatContent) && !opts.NoExplain {
			explainFiles(ctx, &d, w.abs, g.abs, opts)
		}
		rep.Diffs = append(rep.Diffs, d)
	}
	rep.Equal = len(rep.Diffs) == 0
	return rep, nil
}

// CompareDigests checks the files of got (a directory, or a single file when
// there is one subject) against subjects. Files of got that no subject names
// are not reported. A differing file is explained only when its subject gives
// an Original whose digest matches.
func CompareDigests(ctx context.Context, subjects []Subject, got string, opts Options) (*Report, error) {
	opts.fill()
	gi, err := os.Stat(got)
	if err != nil {
		return nil, fmt.Errorf("repro: got: %w", err)
	}
	if !gi.IsDir() && len(subjects) != 1 {
		return nil, fmt.Errorf("repro: got %s is a file but there are %d subjects", got, len(subjects))
	}
	// Open files through an os.Root, so that a symbolic link in the tree
	// cannot lead the comparison outside it.
	rootDir, single := got, ""
	if !gi.IsDir() {
		rootDir, single = filepath.Dir(got), filepath.Base(got)
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, fmt.Errorf("repro: got: %w", err)
	}
	defer root.Close()
	rep := &Report{Want: "subjects", Got: got, Files: len(subjects)}
	seen := map[string]bool{}
	for i, s := range subjects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want, err := hex.DecodeString(s.SHA256)
		if err != nil || len(want) != 32 {
			return nil, fmt.Errorf("repro: subject %d %q: sha256 %q is not 64 hex digits", i, s.Path, s.SHA256)
		}
		abs, name := got, single
		if gi.IsDir() {
			if !filepath.IsLocal(filepath.FromSlash(s.Path)) || strings.Contains(s.Path, "\\") {
				return nil, fmt.Errorf("repro: subject %d %q: not a local path", i, s.Path)
			}
			name = filepath.FromSlash(s.Path)
			abs = filepath.Join(got, name)
		}
		if seen[s.Path] {
			return nil, fmt.Errorf("repro: subject %d %q: named twice", i, s.Path)
		}
		seen[s.Path] = true
		wn := &node{entry: Entry{Type: "file", SHA256: strings.ToLower(s.SHA256), Size: -1}}
		var gn *node
		if fi, err := root.Lstat(name); err == nil {
			gn = &node{abs: abs, mode: fi.Mode()}
			target := ""
			if fi.Mode()&fs.ModeSymlink != 0 {
				target, _ = root.Readlink(name)
			}
			gn.entry = entryOf(fi, target)
			if gn.entry.Type == "file" {
				f, err := root.Open(name)
				if err != nil {
					return nil, fmt.Errorf("repro: subject %d: %w", i, err)
				}
				d, size, err := digest.Reader(f)
				f.Close()
				if err != nil {
					return nil, fmt.Errorf("repro: %s: %w", abs, err)
				}
				gn.entry.SHA256, gn.entry.Size = d.Hex(), size
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("repro: subject %d: %w", i, err)
		}
		d := FileDiff{Path: s.Path, Want: &wn.entry}
		switch {
		case gn == nil:
			d.Kind = Missing
		case gn.entry.Type != "file":
			d.Kind, d.What, d.Got = Changed, []string{WhatType}, &gn.entry
		case gn.entry.SHA256 != wn.entry.SHA256:
			d.Kind, d.What, d.Got = Changed, []string{WhatContent}, &gn.entry
		default:
			continue
		}
		content := d.Kind == Changed && d.What[0] == WhatContent
		if content && s.Original != "" && !opts.NoExplain {
			on := &node{abs: s.Original, entry: Entry{Type: "file"}}
			if err := hashNode(on); err != nil {
				d.Details = append(d.Details, fmt.Sprintf("original %s: %v", s.Original, err))
			} else if on.entry.SHA256 != wn.entry.SHA256 {
				d.Details = append(d.Details, fmt.Sprintf("original %s: sha256 %s does not match the subject; not used", s.Original, on.entry.SHA256))
			} else {
				wn.entry.Size = on.entry.Size
				explainFiles(ctx, &d, s.Original, abs, opts)
			}
		}
		if content && wn.entry.Size < 0 && len(d.Details) == 0 {
			d.Details = append(d.Details, "the original is not at hand: the difference can be named, not explained")
		}
		rep.Diffs = append(rep.Diffs, d)
	}
	rep.Equal = len(rep.Diffs) == 0
	return rep, nil
}

func entryOf(fi fs.FileInfo, target string) Entry {
	e := Entry{Mode: fi.Mode().String()}
	switch {
	case fi.Mode().IsRegular():
		e.Type, e.Size = "file", fi.Size()
	case fi.Mode()&fs.ModeSymlink != 0:
		e.Type, e.Target = "symlink", target
	case fi.IsDir():
		e.Type = "dir"
	default:
		e.Type = "other"
	}
	return e
}

func hashNode(n *node) error {
	d, size, err := digest.File(n.abs)
	if err != nil {
		return fmt.Errorf("repro: %w", err)
	}
	n.entry.SHA256, n.entry.Size = d.Hex(), size
	return nil
}

// walk lists every non-directory entry under root by slash-separated
// relative path, without following symbolic links.
func walk(ctx context.Context, root string, max int) (map[string]*node, error) {
	m := map[string]*node{}
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if n++; n > max {
			return fmt.Errorf("%s: %w: over %d entries", root, ErrTooManyFiles, max)
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		target := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		m[filepath.ToSlash(rel)] = &node{abs: p, mode: fi.Mode(), entry: entryOf(fi, target)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repro: walk: %w", err)
	}
	return m, nil
}

const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

func compareNodes(name string, w, g *node) (FileDiff, bool) {
	d := FileDiff{Path: name}
	switch {
	case g == nil:
		d.Kind, d.Want = Missing, &w.entry
		return d, true
	case w == nil:
		d.Kind, d.Got = Extra, &g.entry
		return d, true
	}
	d.Kind, d.Want, d.Got = Changed, &w.entry, &g.entry
	if w.entry.Type != g.entry.Type {
		d.What = append(d.What, WhatType)
		return d, true
	}
	if w.entry.Type == "file" && w.entry.SHA256 != g.entry.SHA256 {
		d.What = append(d.What, WhatContent)
	}
	if w.entry.Type == "symlink" && w.entry.Target != g.entry.Target {
		d.What = append(d.What, WhatTarget)
	}
	// Symlink permissions are meaningless on Linux; compare them elsewhere.
	if w.entry.Type != "symlink" && w.mode&modeBits != g.mode&modeBits {
		d.What = append(d.What, WhatMode)
	}
	return d, len(d.What) > 0
}

// Text writes r for people: one summary line, then one block per differing
// path.
func (r *Report) Text(w io.Writer) error {
	var b strings.Builder
	if r.Equal {
		fmt.Fprintf(&b, "reproducible: %d files identical (want %s, got %s)\n", r.Files, clean(r.Want), clean(r.Got))
	} else {
		fmt.Fprintf(&b, "not reproducible: %d of %d files differ (want %s, got %s)\n", len(r.Diffs), r.Files, clean(r.Want), clean(r.Got))
	}
	for i := range r.Diffs {
		b.WriteString("\n")
		r.Diffs[i].text(&b, "")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (d *FileDiff) text(b *strings.Builder, indent string) {
	head := d.Kind
	if len(d.What) > 0 {
		head += " (" + strings.Join(d.What, ", ") + ")"
	}
	fmt.Fprintf(b, "%s%s %s", indent, head, clean(d.Path))
	if d.Format != "" {
		fmt.Fprintf(b, " [%s]", d.Format)
	}
	b.WriteString("\n")
	in := indent + "  "
	side := func(label string, e *Entry) {
		if e == nil {
			return
		}
		fmt.Fprintf(b, "%s%s %s", in, label, e.Type)
		if e.Type == "file" && e.Size >= 0 {
			fmt.Fprintf(b, " %d bytes", e.Size)
			if e.SHA256 != "" {
				fmt.Fprintf(b, " sha256:%s", e.SHA256)
			}
			if e.CRC32 != "" {
				fmt.Fprintf(b, " crc32:%s", e.CRC32)
			}
		}
		if e.Mode != "" {
			fmt.Fprintf(b, " %s", e.Mode)
		}
		if e.Type == "symlink" {
			fmt.Fprintf(b, " -> %s", clean(e.Target))
		}
		b.WriteString("\n")
	}
	side("want:", d.Want)
	side("got: ", d.Got)
	for _, s := range d.Details {
		fmt.Fprintf(b, "%s%s\n", in, clean(s))
	}
	if d.Diff != "" {
		for _, l := range strings.Split(strings.TrimSuffix(d.Diff, "\n"), "\n") {
			fmt.Fprintf(b, "%s| %s\n", in, clean(l))
		}
	}
	for _, h := range d.Hints {
		fmt.Fprintf(b, "%shint: %s\n", in, clean(h.Text))
	}
	for i := range d.Members {
		d.Members[i].text(b, in)
	}
	if d.Diffoscope != "" {
		fmt.Fprintf(b, "%sdiffoscope:\n", in)
		for _, l := range strings.Split(strings.TrimSuffix(d.Diffoscope, "\n"), "\n") {
			fmt.Fprintf(b, "%s  %s\n", in, clean(l))
		}
	}
	if d.Truncated {
		fmt.Fprintf(b, "%s(explanation truncated)\n", in)
	}
}

// clean escapes control characters, so that a hostile file or member name
// cannot forge lines or send terminal escapes in the text rendering.
func clean(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			fmt.Fprintf(&b, "\\x%02x", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 }
