package scan

import "testing"

func validateSARIF(t *testing.T, data []byte) { t.Helper() }
