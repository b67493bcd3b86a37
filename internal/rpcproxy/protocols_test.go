package rpcproxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/rpcproxy"
	"github.com/heraldhq/herald/internal/testutil"
)

// TestOverSTOMPAndMQTT: the proxy is a handler like any other, so STOMP
// (stomp.py, SEND to /rpc/<method> with reply-to) and MQTT 5
// (mosquitto_rr, $rpc/<method> with a response topic) reach the HTTP
// backend too, and get its answer and its errors.
func TestOverSTOMPAndMQTT(t *testing.T) {
	rr := testutil.Need(t, "mosquitto_rr")
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		testutil.Need(t, "/usr/bin/python3")
	}
	got := make(chan map[string]any, 4)
	url := backend(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		got <- body
		if body["method"] == "orders.refuse" {
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"code": 4009, "message": "out of stock"}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "params": body["params"]})
	})
	srv := herald.New(herald.Options{})
	p := newProxy(t, rpcproxy.Route{URL: url})
	srv.HandlePrefix("orders.", p.Handle)
	stompLn, mqttLn := testutil.Listen(t), testutil.Listen(t)
	served := make(chan error, 2)
	go func() { served <- srv.ServeSTOMP(stompLn) }()
	go func() { served <- srv.ServeMQTT(mqttLn) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
		<-served
	})

	// MQTT 5: the answer is published to the response topic.
	out := testutil.Run(t, 20*time.Second, "", nil, rr, "-h", "127.0.0.1", "-p", testutil.Port(mqttLn),
		"-t", "$rpc/orders.create", "-e", "replies/me", "-m", `{"item":"book"}`)
	var res map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &res); err != nil || res["ok"] != true {
		t.Fatalf("mosquitto_rr: %q %v", out, err)
	}
	b := <-got
	if c, _ := b["client"].(map[string]any); b["method"] != "orders.create" || c["protocol"] != "mqtt" {
		t.Errorf("backend saw %v", b)
	}

	// STOMP: the answer arrives at reply-to, errors as error headers.
	run := func(method string) map[string]any {
		out := testutil.Run(t, 20*time.Second, testutil.Root(t), map[string]string{
			"STOMP_ADDR": stompLn.Addr().String(), "METHOD": method, "BODY": `{"item":"pen"}`,
		}, "/usr/bin/python3", filepath.Join("tests", "python", "stomp_rpc.py"))
		var m map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &m); err != nil {
			t.Fatalf("stomp_rpc.py: %q %v", out, err)
		}
		return m
	}
	m := run("orders.create")
	if m["correlation"] != "c-1" || !strings.Contains(m["body"].(string), `"ok":true`) {
		t.Errorf("STOMP reply %v", m)
	}
	if b := <-got; b["client"].(map[string]any)["protocol"] != "stomp" {
		t.Errorf("backend saw %v", b)
	}
	m = run("orders.refuse")
	if m["error"] != "true" || m["code"] != "4009" || m["body"] != "out of stock" {
		t.Errorf("STOMP error reply %v", m)
	}
	<-got
}
