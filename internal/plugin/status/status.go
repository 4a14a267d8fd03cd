// Package status implements `kubectl argo rollouts status`: print a
// Rollout's phase and, by default, wait until it is Healthy (exit 0) or
// Degraded (exit 1), so CI pipelines can gate on a release.
package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/phase"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/view"
)

// Values of --until.
const (
	UntilHealthy = "healthy"
	UntilPaused  = "paused"
)

// Options of status.
type Options struct {
	*cli.Factory
	// Watch waits for the rollout to finish instead of printing once.
	Watch bool
	// Timeout bounds the wait; 0 waits forever.
	Timeout time.Duration
	// Until is the Switchyard extension: "paused" also ends the wait, with
	// success, when the rollout reaches Paused.
	Until string

	name     string
	rollouts *cli.Rollouts
}

// NewCmd returns the status command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "status ROLLOUT_NAME",
		Short: "Show the status of a rollout",
		Long: `Print the rollout's phase and message, and with --watch (the default) each
change, until the rollout is Healthy (exit 0), Degraded or --timeout passes
(exit 1).

With --until paused (a Switchyard extension) the watch also ends, with success,
when the rollout reaches Paused: a pipeline can stop at a blue-green or canary
pause and hand over to a person, then wait again after the promote.`,
		Example: `  # Watch the rollout until it succeeds
  kubectl argo rollouts status backend-canary

  # Show the rollout status
  kubectl argo rollouts status backend-canary --watch=false

  # Watch the rollout until it succeeds, fail if it takes more than 60 seconds
  kubectl argo rollouts status --timeout 60s backend-canary

  # Wait until the rollout is paused for a manual promotion (or healthy)
  kubectl argo rollouts status backend-canary --until paused`,
		RunE:              cli.RunE(o),
		ValidArgsFunction: f.CompleteRolloutNames,
	}
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", true, "Watch the status of the rollout until it's done")
	cmd.Flags().DurationVarP(&o.Timeout, "timeout", "t", 0, "The length of time to watch before giving up. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). Zero means wait forever")
	cmd.Flags().StringVar(&o.Until, "until", UntilHealthy, `What ends the watch with success: "healthy", or "paused" to also succeed when the rollout reaches Paused (Switchyard extension)`)
	return cmd
}

// Complete reads the name and builds the client.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.name, err = cli.OneName(args, "rollout"); err != nil {
		return err
	}
	o.rollouts, _, err = o.RolloutsInNamespace()
	return err
}

// Validate checks --until and --timeout.
func (o *Options) Validate() error {
	if o.Until != UntilHealthy && o.Until != UntilPaused {
		return cli.Usagef("invalid --until %q: want %q or %q", o.Until, UntilHealthy, UntilPaused)
	}
	if o.Timeout < 0 {
		return cli.Usagef("invalid --timeout %s: must not be negative", o.Timeout)
	}
	return nil
}

// Run prints the status once, or watches until done.
func (o *Options) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	// A Get first turns a missing rollout or a missing permission into an
	// immediate error instead of a watch that waits forever.
	ro, err := o.rollouts.Get(ctx, o.name)
	if err != nil {
		return err
	}
	if !o.Watch {
		p, msg := phase.ForClient(ro)
		if p == v1alpha1.RolloutPhaseHealthy || p == v1alpha1.RolloutPhaseDegraded {
			fmt.Fprintln(o.Out, p)
		} else {
			fmt.Fprintln(o.Out, view.PhaseLine(p, msg))
		}
		return degraded(p, msg)
	}
	return o.watch(ctx)
}

func (o *Options) watch(parent context.Context) error {
	timed, cancel := watchtools.ContextWithOptionalTimeout(parent, o.Timeout)
	defer cancel()
	// Once the answer is found, watchtools stops its informer while ctx
	// is still live, and the watch's closing error could be logged on the
	// user's terminal: the answer cancels ctx first, which quiets it.
	ctx, answered := context.WithCancel(timed)
	defer answered()
	ctx = cli.QuietOnceDone(ctx)
	var (
		last     string
		final    v1alpha1.RolloutPhase
		finalMsg string
	)
	condition := func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("rollout '%s' was deleted", o.name)
		}
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil // a bookmark or an error object: wait for the next event
		}
		ro, err := cli.FromUnstructured(u)
		if err != nil {
			return false, err
		}
		p, msg := phase.ForClient(ro)
		if line := view.PhaseLine(p, msg); line != last {
			fmt.Fprintln(o.Out, line)
			last = line
		}
		final, finalMsg = p, msg
		return o.done(p), nil
	}
	_, err := watchtools.UntilWithSync(ctx, o.rollouts.ListWatch(o.name), &unstructured.Unstructured{}, nil,
		func(ev watch.Event) (bool, error) {
			done, err := condition(ev)
			if done || err != nil {
				answered()
			}
			return done, err
		})
	switch {
	case err == nil:
		return degraded(final, finalMsg)
	case timed.Err() != nil && parent.Err() == nil:
		//lint:ignore ST1005 Argo's exact message; scripts match on it.
		return errors.New("Rollout status watch exceeded timeout")
	case parent.Err() != nil:
		return parent.Err()
	default:
		return fmt.Errorf("watch rollout %s: %w", o.name, err)
	}
}

func (o *Options) done(p v1alpha1.RolloutPhase) bool {
	switch p {
	case v1alpha1.RolloutPhaseHealthy, v1alpha1.RolloutPhaseDegraded:
		return true
	case v1alpha1.RolloutPhasePaused:
		return o.Until == UntilPaused
	}
	return false
}

func degraded(p v1alpha1.RolloutPhase, msg string) error {
	if p == v1alpha1.RolloutPhaseDegraded {
		//lint:ignore ST1005 Argo's exact message; scripts match on it.
		return fmt.Errorf("The rollout is in a degraded state with message: %s", msg)
	}
	return nil
}
