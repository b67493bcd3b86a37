package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRootHoldsGoMod(t *testing.T) {
	if _, err := os.Stat(filepath.Join(Root(t), "go.mod")); err != nil {
		t.Fatal(err)
	}
}

func TestRunReturnsStdoutAndEnv(t *testing.T) {
	out := Run(t, 10*time.Second, t.TempDir(), map[string]string{"HERALD_X": "42"}, "sh", "-c", "echo $HERALD_X")
	if strings.TrimSpace(out) != "42" {
		t.Fatalf("out = %q", out)
	}
}

func TestListenGivesAPort(t *testing.T) {
	ln := Listen(t)
	if Port(ln) == "0" || !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
		t.Fatalf("listener on %s", ln.Addr())
	}
}
