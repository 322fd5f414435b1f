// Command grypedb writes a grype v6 vulnerability database with two made-up
// npm advisories, for the vex package's grype interop test.
package main

import (
	"log"
	"os"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
)

func main() {
	dir := os.Args[1]
	w, err := v6.NewWriter(v6.Config{DBDirPath: dir})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.SetDBMetadata(); err != nil {
		log.Fatal(err)
	}
	when := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	prov := &v6.Provider{ID: "github", Version: "1", Processor: "hallmark-test", DateCaptured: &when, InputDigest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}
	for _, a := range []struct{ id, pkg, fixed string }{
		{"CVE-2026-10001", "left-pad", "1.3.1"},
		{"CVE-2026-10002", "right-pad", "2.0.1"},
	} {
		v := &v6.VulnerabilityHandle{
			Name:          a.id,
			Status:        v6.VulnerabilityActive,
			PublishedDate: &when,
			ModifiedDate:  &when,
			ProviderID:    prov.ID,
			Provider:      prov,
			BlobValue:     &v6.VulnerabilityBlob{ID: a.id, Description: "made up for a test", Severities: []v6.Severity{{Scheme: v6.SeveritySchemeCHMLN, Value: "high"}}},
		}
		if err := w.AddVulnerabilities(v); err != nil {
			log.Fatal(err)
		}
		p := &v6.AffectedPackageHandle{
			Vulnerability: v,
			Package:       &v6.Package{Ecosystem: "npm", Name: a.pkg},
			BlobValue: &v6.PackageBlob{Ranges: []v6.Range{{
				Version: v6.Version{Type: "semver", Constraint: "< " + a.fixed},
				Fix:     &v6.Fix{Version: a.fixed, State: v6.FixedStatus},
			}}},
		}
		if err := w.AddAffectedPackages(p); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
}
