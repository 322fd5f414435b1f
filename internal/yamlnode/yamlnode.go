// Package yamlnode reads Hallmark's own YAML file formats (the policy file,
// the build spec) strictly, as a tree of yaml.Node values, so that their
// parsers can refuse what a struct decoder lets through and name the line
// of every error: a second document, aliases, keys given twice, unknown
// keys, and values of the wrong type.
//
// Errors are *Error values with the line, column and key path of the node
// at fault; each format's package turns them into its own error type (see
// policy.ParseError, buildspec.Error), whose text adds the package's name.
package yamlnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Error is a problem at a place in the document.
type Error struct {
	Line, Column int    // 1-based; 0 when the error is about the whole file
	Path         string // key path such as "steps.build.outputs[0]"; "" for the whole file
	Err          error
}

func (e *Error) Error() string {
	s := ""
	if e.Line > 0 {
		s += "line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ": "
	}
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error at node n.
func Errorf(n *yaml.Node, path, format string, args ...any) error {
	return &Error{Line: n.Line, Column: n.Column, Path: path, Err: fmt.Errorf(format, args...)}
}

// Document parses data, at most maxSize bytes of UTF-8 holding exactly one
// YAML document, and returns the document's root node.
func Document(data []byte, maxSize int) (*yaml.Node, error) {
	if len(data) > maxSize {
		return nil, &Error{Err: fmt.Errorf("file is %d bytes, more than the limit of %d", len(data), maxSize)}
	}
	if !utf8.Valid(data) {
		return nil, &Error{Err: errors.New("file is not valid UTF-8")}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &Error{Err: errors.New("file is empty")}
		}
		return nil, &Error{Err: err}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		return nil, &Error{Err: err}
	default:
		return nil, &Error{Line: extra.Line, Column: extra.Column, Err: errors.New("a second YAML document: the file must hold one")}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Err: errors.New("file is not one YAML document")}
	}
	return doc.Content[0], nil
}

// Field is one key of a mapping and its value.
type Field struct {
	Name     string
	Key, Val *yaml.Node
}

// Reader reads mappings: with StringKeys, every key must be a string;
// without, any scalar but null.
type Reader struct{ StringKeys bool }

// Entries returns the keys of mapping n in order, refusing aliases, keys
// that are not scalars (or are null, or, with StringKeys, are not strings)
// and keys given twice.
func (r Reader) Entries(n *yaml.Node, path string) ([]Field, error) {
	stringKeys := r.StringKeys
	if err := NoAlias(n, path); err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, Errorf(n, path, "want a mapping, have %s", Describe(n))
	}
	fs := make([]Field, 0, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if err := NoAlias(k, path); err != nil {
			return nil, err
		}
		switch {
		case stringKeys && (k.Kind != yaml.ScalarNode || k.Tag != "!!str"):
			return nil, Errorf(k, path, "a key must be a string, have %s", Describe(k))
		case k.Kind != yaml.ScalarNode || k.Tag == "!!null":
			return nil, Errorf(k, path, "a key must be a scalar, have %s", Describe(k))
		}
		if line, ok := seen[k.Value]; ok {
			return nil, Errorf(k, path, "key %q is given twice (first at line %d)", Clip(k.Value), line)
		}
		seen[k.Value] = k.Line
		fs = append(fs, Field{k.Value, k, v})
	}
	return fs, nil
}

// Fields is Entries for a mapping of fixed keys: any other key is an error
// that lists the known ones.
func (r Reader) Fields(n *yaml.Node, path string, known ...string) ([]Field, error) {
	fs, err := r.Entries(n, path)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if !slices.Contains(known, f.Name) {
			return nil, Errorf(f.Key, path, "unknown key %q (known: %s)", Clip(f.Name), strings.Join(known, ", "))
		}
	}
	return fs, nil
}

// NoAlias refuses an alias node: aliases let a small file expand into a
// large tree, and make one value appear in two places.
func NoAlias(n *yaml.Node, path string) error {
	if n.Kind == yaml.AliasNode {
		return Errorf(n, path, "YAML aliases are not allowed")
	}
	return nil
}

// Describe names what n is, for "want X, have Y" errors.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("string %q", Clip(n.Value))
		}
		return fmt.Sprintf("%s %s", strings.TrimPrefix(n.Tag, "!!"), Clip(n.Value))
	}
	return "nothing"
}

// Clip shortens s to 64 bytes (on a rune boundary) for an error message.
func Clip(s string) string {
	if len(s) > 64 {
		i := 64
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "..."
	}
	return s
}

// String reads a string scalar.
func String(n *yaml.Node, path string) (string, error) {
	if err := NoAlias(n, path); err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", Errorf(n, path, "want a string, have %s", Describe(n))
	}
	return n.Value, nil
}

// Bool reads true or false.
func Bool(n *yaml.Node, path string) (bool, error) {
	if err := NoAlias(n, path); err != nil {
		return false, err
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, Errorf(n, path, "want true or false, have %s", Describe(n))
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, Errorf(n, path, "%v", err)
	}
	return b, nil
}

// Int reads an integer.
func Int(n *yaml.Node, path string) (int, error) {
	if err := NoAlias(n, path); err != nil {
		return 0, err
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, Errorf(n, path, "want an integer, have %s", Describe(n))
	}
	var i int
	if err := n.Decode(&i); err != nil {
		return 0, Errorf(n, path, "%v", err)
	}
	return i, nil
}

// List reads a sequence of at most limit entries.
func List(n *yaml.Node, path string, limit int) ([]*yaml.Node, error) {
	if err := NoAlias(n, path); err != nil {
		return nil, err
	}
	if n.Kind != yaml.SequenceNode {
		return nil, Errorf(n, path, "want a sequence, have %s", Describe(n))
	}
	if len(n.Content) > limit {
		return nil, Errorf(n, path, "%d entries, more than the limit of %d", len(n.Content), limit)
	}
	return n.Content, nil
}
