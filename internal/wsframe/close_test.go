package wsframe

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidCloseCode(t *testing.T) {
	valid := map[uint16]bool{}
	for c := 1000; c <= 1003; c++ {
		valid[uint16(c)] = true
	}
	for c := 1007; c <= 1014; c++ {
		valid[uint16(c)] = true
	}
	for c := 0; c <= 0xFFFF; c++ {
		want := valid[uint16(c)] || (c >= 3000 && c <= 4999)
		if got := ValidCloseCode(uint16(c)); got != want {
			t.Errorf("ValidCloseCode(%d) = %v, want %v", c, got, want)
		}
	}
}

func TestCheckClosePayload(t *testing.T) {
	for _, c := range []struct {
		p    string
		code uint16
	}{
		{"", 0},
		{"\x03", CloseProtocolError},
		{"\x03\xe8", 0},
		{"\x03\xe8ok", 0},
		{"\x03\xec", CloseProtocolError}, // 1004
		{"\x03\xed", CloseProtocolError}, // 1005
		{"\x03\xee", CloseProtocolError}, // 1006
		{"\x03\xf7", CloseProtocolError}, // 1015
		{"\x03\xe8\xff", CloseInvalidPayload},
		{"\x0b\xb8\xe2\x82", CloseInvalidPayload}, // 3000, truncated rune
	} {
		err := checkClosePayload([]byte(c.p))
		var ce *CloseError
		switch {
		case c.code == 0 && err != nil:
			t.Errorf("%q: unexpected %v", c.p, err)
		case c.code != 0 && (!errors.As(err, &ce) || ce.Code != c.code):
			t.Errorf("%q: got %v, want code %d", c.p, err, c.code)
		}
	}
}

func TestParseClosePayload(t *testing.T) {
	if code, reason := ParseClosePayload(nil); code != CloseNoStatus || reason != "" {
		t.Errorf("empty: %d %q", code, reason)
	}
	if code, reason := ParseClosePayload([]byte("\x03\xe9bye")); code != CloseGoingAway || reason != "bye" {
		t.Errorf("got %d %q", code, reason)
	}
}

func TestAppendClose(t *testing.T) {
	if got := AppendClose(nil, 0, "ignored"); string(got) != "\x88\x00" {
		t.Errorf("code 0: % x", got)
	}
	if got := AppendClose(nil, CloseNormal, "bye"); string(got) != "\x88\x05\x03\xe8bye" {
		t.Errorf("normal: % x", got)
	}

	cases := []struct {
		name, reason string
		wantLen      int
	}{
		{"fits", strings.Repeat("a", 123), 123},
		{"ascii cut", strings.Repeat("a", 200), 123},
		{"cut before 3-byte rune", strings.Repeat("a", 121) + "€€", 121},
		{"3-byte rune ends exactly", strings.Repeat("a", 120) + "€€", 123},
		{"cut before 4-byte rune", strings.Repeat("a", 122) + "𝄞", 122},
		{"all multibyte", strings.Repeat("é", 100), 122},
	}
	for _, c := range cases {
		frame := AppendClose(nil, CloseGoingAway, c.reason)
		if len(frame) > 2+MaxControlPayload {
			t.Fatalf("%s: frame of %d bytes", c.name, len(frame))
		}
		code, reason := ParseClosePayload(frame[2:])
		if code != CloseGoingAway || len(reason) != c.wantLen || !utf8.ValidString(reason) || !strings.HasPrefix(c.reason, reason) {
			t.Errorf("%s: got code %d reason of %d bytes (valid=%v), want %d bytes", c.name, code, len(reason), utf8.ValidString(reason), c.wantLen)
		}
		// Our own close frames must pass our own strict parser.
		r := &ClientReader{}
		if err := r.Feed(frame, func(byte, []byte) error { return nil }); err != nil {
			t.Errorf("%s: ClientReader rejects AppendClose output: %v", c.name, err)
		}
	}
}
