package herald_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/coder/websocket"
	"github.com/heraldhq/herald"
)

// Embedding Herald in an existing net/http server: register a handler,
// mount the endpoint, publish from anywhere.
func Example() {
	srv := herald.New(herald.Options{})
	defer srv.Shutdown(context.Background())
	srv.Handle("greet", func(ctx context.Context, params json.RawMessage) (any, error) {
		var name string
		json.Unmarshal(params, &[]any{&name})
		return "hello, " + name, nil
	})
	mux := http.NewServeMux()
	mux.Handle("/ws", srv) // the WebSocket endpoint
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "my app") })
	hs := httptest.NewServer(mux) // or http.ListenAndServe(":8080", mux)
	defer hs.Close()

	// A client (any JSON-RPC 2.0 client speaking subprotocol herald.v1).
	ctx := context.Background()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	c, _, _ := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":7,"method":"greet","params":["Ada"]}`))
	_, reply, _ := c.Read(ctx)
	fmt.Println(string(reply))
	// Output: {"jsonrpc":"2.0","id":7,"result":"hello, Ada"}
}

// Server-initiated push: every subscriber of a matching filter receives
// the message, whatever protocol it speaks.
func ExampleServer_Publish() {
	srv := herald.New(herald.Options{})
	defer srv.Shutdown(context.Background())
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ctx := context.Background()
	c, _, _ := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"herald.v1"}})
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topic":"orders/+"}}`))
	c.Read(ctx) // the subscribe result

	srv.Publish(ctx, "orders/42", []byte(`{"status":"shipped"}`), herald.WithContentType("application/json"))
	_, note, _ := c.Read(ctx)
	var n struct {
		Method string
		Params struct {
			Topic string
			Seq   int
			Data  map[string]string
		}
	}
	json.Unmarshal(note, &n)
	fmt.Println(n.Method, n.Params.Topic, n.Params.Seq, n.Params.Data["status"])
	// Output: message orders/42 1 shipped
}

// Plain-text connections (no subprotocol) send each message to the text
// handler, as reference 000's LED commands do.
func ExampleServer_HandleText() {
	srv := herald.New(herald.Options{})
	defer srv.Shutdown(context.Background())
	srv.HandleText(func(ctx context.Context, text string) (string, error) {
		return "LED is off", nil
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ctx := context.Background()
	c, _, _ := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte("status"))
	_, reply, _ := c.Read(ctx)
	fmt.Println(string(reply))
	// Output: LED is off
}
