package toolchain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/hallmark-dev/hallmark/internal/atomicfile"
	"github.com/hallmark-dev/hallmark/limit"
)

// MaxTreeFiles bounds the files of a tree that Cache hashes.
const MaxTreeFiles = 1 << 20

// Cache remembers the h1 dirhash of directory trees, keyed by a stat
// snapshot of every entry in the tree: its path, type, size, modification
// and change times, inode and device. A tree whose snapshot is the same as
// one hashed before gets the remembered hash after a walk of lstat calls
// (milliseconds for a Go toolchain's 11,000 files); any change to a file
// (content, size, times, replacement by another file) changes the snapshot,
// and the tree is hashed again. The change time (ctime) cannot be set by a
// process, so restoring a modification time after editing a file does not
// keep an entry valid.
//
// A Cache with a directory keeps its entries there as files, one per
// snapshot, so that they outlive the process. Whoever can write that
// directory can make a tree pass for another: it must belong to the platform
// (its data directory), never to a build step. A Cache is safe for concurrent
// use.
type Cache struct {
	dir string
	mu  sync.Mutex
	mem map[string]string
}

// NewCache returns a Cache keeping its entries in dir, created if needed;
// "" keeps them in memory only.
func NewCache(dir string) (*Cache, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("toolchain: cache: %w", err)
		}
	}
	return &Cache{dir: dir, mem: map[string]string{}}, nil
}

// entry is one file of a snapshot.
type entry struct {
	rel  string // slash-separated, relative to the tree's root
	line string // what the snapshot records of it
}

// snapshot walks root without following symbolic links and returns its
// regular files, sorted, and the snapshot's digest. Symbolic links and
// other non-regular files are refused: module trees have none.
func snapshot(root string) ([]entry, string, error) {
	var es []entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != root {
				es = append(es, entry{rel: rel + "/", line: statLine(rel+"/", fi)})
			}
			return nil
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file (%s)", rel, fi.Mode().Type())
		}
		if len(es) >= MaxTreeFiles {
			return fmt.Errorf("more than %d files", MaxTreeFiles)
		}
		es = append(es, entry{rel: rel, line: statLine(rel, fi)})
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	sort.Slice(es, func(i, j int) bool { return es[i].rel < es[j].rel })
	h := sha256.New()
	for _, e := range es {
		io.WriteString(h, e.line)
	}
	return es, hex.EncodeToString(h.Sum(nil)), nil
}

func statLine(rel string, fi fs.FileInfo) string {
	ino, dev, ctime := statSys(fi)
	return fmt.Sprintf("%q %o %d %d %d %d %d\n", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), ctime, ino, dev)
}

// HashDir returns the h1 dirhash of the tree at root with file names
// prefix + "/" + path, as golang.org/x/mod/sumdb/dirhash.HashDir computes it
// for a module's directory in the module cache (prefix "path@version").
// Directories are walked, never followed through symbolic links; a
// symbolic link or other non-regular file in the tree is an error. A tree
// that changes while it is hashed is an error.
func (c *Cache) HashDir(root, prefix string) (string, error) {
	es, snap, err := snapshot(root)
	if err != nil {
		return "", fmt.Errorf("toolchain: hash %s: %w", root, err)
	}
	key := "dir:" + sha256Hex(prefix+"\x00"+root+"\x00"+snap)
	if h, ok := c.get(key); ok {
		return h, nil
	}
	var files []string
	for _, e := range es {
		if !strings.HasSuffix(e.rel, "/") {
			files = append(files, prefix+"/"+e.rel)
		}
	}
	h, err := dirhash.Hash1(files, func(name string) (io.ReadCloser, error) {
		return openNoFollow(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(name, prefix+"/"))))
	})
	if err != nil {
		return "", fmt.Errorf("toolchain: hash %s: %w", root, err)
	}
	if _, snap2, err := snapshot(root); err != nil || snap2 != snap {
		return "", fmt.Errorf("toolchain: hash %s: the tree changed while it was hashed", root)
	}
	c.put(key, h)
	return h, nil
}

// fileHash returns a hash of the file at p computed by f, remembered under
// kind and the file's stat snapshot.
func (c *Cache) fileHash(kind, p string, f func(string) (string, error)) (string, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", p)
	}
	key := kind + ":" + sha256Hex(p+"\x00"+statLine(p, fi))
	if h, ok := c.get(key); ok {
		return h, nil
	}
	h, err := f(p)
	if err != nil {
		return "", err
	}
	fi2, err := os.Lstat(p)
	if err != nil || statLine(p, fi2) != statLine(p, fi) {
		return "", fmt.Errorf("%s: the file changed while it was hashed", p)
	}
	c.put(key, h)
	return h, nil
}

// SHA256File returns the lowercase hex SHA-256 of the regular file at p.
func (c *Cache) SHA256File(p string) (string, error) {
	return c.fileHash("sha256", p, func(p string) (string, error) {
		f, err := openNoFollow(p)
		if err != nil {
			return "", err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	})
}

// HashZip returns the h1 dirhash of the files in the module zip at p
// (golang.org/x/mod/sumdb/dirhash.HashZip).
func (c *Cache) HashZip(p string) (string, error) {
	return c.fileHash("zip", p, func(p string) (string, error) { return dirhash.HashZip(p, dirhash.Hash1) })
}

// file is where the entry key ("kind:hex") lives in c.dir: "hex.kind".
func (c *Cache) file(key string) string {
	kind, h, _ := strings.Cut(key, ":")
	return filepath.Join(c.dir, h+"."+kind)
}

func (c *Cache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.mem[key]; ok {
		return h, true
	}
	if c.dir == "" {
		return "", false
	}
	b, err := limit.ReadFile(c.file(key), 256)
	if err != nil {
		return "", false
	}
	h := strings.TrimSpace(string(b))
	c.mem[key] = h
	return h, true
}

// put remembers h under key; an entry that cannot be written to c.dir is
// kept in memory only.
func (c *Cache) put(key, h string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem[key] = h
	if c.dir != "" {
		atomicfile.Write(c.file(key), []byte(h+"\n"), 0o600)
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// openNoFollow opens the regular file at p without following a symbolic
// link in its last element.
func openNoFollow(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, errors.New(p + ": not a regular file")
	}
	return f, nil
}
