// Command hbench is `herald bench` as a standalone binary, so the
// benchmark script does not depend on the subcommand being wired into
// cmd/herald. See internal/bench for the scenarios.
package main

import (
	"os"

	"github.com/heraldhq/herald/internal/bench"
)

func main() {
	os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr))
}
