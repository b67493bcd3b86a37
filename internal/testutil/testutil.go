// Package testutil runs the real clients Herald's tests drive: Node
// scripts under tests/node, Debian's Python clients and command-line
// tools. Missing tools skip a test on a developer's machine and fail it in
// CI (CI=true), where .ci/run installs them.
package testutil

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Root returns the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Need returns the path of command, or skips (fails in CI) when absent.
func Need(t testing.TB, command string) string {
	t.Helper()
	p, err := exec.LookPath(command)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI but not installed", command)
		}
		t.Skipf("%s not installed", command)
	}
	return p
}

var npmOnce sync.Once
var npmErr error

// Node runs tests/node/<script> with env added to the environment and
// returns its standard output. The test fails on a non-zero exit, showing
// the script's standard error.
func Node(t testing.TB, timeout time.Duration, script string, env map[string]string, args ...string) string {
	t.Helper()
	node := Need(t, "node")
	dir := filepath.Join(Root(t), "tests", "node")
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			npmErr = err
			return
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = &exec.ExitError{Stderr: out}
		}
	})
	if npmErr != nil {
		t.Fatalf("npm ci in tests/node: %v", npmErr)
	}
	return Run(t, timeout, dir, env, node, append([]string{script}, args...)...)
}

// Python runs a script with Debian's interpreter, which sees the
// python3-* packages (the first python3 on PATH may not).
func Python(t testing.TB, timeout time.Duration, script string, env map[string]string, args ...string) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		Need(t, "/usr/bin/python3")
	}
	return Run(t, timeout, Root(t), env, "/usr/bin/python3", append([]string{script}, args...)...)
}

// Run runs name with args in dir and returns its standard output; a
// failure or time-out fails the test with the command's standard error.
func Run(t testing.TB, timeout time.Duration, dir string, env map[string]string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// Listen returns a TCP listener on a free loopback port.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// Port returns the port of a listener's address.
func Port(ln net.Listener) string {
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
