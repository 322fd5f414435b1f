package tlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"time"

	tlayout "github.com/transparency-dev/tessera/api/layout"
)

// FS returns the log's tlog-tiles tree as a read-only file system, read
// from its storage: "checkpoint", "tile/L/N[.p/W]" and
// "tile/entries/N[.p/W]". A server serves it as it serves a POSIX log's
// directory; for a log in MySQL it is the only way to its tiles.
func (l *Log) FS() fs.FS { return tileFS{l.reader} }

type tileFS struct{ r Fetcher }

// Open reads the named file whole: tiles are at most 256 hashes or entries.
func (t tileFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	data, err := t.read(context.Background(), name)
	if err == nil && data == nil {
		err = fs.ErrNotExist
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			err = errors.Join(fs.ErrNotExist, err)
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &memFile{name: name[strings.LastIndex(name, "/")+1:], Reader: bytes.NewReader(data), size: int64(len(data))}, nil
}

func (t tileFS) read(ctx context.Context, name string) ([]byte, error) {
	if name == "checkpoint" {
		return t.r.ReadCheckpoint(ctx)
	}
	rest, ok := strings.CutPrefix(name, "tile/")
	if !ok {
		return nil, fs.ErrNotExist
	}
	if index, ok := strings.CutPrefix(rest, "entries/"); ok {
		n, p, err := tlayout.ParseTileIndexPartial(index)
		if err != nil {
			return nil, fs.ErrNotExist
		}
		return t.r.ReadEntryBundle(ctx, n, p)
	}
	level, index, ok := strings.Cut(rest, "/")
	if !ok {
		return nil, fs.ErrNotExist
	}
	lv, n, p, err := tlayout.ParseTileLevelIndexPartial(level, index)
	if err != nil {
		return nil, fs.ErrNotExist
	}
	return t.r.ReadTile(ctx, lv, n, p)
}

type memFile struct {
	name string
	*bytes.Reader
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Name() string               { return f.name }
func (f *memFile) Size() int64                { return f.size }
func (f *memFile) Mode() fs.FileMode          { return 0o444 }
func (f *memFile) ModTime() time.Time         { return time.Time{} }
func (f *memFile) IsDir() bool                { return false }
func (f *memFile) Sys() any                   { return nil }

var _ io.ReaderAt = (*memFile)(nil)
