package failure

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	root := errors.New("connection refused")
	err := fmt.Errorf("poll: %w", New("RegistryUnreachable", fmt.Errorf("dial: %w", root), "cannot reach %s", "r.io"))
	if got := Reason(err, "x"); got != "RegistryUnreachable" {
		t.Errorf("Reason = %q", got)
	}
	if got := Reason(root, "Default"); got != "Default" {
		t.Errorf("Reason of a plain error = %q", got)
	}
	if !errors.Is(err, root) {
		t.Error("Error does not unwrap to its cause")
	}
	if got := err.Error(); got != "poll: cannot reach r.io: dial: connection refused" {
		t.Errorf("Error() = %q", got)
	}
	if got := RootCause(err); got != "connection refused" {
		t.Errorf("RootCause = %q", got)
	}
	if got := RootCause(errors.Join(errors.New("first"), errors.New("second"))); got != "first" {
		t.Errorf("RootCause of a joined error = %q", got)
	}
}
