package repro

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tree writes files (path -> contents; "->target" makes a symlink) under a
// new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		abs := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(c, "->"); ok {
			if err := os.Symlink(target, abs); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(abs, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCompareTrees(t *testing.T) {
	base := map[string]string{"a.txt": "one\n", "sub/b.bin": "\x00\x01\x02", "link": "->a.txt"}
	with := func(edits map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range edits {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		got   map[string]string
		chmod string   // path made executable in got
		want  []string // "path kind what,..."
	}{
		{name: "equal", got: base},
		{name: "missing", got: with(map[string]string{"sub/b.bin": ""}), want: []string{"sub/b.bin missing "}},
		{name: "extra", got: with(map[string]string{"c": "x"}), want: []string{"c extra "}},
		{name: "content", got: with(map[string]string{"a.txt": "two\n"}), want: []string{"a.txt changed content"}},
		{name: "mode", got: base, chmod: "a.txt", want: []string{"a.txt changed mode"}},
		{name: "target", got: with(map[string]string{"link": "->sub/b.bin"}), want: []string{"link changed target"}},
		{name: "type", got: with(map[string]string{"link": "a file"}), want: []string{"link changed type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, got := tree(t, base), tree(t, tc.got)
			if tc.chmod != "" {
				if err := os.Chmod(filepath.Join(got, tc.chmod), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := Compare(context.Background(), want, got, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var have []string
			for _, d := range rep.Diffs {
				have = append(have, d.Path+" "+d.Kind+" "+strings.Join(d.What, ","))
			}
			if !reflect.DeepEqual(have, tc.want) {
				t.Errorf("diffs %q, want %q", have, tc.want)
			}
			if rep.Equal != (len(tc.want) == 0) {
				t.Errorf("Equal = %v", rep.Equal)
			}
		})
	}
}

func TestCompareFiles(t *testing.T) {
	dir := tree(t, map[string]string{"a/x": "same", "b/x": "same", "c/y": "different"})
	rep, err := Compare(context.Background(), filepath.Join(dir, "a/x"), filepath.Join(dir, "b/x"), Options{})
	if err != nil || !rep.Equal || rep.Files != 1 {
		t.Fatalf("identical files: %+v, %v", rep, err)
	}
	rep, err = Compare(context.Background(), filepath.Join(dir, "a/x"), filepath.Join(dir, "c/y"), Options{})
	if err != nil || rep.Equal || rep.Diffs[0].Path != "." {
		t.Fatalf("differing files: %+v, %v", rep, err)
	}
	if _, err := Compare(context.Background(), filepath.Join(dir, "a/x"), dir, Options{}); err == nil {
		t.Error("a file against a directory: no error")
	}
	if _, err := Compare(context.Background(), filepath.Join(dir, "nope"), dir, Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}
	if _, err := Compare(context.Background(), dir, dir, Options{MaxFiles: 2}); !errors.Is(err, ErrTooManyFiles) {
		t.Errorf("over MaxFiles: %v", err)
	}
}

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestCompareDigests(t *testing.T) {
	got := tree(t, map[string]string{"bin/app": "new contents\n", "lib.a": "lib", "notes": "unlisted", "out": "->/etc"})
	orig := tree(t, map[string]string{"app": "old contents\n"})
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		subjects []Subject
		equal    bool
		err      string
		check    func(t *testing.T, d []FileDiff)
	}{
		{name: "match", subjects: []Subject{{Path: "lib.a", SHA256: hexSum("lib")}}, equal: true},
		{name: "missing", subjects: []Subject{{Path: "gone", SHA256: hexSum("x")}},
			check: func(t *testing.T, d []FileDiff) {
				if d[0].Kind != Missing {
					t.Errorf("kind %s", d[0].Kind)
				}
			}},
		{name: "named only", subjects: []Subject{{Path: "bin/app", SHA256: hexSum("old contents\n")}},
			check: func(t *testing.T, d []FileDiff) {
				if d[0].Diff != "" || !strings.Contains(d[0].Details[0], "not at hand") {
					t.Errorf("explained without the original: %+v", d[0])
				}
			}},
		{name: "explained", subjects: []Subject{{Path: "bin/app", SHA256: hexSum("old contents\n"), Original: filepath.Join(orig, "app")}},
			check: func(t *testing.T, d []FileDiff) {
				if d[0].Format != "text" || !strings.Contains(d[0].Diff, "-old contents\n+new contents\n") {
					t.Errorf("not explained against the original: %+v", d[0])
				}
			}},
		{name: "wrong original", subjects: []Subject{{Path: "bin/app", SHA256: hexSum("other"), Original: filepath.Join(orig, "app")}},
			check: func(t *testing.T, d []FileDiff) {
				if d[0].Diff != "" || !strings.Contains(d[0].Details[0], "does not match") {
					t.Errorf("used an original that does not match: %+v", d[0])
				}
			}},
		{name: "through a link", subjects: []Subject{{Path: "out/hostname", SHA256: hexSum("x")}}, err: "escapes"},
		{name: "escape", subjects: []Subject{{Path: "../etc/passwd", SHA256: hexSum("x")}}, err: "not a local path"},
		{name: "bad hex", subjects: []Subject{{Path: "lib.a", SHA256: "zz"}}, err: "not 64 hex digits"},
		{name: "twice", subjects: []Subject{{Path: "lib.a", SHA256: hexSum("lib")}, {Path: "lib.a", SHA256: hexSum("lib")}}, err: "named twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := CompareDigests(ctx, tc.subjects, got, Options{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Equal != tc.equal {
				t.Fatalf("Equal = %v; %+v", rep.Equal, rep.Diffs)
			}
			if tc.check != nil {
				tc.check(t, rep.Diffs)
			}
		})
	}
}

func TestCompareDigestsFile(t *testing.T) {
	dir := tree(t, map[string]string{"app": "contents"})
	rep, err := CompareDigests(context.Background(), []Subject{{Path: "whatever-the-provenance-calls-it", SHA256: hexSum("contents")}}, filepath.Join(dir, "app"), Options{})
	if err != nil || !rep.Equal {
		t.Fatalf("single file: %+v, %v", rep, err)
	}
	if _, err := CompareDigests(context.Background(), []Subject{{Path: "a", SHA256: hexSum("")}, {Path: "b", SHA256: hexSum("")}}, filepath.Join(dir, "app"), Options{}); err == nil {
		t.Error("two subjects against one file: no error")
	}
}

type tarMember struct {
	name, body string
	mtime      time.Time
	uid        int
}

func makeTar(t *testing.T, ms []tarMember) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), ModTime: m.mtime, Uid: m.uid, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func makeZip(t *testing.T, ms []tarMember) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range ms {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: m.mtime})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(m.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gz(t *testing.T, data []byte, mtime time.Time) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.ModTime = mtime
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestArchives(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	a := []tarMember{{"a.txt", "alpha\n", t0, 0}, {"b.txt", "line 1\nline 2\nline 3\n", t0, 0}, {"c.txt", "gamma\n", t0, 0}}
	b := []tarMember{{"b.txt", "line 1\nline two\nline 3\n", t0.Add(5 * time.Second), 1000}, {"a.txt", "alpha\n", t0.Add(5 * time.Second), 1000}, {"d.txt", "delta\n", t0, 0}}
	for _, tc := range []struct {
		name       string
		want, got  []byte
		format     string
		causes     []string
		memberDiff string // in the Diff of member b.txt
	}{
		{"tar", makeTar(t, a), makeTar(t, b), "tar", []string{CauseArchiveOrder, CauseArchiveMtime, CauseArchiveOwner}, "-line 2\n+line two\n"},
		{"zip", makeZip(t, a), makeZip(t, b), "zip", []string{CauseArchiveOrder, CauseArchiveMtime}, "-line 2\n+line two\n"},
		{"tar.gz", gz(t, makeTar(t, a), t0), gz(t, makeTar(t, b), t0.Add(time.Hour)), "gzip", []string{CauseTimestamp, CauseArchiveOrder, CauseArchiveMtime}, ""},
		{"zip mtimes only", makeZip(t, a), makeZip(t, []tarMember{{"a.txt", "alpha\n", t0.Add(time.Minute), 0}, a[1], a[2]}), "zip", []string{CauseArchiveMtime}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "want"), tc.want, 0o644)
			os.WriteFile(filepath.Join(dir, "got"), tc.got, 0o644)
			rep, err := Compare(context.Background(), filepath.Join(dir, "want"), filepath.Join(dir, "got"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			rep.Text(&text)
			t.Logf("\n%s", text.String())
			d := &rep.Diffs[0]
			if d.Format != tc.format {
				t.Errorf("format %q, want %q", d.Format, tc.format)
			}
			for _, c := range tc.causes {
				if !hasHint(d, c) {
					t.Errorf("no %s hint", c)
				}
			}
			if tc.memberDiff == "" {
				return
			}
			var kinds []string
			for _, m := range d.Members {
				kinds = append(kinds, m.Path+" "+m.Kind)
				if m.Path == "b.txt" && !strings.Contains(m.Diff, tc.memberDiff) {
					t.Errorf("member b.txt diff %q does not contain %q", m.Diff, tc.memberDiff)
				}
			}
			if w := []string{"c.txt missing", "d.txt extra", "b.txt changed"}; !reflect.DeepEqual(kinds, w) {
				t.Errorf("members %q, want %q", kinds, w)
			}
		})
	}
}

func TestUnified(t *testing.T) {
	for _, tc := range []struct{ name, a, b, want string }{
		{"one line", "a\nb\nc\n", "a\nB\nc\n", "--- want\n+++ got\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"insert", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nnew\n5\n6\n7\n8\n9\n", "--- want\n+++ got\n@@ -2,6 +2,7 @@\n 2\n 3\n 4\n+new\n 5\n 6\n 7\n"},
		{"no newline", "x", "y", "--- want\n+++ got\n@@ -1,1 +1,1 @@\n-x\n\\ No newline at end of file\n+y\n\\ No newline at end of file\n"},
		{"two hunks", "a\n1\n2\n3\n4\n5\n6\n7\n8\nz\n", "A\n1\n2\n3\n4\n5\n6\n7\n8\nZ\n",
			"--- want\n+++ got\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-z\n+Z\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unified(tc.a, tc.b); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	// Bounded: many changes give at most maxHunks hunks.
	var a, b strings.Builder
	for i := 0; i < 1000; i++ {
		a.WriteString("same\nsame\nsame\nsame\nsame\nsame\nsame\nold\n")
		b.WriteString("same\nsame\nsame\nsame\nsame\nsame\nsame\nnew\n")
	}
	u := unified(a.String(), b.String())
	if strings.Count(u, "@@ -") != maxHunks || !strings.Contains(u, "more changed lines not shown") || len(u) > 4096 {
		t.Errorf("unbounded diff: %d hunks, %d bytes", strings.Count(u, "@@ -"), len(u))
	}
}

func TestBinaryTimestamp(t *testing.T) {
	// A little-endian Unix time in a binary header, 3 s apart.
	mk := func(sec uint32) []byte {
		b := bytes.Repeat([]byte{0}, 64)
		b[0], b[1] = 0x7f, 0x01
		b[16], b[17], b[18], b[19] = byte(sec), byte(sec>>8), byte(sec>>16), byte(sec>>24)
		return b
	}
	s := uint32(time.Date(2026, 11, 22, 6, 5, 30, 0, time.UTC).Unix())
	e := newExpl(16 << 10)
	explain(context.Background(), e, bytes.NewReader(mk(s)), bytes.NewReader(mk(s+3)), Options{MaxText: 1 << 20, MaxMember: 1 << 20, MaxExplain: 16 << 10}, 0)
	var d FileDiff
	e.into(&d)
	if h := hintText(&d, CauseTimestamp); !strings.Contains(h, "3s apart") || !strings.Contains(h, "2026-11-22T06:05:30Z") {
		t.Errorf("timestamp hint %q; details %q", h, d.Details)
	}
}

func TestJSONAndText(t *testing.T) {
	want := tree(t, map[string]string{"x.txt": "hello\nworld\n", "gone": "g"})
	got := tree(t, map[string]string{"x.txt": "hello\nthere\n"})
	rep, err := Compare(context.Background(), want, got, Options{})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"want":`, `"got":`, `"equal":false`, `"files":2`, `"diffs":`, `"path":"gone"`, `"kind":"missing"`,
		`"what":["content"]`, `"sha256":"`, `"format":"text"`, `"diff":"--- want`} {
		if !bytes.Contains(js, []byte(field)) {
			t.Errorf("JSON lacks %s: %s", field, js)
		}
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(&back, rep) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, back, rep)
	}
	var text strings.Builder
	if err := rep.Text(&text); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"not reproducible: 2 of 2 files differ", "missing gone\n", "changed (content) x.txt [text]\n", "  | -world\n", "  | +there\n"} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("text lacks %q:\n%s", line, text.String())
		}
	}
}

// TestDiffoscope runs the real diffoscope when it is installed and working,
// and checks that a missing or broken one leaves the built-in explanation.
func TestDiffoscope(t *testing.T) {
	want := tree(t, map[string]string{"f": "one\ntwo\n"})
	got := tree(t, map[string]string{"f": "one\nthree\n"})
	rep, err := Compare(context.Background(), want, got, Options{Diffoscope: true, DiffoscopeTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Diffs[0]
	if !strings.Contains(d.Diff, "+three") {
		t.Errorf("no built-in explanation: %+v", d)
	}
	bin, err := exec.LookPath("diffoscope")
	if err != nil {
		if !strings.Contains(strings.Join(d.Details, "\n"), "not on PATH") {
			t.Errorf("missing diffoscope not noted: %q", d.Details)
		}
		t.Skip("diffoscope is not installed")
	}
	if exec.Command(bin, "--version").Run() != nil {
		if !strings.Contains(strings.Join(d.Details, "\n"), "diffoscope: exit status") {
			t.Errorf("broken diffoscope not noted: %q", d.Details)
		}
		t.Skip("diffoscope is installed but fails (diffoscope --version)")
	}
	if !strings.Contains(d.Diffoscope, "three") {
		t.Errorf("diffoscope output %q", d.Diffoscope)
	}
	rep, err = Compare(context.Background(), want, got, Options{Diffoscope: true, DiffoscopeTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Diffs[0]; d.Diffoscope != "" || !strings.Contains(strings.Join(d.Details, "\n"), "diffoscope: stopped after 1ms") || d.Diff == "" {
		t.Errorf("diffoscope timeout: %+v", d)
	}
}

func TestCanceled(t *testing.T) {
	dir := tree(t, map[string]string{"a": "1"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Compare(ctx, dir, dir, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

func FuzzExplain(f *testing.F) {
	t0 := time.Unix(1763791530, 0)
	f.Add([]byte("a\nb\n"), []byte("a\nc\n"))
	f.Add([]byte("\x7fELF\x02\x01\x01"), []byte("\x7fELF\x02\x01\x02"))
	f.Add([]byte("MZ"), []byte("MZ\x00"))
	f.Add(gz(&testing.T{}, []byte("x"), t0), gz(&testing.T{}, []byte("y"), t0.Add(time.Second)))
	f.Add(makeTar(&testing.T{}, []tarMember{{"a", "1", t0, 0}}), makeTar(&testing.T{}, []tarMember{{"a", "2", t0, 1}}))
	f.Add(makeZip(&testing.T{}, []tarMember{{"a", "1", t0, 0}}), makeZip(&testing.T{}, []tarMember{{"b", "1", t0, 0}}))
	if elf, err := os.ReadFile("/bin/true"); err == nil && len(elf) < 1<<20 {
		f.Add(elf[:min(len(elf), 4096)], elf[:min(len(elf), 4000)])
	}
	recoverPanics = false
	f.Fuzz(func(t *testing.T, a, b []byte) {
		opts := Options{}
		opts.fill()
		opts.MaxMember = 1 << 20
		e := newExpl(opts.MaxExplain)
		explain(context.Background(), e, bytes.NewReader(a), bytes.NewReader(b), opts, 0)
		var d FileDiff
		e.into(&d)
		if n := len(d.Diff) + len(strings.Join(d.Details, "")); n > 2*opts.MaxExplain {
			t.Errorf("explanation of %d bytes", n)
		}
	})
}

func FuzzUnified(f *testing.F) {
	f.Add("a\nb\n", "a\nc\n")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		u := unified(a, b)
		if !strings.HasPrefix(u, "--- want\n+++ got\n") {
			t.Errorf("no header: %q", u)
		}
	})
}

// TestJSONGolden pins the JSON field names the attestation relies on.
func TestJSONGolden(t *testing.T) {
	rep := &Report{Want: "want", Got: "got", Files: 3, Diffs: []FileDiff{
		{Path: "gone", Kind: Missing, Want: &Entry{Type: "file", Size: 1, SHA256: hexSum("g"), Mode: "-rw-r--r--"}},
		{Path: "link", Kind: Changed, What: []string{WhatTarget}, Want: &Entry{Type: "symlink", Target: "a"}, Got: &Entry{Type: "symlink", Target: "b"}},
		{Path: "app.zip", Kind: Changed, What: []string{WhatContent}, Want: &Entry{Type: "file", Size: 10}, Got: &Entry{Type: "file", Size: 11},
			Format: "zip", Details: []string{"1 members' mtimes differ"}, Hints: []Hint{{Cause: CauseArchiveMtime, Text: "archive member mtimes differ"}},
			Members: []FileDiff{{Path: "a.txt", Kind: Changed, What: []string{WhatContent}, Want: &Entry{Type: "file", CRC32: "0000beef"}, Got: &Entry{Type: "file", CRC32: "0000cafe"},
				Format: "text", Diff: "--- want\n+++ got\n"}},
			Diffoscope: "--- want\n+++ got\n", Truncated: true},
	}}
	got, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const golden = "testdata/report.golden.json"
	if os.Getenv("REPRO_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("JSON changed; if on purpose, rerun with REPRO_UPDATE_GOLDEN=1\ngot:\n%s", got)
	}
}

// TestTextEscapes checks that names from the trees cannot forge lines or
// send terminal escapes through Report.Text.
func TestTextEscapes(t *testing.T) {
	name := "x\nhint: all is well\x1b[2J"
	want := tree(t, map[string]string{name: "1\n"})
	got := tree(t, map[string]string{name: "2\n"})
	rep, err := Compare(context.Background(), want, got, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.Text(&text)
	out := text.String()
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\nhint: all is well") || !strings.Contains(out, `x\x0ahint: all is well\x1b[2J`) {
		t.Errorf("control characters not escaped:\n%s", out)
	}
}

func TestBounds(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	var a, b []tarMember
	for i := 0; i < 300; i++ {
		name := strings.Repeat("d/", 3) + string(rune('a'+i%26)) + "-" + time.Duration(i).String()
		a = append(a, tarMember{name, "old\n", t0, 0})
		b = append(b, tarMember{name, "new\n", t0, 0})
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "want"), makeTar(t, a), 0o644)
	os.WriteFile(filepath.Join(dir, "got"), makeTar(t, b), 0o644)
	rep, err := Compare(context.Background(), filepath.Join(dir, "want"), filepath.Join(dir, "got"), Options{MaxExplain: 2048})
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Diffs[0]
	if len(d.Members) != maxMemberDiffs || !d.Truncated {
		t.Errorf("%d members, truncated %v; want %d, true", len(d.Members), d.Truncated, maxMemberDiffs)
	}
	explained := 0
	for _, m := range d.Members {
		if m.Diff != "" {
			explained++
		}
	}
	if explained != maxMemberExplains {
		t.Errorf("%d members explained, want %d", explained, maxMemberExplains)
	}
	js, _ := json.Marshal(rep)
	if len(js) > 64<<10 {
		t.Errorf("report of %d bytes for 300 changed members", len(js))
	}

	// A tiny budget cuts the explanation and says so.
	want := tree(t, map[string]string{"f": strings.Repeat("line\n", 100)})
	got := tree(t, map[string]string{"f": strings.Repeat("LINE\n", 100)})
	rep, err = Compare(context.Background(), want, got, Options{MaxExplain: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Diffs[0]; !d.Truncated || len(d.Diff) > 100 {
		t.Errorf("not cut: truncated %v, diff of %d bytes", d.Truncated, len(d.Diff))
	}
}
