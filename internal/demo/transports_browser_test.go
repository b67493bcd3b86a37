package demo

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/testutil"
)

// demoBehindProxy serves the demo like serveDemo, behind a proxy the test
// can cut, block and point at a restarted server.
type demoBehindProxy struct {
	t     *testing.T
	srv   *herald.Server
	hs    *httptest.Server
	proxy *testutil.Proxy
}

func startDemoServer(t *testing.T, opts herald.Options) (*herald.Server, *httptest.Server) {
	t.Helper()
	srv := herald.New(opts)
	Register(srv, &LED{})
	hs := httptest.NewServer(NewMux(MuxConfig{Server: srv, Demo: true}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs
}

func newDemoBehindProxy(t *testing.T) *demoBehindProxy {
	srv, hs := startDemoServer(t, herald.Options{})
	return &demoBehindProxy{t: t, srv: srv, hs: hs, proxy: testutil.NewProxy(t, hs.Listener.Addr().String())}
}

func (d *demoBehindProxy) url() string { return "http://" + d.proxy.Addr() }

// restart stops the server and starts a new one (new epochs, the given
// history) where the proxy sends clients; they cannot connect meanwhile.
func (d *demoBehindProxy) restart(opts herald.Options, meanwhile func(*herald.Server)) {
	d.proxy.Block(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		d.t.Fatalf("shutdown: %v", err)
	}
	d.hs.Close()
	d.srv, d.hs = startDemoServer(d.t, opts)
	d.proxy.SetTarget(d.hs.Listener.Addr().String())
	meanwhile(d.srv)
	d.proxy.Block(false)
}

func publishTicks(t *testing.T, srv *herald.Server, prefix string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, err := srv.Publish(context.Background(), Topic, []byte(prefix+" "+strconv.Itoa(i)), herald.WithContentType("text/plain; charset=utf-8")); err != nil {
			t.Fatal(err)
		}
	}
}

// ticks reads the notification pane (newest line first) and returns the
// numbers of the lines "<prefix> N" in arrival order.
func ticks(ctx context.Context, t *testing.T, prefix string) []int {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("heraldNotification")))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`: ` + regexp.QuoteMeta(prefix) + ` (\d+)$`)
	var out []int
	for line := range strings.SplitSeq(v, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, n)
		}
	}
	slices.Reverse(out)
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestBrowserTransports runs the LED page three times, with each of
// herald.js's transports forced: request/response and live notifications;
// then the network is cut mid-stream and the page resumes with no gap and
// no duplicate; then the server restarts with less history than the page
// lacks, and the page reports the missed messages and goes on.
func TestBrowserTransports(t *testing.T) {
	for _, transport := range []string{"websocket", "sse", "longpoll"} {
		t.Run(transport, func(t *testing.T) {
			d := newDemoBehindProxy(t)
			ctx := newBrowser(t)
			errs := watchErrors(t, ctx)
			if err := chromedp.Do(ctx, chromedp.Navigate(d.url()+"/?transport="+transport)); err != nil {
				t.Fatal(err)
			}
			waitFor(ctx, t, "the client", `(() => {
				const log = document.getElementById("debug").value;
				return log.includes("HERALD-LOG: Connected over `+transport+`") && log.includes("HERALD-LOG: Subscribed to wsone/notify");
			})()`)
			if got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("heraldTransport"))); got != transport {
				t.Errorf("the page shows transport %q", got)
			}

			// Request/response, and the notification of its result.
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.ID("message"), "on"),
				chromedp.Click(chromedp.CSS(`#request button[type="submit"]`)),
			); err != nil {
				t.Fatal(err)
			}
			waitFor(ctx, t, "the response and the notification", `
				document.getElementById("responseText").value.includes("LED is now on (was off)") &&
				document.getElementById("heraldNotification").value.includes("LED is now on (was off)")`)

			// Live messages, then the network fails mid-stream while the
			// server goes on publishing.
			publishTicks(t, d.srv, "tick", 1, 5)
			waitFor(ctx, t, "tick 5", `document.getElementById("heraldNotification").value.includes("tick 5")`)
			before := d.proxy.Accepted()
			d.proxy.Cut()
			publishTicks(t, d.srv, "tick", 6, 10)
			waitFor(ctx, t, "tick 10", `document.getElementById("heraldNotification").value.includes("tick 10")`)
			if got := ticks(ctx, t, "tick"); !slices.Equal(got, seq(1, 10)) {
				t.Errorf("after the cut the page shows ticks %v, want 1..10 once each, in order", got)
			}
			if d.proxy.Accepted() == before {
				t.Error("the page did not reconnect after the cut")
			}
			// Requests still work on the new connection.
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("message").value = ""`)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.ID("message"), "off"),
				chromedp.Click(chromedp.CSS(`#request button[type="submit"]`)),
			); err != nil {
				t.Fatal(err)
			}
			waitFor(ctx, t, "the second response", `document.getElementById("responseText").value.includes("LED is now off (was on)")`)

			// A restart with history too short for what the page lacks:
			// the new server's topic restarts (a new epoch), five messages
			// go out while the page is away, and only the last two are kept.
			d.restart(herald.Options{HistorySize: 2}, func(srv *herald.Server) {
				publishTicks(t, srv, "after", 1, 5)
			})
			waitFor(ctx, t, "the missed report and the replay", `(() => {
				const log = document.getElementById("debug").value;
				const pane = document.getElementById("heraldNotification").value;
				return log.includes("Missed messages 1–3 of wsone/notify") && pane.includes("after 5");
			})()`)
			if got := ticks(ctx, t, "after"); !slices.Equal(got, []int{4, 5}) {
				t.Errorf("after the restart the page shows %v, want [4 5]", got)
			}
			publishTicks(t, d.srv, "after", 6, 6)
			waitFor(ctx, t, "live after the restart", `document.getElementById("heraldNotification").value.includes("after 6")`)

			saveScreenshot(ctx, t, fmt.Sprintf("led-%s.png", transport))
			errs.checkExceptions(t, transport)
		})
	}
}

// checkExceptions is check for pages whose connections the test breaks
// on purpose: failed loads and refused connections are expected there,
// uncaught exceptions and policy violations are not.
func (pe *pageErrors) checkExceptions(t *testing.T, tab string) {
	t.Helper()
	pe.mu.Lock()
	defer pe.mu.Unlock()
	for _, e := range pe.list {
		if strings.HasPrefix(e, "network error:") || strings.Contains(e, "ERR_CONNECTION") ||
			strings.Contains(e, "ERR_EMPTY_RESPONSE") || strings.Contains(e, "WebSocket connection to") ||
			strings.Contains(e, "404 (Not Found)") || strings.Contains(e, "410 (Gone)") {
			t.Logf("%s (expected): %s", tab, e)
			continue
		}
		t.Errorf("%s: %s", tab, e)
	}
}
