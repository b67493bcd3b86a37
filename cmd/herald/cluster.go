package main

import (
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/core"
)

// ClusterConfig is the cluster: section: this node runs an embedded NATS
// server routed to its peers' (docs/cluster.md).
type ClusterConfig struct {
	Name         string   `yaml:"name"`
	Node         string   `yaml:"node"`
	Listen       string   `yaml:"listen"`
	Routes       []string `yaml:"routes"`
	ClientListen string   `yaml:"client_listen"`
	Replicas     int      `yaml:"replicas"`
	Storage      string   `yaml:"storage"` // memory or file; default file with data_dir

	// Route security (docs/security.md): mutual TLS and credentials.
	TLS      PeerTLSConfig `yaml:"tls"`
	Username string        `yaml:"username"`
	Password string        `yaml:"password"`
}

// PeerTLSConfig names the PEM files of a TLS connection between Herald
// and NATS: this end's certificate and key, and the CAs the other end's
// must chain to.
type PeerTLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	CAFile   string `yaml:"ca_file"`
}

func (t PeerTLSConfig) set() bool { return t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" }

func (t PeerTLSConfig) options() herald.ClusterTLS {
	return herald.ClusterTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile}
}

// NATSConfig is the nats: section: join an external NATS cluster instead.
type NATSConfig struct {
	URL      string        `yaml:"url"`
	TLS      PeerTLSConfig `yaml:"tls"`
	Creds    string        `yaml:"creds"` // a NATS credentials file (JWT and NKey seed)
	User     string        `yaml:"user"`
	Password string        `yaml:"password"`
	Token    string        `yaml:"token"`
}

func init() {
	settings = append(settings,
		stringSetting("cluster.name", "NAME", "cluster name, the same on every node (default herald)", func(c *Config) *string { return &c.Cluster.Name }),
		stringSetting("cluster.node", "NAME", "this node's name (default its cluster.listen address)", func(c *Config) *string { return &c.Cluster.Node }),
		stringSetting("cluster.listen", "ADDR", "host:port where the embedded NATS server takes routes from the other nodes; empty: no embedded cluster", func(c *Config) *string { return &c.Cluster.Listen }),
		listSetting("cluster.routes", "LIST", "comma-separated host:port of the other nodes' cluster.listen (seeds)", func(c *Config) *[]string { return &c.Cluster.Routes }),
		stringSetting("cluster.client_listen", "ADDR", "host:port where the embedded NATS server takes NATS clients; empty: loopback only, random port", func(c *Config) *string { return &c.Cluster.ClientListen }),
		listSetting("trusted_proxies", "LIST", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For/Forwarded headers give the client address", func(c *Config) *[]string { return &c.TrustedProxies }),
		intSetting("cluster.replicas", "3 with two or more routes, else 1", "nodes keeping each topic's history in the cluster's stream", func(c *Config) *int { return &c.Cluster.Replicas }),
		stringSetting("nats.url", "URL", "external NATS servers to cluster through (comma-separated nats:// URLs), instead of cluster.listen", func(c *Config) *string { return &c.NATS.URL }),
		stringSetting("cluster.storage", "STORAGE", "memory or file: where the cluster keeps topic history and retained messages (file: in data_dir/nats, kept across a restart of the whole cluster); default file with data_dir, else memory", func(c *Config) *string { return &c.Cluster.Storage }),
		stringSetting("cluster.tls.cert_file", "FILE", "PEM certificate of this node on routes and client_listen (serverAuth and clientAuth usage; reloaded on SIGHUP); with key_file and ca_file routes use mutual TLS", func(c *Config) *string { return &c.Cluster.TLS.CertFile }),
		stringSetting("cluster.tls.key_file", "FILE", "PEM private key of cluster.tls.cert_file", func(c *Config) *string { return &c.Cluster.TLS.KeyFile }),
		stringSetting("cluster.tls.ca_file", "FILE", "PEM CAs that the other nodes' (and NATS clients') certificates must chain to", func(c *Config) *string { return &c.Cluster.TLS.CAFile }),
		stringSetting("cluster.username", "NAME", "route credentials: every node uses the same username and password (client_listen asks for them too)", func(c *Config) *string { return &c.Cluster.Username }),
		stringSetting("cluster.password", "SECRET", "password of cluster.username (prefer the variable or the file to the flag)", func(c *Config) *string { return &c.Cluster.Password }),
		stringSetting("nats.tls.ca_file", "FILE", "PEM CAs that the external NATS servers' certificates must chain to (TLS to NATS)", func(c *Config) *string { return &c.NATS.TLS.CAFile }),
		stringSetting("nats.tls.cert_file", "FILE", "PEM client certificate for the external NATS", func(c *Config) *string { return &c.NATS.TLS.CertFile }),
		stringSetting("nats.tls.key_file", "FILE", "PEM private key of nats.tls.cert_file", func(c *Config) *string { return &c.NATS.TLS.KeyFile }),
		stringSetting("nats.creds", "FILE", "NATS credentials file (JWT and NKey seed) for the external NATS", func(c *Config) *string { return &c.NATS.Creds }),
		stringSetting("nats.user", "NAME", "user name for the external NATS (with nats.password)", func(c *Config) *string { return &c.NATS.User }),
		stringSetting("nats.password", "SECRET", "password of nats.user (prefer the variable or the file to the flag)", func(c *Config) *string { return &c.NATS.Password }),
		stringSetting("nats.token", "SECRET", "token for the external NATS", func(c *Config) *string { return &c.NATS.Token }),
	)
}

// clusterOptions is the library's view of both sections.
func (c *Config) clusterOptions() herald.ClusterOptions {
	return herald.ClusterOptions{
		Name: c.Cluster.Name, Node: c.Cluster.Node, Listen: c.Cluster.Listen, Routes: c.Cluster.Routes,
		ClientListen: c.Cluster.ClientListen, NATSURL: c.NATS.URL, Replicas: c.Cluster.Replicas,
		Storage: c.Cluster.Storage, TLS: c.Cluster.TLS.options(), Username: c.Cluster.Username, Password: c.Cluster.Password,
		NATSTLS: c.NATS.TLS.options(), NATSCreds: c.NATS.Creds, NATSUser: c.NATS.User, NATSPassword: c.NATS.Password, NATSToken: c.NATS.Token,
	}
}

// validateCluster checks the cluster: and nats: sections.
func (c *Config) validateCluster(bad func(key, format string, a ...any)) {
	cl := c.Cluster
	addr := func(key, a string) {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			bad(key, "%q is not host:port", a)
			return
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil || strings.ContainsAny(host, " /") {
			bad(key, "%q is not host:port", a)
		}
	}
	if cl.Listen != "" {
		addr("cluster.listen", cl.Listen)
	}
	if cl.ClientListen != "" {
		addr("cluster.client_listen", cl.ClientListen)
	}
	for _, r := range cl.Routes {
		if a, ok := strings.CutPrefix(r, "nats-route://"); ok {
			r = a
		}
		addr("cluster.routes", r)
	}
	switch {
	case cl.Listen != "" && c.NATS.URL != "":
		bad("nats.url", "set either nats.url (an external NATS) or cluster.listen (embedded), not both")
	case cl.Listen == "" && (len(cl.Routes) > 0 || cl.ClientListen != ""):
		bad("cluster.listen", "is needed for cluster.routes and cluster.client_listen")
	}
	if _, err := core.ParseTrustedProxies(c.TrustedProxies); err != nil {
		bad("trusted_proxies", "%v", err)
	}
	c.validateClusterSecurity(bad)
	switch cl.Storage {
	case "", "memory":
	case "file":
		if cl.Listen != "" && c.DataDir == "" {
			bad("cluster.storage", "file needs data_dir (the embedded NATS keeps its files in data_dir/nats)")
		}
	default:
		bad("cluster.storage", "%q is not memory or file", cl.Storage)
	}
	if u := c.NATS.URL; u != "" {
		for _, one := range strings.Split(u, ",") {
			if !strings.Contains(one, "://") {
				bad("nats.url", "%q is not a nats:// URL", one)
			}
		}
	}
}

// validateClusterSecurity checks the TLS and credential keys of both
// sections: they belong to the mode in use and go in their pairs.
func (c *Config) validateClusterSecurity(bad func(key, format string, a ...any)) {
	cl, n := c.Cluster, c.NATS
	if t := cl.TLS; t.set() {
		if cl.Listen == "" {
			bad("cluster.tls", "applies to the embedded NATS server: set cluster.listen (nats.tls is for an external NATS)")
		}
		if t.CertFile == "" || t.KeyFile == "" || t.CAFile == "" {
			bad("cluster.tls", "needs cert_file, key_file and ca_file: routes use mutual TLS")
		}
	}
	if (cl.Username == "") != (cl.Password == "") {
		bad("cluster.username", "and cluster.password go together")
	}
	if cl.Username != "" && cl.Listen == "" {
		bad("cluster.username", "applies to the embedded NATS server: set cluster.listen (nats.user is for an external NATS)")
	}
	if (n.TLS.set() || n.Creds != "" || n.User != "" || n.Password != "" || n.Token != "") && n.URL == "" {
		bad("nats", "tls, creds, user, password and token need nats.url")
	}
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		bad("nats.tls", "cert_file and key_file go together")
	}
	if (n.User == "") != (n.Password == "") {
		bad("nats.user", "and nats.password go together")
	}
	if k := btoi(n.Creds != "") + btoi(n.User != "") + btoi(n.Token != ""); k > 1 {
		bad("nats", "creds, user and token are exclusive")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reloadClusterTLS is the cluster part of a SIGHUP: the route certificate
// and key are read again; a bad file keeps the ones in use.
func reloadClusterTLS(srv *herald.Server, logger *slog.Logger) {
	ok, err := srv.ReloadClusterTLS()
	switch {
	case err != nil:
		logger.Error("SIGHUP: cluster TLS reload failed; keeping the previous certificate", "err", err)
	case ok:
		logger.Info("SIGHUP: cluster TLS certificate reloaded")
	}
}
