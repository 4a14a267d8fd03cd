// Package plugin assembles `kubectl argo rollouts`: the root command with
// the kubectl flags and one subcommand per verb (each in its own package),
// and the error and exit-code conventions of Argo Rollouts' plugin.
package plugin

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/switchyard-dev/switchyard/internal/plugin/abort"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/completion"
	"github.com/switchyard-dev/switchyard/internal/plugin/create"
	"github.com/switchyard-dev/switchyard/internal/plugin/dashboard"
	"github.com/switchyard-dev/switchyard/internal/plugin/get"
	"github.com/switchyard-dev/switchyard/internal/plugin/lint"
	"github.com/switchyard-dev/switchyard/internal/plugin/list"
	"github.com/switchyard-dev/switchyard/internal/plugin/pause"
	"github.com/switchyard-dev/switchyard/internal/plugin/promote"
	"github.com/switchyard-dev/switchyard/internal/plugin/restart"
	"github.com/switchyard-dev/switchyard/internal/plugin/retry"
	"github.com/switchyard-dev/switchyard/internal/plugin/set"
	"github.com/switchyard-dev/switchyard/internal/plugin/status"
	"github.com/switchyard-dev/switchyard/internal/plugin/terminate"
	"github.com/switchyard-dev/switchyard/internal/plugin/undo"
	"github.com/switchyard-dev/switchyard/internal/plugin/version"
)

// displayName is how kubectl users invoke the plugin; help text uses it.
const displayName = "kubectl argo rollouts"

// NewRootCommand returns the plugin's root command reading flags into f.
func NewRootCommand(f *cli.Factory) *cobra.Command {
	var (
		logLevel  string
		klogLevel int
	)
	root := &cobra.Command{
		Use:   "kubectl-argo-rollouts COMMAND",
		Short: "Manage argo rollouts",
		Long:  "Drive Rollouts (argoproj.io/v1alpha1) from the terminal: watch, promote, abort, retry, pause, restart, change images, undo. Works against Switchyard and Argo Rollouts alike.",
		Example: `  # Follow a release as it happens, and stop when it settles
  kubectl argo rollouts get rollout backend-canary --watch --until-settled

  # Let the paused canary take the remaining traffic
  kubectl argo rollouts promote backend-canary

  # Give up on the update and return to the stable pods, then try again
  kubectl argo rollouts abort backend-canary
  kubectl argo rollouts retry rollout backend-canary

  # In a pipeline: wait until the blue-green preview is up and paused
  kubectl argo rollouts status backend-bluegreen --until paused --timeout 10m`,
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: displayName},
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return setKlogVerbosity(klogLevel)
		},
		// Errors are printed once, by Run, with Argo's "Error: " prefix.
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		// Argo's plugin tolerates unknown flags so that old scripts keep
		// working; so do we.
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		CompletionOptions:  cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(f.In)
	root.SetOut(f.Out)
	root.SetErr(f.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return cli.Usagef("%v", err)
	})
	f.ConfigFlags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&logLevel, "loglevel", "info", "Log level for kubectl argo rollouts (accepted for compatibility; the plugin only logs warnings)")
	root.PersistentFlags().IntVarP(&klogLevel, "kloglevel", "v", 0, "Log level for kubernetes client library")

	root.AddCommand(
		abort.NewCmd(f),
		completion.NewCmd(f),
		create.NewCmd(f),
		dashboard.NewCmd(f),
		get.NewCmd(f),
		lint.NewCmd(f),
		list.NewCmd(f),
		pause.NewCmd(f),
		promote.NewCmd(f),
		restart.NewCmd(f),
		retry.NewCmd(f),
		set.NewCmd(f),
		status.NewCmd(f),
		terminate.NewCmd(f),
		undo.NewCmd(f),
		version.NewCmd(f),
	)
	return root
}

func setKlogVerbosity(level int) error {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	if err := fs.Set("v", strconv.Itoa(level)); err != nil {
		return fmt.Errorf("set --kloglevel: %w", err)
	}
	return nil
}

// Run executes the plugin with args and returns the exit code: 0 on
// success, 1 on any error (as Argo's plugin), after printing "Error: ..."
// to f.ErrOut.
func Run(ctx context.Context, f *cli.Factory, args []string) int {
	root := NewRootCommand(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(f.ErrOut, "Error: %s\n", cli.Message(err))
	if cli.IsUsage(err) && cmd != nil {
		fmt.Fprintf(f.ErrOut, "See '%s --help' for usage.\n", cmd.CommandPath())
	}
	return cli.ExitFailure
}

// Main is the whole of cmd/kubectl-argo-rollouts: it runs the plugin with
// the process's arguments and streams, stopping watches on Ctrl-C.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := cli.NewFactory(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	return Run(ctx, f, os.Args[1:])
}
