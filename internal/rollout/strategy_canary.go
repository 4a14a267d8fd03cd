package rollout

import (
	"context"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/canary"
	"github.com/switchyard-dev/switchyard/internal/canary/replicas"
	"github.com/switchyard-dev/switchyard/internal/hash"
	"github.com/switchyard-dev/switchyard/internal/requeue"
)

// runCanary runs the basic canary (no traffic router): the weight is carried
// by replica counts. Each pass sizes the ReplicaSets toward the current
// step's weight within maxSurge/maxUnavailable, then lets the step machine
// advance, and points the canary and stable Services.
func (r *Reconciler) runCanary(ctx context.Context, s *scope) (ctrl.Result, error) {
	spec := s.ro.Spec.Strategy.Canary
	if spec.TrafficRouting != nil {
		return r.runTrafficRouted(ctx, s)
	}
	st := &s.ro.Status
	st.Canary.Weights = nil // a router's split; none without one
	r.resetStepsIfChanged(s)
	stableRS, stableMissing := r.canaryStable(ctx, s)
	inFlight := st.StableRS != s.newHash
	withinWindow := inFlight && withinRollbackWindow(s)
	if inFlight && (st.PromoteFull || withinWindow) {
		// Skip what is left: steps, pauses, an abort.
		clearPause(s)
		st.Abort, st.AbortedAt = false, nil
		st.CurrentStepIndex = stepsDone(spec)
	}
	exp, err := r.canaryExperiment(ctx, s, stableRS)
	if err != nil {
		return ctrl.Result{}, err
	}
	gate, err := r.canaryAnalysis(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	gate.ExperimentPassed, gate.Held = exp.Passed, gate.Held || exp.Held
	if inFlight && st.Abort {
		st.CurrentStepIndex = stepStart(spec)
		clearPause(s)
	}

	weight := replicas.EffectiveWeight(replicas.Progress{
		Steps:            weightSteps(spec.Steps),
		CurrentStepIndex: st.CurrentStepIndex,
		StableRS:         st.StableRS,
		CurrentPodHash:   s.newHash,
		Aborted:          st.Abort,
		PromoteFull:      st.PromoteFull || withinWindow,
	})
	in := r.canaryInput(s, stableRS, weight)
	if stableMissing {
		// The stable ReplicaSet was deleted and nothing else serves: plan as
		// if it were there at zero, so the canary grows only to what the
		// current step asks and the steps hold (they cannot complete
		// without a stable). Moving everything to an unverified revision is
		// a person's decision: promote --full, or undo.
		in.Stable = &replicas.ReplicaSetState{Name: "stable ReplicaSet " + st.StableRS + " (missing)"}
		r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventStableMissing, "Hold",
			"Stable ReplicaSet %s-%s is gone: the update holds at step %d; promote --full or undo to go on", s.ro.Name, st.StableRS, ptr.Deref(st.CurrentStepIndex, 0))
	}
	plan, err := replicas.Compute(in)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("plan canary replicas: %w", err)
	}
	var handover stableHandover
	if !stableMissing {
		if handover, err = r.planStableHandover(ctx, s, stableRS, plan); err != nil {
			return ctrl.Result{}, err
		}
		handover.apply(&plan)
	}
	if !s.ro.Spec.Paused {
		if err := r.applyCanaryPlan(ctx, s, stableRS, plan); err != nil {
			return ctrl.Result{}, err
		}
	}
	if !stableMissing {
		if err := r.pointCanaryServices(ctx, s, stableRS, handover.target); err != nil {
			return ctrl.Result{}, err
		}
	}

	// The step machine reads the counts as they were observed this pass:
	// a step completes on what is running, not on what was just asked for.
	reached, err := replicas.StepComplete(in)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("check canary step: %w", err)
	}
	result := ctrl.Result{}
	index := ptr.Deref(st.CurrentStepIndex, 0)
	if !s.ro.Spec.Paused && !st.Abort && inFlight && int(index) < len(spec.Steps) {
		d := canary.Advance(canary.StepState{
			Steps:            spec.Steps,
			Index:            index,
			PauseStart:       pauseStart(st, v1alpha1.PauseReasonCanaryPauseStep),
			ControllerPause:  st.ControllerPause,
			WeightReached:    reached,
			Now:              s.now,
			AnalysisPassed:   gate.StepPassed,
			ExperimentPassed: gate.ExperimentPassed,
			Held:             gate.Held,
		})
		if d.Completed {
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventStepCompleted, "Step",
				"Rollout step %d/%d completed (%s)", d.Index, len(spec.Steps), stepString(spec.Steps[index]))
			experimentStepDone(s, spec.Steps[index])
		}
		if d.ClearPause {
			clearPause(s)
		}
		if d.AddPause {
			addPause(s, v1alpha1.PauseReasonCanaryPauseStep)
		}
		st.CurrentStepIndex = ptr.To(d.Index)
		index = d.Index
		if d.RequeueAfter > 0 {
			result = requeue.After(d.RequeueAfter)
		}
	}
	// All steps done and the new pods carry everything: it is the stable now.
	// (StepComplete is false without a separate stable ReplicaSet.)
	replicasWanted := s.ro.ReplicasOrDefault()
	full := in.Canary.Replicas == replicasWanted && in.Threshold.Met(in.Canary.Available, replicasWanted)
	if inFlight && int(index) >= len(spec.Steps) && !st.Abort && !gate.Held && full && (reached || in.Stable == nil) {
		reason := promotedCanary(len(spec.Steps))
		switch {
		case st.PromoteFull:
			reason = promotedFull
		case withinWindow:
			reason = promotedWithinWindow
		}
		r.promote(ctx, s, reason)
	}
	if st.StableRS == s.newHash {
		st.CurrentStepIndex = stepsDone(spec)
	}
	r.replicaWeights(s, weight)
	return handover.result(result), nil
}

// canaryStable returns the stable ReplicaSet. On an initial deploy the new
// ReplicaSet is promoted at once (it is the stable, pods or not, as in the
// reference); a stable that is not recorded or was deleted is stood in for
// by the ReplicaSet serving the most pods.
func (r *Reconciler) canaryStable(ctx context.Context, s *scope) (stable *appsv1.ReplicaSet, missing bool) {
	rs, recorded := resolveStable(s)
	switch {
	case rs == nil && s.ro.Status.StableRS != "" && s.ro.Status.StableRS != s.newHash:
		// Recorded, gone, and nothing stands in.
		return nil, true
	case rs == nil:
		r.promote(ctx, s, promotedInitialDeploy)
		return s.newRS, false
	case !recorded:
		s.ro.Status.StableRS = hashOf(rs)
		ctrl.LoggerFrom(ctx).Info("stable ReplicaSet not recorded or gone: the one serving most pods stands in", "replicaSet", klog.KObj(rs))
	}
	return rs, false
}

// resolveStable finds the stable ReplicaSet: the recorded one, or a stand-in
// when it is missing; nil on an initial deploy (nothing else runs pods) or
// when the recorded one is gone and nothing stands in.
func resolveStable(s *scope) (rs *appsv1.ReplicaSet, recorded bool) {
	if rs := s.replicaSetByHash(s.ro.Status.StableRS); rs != nil {
		return rs, true
	}
	if initialDeploy(s) {
		return nil, false
	}
	if rs := standInStable(s); rs != nil {
		return rs, false
	}
	return nil, false
}

// resetStepsIfChanged restarts the steps when the pod template or the steps
// change: a new build mid-canary starts again from the first step, and any
// pause, abort or full promotion of the previous one ends. Going back to
// the stable template (or within rollbackWindow) skips the steps.
func (r *Reconciler) resetStepsIfChanged(s *scope) {
	st := &s.ro.Status
	spec := s.ro.Spec.Strategy.Canary
	stepsHash := hash.StepsHash(spec.Steps)
	if st.CurrentPodHash == s.newHash && st.CurrentStepHash == stepsHash {
		return
	}
	st.CurrentStepHash = stepsHash
	clearPause(s)
	st.Abort, st.AbortedAt, st.PromoteFull = false, nil, false
	st.Canary.CurrentStepAnalysisRunStatus, st.Canary.CurrentBackgroundAnalysisRunStatus = nil, nil
	st.CurrentStepIndex = stepStart(spec)
	if len(spec.Steps) == 0 || st.StableRS == "" {
		return
	}
	switch {
	case st.StableRS == s.newHash:
		r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventSkipSteps, "Skip", "Rollback to stable ReplicaSets")
		st.CurrentStepIndex = stepsDone(spec)
	case withinRollbackWindow(s) && specReplicas(s.newRS) > 0:
		r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventSkipSteps, "Skip", "Rollback to active ReplicaSets within RollbackWindow")
		st.CurrentStepIndex = stepsDone(spec)
	}
}

// stepStart is the step index of a canary starting its steps (nil without
// steps, as the reference writes it).
func stepStart(c *v1alpha1.CanaryStrategy) *int32 {
	if len(c.Steps) == 0 {
		return nil
	}
	return ptr.To[int32](0)
}

// stepString describes a step in the RolloutStepCompleted event, as the
// reference does.
func stepString(step v1alpha1.CanaryStep) string {
	switch {
	case step.SetWeight != nil:
		return fmt.Sprintf("setWeight: %d", *step.SetWeight)
	case step.Pause != nil:
		if step.Pause.Duration != nil {
			return "pause: " + step.Pause.Duration.String()
		}
		return "pause"
	case step.Experiment != nil:
		return "experiment"
	case step.Analysis != nil:
		return "analysis"
	case step.SetCanaryScale != nil && step.SetCanaryScale.Weight != nil:
		return fmt.Sprintf("setCanaryScale{weight: %d}", *step.SetCanaryScale.Weight)
	case step.SetCanaryScale != nil && step.SetCanaryScale.MatchTrafficWeight:
		return "setCanaryScale{matchTrafficWeight: true}"
	case step.SetCanaryScale != nil && step.SetCanaryScale.Replicas != nil:
		return fmt.Sprintf("setCanaryScale{replicas: %d}", *step.SetCanaryScale.Replicas)
	case step.SetHeaderRoute != nil:
		return "setHeaderRoute: " + step.SetHeaderRoute.Name
	case step.SetMirrorRoute != nil:
		return "setMirrorRoute: " + step.SetMirrorRoute.Name
	}
	return "invalid"
}

func (r *Reconciler) canaryInput(s *scope, stableRS *appsv1.ReplicaSet, weight int32) replicas.Input {
	spec := s.ro.Spec.Strategy.Canary
	in := replicas.Input{
		Replicas:       s.ro.ReplicasOrDefault(),
		Weight:         weight,
		MaxSurge:       spec.MaxSurge,
		MaxUnavailable: spec.MaxUnavailable,
		Canary:         rsState(s.newRS),
	}
	if stableRS != nil {
		in.Stable = rsState(stableRS)
	}
	if t := spec.ReplicaProgressThreshold; t != nil {
		in.Threshold = &replicas.Threshold{Percent: t.Type == v1alpha1.ProgressTypePercentage, Value: t.Value}
	}
	older := s.olderReplicaSets()
	sort.Slice(older, func(i, j int) bool { return revision(older[i]) < revision(older[j]) })
	for _, rs := range older {
		if rs != stableRS {
			in.Older = append(in.Older, *rsState(rs))
		}
	}
	return in
}

// applyCanaryPlan scales up before it scales down, so a pass that fails
// half-way has added capacity rather than removed it.
func (r *Reconciler) applyCanaryPlan(ctx context.Context, s *scope, stableRS *appsv1.ReplicaSet, plan replicas.Plan) error {
	want := map[*appsv1.ReplicaSet]int32{s.newRS: plan.Canary}
	if stableRS != nil && stableRS != s.newRS {
		want[stableRS] = plan.Stable
	}
	for _, rs := range s.olderReplicaSets() {
		if n, ok := plan.Older[rs.Name]; ok && rs != stableRS {
			want[rs] = n
		}
	}
	for _, up := range []bool{true, false} {
		for rs, n := range want {
			if (n > specReplicas(rs)) == up && n != specReplicas(rs) {
				if err := r.scale(ctx, s, rs, n); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// pointCanaryServices injects the canary and stable hashes into the
// optional canaryService and stableService: the stableService selects
// stableTarget (the stable hash, or the new one when the stable ReplicaSet
// empties: see stableHandover). The canary Service moves to the new pods
// only once some of them are available, and back to the stable ones as soon
// as the update is aborted (before the canary pods go).
func (r *Reconciler) pointCanaryServices(ctx context.Context, s *scope, stableRS *appsv1.ReplicaSet, stableTarget string) error {
	spec := s.ro.Spec.Strategy.Canary
	stableHash := hashOf(stableRS)
	if stableHash == "" {
		stableHash = s.newHash
	}
	if svc := s.services[spec.StableService]; svc != nil && stableTarget != "" {
		if err := r.pointService(ctx, s, svc, stableTarget); err != nil {
			return err
		}
	}
	if svc := s.services[spec.CanaryService]; svc != nil {
		target := stableHash
		if !s.ro.Status.Abort && s.newRS.Status.AvailableReplicas > 0 {
			target = s.newHash
		}
		if err := r.pointService(ctx, s, svc, target); err != nil {
			return err
		}
	}
	return nil
}

// replicaWeights shows the weight the step asks for next to the weight the
// ready pods actually give: without a traffic router they differ.
func (r *Reconciler) replicaWeights(s *scope, setWeight int32) {
	var ready, canaryReady int32
	for _, rs := range s.replicaSets {
		ready += rs.Status.ReadyReplicas
	}
	canaryReady = s.newRS.Status.ReadyReplicas
	actual := int32(0)
	if ready > 0 {
		actual = int32((int64(canaryReady)*100 + int64(ready)/2) / int64(ready))
	}
	s.ro.Status.Canary.ReplicaWeights = &v1alpha1.ReplicaWeights{SetWeight: setWeight, ActualWeight: actual}
}

func weightSteps(steps []v1alpha1.CanaryStep) []replicas.Step {
	out := make([]replicas.Step, len(steps))
	for i, st := range steps {
		out[i] = replicas.Step{SetWeight: st.SetWeight}
	}
	return out
}

func rsState(rs *appsv1.ReplicaSet) *replicas.ReplicaSetState {
	return &replicas.ReplicaSetState{
		Name:      rs.Name,
		Replicas:  specReplicas(rs),
		Available: rs.Status.AvailableReplicas,
		Created:   rs.Status.Replicas,
	}
}

// initialCanaryReplicas asks the replica planner for the new ReplicaSet's
// first size, as if it existed at zero: a new template restarts the steps.
func (r *Reconciler) initialCanaryReplicas(s *scope) int32 {
	spec := s.ro.Spec.Strategy.Canary
	if spec.TrafficRouting != nil {
		return initialRoutedReplicas(s)
	}
	stableRS, _ := resolveStable(s)
	stableHash := hashOf(stableRS)
	missing := stableRS == nil && s.ro.Status.StableRS != "" && s.ro.Status.StableRS != s.newHash
	if missing {
		stableHash = s.ro.Status.StableRS
	}
	weight := replicas.EffectiveWeight(replicas.Progress{
		Steps:            weightSteps(spec.Steps),
		CurrentStepIndex: ptr.To[int32](0),
		StableRS:         stableHash,
		CurrentPodHash:   s.newHash,
		PromoteFull:      s.ro.Status.PromoteFull,
	})
	s.newRS = &appsv1.ReplicaSet{}
	s.newRS.Name = s.ro.Name + "-" + s.newHash
	s.newRS.Spec.Replicas = ptr.To[int32](0)
	defer func() { s.newRS = nil }()
	in := r.canaryInput(s, stableRS, weight)
	if missing {
		in.Stable = &replicas.ReplicaSetState{Name: "missing stable"}
	}
	plan, err := replicas.Compute(in)
	if err != nil {
		return 0 // the next pass scales it
	}
	return plan.Canary
}
