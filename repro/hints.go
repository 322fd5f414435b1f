package repro

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Plausible build times: 2000-01-01 to 2100-01-01.
const (
	minTime = 946684800
	maxTime = 4102444800
)

var (
	isoTime  = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}`)
	unixDate = regexp.MustCompile(`(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9]\d \d{2}:\d{2}:\d{2}( [A-Z]{3,5})? \d{4}`)
	epoch    = regexp.MustCompile(`(^|[^0-9])(1[0-9]{9}|[2-3][0-9]{9})($|[^0-9])`)
)

// findTimes returns the times written in s in common text forms, in the
// order of the forms tried, at most 8.
func findTimes(s string) []time.Time {
	var ts []time.Time
	for _, m := range isoTime.FindAllString(s, 8) {
		if t, err := time.Parse("2006-01-02T15:04:05", strings.Replace(m, " ", "T", 1)); err == nil {
			ts = append(ts, t)
		}
	}
	for _, m := range unixDate.FindAllString(s, 8) {
		for _, layout := range []string{time.UnixDate, time.ANSIC} {
			if t, err := time.Parse(layout, m); err == nil {
				ts = append(ts, t)
				break
			}
		}
	}
	for _, m := range epoch.FindAllStringSubmatch(s, 8) {
		var n int64
		fmt.Sscan(m[2], &n)
		if n >= minTime && n < maxTime {
			ts = append(ts, time.Unix(n, 0).UTC())
		}
	}
	return ts[:min(len(ts), 8)]
}

// differingTimes returns the first pair of times, found at the same place
// in the texts a and b, that differ.
func differingTimes(a, b string) (time.Time, time.Time, bool) {
	ta, tb := findTimes(a), findTimes(b)
	for i := range min(len(ta), len(tb)) {
		if !ta[i].Equal(tb[i]) {
			return ta[i], tb[i], true
		}
	}
	return time.Time{}, time.Time{}, false
}

// printableAround returns the run of printable ASCII around [off, off+n).
func printableAround(r blob, off, n int64) string {
	const span = 96
	start := max(off-span, 0)
	buf := make([]byte, n+2*span)
	m, _ := r.ReadAt(buf, start)
	buf = buf[:m]
	lo, hi := off-start, off-start+n
	if lo > int64(len(buf)) {
		return ""
	}
	hi = min(hi, int64(len(buf)))
	for lo > 0 && printable(buf[lo-1]) {
		lo--
	}
	for hi < int64(len(buf)) && printable(buf[hi]) {
		hi++
	}
	for i := lo; i < hi; i++ {
		if !printable(buf[i]) {
			return ""
		}
	}
	return string(buf[lo:hi])
}

var printableTab = func() (t [256]bool) {
	for c := range t {
		t[c] = printable(byte(c))
	}
	return t
}()

func printable(c byte) bool { return c >= 0x20 && c < 0x7f || c == '\t' }

// timestampHints looks at the differing regions for times: text forms in
// the printable strings around them, and 4- or 8-byte integers of seconds
// or nanoseconds whose high bytes agree.
func timestampHints(e *expl, a, b blob, bd bdiff) {
	regions := bd.regions
	if a.Size() != b.Size() && len(regions) > 1 {
		regions = regions[:1] // later offsets are shifted
	}
	type found struct {
		off, n int64
		ta, tb time.Time
	}
	var hits []found
	for _, r := range regions {
		var sa, sb string
		if r.n <= 64 {
			sa, sb = printableAround(a, r.off, r.n), printableAround(b, r.off, r.n)
			if ta, tb, ok := differingTimes(sa, sb); ok {
				hits = append(hits, found{r.off, r.n, ta, tb})
				continue
			}
		}
		// Binary words only where the bytes are not inside text on both
		// sides: four letters decode as a plausible time three times in four.
		if r.n <= 8 && (len(sa) < 4 || len(sb) < 4) {
			if ta, tb, ok := binaryTime(a, b, r); ok {
				hits = append(hits, found{r.off, r.n, ta, tb})
			}
		}
	}
	if len(hits) == 0 {
		return
	}
	h := hits[0]
	d := h.tb.Sub(h.ta)
	if d < 0 {
		d = -d
	}
	more := ""
	if len(hits) > 1 {
		more = fmt.Sprintf(" (and %d more places)", len(hits)-1)
	}
	e.hint(CauseTimestamp, "the build embeds a timestamp: the two files differ in %s at 0x%x that decode as times %s apart (%s and %s)%s: set SOURCE_DATE_EPOCH or drop the time from the build",
		plural(h.n, "byte"), h.off, d, h.ta.UTC().Format(time.RFC3339), h.tb.UTC().Format(time.RFC3339), more)
}

// binaryTime decodes the 4- and 8-byte words that cover region r as Unix
// seconds or nanoseconds, little and big endian, and reports a pair of
// plausible times whose most significant byte is the same on both sides.
func binaryTime(a, b blob, r region) (time.Time, time.Time, bool) {
	for _, w := range []int64{8, 4} {
		for s := r.off + r.n - w; s <= r.off; s++ {
			if s < 0 {
				continue
			}
			ba, bb := make([]byte, w), make([]byte, w)
			if n, _ := a.ReadAt(ba, s); int64(n) != w {
				continue
			}
			if n, _ := b.ReadAt(bb, s); int64(n) != w {
				continue
			}
			for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
				var va, vb int64
				var top int // index of the most significant byte
				if w == 8 {
					va, vb = int64(bo.Uint64(ba)), int64(bo.Uint64(bb))
				} else {
					va, vb = int64(bo.Uint32(ba)), int64(bo.Uint32(bb))
				}
				if bo == binary.LittleEndian {
					top = int(w) - 1
				}
				if ba[top] != bb[top] {
					continue
				}
				for _, unit := range []int64{1, 1e9} {
					if w == 4 && unit != 1 {
						continue
					}
					sa, sb := va/unit, vb/unit
					if sa >= minTime && sa < maxTime && sb >= minTime && sb < maxTime && sa != sb {
						return time.Unix(sa, va%unit).UTC(), time.Unix(sb, vb%unit).UTC(), true
					}
				}
			}
		}
	}
	return time.Time{}, time.Time{}, false
}

const (
	maxPaths = 50000     // distinct paths kept per file
	maxScan  = 256 << 20 // bytes scanned for strings per file
)

const goBuildIDHint = "Go build ID differs: it hashes the build's inputs and output, so some input differed; build from identical inputs, or drop it with -ldflags=-buildid="

// strs is what a scan of a file's printable strings found.
type strs struct {
	goBuildID string
	hasGoID   bool
	paths     map[string]bool
	flagged   []string // paths under well-known build or home directories
	cut       bool     // the file is longer than maxScan
}

// flaggedPrefixes are directories whose presence in an output means the
// build recorded where it ran.
func flaggedPrefixes() []string {
	p := []string{"/tmp/go-build", "/home/", "/Users/", "/root/", "/build/"}
	if h, err := os.UserHomeDir(); err == nil && len(h) > 1 {
		p = append(p, strings.TrimSuffix(h, "/")+"/")
	}
	return p
}

// scanStrings streams r and collects the Go build ID and absolute paths
// found in runs of printable ASCII.
func scanStrings(ctx context.Context, r blob) strs {
	out := strs{paths: map[string]bool{}}
	prefixes := flaggedPrefixes()
	flagged := map[string]bool{}
	handle := func(run []byte) {
		if bytes.IndexByte(run, '/') < 0 && !bytes.Contains(run, []byte("Go build ID")) {
			return
		}
		s := string(run)
		if i := strings.Index(s, `Go build ID: "`); i >= 0 && !out.hasGoID {
			rest := s[i+len(`Go build ID: "`):]
			if j := strings.IndexByte(rest, '"'); j >= 0 {
				out.goBuildID, out.hasGoID = rest[:j], true
			}
		}
		for _, tok := range strings.FieldsFunc(s, func(c rune) bool { return strings.ContainsRune(" \t\"'`;,=()<>:", c) }) {
			if len(tok) < 6 || tok[0] != '/' || tok[1] == '/' || strings.Count(tok, "/") < 2 {
				continue
			}
			if len(out.paths) < maxPaths {
				out.paths[tok] = true
			}
			for _, p := range prefixes {
				if strings.HasPrefix(tok, p) && !flagged[tok] && len(flagged) < 16 {
					flagged[tok] = true
					out.flagged = append(out.flagged, tok)
				}
			}
		}
	}
	buf := make([]byte, chunk)
	var run []byte
	end := min(r.Size(), maxScan)
	out.cut = end < r.Size()
	for off := int64(0); off < end; off += chunk {
		if ctx.Err() != nil {
			break
		}
		n, _ := r.ReadAt(buf, off)
		if n == 0 {
			break
		}
		for i := 0; i < n; {
			// Find the end of the printable run starting at i.
			j := i
			for j < n && printableTab[buf[j]] {
				j++
			}
			if j > i && len(run) < 4096 {
				run = append(run, buf[i:min(j, i+4096-len(run))]...)
			}
			if j == n {
				break // the run may go on in the next chunk
			}
			if len(run) >= 6 {
				handle(run)
			}
			run = run[:0]
			i = j + 1
		}
	}
	if len(run) >= 6 {
		handle(run)
	}
	return out
}

// stringHints compares the Go build IDs and the absolute paths embedded in
// a and b.
func stringHints(ctx context.Context, e *expl, a, b blob) {
	sa, sb := scanStrings(ctx, a), scanStrings(ctx, b)
	if sa.cut || sb.cut {
		e.detail("strings searched in the first %d MiB only", maxScan>>20)
	}
	if sa.hasGoID && sb.hasGoID && sa.goBuildID != sb.goBuildID {
		e.detail("Go build ID differs: want %q, got %q", sa.goBuildID, sb.goBuildID)
		e.hint(CauseGoBuildID, goBuildIDHint)
	}
	for _, side := range []struct {
		name string
		s    strs
	}{{"want", sa}, {"got", sb}} {
		if len(side.s.flagged) > 0 {
			e.detail("%s embeds paths of a build or home directory, e.g. %s", side.name, strings.Join(side.s.flagged[:min(3, len(side.s.flagged))], ", "))
		}
	}
	var onlyA, onlyB []string
	for p := range sa.paths {
		if !sb.paths[p] {
			onlyA = append(onlyA, p)
		}
	}
	for p := range sb.paths {
		if !sa.paths[p] {
			onlyB = append(onlyB, p)
		}
	}
	if len(onlyA) == 0 && len(onlyB) == 0 {
		return
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	e.detail("embedded absolute paths differ: %d only in want, %d only in got", len(onlyA), len(onlyB))
	if len(onlyA) == 0 || len(onlyB) == 0 {
		only, side := onlyA, "want"
		if len(only) == 0 {
			only, side = onlyB, "got"
		}
		e.hint(CauseBuildPath, "only %s embeds the absolute paths %s: build with -trimpath (or the compiler's -ffile-prefix-map)", side, strings.Join(only[:min(3, len(only))], ", "))
		return
	}
	da, db := buildDirs(onlyA, onlyB)
	e.hint(CauseBuildPath, "the binary embeds the build directory path: want has %s, got has %s: build with -trimpath (or the compiler's -ffile-prefix-map)", da, db)
}

// buildDirs pairs paths found only on one side with the path on the other
// side that shares the longest tail of whole elements, and returns the most
// common pair of differing heads: the two build directories.
func buildDirs(a, b []string) (string, string) {
	a, b = a[:min(len(a), 200)], b[:min(len(b), 200)]
	count := map[[2]string]int{}
	for _, p := range a {
		best, bestN := [2]string{}, 0
		for _, q := range b {
			n := commonTail(p, q)
			if n > bestN {
				best, bestN = [2]string{p[:len(p)-n], q[:len(q)-n]}, n
			}
		}
		if bestN > 0 {
			count[best]++
		}
	}
	var top [2]string
	n := 0
	for k, c := range count {
		if c > n || c == n && k[0] < top[0] {
			top, n = k, c
		}
	}
	if n == 0 {
		return a[0], b[0]
	}
	return strings.TrimSuffix(top[0], "/"), strings.TrimSuffix(top[1], "/")
}

// commonTail is the length of the longest common suffix of p and q that
// starts with a slash.
func commonTail(p, q string) int {
	n, best := 0, 0
	for n < len(p) && n < len(q) && p[len(p)-1-n] == q[len(q)-1-n] {
		n++
		if p[len(p)-n] == '/' {
			best = n
		}
	}
	return best
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
