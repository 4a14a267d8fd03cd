// Package pause implements `kubectl argo rollouts pause`: hold a Rollout
// where it is (spec.paused) until it is promoted.
package pause

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// patch is Argo's exact body.
const patch = `{"spec":{"paused":true}}`

// Options of pause.
type Options struct {
	*cli.Factory
	names    []string
	rollouts *cli.Rollouts
}

// NewCmd returns the pause command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	return &cobra.Command{
		Use:   "pause ROLLOUT_NAME",
		Short: "Pause a rollout",
		Long:  "Hold the rollout where it stands (spec.paused: true) until it is promoted.",
		Example: `  # Pause a rollout
  kubectl argo rollouts pause backend-canary`,
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

// Run pauses each rollout in turn.
func (o *Options) Run(cmd *cobra.Command) error {
	for _, name := range o.names {
		if _, err := o.rollouts.Patch(cmd.Context(), name, types.MergePatchType, []byte(patch)); err != nil {
			return fmt.Errorf("pause rollout %s: %w", name, err)
		}
		fmt.Fprintf(o.Out, "rollout '%s' paused\n", name)
	}
	return nil
}
