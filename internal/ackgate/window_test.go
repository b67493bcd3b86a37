package ackgate

import (
	"testing"
	"time"
)

func TestWindowBlocksWhenFullAndRunsIdleAfterTheLast(t *testing.T) {
	w := NewWindow(2)
	w.Begin()
	w.Begin()
	third := make(chan struct{})
	go func() { w.Begin(); close(third) }()
	idle := make(chan struct{})
	w.WhenIdle(func() { close(idle) })
	select {
	case <-third:
		t.Fatal("Begin went past a full window")
	case <-idle:
		t.Fatal("WhenIdle ran with publishes in flight")
	default:
	}
	w.End() // room for the third
	<-third
	w.End()
	w.End()
	select {
	case <-idle:
	case <-time.After(10 * time.Second):
		t.Fatal("WhenIdle did not run once the window emptied")
	}
	ran := false
	w.WhenIdle(func() { ran = true }) // idle: at once
	if !ran {
		t.Fatal("WhenIdle on an idle window did not run at once")
	}
	(*Window)(nil).WhenIdle(func() { ran = false })
	if ran {
		t.Fatal("WhenIdle on a nil window did not run")
	}
}
