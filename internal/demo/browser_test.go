package demo

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/heraldhq/herald"
)

// browserTimeout bounds each browser test, browser start included.
const browserTimeout = 60 * time.Second

// findChromium returns the path of a Chromium or Chrome binary, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless Chromium for the test and returns its
// context. Without a browser the test is skipped, except in CI, where a
// missing browser must not pass for a green run.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := findChromium()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no chromium binary found, and CI=true: install it (apt-get install -y chromium)")
		}
		t.Skip("no chromium binary found (apt-get install -y chromium); set CI=true to make this a failure")
	}
	// The deadline is on the allocator, so that it bounds the browser's
	// start as well as every action; chromedp kills the browser when it
	// passes.
	deadline, cancelDeadline := context.WithTimeout(context.Background(), browserTimeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners rarely allow Chromium's sandbox
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1024),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the browser exits (and stops
	// writing to its profile) before t.TempDir removes the profile.
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelDeadline()
	})
	if err := chromedp.Do(ctx); err != nil { // start it now, to report a failed start as such
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// pageErrors collects what went wrong in a tab: uncaught exceptions and
// error log entries (failed loads, Content-Security-Policy violations,
// refused WebSocket handshakes). A page that works but logs errors fails.
type pageErrors struct {
	mu   sync.Mutex
	list []string
}

func watchErrors(t *testing.T, ctx context.Context) *pageErrors {
	t.Helper()
	pe := &pageErrors{}
	err := chromedp.Listen(ctx, func(ev any) {
		// This runs on chromedp's read loop: record and return.
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg = "exception: " + d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level != cdplog.EntryLevelError {
				return
			}
			msg = fmt.Sprintf("%s error: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		default:
			return
		}
		pe.mu.Lock()
		pe.list = append(pe.list, msg)
		pe.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return pe
}

func (pe *pageErrors) check(t *testing.T, tab string) {
	t.Helper()
	pe.mu.Lock()
	defer pe.mu.Unlock()
	for _, e := range pe.list {
		t.Errorf("%s: %s", tab, e)
	}
}

// serveDemo serves the demo on 127.0.0.1 through the binary's own mux.
func serveDemo(t *testing.T) string {
	t.Helper()
	srv := herald.New(herald.Options{})
	Register(srv, &LED{})
	hs := httptest.NewServer(NewMux(MuxConfig{Server: srv, Demo: true}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return hs.URL
}

// waitFor polls a JavaScript condition in the page. It polls on a timer
// rather than on animation frames, which stop in a tab that is not in
// front.
func waitFor(ctx context.Context, t *testing.T, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// saveScreenshot writes a full-page PNG to the test's artifact directory
// (kept with go test -artifacts, removed otherwise).
func saveScreenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	file := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

func TestBrowserLED(t *testing.T) {
	base := serveDemo(t)
	ctx := newBrowser(t)
	errs := watchErrors(t, ctx)

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	// Both sockets up, the subscription confirmed: only then can the
	// notification of the command below be expected.
	waitFor(ctx, t, "all three sockets", `(() => {
		const log = document.getElementById("debug").value;
		return log.includes("HERALD-LOG: Connected over websocket") && log.includes("HERALD-LOG: Subscribed to wsone/notify") &&
			log.includes("STOMP-LOG: Subscribed to /topic/wsone.notify") &&
			log.includes("MQTT-LOG: Subscribed to wsone/notify");
	})()`)

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("message"), "on"),
		chromedp.Click(chromedp.CSS(`#request button[type="submit"]`)),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the response and the notifications", `
		document.getElementById("responseText").value.includes("LED is now on (was off)") &&
		document.getElementById("heraldNotification").value.includes("LED is now on") &&
		document.getElementById("stompNotification").value.includes("LED is now on") &&
		document.getElementById("mqttNotification").value.includes("LED is now on")`)

	// Newest line on top, stamped HH:MM:SS.mmm, as in the reference.
	stamp := `^\d\d:\d\d:\d\d\.\d{3}: `
	for id, want := range map[string]*regexp.Regexp{
		"responseText":       regexp.MustCompile(stamp + `LED is now on \(was off\)$`),
		"heraldNotification": regexp.MustCompile(stamp + `\[127\.0\.0\.1\] - LED is now on \(was off\)$`),
		"stompNotification":  regexp.MustCompile(stamp + `\[127\.0\.0\.1\] - LED is now on \(was off\)$`),
		"mqttNotification":   regexp.MustCompile(stamp + `\[127\.0\.0\.1\] - LED is now on \(was off\)$`),
	} {
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(v, "\n"); !want.MatchString(first) {
			t.Errorf("#%s first line %q, want it to match %s", id, first, want)
		}
	}
	if state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("led").dataset.state`)); err != nil || state != "on" {
		t.Errorf("LED indicator state %q (%v), want on", state, err)
	}

	// An unknown command gets the reference's usage answer, as over the
	// plain-text protocol, not a JSON-RPC "method not found".
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("message"), "blink"), // replaces the selected last command
		chromedp.Click(chromedp.CSS(`#request button[type="submit"]`)),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the usage answer", `
		document.getElementById("responseText").value.includes('ERROR. Unknown command: "blink", Usage: "status|on|off"')`)

	saveScreenshot(ctx, t, "led.png")
	errs.check(t, "LED page")
}

func TestBrowserChat(t *testing.T) {
	base := serveDemo(t)
	browser := newBrowser(t)
	alice, cancelAlice := chromedp.NewContext(browser)
	defer cancelAlice()
	bob, cancelBob := chromedp.NewContext(browser)
	defer cancelBob()
	aliceErrs, bobErrs := watchErrors(t, alice), watchErrors(t, bob)

	chat := `document.getElementById("chat").textContent`
	join := func(tab context.Context, name string) {
		t.Helper()
		if err := chromedp.Do(tab,
			chromedp.Navigate(base+"/chat.html"),
			front,
			chromedp.SendKeys(chromedp.ID("username"), name),
			chromedp.Click(chromedp.ID("joinB")),
		); err != nil {
			t.Fatalf("%s joining: %v", name, err)
		}
		// Seeing its own greeting proves the member is in the room: the
		// server subscribes a connection before it handles its messages.
		waitFor(tab, t, name+"'s greeting", chat+`.includes("`+name+`: has joined!")`)
	}
	join(alice, "alice")
	join(bob, "bob")
	waitFor(alice, t, "bob's greeting at alice's", chat+`.includes("bob: has joined!")`)

	say := func(tab context.Context, text string) {
		t.Helper()
		if err := chromedp.Do(tab,
			front,
			chromedp.SendKeys(chromedp.ID("phrase"), text),
			chromedp.Click(chromedp.ID("sendB")),
		); err != nil {
			t.Fatal(err)
		}
	}
	say(alice, "hello bob")
	waitFor(bob, t, "alice's message at bob's", chat+`.includes("alice: hello bob")`)

	// Markup in a message is shown as text, never parsed.
	say(alice, "<img src=x onerror=alert(1)><b>bold</b>")
	waitFor(bob, t, "the markup message at bob's", chat+`.includes("alice: <img src=x onerror=alert(1)><b>bold</b>")`)
	if n, err := chromedp.Run(bob, chromedp.Evaluate[int](`document.querySelectorAll("#chat img, #chat b").length`)); err != nil || n != 0 {
		t.Errorf("bob's chat holds %d elements made from a message (%v)", n, err)
	}

	saveScreenshot(bob, t, "chat.png")
	aliceErrs.check(t, "alice")
	bobErrs.check(t, "bob")
}

// front brings the tab to the front, as a user switching windows would,
// so that it has focus for typing.
var front = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := cdp.Call(ctx, t, page.BringToFront, cdp.Empty{})
	return err
})
