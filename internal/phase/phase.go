// Package phase computes a Rollout's status.phase and status.message from its
// spec and status, by the rules Argo Rollouts documents, so that Argo CD and
// the kubectl plugin read the same summary from either controller.
package phase

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Messages of the Progressing phase, as clients know them.
const (
	MsgManuallyPaused        = "manually paused"
	MsgRestarting            = "rollout is restarting"
	MsgMoreReplicasToUpdate  = "more replicas need to be updated"
	MsgUpdatedNotAvailable   = "updated replicas are still becoming available"
	MsgActiveCutoverPending  = "active service cutover pending"
	MsgOldReplicasPending    = "old replicas are pending termination"
	MsgWaitingForSteps       = "waiting for all steps to complete"
	MsgWaitingForSpecObserve = "waiting for rollout spec update to be observed"
	MsgWaitingForUnpause     = "waiting for rollout to unpause"
)

// Compute returns the phase and message the controller writes, from a status
// it has just computed. The first rule that matches wins.
func Compute(ro *v1alpha1.Rollout) (v1alpha1.RolloutPhase, string) {
	st := &ro.Status
	if c := st.GetCondition(v1alpha1.RolloutInvalidSpec); c != nil && c.Status == corev1.ConditionTrue {
		return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", v1alpha1.InvalidSpecReason, c.Message)
	}
	for _, c := range st.Conditions {
		if c.Reason == v1alpha1.RolloutAbortedReason || c.Reason == v1alpha1.TimedOutReason {
			return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	if ro.Spec.Paused {
		return v1alpha1.RolloutPhasePaused, MsgManuallyPaused
	}
	if len(st.PauseConditions) > 0 {
		return v1alpha1.RolloutPhasePaused, string(st.PauseConditions[0].Reason)
	}
	if ro.Spec.RestartAt != nil && (st.RestartedAt == nil || st.RestartedAt.Before(ro.Spec.RestartAt)) {
		return v1alpha1.RolloutPhaseProgressing, MsgRestarting
	}
	replicas := ro.ReplicasOrDefault()
	if st.UpdatedReplicas < replicas {
		return v1alpha1.RolloutPhaseProgressing, MsgMoreReplicasToUpdate
	}
	if st.AvailableReplicas < st.UpdatedReplicas {
		return v1alpha1.RolloutPhaseProgressing, MsgUpdatedNotAvailable
	}
	if ro.Spec.Strategy.BlueGreen != nil {
		if st.BlueGreen.ActiveSelector != st.CurrentPodHash {
			return v1alpha1.RolloutPhaseProgressing, MsgActiveCutoverPending
		}
		if st.StableRS != st.CurrentPodHash {
			return v1alpha1.RolloutPhaseProgressing, MsgActiveCutoverPending
		}
	}
	if ro.Spec.Strategy.Canary != nil {
		if st.Replicas > st.UpdatedReplicas {
			return v1alpha1.RolloutPhaseProgressing, MsgOldReplicasPending
		}
		if st.StableRS != st.CurrentPodHash {
			return v1alpha1.RolloutPhaseProgressing, MsgWaitingForSteps
		}
	}
	return v1alpha1.RolloutPhaseHealthy, ""
}

// ForClient is what a client (the kubectl plugin, a CI gate) shows: the
// written phase, unless the controller has not yet seen the latest spec or a
// promote is still being picked up.
func ForClient(ro *v1alpha1.Rollout) (v1alpha1.RolloutPhase, string) {
	if ro.Status.ObservedGeneration != v1alpha1.ObservedGenerationString(ro.Generation) {
		return v1alpha1.RolloutPhaseProgressing, MsgWaitingForSpecObserve
	}
	if ro.Status.Phase == "" {
		return v1alpha1.RolloutPhaseProgressing, MsgWaitingForSpecObserve
	}
	// A promote clears pauseConditions but leaves controllerPause until the
	// controller acts on it.
	if ro.Status.Phase == v1alpha1.RolloutPhasePaused && !ro.Spec.Paused && len(ro.Status.PauseConditions) == 0 {
		return v1alpha1.RolloutPhaseProgressing, MsgWaitingForUnpause
	}
	return ro.Status.Phase, ro.Status.Message
}
