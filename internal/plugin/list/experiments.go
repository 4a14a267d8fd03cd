package list

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/dynamic"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// ExperimentOptions of list experiments.
type ExperimentOptions struct {
	*cli.Factory
	AllNamespaces bool

	experiments dynamic.ResourceInterface
}

func newExperimentsCmd(f *cli.Factory) *cobra.Command {
	o := &ExperimentOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "experiments",
		Aliases: []string{"exp", "experiment"},
		Short:   "List experiments",
		Long: `One line per Experiment of the namespace (-n, or the kubeconfig's), or of
every namespace with -A: its phase, its duration and, while it runs, the
time it has left.`,
		Example: `  # List experiments
  kubectl argo rollouts list experiments

  # List experiments from all namespaces
  kubectl argo rollouts list experiments --all-namespaces`,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Include all namespaces")
	return cmd
}

// Complete builds the client for one namespace or all.
func (o *ExperimentOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) != 0 {
		return cli.Usagef("list experiments takes no arguments")
	}
	client, err := o.Dynamic()
	if err != nil {
		return err
	}
	if o.AllNamespaces {
		o.experiments = client.Resource(cli.ExperimentGVR)
		return nil
	}
	ns, err := o.Namespace()
	if err != nil {
		return err
	}
	o.experiments = client.Resource(cli.ExperimentGVR).Namespace(ns)
	return nil
}

// Validate has nothing to check beyond Complete.
func (o *ExperimentOptions) Validate() error { return nil }

// Run prints the table: NAME STATUS DURATION REMAINING AGE, with a
// NAMESPACE column first under -A.
func (o *ExperimentOptions) Run(cmd *cobra.Command) error {
	list, err := o.experiments.List(cmd.Context(), metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(list.Items) == 0 {
		fmt.Fprintln(o.ErrOut, "No resources found.")
		return nil
	}
	header := []string{"NAME", "STATUS", "DURATION", "REMAINING", "AGE"}
	if o.AllNamespaces {
		header = append([]string{"NAMESPACE"}, header...)
	}
	rows := [][]string{header}
	now := o.Clock.Now()
	for i := range list.Items {
		ex, err := cli.Decode[v1alpha1.Experiment](&list.Items[i])
		if err != nil {
			return err
		}
		dur, remaining := "-", "-"
		if d, err := time.ParseDuration(string(ex.Spec.Duration)); ex.Spec.Duration != "" && err == nil {
			dur = duration.HumanDuration(d)
			if at := ex.Status.AvailableAt; at != nil && !ex.Status.Phase.Completed() {
				if end := at.Add(d); end.After(now) {
					remaining = duration.HumanDuration(end.Sub(now))
				}
			}
		}
		row := []string{
			fmt.Sprintf("%-10s", ex.Name),
			fmt.Sprintf("%-6s", ex.Status.Phase),
			fmt.Sprintf("%-8s", dur),
			fmt.Sprintf("%-9s", remaining),
			fmt.Sprintf("%-3s", duration.HumanDuration(now.Sub(ex.CreationTimestamp.Time))),
		}
		if o.AllNamespaces {
			row = append([]string{fmt.Sprintf("%-9s", ex.Namespace)}, row...)
		}
		rows = append(rows, row)
	}
	return writeTable(o.Out, rows)
}
