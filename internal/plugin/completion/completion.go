// Package completion implements `kubectl argo rollouts completion`.
package completion

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// Options of completion.
type Options struct {
	*cli.Factory
	shell string
}

// NewCmd returns the completion command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	return &cobra.Command{
		Use:   "completion [bash|zsh|fish|powershell]",
		Short: "Generate completion script",
		Long: `Generate a shell completion script for the plugin.

  Bash:
    $ source <(kubectl-argo-rollouts completion bash)

  Zsh:
    $ kubectl-argo-rollouts completion zsh > "${fpath[1]}/_kubectl-argo-rollouts"

  fish:
    $ kubectl-argo-rollouts completion fish | source

  PowerShell:
    PS> kubectl-argo-rollouts completion powershell | Out-String | Invoke-Expression`,
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		DisableFlagsInUseLine: true,
		RunE:                  cli.RunE(o),
	}
}

// Complete reads the shell name.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return cli.Usagef("expected one shell: bash, zsh, fish or powershell")
	}
	o.shell = args[0]
	return nil
}

// Validate checks the shell is one cobra can generate for.
func (o *Options) Validate() error {
	switch o.shell {
	case "bash", "zsh", "fish", "powershell":
		return nil
	}
	return cli.Usagef("unsupported shell %q: want bash, zsh, fish or powershell", o.shell)
}

// Run writes the script for the root command.
func (o *Options) Run(cmd *cobra.Command) error {
	root := cmd.Root()
	var err error
	switch o.shell {
	case "bash":
		err = root.GenBashCompletionV2(o.Out, true)
	case "zsh":
		err = root.GenZshCompletion(o.Out)
	case "fish":
		err = root.GenFishCompletion(o.Out, true)
	case "powershell":
		err = root.GenPowerShellCompletionWithDesc(o.Out)
	}
	if err != nil {
		return fmt.Errorf("generate %s completion: %w", o.shell, err)
	}
	return nil
}
