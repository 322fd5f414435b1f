package yamlnode

import (
	"strings"
	"testing"
)

func TestDocumentAndFields(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		strict    bool
		want      string // error text, "" for none
	}{
		{"ok", "a: 1\nb: [x]\n", true, ""},
		{"empty", "", true, "file is empty"},
		{"two documents", "a: 1\n---\nb: 2\n", true, "line 2, column 1: a second YAML document"},
		{"unknown key", "a: 1\nc: 2\n", true, `line 2, column 1: top: unknown key "c" (known: a, b)`},
		{"repeated key", "a: 1\na: 2\n", true, `line 2, column 1: top: key "a" is given twice (first at line 1)`},
		{"alias", "a: &x 1\nb: *x\n", true, "line 2, column 4: top.b: YAML aliases are not allowed"},
		{"integer key, strict", "1: x\n", true, "top: a key must be a string, have int 1"},
		{"integer key, lax", "1: x\n", false, `top: unknown key "1"`},
		{"not UTF-8", "a: \xff\n", true, "not valid UTF-8"},
		{"too large", strings.Repeat("#", 101), true, "more than the limit of 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := func() error {
				root, err := Document([]byte(tc.doc), 100)
				if err != nil {
					return err
				}
				fs, err := Reader{StringKeys: tc.strict}.Fields(root, "top", "a", "b")
				if err != nil {
					return err
				}
				for _, f := range fs {
					if f.Name == "b" {
						if _, err := List(f.Val, "top.b", 1); err != nil {
							return err
						}
					}
				}
				return nil
			}()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
