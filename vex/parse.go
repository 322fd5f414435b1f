package vex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hallmark-dev/hallmark/internal/jsonkeys"
)

// Parse reads one OpenVEX v0.2.0 JSON document. See the package
// documentation for what it checks and what it drops. Errors are
// *FieldError.
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxSize {
		return nil, errorf("", "document is %d bytes, more than the limit of %d", len(data), MaxSize)
	}
	if !utf8.Valid(data) {
		return nil, errorf("", "document is not valid UTF-8")
	}
	if !json.Valid(data) {
		var v any
		return nil, errorf("", "invalid JSON: %v", json.Unmarshal(data, &v))
	}
	top, err := object(data, "", []string{"@context", "@id", "author", "role", "timestamp", "last_updated", "version", "tooling", "statements"})
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"@context", "@id", "author", "timestamp", "version", "statements"} {
		if _, ok := top[name]; !ok {
			return nil, errorf(name, "missing")
		}
	}
	var d Document
	var ctx string
	if err := firstErr(
		str(top["@context"], "@context", &ctx),
		iri(top["@id"], "@id", &d.ID),
		str(top["author"], "author", &d.Author),
		str(top["role"], "role", &d.Role),
		str(top["tooling"], "tooling", new(string)),
		timestamp(top["timestamp"], "timestamp", &d.Timestamp),
		timestamp(top["last_updated"], "last_updated", new(time.Time)),
		integer(top["version"], "version", &d.Version),
	); err != nil {
		return nil, err
	}
	if ctx != Context {
		return nil, errorf("@context", "%q is not OpenVEX v0.2.0's context %s", ctx, Context)
	}
	if d.ID == "" {
		return nil, errorf("@id", "empty")
	}
	if d.Timestamp.IsZero() {
		return nil, errorf("timestamp", "zero time")
	}
	items, err := array(top["statements"], "statements")
	if err != nil {
		return nil, err
	}
	if len(items) > MaxStatements {
		return nil, errorf("statements", "%d statements, more than the limit of %d", len(items), MaxStatements)
	}
	for i, raw := range items {
		s, err := statement(raw, fmt.Sprintf("statements[%d]", i))
		if err != nil {
			return nil, err
		}
		d.Statements = append(d.Statements, s)
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

func statement(raw json.RawMessage, path string) (Statement, error) {
	var s Statement
	o, err := object(raw, path, []string{"@id", "version", "vulnerability", "timestamp", "last_updated", "products",
		"status", "supplier", "status_notes", "justification", "impact_statement", "action_statement", "action_statement_timestamp"})
	if err != nil {
		return s, err
	}
	for _, name := range []string{"vulnerability", "status"} {
		if _, ok := o[name]; !ok {
			return s, errorf(path+"."+name, "missing")
		}
	}
	if err := firstErr(
		iri(o["@id"], path+".@id", new(string)),
		integer(o["version"], path+".version", new(int)),
		timestamp(o["timestamp"], path+".timestamp", &s.Timestamp),
		timestamp(o["last_updated"], path+".last_updated", new(time.Time)),
		str(o["status"], path+".status", &s.Status),
		str(o["supplier"], path+".supplier", new(string)),
		str(o["status_notes"], path+".status_notes", new(string)),
		str(o["justification"], path+".justification", &s.Justification),
		str(o["impact_statement"], path+".impact_statement", &s.ImpactStatement),
		str(o["action_statement"], path+".action_statement", &s.ActionStatement),
		timestamp(o["action_statement_timestamp"], path+".action_statement_timestamp", new(time.Time)),
	); err != nil {
		return s, err
	}
	vpath := path + ".vulnerability"
	vo, err := object(o["vulnerability"], vpath, []string{"@id", "name", "description", "aliases"})
	if err != nil {
		return s, err
	}
	if _, ok := vo["name"]; !ok {
		return s, errorf(vpath+".name", "missing")
	}
	if err := firstErr(
		iri(vo["@id"], vpath+".@id", new(string)),
		str(vo["name"], vpath+".name", &s.Vulnerability),
		str(vo["description"], vpath+".description", new(string)),
		strs(vo["aliases"], vpath+".aliases", &s.Aliases),
	); err != nil {
		return s, err
	}
	if _, ok := o["products"]; !ok {
		return s, errorf(path+".products", "missing")
	}
	prods, err := array(o["products"], path+".products")
	if err != nil {
		return s, err
	}
	var firstSubs []string // sorted subcomponents of products[0]
	for i, raw := range prods {
		ppath := fmt.Sprintf("%s.products[%d]", path, i)
		p, subsRaw, err := component(raw, ppath, true)
		if err != nil {
			return s, err
		}
		s.Products = append(s.Products, p)
		var subs []string
		if subsRaw != nil {
			items, err := array(subsRaw, ppath+".subcomponents")
			if err != nil {
				return s, err
			}
			for j, raw := range items {
				sub, _, err := component(raw, fmt.Sprintf("%s.subcomponents[%d]", ppath, j), false)
				if err != nil {
					return s, err
				}
				subs = append(subs, sub)
			}
			if err := unique(ppath+".subcomponents", subs); err != nil {
				return s, err
			}
		}
		if i == 0 {
			s.Subcomponents = subs
			firstSubs = sorted(subs)
		} else if !slices.Equal(sorted(subs), firstSubs) {
			return s, errorf(ppath+".subcomponents", "differ from %s.products[0]'s; a statement's products must share their subcomponents", path)
		}
	}
	return s, nil
}

// component returns the purl of a product or subcomponent:
// identifiers.purl, or else an @id that is a purl. For a product it also
// returns the raw subcomponents member, nil when absent.
func component(raw json.RawMessage, path string, product bool) (purl string, subs json.RawMessage, err error) {
	allowed := []string{"@id", "identifiers", "hashes"}
	if product {
		allowed = append(allowed, "subcomponents")
	}
	o, err := object(raw, path, allowed)
	if err != nil {
		return "", nil, err
	}
	var id string
	if err := iri(o["@id"], path+".@id", &id); err != nil {
		return "", nil, err
	}
	if raw, ok := o["identifiers"]; ok {
		io, err := object(raw, path+".identifiers", []string{"purl", "cpe22", "cpe23"})
		if err != nil {
			return "", nil, err
		}
		if len(io) == 0 {
			return "", nil, errorf(path+".identifiers", "empty: want purl, cpe22 or cpe23")
		}
		if err := firstErr(
			str(io["purl"], path+".identifiers.purl", &purl),
			str(io["cpe22"], path+".identifiers.cpe22", new(string)),
			str(io["cpe23"], path+".identifiers.cpe23", new(string)),
		); err != nil {
			return "", nil, err
		}
		if _, ok := io["purl"]; ok {
			if err := checkPURL(path+".identifiers.purl", purl); err != nil {
				return "", nil, err
			}
		}
	}
	if raw, ok := o["hashes"]; ok {
		algs := []string{"md5", "sha1", "sha-256", "sha-384", "sha-512", "sha3-224", "sha3-256", "sha3-384", "sha3-512", "blake2s-256", "blake2b-256", "blake2b-512"}
		ho, err := object(raw, path+".hashes", algs)
		if err != nil {
			return "", nil, err
		}
		for _, alg := range algs {
			if err := str(ho[alg], path+".hashes."+alg, new(string)); err != nil {
				return "", nil, err
			}
		}
	}
	idIsPURL := strings.HasPrefix(id, "pkg:")
	switch {
	case purl != "" && idIsPURL && id != purl:
		return "", nil, errorf(path+".@id", "%q is a different purl from identifiers.purl %q", id, purl)
	case purl != "":
		return purl, o["subcomponents"], nil
	case idIsPURL:
		if err := checkPURL(path+".@id", id); err != nil {
			return "", nil, err
		}
		return id, o["subcomponents"], nil
	case id == "" && o["identifiers"] == nil:
		return "", nil, errorf(path, "no @id or identifiers")
	default:
		return "", nil, errorf(path, "no purl: only components identified by package URL are supported")
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// kind names the JSON type of raw for error messages.
func kind(raw json.RawMessage) string { return jsonkeys.Kind(raw) }

// object decodes a JSON object into its members, refusing duplicate names
// (parsers disagree on which one wins) and names not in allowed (the schema
// forbids additional properties); allowed nil allows any name.
func object(raw json.RawMessage, path string, allowed []string) (map[string]json.RawMessage, error) {
	if k := kind(raw); k != "object" {
		if path == "" {
			return nil, errorf(path, "document is %s, want object", k)
		}
		return nil, errorf(path, "is %s, want object", k)
	}
	o, err := jsonkeys.Members(raw, func(name string) error {
		if allowed != nil && !slices.Contains(allowed, name) {
			return fmt.Errorf("unknown member %q", name)
		}
		return nil
	})
	if err != nil {
		return nil, errorf(path, "%v", err)
	}
	return o, nil
}

func array(raw json.RawMessage, path string) ([]json.RawMessage, error) {
	if k := kind(raw); k != "array" {
		return nil, errorf(path, "is %s, want array", k)
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, errorf(path, "%v", err)
	}
	return a, nil
}

// str decodes a string member; an absent member (raw nil) leaves dst alone.
func str(raw json.RawMessage, path string, dst *string) error {
	if raw == nil {
		return nil
	}
	if k := kind(raw); k != "string" {
		return errorf(path, "is %s, want string", k)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return errorf(path, "%v", err)
	}
	// Parse has checked the document is UTF-8; encoding/json turns
	// escaped lone surrogates into U+FFFD.
	if len(*dst) > MaxText {
		return errorf(path, "%d bytes, more than the limit of %d", len(*dst), MaxText)
	}
	return nil
}

func strs(raw json.RawMessage, path string, dst *[]string) error {
	if raw == nil {
		return nil
	}
	items, err := array(raw, path)
	if err != nil {
		return err
	}
	for i, it := range items {
		var s string
		if err := str(it, fmt.Sprintf("%s[%d]", path, i), &s); err != nil {
			return err
		}
		*dst = append(*dst, s)
	}
	return nil
}

func iri(raw json.RawMessage, path string, dst *string) error {
	if raw == nil {
		return nil
	}
	if err := str(raw, path, dst); err != nil {
		return err
	}
	if err := checkIRI(*dst); err != nil {
		return &FieldError{Path: path, Err: err}
	}
	return nil
}

func timestamp(raw json.RawMessage, path string, dst *time.Time) error {
	if raw == nil {
		return nil
	}
	var s string
	if err := str(raw, path, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return errorf(path, "%q is not an RFC 3339 timestamp", s)
	}
	*dst = t.UTC()
	return nil
}

// integer decodes a positive integer written without fraction or exponent.
func integer(raw json.RawMessage, path string, dst *int) error {
	if raw == nil {
		return nil
	}
	if k := kind(raw); k != "number" {
		return errorf(path, "is %s, want integer", k)
	}
	s := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return errorf(path, "%s is not an integer from 1 to %d", s, 1<<31-1)
	}
	if n < 1 {
		return errorf(path, "%d is less than 1", n)
	}
	*dst = int(n)
	return nil
}
