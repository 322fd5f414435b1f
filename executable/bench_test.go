package executable_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/executable"
)

// BenchmarkWalk walks a tree of 1,000 files shaped like a build's output:
// 900 text files of 4 KiB, 50 copies of an ELF (this test binary's first
// 256 KiB), 40 shell scripts and 10 tar.gz archives of 10 members each.
func BenchmarkWalk(b *testing.B) {
	root := b.TempDir()
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		b.Fatal(err)
	}
	elf := self[:min(len(self), 256<<10)]
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog\n", 4096/44))
	var ms []member
	for i := range 10 {
		ms = append(ms, member{name: fmt.Sprintf("pkg/f%d", i), data: text})
	}
	ms[0].data = sh
	tgz := gzipOf(b, tarMembers(b, ms...))
	write := func(p string, data []byte) {
		full := filepath.Join(root, p)
		must(b, os.MkdirAll(filepath.Dir(full), 0o755))
		must(b, os.WriteFile(full, data, 0o644))
	}
	for i := range 1000 {
		dir := fmt.Sprintf("d%02d", i%37)
		switch {
		case i < 900:
			write(fmt.Sprintf("%s/doc%d.txt", dir, i), text)
		case i < 950:
			write(fmt.Sprintf("%s/bin%d", dir, i), elf)
		case i < 990:
			write(fmt.Sprintf("%s/run%d.sh", dir, i), sh)
		default:
			write(fmt.Sprintf("%s/pkg%d.tar.gz", dir, i), tgz)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		found, err := executable.Walk(context.Background(), root, executable.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(found) != 100 {
			b.Fatalf("found %d, want 100", len(found))
		}
	}
}
