package rollout

import (
	"context"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/canary"
	"github.com/switchyard-dev/switchyard/internal/canary/replicas"
	"github.com/switchyard-dev/switchyard/internal/hash"
)

// runCanary runs the basic canary (no traffic router): the weight is carried
// by replica counts. Each pass sizes the ReplicaSets toward the current
// step's weight within maxSurge/maxUnavailable, then lets the step machine
// advance, and points the canary and stable Services.
func (r *Reconciler) runCanary(ctx context.Context, s *scope) (ctrl.Result, error) {
	spec := s.ro.Spec.Strategy.Canary
	st := &s.ro.Status
	r.resetStepsIfChanged(s)

	stableRS := s.replicaSetByHash(st.StableRS)
	if stableRS == nil && st.StableRS != "" {
		// The stable ReplicaSet is gone: there is nothing to step from.
		st.StableRS = ""
	}
	if st.StableRS == "" && s.original.Status.StableRS == "" {
		// First deploy: no steps, the new ReplicaSet goes straight to full size.
		st.CurrentStepIndex = ptr.To(int32(len(spec.Steps)))
	}
	if st.Abort && st.StableRS != s.newHash {
		st.CurrentStepIndex = ptr.To[int32](0)
		r.applyPauseAndPromotion(ctx, s, false, len(st.PauseConditions) > 0 || st.ControllerPause, false, "")
	}
	if st.PromoteFull && st.StableRS != s.newHash {
		st.CurrentStepIndex = ptr.To(int32(len(spec.Steps)))
		r.applyPauseAndPromotion(ctx, s, false, len(st.PauseConditions) > 0 || st.ControllerPause, false, "")
	}

	weight := replicas.EffectiveWeight(replicas.Progress{
		Steps:            weightSteps(spec.Steps),
		CurrentStepIndex: st.CurrentStepIndex,
		StableRS:         st.StableRS,
		CurrentPodHash:   s.newHash,
		Aborted:          st.Abort,
		PromoteFull:      st.PromoteFull,
	})
	in := r.canaryInput(s, stableRS, weight)
	plan, err := replicas.Compute(in)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("plan canary replicas: %w", err)
	}
	if !s.ro.Spec.Paused {
		if err := r.applyCanaryPlan(ctx, s, stableRS, plan); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.pointCanaryServices(ctx, s, stableRS); err != nil {
		return ctrl.Result{}, err
	}

	// The step machine reads the counts as they were observed this pass:
	// a step completes on what is running, not on what was just asked for.
	reached, err := replicas.StepComplete(in)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("check canary step: %w", err)
	}
	result := ctrl.Result{}
	index := ptr.Deref(st.CurrentStepIndex, 0)
	if !s.ro.Spec.Paused && !st.Abort && st.StableRS != s.newHash {
		d := canary.Advance(canary.StepState{
			Steps:           spec.Steps,
			Index:           index,
			PauseStart:      pauseStart(st, v1alpha1.PauseReasonCanaryPauseStep),
			ControllerPause: st.ControllerPause,
			WeightReached:   reached,
			Now:             s.now,
		})
		if d.Completed {
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventStepCompleted, "Step", "Rollout step %d/%d completed", d.Index, len(spec.Steps))
		}
		r.applyPauseAndPromotion(ctx, s, d.AddPause, d.ClearPause, false, v1alpha1.PauseReasonCanaryPauseStep)
		st.CurrentStepIndex = ptr.To(d.Index)
		index = d.Index
		if d.RequeueAfter > 0 {
			result = requeueAt(d.RequeueAfter)
		}
	}
	// All steps done and the new pods carry everything: it is the stable now.
	// (StepComplete is false without a separate stable ReplicaSet: on a
	// first deploy the new ReplicaSet only has to be fully available.)
	full := in.Canary.Replicas == in.Replicas && in.Canary.Available >= in.Replicas
	if int(index) >= len(spec.Steps) && !st.Abort && full && (reached || in.Stable == nil) {
		r.applyPauseAndPromotion(ctx, s, false, false, true, "")
	}
	if st.StableRS == s.newHash {
		st.CurrentStepIndex = ptr.To(int32(len(spec.Steps)))
	}
	r.replicaWeights(s, weight)
	return result, nil
}

// resetStepsIfChanged restarts the steps when the pod template or the steps
// change: a new build mid-canary starts again from the first step.
func (r *Reconciler) resetStepsIfChanged(s *scope) {
	st := &s.ro.Status
	stepsHash := hash.StepsHash(s.ro.Spec.Strategy.Canary.Steps)
	if st.CurrentPodHash != s.newHash || st.CurrentStepHash != stepsHash {
		if st.CurrentPodHash != "" && st.StableRS != s.newHash {
			st.CurrentStepIndex = ptr.To[int32](0)
		}
		st.PauseConditions, st.ControllerPause = nil, false
		st.CurrentStepHash = stepsHash
	}
	if st.CurrentStepIndex == nil {
		st.CurrentStepIndex = ptr.To[int32](0)
	}
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
// optional canaryService and stableService. The canary Service moves to the
// new pods only once some of them are available.
func (r *Reconciler) pointCanaryServices(ctx context.Context, s *scope, stableRS *appsv1.ReplicaSet) error {
	spec := s.ro.Spec.Strategy.Canary
	stableHash := hashOf(stableRS)
	if stableHash == "" {
		stableHash = s.newHash
	}
	if svc := s.services[spec.StableService]; svc != nil {
		if err := r.pointService(ctx, s, svc, stableHash); err != nil {
			return err
		}
	}
	if svc := s.services[spec.CanaryService]; svc != nil {
		target := stableHash
		if s.newRS.Status.AvailableReplicas > 0 {
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
	stableRS := s.replicaSetByHash(s.ro.Status.StableRS)
	stableHash := ""
	if stableRS != nil {
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
	plan, err := replicas.Compute(r.canaryInput(s, stableRS, weight))
	if err != nil {
		return 0 // the next pass scales it
	}
	return plan.Canary
}
