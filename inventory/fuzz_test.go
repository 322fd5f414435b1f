package inventory

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzSniff(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Add(peHeader(0x80, 0x100))
	f.Add(fatHeader(0xcafebabe, 2, 0x40, 0x10, 0x80))
	f.Add(fatHeader(0xcafebabf, 1, 0x40, 0x10, 0x80))
	f.Add([]byte{0xcf, 0xfa, 0xed, 0xfe})
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, data []byte) {
		format := sniff(bytes.NewReader(data), int64(len(data)))
		switch format {
		case "", "elf", "pe", "macho":
		default:
			t.Fatalf("sniff = %q", format)
		}
		if format != "" && len(data) < 4 {
			t.Fatalf("sniff = %q for %d bytes", format, len(data))
		}
		// Build information of whatever sniff accepts: errors, no panics.
		if format != "" {
			readBuildInfo(bytes.NewReader(data))
		}
	})
}

func FuzzParseGoSum(f *testing.F) {
	f.Add([]byte("a.com/x v1.0.0 " + h1 + "\na.com/x v1.0.0/go.mod " + h1 + "\n"))
	f.Add([]byte("bad line\r\n\n x y h1:====\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sums, ws := parseGoSum("go.sum", data)
		n := 0
		for _, line := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(line) != "" {
				n++
			}
		}
		if len(ws) > n || len(sums) > n {
			t.Fatalf("%d sums and %d warnings from %d lines", len(sums), len(ws), n)
		}
		for _, w := range ws {
			if w.Line < 1 || w.Path != "go.sum" {
				t.Fatalf("warning %v", w)
			}
		}
	})
}

func FuzzParseGoMod(f *testing.F) {
	f.Add([]byte("module example.com/app\n\ngo 1.22.0\n\ntoolchain go1.23.1\n\nrequire example.com/a v1.0.0 // indirect\n\nreplace example.com/a => ./a\n"), []byte("example.com/a v1.0.0 "+h1+"\n"))
	f.Add([]byte("module m\nrequire (\n\tx.com/y v0.0.0-20240102030405-abcdefabcdef\n)\nexclude x.com/y v1.0.0\n"), []byte(nil))
	f.Fuzz(func(t *testing.T, mod, sum []byte) {
		m, err := parseGoMod("go.mod", mod, "go.sum", sum)
		if err != nil {
			return
		}
		for _, c := range m.components {
			if c.PURL == "" || !strings.HasPrefix(c.PURL, "pkg:golang/") || c.Ecosystem != Go {
				t.Fatalf("component %+v", c)
			}
		}
	})
}
