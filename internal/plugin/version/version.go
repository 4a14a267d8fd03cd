// Package version implements `kubectl argo rollouts version`.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// Version is the release, set at build time with
// -ldflags "-X github.com/switchyard-dev/switchyard/internal/plugin/version.Version=v1.2.3".
var Version = "v0.0.0-dev"

// Info is the build information printed.
type Info struct {
	Version, BuildDate, GitCommit, GitTreeState, GoVersion, Compiler, Platform string
}

// Get reads the build information Go embeds in the binary.
func Get() Info {
	info := Info{
		Version:      Version,
		GitTreeState: "unknown",
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.GitCommit = s.Value
			case "vcs.time":
				info.BuildDate = s.Value
			case "vcs.modified":
				info.GitTreeState = map[string]string{"true": "dirty", "false": "clean"}[s.Value]
			}
		}
	}
	// Argo's plugin prints "v1.6.0+7eae71e": the release and the commit.
	if len(info.GitCommit) >= 7 {
		info.Version += "+" + info.GitCommit[:7]
	}
	return info
}

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
	v := Get()
	fmt.Fprintf(o.Out, "kubectl-argo-rollouts: %s\n", v.Version)
	if o.Short {
		return nil
	}
	fmt.Fprintf(o.Out, "  BuildDate: %s\n", v.BuildDate)
	fmt.Fprintf(o.Out, "  GitCommit: %s\n", v.GitCommit)
	fmt.Fprintf(o.Out, "  GitTreeState: %s\n", v.GitTreeState)
	fmt.Fprintf(o.Out, "  GoVersion: %s\n", v.GoVersion)
	fmt.Fprintf(o.Out, "  Compiler: %s\n", v.Compiler)
	fmt.Fprintf(o.Out, "  Platform: %s\n", v.Platform)
	return nil
}
