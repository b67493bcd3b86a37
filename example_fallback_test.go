package herald_test

import (
	"net/http"

	"github.com/heraldhq/herald"
)

// Mount every transport: browsers that cannot open a WebSocket fall back
// to HTTP streaming or long polling (herald.js does it by itself), and any
// EventSource can follow topics at /events.
func ExampleServer_EventsHandler() {
	srv := herald.New(herald.Options{})
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.Handle("/events", srv.EventsHandler()) // new EventSource("/events?topic=news/%23")
	mux.Handle("/stream", srv.StreamHandler())
	mux.Handle("/poll", srv.PollHandler())
	mux.Handle("GET /herald.js", herald.ClientJS()) // import { connect } from "/herald.js"
	_ = http.ListenAndServe
}
