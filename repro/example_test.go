package repro_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hallmark-dev/hallmark/repro"
)

// Two builds of a generated file that records when it was made.
func ExampleCompare() {
	dir, err := os.MkdirTemp("", "repro-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "want.txt"), []byte("package version\nconst Built = \"2026-11-22T06:05:30Z\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "got.txt"), []byte("package version\nconst Built = \"2026-11-22T06:05:33Z\"\n"), 0o644)

	rep, err := repro.Compare(context.Background(), filepath.Join(dir, "want.txt"), filepath.Join(dir, "got.txt"), repro.Options{})
	if err != nil {
		panic(err)
	}
	d := rep.Diffs[0]
	fmt.Println(rep.Equal, d.Kind, d.Format)
	fmt.Print(d.Diff)
	for _, h := range d.Hints {
		fmt.Println(h.Cause+":", h.Text)
	}
	// Output:
	// false changed text
	// --- want
	// +++ got
	// @@ -1,2 +1,2 @@
	//  package version
	// -const Built = "2026-11-22T06:05:30Z"
	// +const Built = "2026-11-22T06:05:33Z"
	// timestamp: the build embeds a timestamp: the two files differ in 1 byte at 0x31 that decode as times 3s apart (2026-11-22T06:05:30Z and 2026-11-22T06:05:33Z): set SOURCE_DATE_EPOCH or drop the time from the build
}
