// Package promserver finds the Prometheus server that tests and the sandbox
// run: Prometheus built once from the Go module that hack/prometheus pins
// (into a cache directory, see package sidemodule), or $PROMETHEUS when
// that names another prometheus binary.
package promserver

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-dev/switchyard/test/sidemodule"
	"github.com/switchyard-dev/switchyard/test/tools"
)

// Version is the Prometheus release hack/prometheus pins (module
// v0.316.0), stamped into the binary.
const Version = "3.16.0"

// Module is the side module Prometheus is built from: service discovery
// other than static targets is left out (remove_all_sd), which halves the
// build.
var Module = sidemodule.Module{
	Dir:      filepath.Join("hack", "prometheus"),
	Packages: []string{"github.com/prometheus/prometheus/cmd/prometheus"},
	Tags:     "remove_all_sd",
	LDFlags:  "-X github.com/prometheus/common/version.Version=" + Version,
	Outputs:  []string{"prometheus"},
	What:     "Prometheus " + Version + " (a few minutes the first time)",
}

// Binary returns the prometheus executable, building it the first time;
// build output goes to log.
func Binary(ctx context.Context, log io.Writer) (string, error) {
	if p := os.Getenv("PROMETHEUS"); p != "" {
		return p, nil
	}
	dir, err := sidemodule.Build(ctx, log, Module)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "prometheus"), nil
}

// Require returns the prometheus executable for t. When it cannot be built
// (no Go module proxy on the first build) t is skipped, or fails under
// SWITCHYARD_REQUIRE_TOOLS.
func Require(t testing.TB) string {
	t.Helper()
	var log bytes.Buffer
	bin, err := Binary(t.Context(), &log)
	if err != nil {
		tools.Missing(t, "no prometheus to run: %v\n%s", err, log.String())
	}
	return bin
}
