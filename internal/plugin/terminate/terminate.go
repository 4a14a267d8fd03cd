// Package terminate implements `kubectl argo rollouts terminate
// analysisrun`: stop a running AnalysisRun.
package terminate

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// patch is Argo's exact body; AnalysisRuns have no status subresource and
// terminate is a spec field, so it goes to the main resource.
const patch = `{"spec":{"terminate":true}}`

// AnalysisRunGVR is the AnalysisRun resource.
var AnalysisRunGVR = v1alpha1.GroupVersion.WithResource("analysisruns")

// NewCmd returns `terminate` with its `analysisrun` subcommand.
// Experiments do not exist in Switchyard, so `terminate experiment` is not
// offered.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "terminate <analysisrun> RESOURCE_NAME",
		Short: "Terminate an AnalysisRun",
		Long:  "Stop an AnalysisRun: no new measurement starts, measurements in flight are stopped, and the run ends with the results it has.",
		Example: `  # Terminate an AnalysisRun
  kubectl argo rollouts terminate analysisrun backend-canary-6c4f7b9d8-3-1`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return cli.Usagef("specify what to terminate: %q", "terminate analysisrun ANALYSISRUN_NAME")
		},
	}
	cmd.AddCommand(newAnalysisRunCmd(f))
	return cmd
}

// Options of terminate analysisrun.
type Options struct {
	*cli.Factory
	names  []string
	runs   dynamic.ResourceInterface
	client dynamic.Interface
}

func newAnalysisRunCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
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

// Complete reads the run names and builds the client.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.names, err = cli.Names(args, "analysisrun"); err != nil {
		return err
	}
	ns, err := o.Namespace()
	if err != nil {
		return err
	}
	if o.client, err = o.Dynamic(); err != nil {
		return err
	}
	o.runs = o.client.Resource(AnalysisRunGVR).Namespace(ns)
	return nil
}

// Validate has nothing to check beyond Complete.
func (o *Options) Validate() error { return nil }

// Run terminates each run in turn, stopping at the first failure. API
// errors are returned as the server wrote them
// (`analysisruns.argoproj.io "x" not found`).
func (o *Options) Run(cmd *cobra.Command) error {
	for _, name := range o.names {
		if _, err := o.runs.Patch(cmd.Context(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "analysisRun '%s' terminated\n", name)
	}
	return nil
}
