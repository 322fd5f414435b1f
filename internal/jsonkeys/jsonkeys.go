// Package jsonkeys holds the strict-JSON helpers that osv and vex each had a
// copy of: naming a value's JSON type for error messages, and decoding an
// object into its members while refusing a name given twice; and Fold, the
// case folding encoding/json uses to match member names to struct fields.
package jsonkeys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Fold returns name case-folded as encoding/json folds member names when it
// matches them to struct fields: two names with the same Fold fill the same
// field, the last one winning. It is not strings.ToLower, which keeps
// U+017F (long s) apart from "s", where encoding/json does not.
func Fold(name string) string {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name); {
		if c := name[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(name[i:])
		out = utf8.AppendRune(out, unicode.ToUpper(unicode.SimpleFold(r)))
		i += n
	}
	return string(out)
}

// Kind names the JSON type of raw for error messages: "object", "array",
// "string", "boolean", "null" or "number", or "nothing" when raw is blank.
// It looks at the first byte only; raw is assumed to be valid JSON.
func Kind(raw []byte) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// DuplicateError is Members' error for a name given twice in one object.
type DuplicateError struct {
	Name string
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("duplicate member %q", e.Name)
}

// Members decodes raw, a JSON object, into its members, refusing a name
// given twice (parsers disagree on which one wins) with a *DuplicateError.
// visit, if not nil, sees each name in order once its value is read and
// found not to repeat an earlier name; an error from visit stops Members and
// comes back as it is. Errors from the decoder come back as they are too.
func Members(raw []byte, visit func(name string) error) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, err
	}
	o := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := o[name]; dup {
			return nil, &DuplicateError{Name: name}
		}
		if visit != nil {
			if err := visit(name); err != nil {
				return nil, err
			}
		}
		o[name] = v
	}
	return o, nil
}
