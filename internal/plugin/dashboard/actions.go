package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/switchyard-dev/switchyard/internal/plugin/abort"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/promote"
	"github.com/switchyard-dev/switchyard/internal/plugin/restart"
	"github.com/switchyard-dev/switchyard/internal/plugin/retry"
	"github.com/switchyard-dev/switchyard/internal/plugin/set"
)

// Actions the page's buttons post, by the path segment that names them.
const (
	ActionPromote     = "promote"
	ActionPromoteFull = "promote-full"
	ActionAbort       = "abort"
	ActionRetry       = "retry"
	ActionRestart     = "restart"
	ActionSetImage    = "set-image"
)

// ActionRequest is the JSON body of an action; only set-image reads it.
type ActionRequest struct {
	Container string `json:"container"`
	Image     string `json:"image"`
}

// command is the plugin command an action runs and its arguments, exactly
// as a person would type them after `kubectl argo rollouts`: a button runs
// the very command (Complete, Validate, Run) the CLI runs.
func command(f *cli.Factory, action, name string, req ActionRequest) (*cobra.Command, []string, error) {
	switch action {
	case ActionPromote:
		return promote.NewCmd(f), []string{"--", name}, nil
	case ActionPromoteFull:
		return promote.NewCmd(f), []string{"--full", "--", name}, nil
	case ActionAbort:
		return abort.NewCmd(f), []string{"--", name}, nil
	case ActionRetry:
		return retry.NewCmd(f), []string{"rollout", "--", name}, nil
	case ActionRestart:
		return restart.NewCmd(f), []string{"--", name}, nil
	case ActionSetImage:
		if req.Container != "*" {
			if errs := validation.IsDNS1123Label(req.Container); len(errs) > 0 {
				return nil, nil, cli.Usagef("container %q: %s", req.Container, strings.Join(errs, "; "))
			}
		}
		if strings.TrimSpace(req.Image) == "" || strings.ContainsAny(req.Image, " \t\r\n") {
			return nil, nil, cli.Usagef("image %q: must be a non-empty image reference without spaces", req.Image)
		}
		return set.NewCmd(f), []string{"image", "--", name, req.Container + "=" + req.Image}, nil
	}
	return nil, nil, errUnknownAction
}

var errUnknownAction = errors.New("unknown action")

// runAction runs action on the Rollout ns/name with base's clients and
// returns what the command printed.
func runAction(ctx context.Context, base *cli.Factory, ns, name, action string, req ActionRequest) (string, error) {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", cli.Usagef("rollout name %q: %s", name, strings.Join(errs, "; "))
	}
	var out bytes.Buffer
	f, err := base.ForNamespace(ns, &out)
	if err != nil {
		return "", err
	}
	cmd, args, err := command(f, action, name, req)
	if err != nil {
		return "", err
	}
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.ExecuteContext(ctx); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

// httpStatus is the status an action's error is answered with: the API
// server's own for its errors (403, 404, 409, ...), 400 for bad input.
func httpStatus(err error) int {
	var status apierrors.APIStatus
	switch {
	case errors.Is(err, errUnknownAction):
		return http.StatusNotFound
	case cli.IsUsage(err):
		return http.StatusBadRequest
	case errors.As(err, &status) && status.Status().Code >= 400:
		return int(status.Status().Code)
	}
	return http.StatusInternalServerError
}

// describe names an action for messages.
func describe(action, ns, name string) string {
	return fmt.Sprintf("%s %s/%s", action, ns, name)
}
