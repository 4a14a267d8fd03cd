// Package retry implements `kubectl argo rollouts retry rollout|experiment`:
// resume an aborted Rollout, or start a finished Experiment again.
package retry

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// patch clears the abort flag: Argo's exact body.
const patch = `{"status":{"abort":false}}`

// experimentPatch clears an Experiment's status on the main resource (the
// CRD has no status subresource): Argo's exact body. The controller starts
// it again from Pending, with fresh runs.
const experimentPatch = `{"status":null}`

// NewCmd returns `retry` with its `rollout` and `experiment` subcommands.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retry <rollout|experiment> RESOURCE_NAME",
		Short: "Retry a rollout or experiment",
		Long:  "Start an aborted update again, from its first step, or a finished Experiment again, from the start.",
		Example: `  # Retry an aborted rollout
  kubectl argo rollouts retry rollout backend-canary

  # Retry an experiment
  kubectl argo rollouts retry experiment my-experiment`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cli.Usagef("specify what to retry: %q or %q", "retry rollout ROLLOUT_NAME", "retry experiment EXPERIMENT_NAME")
		},
	}
	cmd.AddCommand(newRolloutCmd(f), newExperimentCmd(f))
	return cmd
}

// ExperimentOptions of retry experiment.
type ExperimentOptions struct {
	*cli.Factory
	names       []string
	experiments dynamic.ResourceInterface
}

func newExperimentCmd(f *cli.Factory) *cobra.Command {
	o := &ExperimentOptions{Factory: f}
	return &cobra.Command{
		Use:     "experiment EXPERIMENT_NAME",
		Aliases: []string{"exp", "experiments"},
		Short:   "Retry an experiment",
		Long: `Start an Experiment again: its status is cleared, so it runs from Pending,
scales its ReplicaSets up again and creates new AnalysisRuns (<name>.1,
<name>.2, ...; the earlier runs are kept).`,
		Example: `  # Retry an experiment
  kubectl argo rollouts retry experiment my-experiment`,
		RunE: cli.RunE(o),
	}
}

// Complete reads the names and builds the client.
func (o *ExperimentOptions) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.names, err = cli.Names(args, "experiment"); err != nil {
		return err
	}
	ns, err := o.Namespace()
	if err != nil {
		return err
	}
	client, err := o.Dynamic()
	if err != nil {
		return err
	}
	o.experiments = client.Resource(cli.ExperimentGVR).Namespace(ns)
	return nil
}

// Validate has nothing to check beyond Complete.
func (o *ExperimentOptions) Validate() error { return nil }

// Run clears each Experiment's status in turn. API errors are returned as
// the server wrote them.
func (o *ExperimentOptions) Run(cmd *cobra.Command) error {
	for _, name := range o.names {
		if _, err := o.experiments.Patch(cmd.Context(), name, types.MergePatchType, []byte(experimentPatch), metav1.PatchOptions{}); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "experiment '%s' retried\n", name)
	}
	return nil
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
