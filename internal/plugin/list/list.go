// Package list implements `kubectl argo rollouts list rollouts` and `list
// experiments`: one line per object with Argo's columns.
package list

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/phase"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/view"
)

// NewCmd returns `list` with its `rollouts` and `experiments` subcommands.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list <rollout|experiment> RESOURCE_NAME",
		Short: "List rollouts or experiments",
		Long:  "List Rollouts or Experiments.",
		Example: `  # List rollouts
  kubectl argo rollouts list rollouts

  # List experiments
  kubectl argo rollouts list experiments`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return cli.Usagef("specify what to list: %q or %q", "list rollouts", "list experiments")
		},
	}
	cmd.AddCommand(newRolloutsCmd(f), newExperimentsCmd(f))
	return cmd
}

// Options of list rollouts.
type Options struct {
	*cli.Factory
	AllNamespaces bool
	Name          string
	Watch         bool
	Timestamps    bool

	rollouts *cli.Rollouts
}

func newRolloutsCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "rollouts",
		Aliases: []string{"ro", "rollout"},
		Short:   "List rollouts",
		Long:    "One line per Rollout of the namespace (-n, or the kubeconfig's), or of every namespace with -A.",
		Example: `  # List rollouts
  kubectl argo rollouts list rollouts

  # List rollouts with a specific name
  kubectl argo rollouts list rollouts --name my-rollout

  # List rollouts from all namespaces
  kubectl argo rollouts list rollouts --all-namespaces

  # List rollouts and watch for changes
  kubectl argo rollouts list rollouts --watch`,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Include all namespaces")
	cmd.Flags().StringVar(&o.Name, "name", "", "Only show rollout with specified name")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "Watch for changes")
	cmd.Flags().BoolVar(&o.Timestamps, "timestamps", false, "Print timestamps on updates")
	return cmd
}

// Complete builds the client for one namespace or all.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	if len(args) != 0 {
		return cli.Usagef("list rollouts takes no arguments; use --name to pick one")
	}
	ns := metav1.NamespaceAll
	if !o.AllNamespaces {
		var err error
		if ns, err = o.Namespace(); err != nil {
			return err
		}
	}
	var err error
	o.rollouts, err = o.Rollouts(ns)
	return err
}

// Validate has nothing to check beyond Complete.
func (o *Options) Validate() error { return nil }

func (o *Options) listOptions() metav1.ListOptions {
	if o.Name == "" {
		return metav1.ListOptions{}
	}
	return metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", o.Name).String()}
}

// Run prints the table, then changed lines while watching.
func (o *Options) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	items, rv, err := o.rollouts.List(ctx, o.listOptions())
	if err != nil {
		return err
	}
	if len(items) == 0 && !o.Watch {
		fmt.Fprintln(o.ErrOut, "No resources found.")
		return nil
	}
	rows := [][]string{o.header()}
	printed := map[string]string{}
	for i := range items {
		row := o.row(&items[i])
		rows = append(rows, row)
		printed[key(&items[i])] = strings.Join(row[len(row)-9:], "\t")
	}
	if err := writeTable(o.Out, rows); err != nil {
		return err
	}
	if !o.Watch {
		return nil
	}
	return o.watch(ctx, rv, printed)
}

// watch prints a line whenever a Rollout's columns change.
func (o *Options) watch(ctx context.Context, rv string, printed map[string]string) error {
	opts := o.listOptions()
	w, err := watchtools.NewRetryWatcherWithContext(ctx, rv, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
			lo.FieldSelector = opts.FieldSelector
			return o.rollouts.Watch(ctx, lo)
		},
	})
	if err != nil {
		return fmt.Errorf("watch rollouts: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil // interrupted by the user
			}
			return ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("watch rollouts: watch closed")
			}
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || ev.Type == watch.Bookmark {
				continue
			}
			ro, err := cli.FromUnstructured(u)
			if err != nil {
				return err
			}
			row := o.row(ro)
			cols := strings.Join(row[len(row)-9:], "\t")
			if printed[key(ro)] == cols {
				continue
			}
			printed[key(ro)] = cols
			if err := writeTable(o.Out, [][]string{row}); err != nil {
				return err
			}
		}
	}
}

func key(ro *v1alpha1.Rollout) string { return ro.Namespace + "/" + ro.Name }

func (o *Options) header() []string {
	h := []string{"NAME", "STRATEGY", "STATUS", "STEP", "SET-WEIGHT", "READY", "DESIRED", "UP-TO-DATE", "AVAILABLE"}
	if o.AllNamespaces {
		h = append([]string{"NAMESPACE"}, h...)
	}
	if o.Timestamps {
		h = append([]string{"TIMESTAMP"}, h...)
	}
	return h
}

// row formats a Rollout. Values are padded to about their header's width,
// as Argo's plugin does, so lines printed one at a time while watching
// still line up with the header.
func (o *Options) row(ro *v1alpha1.Rollout) []string {
	strategy, step, setWeight := "unknown", "-", "-"
	switch {
	case ro.Spec.Strategy.Canary != nil:
		strategy = view.StrategyCanary
		if ro.Status.CurrentStepIndex != nil && len(ro.Spec.Strategy.Canary.Steps) > 0 {
			step = fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(ro.Spec.Strategy.Canary.Steps))
		}
		v := view.NewRollout(ro, nil, nil)
		setWeight = v.SetWeight
	case ro.Spec.Strategy.BlueGreen != nil:
		strategy = view.StrategyBlueGreen
	}
	p, _ := phase.ForClient(ro)
	row := []string{
		fmt.Sprintf("%-10s", ro.Name),
		fmt.Sprintf("%-9s", strategy),
		fmt.Sprintf("%-12s", p),
		fmt.Sprintf("%-4s", step),
		fmt.Sprintf("%-10s", setWeight),
		fmt.Sprintf("%-5s", fmt.Sprintf("%d/%d", ro.Status.ReadyReplicas, ro.Status.Replicas)),
		fmt.Sprintf("%-7d", ro.ReplicasOrDefault()),
		fmt.Sprintf("%-10d", ro.Status.UpdatedReplicas),
		fmt.Sprintf("%-9d", ro.Status.AvailableReplicas),
	}
	if o.AllNamespaces {
		row = append([]string{fmt.Sprintf("%-9s", ro.Namespace)}, row...)
	}
	if o.Timestamps {
		row = append([]string{o.Clock.Now().UTC().Truncate(time.Second).Format(time.RFC3339)}, row...)
	}
	return row
}

// writeTable aligns rows two spaces apart and drops trailing spaces.
func writeTable(out io.Writer, rows [][]string) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		b.WriteString(strings.TrimRight(line, " \n"))
		b.WriteString("\n")
	}
	_, err := io.WriteString(out, b.String())
	return err
}
