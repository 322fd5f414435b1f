package trustroot_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/trustroot"
)

func TestPublicGood(t *testing.T) {
	tr, err := trustroot.PublicGood()
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.RekorLogs()) == 0 || len(tr.FulcioCertificateAuthorities()) == 0 ||
		len(tr.CTLogs()) == 0 || len(tr.TimestampingAuthorities()) == 0 {
		t.Fatal("embedded root lacks logs, CAs, CT logs or TSAs")
	}
	// The copy handed out is not the embedded one.
	b := trustroot.PublicGoodJSON()
	b[0] = 'x'
	if trustroot.PublicGoodJSON()[0] == 'x' {
		t.Fatal("PublicGoodJSON returned the embedded slice")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "root.json")
	os.WriteFile(good, trustroot.PublicGoodJSON(), 0o644)
	if _, err := trustroot.Load(good); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"mediaType": 3}`), 0o644)
	if _, err := trustroot.Load(bad); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("bad root: err = %v", err)
	}
	huge := filepath.Join(dir, "huge.json")
	os.WriteFile(huge, make([]byte, 5<<20), 0o644)
	if _, err := trustroot.Load(huge); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("huge root: err = %v", err)
	}
}
