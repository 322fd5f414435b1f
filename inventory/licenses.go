package inventory

import (
	"context"
	"errors"
	"io/fs"
	"runtime"
	"sync"

	"github.com/hallmark-dev/hallmark/license"
)

// addLicenses fills in the Licenses of inv's Go modules from their
// directories in the module cache, and the subject's from subjectDir (""
// for none). A module that is not in the cache keeps an unknown licence; a
// cache directory that cannot be read is a Warning.
func addLicenses(ctx context.Context, inv *Inventory, subjectDir string, opts Options) {
	cache := goModCache(opts)
	type task struct {
		c   *Component
		dir string
	}
	var tasks []task
	if subjectDir != "" {
		tasks = append(tasks, task{&inv.Subject, subjectDir})
	}
	for i := range inv.Components {
		c := &inv.Components[i]
		if c.Ecosystem != Go || c.Scope == Toolchain || c.Version == "" || cache == "" {
			continue
		}
		if d := moduleCacheDir(cache, c.Name, c.Version); d != "" {
			tasks = append(tasks, task{c, d})
		}
	}
	warnings := make([]*Warning, len(tasks))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, t := range tasks {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ids, err := license.Dir(t.dir)
			if errors.Is(err, fs.ErrNotExist) {
				return // not in the cache
			}
			if err != nil {
				loc := ""
				if len(t.c.Locations) > 0 {
					loc = t.c.Locations[0]
				}
				warnings[i] = &Warning{Path: loc, Msg: "licence of " + t.c.Name + "@" + t.c.Version + ": " + err.Error()}
				return
			}
			t.c.Licenses = sortedUnique(append(t.c.Licenses, ids...))
		}()
	}
	wg.Wait()
	for _, w := range warnings {
		if w != nil {
			inv.Warnings = append(inv.Warnings, *w)
		}
	}
	sortWarnings(inv.Warnings)
}
