// Package get implements `kubectl argo rollouts get rollout` and `get
// experiment`: the summary and the tree of one Rollout (its revisions) or
// Experiment (its ReplicaSets and runs), printed once or redrawn as it
// changes.
package get

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/view"
)

// NewCmd returns `get` with its `rollout` and `experiment` subcommands.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get <rollout|experiment> RESOURCE_NAME",
		Short: "Get details about rollouts and experiments",
		Example: `  # Get a rollout
  kubectl argo rollouts get rollout ROLLOUT

  # Get an experiment
  kubectl argo rollouts get experiment EXPERIMENT`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return cli.Usagef("specify what to get: %q or %q", "get rollout ROLLOUT_NAME", "get experiment EXPERIMENT_NAME")
		},
	}
	cmd.AddCommand(NewRolloutCmd(f), NewExperimentCmd(f))
	return cmd
}

// Options of get rollout.
type Options struct {
	*cli.Factory
	// Watch redraws the view on every change.
	Watch bool
	// NoColor leaves out colour codes.
	NoColor bool
	// TimeoutSeconds stops a watch after that many seconds (0: never).
	TimeoutSeconds int
	// UntilSettled (Switchyard extension) ends a watch once the rollout is
	// Healthy, Paused or Degraded.
	UntilSettled bool

	name     string
	ns       string
	rollouts *cli.Rollouts
	kube     kubernetes.Interface
}

// NewRolloutCmd returns the get rollout command; create -w reuses it.
func NewRolloutCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "rollout ROLLOUT_NAME",
		Aliases: []string{"ro", "rollouts"},
		Short:   "Get details about a rollout",
		Long: `Summarise a rollout (status, strategy, step and weights, images and their
roles, replica counts) above a tree of its revisions, ReplicaSets and pods,
the Experiments of its experiment steps and its AnalysisRuns.

Tree view icons

| Icon | Kind |
|:----:|:-----------:|
| ⟳ | Rollout |
| Σ | Experiment |
| # | Revision |
| ⧉ | ReplicaSet |
| □ | Pod |
| α | AnalysisRun |
| ⊞ | Job |

With --until-settled (a Switchyard extension) the watch ends once the rollout
is Healthy or Paused (exit 0) or Degraded (exit 1).`,
		Example: `  # Get a rollout
  kubectl argo rollouts get rollout backend-canary

  # Watch progress of a rollout
  kubectl argo rollouts get rollout backend-canary -w

  # Watch the rollout, fail if it takes more than 60 seconds
  kubectl argo rollouts get rollout backend-canary -w --timeout-seconds 60

  # Watch the rollout until it is Healthy, Paused or Degraded
  kubectl argo rollouts get rollout backend-canary --until-settled`,
		RunE:              cli.RunE(o),
		ValidArgsFunction: f.CompleteRolloutNames,
	}
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "Watch live updates to the rollout")
	cmd.Flags().BoolVar(&o.NoColor, "no-color", false, "Do not colorize output")
	cmd.Flags().IntVar(&o.TimeoutSeconds, "timeout-seconds", 0, "Timeout after specified seconds")
	cmd.Flags().BoolVar(&o.UntilSettled, "until-settled", false, "Watch (implies --watch) until the rollout is Healthy, Paused or Degraded, then exit: 0, or 1 when Degraded (Switchyard extension)")
	return cmd
}

// Complete reads the name, the colour preference and builds the clients.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.name, err = cli.OneName(args, "rollout"); err != nil {
		return err
	}
	if o.UntilSettled {
		o.Watch = true
	}
	// NO_COLOR (no-color.org) and a dumb terminal turn colours off too.
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		o.NoColor = true
	}
	if o.rollouts, o.ns, err = o.RolloutsInNamespace(); err != nil {
		return err
	}
	o.kube, err = o.Kube()
	return err
}

// Validate checks --timeout-seconds.
func (o *Options) Validate() error {
	if o.TimeoutSeconds < 0 {
		return cli.Usagef("invalid --timeout-seconds %d: must not be negative", o.TimeoutSeconds)
	}
	return nil
}

// Run prints the rollout once, or watches it.
func (o *Options) Run(cmd *cobra.Command) error {
	if o.Watch {
		return o.watch(cmd.Context())
	}
	return o.printOnce(cmd.Context())
}

// printOnce reads the Rollout and what it owns, and prints them.
func (o *Options) printOnce(ctx context.Context) error {
	ro, rss, pods, err := Load(ctx, o.rollouts, o.kube, o.name)
	if err != nil {
		return err
	}
	exps, err := o.loadExperiments(ctx, ro)
	if err != nil {
		return err
	}
	runs, jobs, err := o.loadAnalysis(ctx, ro, len(exps) > 0)
	if err != nil {
		return err
	}
	return o.printer().Print(o.Out, view.NewRolloutFrom(ro, view.Related{
		ReplicaSets: rss, Pods: pods, AnalysisRuns: runs, Jobs: jobs, Experiments: exps,
	}))
}

// AnalysisRunGVR is the AnalysisRun resource.
var AnalysisRunGVR = v1alpha1.GroupVersion.WithResource("analysisruns")

// loadExperiments reads the Experiments the Rollout controls (its
// experiment steps'). Their ReplicaSets and pods carry the labels of the
// Rollout's pod template, so Load reads them with the Rollout's. A cluster
// without the Experiment CRD has none.
func (o *Options) loadExperiments(ctx context.Context, ro *v1alpha1.Rollout) ([]v1alpha1.Experiment, error) {
	dyn, err := o.Dynamic()
	if err != nil {
		return nil, err
	}
	list, err := dyn.Resource(cli.ExperimentGVR).Namespace(ro.Namespace).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list Experiments of rollout %s: %w", ro.Name, err)
	}
	var out []v1alpha1.Experiment
	for i := range list.Items {
		if !controlledBy(list.Items[i].GetOwnerReferences(), ro) {
			continue
		}
		ex, err := cli.Decode[v1alpha1.Experiment](&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *ex)
	}
	return out, nil
}

func controlledBy(refs []metav1.OwnerReference, ro *v1alpha1.Rollout) bool {
	for _, ref := range refs {
		if ref.UID == ro.UID && ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	return false
}

// runsSelector narrows the AnalysisRuns read to the Rollout's (they carry
// its selector's labels, as the controllers label them); with Experiments
// all the namespace's are read, as an Experiment's runs carry no label of
// the Rollout. The view keeps what the Rollout and its Experiments own.
func runsSelector(ro *v1alpha1.Rollout, experiments bool) (metav1.ListOptions, error) {
	if experiments {
		return metav1.ListOptions{}, nil
	}
	return listOptions(ro)
}

// loadAnalysis reads the AnalysisRuns of the Rollout (and of its
// Experiments) and, when a measurement ran a Job, the analysis Jobs. A
// cluster without the AnalysisRun CRD has none.
func (o *Options) loadAnalysis(ctx context.Context, ro *v1alpha1.Rollout, experiments bool) ([]v1alpha1.AnalysisRun, []batchv1.Job, error) {
	dyn, err := o.Dynamic()
	if err != nil {
		return nil, nil, err
	}
	opts, err := runsSelector(ro, experiments)
	if err != nil {
		return nil, nil, err
	}
	list, err := dyn.Resource(AnalysisRunGVR).Namespace(ro.Namespace).List(ctx, opts)
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list AnalysisRuns of rollout %s: %w", ro.Name, err)
	}
	runs := make([]v1alpha1.AnalysisRun, 0, len(list.Items))
	jobsUsed := false
	for i := range list.Items {
		var run v1alpha1.AnalysisRun
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &run); err != nil {
			return nil, nil, fmt.Errorf("read AnalysisRun %s: %w", list.Items[i].GetName(), err)
		}
		for _, m := range run.Spec.Metrics {
			jobsUsed = jobsUsed || m.Provider.Job != nil
		}
		runs = append(runs, run)
	}
	if !jobsUsed {
		return runs, nil, nil
	}
	jobs, err := o.kube.BatchV1().Jobs(ro.Namespace).List(ctx, metav1.ListOptions{LabelSelector: analysisJobLabel})
	if err != nil {
		return nil, nil, fmt.Errorf("list analysis Jobs of rollout %s: %w", ro.Name, err)
	}
	return runs, jobs.Items, nil
}

// analysisJobLabel is on every Job an AnalysisRun's measurement created.
const analysisJobLabel = "analysisrun.argoproj.io/uid"

func (o *Options) printer() view.Printer {
	return view.Printer{NoColor: o.NoColor, Now: o.Clock.Now()}
}

// Load reads the Rollout and the ReplicaSets and pods its selector matches.
func Load(ctx context.Context, rollouts *cli.Rollouts, kube kubernetes.Interface, name string) (*v1alpha1.Rollout, []appsv1.ReplicaSet, []corev1.Pod, error) {
	ro, err := rollouts.Get(ctx, name)
	if err != nil {
		return nil, nil, nil, err
	}
	opts, err := listOptions(ro)
	if err != nil {
		return nil, nil, nil, err
	}
	rss, err := kube.AppsV1().ReplicaSets(ro.Namespace).List(ctx, opts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list ReplicaSets of rollout %s: %w", name, err)
	}
	pods, err := kube.CoreV1().Pods(ro.Namespace).List(ctx, opts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list pods of rollout %s: %w", name, err)
	}
	return ro, rss.Items, pods.Items, nil
}

// listOptions narrows ReplicaSets and pods to the Rollout's selector (they
// carry its labels); ownership is checked afterwards by the view.
func listOptions(ro *v1alpha1.Rollout) (metav1.ListOptions, error) {
	if ro.Spec.Selector == nil {
		return metav1.ListOptions{}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
	if err != nil {
		return metav1.ListOptions{}, fmt.Errorf("rollout %s has an invalid selector: %w", ro.Name, err)
	}
	return metav1.ListOptions{LabelSelector: sel.String()}, nil
}
