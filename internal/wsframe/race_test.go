//go:build race

package wsframe

// The race detector instruments allocations, so allocation counts are only
// asserted without it.
const raceEnabled = true
