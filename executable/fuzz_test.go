package executable

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"slices"
	"testing"
)

func seeds(f *testing.F) {
	for _, s := range [][]byte{
		nil, []byte("MZ"), []byte("#!/bin/sh\n"), []byte("param()\n"), []byte("\x00asm\x01\x00\x00\x00"),
		[]byte("\x7fELF\x02\x01\x01\x00"), {0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2}, {0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 61},
		{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}, []byte("MSCF\x00\x00\x00\x00"), cfbMagic,
		[]byte("!<arch>\n//                                              8         `\nlong.sh/\n/0              0           0     0     644     10        `\n#!/bin/sh\n"),
		[]byte("!<arch>\n#1/4            0           0     0     644     14        `\nx.sh#!/bin/sh\n"),
	} {
		f.Add(s)
	}
	for _, p := range []string{"testdata/tiny.msi", "testdata/tiny.cab"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "x", Size: 10, Mode: 0o755})
	tw.Write([]byte("#!/bin/sh\n"))
	tw.Close()
	f.Add(tb.Bytes())
	var gb bytes.Buffer
	gz := gzip.NewWriter(&gb)
	gz.Write(tb.Bytes())
	gz.Close()
	f.Add(gb.Bytes())
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("a.class")
	w.Write([]byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 61})
	w, _ = zw.Create("inner.tar")
	w.Write(tb.Bytes())
	zw.Close()
	f.Add(zb.Bytes())
}

// FuzzDetect: any input gives a known Kind or none, never a panic or an error
// (the reader cannot fail).
func FuzzDetect(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		info, ok, err := Detect(bytes.NewReader(b), int64(len(b)), "x")
		if err != nil {
			t.Fatalf("error from an in-memory reader: %v", err)
		}
		if ok != (info.Kind != "") || ok && !slices.Contains(Kinds, info.Kind) {
			t.Fatalf("ok=%v kind %q", ok, info.Kind)
		}
	})
}

// FuzzWalkArchive: the archive walker on hostile bytes, with small limits.
func FuzzWalkArchive(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		w := &walker{ctx: context.Background(), opts: Options{MaxDepth: 3, MaxMemberSize: 1 << 20,
			MaxTotal: 4 << 20, MaxMembers: 100, MemoryMember: 64 << 10, TempDir: t.TempDir()}.withDefaults()}
		w.budget = w.opts.MaxTotal
		w.scan(bytes.NewReader(b), int64(len(b)), []string{"f"}, 0)
		for _, fd := range w.found {
			if len(fd.Parts) == 0 || len(fd.Parts) > 4 {
				t.Fatalf("parts %q", fd.Parts)
			}
		}
	})
}
