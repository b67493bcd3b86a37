package message

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestEncodedCacheHit(t *testing.T) {
	tests := []struct {
		name        string
		keys        []string // one Encoded call per subscriber, in order
		wantCalls   map[string]int
		wantEncoded map[string]string
	}{
		{
			name:        "one protocol many subscribers",
			keys:        repeat("jsonrpc/ws", 1000),
			wantCalls:   map[string]int{"jsonrpc/ws": 1},
			wantEncoded: map[string]string{"jsonrpc/ws": "jsonrpc/ws:hello"},
		},
		{
			name:      "several protocols interleaved",
			keys:      append(repeat("sse", 3), "stomp", "sse", "mqtt", "stomp", "mqtt", "sse"),
			wantCalls: map[string]int{"sse": 1, "stomp": 1, "mqtt": 1},
			wantEncoded: map[string]string{
				"sse": "sse:hello", "stomp": "stomp:hello", "mqtt": "mqtt:hello",
			},
		},
		{
			name:        "empty key is a key",
			keys:        []string{"", ""},
			wantCalls:   map[string]int{"": 1},
			wantEncoded: map[string]string{"": ":hello"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{Topic: "t", Data: []byte("hello")}
			calls := map[string]int{}
			for _, k := range tt.keys {
				got := m.Encoded(k, func(m *Message) []byte {
					calls[k]++
					return []byte(k + ":" + string(m.Data))
				})
				if want := tt.wantEncoded[k]; string(got) != want {
					t.Fatalf("Encoded(%q) = %q, want %q", k, got, want)
				}
			}
			if fmt.Sprint(calls) != fmt.Sprint(tt.wantCalls) {
				t.Fatalf("enc calls = %v, want %v", calls, tt.wantCalls)
			}
		})
	}
}

func TestEncodedSharesSlice(t *testing.T) {
	m := &Message{Data: []byte("x")}
	enc := func(m *Message) []byte { return append([]byte("e:"), m.Data...) }
	a := m.Encoded("k", enc)
	b := m.Encoded("k", enc)
	if &a[0] != &b[0] {
		t.Fatal("second call returned a different slice; want the cached one")
	}
}

func TestEncodedNil(t *testing.T) {
	m := &Message{}
	calls := 0
	for range 3 {
		if got := m.Encoded("nil", func(*Message) []byte { calls++; return nil }); got != nil {
			t.Fatalf("got %q, want nil", got)
		}
	}
	if calls != 1 {
		t.Fatalf("enc called %d times, want 1 (nil is cached too)", calls)
	}
}

// TestEncodedConcurrent runs many goroutines over a few keys at once. Under
// -race it checks the cache is data-race free; it also checks every caller
// gets the right bytes, each key is computed a bounded number of times, and
// once settled every caller shares one slice per key.
func TestEncodedConcurrent(t *testing.T) {
	const goroutines = 64
	keys := []string{"jsonrpc/ws", "sse", "stomp", "mqtt/3", "mqtt/5"}
	for round := range 50 {
		m := &Message{Topic: "t", Data: []byte(fmt.Sprint("payload-", round))}
		var calls [5]atomic.Int32
		var start, wg sync.WaitGroup
		start.Add(1)
		results := make([][][]byte, goroutines)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				for i := range keys {
					k := keys[(i+g)%len(keys)]
					ki := (i + g) % len(keys)
					b := m.Encoded(k, func(m *Message) []byte {
						calls[ki].Add(1)
						return []byte(k + "|" + string(m.Data))
					})
					results[g] = append(results[g], b)
				}
			}()
		}
		start.Done()
		wg.Wait()
		for g, rs := range results {
			for i, b := range rs {
				k := keys[(i+g)%len(keys)]
				if want := k + "|" + string(m.Data); string(b) != want {
					t.Fatalf("goroutine %d key %q got %q want %q", g, k, b, want)
				}
			}
		}
		for i, k := range keys {
			if n := calls[i].Load(); n < 1 || n > goroutines {
				t.Fatalf("key %q computed %d times", k, n)
			}
			first := m.Encoded(k, func(*Message) []byte { t.Fatalf("key %q not cached", k); return nil })
			again := m.Encoded(k, func(*Message) []byte { return nil })
			if !bytes.Equal(first, again) || &first[0] != &again[0] {
				t.Fatalf("key %q: settled cache returns different slices", k)
			}
		}
	}
}

func TestEncodedAllocsOnHit(t *testing.T) {
	m := &Message{Data: []byte("x")}
	enc := func(m *Message) []byte { return m.Data }
	for _, k := range []string{"a", "b", "c", "d"} {
		m.Encoded(k, enc)
	}
	if n := testing.AllocsPerRun(100, func() { m.Encoded("d", enc) }); n != 0 {
		t.Fatalf("hit path allocates %v times, want 0", n)
	}
}

func BenchmarkEncodedHit(b *testing.B) {
	m := &Message{Topic: "t", Data: []byte(`{"x":1}`)}
	enc := func(m *Message) []byte { return m.Data }
	for _, k := range []string{"sse", "stomp", "mqtt/5", "jsonrpc/ws"} {
		m.Encoded(k, enc)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Encoded("jsonrpc/ws", enc)
	}
}

func BenchmarkEncodedHitParallel(b *testing.B) {
	m := &Message{Topic: "t", Data: []byte(`{"x":1}`)}
	enc := func(m *Message) []byte { return m.Data }
	m.Encoded("jsonrpc/ws", enc)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = m.Encoded("jsonrpc/ws", enc)
		}
	})
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestEncodedLostRace drives the compare-and-swap failure paths
// deterministically: the cache changes while enc is running.
func TestEncodedLostRace(t *testing.T) {
	t.Run("other key added meanwhile: retry keeps both", func(t *testing.T) {
		m := &Message{}
		got := m.Encoded("a", func(m *Message) []byte {
			m.Encoded("b", func(*Message) []byte { return []byte("B") })
			return []byte("A")
		})
		if string(got) != "A" {
			t.Fatalf("got %q", got)
		}
		for k, want := range map[string]string{"a": "A", "b": "B"} {
			if b := m.Encoded(k, func(*Message) []byte { t.Fatalf("%q not cached", k); return nil }); string(b) != want {
				t.Fatalf("%q = %q, want %q", k, b, want)
			}
		}
	})
	t.Run("same key added meanwhile: the winner's bytes are shared", func(t *testing.T) {
		m := &Message{}
		winner := []byte("winner")
		got := m.Encoded("k", func(m *Message) []byte {
			m.enc.Store(&encodings{list: []encoding{{key: "k", b: winner}}})
			return []byte("loser")
		})
		if &got[0] != &winner[0] {
			t.Fatalf("got %q, want the winner's slice", got)
		}
	})
}
