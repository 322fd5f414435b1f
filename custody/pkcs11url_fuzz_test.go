package custody

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParsePKCS11URL(f *testing.F) {
	f.Add("pkcs11:token=LABEL;module-path=/usr/lib/softhsm/libsofthsm2.so?pin-value=1234")
	f.Add("pkcs11:token=t?module-path=/lib/x.so&pin-source=file:///etc/pin")
	f.Add("pkcs11:token=My%20Token;module-path=/a%2fb?pin-source=|cmd")
	f.Add("pkcs11:id=%01%02;object=release.v2;type=private")
	f.Fuzz(func(t *testing.T, s string) {
		cfg, pinSource, err := parsePKCS11URL(s)
		if err != nil {
			if cfg != (PKCS11Config{}) || pinSource != "" {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		if cfg.TokenLabel == "" || len(cfg.TokenLabel) > 32 || !strings.HasPrefix(cfg.Module, "/") {
			t.Fatalf("accepted %+v", cfg)
		}
		if cfg.PIN != "" && pinSource != "" {
			t.Fatal("accepted both a PIN and a PIN source")
		}
		// The redacted form parses back to the same token and module.
		back, _, err := parsePKCS11URL(cfg.String())
		if err != nil {
			t.Fatalf("String() %q does not parse: %v", cfg.String(), err)
		}
		if back.TokenLabel != cfg.TokenLabel || back.Module != cfg.Module {
			t.Fatalf("String() %q parses to %+v, want %+v", cfg.String(), back, cfg)
		}
	})
}

func FuzzParseRef(f *testing.F) {
	f.Add([]byte{0x3a, 0x9f, 0, 0xff}, "release.v2", "pkcs11:id=%3a%9f;object=release.v2;type=private")
	f.Add([]byte("x"), "a", "pkcs11:id=x;object=a")
	f.Add([]byte{}, "", "pkcs11:object=a")
	f.Fuzz(func(t *testing.T, id []byte, label, ref string) {
		// Any ref a key gets parses back to its id and label.
		if len(id) > 0 && len(id) <= 64 && checkLabel(label) == nil {
			gotID, gotLabel, err := parseRef(formatRef(id, label))
			if err != nil {
				t.Fatalf("formatRef(%x, %q) = %q does not parse: %v", id, label, formatRef(id, label), err)
			}
			if !bytes.Equal(gotID, id) || gotLabel != label {
				t.Fatalf("formatRef(%x, %q) parses to %x, %q", id, label, gotID, gotLabel)
			}
		}
		// Any ref that parses is one formatRef would make.
		gotID, gotLabel, err := parseRef(ref)
		if err != nil {
			return
		}
		if len(gotID) == 0 || len(gotID) > 64 || checkLabel(gotLabel) != nil {
			t.Fatalf("parseRef(%q) accepted id %x, label %q", ref, gotID, gotLabel)
		}
		if _, _, err := parseRef(formatRef(gotID, gotLabel)); err != nil {
			t.Fatalf("parseRef(%q) does not round-trip: %v", ref, err)
		}
	})
}
