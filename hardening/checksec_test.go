package hardening_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/hardening"
)

// TestChecksecAgrees runs checksec (the Debian package, checksec.sh 2.x) on
// the ELF fixtures and on system binaries and requires the same verdicts for
// every check both make: PIE, RELRO (full, partial, none), NX stack, stack
// canary, FORTIFY_SOURCE and RPATH/RUNPATH. Where a check does not apply
// (canaries and FORTIFY in a Go binary without C code: Severity info),
// checksec's "no" is not a disagreement, so those are left out.
func TestChecksecAgrees(t *testing.T) {
	checksec, err := exec.LookPath("checksec")
	if err != nil {
		t.Skipf("checksec is not installed (apt-get install checksec; .ci/run does): %v", err)
	}
	files := map[string]string{}
	for _, sys := range []string{"/bin/ls", "/usr/bin/gpg", "/usr/bin/ssh"} {
		if _, err := os.Stat(sys); err == nil {
			files[sys] = sys
		}
	}
	for _, name := range []string{"c-hardened", "c-soft", "go-pie", "go-plain", "go-cgo"} {
		files[name] = build(t, name)
	}
	for name, path := range files {
		t.Run(strings.TrimPrefix(name, "/"), func(t *testing.T) {
			out, err := exec.Command(checksec, "--output=json", "--file="+path).Output()
			if err != nil {
				t.Skipf("checksec %s: %v", path, err)
			}
			var res map[string]map[string]string
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("checksec output: %v\n%s", err, out)
			}
			cs, ok := res[path]
			if !ok {
				t.Fatalf("checksec output names no %s:\n%s", path, out)
			}
			rep, err := hardening.CheckFile(path)
			if err != nil {
				t.Fatal(err)
			}
			get := func(check string) hardening.Finding {
				f, ok := rep.Finding(check)
				if !ok {
					t.Fatalf("no %s finding", check)
				}
				return f
			}
			relro := "no"
			if f := get("relro"); f.Pass {
				relro = "full"
			} else if strings.HasPrefix(f.Detail, "partial") {
				relro = "partial"
			}
			rpath := get("rpath").Pass
			compare := []struct {
				check      string
				ours, peer string
			}{
				{"pie", yesNo(get("pie").Pass), cs["pie"]},
				{"relro", relro, cs["relro"]},
				{"nx-stack", yesNo(get("nx-stack").Pass), cs["nx"]},
				{"rpath", yesNo(!rpath), yesNo(cs["rpath"] == "yes" || cs["runpath"] == "yes")},
			}
			for _, check := range []struct{ ours, peer string }{{"canary", "canary"}, {"fortify", "fortify_source"}} {
				if f := get(check.ours); f.Severity != hardening.Info {
					compare = append(compare, struct {
						check      string
						ours, peer string
					}{check.ours, yesNo(f.Pass), cs[check.peer]})
				}
			}
			for _, c := range compare {
				if c.ours != c.peer {
					t.Errorf("%s: hallmark says %s, checksec %s", c.check, c.ours, c.peer)
				}
			}
		})
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
