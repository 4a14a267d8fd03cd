package phase

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestCompute(t *testing.T) {
	bg := func(mut func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Replicas = ptr.To[int32](2)
		ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "a"}
		ro.Status = v1alpha1.RolloutStatus{
			Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2,
			CurrentPodHash: "new", StableRS: "new", BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: "new"},
		}
		mut(ro)
		return ro
	}
	canary := func(mut func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Replicas = ptr.To[int32](10)
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
		ro.Status = v1alpha1.RolloutStatus{Replicas: 10, UpdatedReplicas: 10, AvailableReplicas: 10, CurrentPodHash: "new", StableRS: "new"}
		mut(ro)
		return ro
	}
	cond := func(t v1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, msg string) v1alpha1.RolloutCondition {
		return v1alpha1.RolloutCondition{Type: t, Status: status, Reason: reason, Message: msg}
	}
	tests := []struct {
		name      string
		ro        *v1alpha1.Rollout
		wantPhase v1alpha1.RolloutPhase
		wantMsg   string
	}{
		{"healthy blue-green", bg(func(*v1alpha1.Rollout) {}), v1alpha1.RolloutPhaseHealthy, ""},
		{"invalid spec wins", bg(func(ro *v1alpha1.Rollout) {
			ro.Spec.Paused = true
			ro.Status.Conditions = []v1alpha1.RolloutCondition{cond(v1alpha1.RolloutInvalidSpec, corev1.ConditionTrue, v1alpha1.InvalidSpecReason, "spec.selector: Required value")}
		}), v1alpha1.RolloutPhaseDegraded, "InvalidSpec: spec.selector: Required value"},
		{"aborted", canary(func(ro *v1alpha1.Rollout) {
			ro.Status.Conditions = []v1alpha1.RolloutCondition{cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, "Rollout aborted update to revision 2")}
		}), v1alpha1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2"},
		{"progress deadline", canary(func(ro *v1alpha1.Rollout) {
			ro.Status.Conditions = []v1alpha1.RolloutCondition{cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.TimedOutReason, `ReplicaSet "x" has timed out progressing.`)}
		}), v1alpha1.RolloutPhaseDegraded, `ProgressDeadlineExceeded: ReplicaSet "x" has timed out progressing.`},
		{"manually paused", canary(func(ro *v1alpha1.Rollout) { ro.Spec.Paused = true }), v1alpha1.RolloutPhasePaused, MsgManuallyPaused},
		{"paused at a step", canary(func(ro *v1alpha1.Rollout) {
			ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
		}), v1alpha1.RolloutPhasePaused, "CanaryPauseStep"},
		{"more replicas to update", canary(func(ro *v1alpha1.Rollout) { ro.Status.UpdatedReplicas = 3 }), v1alpha1.RolloutPhaseProgressing, MsgMoreReplicasToUpdate},
		{"updated not available", canary(func(ro *v1alpha1.Rollout) { ro.Status.AvailableReplicas = 9 }), v1alpha1.RolloutPhaseProgressing, MsgUpdatedNotAvailable},
		{"blue-green cutover pending", bg(func(ro *v1alpha1.Rollout) { ro.Status.BlueGreen.ActiveSelector = "old" }), v1alpha1.RolloutPhaseProgressing, MsgActiveCutoverPending},
		{"canary old replicas pending", canary(func(ro *v1alpha1.Rollout) { ro.Status.Replicas = 13 }), v1alpha1.RolloutPhaseProgressing, MsgOldReplicasPending},
		{"canary steps pending", canary(func(ro *v1alpha1.Rollout) { ro.Status.StableRS = "old" }), v1alpha1.RolloutPhaseProgressing, MsgWaitingForSteps},
		{"an InvalidSpec condition of any status", canary(func(ro *v1alpha1.Rollout) {
			ro.Status.Conditions = []v1alpha1.RolloutCondition{cond(v1alpha1.RolloutInvalidSpec, corev1.ConditionFalse, v1alpha1.InvalidSpecReason, "x")}
		}), v1alpha1.RolloutPhaseDegraded, "InvalidSpec: x"},
		{"restart pending until restartedAt equals restartAt", canary(func(ro *v1alpha1.Rollout) {
			ro.Spec.RestartAt = &metav1.Time{Time: time.Unix(200, 0)}
			ro.Status.RestartedAt = &metav1.Time{Time: time.Unix(300, 0)}
		}), v1alpha1.RolloutPhaseProgressing, MsgRestarting},
		{"blue-green with no active selector yet", bg(func(ro *v1alpha1.Rollout) {
			ro.Status.BlueGreen.ActiveSelector, ro.Status.CurrentPodHash = "", ""
		}), v1alpha1.RolloutPhaseProgressing, MsgActiveCutoverPending},
		{"blue-green switched, post-promotion analysis running", bg(func(ro *v1alpha1.Rollout) {
			ro.Status.StableRS = "old"
			ro.Spec.Strategy.BlueGreen.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{}
			ro.Status.BlueGreen.PostPromotionAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "r", Status: "Running"}
		}), v1alpha1.RolloutPhaseProgressing, MsgWaitingForAnalysis},
		{"blue-green switched, analysis done, not yet stable", bg(func(ro *v1alpha1.Rollout) {
			ro.Status.StableRS = "old"
			ro.Spec.Strategy.BlueGreen.PostPromotionAnalysis = &v1alpha1.RolloutAnalysis{}
			ro.Status.BlueGreen.PostPromotionAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "r", Status: "Successful"}
		}), v1alpha1.RolloutPhaseProgressing, MsgWaitingForVerification},
		{"traffic-routed canary: old pods in their scale-down delay are not pending", canary(func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{}
			ro.Status.Replicas = 20
		}), v1alpha1.RolloutPhaseHealthy, ""},
		{"canary never promoted", canary(func(ro *v1alpha1.Rollout) { ro.Status.StableRS = "" }), v1alpha1.RolloutPhaseProgressing, MsgWaitingForSteps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phase, msg := Compute(tt.ro)
			if phase != tt.wantPhase || msg != tt.wantMsg {
				t.Errorf("Compute() = %s %q, want %s %q", phase, msg, tt.wantPhase, tt.wantMsg)
			}
		})
	}
}

func TestForClient(t *testing.T) {
	ro := &v1alpha1.Rollout{}
	ro.Generation = 3
	ro.Status.ObservedGeneration = "2"
	ro.Status.Phase = v1alpha1.RolloutPhaseHealthy
	if p, m := ForClient(ro); p != v1alpha1.RolloutPhaseProgressing || m != MsgWaitingForSpecObserve {
		t.Errorf("unobserved spec: got %s %q", p, m)
	}
	ro.Status.ObservedGeneration = "3"
	ro.Status.Phase = v1alpha1.RolloutPhasePaused
	ro.Status.ControllerPause = true
	if p, m := ForClient(ro); p != v1alpha1.RolloutPhaseProgressing || m != MsgWaitingForUnpause {
		t.Errorf("promoted, not yet picked up: got %s %q", p, m)
	}
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause}}
	ro.Status.Message = "BlueGreenPause"
	if p, m := ForClient(ro); p != v1alpha1.RolloutPhasePaused || m != "BlueGreenPause" {
		t.Errorf("paused: got %s %q", p, m)
	}
	ro.Status.PauseConditions, ro.Status.ControllerPause = nil, false
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseHealthy, ""
	ro.Annotations = map[string]string{v1alpha1.WorkloadGenerationAnnotation: "4"}
	ro.Status.WorkloadObservedGeneration = "3"
	if p, m := ForClient(ro); p != v1alpha1.RolloutPhaseProgressing || m != MsgWaitingForWorkload {
		t.Errorf("referenced workload changed, not yet observed: got %s %q", p, m)
	}
	ro.Status.WorkloadObservedGeneration = "4"
	if p, _ := ForClient(ro); p != v1alpha1.RolloutPhaseHealthy {
		t.Errorf("observed: got %s", p)
	}
}

func TestTrafficOffStable(t *testing.T) {
	dest := func(w int32, h string) v1alpha1.WeightDestination {
		return v1alpha1.WeightDestination{Weight: w, PodTemplateHash: h}
	}
	for _, tc := range []struct {
		name string
		st   v1alpha1.RolloutStatus
		want bool
	}{
		{"no router written yet", v1alpha1.RolloutStatus{StableRS: "v2"}, false},
		{"given back", v1alpha1.RolloutStatus{StableRS: "v2", Canary: v1alpha1.CanaryStatus{Weights: &v1alpha1.TrafficWeights{Canary: dest(0, "v2"), Stable: dest(100, "v2")}}}, false},
		{"just promoted: the canary side still has it all", v1alpha1.RolloutStatus{StableRS: "v2", Canary: v1alpha1.CanaryStatus{Weights: &v1alpha1.TrafficWeights{Canary: dest(100, "v2"), Stable: dest(0, "v1")}}}, true},
		{"stable side still the old revision", v1alpha1.RolloutStatus{StableRS: "v2", Canary: v1alpha1.CanaryStatus{Weights: &v1alpha1.TrafficWeights{Canary: dest(0, "v2"), Stable: dest(100, "v1")}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := trafficOffStable(&tc.st); got != tc.want {
				t.Errorf("trafficOffStable() = %v, want %v", got, tc.want)
			}
		})
	}
}
