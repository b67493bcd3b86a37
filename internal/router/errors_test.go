package router

import (
	"errors"
	"strings"
	"testing"
)

func TestErrorsDistinct(t *testing.T) {
	errs := []error{ErrClosed, ErrNilMessage, ErrPublished, ErrNilSubscriber}
	for i, a := range errs {
		if !strings.HasPrefix(a.Error(), "router: ") {
			t.Errorf("%q lacks the package prefix", a)
		}
		for j, b := range errs {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, i != j)
			}
		}
	}
}
