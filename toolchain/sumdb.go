package toolchain

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb"

	"github.com/hallmark-dev/hallmark/limit"
)

// SumDBKey is the verifier key of sum.golang.org, the Go checksum database
// (the go command's default GOSUMDB).
const SumDBKey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

// ErrNotCached is wrapped by SumDBLookup's error when the go command's cache
// lacks the record or a tile the proof needs: the check cannot be made
// offline.
var ErrNotCached = errors.New("no checksum database record in the local cache")

// SumDBLookup returns the h1 that the Go checksum database records for
// modPath@version, read only from the go command's caches: records and tiles
// under modCache/cache/download/sumdb, the latest tree head under sumdbDir.
// It verifies the signed tree heads, the record's inclusion and the trees'
// consistency (golang.org/x/mod/sumdb.Client); it never uses the network.
func SumDBLookup(modCache, sumdbDir, modPath, version string) (string, error) {
	ops := &offlineOps{cache: filepath.Join(modCache, "cache", "download", "sumdb"), config: sumdbDir}
	c := sumdb.NewClient(ops)
	lines, err := c.Lookup(modPath, version)
	if ops.missing != "" {
		return "", fmt.Errorf("toolchain: sumdb: %s@%s: %w (%s)", modPath, version, ErrNotCached, ops.missing)
	}
	if err != nil {
		return "", fmt.Errorf("toolchain: sumdb: %w", err)
	}
	if ops.security != "" {
		return "", fmt.Errorf("toolchain: sumdb: %s", ops.security)
	}
	prefix := modPath + " " + version + " "
	for _, l := range lines {
		if h, ok := strings.CutPrefix(l, prefix); ok && strings.HasPrefix(h, "h1:") {
			return h, nil
		}
	}
	return "", fmt.Errorf("toolchain: sumdb: %s@%s: the record has no h1 line", modPath, version)
}

// offlineOps is a sumdb.ClientOps over the go command's caches.
type offlineOps struct {
	cache, config string
	mu            sync.Mutex
	latest        []byte
	missing       string
	security      string
}

// maxSumDBFile bounds a record, tile or tree head read from the caches.
const maxSumDBFile = 1 << 20

func (o *offlineOps) ReadRemote(p string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.missing == "" {
		o.missing = "needs " + p
	}
	return nil, fmt.Errorf("offline: %s", p)
}

func (o *offlineOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(SumDBKey), nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.latest != nil {
		return o.latest, nil
	}
	b, err := limit.ReadFile(filepath.Join(o.config, filepath.FromSlash(path.Clean("/"+file))), maxSumDBFile)
	if errors.Is(err, os.ErrNotExist) {
		return []byte{}, nil
	}
	return b, err
}

func (o *offlineOps) WriteConfig(file string, old, new []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.latest = append([]byte{}, new...)
	return nil
}

func (o *offlineOps) ReadCache(file string) ([]byte, error) {
	return limit.ReadFile(filepath.Join(o.cache, filepath.FromSlash(path.Clean("/"+file))), maxSumDBFile)
}

func (o *offlineOps) WriteCache(file string, data []byte) {}
func (o *offlineOps) Log(msg string)                      {}
func (o *offlineOps) SecurityError(msg string) {
	o.mu.Lock()
	o.security = msg
	o.mu.Unlock()
}
