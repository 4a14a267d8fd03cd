// Package abort implements `kubectl argo rollouts abort`: stop an update
// and go back to the stable ReplicaSet.
package abort

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

const (
	example = `  # Abort a rollout
  kubectl argo rollouts abort backend-canary`

	// patch is what the controller reads as "abort": Argo's exact body.
	patch = `{"status":{"abort":true}}`
)

// Options of abort.
type Options struct {
	*cli.Factory
	names    []string
	rollouts *cli.Rollouts
}

// NewCmd returns the abort command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	return &cobra.Command{
		Use:   "abort ROLLOUT_NAME",
		Short: "Abort a rollout",
		Long: `Stop the update in flight and go back to the stable pods: a canary drains its
new pods, a blue-green rollout keeps (or puts back) its active Service on the
stable ReplicaSet. The rollout is Degraded until it is retried, or until
spec.template is set back to the stable version, which completes the rollback.

Aborting a rollout that is already aborted is an error.`,
		Example:           example,
		RunE:              cli.RunE(o),
		ValidArgsFunction: f.CompleteRolloutNames,
	}
}

// Complete reads the rollout names and builds the client.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.names, err = cli.Names(args, "rollout"); err != nil {
		return err
	}
	o.rollouts, _, err = o.RolloutsInNamespace()
	return err
}

// Validate has nothing to check beyond Complete.
func (o *Options) Validate() error { return nil }

// Run aborts each rollout in turn, stopping at the first failure.
func (o *Options) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	for _, name := range o.names {
		ro, err := o.rollouts.Get(ctx, name)
		if err != nil {
			return err
		}
		// Switchyard extension: Argo's plugin patches again and says
		// "aborted"; saying so makes a second abort in a script visible.
		if ro.Status.Abort {
			return fmt.Errorf("rollout '%s' is already aborted; use 'kubectl argo rollouts retry rollout %s' to resume it", name, name)
		}
		if _, err := o.rollouts.PatchStatus(ctx, name, []byte(patch), []byte(patch)); err != nil {
			return fmt.Errorf("abort rollout %s: %w", name, err)
		}
		fmt.Fprintf(o.Out, "rollout '%s' aborted\n", name)
	}
	return nil
}
