package conditions

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

var (
	t0  = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	now = t0.Add(5 * time.Minute)
)

func cond(t v1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, msg string, at time.Time) v1alpha1.RolloutCondition {
	return v1alpha1.RolloutCondition{Type: t, Status: status, Reason: reason, Message: msg,
		LastUpdateTime: metav1.NewTime(at), LastTransitionTime: metav1.NewTime(at)}
}

// canary is a 10-replica canary at step 1 of [setWeight 30, pause], 3 new
// pods of revision 2 and 7 stable, all available.
func canary() (*v1alpha1.RolloutSpec, *v1alpha1.RolloutStatus) {
	spec := &v1alpha1.RolloutSpec{Replicas: ptr.To[int32](10), Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Steps: []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](30)}, {Pause: &v1alpha1.RolloutPause{}}},
	}}}
	st := &v1alpha1.RolloutStatus{
		StableRS: "stable", CurrentPodHash: "canary", CurrentStepIndex: ptr.To[int32](1),
		Replicas: 10, UpdatedReplicas: 3, ReadyReplicas: 10, AvailableReplicas: 10, ObservedGeneration: "2",
		Conditions: []v1alpha1.RolloutCondition{
			cond(v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.ReplicaSetUpdatedReason, `ReplicaSet "ro-canary" is progressing.`, t0),
			cond(v1alpha1.RolloutHealthy, corev1.ConditionFalse, v1alpha1.RolloutHealthyReason, MsgNotHealthy, t0),
			cond(v1alpha1.RolloutAvailable, corev1.ConditionTrue, v1alpha1.AvailableReason, MsgAvailable, t0),
			cond(v1alpha1.RolloutCompleted, corev1.ConditionFalse, v1alpha1.RolloutCompletedReason, MsgCompleted, t0),
		},
	}
	return spec, st
}

func input(spec *v1alpha1.RolloutSpec, prev *v1alpha1.RolloutStatus, mod func(*v1alpha1.RolloutStatus)) Input {
	next := prev.DeepCopy()
	if mod != nil {
		mod(next)
	}
	return Input{Spec: spec, Generation: 2, Previous: prev, New: next, NewRSName: "ro-canary", Revision: "2",
		MinimumAvailable: next.AvailableReplicas >= 10, Now: now}
}

func TestUpdate(t *testing.T) {
	pausedAt := []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(t0)}}
	tests := []struct {
		name string
		in   func() Input
		// want lists the conditions that must be present, by type.
		want       []v1alpha1.RolloutCondition
		absent     []v1alpha1.RolloutConditionType
		wantEvents []Event
		wantAbort  bool
	}{
		{
			name: "a pause step pauses: Progressing Unknown and Paused True, one RolloutPaused event",
			in: func() Input {
				spec, st := canary()
				return input(spec, st, func(n *v1alpha1.RolloutStatus) { n.PauseConditions = pausedAt; n.ControllerPause = true })
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.PausedRolloutReason, "Rollout is paused", now),
				cond(v1alpha1.RolloutPaused, corev1.ConditionTrue, v1alpha1.PausedRolloutReason, "Rollout is paused", now),
			},
			wantEvents: []Event{{corev1.EventTypeNormal, "RolloutPaused", "Rollout is paused (CanaryPauseStep)"}},
		},
		{
			name: "spec.paused gives the same conditions, with no pause event",
			in: func() Input {
				spec, st := canary()
				spec.Paused = true
				return input(spec, st, nil)
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.PausedRolloutReason, "Rollout is paused", now),
				cond(v1alpha1.RolloutPaused, corev1.ConditionTrue, v1alpha1.PausedRolloutReason, "Rollout is paused", now),
			},
		},
		{
			name: "a promote resumes: RolloutResumed, Paused False (reason and message stay RolloutPaused)",
			in: func() Input {
				spec, st := canary()
				st.PauseConditions = pausedAt
				st.Conditions = append(st.Conditions[1:],
					cond(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.PausedRolloutReason, "Rollout is paused", t0),
					cond(v1alpha1.RolloutPaused, corev1.ConditionTrue, v1alpha1.PausedRolloutReason, "Rollout is paused", t0))
				return input(spec, st, func(n *v1alpha1.RolloutStatus) { n.PauseConditions = nil })
			},
			want: []v1alpha1.RolloutCondition{
				// The status stays Unknown, so the transition time stays.
				{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionUnknown, Reason: v1alpha1.ResumedRolloutReason,
					Message: "Rollout is resumed", LastUpdateTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(t0)},
				cond(v1alpha1.RolloutPaused, corev1.ConditionFalse, v1alpha1.PausedRolloutReason, "Rollout is paused", now),
			},
			wantEvents: []Event{{corev1.EventTypeNormal, "RolloutResumed", "Rollout is resumed"}},
		},
		{
			name: "an abort: Progressing False RolloutAborted, a Warning event, no resume event",
			in: func() Input {
				spec, st := canary()
				st.PauseConditions = pausedAt
				return input(spec, st, func(n *v1alpha1.RolloutStatus) {
					n.PauseConditions = nil
					n.Abort = true
					n.AbortedAt = &metav1.Time{Time: now}
				})
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, "Rollout aborted update to revision 2", now),
			},
			wantEvents: []Event{{corev1.EventTypeWarning, "RolloutAborted", "Rollout aborted update to revision 2"}},
		},
		{
			name: "an abort by the controller names its reason",
			in: func() Input {
				spec, st := canary()
				in := input(spec, st, func(n *v1alpha1.RolloutStatus) { n.Abort = true })
				in.AbortMessage = "Step-based analysis phase error/failed"
				return in
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason,
					"Rollout aborted update to revision 2: Step-based analysis phase error/failed", now),
			},
			wantEvents: []Event{{corev1.EventTypeWarning, "RolloutAborted", "Rollout aborted update to revision 2: Step-based analysis phase error/failed"}},
		},
		{
			name: "still aborted: the first message and times are kept, no new event",
			in: func() Input {
				spec, st := canary()
				st.Abort = true
				st.Conditions[0] = cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, "Rollout aborted update to revision 2: why", t0)
				return input(spec, st, nil)
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, "Rollout aborted update to revision 2: why", t0),
			},
		},
		{
			name: "retry: Progressing Unknown RolloutRetry",
			in: func() Input {
				spec, st := canary()
				st.Abort = true
				st.Conditions[0] = cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason, "Rollout aborted update to revision 2", t0)
				return input(spec, st, func(n *v1alpha1.RolloutStatus) { n.Abort = false })
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.RolloutRetryReason, "Retrying Rollout after abort", now),
			},
		},
		{
			name: "progress: ReplicaSetUpdated with a fresh lastUpdateTime and the old transition time",
			in: func() Input {
				spec, st := canary()
				st.CurrentStepIndex = ptr.To[int32](0)
				st.UpdatedReplicas, st.AvailableReplicas = 2, 9
				return input(spec, st, func(n *v1alpha1.RolloutStatus) { n.UpdatedReplicas, n.AvailableReplicas = 3, 10 })
			},
			want: []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: v1alpha1.ReplicaSetUpdatedReason,
				Message: `ReplicaSet "ro-canary" is progressing.`, LastUpdateTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(t0)}},
		},
		{
			name: "no progress for longer than the deadline: ProgressDeadlineExceeded, no event",
			in: func() Input {
				spec, st := canary()
				spec.ProgressDeadlineSeconds = ptr.To[int32](60)
				st.CurrentStepIndex = ptr.To[int32](0)
				return input(spec, st, nil)
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.TimedOutReason, `ReplicaSet "ro-canary" has timed out progressing.`, now),
			},
		},
		{
			name: "deadline not yet reached: nothing changes",
			in: func() Input {
				spec, st := canary()
				spec.ProgressDeadlineSeconds = ptr.To[int32](600)
				st.CurrentStepIndex = ptr.To[int32](0)
				return input(spec, st, nil)
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.ReplicaSetUpdatedReason, `ReplicaSet "ro-canary" is progressing.`, t0),
			},
		},
		{
			name: "progressDeadlineAbort: the timeout aborts, with the timeout in the message",
			in: func() Input {
				spec, st := canary()
				spec.ProgressDeadlineSeconds = ptr.To[int32](60)
				spec.ProgressDeadlineAbort = true
				st.CurrentStepIndex = ptr.To[int32](0)
				return input(spec, st, nil)
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason,
					`Rollout aborted update to revision 2: ReplicaSet "ro-canary" has timed out progressing.`, now),
			},
			wantEvents: []Event{{corev1.EventTypeWarning, "RolloutAborted", `Rollout aborted update to revision 2: ReplicaSet "ro-canary" has timed out progressing.`}},
			wantAbort:  true,
		},
		{
			name: "waiting on an indefinite step: no timeout",
			in: func() Input {
				spec, st := canary()
				spec.ProgressDeadlineSeconds = ptr.To[int32](60)
				in := input(spec, st, nil)
				in.WaitingIndefinitely = true
				return in
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.ReplicaSetUpdatedReason, `ReplicaSet "ro-canary" is progressing.`, t0),
			},
		},
		{
			name: "promoted and every pod available: healthy and completed",
			in: func() Input {
				spec, st := canary()
				st.UpdatedReplicas = 10
				return input(spec, st, func(n *v1alpha1.RolloutStatus) { n.StableRS = "canary"; n.CurrentStepIndex = ptr.To[int32](2) })
			},
			want: []v1alpha1.RolloutCondition{
				{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: v1alpha1.NewRSAvailableReason,
					Message: `ReplicaSet "ro-canary" has successfully progressed.`, LastUpdateTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(t0)},
				cond(v1alpha1.RolloutHealthy, corev1.ConditionTrue, v1alpha1.RolloutHealthyReason, "Rollout is healthy", now),
				cond(v1alpha1.RolloutCompleted, corev1.ConditionTrue, v1alpha1.RolloutCompletedReason, "RolloutCompleted", now),
				cond(v1alpha1.RolloutAvailable, corev1.ConditionTrue, v1alpha1.AvailableReason, "Rollout has minimum availability", t0),
			},
		},
		{
			name: "a new revision starts: Completed False with a RolloutNotCompleted event",
			in: func() Input {
				spec, st := canary()
				st.StableRS, st.CurrentPodHash, st.UpdatedReplicas = "stable", "stable", 10
				st.Conditions[3] = cond(v1alpha1.RolloutCompleted, corev1.ConditionTrue, v1alpha1.RolloutCompletedReason, MsgCompleted, t0)
				return input(spec, st, func(n *v1alpha1.RolloutStatus) { n.CurrentPodHash, n.UpdatedReplicas = "canary", 0 })
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutCompleted, corev1.ConditionFalse, v1alpha1.RolloutCompletedReason, "RolloutCompleted", now),
			},
			wantEvents: []Event{{corev1.EventTypeNormal, "RolloutNotCompleted", "Rollout not completed, started update to revision 2 (canary)"}},
		},
		{
			name: "a promoted rollout that loses pods: ReplicaSetNotAvailable",
			in: func() Input {
				spec, st := canary()
				st.StableRS, st.CurrentPodHash, st.UpdatedReplicas, st.CurrentStepIndex = "canary", "canary", 10, ptr.To[int32](2)
				st.Conditions[1] = cond(v1alpha1.RolloutHealthy, corev1.ConditionTrue, v1alpha1.RolloutHealthyReason, MsgHealthy, t0)
				return input(spec, st, func(n *v1alpha1.RolloutStatus) { n.AvailableReplicas, n.ReadyReplicas = 9, 9 })
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutHealthy, corev1.ConditionFalse, v1alpha1.RolloutHealthyReason, "Rollout is not healthy", now),
				{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: v1alpha1.ReplicaSetNotAvailableReason,
					Message: "Rollout does not have minimum availability", LastUpdateTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(t0)},
				cond(v1alpha1.RolloutAvailable, corev1.ConditionFalse, v1alpha1.AvailableReason, "Rollout does not have minimum availability", now),
			},
		},
		{
			name: "a ReplicaSet's ReplicaFailure is surfaced; InvalidSpec goes once the spec is valid",
			in: func() Input {
				spec, st := canary()
				st.Conditions = append(st.Conditions, cond(v1alpha1.RolloutInvalidSpec, corev1.ConditionTrue, v1alpha1.InvalidSpecReason, "bad", t0))
				in := input(spec, st, nil)
				rf := cond(v1alpha1.RolloutReplicaFailure, corev1.ConditionTrue, "FailedCreate", "exceeded quota", t0)
				in.ReplicaFailure = &rf
				return in
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutReplicaFailure, corev1.ConditionTrue, "FailedCreate", "exceeded quota", t0),
			},
			absent: []v1alpha1.RolloutConditionType{v1alpha1.RolloutInvalidSpec},
		},
		{
			name: "the ReplicaSet refused before exists now, created at zero: Progressing True NewReplicaSetCreated",
			in: func() Input {
				spec, st := canary()
				st.Conditions[0] = cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.FailedRSCreateReason, "Failed to create new replica set", t0)
				return input(spec, st, nil)
			},
			want: []v1alpha1.RolloutCondition{
				cond(v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.NewReplicaSetReason, `Created new replica set "ro-canary"`, now),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			res := Update(in)
			for _, want := range tt.want {
				got := find(in.New, want.Type)
				if got == nil {
					t.Errorf("condition %s missing; have %+v", want.Type, in.New.Conditions)
					continue
				}
				if diff := cmp.Diff(want, *got); diff != "" {
					t.Errorf("condition %s (-want +got):\n%s", want.Type, diff)
				}
			}
			for _, typ := range tt.absent {
				if find(in.New, typ) != nil {
					t.Errorf("condition %s present, want none", typ)
				}
			}
			if diff := cmp.Diff(tt.wantEvents, res.Events, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if res.AbortNow != tt.wantAbort || in.New.Abort != (tt.wantAbort || in.New.Abort) {
				t.Errorf("AbortNow = %v (status abort %v), want %v", res.AbortNow, in.New.Abort, tt.wantAbort)
			}
		})
	}
}

func TestHealthyBlueGreen(t *testing.T) {
	spec := &v1alpha1.RolloutSpec{Replicas: ptr.To[int32](2), Strategy: v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
		ActiveService: "active", PreviewService: "preview"}}}
	st := &v1alpha1.RolloutStatus{StableRS: "new", CurrentPodHash: "new", Replicas: 4, UpdatedReplicas: 2, AvailableReplicas: 2, ObservedGeneration: "1",
		BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: "new", PreviewSelector: "new"}}
	tests := []struct {
		name string
		mod  func(*v1alpha1.RolloutStatus)
		want bool
	}{
		{"active and preview on the new pods, old still scaling down", nil, true},
		{"preview still on the old pods", func(s *v1alpha1.RolloutStatus) { s.BlueGreen.PreviewSelector = "old" }, false},
		{"active not switched", func(s *v1alpha1.RolloutStatus) { s.BlueGreen.ActiveSelector = "old" }, false},
		{"spec not observed", func(s *v1alpha1.RolloutStatus) { s.ObservedGeneration = "0" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := st.DeepCopy()
			if tt.mod != nil {
				tt.mod(n)
			}
			if got := isHealthy(Input{Spec: spec, Generation: 1, New: n}); got != tt.want {
				t.Errorf("isHealthy = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSetKeepsMessageForSameStatusAndReason(t *testing.T) {
	st := &v1alpha1.RolloutStatus{Conditions: []v1alpha1.RolloutCondition{
		cond(v1alpha1.RolloutAvailable, corev1.ConditionTrue, v1alpha1.AvailableReason, "old message", t0),
		cond(v1alpha1.RolloutPaused, corev1.ConditionFalse, v1alpha1.PausedRolloutReason, MsgPaused, t0),
	}}
	if set(st, metav1.NewTime(now), v1alpha1.RolloutAvailable, corev1.ConditionTrue, v1alpha1.AvailableReason, "new message") {
		t.Fatal("set reported a change for the same status and reason")
	}
	if c := find(st, v1alpha1.RolloutAvailable); c.Message != "old message" {
		t.Errorf("message = %q, want the old one kept", c.Message)
	}
	if !set(st, metav1.NewTime(now), v1alpha1.RolloutAvailable, corev1.ConditionFalse, v1alpha1.AvailableReason, MsgNotAvailable) {
		t.Fatal("set reported no change for a new status")
	}
	if last := st.Conditions[len(st.Conditions)-1]; last.Type != v1alpha1.RolloutAvailable || !last.LastTransitionTime.Time.Equal(now) {
		t.Errorf("a changed condition moves to the end with a new transition time, got %+v", st.Conditions)
	}
}

func TestSetReplicaSetCreateError(t *testing.T) {
	refused := errors.New(`admission webhook "quota" denied the request`)
	st := &v1alpha1.RolloutStatus{Conditions: []v1alpha1.RolloutCondition{
		cond(v1alpha1.RolloutInvalidSpec, corev1.ConditionTrue, v1alpha1.InvalidSpecReason, `spec.strategy.blueGreen.activeService: Not found: Service "active"`, t0),
		cond(v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.ReplicaSetUpdatedReason, `ReplicaSet "ro-1" is progressing.`, t0),
	}}
	msg, changed := SetReplicaSetCreateError(st, now, "ro-2", refused)
	wantMsg := `Failed to create new replica set "ro-2": admission webhook "quota" denied the request`
	if !changed || msg != wantMsg {
		t.Fatalf("SetReplicaSetCreateError = %q, %v; want %q, true", msg, changed, wantMsg)
	}
	if c := find(st, v1alpha1.RolloutInvalidSpec); c != nil {
		t.Errorf("InvalidSpec kept after the spec passed every check: %+v", c)
	}
	want := cond(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.FailedRSCreateReason, wantMsg, now)
	if diff := cmp.Diff(&want, find(st, v1alpha1.RolloutProgressing)); diff != "" {
		t.Errorf("Progressing (-want +got):\n%s", diff)
	}
	// The next pass's refusal changes nothing: no second event.
	if _, changed := SetReplicaSetCreateError(st, now.Add(time.Minute), "ro-2", refused); changed {
		t.Error("a repeated refusal reported a change")
	}
}
