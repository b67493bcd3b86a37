package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/herald
var version = "dev"

// resolvedVersion is version, or the module version when the binary was
// built with "go install ...@vX.Y.Z" and no -ldflags.
func resolvedVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

// writeVersion prints what "herald version" shows: the version, the Go
// toolchain and platform, then the build information recorded in the
// binary (module, dependencies, VCS revision, build flags), if any.
func writeVersion(w io.Writer, bi *debug.BuildInfo) {
	fmt.Fprintf(w, "herald %s\n", resolvedVersion())
	fmt.Fprintf(w, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi != nil {
		fmt.Fprintf(w, "\n%s", bi)
	}
}
