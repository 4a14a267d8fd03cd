package rollout

import (
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// TestCountsOnly: only a status whose replica counts alone changed may
// wait for company.
func TestCountsOnly(t *testing.T) {
	base := v1alpha1.RolloutStatus{Phase: v1alpha1.RolloutPhaseProgressing, Replicas: 2, ReadyReplicas: 1, AvailableReplicas: 1, HPAReplicas: 2}
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.RolloutStatus)
		want   bool
	}{
		{name: "unchanged: nothing to write", change: func(*v1alpha1.RolloutStatus) {}, want: false},
		{name: "one more pod ready", change: func(st *v1alpha1.RolloutStatus) { st.ReadyReplicas = 2 }, want: true},
		{name: "every count moved", change: func(st *v1alpha1.RolloutStatus) {
			st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.HPAReplicas = 3, 3, 3, 3, 3
		}, want: true},
		{name: "counts and the phase", change: func(st *v1alpha1.RolloutStatus) {
			st.ReadyReplicas, st.Phase = 2, v1alpha1.RolloutPhaseHealthy
		}, want: false},
		{name: "the selector", change: func(st *v1alpha1.RolloutStatus) { st.Selector = "app=x" }, want: false},
		{name: "the stable revision", change: func(st *v1alpha1.RolloutStatus) { st.StableRS = "abc" }, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := base.DeepCopy()
			tc.change(now)
			if got := countsOnly(&base, now); got != tc.want {
				t.Errorf("countsOnly = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestHoldCounts: a counts-only change is held for countsWindow from the
// first pass that saw one, then written; any other change goes at once.
func TestHoldCounts(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := &Reconciler{}
	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = "ns", "app"
	ro.Status = v1alpha1.RolloutStatus{Replicas: 1}
	pass := func(at time.Duration, change func(*v1alpha1.RolloutStatus)) time.Duration {
		s := newScope(ro, start.Add(at))
		s.skipStatus = true // the status is the test's
		change(&s.ro.Status)
		return r.holdCounts(s)
	}
	moreReady := func(st *v1alpha1.RolloutStatus) { st.ReadyReplicas++ }
	if got := pass(0, moreReady); got != countsWindow {
		t.Fatalf("first counts-only pass: hold %s, want %s", got, countsWindow)
	}
	if got := pass(400*time.Millisecond, moreReady); got != countsWindow-400*time.Millisecond {
		t.Fatalf("second pass: hold %s, want the rest of the window", got)
	}
	if got := pass(countsWindow, moreReady); got != 0 {
		t.Fatalf("window passed: hold %s, want a write", got)
	}
	if got := pass(countsWindow+time.Millisecond, moreReady); got != countsWindow {
		t.Fatalf("after a write a new window starts: hold %s", got)
	}
	if got := pass(countsWindow+2*time.Millisecond, func(st *v1alpha1.RolloutStatus) { st.Phase = v1alpha1.RolloutPhaseHealthy }); got != 0 {
		t.Fatalf("a phase change: hold %s, want a write at once", got)
	}
}

// TestStatusPatch: the status write sends what changed in the status, with
// the resourceVersion read as its lock, and nothing when only Go's form
// differs.
func TestStatusPatch(t *testing.T) {
	base := v1alpha1.RolloutStatus{
		Phase: v1alpha1.RolloutPhasePaused, Message: "BlueGreenPause", ControllerPause: true, StableRS: "a", CurrentPodHash: "b",
		PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause}},
	}
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.RolloutStatus)
		want   string
	}{
		{name: "promoted: the phase and the stable revision change, the message and the pause go",
			change: func(st *v1alpha1.RolloutStatus) {
				st.Phase, st.Message, st.ControllerPause, st.PauseConditions, st.StableRS = v1alpha1.RolloutPhaseHealthy, "", false, nil, "b"
			},
			want: `{"metadata":{"resourceVersion":"42"},"status":{"controllerPause":null,"message":null,"pauseConditions":null,"phase":"Healthy","stableRS":"b"}}`},
		{name: "a nested field", change: func(st *v1alpha1.RolloutStatus) { st.BlueGreen.ActiveSelector = "b" },
			want: `{"metadata":{"resourceVersion":"42"},"status":{"blueGreen":{"activeSelector":"b"}}}`},
		{name: "an empty list for none: nothing to write", change: func(st *v1alpha1.RolloutStatus) { st.Conditions = []v1alpha1.RolloutCondition{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := base.DeepCopy()
			tc.change(now)
			patch, err := statusPatch(&base, now, "42")
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			if patch != nil {
				if got, err = patch.Data(nil); err != nil {
					t.Fatal(err)
				}
			}
			if string(got) != tc.want {
				t.Errorf("statusPatch = %s\nwant %s", got, tc.want)
			}
		})
	}
}
