package stomp

import (
	"strings"
	"testing"
)

func TestParseDest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		filter bool
		want   dest
		err    string
	}{
		{in: "/topic/a.b.c", want: dest{destTopic, "a/b/c"}},
		{in: "/topic/a/b.c", want: dest{destTopic, "a/b/c"}},
		{in: "/topic/wsone.notify", want: dest{destTopic, "wsone/notify"}},
		{in: "/topic/a..b", want: dest{destTopic, "a//b"}},
		{in: "/topic/temp%2Ec.x", want: dest{destTopic, "temp.c/x"}},
		{in: "/topic/100%25.%2A", want: dest{destTopic, "100%/*"}},
		{in: "/topic/a.*.c", filter: true, want: dest{destTopic, "a/+/c"}},
		{in: "/topic/a.>", filter: true, want: dest{destTopic, "a/#"}},
		{in: "/topic/>", filter: true, want: dest{destTopic, "#"}},
		{in: "/topic/a.+.c", filter: true, want: dest{destTopic, "a/+/c"}},
		{in: "/topic/a*", filter: true, want: dest{destTopic, "a*"}},
		{in: "/topic/a.*", err: "wildcard"},
		{in: "/topic/a.>.b", filter: true, err: "'#' must be the last level"},
		{in: "/topic/", err: "empty"},
		{in: "/queue/jobs", want: dest{destQueue, "jobs"}},
		{in: "/queue/a.b/c", want: dest{destQueue, "a.b/c"}},
		{in: "/queue/", err: "queue name"},
		{in: "/temp-queue/replies", want: dest{destTempQueue, "replies"}},
		{in: "/rpc/status", want: dest{destRPC, "status"}},
		{in: "/rpc/", err: "names no method"},
		{in: "/exchange/x", err: "unsupported destination"},
		{in: "topic/a", err: "unsupported destination"},
	}
	for _, tt := range tests {
		got, err := parseDest(tt.in, "/rpc/", tt.filter)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %v, want an error containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v %v, want %+v", tt.in, got, err, tt.want)
		}
	}
}

// TestTopicRoundTrip checks that every canonical name has a STOMP
// spelling that reads back to it.
func TestTopicRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "a/b/c", "wsone/notify", "sensors/temp.c", "a//b", "/lead", "trail/", "100%", "%2E", "a/*/>", "a*b/c>d", "é/ü"} {
		d := TopicToSTOMP(name)
		back, err := TopicFromSTOMP(strings.TrimPrefix(d, topicPrefix), false)
		if err != nil || back != name {
			t.Errorf("%q -> %q -> %q, %v", name, d, back, err)
		}
	}
	if got := TopicToSTOMP("wsone/notify"); got != "/topic/wsone.notify" {
		t.Errorf("TopicToSTOMP = %q", got)
	}
}
