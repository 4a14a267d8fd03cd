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
	MsgManuallyPaused         = "manually paused"
	MsgRestarting             = "rollout is restarting"
	MsgMoreReplicasToUpdate   = "more replicas need to be updated"
	MsgUpdatedNotAvailable    = "updated replicas are still becoming available"
	MsgActiveCutoverPending   = "active service cutover pending"
	MsgOldReplicasPending     = "old replicas are pending termination"
	MsgWaitingForSteps        = "waiting for all steps to complete"
	MsgWaitingForSpecObserve  = "waiting for rollout spec update to be observed"
	MsgWaitingForUnpause      = "waiting for rollout to unpause"
	MsgWaitingForAnalysis     = "waiting for analysis to complete"
	MsgWaitingForVerification = "waiting for post-promotion verification to complete"
	MsgWaitingForWorkload     = "waiting for rollout spec update to be observed for the reference workload"
	// MsgTrafficToStable is Switchyard's: a promoted traffic-routed canary
	// whose routers have not yet given the traffic back to the stable Service.
	MsgTrafficToStable = "waiting for traffic to return to the stable Service"
)

// trafficOffStable: status.canary.weights still gives weight to the canary
// side, or names a stable other than the recorded one.
func trafficOffStable(st *v1alpha1.RolloutStatus) bool {
	w := st.Canary.Weights
	return w != nil && (w.Canary.Weight > 0 || w.Stable.PodTemplateHash != st.StableRS || len(w.Additional) > 0)
}

// AnalysisCompleted reports whether an AnalysisRun phase is final.
func AnalysisCompleted(p v1alpha1.AnalysisPhase) bool {
	switch p {
	case "Successful", "Failed", "Error", "Inconclusive":
		return true
	}
	return false
}

// Compute returns the phase and message the controller writes, from a status
// it has just computed: the reference's rules, then (Switchyard's own) a
// traffic router that cannot be written names itself in the message of any
// phase but Degraded.
func Compute(ro *v1alpha1.Rollout) (v1alpha1.RolloutPhase, string) {
	p, msg := compute(ro)
	if c := ro.Status.GetCondition(v1alpha1.RolloutTrafficRoutingCondition); c != nil && c.Status != corev1.ConditionTrue && p != v1alpha1.RolloutPhaseDegraded {
		msg = v1alpha1.TrafficRoutingErrorReason + ": " + c.Message
	}
	return p, msg
}

// DegradedBy returns why ro is Degraded: the reason of the first condition
// that makes it so (InvalidSpec, RolloutAborted or
// ProgressDeadlineExceeded) and that condition's message; "" when nothing
// degrades it. Compute and the controller's metrics both read it, so the
// phase a metric reports is the one written to status.
func DegradedBy(ro *v1alpha1.Rollout) (reason, message string) {
	for _, c := range ro.Status.Conditions {
		if c.Type == v1alpha1.RolloutInvalidSpec {
			return v1alpha1.InvalidSpecReason, c.Message
		}
		if c.Reason == v1alpha1.RolloutAbortedReason || c.Reason == v1alpha1.TimedOutReason {
			return c.Reason, c.Message
		}
	}
	return "", ""
}

// compute applies the reference's rules; the first that matches wins.
func compute(ro *v1alpha1.Rollout) (v1alpha1.RolloutPhase, string) {
	st := &ro.Status
	if reason, msg := DegradedBy(ro); reason != "" {
		return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", reason, msg)
	}
	if ro.Spec.Paused {
		return v1alpha1.RolloutPhasePaused, MsgManuallyPaused
	}
	if len(st.PauseConditions) > 0 {
		return v1alpha1.RolloutPhasePaused, string(st.PauseConditions[0].Reason)
	}
	if ro.Spec.RestartAt != nil && (st.RestartedAt == nil || !st.RestartedAt.Equal(ro.Spec.RestartAt)) {
		return v1alpha1.RolloutPhaseProgressing, MsgRestarting
	}
	replicas := ro.ReplicasOrDefault()
	if st.UpdatedReplicas < replicas {
		return v1alpha1.RolloutPhaseProgressing, MsgMoreReplicasToUpdate
	}
	if st.AvailableReplicas < st.UpdatedReplicas {
		return v1alpha1.RolloutPhaseProgressing, MsgUpdatedNotAvailable
	}
	promoted := st.StableRS != "" && st.StableRS == st.CurrentPodHash
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		if st.BlueGreen.ActiveSelector == "" || st.BlueGreen.ActiveSelector != st.CurrentPodHash {
			return v1alpha1.RolloutPhaseProgressing, MsgActiveCutoverPending
		}
		if !promoted {
			// Switched, not yet stable: post-promotion analysis or
			// verification holds it.
			if bg.PostPromotionAnalysis != nil && (st.BlueGreen.PostPromotionAnalysisRunStatus == nil ||
				!AnalysisCompleted(st.BlueGreen.PostPromotionAnalysisRunStatus.Status)) {
				return v1alpha1.RolloutPhaseProgressing, MsgWaitingForAnalysis
			}
			return v1alpha1.RolloutPhaseProgressing, MsgWaitingForVerification
		}
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		// With a traffic router, old pods wait out scaleDownDelaySeconds
		// after promotion; only the basic canary reports them.
		if c.TrafficRouting == nil && st.Replicas > st.UpdatedReplicas {
			return v1alpha1.RolloutPhaseProgressing, MsgOldReplicasPending
		}
		if !promoted {
			return v1alpha1.RolloutPhaseProgressing, MsgWaitingForSteps
		}
		if c.TrafficRouting != nil && trafficOffStable(st) {
			// Promoted, but the routers still send traffic past the stable
			// Service (the pass after promotion gives it back).
			return v1alpha1.RolloutPhaseProgressing, MsgTrafficToStable
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
	if ro.Status.ControllerPause && len(ro.Status.PauseConditions) == 0 {
		return v1alpha1.RolloutPhaseProgressing, MsgWaitingForUnpause
	}
	if g, ok := ro.Annotations[v1alpha1.WorkloadGenerationAnnotation]; ok && ro.Status.WorkloadObservedGeneration != "" && g != ro.Status.WorkloadObservedGeneration {
		return v1alpha1.RolloutPhaseProgressing, MsgWaitingForWorkload
	}
	return ro.Status.Phase, ro.Status.Message
}
