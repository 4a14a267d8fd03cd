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
  kubectl argo rollouts abort backend-canary

  # In a script: fail if the rollout was already aborted
  kubectl argo rollouts abort backend-canary --strict`

	// patch is what the controller reads as "abort": Argo's exact body.
	patch = `{"status":{"abort":true}}`
)

// Options of abort.
type Options struct {
	*cli.Factory
	// Strict refuses to abort a rollout that is already aborted.
	Strict bool

	names    []string
	rollouts *cli.Rollouts
}

// NewCmd returns the abort command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "abort ROLLOUT_NAME",
		Short: "Abort a rollout",
		Long: `Stop the update in flight and go back to the stable pods: a canary drains its
new pods, a blue-green rollout keeps (or puts back) its active Service on the
stable ReplicaSet. The rollout is Degraded until it is retried, or until
spec.template is set back to the stable version, which completes the rollback.

Each named rollout is aborted in turn; the first failure stops the command.
As with Argo Rollouts' plugin, aborting a rollout that is already aborted
succeeds and changes nothing. With --strict it is an error (exit 1), so a
script notices a second abort.`,
		Example:           example,
		RunE:              cli.RunE(o),
		ValidArgsFunction: f.CompleteRolloutNames,
	}
	cmd.Flags().BoolVar(&o.Strict, "strict", false, "Fail (exit 1) when a rollout is already aborted instead of reporting it aborted again")
	return cmd
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
		if o.Strict {
			ro, err := o.rollouts.Get(ctx, name)
			if err != nil {
				return err
			}
			if ro.Status.Abort {
				return fmt.Errorf("rollout '%s' is already aborted; use 'kubectl argo rollouts retry rollout %s' to resume it", name, name)
			}
		}
		// Like Argo's plugin, no read first: the patch alone needs only
		// the patch permission, and a missing Rollout answers NotFound.
		if _, err := o.rollouts.PatchStatus(ctx, name, []byte(patch), []byte(patch)); err != nil {
			return fmt.Errorf("abort rollout %s: %w", name, err)
		}
		fmt.Fprintf(o.Out, "rollout '%s' aborted\n", name)
	}
	return nil
}
