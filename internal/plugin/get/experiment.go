package get

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/view"
)

// ExperimentOptions of get experiment.
type ExperimentOptions struct {
	*cli.Factory
	// Watch redraws the view as it changes.
	Watch bool
	// NoColor leaves out colour codes.
	NoColor bool

	name string
	ns   string
	dyn  dynamic.Interface
	kube kubernetes.Interface
}

// NewExperimentCmd returns the get experiment command.
func NewExperimentCmd(f *cli.Factory) *cobra.Command {
	o := &ExperimentOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "experiment EXPERIMENT_NAME",
		Aliases: []string{"exp", "experiments"},
		Short:   "Get details about an Experiment",
		Long: `Summarise an Experiment (status, message, images and the templates running
them) above a tree of its ReplicaSets, their pods and its AnalysisRuns.

Tree view icons

| Icon | Kind |
|:----:|:-----------:|
| Σ | Experiment |
| α | AnalysisRun |
| ⧉ | ReplicaSet |
| □ | Pod |`,
		Example: `  # Get an experiment
  kubectl argo rollouts get experiment my-experiment

  # Watch experiment progress
  kubectl argo rollouts get experiment my-experiment -w`,
		RunE: cli.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "Watch live updates to the experiment")
	cmd.Flags().BoolVar(&o.NoColor, "no-color", false, "Do not colorize output")
	return cmd
}

// Complete reads the name and the colour preference and builds the clients.
func (o *ExperimentOptions) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.name, err = cli.OneName(args, "experiment"); err != nil {
		return err
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		o.NoColor = true
	}
	if o.ns, err = o.Namespace(); err != nil {
		return err
	}
	if o.dyn, err = o.Dynamic(); err != nil {
		return err
	}
	o.kube, err = o.Kube()
	return err
}

// Validate has nothing to check beyond Complete.
func (o *ExperimentOptions) Validate() error { return nil }

// Run prints the Experiment once, or redraws it every second while
// watching (only when the text changed) until interrupted.
func (o *ExperimentOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	v, err := o.load(ctx)
	if err != nil {
		return err
	}
	printer := func() view.Printer { return view.Printer{NoColor: o.NoColor, Now: o.Clock.Now()} }
	if !o.Watch {
		return printer().PrintExperiment(o.Out, v)
	}
	screen := newScreen(o.Out)
	ticker := o.Clock.NewTicker(ageRefresh)
	defer ticker.Stop()
	for {
		if err := screen.draw(printer().RenderExperiment(v)); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil
			}
			return ctx.Err()
		case <-ticker.C():
		}
		if v, err = o.load(ctx); err != nil {
			return err
		}
	}
}

// load reads the Experiment, the ReplicaSets and pods of its templates
// (by their pod-template hashes) and the AnalysisRuns of its namespace;
// the view keeps what the Experiment owns.
func (o *ExperimentOptions) load(ctx context.Context) (*view.Experiment, error) {
	u, err := o.dyn.Resource(cli.ExperimentGVR).Namespace(o.ns).Get(ctx, o.name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	ex, err := cli.Decode[v1alpha1.Experiment](u)
	if err != nil {
		return nil, err
	}
	rsList, err := o.kube.AppsV1().ReplicaSets(o.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.DefaultRolloutUniqueLabelKey})
	if err != nil {
		return nil, fmt.Errorf("list ReplicaSets of experiment %s: %w", o.name, err)
	}
	var rss []appsv1.ReplicaSet
	var hashes []string
	for _, rs := range rsList.Items {
		if _, ok := rs.Annotations[v1alpha1.ExperimentNameAnnotationKey]; ok && metav1.IsControlledBy(&rs, ex) {
			rss = append(rss, rs)
			hashes = append(hashes, rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey])
		}
	}
	var pods []corev1.Pod
	if len(hashes) > 0 {
		req, err := labels.NewRequirement(v1alpha1.DefaultRolloutUniqueLabelKey, selection.In, hashes)
		if err != nil {
			return nil, err
		}
		list, err := o.kube.CoreV1().Pods(o.ns).List(ctx, metav1.ListOptions{LabelSelector: labels.NewSelector().Add(*req).String()})
		if err != nil {
			return nil, fmt.Errorf("list pods of experiment %s: %w", o.name, err)
		}
		pods = list.Items
	}
	var runs []v1alpha1.AnalysisRun
	runList, err := o.dyn.Resource(cli.AnalysisRunGVR).Namespace(o.ns).List(ctx, metav1.ListOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("list AnalysisRuns of experiment %s: %w", o.name, err)
	}
	if err == nil {
		for i := range runList.Items {
			run, err := cli.Decode[v1alpha1.AnalysisRun](&runList.Items[i])
			if err != nil {
				return nil, err
			}
			runs = append(runs, *run)
		}
	}
	return view.NewExperiment(ex, view.Related{ReplicaSets: rss, Pods: pods, AnalysisRuns: runs}), nil
}
