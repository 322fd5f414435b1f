package inventory

// lockfile is what one parser found in one input file. Each parser has the
// signature
//
//	func(path string, data []byte) (*lockfile, error)
//
// where path is the file's slash-separated path relative to the walk's root
// (for Locations and Warnings) and data its whole content. A parser returns
// an error only when the file is unusable as a whole (not the format it
// claims, truncated); Walk turns that error into a Warning. Problems with
// single entries (a dependency without a version, an unknown version
// scheme) go into warnings and the entry is skipped or kept without a
// version, as the parser documents.
type lockfile struct {
	// subject is the package the file itself describes, when it names
	// one (package-lock.json's "name" and "version", the root package of
	// a Cargo.lock); nil otherwise.
	subject *Component
	// components are the dependencies the file lists, with Ecosystem,
	// Name, Version, PURL, Scope, Locations (just path) and, where the
	// file records them, Hashes, Licenses and DependsOn filled in.
	components []Component
	warnings   []Warning
}
