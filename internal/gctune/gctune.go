package gctune

import (
	"math"
	"runtime/debug"
	"strconv"
)

// DefaultPercent is GOGC for a Herald process when neither its
// configuration nor the GOGC variable says otherwise: the heap may grow
// by half its live size between collections instead of doubling (ADR
// 0015).
const DefaultPercent = 50

// Settings are a process's collector settings; zeros mean the defaults.
type Settings struct {
	// Percent is GOGC: 0 for the GOGC variable if set, else
	// DefaultPercent. Negative values are refused by Apply's caller (a
	// server with the collector off grows without bound).
	Percent int
	// MemoryLimit is a soft limit in bytes on the Go runtime's memory
	// (debug.SetMemoryLimit): near it the collector runs more often,
	// whatever Percent says. 0 for the GOMEMLIMIT variable if set, else
	// none.
	MemoryLimit int64
}

// Effective is what Apply put in force, for the log.
type Effective struct {
	Percent     int
	MemoryLimit int64 // math.MaxInt64: none
	Source      string
}

// Apply sets the collector as s describes. lookupEnv reads the
// environment (os.LookupEnv); the runtime has already applied GOGC and
// GOMEMLIMIT from it, so a set variable is left alone unless s overrides
// it.
func Apply(s Settings, lookupEnv func(string) (string, bool)) Effective {
	e := Effective{Source: "config"}
	switch gogc, set := lookupEnv("GOGC"); {
	case s.Percent > 0:
		e.Percent = s.Percent
		debug.SetGCPercent(s.Percent)
	case set && gogc != "":
		e.Source = "GOGC"
		e.Percent = debug.SetGCPercent(-1) // read the runtime's value back
		debug.SetGCPercent(e.Percent)
	default:
		e.Source = "default"
		e.Percent = DefaultPercent
		debug.SetGCPercent(DefaultPercent)
	}
	if s.MemoryLimit > 0 {
		debug.SetMemoryLimit(s.MemoryLimit)
	}
	e.MemoryLimit = debug.SetMemoryLimit(-1) // a negative limit reads it
	return e
}

// String describes e for a log line.
func (e Effective) String() string {
	limit := "none"
	if e.MemoryLimit != math.MaxInt64 {
		limit = strconv.FormatInt(e.MemoryLimit, 10) + " B"
	}
	return "GOGC " + strconv.Itoa(e.Percent) + " (" + e.Source + "), memory limit " + limit
}
