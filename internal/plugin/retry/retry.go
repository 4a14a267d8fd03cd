// Package retry implements `kubectl argo rollouts retry rollout`: resume an
// aborted Rollout.
package retry

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// patch clears the abort flag: Argo's exact body.
const patch = `{"status":{"abort":false}}`

// NewCmd returns `retry` with its `rollout` subcommand. Experiments do not
// exist in Switchyard, so `retry experiment` is not offered.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retry <rollout> RESOURCE_NAME",
		Short: "Retry a rollout",
		Long:  "Start an aborted update again, from its first step.",
		Example: `  # Retry an aborted rollout
  kubectl argo rollouts retry rollout backend-canary`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cli.Usagef("specify what to retry: %q", "retry rollout ROLLOUT_NAME")
		},
	}
	cmd.AddCommand(newRolloutCmd(f))
	return cmd
}

// Options of retry rollout.
type Options struct {
	*cli.Factory
	names    []string
	rollouts *cli.Rollouts
}

func newRolloutCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	return &cobra.Command{
		Use:     "rollout ROLLOUT_NAME",
		Aliases: []string{"ro", "rollouts"},
		Short:   "Retry an aborted rollout",
		Example: `  # Retry an aborted rollout
  kubectl argo rollouts retry rollout backend-canary`,
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

// Run clears abort on each rollout in turn.
func (o *Options) Run(cmd *cobra.Command) error {
	for _, name := range o.names {
		if _, err := o.rollouts.PatchStatus(cmd.Context(), name, []byte(patch), []byte(patch)); err != nil {
			return fmt.Errorf("retry rollout %s: %w", name, err)
		}
		fmt.Fprintf(o.Out, "rollout '%s' retried\n", name)
	}
	return nil
}
