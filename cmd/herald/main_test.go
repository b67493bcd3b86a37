package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version", args: []string{"version"}, wantStdout: "herald dev\ngo1."},
		{name: "help", args: []string{"help"}, wantStdout: "herald [serve] [flags]"},
		{name: "serve help", args: []string{"serve", "--help"}, wantStderr: "--allowed-origins LIST  (HERALD_ALLOWED_ORIGINS)"},
		{name: "flags without serve", args: []string{"-h"}, wantStderr: "Usage: herald [serve]"},
		{name: "unknown command", args: []string{"start"}, wantCode: 2, wantStderr: `herald: unknown command "start"`},
		{name: "bad flag", args: []string{"--listen"}, wantCode: 2, wantStderr: "herald: flag needs an argument: -listen"},
		{name: "bad config", args: []string{"serve"}, env: map[string]string{"HERALD_LOG_FORMAT": "xml"}, wantCode: 2,
			wantStderr: "herald: invalid configuration:\n  log.format: \"xml\" is not text or json\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr, env(tt.env))
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestWriteVersion(t *testing.T) {
	t.Parallel()
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Path:      "github.com/heraldhq/herald/cmd/herald",
		Main:      debug.Module{Path: "github.com/heraldhq/herald", Version: "(devel)"},
		Deps:      []*debug.Module{{Path: "gopkg.in/yaml.v3", Version: "v3.0.1"}},
		Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}},
	}
	var out bytes.Buffer
	writeVersion(&out, bi)
	for _, want := range []string{"herald dev\n", "mod\tgithub.com/heraldhq/herald\t(devel)", "dep\tgopkg.in/yaml.v3\tv3.0.1", "build\tvcs.revision=abc123"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	writeVersion(&out, nil) // a binary built without module support
	if lines := strings.Count(out.String(), "\n"); lines != 2 {
		t.Errorf("without build info: %q, want two lines", out.String())
	}
}

func TestNewLogger(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	l := newLogger(&out, LogConfig{Level: "warn", Format: "json"})
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if got := out.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown","k":"v"`) {
		t.Fatalf("json logger at warn wrote %q", got)
	}
	out.Reset()
	newLogger(&out, LogConfig{Level: "debug", Format: "text"}).Debug("shown")
	if !strings.Contains(out.String(), "level=DEBUG msg=shown") {
		t.Fatalf("text logger at debug wrote %q", out.String())
	}
}
