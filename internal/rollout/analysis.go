package rollout

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
	"github.com/switchyard-dev/switchyard/internal/bluegreen"
	"github.com/switchyard-dev/switchyard/internal/instanceid"
	"github.com/switchyard-dev/switchyard/internal/rolloutanalysis"
)

// This file wires AnalysisRuns into the Rollout: the templates a Rollout
// names are checked (InvalidSpec), its runs gathered, each analysis source
// decided by internal/rolloutanalysis, runs created, terminated and
// pruned, and the verdicts handed to the strategies (canaryAnalysis,
// blueGreenAnalysis).

// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=argoproj.io,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch

const (
	runOwnerIndex  = "analysisrun.rolloutOwner"
	templatesIndex = "rollout.analysisTemplates"
	// maxRunNames bounds the <name>.N suffixes tried for one run.
	maxRunNames = 100
)

// analysisWatches starts the template watches once.
type analysisWatches struct {
	once sync.Once
	err  error
}

// indexTemplates lists the templates a Rollout's analyses name, cluster
// ones prefixed, for the template watches.
func indexTemplates(ro *v1alpha1.Rollout) []string {
	var out []string
	for _, spec := range rolloutanalysis.Specs(ro) {
		for _, t := range spec.Analysis.Templates {
			out = append(out, templateKey(ptr.Deref(t.ClusterScope, false), t.TemplateName))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func templateKey(cluster bool, name string) string {
	if cluster {
		return "cluster/" + name
	}
	return "namespaced/" + name
}

// watchTemplates starts, once some Rollout uses analysis, the watches that
// bring back the Rollouts naming a template when it is created or edited
// (a missing or broken template is InvalidSpec until then). Fleets without
// analysis cache no template.
func (r *Reconciler) watchTemplates() error {
	if r.controller == nil {
		return nil
	}
	r.templateWatches.once.Do(func() {
		namespaced := func(ctx context.Context, t *v1alpha1.AnalysisTemplate) []reconcile.Request {
			return r.rolloutsFor(ctx, t.Namespace, templatesIndex, templateKey(false, t.Name))
		}
		r.templateWatches.err = r.controller.Watch(source.Kind(r.cache, &v1alpha1.AnalysisTemplate{}, handler.TypedEnqueueRequestsFromMapFunc(namespaced)))
		if r.templateWatches.err != nil || !r.ClusterTemplates {
			return
		}
		cluster := func(ctx context.Context, t *v1alpha1.ClusterAnalysisTemplate) []reconcile.Request {
			return r.rolloutsFor(ctx, "", templatesIndex, templateKey(true, t.Name))
		}
		r.templateWatches.err = r.controller.Watch(source.Kind(r.cache, &v1alpha1.ClusterAnalysisTemplate{}, handler.TypedEnqueueRequestsFromMapFunc(cluster)))
	})
	return r.templateWatches.err
}

// validateAnalysis checks the templates the Rollout's analyses name, as
// the reference does when it reconciles: they exist, merge, get every arg
// they need, and (outside background analysis) end by themselves. A
// problem is InvalidSpec, and fixing the template resumes the Rollout
// (the template watches bring it back).
func (r *Reconciler) validateAnalysis(ctx context.Context, s *scope) (ctrl.Result, error) {
	specs := rolloutanalysis.Specs(s.ro)
	if len(specs) == 0 {
		return ctrl.Result{}, nil
	}
	if !r.AnalysisServed {
		s.invalid = fmt.Sprintf("%s: the AnalysisRun CRD is not installed (kubectl apply -k config/crd)", specs[0].Path)
		s.stop = true
		return ctrl.Result{}, nil
	}
	if err := r.watchTemplates(); err != nil {
		return ctrl.Result{}, err
	}
	var errs field.ErrorList
	for _, spec := range specs {
		found, err := r.checkAnalysis(ctx, s.ro, spec)
		if err != nil {
			return ctrl.Result{}, err
		}
		errs = append(errs, found...)
	}
	if len(errs) > 0 {
		s.invalid = errs.ToAggregate().Error()
		s.stop = true
		ctrl.LoggerFrom(ctx).Info("invalid analysis", "reason", s.invalid)
	}
	return ctrl.Result{}, nil
}

// checkAnalysis returns the problems of one analysis; err is a failure to
// read.
func (r *Reconciler) checkAnalysis(ctx context.Context, ro *v1alpha1.Rollout, spec rolloutanalysis.Spec) (field.ErrorList, error) {
	for _, t := range spec.Analysis.Templates {
		if ptr.Deref(t.ClusterScope, false) && !r.ClusterTemplates {
			return field.ErrorList{field.Invalid(spec.Path.Child("templates"), t.TemplateName,
				"ClusterAnalysisTemplates are not read when the controller serves one namespace (--namespace); use an AnalysisTemplate")}, nil
		}
	}
	return rolloutanalysis.Check(ctx, analysis.ClientTemplates{Reader: r.Client}, ro, spec)
}

// gatherAnalysisRuns reads, from the cache, the runs the Rollout controls.
func (r *Reconciler) gatherAnalysisRuns(ctx context.Context, s *scope) (ctrl.Result, error) {
	if !r.AnalysisServed {
		return ctrl.Result{}, nil
	}
	var list v1alpha1.AnalysisRunList
	if err := r.Client.List(ctx, &list, client.InNamespace(s.ro.Namespace), client.MatchingFields{runOwnerIndex: s.ro.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list analysisruns: %w", err)
	}
	for i := range list.Items {
		run := &list.Items[i]
		if metav1.IsControlledBy(run, s.ro) {
			s.runs = append(s.runs, run)
		}
	}
	return ctrl.Result{}, nil
}

// analysisSource is one source as a strategy sees it this pass.
type analysisSource struct {
	kind rolloutanalysis.Kind
	// analysis is the spec's analysis, nil when the source does not apply
	// now (no analysis, or the current step is not an analysis step).
	analysis *v1alpha1.RolloutAnalysis
	step     int32
	due      bool
	cancel   bool
	// record points at the status field of this source.
	record   **v1alpha1.RolloutAnalysisRunStatus
	previous *v1alpha1.RolloutAnalysisRunStatus

	decision rolloutanalysis.Decision
}

// analysisOutcome is what the sources decided together.
type analysisOutcome struct {
	// aborted: a run failed and this pass aborted the update.
	aborted bool
	// held: the InconclusiveAnalysisRun pause is present.
	held bool
	// resumed: a person cleared the inconclusive pause this pass; the
	// strategy decides who spends controllerPause (see resumeSpent).
	resumed bool
}

// reconcileSources decides each source, acts (terminate, create), records
// the statuses and events, then applies the verdicts to the Rollout: the
// first failure aborts it, an inconclusive result pauses it.
func (r *Reconciler) reconcileSources(ctx context.Context, s *scope, cancelAll bool, sources ...*analysisSource) (analysisOutcome, error) {
	st := &s.ro.Status
	shared := rolloutanalysis.Rollout{
		CancelAll:         cancelAll,
		Retry:             !st.Abort && s.original.Status.AbortedAt != nil,
		InconclusivePause: pauseStart(st, v1alpha1.PauseReasonInconclusiveAnalysis) != nil,
	}
	var out analysisOutcome
	abortMessage, inconclusive, resumed := "", false, false
	for _, src := range sources {
		recorded := *src.record
		var current *rolloutanalysis.Run
		if recorded != nil {
			run, err := controlledNamed(ctx, r, s, s.runs, recorded.Name, &v1alpha1.AnalysisRun{})
			if err != nil {
				return out, err
			}
			current = runView(run)
		}
		d := rolloutanalysis.Decide(rolloutanalysis.Source{
			Kind: src.kind, Configured: src.analysis != nil, Due: src.due, Cancel: src.cancel,
			Hash: s.newHash, Step: src.step, Recorded: recorded, Current: current,
		}, shared)
		src.decision = d
		if d.Terminate != "" {
			if err := r.terminateRun(ctx, s, d.Terminate); err != nil {
				return out, err
			}
		}
		status := d.Status
		if d.Create {
			run, err := r.createRun(ctx, s, src)
			if err != nil {
				return out, err
			}
			status = &v1alpha1.RolloutAnalysisRunStatus{Name: run.Name, Status: run.Status.Phase, Message: run.Status.Message}
		}
		*src.record = status
		if e, ok := rolloutanalysis.StatusEvent(src.kind, src.previous, status); ok {
			eventType := corev1.EventTypeNormal
			if e.Warning {
				eventType = corev1.EventTypeWarning
			}
			r.Recorder.Eventf(s.ro, nil, eventType, e.Reason, "Analysis", "%s", e.Message)
		}
		switch d.Verdict {
		case rolloutanalysis.Abort:
			if abortMessage == "" {
				abortMessage = d.AbortMessage
			}
		case rolloutanalysis.Inconclusive:
			inconclusive = true
		}
		resumed = resumed || d.Resumed
	}

	switch {
	case abortMessage != "" && !st.Abort:
		st.Abort = true
		s.abortMessage = abortMessage
		out.aborted = true
		ctrl.LoggerFrom(ctx).Info("analysis failed: aborting the update", "reason", abortMessage)
	case inconclusive:
		addPause(s, v1alpha1.PauseReasonInconclusiveAnalysis)
	}
	out.held = pauseStart(st, v1alpha1.PauseReasonInconclusiveAnalysis) != nil
	out.resumed = resumed && !out.held && len(st.PauseConditions) == 0
	return out, nil
}

// resumeSpent: the promote that cleared an inconclusive pause is spent on
// the new run (status.controllerPause is cleared), so that it does not
// also complete a later pause step or skip the blue-green pause; unless
// the Rollout stands at a pause step, whose pause the same promote ends
// (as the reference does).
func resumeSpent(s *scope, atPauseStep bool) {
	if !atPauseStep {
		s.ro.Status.ControllerPause = false
	}
}

func runView(run *v1alpha1.AnalysisRun) *rolloutanalysis.Run {
	if run == nil {
		return nil
	}
	v := &rolloutanalysis.Run{
		Name: run.Name, Phase: run.Status.Phase, Message: run.Status.Message,
		Hash: run.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], Terminating: run.Spec.Terminate,
	}
	if i, ok := rolloutanalysis.StepIndexOf(run.Labels); ok {
		v.StepIndex = &i
	}
	return v
}

// createRun builds the run from the templates and creates it under a
// deterministic name: when the name is taken by an equal run of this
// Rollout that still measures (one this controller created on a pass whose
// status write was lost), that run is reused; otherwise the next <name>.N
// is tried.
func (r *Reconciler) createRun(ctx context.Context, s *scope, src *analysisSource) (*v1alpha1.AnalysisRun, error) {
	a := src.analysis
	sources := analysis.ArgSources{Object: s.ro, StableHash: s.ro.Status.StableRS, LatestHash: s.newHash}
	args, err := analysis.ResolveRolloutArgs(a.Args, sources)
	if err != nil {
		return nil, fmt.Errorf("resolve %s analysis args: %w", src.kind, err)
	}
	spec, err := analysis.BuildRun(ctx, analysis.ClientTemplates{Reader: r.Client}, analysis.RunRequest{
		Namespace: s.ro.Namespace, Templates: analysis.FromRollout(a.Templates), Args: args,
		DryRun: a.DryRun, MeasurementRetention: a.MeasurementRetention, Sources: &sources,
	})
	if err != nil {
		return nil, fmt.Errorf("build %s analysis run: %w", src.kind, err)
	}
	revision := currentRevision(s)
	var selector map[string]string
	if s.ro.Spec.Selector != nil {
		selector = s.ro.Spec.Selector.MatchLabels
	}
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: s.ro.Namespace,
			Labels: rolloutanalysis.Labels(rolloutanalysis.LabelInput{
				Kind: src.kind, Hash: s.newHash, Step: src.step,
				Metadata: a.AnalysisRunMetadata.Labels, Selector: selector,
			}),
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: revision},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(s.ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: *spec,
	}
	for k, v := range a.AnalysisRunMetadata.Annotations {
		run.Annotations[k] = v
	}
	instanceid.CopyLabel(s.ro, run)

	base := rolloutanalysis.BaseName(s.ro.Name, s.newHash, revision, src.kind, src.step)
	for n := 0; n < maxRunNames; n++ {
		run.Name = rolloutanalysis.Candidate(base, n)
		err := r.Client.Create(ctx, run)
		if err == nil {
			ctrl.LoggerFrom(ctx).Info("created AnalysisRun", "analysisRun", klog.KObj(run), "kind", src.kind)
			return run, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create analysisrun %s: %w", klog.KObj(run), err)
		}
		existing := &v1alpha1.AnalysisRun{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(run), existing); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("get analysisrun %s: %w", klog.KObj(run), err)
		}
		if reusable(existing, run, s.ro.UID) {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("create analysisrun: %s and %d suffixed names are taken", base, maxRunNames-1)
}

// reusable: existing is an equal run of this Rollout that still measures.
func reusable(existing, want *v1alpha1.AnalysisRun, owner types.UID) bool {
	ref := metav1.GetControllerOf(existing)
	if ref == nil || ref.UID != owner || existing.Status.Phase.Completed() || existing.Spec.Terminate {
		return false
	}
	return equality.Semantic.DeepEqual(existing.Spec, want.Spec) &&
		existing.Labels[rolloutanalysis.TypeLabel] == want.Labels[rolloutanalysis.TypeLabel] &&
		existing.Labels[rolloutanalysis.StepIndexLabel] == want.Labels[rolloutanalysis.StepIndexLabel]
}

// terminateRun stops a run: it measures nothing more and ends with the
// phase of what it measured so far.
func (r *Reconciler) terminateRun(ctx context.Context, s *scope, name string) error {
	if s.terminated[name] {
		return nil
	}
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: s.ro.Namespace, Name: name}}
	err := r.Client.Patch(ctx, run, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`)))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("terminate analysisrun %s: %w", klog.KObj(run), err)
	}
	if s.terminated == nil {
		s.terminated = map[string]bool{}
	}
	s.terminated[name] = true
	ctrl.LoggerFrom(ctx).Info("terminated AnalysisRun", "analysisRun", klog.KObj(run))
	return nil
}

// canaryGate is what the canary's steps read from its analyses.
type canaryGate struct {
	// StepPassed: the current analysis step's run is Successful.
	StepPassed bool
	// Held: an analysis (or the step's Experiment) is Inconclusive and
	// waits for a person; no step moves and nothing is scaled or promoted.
	Held bool
	// ExperimentPassed: the current experiment step's Experiment is
	// Successful (canaryExperiment).
	ExperimentPassed bool
}

// canaryAnalysis runs the canary's step and background analyses for this
// pass. It is the only analysis call a canary strategy makes (the basic
// and the traffic-routed one alike); run it after pauses, promotions and
// aborts a client asked for are taken into account, and before the steps
// advance. A failed run sets status.abort on the spot, so the strategy's
// abort handling that follows applies in the same pass.
func (r *Reconciler) canaryAnalysis(ctx context.Context, s *scope) (canaryGate, error) {
	st := &s.ro.Status
	st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus = nil, nil
	if !r.AnalysisServed {
		return canaryGate{}, nil
	}
	spec := s.ro.Spec.Strategy.Canary
	index := ptr.Deref(st.CurrentStepIndex, 0)
	cancelAll := st.StableRS == "" || st.StableRS == s.newHash || st.Abort || st.PromoteFull || withinRollbackWindow(s)

	step := &analysisSource{
		kind: rolloutanalysis.Step, step: index,
		due:    len(st.PauseConditions) == 0 && !st.Abort,
		record: &st.Canary.CurrentStepAnalysisRunStatus, previous: s.original.Status.Canary.CurrentStepAnalysisRunStatus,
	}
	if int(index) < len(spec.Steps) {
		step.analysis = withTemplates(spec.Steps[index].Analysis)
	}
	background := &analysisSource{
		kind:   rolloutanalysis.Background,
		record: &st.Canary.CurrentBackgroundAnalysisRunStatus, previous: s.original.Status.Canary.CurrentBackgroundAnalysisRunStatus,
	}
	if bg := spec.Analysis; bg != nil {
		background.analysis = withTemplates(&bg.RolloutAnalysis)
		background.due = index >= ptr.Deref(bg.StartingStep, 0)
	}
	out, err := r.reconcileSources(ctx, s, cancelAll, step, background)
	if err != nil {
		return canaryGate{}, err
	}
	if out.resumed {
		resumeSpent(s, int(index) < len(spec.Steps) && spec.Steps[index].Pause != nil)
	}
	return canaryGate{StepPassed: step.decision.Verdict == rolloutanalysis.Passed, Held: out.held}, nil
}

// blueGreenAnalysis runs the pre- and post-promotion analyses for this
// pass and tells the planner about them: their gates, an abort their
// failure caused, and a pause for an inconclusive result.
func (r *Reconciler) blueGreenAnalysis(ctx context.Context, s *scope, o *bluegreen.Observed) error {
	st := &s.ro.Status
	st.Canary.CurrentStepAnalysisRunStatus, st.Canary.CurrentBackgroundAnalysisRunStatus = nil, nil
	// A canary's Experiment left over (the strategy changed) is pruned.
	st.Canary.CurrentExperiment = ""
	bg := s.ro.Spec.Strategy.BlueGreen
	o.ScaleDownDelayExplicit = bg.ScaleDownDelaySeconds != nil
	if !r.AnalysisServed {
		return nil
	}
	cancelAll := o.Stable == nil || o.Stable.Hash == o.New.Hash || o.Abort || o.PromoteFull || o.WithinWindow || o.FastRollback
	pre := &analysisSource{
		kind: rolloutanalysis.PrePromotion, analysis: withTemplates(bg.PrePromotionAnalysis),
		due: bluegreen.PrePromotionDue(*o), cancel: o.ActiveSelector == o.New.Hash,
		record: &st.BlueGreen.PrePromotionAnalysisRunStatus, previous: s.original.Status.BlueGreen.PrePromotionAnalysisRunStatus,
	}
	post := &analysisSource{
		kind: rolloutanalysis.PostPromotion, analysis: withTemplates(bg.PostPromotionAnalysis),
		due: bluegreen.PostPromotionDue(*o), cancel: o.ActiveSelector != o.New.Hash,
		record: &st.BlueGreen.PostPromotionAnalysisRunStatus, previous: s.original.Status.BlueGreen.PostPromotionAnalysisRunStatus,
	}
	out, err := r.reconcileSources(ctx, s, cancelAll, pre, post)
	if err != nil {
		return err
	}
	if out.resumed {
		resumeSpent(s, false)
	}
	gate := func(src *analysisSource) bluegreen.Gate {
		switch {
		case src.analysis == nil || cancelAll:
			return bluegreen.GateNone
		case src.decision.Verdict == rolloutanalysis.Passed:
			return bluegreen.GatePassed
		}
		return bluegreen.GatePending
	}
	o.PrePromotionAnalysis, o.PostPromotionAnalysis = gate(pre), gate(post)
	o.InconclusivePause = out.held
	o.Abort, o.ControllerPause = st.Abort, st.ControllerPause
	o.PauseStart = pauseStart(st, v1alpha1.PauseReasonBlueGreenPause)
	return nil
}

func withTemplates(a *v1alpha1.RolloutAnalysis) *v1alpha1.RolloutAnalysis {
	if a == nil || len(a.Templates) == 0 {
		return nil
	}
	return a
}

// pruneAnalysisRuns applies the history limits to the runs no status field
// names: runs still measuring are terminated, runs of revisions that are
// gone deleted, and finished ones kept up to spec.analysis's limits.
func (r *Reconciler) pruneAnalysisRuns(ctx context.Context, s *scope) (ctrl.Result, error) {
	if !r.AnalysisServed || s.newRS == nil || len(s.runs) == 0 {
		return ctrl.Result{}, nil
	}
	st := &s.ro.Status
	current := map[string]bool{}
	for _, rec := range []*v1alpha1.RolloutAnalysisRunStatus{
		st.Canary.CurrentStepAnalysisRunStatus, st.Canary.CurrentBackgroundAnalysisRunStatus,
		st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus,
	} {
		if rec != nil {
			current[rec.Name] = true
		}
	}
	revisions := map[string]bool{}
	for _, rs := range s.replicaSets {
		if rs.DeletionTimestamp.IsZero() {
			revisions[hashOf(rs)] = true
		}
	}
	h := rolloutanalysis.History{
		Current: current, Revisions: revisions,
		SuccessfulLimit:   s.ro.SuccessfulRunHistoryLimitOrDefault(),
		UnsuccessfulLimit: s.ro.UnsuccessfulRunHistoryLimitOrDefault(),
	}
	for _, run := range s.runs {
		h.Runs = append(h.Runs, rolloutanalysis.OwnedRun{
			Name: run.Name, Phase: run.Status.Phase, Hash: run.Labels[v1alpha1.DefaultRolloutUniqueLabelKey],
			Created: run.CreationTimestamp.Time, Terminating: run.Spec.Terminate || s.terminated[run.Name],
		})
	}
	c := rolloutanalysis.Prune(h)
	for _, name := range c.Terminate {
		if err := r.terminateRun(ctx, s, name); err != nil {
			return ctrl.Result{}, err
		}
	}
	for _, name := range c.Delete {
		run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: s.ro.Namespace, Name: name}}
		if err := r.Client.Delete(ctx, run); err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("delete analysisrun %s: %w", klog.KObj(run), err)
		}
		ctrl.LoggerFrom(ctx).V(1).Info("deleted AnalysisRun (history limit or revision gone)", "analysisRun", klog.KObj(run))
	}
	return ctrl.Result{}, nil
}

// indexRunOwner is the name of the Rollout controlling an AnalysisRun.
func indexRunOwner(obj client.Object) []string {
	return indexOwner(obj)
}

// waitingOnAnalysis: a blue-green pre- or post-promotion analysis of the
// current revision still measures; the progress deadline does not run
// meanwhile (a canary analysis step is covered by its step).
func waitingOnAnalysis(st *v1alpha1.RolloutStatus) bool {
	for _, rec := range []*v1alpha1.RolloutAnalysisRunStatus{st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus} {
		if rec != nil && !rec.Status.Completed() {
			return true
		}
	}
	return false
}
