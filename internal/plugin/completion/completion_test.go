package completion_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/completion"
)

func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "bash completion V2 for kubectl-argo-rollouts",
		"zsh":  "#compdef kubectl-argo-rollouts",
		"fish": "fish completion for kubectl-argo-rollouts",
	} {
		var out bytes.Buffer
		root := &cobra.Command{Use: "kubectl-argo-rollouts"}
		root.AddCommand(completion.NewCmd(cli.NewFactory(genericiooptions.IOStreams{Out: &out, ErrOut: &out})))
		root.SetArgs([]string{"completion", shell})
		if err := root.Execute(); err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		if !strings.Contains(out.String(), marker) {
			t.Errorf("%s script lacks %q", shell, marker)
		}
	}
	root := &cobra.Command{Use: "kubectl-argo-rollouts", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(completion.NewCmd(cli.NewFactory(genericiooptions.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})))
	root.SetArgs([]string{"completion", "tcsh"})
	if err := root.Execute(); err == nil || !cli.IsUsage(err) {
		t.Errorf("completion tcsh: err = %v, want a usage error", err)
	}
}
