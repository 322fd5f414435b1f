package authenticode

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestSmoke(t *testing.T) {
	in := goPE(t, "amd64")
	p := newPKI(t, "ecdsa", true)
	out := filepath.Join(filepath.Dir(in), "signed.exe")
	m, err := SignFile(context.Background(), in, out, p.sign, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v digest %x", m, m.Digest)
	cmd := exec.Command("osslsigncode", "verify", "-in", out, "-CAfile", filepath.Join(p.dir, "root.pem"), "-TSA-CAfile", filepath.Join(p.dir, "tsa-root.pem"), "-ignore-crl")
	b, err := cmd.CombinedOutput()
	t.Logf("%s", b)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(out)
}
