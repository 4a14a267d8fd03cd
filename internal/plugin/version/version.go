// Package version implements `kubectl argo rollouts version`.
package version

import (
	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/internal/buildinfo"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// Options of version.
type Options struct {
	*cli.Factory
	// Short prints the version number only.
	Short bool
}

// NewCmd returns the version command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print version",
		Long:  "Show the version and build information of the Switchyard kubectl plugin.",
		Example: `  # Get full version info
  kubectl argo rollouts version

  # Get just plugin version number
  kubectl argo rollouts version --short`,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVar(&o.Short, "short", false, "print just the version number")
	return cmd
}

// Complete has nothing to fill in.
func (o *Options) Complete(*cobra.Command, []string) error { return nil }

// Validate has nothing to check.
func (o *Options) Validate() error { return nil }

// Run prints the version.
func (o *Options) Run(*cobra.Command) error {
	buildinfo.Get().Print(o.Out, "kubectl-argo-rollouts", o.Short)
	return nil
}
