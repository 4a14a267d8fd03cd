package promote

import (
	"reflect"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestPlan(t *testing.T) {
	bg := func() *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		ro.Name = "bg"
		ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "a"}
		return ro
	}
	canary := func(index *int32) *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		ro.Name = "c"
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](30)}, {Pause: &v1alpha1.RolloutPause{}}}}
		ro.Status.CurrentStepIndex = index
		return ro
	}
	paused := func(ro *v1alpha1.Rollout, reason v1alpha1.PauseReason) *v1alpha1.Rollout {
		ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: reason}}
		ro.Status.ControllerPause = true
		return ro
	}
	for _, tc := range []struct {
		name                    string
		ro                      *v1alpha1.Rollout
		full                    bool
		spec, status, unifiedTo string
	}{
		{
			name:   "blue-green at its pause: clear the pause conditions",
			ro:     paused(bg(), v1alpha1.PauseReasonBlueGreenPause),
			status: `{"status":{"pauseConditions":null}}`, unifiedTo: `{"spec":{"paused":false},"status":{"pauseConditions":null}}`,
		},
		{
			name: "blue-green not paused: nothing is sent",
			ro:   bg(),
		},
		{
			name: "canary without steps, not paused: nothing is sent",
			ro: func() *v1alpha1.Rollout {
				ro := canary(nil)
				ro.Spec.Strategy.Canary.Steps = nil
				return ro
			}(),
		},
		{
			name: "manually paused: unpause the spec",
			ro:   func() *v1alpha1.Rollout { ro := bg(); ro.Spec.Paused = true; return ro }(),
			spec: `{"spec":{"paused":false}}`,
		},
		{
			name:   "canary at a pause step: clear the pause, keep the index",
			ro:     paused(canary(ptr.To[int32](1)), v1alpha1.PauseReasonCanaryPauseStep),
			status: `{"status":{"pauseConditions":null}}`, unifiedTo: `{"spec":{"paused":false},"status":{"pauseConditions":null}}`,
		},
		{
			name:   "canary without a pause: skip to the next step",
			ro:     canary(ptr.To[int32](0)),
			status: `{"status":{"pauseConditions":null,"currentStepIndex":1}}`, unifiedTo: `{"spec":{"paused":false},"status":{"pauseConditions":null,"currentStepIndex":1}}`,
		},
		{
			name:   "canary with no index yet counts as step 0",
			ro:     canary(nil),
			status: `{"status":{"pauseConditions":null,"currentStepIndex":1}}`, unifiedTo: `{"spec":{"paused":false},"status":{"pauseConditions":null,"currentStepIndex":1}}`,
		},
		{
			name:   "canary past its last step: the index is written unchanged",
			ro:     canary(ptr.To[int32](2)),
			status: `{"status":{"pauseConditions":null,"currentStepIndex":2}}`, unifiedTo: `{"spec":{"paused":false},"status":{"pauseConditions":null,"currentStepIndex":2}}`,
		},
		{
			name: "canary held by an inconclusive analysis: clear controllerPause and move on",
			ro: func() *v1alpha1.Rollout {
				ro := paused(canary(ptr.To[int32](0)), v1alpha1.PauseReasonInconclusiveAnalysis)
				ro.Status.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "ar", Status: "Inconclusive"}
				return ro
			}(),
			status:    `{"status":{"pauseConditions":null,"controllerPause":false,"currentStepIndex":1}}`,
			unifiedTo: `{"spec":{"paused":false},"status":{"pauseConditions":null}}`,
		},
		{
			name: "inconclusive background analysis at a setWeight step: only the pause is cleared",
			ro: func() *v1alpha1.Rollout {
				ro := paused(canary(ptr.To[int32](0)), v1alpha1.PauseReasonInconclusiveAnalysis)
				ro.Status.Canary.CurrentBackgroundAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "bg", Status: "Inconclusive"}
				return ro
			}(),
			status: `{"status":{"pauseConditions":null}}`, unifiedTo: `{"spec":{"paused":false},"status":{"pauseConditions":null}}`,
		},
		{
			name: "full promotion of an update in flight",
			ro: func() *v1alpha1.Rollout {
				ro := paused(canary(ptr.To[int32](1)), v1alpha1.PauseReasonCanaryPauseStep)
				ro.Status.CurrentPodHash, ro.Status.StableRS = "new", "old"
				ro.Spec.Paused = true
				return ro
			}(),
			full:   true,
			spec:   `{"spec":{"paused":false}}`,
			status: `{"status":{"promoteFull":true}}`, unifiedTo: `{"spec":{"paused":false},"status":{"promoteFull":true}}`,
		},
		{
			name: "full promotion of a fully promoted rollout sends nothing",
			ro: func() *v1alpha1.Rollout {
				ro := bg()
				ro.Status.CurrentPodHash, ro.Status.StableRS = "h", "h"
				return ro
			}(),
			full: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Plan(tc.ro, tc.full)
			if string(p.Spec) != tc.spec || string(p.Status) != tc.status || string(p.Unified) != tc.unifiedTo {
				t.Errorf("got spec=%s status=%s unified=%s\nwant spec=%s status=%s unified=%s", p.Spec, p.Status, p.Unified, tc.spec, tc.status, tc.unifiedTo)
			}
		})
	}
}

func TestChanges(t *testing.T) {
	steps := []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](30)}, {Pause: &v1alpha1.RolloutPause{}}, {SetWeight: ptr.To[int32](60)}}
	canary := func(index int32, mutate func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: steps}
		ro.Status.CurrentStepIndex = ptr.To(index)
		if mutate != nil {
			mutate(ro)
		}
		return ro
	}
	pausedAtStep := func(ro *v1alpha1.Rollout) {
		ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
		ro.Status.ControllerPause = true
	}
	for _, tc := range []struct {
		name          string
		before, after *v1alpha1.Rollout
		want          []string
	}{
		{name: "nothing changed", before: canary(3, nil), after: canary(3, nil)},
		{
			name:   "a running setWeight step is skipped",
			before: canary(0, nil), after: canary(1, nil),
			want: []string{"currentStepIndex 0 -> 1 of 3, skipping step 0 (setWeight 30) before it finished"},
		},
		{
			name:   "a pause step is left",
			before: canary(1, pausedAtStep), after: canary(1, func(ro *v1alpha1.Rollout) { ro.Status.ControllerPause = true }),
			want: []string{"cleared pause CanaryPauseStep"},
		},
		{
			name: "manual pause and an inconclusive analysis",
			before: canary(1, func(ro *v1alpha1.Rollout) {
				ro.Spec.Paused = true
				ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonInconclusiveAnalysis}}
				ro.Status.ControllerPause = true
			}),
			after: canary(2, nil),
			want:  []string{"unpaused (spec.paused was true)", "cleared pause InconclusiveAnalysisRun", "cleared controllerPause", "currentStepIndex 1 -> 2 of 3"},
		},
		{
			name:   "full promotion",
			before: canary(1, nil), after: canary(1, func(ro *v1alpha1.Rollout) { ro.Status.PromoteFull = true }),
			want: []string{"requested full promotion"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Changes(tc.before, tc.after)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Changes = %q, want %q", got, tc.want)
			}
		})
	}
}
