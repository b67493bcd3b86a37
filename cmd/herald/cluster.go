package main

import (
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
}

// NATSConfig is the nats: section: join an external NATS cluster instead.
type NATSConfig struct {
	URL string `yaml:"url"`
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
	)
}

// clusterOptions is the library's view of both sections.
func (c *Config) clusterOptions() herald.ClusterOptions {
	return herald.ClusterOptions{
		Name: c.Cluster.Name, Node: c.Cluster.Node, Listen: c.Cluster.Listen, Routes: c.Cluster.Routes,
		ClientListen: c.Cluster.ClientListen, NATSURL: c.NATS.URL, Replicas: c.Cluster.Replicas,
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
	if u := c.NATS.URL; u != "" {
		for _, one := range strings.Split(u, ",") {
			if !strings.Contains(one, "://") {
				bad("nats.url", "%q is not a nats:// URL", one)
			}
		}
	}
}
