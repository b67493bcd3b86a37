package main

import (
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/topic"
)

// DurabilityConfig is when writes to the data directory are made
// durable (docs/durability.md).
type DurabilityConfig struct {
	Policy   string        `yaml:"policy"`   // sync (default) or interval
	Interval time.Duration `yaml:"interval"` // interval's period; default 5ms
}

var durabilityPolicies = map[string]herald.DurabilityPolicy{
	"":         herald.SyncEach,
	"sync":     herald.SyncEach,
	"interval": herald.GroupInterval,
}

func init() {
	settings = append(settings,
		stringSetting("data_dir", "DIR", "keep MQTT sessions and retained messages, STOMP queues and durable topics on disk in DIR; empty keeps everything in memory", func(c *Config) *string { return &c.DataDir }),
		stringSetting("durability.policy", "POLICY", "sync (each acknowledgement waits for its commit; concurrent ones share it) or interval (commit every durability.interval)", func(c *Config) *string { return &c.Durability.Policy }),
		durationSetting("durability.interval", "5ms", "commit period of the interval policy", func(c *Config) *time.Duration { return &c.Durability.Interval }),
		listSetting("durable_topics", "LIST", "comma-separated topic filters whose history is kept in data_dir (\"sensors/#\")", func(c *Config) *[]string { return &c.DurableTopics }),
	)
}

// validateDurable checks the data directory settings.
func (c *Config) validateDurable(bad func(key, format string, a ...any)) {
	if _, ok := durabilityPolicies[c.Durability.Policy]; !ok {
		bad("durability.policy", "%q is not sync or interval", c.Durability.Policy)
	}
	if c.Durability.Interval < 0 {
		bad("durability.interval", "%v is negative (0 means the default)", c.Durability.Interval)
	}
	for _, f := range c.DurableTopics {
		if err := topic.ValidFilter(f); err != nil {
			bad("durable_topics", "%q: %v", f, err)
		}
	}
	if len(c.DurableTopics) > 0 && c.DataDir == "" {
		bad("durable_topics", "needs data_dir")
	}
}

// applyDurable sets the data directory options.
func applyDurable(c *Config, opts *herald.Options) {
	opts.DataDir = c.DataDir
	opts.Durability = herald.Durability{
		Policy:   durabilityPolicies[c.Durability.Policy],
		Interval: c.Durability.Interval,
		Topics:   c.DurableTopics,
	}
}
