package herald_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/internal/durable"
)

func TestOpenDataDir(t *testing.T) {
	dir := t.TempDir()
	s, err := herald.Open(herald.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// A second server on the same directory is refused, clearly.
	if _, err := herald.Open(herald.Options{DataDir: dir}); !errors.Is(err, durable.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.SendToQueue(ctx, "jobs", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// The lock was released with the shutdown.
	s, err = herald.Open(herald.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(ctx)
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"herald_store_size_bytes ", "herald_store_commit_seconds_count "} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
}

// TestNewWithDataDir: New opens a data directory as Open does, and
// panics where Open reports an error (here: the directory is in use).
func TestNewWithDataDir(t *testing.T) {
	dir := t.TempDir()
	s := herald.New(herald.Options{DataDir: dir})
	defer s.Shutdown(context.Background())
	if _, err := herald.Open(herald.Options{DataDir: dir}); err == nil {
		t.Fatal("a second Open of a directory in use succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("New of a directory in use did not panic")
		}
	}()
	herald.New(herald.Options{DataDir: dir})
}
