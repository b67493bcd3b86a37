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

func TestNewWithDataDirPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New with a DataDir did not panic")
		}
	}()
	herald.New(herald.Options{DataDir: t.TempDir()})
}
