// Package tools lets a test that needs an external tool (a registry, git, a
// Prometheus server, a browser) say so. On a developer's machine a missing
// tool skips the test with the command that installs it; in CI, where
// .ci/run installs every tool and sets SWITCHYARD_REQUIRE_TOOLS=1, a missing
// tool fails the test instead, so a skipped test can never pass CI unseen.
package tools

import (
	"fmt"
	"os"
	"testing"
)

// RequireEnv is the variable that turns "tool missing" skips into failures.
const RequireEnv = "SWITCHYARD_REQUIRE_TOOLS"

// Required reports whether missing tools fail tests rather than skip them.
func Required() bool {
	v := os.Getenv(RequireEnv)
	return v != "" && v != "0" && v != "false"
}

// Missing skips t, or fails it when tools are required, with a message
// saying what is missing and how to install it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (%s is set: a missing tool is a failure)", msg, RequireEnv)
	}
	t.Skip(msg)
}
