package builder

import (
	"strings"
	"testing"
)

func TestParseGoSum(t *testing.T) {
	const h = "h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM="
	for _, tc := range []struct {
		name, in, err string
		n             int
	}{
		{"ok", "golang.org/x/text v0.3.0 " + h + "\ngolang.org/x/text v0.3.0/go.mod " + h + "\n\n", "", 2},
		{"crlf", "golang.org/x/text v0.3.0 " + h + "\r\n", "", 1},
		{"fields", "golang.org/x/text v0.3.0\n", "go.sum:1: not", 0},
		{"hash", "golang.org/x/text v0.3.0 h2:abc\n", "go.sum:1: \"h2:abc\" is not an h1 hash", 0},
		{"short", "golang.org/x/text v0.3.0 h1:AAAA\n", "is not an h1 hash", 0},
		{"path", "../../etc v0.3.0 " + h + "\n", "go.sum:1: malformed module path", 0},
		{"version", "golang.org/x/text latest " + h + "\n", "go.sum:1:", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := parseGoSum("go.sum", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || len(ls) != tc.n {
				t.Fatalf("got %v %v", ls, err)
			}
		})
	}
}

func FuzzParseGoSum(f *testing.F) {
	f.Add([]byte("golang.org/x/text v0.3.0 h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=\n"))
	f.Add([]byte("a b c\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ls, err := parseGoSum("go.sum", b)
		if err != nil {
			return
		}
		for _, l := range ls {
			if !strings.HasPrefix(l.H1, "h1:") || l.Path == "" || l.Line < 1 {
				t.Fatalf("accepted %+v", l)
			}
		}
	})
}
