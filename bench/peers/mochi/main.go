// Command mochi runs mochi-mqtt (github.com/mochi-mqtt/server/v2), the Go
// MQTT broker, with a TCP and a WebSocket listener and no authentication,
// as a peer for bench/peers/run.sh. It is its own module so that the
// broker's dependencies (gorilla/websocket, rs/xid) stay out of Herald's.
//
//	mochi -tcp 127.0.0.1:1883 -ws 127.0.0.1:1882
package main

import (
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

func main() {
	tcp := flag.String("tcp", "127.0.0.1:1883", "MQTT over TCP listen address")
	ws := flag.String("ws", "", "MQTT over WebSocket listen address (path /), empty for none")
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *version {
		fmt.Println("mochi-mqtt v2.7.9")
		return
	}
	srv := mqtt.New(&mqtt.Options{
		InlineClient: false,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		log.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: *tcp})); err != nil {
		log.Fatal(err)
	}
	if *ws != "" {
		if err := srv.AddListener(listeners.NewWebsocket(listeners.Config{ID: "ws", Address: *ws})); err != nil {
			log.Fatal(err)
		}
	}
	if err := srv.Serve(); err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	srv.Close()
}
