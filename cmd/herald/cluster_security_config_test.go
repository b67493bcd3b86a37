package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestClusterSecurityConfig: the route and NATS security keys come from
// the environment as the others do, reach the library's options, and are
// checked in their pairs and modes.
func TestClusterSecurityConfig(t *testing.T) {
	cfg, err := LoadConfig([]string{"--cluster-listen", "127.0.0.1:6222", "--cluster-tls-cert-file", "c.pem"}, env(map[string]string{
		"HERALD_CLUSTER_TLS_KEY_FILE": "k.pem", "HERALD_CLUSTER_TLS_CA_FILE": "ca.pem",
		"HERALD_CLUSTER_USERNAME": "herald", "HERALD_CLUSTER_PASSWORD": "pw",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.clusterOptions()
	if o.Storage != "" {
		t.Fatalf("storage %q without data_dir: the library's default (memory) is wanted", o.Storage)
	}
	if o.TLS.CertFile != "c.pem" || o.TLS.KeyFile != "k.pem" || o.TLS.CAFile != "ca.pem" || o.Username != "herald" || o.Password != "pw" {
		t.Fatalf("cluster options %+v", o)
	}
	cfg, err = LoadConfig(nil, env(map[string]string{
		"HERALD_NATS_URL": "tls://n:4222", "HERALD_NATS_TLS_CA_FILE": "ca.pem", "HERALD_NATS_TOKEN": "tok",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.clusterOptions(); o.NATSTLS.CAFile != "ca.pem" || o.NATSToken != "tok" {
		t.Fatalf("nats options %+v", o)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster-listen", ":6222", "--cluster-tls-cert-file", "c.pem", "--cluster-tls-key-file", "k.pem"}, "cluster.tls: needs cert_file, key_file and ca_file"},
		{[]string{"--cluster-tls-ca-file", "ca.pem"}, "cluster.tls: applies to the embedded NATS server"},
		{[]string{"--cluster-listen", ":6222", "--cluster-username", "u"}, "cluster.username: and cluster.password go together"},
		{[]string{"--nats-token", "x"}, "nats: tls, creds, user, password and token need nats.url"},
		{[]string{"--nats-url", "nats://n:4222", "--nats-token", "x", "--nats-creds", "f"}, "nats: creds, user and token are exclusive"},
		{[]string{"--nats-url", "nats://n:4222", "--nats-tls-cert-file", "c.pem"}, "nats.tls: cert_file and key_file go together"},
		{[]string{"--cluster-listen", ":6222", "--cluster-storage", "disk"}, `cluster.storage: "disk" is not memory or file`},
		{[]string{"--cluster-listen", ":6222", "--cluster-storage", "file"}, "cluster.storage: file needs data_dir"},
	} {
		_, err := LoadConfig(tc.args, env(nil), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
