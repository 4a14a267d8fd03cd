// Package failure carries a condition reason with an error, so the parts of
// the image updater (registry, git, Kubernetes write-back) classify their
// failures where they understand them and the reconciler only reports them.
package failure

import (
	"errors"
	"fmt"
)

// Error is an error with a condition reason (one of the Reason* constants of
// the images.switchyard.dev API) and a message fit for users: it must not hold
// credentials.
type Error struct {
	Reason  string
	Message string
	// Err is the underlying error, kept for errors.Is/As and logs.
	Err error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with reason and a formatted message wrapping err.
func New(reason string, err error, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...), Err: err}
}

// Reason returns the reason of the first Error in err's chain, or def.
func Reason(err error, def string) string {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return def
}

// RootCause is the innermost error's text: the part users act on
// ("connection refused"), without the chain of URLs and verbs around it.
func RootCause(err error) string {
	for {
		var next error
		switch e := err.(type) {
		case interface{ Unwrap() error }:
			next = e.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := e.Unwrap(); len(errs) > 0 {
				next = errs[0]
			}
		}
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
