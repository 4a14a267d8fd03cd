package rollout

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
	"github.com/switchyard-dev/switchyard/internal/experiment"
	"github.com/switchyard-dev/switchyard/internal/rolloutanalysis"
	"github.com/switchyard-dev/switchyard/internal/rolloutexperiment"
)

// This file wires the canary `experiment` step into the Rollout: the
// step's Experiment is created from the stable and canary ReplicaSets
// (internal/experiment), its outcome decided by internal/rolloutexperiment
// and applied (the step completes, the update aborts, or the Rollout
// pauses), leftovers terminated, and old Experiments pruned by the
// spec.analysis history limits.

// +kubebuilder:rbac:groups=argoproj.io,resources=experiments,verbs=get;list;watch;create;patch;delete

const (
	experimentOwnerIndex = "experiment.rolloutOwner"
	// EventExperimentCreated announces the step's Experiment.
	EventExperimentCreated = "ExperimentCreated"
)

// experimentSteps lists the canary's experiment steps that run something.
func experimentSteps(ro *v1alpha1.Rollout) []int {
	c := ro.Spec.Strategy.Canary
	if c == nil {
		return nil
	}
	var out []int
	for i, step := range c.Steps {
		if e := step.Experiment; e != nil && len(e.Templates) > 0 {
			out = append(out, i)
		}
	}
	return out
}

// validateExperiments checks what an experiment step needs beyond its own
// fields: the Experiment CRD, and metadata fieldRef args the downward API
// can read (as for the Rollout's analyses). Anything the Experiment itself refuses (a template whose
// names do not fit, an AnalysisTemplate that does not exist) ends that
// Experiment in Error, which aborts the update with its message.
func (r *Reconciler) validateExperiments(ctx context.Context, s *scope) (ctrl.Result, error) {
	steps := experimentSteps(s.ro)
	if len(steps) == 0 {
		return ctrl.Result{}, nil
	}
	path := field.NewPath("spec", "strategy", "canary", "steps")
	if !r.ExperimentServed {
		s.invalid = fmt.Sprintf("%s: the Experiment CRD is not installed (kubectl apply -k config/crd)", path.Index(steps[0]).Child("experiment"))
		s.stop = true
		return ctrl.Result{}, nil
	}
	var errs field.ErrorList
	for _, i := range steps {
		for j, a := range s.ro.Spec.Strategy.Canary.Steps[i].Experiment.Analyses {
			if err := checkArgs(s.ro, a.Args); err != nil {
				errs = append(errs, field.Invalid(path.Index(i).Child("experiment", "analyses").Index(j).Child("args"), a.Name, err.Error()))
			}
		}
	}
	if len(errs) > 0 {
		s.invalid = errs.ToAggregate().Error()
		s.stop = true
		ctrl.LoggerFrom(ctx).Info("invalid experiment step", "reason", s.invalid)
	}
	return ctrl.Result{}, nil
}

// checkArgs resolves what of an experiment step's args can be resolved
// before the step: metadata fieldRefs (the downward API's paths); other
// fieldRefs may name status fields set later.
func checkArgs(ro *v1alpha1.Rollout, args []v1alpha1.AnalysisRunArgument) error {
	var metadata []v1alpha1.AnalysisRunArgument
	for _, a := range args {
		if vf := a.ValueFrom; vf != nil && vf.FieldRef != nil && strings.HasPrefix(vf.FieldRef.FieldPath, "metadata") {
			metadata = append(metadata, a)
		}
	}
	_, err := analysis.ResolveRolloutArgs(metadata, analysis.ArgSources{Object: ro})
	return err
}

// gatherExperiments reads, from the cache, the Experiments the Rollout
// controls.
func (r *Reconciler) gatherExperiments(ctx context.Context, s *scope) (ctrl.Result, error) {
	if !r.ExperimentServed {
		return ctrl.Result{}, nil
	}
	var list v1alpha1.ExperimentList
	if err := r.Client.List(ctx, &list, client.InNamespace(s.ro.Namespace), client.MatchingFields{experimentOwnerIndex: s.ro.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list experiments: %w", err)
	}
	for i := range list.Items {
		ex := &list.Items[i]
		if metav1.IsControlledBy(ex, s.ro) {
			s.experiments = append(s.experiments, ex)
		}
	}
	return ctrl.Result{}, nil
}

// experimentGate is what the canary's steps read from the step's
// Experiment.
type experimentGate struct {
	// Passed: the current experiment step's Experiment is Successful.
	Passed bool
	// Held: an Experiment ended Inconclusive and waits for a person
	// (the InconclusiveExperiment pause).
	Held bool
}

// canaryExperiment runs the current experiment step for this pass: it
// creates (or adopts) the step's Experiment once the step is due, records
// it in status.canary.currentExperiment, terminates one the Rollout has
// moved away from, and applies the outcome: a Failed or Error Experiment
// aborts the update on the spot (so the strategy's abort handling that
// follows applies in the same pass), an Inconclusive one pauses the
// Rollout. Like canaryAnalysis, it is the only experiment call a canary
// strategy makes; stable is the stable ReplicaSet (nil when it is
// missing).
func (r *Reconciler) canaryExperiment(ctx context.Context, s *scope, stable *appsv1.ReplicaSet) (experimentGate, error) {
	st := &s.ro.Status
	held := func() bool { return pauseStart(st, v1alpha1.PauseReasonInconclusiveExperiment) != nil }
	if !r.ExperimentServed {
		st.Canary.CurrentExperiment = ""
		return experimentGate{Held: held()}, nil
	}
	spec := s.ro.Spec.Strategy.Canary
	index := ptr.Deref(st.CurrentStepIndex, 0)
	var step *v1alpha1.RolloutExperimentStep
	if int(index) < len(spec.Steps) {
		step = spec.Steps[index].Experiment
	}
	revision := currentRevision(s)
	in := rolloutexperiment.Input{
		Configured: step != nil && len(step.Templates) > 0,
		Base:       experiment.StepExperimentName(s.ro, s.newHash, revision, index),
		Due:        len(st.PauseConditions) == 0 && !s.ro.Spec.Paused && !st.Abort && stable != nil && stable != s.newRS,
		CancelAll:  st.StableRS == "" || st.StableRS == s.newHash || st.Abort || st.PromoteFull || withinRollbackWindow(s),
		Recorded:   st.Canary.CurrentExperiment,
		Resumed:    st.ControllerPause && len(st.PauseConditions) == 0,
	}
	current, err := controlledNamed(ctx, r, s, s.experiments, in.Recorded, &v1alpha1.Experiment{})
	if err != nil {
		return experimentGate{}, err
	}
	in.Current = current
	d := rolloutexperiment.Decide(in)
	if d.Terminate != "" {
		if err := r.terminateExperiment(ctx, s, d.Terminate); err != nil {
			return experimentGate{}, err
		}
	}
	st.Canary.CurrentExperiment = d.Record
	if d.Create {
		// The Experiment copies the ReplicaSets' whole pod templates, which
		// their cached copies lack.
		stableFull, err := r.fullReplicaSet(ctx, stable)
		if err != nil {
			return experimentGate{}, err
		}
		canaryFull, err := r.fullReplicaSet(ctx, s.newRS)
		if err != nil {
			return experimentGate{}, err
		}
		want, err := experiment.FromStep(experiment.StepInput{
			Rollout: s.ro, Step: step, StepIndex: index, Stable: stableFull, Canary: canaryFull, NewHash: s.newHash, Revision: revision,
		})
		if err != nil {
			return experimentGate{}, fmt.Errorf("build the experiment of step %d: %w", index, err)
		}
		ex, created, err := experiment.CreateOrAdopt(ctx, r.Client, r.APIReader, want)
		if err != nil {
			return experimentGate{}, err
		}
		if created {
			r.Recorder.Eventf(s.ro, ex, corev1.EventTypeNormal, EventExperimentCreated, "Create", "%s", rolloutexperiment.CreatedMessage(ex.Name))
			ctrl.LoggerFrom(ctx).Info("created Experiment", "experiment", klog.KObj(ex), "step", index)
		}
		st.Canary.CurrentExperiment = ex.Name
		s.stepExperiment = ex
		if d.SpendResume {
			st.ControllerPause = false
		}
	}
	if d.Gating && d.Verdict == experiment.Waiting && current != nil && d.Record == current.Name {
		s.stepExperiment = current
	}
	switch d.Verdict {
	case experiment.Abort:
		if !st.Abort {
			st.Abort = true
			s.abortMessage = d.AbortMessage
			ctrl.LoggerFrom(ctx).Info("experiment failed: aborting the update", "experiment", klog.KObj(current), "reason", d.AbortMessage)
		}
	case experiment.Hold:
		addPause(s, v1alpha1.PauseReasonInconclusiveExperiment)
	}
	return experimentGate{Passed: d.Gating && d.Verdict == experiment.Passed, Held: held()}, nil
}

// experimentStepDone forgets the step's Experiment once its step has
// completed: status.canary.currentExperiment names it only while its
// outcome waits to be applied.
func experimentStepDone(s *scope, step v1alpha1.CanaryStep) {
	if step.Experiment != nil {
		s.ro.Status.Canary.CurrentExperiment = ""
	}
}

// experimentDestinations are the weights the step's Experiment takes with
// a traffic router, while it is Running.
func experimentDestinations(s *scope) []v1alpha1.WeightDestination {
	spec := s.ro.Spec.Strategy.Canary
	index := int(ptr.Deref(s.ro.Status.CurrentStepIndex, 0))
	if s.stepExperiment == nil || index >= len(spec.Steps) {
		return nil
	}
	return rolloutexperiment.Destinations(spec.Steps[index].Experiment, s.stepExperiment)
}

// terminateExperiment stops an Experiment: it scales its ReplicaSets down
// after its scaleDownDelaySeconds and ends Successful unless its analyses
// failed.
func (r *Reconciler) terminateExperiment(ctx context.Context, s *scope, name string) error {
	if s.terminatedExperiments[name] {
		return nil
	}
	if err := experiment.Terminate(ctx, r.Client, s.ro.Namespace, name); err != nil {
		return err
	}
	if s.terminatedExperiments == nil {
		s.terminatedExperiments = map[string]bool{}
	}
	s.terminatedExperiments[name] = true
	ctrl.LoggerFrom(ctx).Info("terminated Experiment", "experiment", klog.KRef(s.ro.Namespace, name))
	return nil
}

// pruneExperiments applies the history limits to the Experiments the
// status does not name, apart from the AnalysisRuns: those still running
// are terminated, those of revisions that are gone deleted, and finished
// ones kept up to spec.analysis's limits.
func (r *Reconciler) pruneExperiments(ctx context.Context, s *scope) (ctrl.Result, error) {
	if !r.ExperimentServed || s.newRS == nil || len(s.experiments) == 0 {
		return ctrl.Result{}, nil
	}
	revisions := map[string]bool{}
	for _, rs := range s.replicaSets {
		if rs.DeletionTimestamp.IsZero() {
			revisions[hashOf(rs)] = true
		}
	}
	h := rolloutanalysis.History{
		Current:           map[string]bool{s.ro.Status.Canary.CurrentExperiment: true},
		Revisions:         revisions,
		SuccessfulLimit:   s.ro.SuccessfulRunHistoryLimitOrDefault(),
		UnsuccessfulLimit: s.ro.UnsuccessfulRunHistoryLimitOrDefault(),
	}
	for _, ex := range s.experiments {
		if !ex.DeletionTimestamp.IsZero() {
			continue
		}
		h.Runs = append(h.Runs, rolloutanalysis.OwnedRun{
			Name: ex.Name, Phase: ex.Status.Phase, Hash: ex.Labels[v1alpha1.DefaultRolloutUniqueLabelKey],
			Created: ex.CreationTimestamp.Time, Terminating: ex.Spec.Terminate || s.terminatedExperiments[ex.Name],
		})
	}
	c := rolloutanalysis.Prune(h)
	for _, name := range c.Terminate {
		if err := r.terminateExperiment(ctx, s, name); err != nil {
			return ctrl.Result{}, err
		}
	}
	for _, name := range c.Delete {
		ex := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: s.ro.Namespace, Name: name}}
		if err := r.Client.Delete(ctx, ex); err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("delete experiment %s: %w", klog.KObj(ex), err)
		}
		ctrl.LoggerFrom(ctx).V(1).Info("deleted Experiment (history limit or revision gone)", "experiment", klog.KObj(ex))
	}
	return ctrl.Result{}, nil
}
