package custody

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/hallmark-dev/hallmark/limit"
)

// PINEnv is the environment variable ParsePKCS11URL takes the PIN from when
// the URI gives none.
const PINEnv = "HALLMARK_PKCS11_PIN"

// maxPIN bounds a PIN file; real PINs are a few bytes.
const maxPIN = 1 << 10

// PKCS11Config says which PKCS#11 token OpenPKCS11 opens. Its String and
// GoString methods leave out the PIN, so a config can be logged.
type PKCS11Config struct {
	// Module is the absolute path of the PKCS#11 library, such as
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel is the label of the token (CKA_LABEL of its CK_TOKEN_INFO).
	TokenLabel string
	// PIN is the token's user PIN.
	PIN string
}

// String returns the configuration as a PKCS#11 URI without the PIN.
func (c PKCS11Config) String() string {
	s := "pkcs11:token=" + pctEncode(c.TokenLabel, false) + "?module-path=" + pctEncode(c.Module, true)
	if c.PIN != "" {
		s += "&pin-value=REDACTED"
	}
	return s
}

// GoString is String, so %#v does not print the PIN either.
func (c PKCS11Config) GoString() string { return "custody.PKCS11Config(" + c.String() + ")" }

// ParsePKCS11URL parses the configuration of a PKCS#11 token from an RFC 7512
// PKCS#11 URI. It takes these attributes, each at most once, and refuses any
// other:
//
//   - token: the token label. Required.
//   - module-path: the absolute path of the PKCS#11 library. Required. RFC
//     7512 puts it in the query; it is accepted in the path too.
//   - pin-value: the PIN itself, in the query.
//   - pin-source: in the query, the absolute path of a file holding the PIN
//     (a trailing newline is dropped), as a path or a "file:" URI.
//
// Values are percent-decoded. With neither pin-value nor pin-source, the
// PIN is taken from the environment variable HALLMARK_PKCS11_PIN, if set.
// Errors never contain the PIN.
func ParsePKCS11URL(s string) (PKCS11Config, error) {
	cfg, pinSource, err := parsePKCS11URL(s)
	if err != nil {
		return PKCS11Config{}, err
	}
	switch {
	case pinSource != "":
		data, err := limit.ReadFile(pinSource, maxPIN)
		if err != nil {
			return PKCS11Config{}, fmt.Errorf("custody: pkcs11 URI: pin-source: %w", err)
		}
		data = bytes.TrimSuffix(data, []byte("\n"))
		data = bytes.TrimSuffix(data, []byte("\r"))
		if len(data) == 0 {
			return PKCS11Config{}, fmt.Errorf("custody: pkcs11 URI: pin-source %s: file is empty", pinSource)
		}
		cfg.PIN = string(data)
	case cfg.PIN == "":
		cfg.PIN = os.Getenv(PINEnv)
	}
	return cfg, nil
}

// parsePKCS11URL parses s without reading anything: it returns the path of
// the PIN file, if any, for the caller to read.
func parsePKCS11URL(s string) (cfg PKCS11Config, pinSource string, err error) {
	attrs, err := parseURI(s, map[string]bool{"token": true, "module-path": true}, map[string]bool{"module-path": true, "pin-value": true, "pin-source": true})
	if err != nil {
		return PKCS11Config{}, "", fmt.Errorf("custody: pkcs11 URI: %w", err)
	}
	cfg.TokenLabel = attrs["token"]
	cfg.Module = attrs["module-path"]
	cfg.PIN = attrs["pin-value"]
	pinSource = attrs["pin-source"]
	switch {
	case cfg.TokenLabel == "":
		return PKCS11Config{}, "", errors.New("custody: pkcs11 URI: no token attribute")
	case len(cfg.TokenLabel) > 32:
		return PKCS11Config{}, "", fmt.Errorf("custody: pkcs11 URI: token %q: longer than 32 bytes", cfg.TokenLabel)
	case cfg.Module == "":
		return PKCS11Config{}, "", errors.New("custody: pkcs11 URI: no module-path attribute")
	case !filepath.IsAbs(cfg.Module):
		return PKCS11Config{}, "", fmt.Errorf("custody: pkcs11 URI: module-path %q: not an absolute path", cfg.Module)
	case cfg.PIN != "" && pinSource != "":
		return PKCS11Config{}, "", errors.New("custody: pkcs11 URI: both pin-value and pin-source")
	case attrs.has("pin-value") && cfg.PIN == "":
		return PKCS11Config{}, "", errors.New("custody: pkcs11 URI: empty pin-value")
	}
	if attrs.has("pin-source") {
		p := pinSource
		if rest, ok := strings.CutPrefix(p, "file:"); ok {
			p = rest
			if rest, ok := strings.CutPrefix(p, "//"); ok {
				// file://HOST/path: only an empty host, this machine.
				p = rest
				if !strings.HasPrefix(p, "/") {
					return PKCS11Config{}, "", fmt.Errorf("custody: pkcs11 URI: pin-source %q: file URI names a host", pinSource)
				}
			}
		}
		if strings.HasPrefix(p, "|") {
			return PKCS11Config{}, "", fmt.Errorf("custody: pkcs11 URI: pin-source %q: running a command is not supported", pinSource)
		}
		if !filepath.IsAbs(p) {
			return PKCS11Config{}, "", fmt.Errorf("custody: pkcs11 URI: pin-source %q: not an absolute path", pinSource)
		}
		pinSource = p
	}
	return cfg, pinSource, nil
}

// uriAttrs are the attributes of a PKCS#11 URI, percent-decoded.
type uriAttrs map[string]string

func (a uriAttrs) has(name string) bool { _, ok := a[name]; return ok }

// parseURI parses an RFC 7512 PKCS#11 URI, allowing only the path
// attributes in path and the query attributes in query, each at most once.
// Errors name attributes but never echo a value.
func parseURI(s string, path, query map[string]bool) (uriAttrs, error) {
	const scheme = "pkcs11:"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return nil, errors.New(`does not start with "pkcs11:"`)
	}
	s = s[len(scheme):]
	p, q, hasQuery := strings.Cut(s, "?")
	attrs := uriAttrs{}
	parse := func(part, sep, where string, allowed map[string]bool) error {
		if part == "" {
			return nil
		}
		for i, kv := range strings.Split(part, sep) {
			name, raw, ok := strings.Cut(kv, "=")
			if !ok || name == "" {
				// Not echoed: it might be a PIN.
				return fmt.Errorf("%s attribute %d: want NAME=VALUE", where, i+1)
			}
			if !allowed[name] {
				return fmt.Errorf("%s attribute %q: not supported here", where, name)
			}
			if attrs.has(name) {
				return fmt.Errorf("attribute %q: given twice", name)
			}
			v, err := url.PathUnescape(raw)
			if err != nil {
				return fmt.Errorf("attribute %q: bad percent-encoding", name)
			}
			attrs[name] = v
		}
		return nil
	}
	if err := parse(p, ";", "path", path); err != nil {
		return nil, err
	}
	if hasQuery {
		if err := parse(q, "&", "query", query); err != nil {
			return nil, err
		}
	}
	return attrs, nil
}

// pctEncode percent-encodes s for a PKCS#11 URI attribute value, leaving
// RFC 3986 unreserved characters alone, and '/' too if slash.
func pctEncode(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || slash && c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// formatRef returns the ref of the key with CKA_ID id and CKA_LABEL label: a
// PKCS#11 URI naming its private key object, with every byte of id
// percent-encoded.
func formatRef(id []byte, label string) string {
	var b strings.Builder
	b.WriteString("pkcs11:id=")
	for _, c := range id {
		fmt.Fprintf(&b, "%%%02x", c)
	}
	b.WriteString(";object=")
	b.WriteString(pctEncode(label, false))
	b.WriteString(";type=private")
	return b.String()
}

// parseRef parses a ref made by formatRef.
func parseRef(ref string) (id []byte, label string, err error) {
	attrs, err := parseURI(ref, map[string]bool{"id": true, "object": true, "type": true}, nil)
	if err != nil {
		return nil, "", err
	}
	if t, ok := attrs["type"]; ok && t != "private" {
		return nil, "", fmt.Errorf("type %q: want private", t)
	}
	id, label = []byte(attrs["id"]), attrs["object"]
	if len(id) == 0 {
		return nil, "", errors.New("no id attribute")
	}
	if len(id) > 64 {
		return nil, "", errors.New("id longer than 64 bytes")
	}
	if err := checkLabel(label); err != nil {
		return nil, "", fmt.Errorf("object attribute: %w", err)
	}
	return id, label, nil
}
