package rollout

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/bluegreen"
	"github.com/switchyard-dev/switchyard/internal/requeue"
)

// runStrategy hands the pass to the Rollout's strategy.
func (r *Reconciler) runStrategy(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.ro.Spec.Strategy.BlueGreen != nil {
		return r.runBlueGreen(ctx, s)
	}
	return r.runCanary(ctx, s)
}

// runBlueGreen observes, asks the blue-green planner, and applies the plan in
// an order that never leaves the active Service without ready pods: scale
// up, then switch Services, then mark and scale down what is left behind.
func (r *Reconciler) runBlueGreen(ctx context.Context, s *scope) (ctrl.Result, error) {
	bg := s.ro.Spec.Strategy.BlueGreen
	active := s.services[bg.ActiveService]
	preview := s.services[bg.PreviewService]
	if initialDeploy(s) {
		// The first revision is the stable one from the start, as in the
		// reference; the active Service still waits for its pods.
		r.promote(ctx, s, promotedInitialDeploy)
	}
	o := r.observeBlueGreen(s, active, preview)
	if err := r.blueGreenAnalysis(ctx, s, &o); err != nil {
		return ctrl.Result{}, err
	}
	plan := bluegreen.Decide(o)
	if plan.Waiting == bluegreen.WaitNewEndpoints {
		// Only right before the active switch are endpoints read.
		n, err := r.newReadyEndpoints(ctx, s, preview)
		if err != nil {
			return ctrl.Result{}, err
		}
		o.NewReadyEndpoints = n
		plan = bluegreen.Decide(o)
	}
	if retiring := plan.Retiring(o); len(retiring) > 0 && active != nil {
		// Only before a scale-down are the active Service's endpoints
		// read: pods it still routes to are kept until they leave.
		counts, err := r.activeEndpoints(ctx, s, active, retiring)
		if err != nil {
			return ctrl.Result{}, err
		}
		o.ActiveEndpoints = counts
		plan = bluegreen.Decide(o)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("blue-green plan", "waiting", plan.Waiting, "active", plan.ActiveSelector, "preview", plan.PreviewSelector, "promoted", plan.Promoted)

	// 1. Scale up.
	for h, n := range plan.Scale {
		if rs := s.replicaSetByHash(h); rs != nil && n > specReplicas(rs) {
			if err := r.scale(ctx, s, rs, n); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	for _, h := range plan.ClearScaleDownAt {
		if rs := s.replicaSetByHash(h); rs != nil {
			if err := r.setScaleDownDeadline(ctx, rs, time.Time{}); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	// 2. Services: preview first, active last.
	if plan.PreviewSelector != "" && preview != nil {
		if err := r.pointService(ctx, s, preview, plan.PreviewSelector); err != nil {
			return ctrl.Result{}, err
		}
	}
	if plan.ActiveSelector != "" {
		if err := r.pointService(ctx, s, active, plan.ActiveSelector); err != nil {
			return ctrl.Result{}, err
		}
	}
	// 3. Deadlines, then scale down.
	for h, at := range plan.ScaleDownAt {
		if rs := s.replicaSetByHash(h); rs != nil {
			if err := r.setScaleDownDeadline(ctx, rs, at); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	for h, n := range plan.Scale {
		if rs := s.replicaSetByHash(h); rs != nil && n < specReplicas(rs) {
			if err := r.scale(ctx, s, rs, n); err != nil {
				return ctrl.Result{}, err
			}
		}
	}

	if plan.ClearPause {
		clearPause(s)
	}
	if plan.AddPause {
		addPause(s, v1alpha1.PauseReasonBlueGreenPause)
	}
	if plan.Promoted {
		reason := promotedBlueGreen
		switch {
		case s.ro.Status.PromoteFull:
			reason = promotedFull
		case o.WithinWindow:
			reason = promotedWithinWindow
		}
		r.promote(ctx, s, reason)
	}
	st := &s.ro.Status
	st.BlueGreen.ActiveSelector = selectedHash(active)
	st.BlueGreen.PreviewSelector = selectedHash(preview)
	if plan.RequeueAfter > 0 {
		return requeue.After(plan.RequeueAfter), nil
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) observeBlueGreen(s *scope, active, preview *corev1.Service) bluegreen.Observed {
	bg := s.ro.Spec.Strategy.BlueGreen
	st := &s.ro.Status
	replicas := s.ro.ReplicasOrDefault()
	o := bluegreen.Observed{
		Replicas:               replicas,
		PreviewReplicas:        bg.PreviewReplicaCountOrDefault(replicas),
		New:                    observeRS(s.newRS),
		ActiveSelector:         selectedHash(active),
		HasPreview:             preview != nil,
		PreviewSelector:        selectedHash(preview),
		AutoPromotionEnabled:   bg.AutoPromotionEnabledOrDefault(),
		AutoPromotionSeconds:   bg.AutoPromotionSeconds,
		ScaleDownDelay:         time.Duration(bg.ScaleDownDelaySecondsOrDefault()) * time.Second,
		AbortScaleDownDelay:    time.Duration(bg.AbortScaleDownDelaySecondsOrDefault()) * time.Second,
		ScaleDownRevisionLimit: bg.ScaleDownDelayRevisionLimit,
		ControllerPause:        st.ControllerPause,
		PromoteFull:            st.PromoteFull,
		WithinWindow:           st.StableRS != s.newHash && withinRollbackWindow(s),
		FastRollback:           st.StableRS != s.newHash && scaleDownDeadline(s.newRS) != nil,
		Abort:                  st.Abort,
		SpecPaused:             s.ro.Spec.Paused,
		PauseStart:             pauseStart(st, v1alpha1.PauseReasonBlueGreenPause),
		Now:                    s.now,
	}
	stableHash := st.StableRS
	o.StableRecorded = stableHash != "" && s.replicaSetByHash(stableHash) != nil
	if !o.StableRecorded {
		// No recorded stable revision (status lost, or a namespace moved
		// from another controller): whatever the active Service selects is
		// what production runs.
		stableHash = o.ActiveSelector
	}
	if rs := s.replicaSetByHash(stableHash); rs != nil {
		stable := observeRS(rs)
		o.Stable = &stable
	}
	for _, rs := range s.replicaSets {
		if h := hashOf(rs); h != o.New.Hash && (o.Stable == nil || h != o.Stable.Hash) {
			o.Others = append(o.Others, observeRS(rs))
		}
	}
	return o
}

func observeRS(rs *appsv1.ReplicaSet) bluegreen.ReplicaSet {
	return bluegreen.ReplicaSet{
		Hash:        hashOf(rs),
		Revision:    revision(rs),
		Replicas:    specReplicas(rs),
		Available:   rs.Status.AvailableReplicas,
		ScaleDownAt: scaleDownDeadline(rs),
	}
}

// initialReplicas is the size a new ReplicaSet is created at: what the
// strategy's planner would scale it to in the same pass.
func (r *Reconciler) initialReplicas(s *scope) int32 {
	st := &s.ro.Status
	replicas := s.ro.ReplicasOrDefault()
	if s.ro.Spec.Paused || (st.Abort && st.StableRS != "") {
		return 0
	}
	if bg := s.ro.Spec.Strategy.BlueGreen; bg != nil {
		if s.replicaSetByHash(st.StableRS) == nil && !s.activeSelectsExisting() {
			return replicas // first deploy
		}
		if st.PromoteFull {
			return replicas
		}
		return bg.PreviewReplicaCountOrDefault(replicas)
	}
	return r.initialCanaryReplicas(s)
}

// activeSelectsExisting reports whether the active Service selects one of
// the Rollout's ReplicaSets.
func (s *scope) activeSelectsExisting() bool {
	svc := s.services[s.ro.Spec.Strategy.BlueGreen.ActiveService]
	return s.replicaSetByHash(selectedHash(svc)) != nil
}

// newReadyEndpoints counts the new ReplicaSet's pods that clients would
// reach once the active Service selects them: ready endpoints of the
// preview Service when it selects them, otherwise pods that are Ready, have
// an address and are not terminating (the endpoint controller's own rule),
// read live rather than trusting the ReplicaSet's ready count.
func (r *Reconciler) newReadyEndpoints(ctx context.Context, s *scope, preview *corev1.Service) (int32, error) {
	if preview != nil && (selectedHash(preview) == s.newHash || selectedHash(preview) == "") {
		return r.readyEndpoints(ctx, preview, s.newRS)
	}
	return r.readyPods(ctx, s.newRS)
}

// activeEndpoints counts, for each ReplicaSet hash, the pods the active
// Service's EndpointSlices list as ready.
func (r *Reconciler) activeEndpoints(ctx context.Context, s *scope, active *corev1.Service, hashes []string) (map[string]int32, error) {
	counts := make(map[string]int32, len(hashes))
	for _, h := range hashes {
		rs := s.replicaSetByHash(h)
		if rs == nil {
			continue
		}
		n, err := r.readyEndpoints(ctx, active, rs)
		if err != nil {
			return nil, err
		}
		counts[h] = n
	}
	return counts, nil
}
