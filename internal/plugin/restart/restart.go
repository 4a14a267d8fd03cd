// Package restart implements `kubectl argo rollouts restart`: ask the
// controller to replace every pod created before a point in time.
package restart

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// Options of restart.
type Options struct {
	*cli.Factory
	// In delays the restart ("30s", "5m"); empty means now.
	In string

	name     string
	delay    time.Duration
	rollouts *cli.Rollouts
}

// NewCmd returns the restart command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "restart ROLLOUT",
		Short: "Restart the pods of a rollout",
		Long:  "Restart the pods of a rollout: sets spec.restartAt, and the controller replaces every pod created before that time, honouring maxUnavailable.",
		Example: `  # Restart the pods of a rollout now
  kubectl argo rollouts restart ROLLOUT_NAME

  # Restart the pods of a rollout in ten seconds
  kubectl argo rollouts restart ROLLOUT_NAME --in 10s`,
		RunE:              cli.RunE(o),
		ValidArgsFunction: f.CompleteRolloutNames,
	}
	cmd.Flags().StringVarP(&o.In, "in", "i", "", "Amount of time before a restart. (e.g. 30s, 5m, 1h)")
	return cmd
}

// Complete reads the name and the delay and builds the client.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.name, err = cli.OneName(args, "rollout"); err != nil {
		return err
	}
	if o.In != "" {
		if o.delay, err = parseDelay(o.In); err != nil {
			return err
		}
	}
	o.rollouts, _, err = o.RolloutsInNamespace()
	return err
}

// parseDelay accepts a Go duration or, like Argo's duration strings, a
// plain number of seconds.
func parseDelay(s string) (time.Duration, error) {
	if secs, err := strconv.Atoi(s); err == nil {
		return time.Duration(secs) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, cli.Usagef("invalid --in %q: want a duration such as 30s, 5m or 1h", s)
	}
	return d, nil
}

// Validate rejects a negative delay: a restart time in the past would read
// as "restart now" but look like a typo.
func (o *Options) Validate() error {
	if o.delay < 0 {
		return cli.Usagef("invalid --in %q: must not be negative", o.In)
	}
	return nil
}

// Run sets spec.restartAt.
func (o *Options) Run(cmd *cobra.Command) error {
	at := o.Clock.Now().Add(o.delay).UTC().Format(time.RFC3339)
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"restartAt": at}})
	if err != nil {
		return fmt.Errorf("encode restart patch: %w", err)
	}
	if _, err := o.rollouts.Patch(cmd.Context(), o.name, types.MergePatchType, patch); err != nil {
		return fmt.Errorf("restart rollout %s: %w", o.name, err)
	}
	in := o.In
	if in == "" {
		in = "0s"
	}
	fmt.Fprintf(o.Out, "rollout '%s' restarts in %s\n", o.name, in)
	return nil
}
