package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/package-url/packageurl-go"
	"golang.org/x/mod/module"

	"github.com/hallmark-dev/hallmark/limit"
)

// Options tune a Walk. The zero value is usable.
type Options struct {
	// SkipDirs are directory names skipped wherever they occur, beside
	// the ones Walk always skips (see Walk).
	SkipDirs []string
	// MaxFileSize bounds the executables Walk hashes; larger ones are
	// skipped with a Warning. 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// Licenses makes Walk look up the licences of Go modules in the
	// module cache and of the subject in the root directory. It costs a
	// directory read and a licence scan per module.
	Licenses bool
	// GoModCache is the Go module cache to read licences from. "" means
	// $GOMODCACHE, else $GOPATH/pkg/mod (first GOPATH entry), else
	// ~/go/pkg/mod. The go command is never run.
	GoModCache string
}

// DefaultMaxFileSize is the MaxFileSize of Options{}: 4 GiB.
const DefaultMaxFileSize = 4 << 30

// maxManifestSize bounds go.mod, go.sum and lockfiles: 64 MiB.
const maxManifestSize = 64 << 20

// alwaysSkipped are the directories Walk never enters. Version control
// metadata is not part of the product; node_modules and vendor hold the
// code the lockfiles and go.mod beside them already describe (walking them
// would report each package a second time, from whatever copy happens to be
// installed); testdata holds test fixtures, which the go command ignores
// too and which are not part of what is shipped.
var alwaysSkipped = []string{".git", ".hg", ".svn", "node_modules", "vendor", "testdata"}

// A lockfileKind is a lockfile format Walk recognises by file name.
type lockfileKind struct {
	match func(name string) bool
	parse func(path string, data []byte) (*lockfile, error)
}

// lockfileKinds are the lockfile formats, tried in order.
var lockfileKinds = []lockfileKind{
	{match: func(n string) bool { return n == "package-lock.json" || n == "npm-shrinkwrap.json" }, parse: parseNPM},
	{match: isRequirementsFile, parse: parseRequirements},
	{match: func(n string) bool { return n == "poetry.lock" }, parse: parsePoetryLock},
	{match: func(n string) bool { return n == "Cargo.lock" }, parse: parseCargoLock},
}

// isRequirementsFile says whether name is a pip requirements file by the
// usual naming: requirements.txt, requirements-dev.txt, requirements_test.txt.
func isRequirementsFile(name string) bool {
	return strings.HasPrefix(name, "requirements") && strings.HasSuffix(name, ".txt")
}

func lockfileFor(name string) *lockfileKind {
	for i := range lockfileKinds {
		if lockfileKinds[i].match(name) {
			return &lockfileKinds[i]
		}
	}
	return nil
}

// job kinds
const (
	jobSniff = iota
	jobGoMod
	jobLockfile
)

type job struct {
	kind int
	rel  string // slash-separated, relative to the root
	abs  string
	lock *lockfileKind
}

type result struct {
	warnings []Warning
	gomod    *goModule
	lock     *lockfile
	bin      *binaryInfo
}

// Walk finds the components of root: a directory (a source tree, a
// directory of built binaries, or both) or a single file.
//
// A directory is walked in lexical order without following symbolic links,
// skipping directories named .git, .hg, .svn, node_modules, vendor and
// testdata (see alwaysSkipped for why) and opts.SkipDirs. Walk reads:
//
//   - go.mod files, with the go.sum beside them (see parseGoMod);
//   - the lockfiles of lockfileKinds (package-lock.json, npm-shrinkwrap.json,
//     requirements*.txt, poetry.lock, Cargo.lock);
//   - every other regular file's first bytes, to recognise ELF, PE and
//     Mach-O content by its magic (see sniff; a name such as "x.exe" means
//     nothing). Executables are hashed (SHA-256) and, when they are Go
//     binaries, their build information becomes components.
//
// The subject is the main module of the go.mod at the root, with its
// version from git (moduleVersion); else the package a lockfile at the root
// names; else a component named after the root directory with Ecosystem ""
// and PURL pkg:generic/<name>[@<version from git>].
//
// A multi-module tree: a go.mod below the root is a module of the product
// in its own right, so it becomes a component with Scope Direct, its
// version from git (a tag "sub/v1.2.3" for module directory sub, else a
// pseudo-version), DependsOn its requires; its requires are components as
// the root module's are, merged with them. A package a nested lockfile
// names is handled the same way. The subject depends on the root go.mod's
// requires and these nested modules and packages.
//
// Components of Go binaries: build information does not say which modules
// the main module requires itself, so every dependency of a binary gets
// Scope Indirect (a go.mod in the tree that names it directly makes it
// Direct on merge); the binary's main module is a Direct component unless
// it is the subject's module; the Go release it was built with is the
// stdlib component. A dependency replaced by a module appears as the
// replacement; one replaced by a local directory is left out, since its
// code is part of the source.
//
// The same PURL found in several places is one component: Locations,
// Hashes, Licenses and DependsOn merged, Scope the strongest (Direct over
// Indirect over Development; Toolchain stays Toolchain).
//
// A single file as root: a Go binary's subject is its main module (version
// from build information, "(devel)" meaning unknown), its components its
// dependencies and stdlib; another executable's subject is named after the
// file with Ecosystem ""; a go.mod or lockfile is read as if it were the
// only file of its directory. Any other file is an error.
//
// Limits: executables larger than opts.MaxFileSize and manifests larger
// than 64 MiB are skipped with a Warning. Errors: Walk fails only when root
// cannot be read, is not a directory, executable or manifest, or ctx ends.
func Walk(ctx context.Context, root string, opts Options) (*Inventory, error) {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if !fi.IsDir() {
		return walkFile(ctx, abs, fi, opts)
	}
	// A root that is a symbolic link to a directory is walked as that
	// directory (WalkDir would not enter it); the subject keeps the
	// link's name.
	name := filepath.Base(abs)
	if lfi, err := os.Lstat(abs); err == nil && lfi.Mode()&fs.ModeSymlink != 0 {
		if abs, err = filepath.EvalSymlinks(abs); err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
	}

	skip := make(map[string]bool)
	for _, d := range append(slices.Clone(alwaysSkipped), opts.SkipDirs...) {
		skip[d] = true
	}
	var jobs []job
	var warnings []Warning
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		rel := relPath(abs, p)
		if err != nil {
			if p == abs {
				return err
			}
			warnings = append(warnings, Warning{Path: rel, Msg: errMsg(err)})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != abs && skip[d.Name()] {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		name := d.Name()
		switch {
		case name == "go.mod":
			jobs = append(jobs, job{kind: jobGoMod, rel: rel, abs: p})
		case name == "go.sum":
			// Read with the go.mod beside it.
		default:
			if k := lockfileFor(name); k != nil {
				jobs = append(jobs, job{kind: jobLockfile, rel: rel, abs: p, lock: k})
			} else {
				jobs = append(jobs, job{kind: jobSniff, rel: rel, abs: p})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	results := runJobs(ctx, jobs, opts)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	b := newBuilder()
	b.warnings = warnings
	b.assemble(ctx, abs, name, jobs, results)
	inv := b.finish()
	if opts.Licenses {
		addLicenses(ctx, inv, abs, opts)
	}
	return inv, nil
}

// walkFile is Walk of a single file.
func walkFile(ctx context.Context, abs string, fi fs.FileInfo, opts Options) (*Inventory, error) {
	name := filepath.Base(abs)
	dir := filepath.Dir(abs)
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("inventory: %s: not a source tree, lockfile or executable", abs)
	}
	var j job
	switch k := lockfileFor(name); {
	case name == "go.mod":
		j = job{kind: jobGoMod, rel: name, abs: abs}
	case k != nil:
		j = job{kind: jobLockfile, rel: name, abs: abs, lock: k}
	default:
		j = job{kind: jobSniff, rel: name, abs: abs}
	}
	r := runJob(j, opts)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	b := newBuilder()
	switch {
	case j.kind != jobSniff:
		// A manifest: as if it were the only file of its directory.
		b.assemble(ctx, dir, filepath.Base(dir), []job{j}, []result{r})
		inv := b.finish()
		if opts.Licenses {
			addLicenses(ctx, inv, dir, opts)
		}
		return inv, nil
	case r.bin == nil:
		if len(r.warnings) > 0 {
			return nil, fmt.Errorf("inventory: %s: %s", abs, r.warnings[0].Msg)
		}
		return nil, fmt.Errorf("inventory: %s: not a source tree, lockfile or executable", abs)
	}
	bin := r.bin
	b.warnings = r.warnings
	if bin.goMain != nil {
		b.subject = *bin.goMain
		b.subject.Scope = ""
	} else {
		b.subject = genericSubject(name, "")
	}
	b.subject.Locations = []string{name}
	for _, c := range bin.goDeps {
		b.add(c)
	}
	if bin.stdlib != nil {
		b.add(*bin.stdlib)
		b.subject.DependsOn = append(b.subject.DependsOn, bin.stdlib.PURL)
	}
	for _, c := range bin.goDeps {
		b.subject.DependsOn = append(b.subject.DependsOn, c.PURL)
	}
	b.subject.DependsOn = sortedUnique(b.subject.DependsOn)
	b.files = append(b.files, bin.file)
	inv := b.finish()
	if opts.Licenses {
		addLicenses(ctx, inv, "", opts)
	}
	return inv, nil
}

// runJobs runs the jobs on up to GOMAXPROCS goroutines; results[i] is the
// result of jobs[i].
func runJobs(ctx context.Context, jobs []job, opts Options) []result {
	results := make([]result, len(jobs))
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(jobs) {
					return
				}
				results[i] = runJob(jobs[i], opts)
			}
		}()
	}
	wg.Wait()
	return results
}

// runJob reads one file.
func runJob(j job, opts Options) result {
	var r result
	warn := func(format string, args ...any) result {
		r.warnings = append(r.warnings, Warning{Path: j.rel, Msg: fmt.Sprintf(format, args...)})
		return r
	}
	f, err := os.Open(j.abs)
	if err != nil {
		return warn("%s", errMsg(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return warn("%s", errMsg(err))
	}
	if !fi.Mode().IsRegular() {
		return r
	}
	size := fi.Size()
	switch j.kind {
	case jobSniff:
		format := sniff(f, size)
		if format == "" {
			return r
		}
		if size > opts.MaxFileSize {
			return warn("%s executable of %d bytes is larger than the limit of %d bytes; skipped", format, size, opts.MaxFileSize)
		}
		bi, err := inspect(f, j.rel, format, size)
		if err != nil {
			return warn("%s", errMsg(err))
		}
		if bi.warning != "" {
			warn("%s", bi.warning)
		}
		r.bin = &bi
	case jobGoMod:
		data, err := readManifest(f, size)
		if err != nil {
			return warn("%s", errMsg(err))
		}
		sumRel := path.Join(path.Dir(j.rel), "go.sum")
		sum, err := readGoSum(filepath.Join(filepath.Dir(j.abs), "go.sum"))
		if err != nil {
			warn("%s", errMsg(err))
			r.warnings[len(r.warnings)-1].Path = sumRel
		}
		m, err := parseGoMod(j.rel, data, sumRel, sum)
		if le := (*lineError)(nil); errors.As(err, &le) {
			r.warnings = append(r.warnings, Warning{Path: j.rel, Line: le.line, Msg: le.msg})
			return r
		}
		if err != nil {
			return warn("%s", errMsg(err))
		}
		r.gomod = m
		r.warnings = append(r.warnings, m.warnings...)
	case jobLockfile:
		data, err := readManifest(f, size)
		if err != nil {
			return warn("%s", errMsg(err))
		}
		lf, err := parseLockfile(j.lock.parse, j.rel, data)
		if err != nil {
			return warn("%s", errMsg(err))
		}
		r.lock = lf
		r.warnings = append(r.warnings, lf.warnings...)
	}
	return r
}

// parseLockfile calls a lockfile parser, turning a panic (a parser bug on
// hostile input) into an error so that one file cannot end the walk.
func parseLockfile(parse func(string, []byte) (*lockfile, error), rel string, data []byte) (lf *lockfile, err error) {
	defer func() {
		if p := recover(); p != nil {
			lf, err = nil, fmt.Errorf("parser panic: %v", p)
		}
	}()
	lf, err = parse(rel, data)
	if err == nil && lf == nil {
		lf = &lockfile{}
	}
	return lf, err
}

func readManifest(f *os.File, size int64) ([]byte, error) {
	if size > maxManifestSize {
		return nil, fmt.Errorf("%d bytes is larger than the limit of %d bytes; skipped", size, maxManifestSize)
	}
	data, err := limit.Read(f, f.Name(), maxManifestSize)
	if errors.Is(err, limit.ErrTooLarge) {
		// It grew after its size was taken.
		return nil, fmt.Errorf("larger than the limit of %d bytes; skipped", maxManifestSize)
	}
	return data, err
}

// readGoSum reads the go.sum at p: nil, nil when there is none.
func readGoSum(p string) ([]byte, error) {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readManifest(f, fi.Size())
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// builder collects what the jobs found and merges it.
type builder struct {
	subject    Component
	components componentSet
	files      []File
	warnings   []Warning
}

func newBuilder() *builder {
	return &builder{components: componentSet{}}
}

// assemble turns the results of a directory walk (or of one manifest taken
// as a directory of one file) into the subject, components and files.
// absDir is the root directory, name its base name.
func (b *builder) assemble(ctx context.Context, absDir, name string, jobs []job, results []result) {
	var rootMod *goModule
	var rootLock *Component
	for i, r := range results {
		b.warnings = append(b.warnings, r.warnings...)
		if r.gomod != nil && path.Dir(jobs[i].rel) == "." {
			rootMod = r.gomod
		}
		if r.lock != nil && r.lock.subject != nil && path.Dir(jobs[i].rel) == "." && rootLock == nil {
			rootLock = r.lock.subject
		}
	}
	switch {
	case rootMod != nil:
		v := moduleVersion(ctx, absDir)
		b.subject = goComponent(rootMod.path, v, "", "go.mod")
		b.subject.Scope = ""
	case rootLock != nil:
		b.subject = *rootLock
		b.subject.Scope = ""
	default:
		b.subject = genericSubject(name, moduleVersion(ctx, absDir))
	}
	var deps []string
	for i, r := range results {
		j := jobs[i]
		switch {
		case r.gomod != nil:
			m := r.gomod
			var own []string
			for _, c := range m.components {
				b.add(c)
				own = append(own, c.PURL)
			}
			if m == rootMod {
				deps = append(deps, own...)
				continue
			}
			dir := filepath.Join(absDir, filepath.FromSlash(path.Dir(j.rel)))
			c := goComponent(m.path, moduleVersion(ctx, dir), Direct, j.rel)
			c.DependsOn = sortedUnique(own)
			b.add(c)
			deps = append(deps, c.PURL)
		case r.lock != nil:
			lf := r.lock
			for _, c := range lf.components {
				b.add(c)
			}
			if lf.subject != nil && lf.subject != rootLock {
				c := *lf.subject
				c.Scope = Direct
				b.add(c)
				deps = append(deps, c.PURL)
			}
		case r.bin != nil:
			bin := r.bin
			f := bin.file
			for _, c := range bin.goDeps {
				b.add(c)
			}
			if bin.stdlib != nil {
				b.add(*bin.stdlib)
			}
			if m := bin.goMain; m != nil {
				if b.subject.Ecosystem == Go && m.Name == b.subject.Name {
					// Built from this tree: the binary's main
					// module is the subject.
					f.Components = slices.DeleteFunc(f.Components, func(p string) bool { return p == m.PURL })
					f.Components = sortedUnique(append(f.Components, b.subject.PURL))
				} else {
					b.add(*m)
				}
			}
			b.files = append(b.files, f)
		}
	}
	if rootLock != nil && rootMod == nil {
		deps = append(deps, rootLock.DependsOn...)
	}
	b.subject.DependsOn = sortedUnique(append(b.subject.DependsOn, deps...))
}

// add merges c into the components.
func (b *builder) add(c Component) {
	if c.PURL == "" || c.PURL == b.subject.PURL {
		return
	}
	b.components.add(c)
}

// mergeComponent merges c into old, a component with the same PURL: Scope
// the strongest, Locations, Licenses and DependsOn appended (the caller
// sorts them), Hashes united with old's value kept for an algorithm both
// have.
func mergeComponent(old *Component, c Component) {
	old.Scope = strongerScope(old.Scope, c.Scope)
	old.Locations = append(old.Locations, c.Locations...)
	old.Licenses = append(old.Licenses, c.Licenses...)
	old.DependsOn = append(old.DependsOn, c.DependsOn...)
	for k, v := range c.Hashes {
		if old.Hashes == nil {
			old.Hashes = make(map[string]string)
		}
		if _, dup := old.Hashes[k]; !dup {
			old.Hashes[k] = v
		}
	}
}

// scopeRank orders scopes for merging; Toolchain outranks all, since a
// toolchain component is never anything else.
func scopeRank(s Scope) int {
	switch s {
	case Toolchain:
		return 4
	case Direct:
		return 3
	case Indirect:
		return 2
	case Development:
		return 1
	}
	return 0
}

func strongerScope(a, b Scope) Scope {
	if scopeRank(b) > scopeRank(a) {
		return b
	}
	return a
}

// finish sorts everything into an Inventory.
func (b *builder) finish() *Inventory {
	inv := &Inventory{Subject: b.subject, Warnings: b.warnings}
	inv.Subject.Locations = sortedUnique(inv.Subject.Locations)
	if len(b.components) > 0 { // none is nil, not empty
		inv.Components = b.components.list()
	}
	inv.Files = b.files
	slices.SortFunc(inv.Files, func(x, y File) int { return cmp.Compare(x.Path, y.Path) })
	sortWarnings(inv.Warnings)
	return inv
}

// genericSubject is the subject of a tree that names no package: named
// after the directory (or file), Ecosystem "".
func genericSubject(name, version string) Component {
	return Component{
		Name:    name,
		Version: version,
		PURL:    packageurl.NewPackageURL("generic", "", name, version, nil, "").ToString(),
	}
}

// relPath is p relative to root, slash-separated; "." for root itself.
func relPath(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(r)
}

// errMsg is err's message without the *PathError's path, which the
// Warning already names.
func errMsg(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// sortedUnique sorts s and removes duplicates and empty strings.
func sortedUnique(s []string) []string {
	s = slices.DeleteFunc(s, func(x string) bool { return x == "" })
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// goModCache is the module cache directory of opts.
func goModCache(opts Options) string {
	if opts.GoModCache != "" {
		return opts.GoModCache
	}
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		first, _, _ := strings.Cut(gp, string(os.PathListSeparator))
		if first != "" {
			return filepath.Join(first, "pkg", "mod")
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// moduleCacheDir is the directory of module path@version in the cache, or
// "" when the path or version cannot be escaped.
func moduleCacheDir(cache, modPath, version string) string {
	ep, err := module.EscapePath(modPath)
	if err != nil {
		return ""
	}
	ev, err := module.EscapeVersion(version)
	if err != nil {
		return ""
	}
	return filepath.Join(cache, filepath.FromSlash(ep)+"@"+ev)
}

// sortWarnings sorts warnings by path and line, keeping the order of each
// file's warnings on one line.
func sortWarnings(ws []Warning) {
	slices.SortStableFunc(ws, func(x, y Warning) int {
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Line, y.Line))
	})
}
