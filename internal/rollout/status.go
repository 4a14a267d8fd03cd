package rollout

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/phase"
)

// computeStatus derives the status from what the pass observed and did:
// replica counts, the abort/retry bookkeeping, the progress deadline,
// conditions, phase and message.
func (r *Reconciler) computeStatus(ctx context.Context, s *scope) {
	st := &s.ro.Status
	st.ObservedGeneration = v1alpha1.ObservedGenerationString(s.ro.Generation)

	if s.invalid != "" {
		setCondition(st, s.now, v1alpha1.RolloutInvalidSpec, corev1.ConditionTrue, v1alpha1.InvalidSpecReason, s.invalid)
		if c := s.original.Status.GetCondition(v1alpha1.RolloutInvalidSpec); c == nil || c.Message != s.invalid {
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventInvalidSpec, "Validate", "%s", s.invalid)
		}
		st.Phase, st.Message = phase.Compute(s.ro)
		return
	}
	removeCondition(st, v1alpha1.RolloutInvalidSpec)
	if s.newRS == nil {
		// The pass stopped before the new ReplicaSet was known (a hash
		// collision): counts are recomputed next pass.
		st.Phase, st.Message = phase.Compute(s.ro)
		return
	}

	st.CurrentPodHash = s.newHash
	counts(s)
	r.abortBookkeeping(s)
	r.progressing(ctx, s)

	replicas := s.ro.ReplicasOrDefault()
	if st.AvailableReplicas >= replicas {
		setCondition(st, s.now, v1alpha1.RolloutAvailable, corev1.ConditionTrue, v1alpha1.AvailableReason, "Rollout has minimum availability")
	} else {
		setCondition(st, s.now, v1alpha1.RolloutAvailable, corev1.ConditionFalse, v1alpha1.NotAvailableReason, "Rollout does not have minimum availability")
	}
	if paused(s.ro) {
		setCondition(st, s.now, v1alpha1.RolloutPaused, corev1.ConditionTrue, v1alpha1.PausedRolloutReason, "Rollout is paused")
	} else if st.GetCondition(v1alpha1.RolloutPaused) != nil {
		setCondition(st, s.now, v1alpha1.RolloutPaused, corev1.ConditionFalse, v1alpha1.ResumedRolloutReason, "Rollout is resumed")
	}
	completed := st.StableRS == st.CurrentPodHash && st.UpdatedReplicas == replicas && st.Replicas == replicas
	if completed {
		setCondition(st, s.now, v1alpha1.RolloutCompleted, corev1.ConditionTrue, v1alpha1.RolloutCompletedReason, "Rollout completed update to revision "+currentRevision(s))
	} else {
		setCondition(st, s.now, v1alpha1.RolloutCompleted, corev1.ConditionFalse, v1alpha1.RolloutNotCompletedReason, "Rollout not completed, started update to revision "+currentRevision(s))
	}

	st.Phase, st.Message = phase.Compute(s.ro)
	if st.Phase == v1alpha1.RolloutPhaseHealthy {
		setCondition(st, s.now, v1alpha1.RolloutHealthy, corev1.ConditionTrue, v1alpha1.RolloutHealthyReason, "Rollout is healthy")
		if s.original.Status.Phase != v1alpha1.RolloutPhaseHealthy && !s.promotedEvent {
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventCompleted, "Complete", "Rollout completed update to revision %s (%s)", currentRevision(s), s.newHash)
		}
	} else {
		setCondition(st, s.now, v1alpha1.RolloutHealthy, corev1.ConditionFalse, v1alpha1.RolloutHealthyReason, "Rollout is not healthy")
	}
}

// counts fills the replica counts. For blue-green, availability and the
// scale subresource follow the active ReplicaSet, the one serving traffic.
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
	selector := s.ro.Spec.Selector.DeepCopy()
	if s.ro.Spec.Strategy.BlueGreen != nil {
		if activeRS := s.replicaSetByHash(st.BlueGreen.ActiveSelector); activeRS != nil {
			st.AvailableReplicas = activeRS.Status.AvailableReplicas
			st.HPAReplicas = activeRS.Status.Replicas
			if selector.MatchLabels == nil {
				selector.MatchLabels = map[string]string{}
			}
			selector.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = st.BlueGreen.ActiveSelector
		}
	}
	if sel, err := metav1.LabelSelectorAsSelector(selector); err == nil {
		st.Selector = sel.String()
	}
}

// abortBookkeeping records an abort and a retry. The spec is never touched:
// a user reverts the template to complete a rollback.
func (r *Reconciler) abortBookkeeping(s *scope) {
	st := &s.ro.Status
	if st.StableRS == st.CurrentPodHash {
		// Nothing in flight: an abort has nothing left to cancel.
		st.Abort, st.AbortedAt = false, nil
		return
	}
	switch {
	case st.Abort && st.AbortedAt == nil:
		st.AbortedAt = &metav1.Time{Time: s.now}
		r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventAborted, "Abort", "Rollout aborted update to revision %s", currentRevision(s))
	case !st.Abort && st.AbortedAt != nil:
		st.AbortedAt = nil
		setCondition(st, s.now, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.RolloutRetryReason, "Retrying update to revision "+currentRevision(s))
		r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventRetried, "Retry", "Retrying update to revision %s", currentRevision(s))
	}
}

// progressing sets the Progressing condition and enforces
// progressDeadlineSeconds: the clock runs only while an update is in flight
// and nobody (a pause, an abort) is holding it.
func (r *Reconciler) progressing(ctx context.Context, s *scope) {
	st := &s.ro.Status
	rsName := s.newRS.Name
	inFlight := st.StableRS != st.CurrentPodHash
	switch {
	case st.Abort:
		msg := "Rollout aborted update to revision " + currentRevision(s)
		if c := st.GetCondition(v1alpha1.RolloutProgressing); c != nil && c.Reason == v1alpha1.RolloutAbortedReason {
			msg = c.Message // keep the reason an automatic abort gave
		}
		setCondition(st, s.now, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, msg)
	case paused(s.ro):
		setCondition(st, s.now, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.PausedRolloutReason, "Rollout is paused")
	case !inFlight:
		setCondition(st, s.now, v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.NewRSAvailableReason, fmt.Sprintf("ReplicaSet %q has successfully progressed.", rsName))
	default:
		c := st.GetCondition(v1alpha1.RolloutProgressing)
		if c != nil && c.Reason == v1alpha1.TimedOutReason && !s.progressed && !countsChanged(s) {
			return // stays timed out until something moves
		}
		if c == nil || c.Reason != v1alpha1.ReplicaSetUpdatedReason || s.progressed || countsChanged(s) {
			setCondition(st, s.now, v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.ReplicaSetUpdatedReason, fmt.Sprintf("ReplicaSet %q is progressing.", rsName))
			st.GetCondition(v1alpha1.RolloutProgressing).LastUpdateTime = metav1.NewTime(s.now)
			return
		}
		if s.now.Before(progressDeadline(s.ro)) {
			return
		}
		msg := fmt.Sprintf("ReplicaSet %q has timed out progressing.", rsName)
		setCondition(st, s.now, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.TimedOutReason, msg)
		r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventDeadlineExceeded, "Progress", "%s", msg)
		ctrl.LoggerFrom(ctx).Info("progress deadline exceeded", "replicaSet", rsName)
		if s.ro.Spec.ProgressDeadlineAbort {
			st.Abort = true
			st.AbortedAt = &metav1.Time{Time: s.now}
			st.PauseConditions, st.ControllerPause = nil, false
			setCondition(st, s.now, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason,
				fmt.Sprintf("Rollout aborted update to revision %s: %s", currentRevision(s), msg))
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventAborted, "Abort", "Rollout aborted update to revision %s: progress deadline exceeded", currentRevision(s))
		}
	}
}

// progressDeadline is when the in-flight update times out, or zero.
func progressDeadline(ro *v1alpha1.Rollout) time.Time {
	c := ro.Status.GetCondition(v1alpha1.RolloutProgressing)
	if c == nil || c.Reason != v1alpha1.ReplicaSetUpdatedReason || c.Status != corev1.ConditionTrue {
		return time.Time{}
	}
	return c.LastUpdateTime.Add(time.Duration(ro.ProgressDeadlineSecondsOrDefault()) * time.Second)
}

func countsChanged(s *scope) bool {
	a, b := &s.original.Status, &s.ro.Status
	return a.Replicas != b.Replicas || a.UpdatedReplicas != b.UpdatedReplicas ||
		a.ReadyReplicas != b.ReadyReplicas || a.AvailableReplicas != b.AvailableReplicas ||
		a.CurrentPodHash != b.CurrentPodHash
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

// setCondition sets a condition; lastTransitionTime moves only when the
// status flips, lastUpdateTime whenever reason or message change.
func setCondition(st *v1alpha1.RolloutStatus, now time.Time, t v1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, msg string) {
	c := st.GetCondition(t)
	if c == nil {
		st.Conditions = append(st.Conditions, v1alpha1.RolloutCondition{
			Type: t, Status: status, Reason: reason, Message: msg,
			LastUpdateTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
		})
		return
	}
	if c.Status != status {
		c.LastTransitionTime = metav1.NewTime(now)
	}
	if c.Status != status || c.Reason != reason || c.Message != msg {
		c.LastUpdateTime = metav1.NewTime(now)
	}
	c.Status, c.Reason, c.Message = status, reason, msg
}

func removeCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) {
	out := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	st.Conditions = out
}
