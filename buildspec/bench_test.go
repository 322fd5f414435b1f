package buildspec

import (
	"strconv"
	"strings"
	"testing"
)

// bigSpec is a spec near the limits: 100 steps, each reading the one
// before, 1000 outputs sharing prefixes, close to 1 MiB.
func bigSpec() []byte {
	var b strings.Builder
	b.WriteString(header + "steps:\n")
	for i := range MaxSteps {
		b.WriteString("  - name: s" + strconv.Itoa(i) + "\n    toolchain: go\n    run: [sh, -c, '" + strings.Repeat("x", 8000) + "']\n")
		if i > 0 {
			b.WriteString("    inputs: [{source: true}, {step: s" + strconv.Itoa(i-1) + "}]\n")
		}
		b.WriteString("    outputs:\n")
		for j := range MaxOutputs / MaxSteps {
			b.WriteString("      - out/s" + strconv.Itoa(i) + "/" + strings.Repeat("a", j+1) + "\n")
		}
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	data := bigSpec()
	if len(data) > MaxSize {
		b.Fatalf("%d bytes", len(data))
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
