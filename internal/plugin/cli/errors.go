package cli

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExitFailure is the exit code of every failed command, as in Argo's
// plugin: scripts only distinguish success from failure.
const ExitFailure = 1

// UsageError is a mistake on the command line (missing name, bad flag
// value); the root command follows it with a pointer to --help.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Message is the text printed after "Error: ". Verbs wrap errors with what
// they were doing, but for the API's NotFound, Forbidden and Unauthorized
// answers the server's own message is printed alone: it already names the
// verb, resource and object (`rollouts.argoproj.io "x" not found`), it is
// what Argo's plugin prints, and scripts match on it.
func Message(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		switch status.Status().Reason {
		case metav1.StatusReasonNotFound, metav1.StatusReasonForbidden, metav1.StatusReasonUnauthorized:
			return status.Status().Message
		}
	}
	return err.Error()
}

// OneName returns args[0] when exactly one name was given.
func OneName(args []string, what string) (string, error) {
	if len(args) != 1 {
		return "", Usagef("expected exactly one %s name, got %d arguments", what, len(args))
	}
	return args[0], nil
}

// Names returns args when at least one name was given (abort, pause and
// retry accept several, as in Argo's plugin).
func Names(args []string, what string) ([]string, error) {
	if len(args) == 0 {
		return nil, Usagef("expected at least one %s name", what)
	}
	return args, nil
}
