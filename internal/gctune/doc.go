// Package gctune sets the Go collector of a Herald server process: its
// heap growth (GOGC) and an optional soft memory limit (GOMEMLIMIT). A
// gateway's live heap is mostly long-lived connection state, so the
// collector's default headroom (the heap may grow to twice the live size)
// is what decides its resident memory per idle connection; the trade-off
// is in docs/adr/0015-gc-headroom.md.
//
// Only processes call it (`herald serve`, `herald bench serve`); the
// library never changes the collector of the application embedding it.
package gctune
