package license_test

import (
	"fmt"

	"github.com/hallmark-dev/hallmark/license"
)

func ExampleExpression() {
	for _, s := range []string{"(mit or apache-2.0)", "Apache-2.0 with llvm-exception", "Apache 2.0"} {
		expr, err := license.Expression(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(expr)
	}
	// Output:
	// MIT OR Apache-2.0
	// Apache-2.0 WITH LLVM-exception
	// license: expression "Apache 2.0": unknown licence identifier "Apache" at offset 0
}

func ExampleDir() {
	ids, err := license.Dir("testdata/dual")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ids)
	// Output: [Apache-2.0 MIT]
}
