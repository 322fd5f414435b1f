package osv_test

import (
	"fmt"
	"log"
	"os"

	"github.com/hallmark-dev/hallmark/osv"
)

func Example() {
	data, err := os.ReadFile("testdata/GO-2022-0288.json")
	if err != nil {
		log.Fatal(err)
	}
	r, err := osv.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	v := osv.GoVersion("go1.17.2")
	for _, a := range r.Affected {
		if a.Package.Name != "stdlib" {
			continue
		}
		affected, err := a.Affects(v)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.ID, "affects stdlib", v+":", affected)
		fmt.Println("upgrade to", r.Fixed("Go", "stdlib", v))
	}
	// Output:
	// GO-2022-0288 affects stdlib 1.17.2: true
	// upgrade to 1.17.5
}

func ExampleMerge() {
	groups := osv.Merge([]*osv.Record{
		{ID: "CVE-2021-38561"},
		{ID: "GHSA-ppp9-7jff-5vj2", Aliases: []string{"CVE-2021-38561"}},
		{ID: "GO-2021-0113", Aliases: []string{"GHSA-ppp9-7jff-5vj2"}},
	})
	for _, g := range groups {
		fmt.Println(g.ID, g.IDs, len(g.Records))
	}
	// Output:
	// GO-2021-0113 [CVE-2021-38561 GHSA-ppp9-7jff-5vj2 GO-2021-0113] 3
}
