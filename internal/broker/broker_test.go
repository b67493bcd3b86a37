package broker

import (
	"errors"
	"testing"
)

func TestErrClosed(t *testing.T) {
	if !errors.Is(ErrClosed, ErrClosed) || ErrClosed.Error() != "broker: closed" {
		t.Fatalf("ErrClosed = %v", ErrClosed)
	}
}
