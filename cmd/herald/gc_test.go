package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestGCConfig(t *testing.T) {
	file := writeConfig(t, "gc:\n  percent: 80\n  memory_limit: 1073741824\n")
	cfg, err := LoadConfig([]string{"--config", file, "--gc-percent", "30"}, env(map[string]string{"HERALD_GC_MEMORY_LIMIT": "536870912"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GC.Percent != 30 || cfg.GC.MemoryLimit != 512<<20 {
		t.Errorf("gc = %+v; want the flag's percent and the variable's limit", cfg.GC)
	}
	_, err = LoadConfig([]string{"--gc-percent", "-1", "--gc-memory-limit", "-5"}, env(nil), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "gc.percent") || !strings.Contains(err.Error(), "gc.memory_limit") {
		t.Errorf("negative settings: %v", err)
	}
}
