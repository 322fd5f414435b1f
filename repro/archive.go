package repro

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

const (
	maxMembers        = 100000 // archive members listed
	maxMemberDiffs    = 50     // member FileDiffs kept
	maxMemberExplains = 8      // members read and explained
)

// member is one archive entry, as far as reproducibility goes.
type member struct {
	key        string // name, with #n for repeats
	name       string
	typ        string
	mode       fs.FileMode
	uid, gid   int
	owner      string // uname:gname
	mtime      time.Time
	size       int64
	link       string
	sum        string // sha256 (tar) or crc32 (zip) of the contents
	zipMethod  uint16
	zipExtra   string
	zipComment string
}

func (m *member) ownerString() string {
	s := fmt.Sprintf("%d:%d", m.uid, m.gid)
	if m.owner != ":" {
		s += " (" + m.owner + ")"
	}
	return s
}

// memberKey is the key of the next member named name: the name, with #n
// for its nth repeat. seen counts the names met so far.
func memberKey(seen map[string]int, name string) string {
	seen[name]++
	if seen[name] > 1 {
		return fmt.Sprintf("%s#%d", name, seen[name])
	}
	return name
}

func keyMembers(ms []member) map[string]*member {
	m, seen := map[string]*member{}, map[string]int{}
	for i := range ms {
		ms[i].key = memberKey(seen, ms[i].name)
		m[ms[i].key] = &ms[i]
	}
	return m
}

func readTar(ctx context.Context, r blob) ([]member, error) {
	tr := tar.NewReader(io.NewSectionReader(r, 0, r.Size()))
	var ms []member
	// Sparse members expand to their logical size; bound the bytes hashed
	// by what a plain archive of this size could hold.
	budget := 2*r.Size() + 1<<20
	for len(ms) < maxMembers {
		if err := ctx.Err(); err != nil {
			return ms, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return ms, nil
		}
		if err != nil {
			return ms, err
		}
		hsum := sha256.New()
		n, err := io.CopyN(hsum, tr, budget+1)
		if err != nil && err != io.EOF {
			return ms, fmt.Errorf("member %q: %w", h.Name, err)
		}
		if budget -= n; budget < 0 {
			return ms, fmt.Errorf("member %q: contents expand past %d bytes", h.Name, 2*r.Size()+1<<20)
		}
		ms = append(ms, member{
			name: h.Name, typ: string(rune(h.Typeflag)), mode: h.FileInfo().Mode(), uid: h.Uid, gid: h.Gid,
			owner: h.Uname + ":" + h.Gname, mtime: h.ModTime, size: n, link: h.Linkname,
			sum: hex.EncodeToString(hsum.Sum(nil)),
		})
	}
	return ms, fmt.Errorf("more than %d members", maxMembers)
}

// tarContents reads the named members' contents, each up to max bytes and
// all together up to 2*max.
func tarContents(r blob, keys map[string]bool, max int64) map[string][]byte {
	out := map[string][]byte{}
	tr := tar.NewReader(io.NewSectionReader(r, 0, r.Size()))
	seen := map[string]int{}
	total := 2 * max
	for i := 0; i < maxMembers && len(out) < len(keys); i++ {
		h, err := tr.Next()
		if err != nil {
			break
		}
		k := memberKey(seen, h.Name)
		if !keys[k] {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, min(max, total)+1))
		if err == nil && int64(len(data)) <= min(max, total) {
			out[k] = data
			total -= int64(len(data))
		}
	}
	return out
}

func explainTar(ctx context.Context, e *expl, a, b blob, opts Options, depth int) {
	ma, err := readTar(ctx, a)
	if err != nil {
		e.detail("tar: want: %v (compared as far as read)", err)
	}
	mb, err := readTar(ctx, b)
	if err != nil {
		e.detail("tar: got: %v (compared as far as read)", err)
	}
	changed := compareMembers(e, ma, mb)
	keys := toRead(e, changed, depth)
	read := func(r blob) map[string][]byte { return tarContents(r, keys, opts.MaxMember) }
	explainMembers(ctx, e, keys, read(a), read(b), opts, depth)
}

func readZip(r blob) ([]member, error) {
	zr, err := zip.NewReader(r, r.Size())
	if err != nil {
		return nil, err
	}
	var ms []member
	for i, f := range zr.File {
		if i >= maxMembers {
			return ms, fmt.Errorf("more than %d members", maxMembers)
		}
		mt := f.Modified
		if mt.IsZero() {
			mt = f.ModTime()
		}
		ms = append(ms, member{
			name: f.Name, typ: "f", mode: f.Mode(), mtime: mt, size: int64(f.UncompressedSize64),
			sum: fmt.Sprintf("crc32:%08x", f.CRC32), zipMethod: f.Method,
			zipExtra: string(f.Extra), zipComment: f.Comment,
		})
	}
	return ms, nil
}

// zipContents reads the named members' contents, each up to max bytes and
// all together up to 2*max.
func zipContents(r blob, keys map[string]bool, max int64) map[string][]byte {
	out := map[string][]byte{}
	zr, err := zip.NewReader(r, r.Size())
	if err != nil {
		return out
	}
	seen := map[string]int{}
	total := 2 * max
	for _, f := range zr.File {
		k := memberKey(seen, f.Name)
		lim := min(max, total)
		if !keys[k] || f.UncompressedSize64 > uint64(lim) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(rc, lim+1))
		rc.Close()
		if err == nil && int64(len(data)) <= lim {
			out[k] = data
			total -= int64(len(data))
		}
	}
	return out
}

func explainZip(ctx context.Context, e *expl, a, b blob, opts Options, depth int) {
	ma, err := readZip(a)
	if err != nil {
		e.detail("zip: want: %v", err)
	}
	mb, err := readZip(b)
	if err != nil {
		e.detail("zip: got: %v", err)
	}
	changed := compareMembers(e, ma, mb)
	keys := toRead(e, changed, depth)
	read := func(r blob) map[string][]byte { return zipContents(r, keys, opts.MaxMember) }
	explainMembers(ctx, e, keys, read(a), read(b), opts, depth)
}

// compareMembers reports members in one archive only, order, and metadata
// differences, and returns the keys of members whose contents differ.
func compareMembers(e *expl, la, lb []member) map[string]bool {
	ka, kb := keyMembers(la), keyMembers(lb)
	changed := map[string]bool{}
	addMember := func(d FileDiff) {
		if len(e.members) < maxMemberDiffs {
			e.members = append(e.members, d)
		} else {
			e.truncated = true
		}
	}
	entry := func(m *member) *Entry {
		e := &Entry{Type: "file", Size: m.size, SHA256: m.sum, Mode: m.mode.String()}
		if crc, ok := strings.CutPrefix(m.sum, "crc32:"); ok {
			e.SHA256, e.CRC32 = "", crc
		}
		return e
	}
	for _, m := range la {
		if kb[m.key] == nil {
			addMember(FileDiff{Path: m.key, Kind: Missing, Want: entry(ka[m.key])})
		}
	}
	for _, m := range lb {
		if ka[m.key] == nil {
			addMember(FileDiff{Path: m.key, Kind: Extra, Got: entry(kb[m.key])})
		}
	}
	// Order of the members common to both.
	var oa, ob []string
	for _, m := range la {
		if kb[m.key] != nil {
			oa = append(oa, m.key)
		}
	}
	for _, m := range lb {
		if ka[m.key] != nil {
			ob = append(ob, m.key)
		}
	}
	for i := range oa {
		if oa[i] != ob[i] {
			e.detail("member order differs: at position %d want has %s, got has %s", i, oa[i], ob[i])
			e.hint(CauseArchiveOrder, "archive member order differs: sort the members by name when packing (tar --sort=name, or sort the file list)")
			break
		}
	}
	var nMtime, nOwner, nMode, nExtra int
	var exMtime, exOwner, exMode, exExtra string
	for _, k := range oa {
		x, y := ka[k], kb[k]
		if !x.mtime.Equal(y.mtime) {
			if nMtime++; nMtime == 1 {
				exMtime = fmt.Sprintf("%s: want %s, got %s", k, x.mtime.UTC().Format(time.RFC3339), y.mtime.UTC().Format(time.RFC3339))
			}
		}
		if x.uid != y.uid || x.gid != y.gid || x.owner != y.owner {
			if nOwner++; nOwner == 1 {
				exOwner = fmt.Sprintf("%s: want %s, got %s", k, x.ownerString(), y.ownerString())
			}
		}
		if x.mode != y.mode {
			if nMode++; nMode == 1 {
				exMode = fmt.Sprintf("%s: want %s, got %s", k, x.mode, y.mode)
			}
		}
		if x.typ != y.typ || x.link != y.link {
			e.detail("member %s: type or link target differs: want %q -> %q, got %q -> %q", k, x.typ, x.link, y.typ, y.link)
		}
		if x.zipMethod != y.zipMethod {
			e.detail("member %s: compression method differs: want %d, got %d", k, x.zipMethod, y.zipMethod)
		}
		if x.zipExtra != y.zipExtra {
			if nExtra++; nExtra == 1 {
				exExtra = k
			}
		}
		if x.zipComment != y.zipComment {
			e.detail("member %s: comment differs", k)
		}
		if x.sum != y.sum || x.size != y.size {
			changed[k] = true
			w := []string{WhatContent}
			if x.mode != y.mode {
				w = append(w, WhatMode)
			}
			addMember(FileDiff{Path: k, Kind: Changed, What: w, Want: entry(x), Got: entry(y)})
		}
	}
	if nMtime > 0 {
		e.detail("%d members' mtimes differ, e.g. %s", nMtime, exMtime)
		e.hint(CauseArchiveMtime, "archive member mtimes differ: set SOURCE_DATE_EPOCH and clamp mtimes to it when packing (tar --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime)")
	}
	if nOwner > 0 {
		e.detail("%d members' owners differ, e.g. %s", nOwner, exOwner)
		e.hint(CauseArchiveOwner, "archive member owners differ: pack with fixed owners (tar --owner=0 --group=0 --numeric-owner)")
	}
	if nExtra > 0 {
		e.detail("%d members' zip extra fields differ (often extended timestamps or uid/gid), e.g. %s", nExtra, exExtra)
	}
	if nMode > 0 {
		e.detail("%d members' modes differ, e.g. %s", nMode, exMode)
		e.hint(CauseArchiveMode, "archive member modes differ: the umask or checkout differed; normalise modes when packing (tar --mode=go-w)")
	}
	if len(changed) == 0 && len(la) == len(lb) && nMtime+nOwner+nMode == 0 && len(e.details) == 0 {
		e.detail("all members are the same: the archives differ in headers or padding only")
	}
	return changed
}

// toRead picks the changed members to read and explain: the first
// maxMemberExplains listed, none past maxDepth.
func toRead(e *expl, changed map[string]bool, depth int) map[string]bool {
	keys := map[string]bool{}
	for i := range e.members {
		m := &e.members[i]
		if m.Kind != Changed || !changed[m.Path] {
			continue
		}
		if depth+1 >= maxDepth || len(keys) >= maxMemberExplains {
			m.Details = append(m.Details, "not explained: too deep or too many members")
			continue
		}
		keys[m.Path] = true
	}
	return keys
}

// explainMembers explains the members named in keys, given their contents
// read from both archives. Nested explanations get a quarter of the
// member size limit, so that nesting does not multiply memory.
func explainMembers(ctx context.Context, e *expl, keys map[string]bool, ca, cb map[string][]byte, opts Options, depth int) {
	for i := range e.members {
		m := &e.members[i]
		if !keys[m.Path] {
			continue
		}
		x, okx := ca[m.Path]
		y, oky := cb[m.Path]
		if !okx || !oky {
			m.Details = append(m.Details, fmt.Sprintf("not explained: over %d bytes or unreadable", opts.MaxMember))
			continue
		}
		sub := newExpl(max(opts.MaxExplain/4, 1024))
		sopts := opts
		sopts.MaxMember = max(opts.MaxMember/4, 1)
		explain(ctx, sub, bytes.NewReader(x), bytes.NewReader(y), sopts, depth+1)
		sub.into(m)
		for _, h := range sub.hints {
			e.hint(h.Cause, "member %s: %s", m.Path, h.Text)
		}
	}
}

func explainGzip(ctx context.Context, e *expl, a, b blob, opts Options, depth int) {
	za, err := gzip.NewReader(io.NewSectionReader(a, 0, a.Size()))
	if err != nil {
		e.detail("gzip: want: %v", err)
		return
	}
	zb, err := gzip.NewReader(io.NewSectionReader(b, 0, b.Size()))
	if err != nil {
		e.detail("gzip: got: %v", err)
		return
	}
	ha, hb := za.Header, zb.Header
	if !ha.ModTime.Equal(hb.ModTime) {
		e.detail("gzip header mtime differs: want %s, got %s", ha.ModTime.UTC().Format(time.RFC3339), hb.ModTime.UTC().Format(time.RFC3339))
		e.hint(CauseTimestamp, "the gzip header records a time (%s apart): compress with gzip -n, or set the header mtime to zero or SOURCE_DATE_EPOCH", absDur(hb.ModTime.Unix()-ha.ModTime.Unix()))
	}
	if ha.Name != hb.Name {
		e.detail("gzip header name differs: want %q, got %q", ha.Name, hb.Name)
	}
	if ha.OS != hb.OS {
		e.detail("gzip header OS differs: want %d, got %d", ha.OS, hb.OS)
	}
	if ha.Comment != hb.Comment || !bytes.Equal(ha.Extra, hb.Extra) {
		e.detail("gzip header comment or extra field differs")
	}
	za.Multistream(false)
	zb.Multistream(false)
	da, erra := io.ReadAll(io.LimitReader(za, opts.MaxMember+1))
	db, errb := io.ReadAll(io.LimitReader(zb, opts.MaxMember+1))
	switch {
	case erra != nil || errb != nil:
		e.detail("gzip: decompressing: want: %v, got: %v", erra, errb)
		return
	case int64(len(da)) > opts.MaxMember || int64(len(db)) > opts.MaxMember:
		e.detail("gzip: decompressed contents over %d bytes: not explained", opts.MaxMember)
		return
	case bytes.Equal(da, db):
		e.detail("the decompressed contents are identical: only the gzip wrapper differs (header, compressor or level)")
		return
	}
	m := FileDiff{Path: "(decompressed)", Kind: Changed, What: []string{WhatContent},
		Want: &Entry{Type: "file", Size: int64(len(da)), SHA256: sum(da)}, Got: &Entry{Type: "file", Size: int64(len(db)), SHA256: sum(db)}}
	if depth+1 < maxDepth {
		sub := newExpl(max(opts.MaxExplain/2, 1024))
		sopts := opts
		sopts.MaxMember = max(opts.MaxMember/4, 1)
		explain(ctx, sub, bytes.NewReader(da), bytes.NewReader(db), sopts, depth+1)
		sub.into(&m)
		for _, h := range sub.hints {
			e.hint(h.Cause, "%s", h.Text)
		}
	}
	e.members = append(e.members, m)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
