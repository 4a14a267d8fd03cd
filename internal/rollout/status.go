package rollout

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/conditions"
	"github.com/switchyard-dev/switchyard/internal/phase"
)

// computeStatus derives the status from what the pass observed and did:
// replica counts, the abort bookkeeping, conditions (by the reference's
// rules, internal/conditions), phase and message.
func (r *Reconciler) computeStatus(s *scope) {
	st := &s.ro.Status
	st.ObservedGeneration = v1alpha1.ObservedGenerationString(s.ro.Generation)

	if s.invalid != "" {
		if conditions.SetInvalidSpec(st, s.now, s.invalid) {
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventInvalidSpec, "Validate", "%s", s.invalid)
		}
		st.Phase, st.Message = phase.Compute(s.ro)
		return
	}
	if s.newRS == nil {
		// The pass stopped before the new ReplicaSet was known (a hash
		// collision, a refused create): counts are recomputed next pass.
		if s.createError != nil {
			if msg, changed := conditions.SetReplicaSetCreateError(st, s.now, s.createErrorRS, s.createError); changed {
				r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, v1alpha1.FailedRSCreateReason, "Create", "%s", msg)
			}
		}
		st.Phase, st.Message = phase.Compute(s.ro)
		return
	}

	st.CurrentPodHash = s.newHash
	counts(s)
	r.abortBookkeeping(s)
	res := conditions.Update(conditions.Input{
		Spec:                &s.ro.Spec,
		Generation:          s.ro.Generation,
		Previous:            &s.original.Status,
		New:                 st,
		NewRSName:           s.newRS.Name,
		Revision:            currentRevision(s),
		AbortMessage:        s.abortMessage,
		WaitingIndefinitely: waitingIndefinitely(s),
		MinimumAvailable:    minimumAvailable(s),
		ReplicaFailure:      replicaFailure(s),
		Now:                 s.now,
	})
	if res.AbortNow && st.AbortedAt == nil {
		st.AbortedAt = &metav1.Time{Time: s.now}
		st.PauseConditions, st.ControllerPause = nil, false
	}
	s.statusEvents = res.Events
	r.trafficRoutingStatus(s)
	st.Phase, st.Message = phase.Compute(s.ro)
}

// counts fills the replica counts. For blue-green, readiness, availability
// and the scale subresource follow the active ReplicaSet, the one serving
// traffic (all ReplicaSets while none is active yet).
func counts(s *scope) {
	st := &s.ro.Status
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0
	for _, rs := range s.replicaSets {
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	st.UpdatedReplicas = s.newRS.Status.Replicas
	st.HPAReplicas = st.Replicas
	st.Selector = metav1.FormatLabelSelector(s.ro.Spec.Selector)
	if s.ro.Spec.Strategy.BlueGreen != nil {
		if activeRS := s.replicaSetByHash(st.BlueGreen.ActiveSelector); activeRS != nil {
			st.ReadyReplicas = activeRS.Status.ReadyReplicas
			st.AvailableReplicas = activeRS.Status.AvailableReplicas
			st.HPAReplicas = activeRS.Status.Replicas
			st.Selector = metav1.FormatLabelSelector(activeRS.Spec.Selector)
		}
	}
}

// abortBookkeeping records when an abort began and forgets it on retry.
// The spec is never touched: a user reverts the template to complete a
// rollback.
func (r *Reconciler) abortBookkeeping(s *scope) {
	st := &s.ro.Status
	if st.StableRS == st.CurrentPodHash {
		// Nothing in flight: an abort has nothing left to cancel (the
		// reference turns a healthy Rollout Degraded here, argo-rollouts#3064).
		// Say so rather than drop it silently.
		if st.Abort && st.AbortedAt == nil {
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventAbortRefused, "Abort",
				"Abort refused: revision %s is fully promoted, there is no update to abort", currentRevision(s))
		}
		st.Abort, st.AbortedAt = false, nil
		return
	}
	switch {
	case st.Abort && st.AbortedAt == nil:
		st.AbortedAt = &metav1.Time{Time: s.now}
	case !st.Abort:
		st.AbortedAt = nil
	}
}

// waitingIndefinitely: the update waits on a step with no deadline of its
// own, on old ReplicaSets' scale-down delay, or on a blue-green analysis;
// the progress deadline does not run meanwhile.
func waitingIndefinitely(s *scope) bool {
	if c := s.ro.Spec.Strategy.Canary; c != nil {
		if i := int(ptr.Deref(s.ro.Status.CurrentStepIndex, 0)); i < len(c.Steps) {
			step := c.Steps[i]
			if step.Pause != nil || step.Analysis != nil || step.Experiment != nil {
				return true
			}
		}
	}
	for _, rs := range s.olderReplicaSets() {
		if specReplicas(rs) > 0 && scaleDownDeadline(rs) != nil {
			return true
		}
	}
	return waitingOnAnalysis(&s.ro.Status)
}

// minimumAvailable is the Available condition's rule: blue-green needs the
// active ReplicaSet saturated, canary enough available pods overall.
func minimumAvailable(s *scope) bool {
	replicas := s.ro.ReplicasOrDefault()
	if s.ro.Spec.Strategy.BlueGreen != nil {
		return saturated(s.replicaSetByHash(s.ro.Status.BlueGreen.ActiveSelector), replicas)
	}
	var available int32
	for _, rs := range s.replicaSets {
		available += rs.Status.AvailableReplicas
	}
	return available >= replicas
}

// saturated: the ReplicaSet is sized for the whole Rollout and every pod of
// it is available.
func saturated(rs *appsv1.ReplicaSet, replicas int32) bool {
	return rs != nil && specReplicas(rs) == replicas &&
		rs.Annotations[v1alpha1.DesiredReplicasAnnotation] == itoa(replicas) &&
		rs.Status.AvailableReplicas == replicas
}

// replicaFailure surfaces a ReplicaSet's ReplicaFailure condition (quota,
// admission): the new ReplicaSet's first.
func replicaFailure(s *scope) *v1alpha1.RolloutCondition {
	ordered := append([]*appsv1.ReplicaSet{s.newRS}, s.olderReplicaSets()...)
	for _, rs := range ordered {
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure {
				return &v1alpha1.RolloutCondition{
					Type: v1alpha1.RolloutReplicaFailure, Status: c.Status, Reason: c.Reason, Message: c.Message,
					LastUpdateTime: c.LastTransitionTime, LastTransitionTime: c.LastTransitionTime,
				}
			}
		}
	}
	return nil
}

// progressDeadline is when the in-flight update times out, or zero when no
// deadline runs (nothing in flight, paused, aborted, timed out already).
func progressDeadline(ro *v1alpha1.Rollout) time.Time {
	st := &ro.Status
	c := conditions.Find(st, v1alpha1.RolloutProgressing)
	if c == nil || st.StableRS == st.CurrentPodHash || paused(ro) || st.Abort ||
		c.Reason == v1alpha1.TimedOutReason || c.Reason == v1alpha1.RolloutAbortedReason {
		return time.Time{}
	}
	return conditions.ProgressDeadline(&ro.Spec, c)
}

func paused(ro *v1alpha1.Rollout) bool {
	return ro.Spec.Paused || len(ro.Status.PauseConditions) > 0
}

func currentRevision(s *scope) string {
	if s.newRS == nil {
		return ""
	}
	return s.newRS.Annotations[v1alpha1.RevisionAnnotation]
}
