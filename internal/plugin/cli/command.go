package cli

import (
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Runner is what every verb's Options implements, after the
// sample-cli-plugin pattern: Complete fills in what the flags and arguments
// imply, Validate rejects bad input before any API call, Run does the work.
type Runner interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(cmd *cobra.Command) error
}

// RunE adapts a Runner to cobra.
func RunE(r Runner) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := r.Complete(cmd, args); err != nil {
			return err
		}
		if err := r.Validate(); err != nil {
			return err
		}
		return r.Run(cmd)
	}
}

// CompleteRolloutNames offers the Rollouts of the current namespace for the
// first argument in shell completion.
func (f *Factory) CompleteRolloutNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) != 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	r, _, err := f.RolloutsInNamespace()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	list, _, err := r.List(cmd.Context(), metav1.ListOptions{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var names []string
	for _, ro := range list {
		if strings.HasPrefix(ro.Name, toComplete) {
			names = append(names, ro.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
