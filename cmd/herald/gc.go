package main

import "github.com/heraldhq/herald/internal/gctune"

// GCConfig is the gc: section, the Go collector of the process (ADR
// 0015). Zeros mean the defaults: GOGC from the environment, else 50;
// no memory limit unless GOMEMLIMIT sets one.
type GCConfig struct {
	Percent     int `yaml:"percent"`
	MemoryLimit int `yaml:"memory_limit"` // bytes
}

func init() {
	settings = append(settings,
		intSetting("gc.percent", "GOGC, else 50", "heap growth between collections, in percent of the live heap: lower keeps less memory per idle connection for more collector CPU", func(c *Config) *int { return &c.GC.Percent }),
		intSetting("gc.memory_limit", "GOMEMLIMIT, else none", "soft limit on the process's Go memory in bytes: near it the collector runs more often", func(c *Config) *int { return &c.GC.MemoryLimit }),
	)
}

func (c *Config) validateGC(bad func(key, format string, a ...any)) {
	if c.GC.Percent < 0 {
		bad("gc.percent", "%d is negative: a server without a collector grows without bound (0 means the default)", c.GC.Percent)
	}
	if c.GC.MemoryLimit < 0 {
		bad("gc.memory_limit", "%d is negative (0 means none)", c.GC.MemoryLimit)
	}
}

// applyGC puts the gc: section in force for this process.
func applyGC(g GCConfig, lookupEnv func(string) (string, bool)) gctune.Effective {
	return gctune.Apply(gctune.Settings{Percent: g.Percent, MemoryLimit: int64(g.MemoryLimit)}, lookupEnv)
}
