// Package terminate implements `kubectl argo rollouts terminate
// analysisrun|experiment`: stop a running AnalysisRun or Experiment.
package terminate

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// patch is Argo's exact body, for runs and Experiments alike: terminate is
// a spec field, so it goes to the main resource.
const patch = `{"spec":{"terminate":true}}`

// NewCmd returns `terminate` with its `analysisrun` and `experiment`
// subcommands.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "terminate <analysisrun|experiment> RESOURCE_NAME",
		Short: "Terminate an AnalysisRun or Experiment",
		Long:  "Stop an AnalysisRun (no new measurement starts, measurements in flight are stopped, and the run ends with the results it has) or an Experiment (its ReplicaSets are scaled down and its runs terminated).",
		Example: `  # Terminate an AnalysisRun
  kubectl argo rollouts terminate analysisrun backend-canary-6c4f7b9d8-3-1

  # Terminate an Experiment
  kubectl argo rollouts terminate experiment my-experiment`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return cli.Usagef("specify what to terminate: %q or %q", "terminate analysisrun ANALYSISRUN_NAME", "terminate experiment EXPERIMENT_NAME")
		},
	}
	cmd.AddCommand(newAnalysisRunCmd(f), newExperimentCmd(f))
	return cmd
}

// Options of terminate analysisrun and terminate experiment.
type Options struct {
	*cli.Factory
	// kind is what the command terminates: "analysisrun" or "experiment".
	kind   string
	names  []string
	runs   dynamic.ResourceInterface
	client dynamic.Interface
}

func newExperimentCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f, kind: "experiment"}
	return &cobra.Command{
		Use:     "experiment EXPERIMENT_NAME",
		Aliases: []string{"exp", "experiments"},
		Short:   "Terminate an Experiment",
		Long: `Stop an Experiment before its duration ends: its AnalysisRuns are
terminated and its ReplicaSets scaled down after scaleDownDelaySeconds. An
Experiment stopped while its runs were passing ends Successful.`,
		Example: `  # Terminate an Experiment
  kubectl argo rollouts terminate experiment my-experiment`,
		RunE: cli.RunE(o),
	}
}

func newAnalysisRunCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f, kind: "analysisrun"}
	return &cobra.Command{
		Use:     "analysisrun ANALYSISRUN_NAME",
		Aliases: []string{"ar", "analysisruns"},
		Short:   "Terminate an AnalysisRun",
		Long: `Stop an AnalysisRun. A run stopped before any limit was breached ends
Successful ("Run Terminated"); a Job measurement in flight is deleted and
counts as Inconclusive.`,
		Example: `  # Terminate an AnalysisRun
  kubectl argo rollouts terminate analysisrun backend-canary-6c4f7b9d8-3-1`,
		RunE: cli.RunE(o),
	}
}

// Complete reads the names and builds the client.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.names, err = cli.Names(args, o.kind); err != nil {
		return err
	}
	ns, err := o.Namespace()
	if err != nil {
		return err
	}
	if o.client, err = o.Dynamic(); err != nil {
		return err
	}
	gvr := cli.AnalysisRunGVR
	if o.kind == "experiment" {
		gvr = cli.ExperimentGVR
	}
	o.runs = o.client.Resource(gvr).Namespace(ns)
	return nil
}

// Validate has nothing to check beyond Complete.
func (o *Options) Validate() error { return nil }

// Run terminates each object in turn, stopping at the first failure. API
// errors are returned as the server wrote them
// (`analysisruns.argoproj.io "x" not found`). For an Experiment it prints
// "terminated", where Argo's plugin prints "retried" by mistake.
func (o *Options) Run(cmd *cobra.Command) error {
	label := "analysisRun"
	if o.kind == "experiment" {
		label = "experiment"
	}
	for _, name := range o.names {
		if _, err := o.runs.Patch(cmd.Context(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s '%s' terminated\n", label, name)
	}
	return nil
}
