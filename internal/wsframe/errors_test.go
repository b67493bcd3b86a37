package wsframe

import (
	"errors"
	"testing"
)

func TestCloseErrorIsAnError(t *testing.T) {
	var err error = protocolError("reserved opcode")
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CloseProtocolError {
		t.Fatalf("errors.As failed for %v", err)
	}
	if got, want := err.Error(), "websocket: close 1002: reserved opcode"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if tooBig("x").Code != CloseMessageTooBig || invalidPayload("x").Code != CloseInvalidPayload {
		t.Fatal("constructor codes")
	}
}
