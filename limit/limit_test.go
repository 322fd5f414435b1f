package limit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/limit"
)

func TestRead(t *testing.T) {
	if got, err := limit.Read(strings.NewReader("12345"), "in", 5); err != nil || string(got) != "12345" {
		t.Fatalf("at the limit: %q, %v", got, err)
	}
	_, err := limit.Read(strings.NewReader("123456"), "in", 5)
	if !errors.Is(err, limit.ErrTooLarge) || !strings.Contains(err.Error(), "in: ") {
		t.Fatalf("over the limit: %v", err)
	}
}
