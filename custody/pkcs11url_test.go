package custody_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/custody"
)

const softhsm = "/usr/lib/softhsm/libsofthsm2.so"

func TestParsePKCS11URL(t *testing.T) {
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte("s3cret-file-pin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(custody.PINEnv, "s3cret-env-pin")

	for _, tt := range []struct {
		in   string
		want custody.PKCS11Config
		err  string // if not empty, the error contains it
	}{
		{
			in:   "pkcs11:token=LABEL;module-path=" + softhsm + "?pin-value=1234",
			want: custody.PKCS11Config{Module: softhsm, TokenLabel: "LABEL", PIN: "1234"},
		},
		{
			in:   "pkcs11:token=LABEL?module-path=" + softhsm + "&pin-value=1234",
			want: custody.PKCS11Config{Module: softhsm, TokenLabel: "LABEL", PIN: "1234"},
		},
		{
			in:   "PKCS11:token=My%20Token;module-path=/opt/hsm/lib%2bx.so?pin-value=a%26b%3Dc+d",
			want: custody.PKCS11Config{Module: "/opt/hsm/lib+x.so", TokenLabel: "My Token", PIN: "a&b=c+d"},
		},
		{
			in:   "pkcs11:token=t;module-path=" + softhsm + "?pin-source=" + pinFile,
			want: custody.PKCS11Config{Module: softhsm, TokenLabel: "t", PIN: "s3cret-file-pin"},
		},
		{
			in:   "pkcs11:token=t;module-path=" + softhsm + "?pin-source=file:" + pinFile,
			want: custody.PKCS11Config{Module: softhsm, TokenLabel: "t", PIN: "s3cret-file-pin"},
		},
		{
			in:   "pkcs11:token=t;module-path=" + softhsm + "?pin-source=file://" + pinFile,
			want: custody.PKCS11Config{Module: softhsm, TokenLabel: "t", PIN: "s3cret-file-pin"},
		},
		{
			in:   "pkcs11:token=t;module-path=" + softhsm,
			want: custody.PKCS11Config{Module: softhsm, TokenLabel: "t", PIN: "s3cret-env-pin"},
		},
		{in: "token=t;module-path=" + softhsm, err: `does not start with "pkcs11:"`},
		{in: "pkcs11:module-path=" + softhsm, err: "no token"},
		{in: "pkcs11:token=t", err: "no module-path"},
		{in: "pkcs11:token=t;module-path=libsofthsm2.so", err: "not an absolute path"},
		{in: "pkcs11:token=" + strings.Repeat("t", 33) + ";module-path=" + softhsm, err: "longer than 32 bytes"},
		{in: "pkcs11:token=t;token=u;module-path=" + softhsm, err: `"token": given twice`},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?module-path=" + softhsm, err: `"module-path": given twice`},
		{in: "pkcs11:token=t;slot-id=0;module-path=" + softhsm, err: `"slot-id": not supported`},
		{in: "pkcs11:token=t;pin-value=9999;module-path=" + softhsm, err: `path attribute "pin-value": not supported`},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?module-name=softhsm2", err: `"module-name": not supported`},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?9999", err: "query attribute 1: want NAME=VALUE"},
		{in: "pkcs11:token=t%zz;module-path=" + softhsm, err: "bad percent-encoding"},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?pin-value=9999&pin-source=" + pinFile, err: "both pin-value and pin-source"},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?pin-value=", err: "empty pin-value"},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?pin-source=pin", err: "not an absolute path"},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?pin-source=|/bin/getpin", err: "running a command is not supported"},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?pin-source=file://host/pin", err: "names a host"},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?pin-source=" + filepath.Join(dir, "nosuch"), err: "no such file"},
		{in: "pkcs11:token=t;module-path=" + softhsm + "?pin-source=" + emptyFile, err: "file is empty"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := custody.ParsePKCS11URL(tt.in)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("no error, want one containing %q", tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want it to contain %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "9999") || strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error contains the PIN: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("config = %+v, PIN %q; want %+v, PIN %q", got, got.PIN, tt.want, tt.want.PIN)
			}
		})
	}
}

func TestParsePKCS11URLNoPIN(t *testing.T) {
	t.Setenv(custody.PINEnv, "")
	got, err := custody.ParsePKCS11URL("pkcs11:token=t;module-path=" + softhsm)
	if err != nil {
		t.Fatal(err)
	}
	if got.PIN != "" {
		t.Errorf("PIN = %q, want none", got.PIN)
	}
}

func TestPKCS11ConfigHidesPIN(t *testing.T) {
	cfg := custody.PKCS11Config{Module: softhsm, TokenLabel: "my token", PIN: "s3cret"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		s := fmt.Sprintf(format, cfg)
		if strings.Contains(s, "s3cret") {
			t.Errorf("%s prints the PIN: %s", format, s)
		}
	}
	want := "pkcs11:token=my%20token?module-path=" + softhsm + "&pin-value=REDACTED"
	if got := cfg.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// String is itself a PKCS#11 URI that parses back.
	back, err := custody.ParsePKCS11URL(cfg.String())
	if err != nil {
		t.Fatal(err)
	}
	if back.Module != cfg.Module || back.TokenLabel != cfg.TokenLabel {
		t.Errorf("String() parses back to %v", back)
	}
}
