package canary

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestAdvance(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	seedSteps := []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](30)}, {Pause: &v1alpha1.RolloutPause{}}}
	timed := []v1alpha1.CanaryStep{{Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("5m"))}}, {SetWeight: ptr.To[int32](50)}}
	zero := []v1alpha1.CanaryStep{{Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromInt32(0))}}}
	scale := []v1alpha1.CanaryStep{{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr.To[int32](2)}}}
	analysis := []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](20)}, {Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "error-rate"}}}}, {Pause: &v1alpha1.RolloutPause{}}}
	noTemplates := []v1alpha1.CanaryStep{{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{}}}}
	exp := []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](20)}, {Experiment: &v1alpha1.RolloutExperimentStep{Templates: []v1alpha1.RolloutExperimentTemplate{{Name: "baseline", SpecRef: v1alpha1.StableSpecRef}}}}}
	emptyExp := []v1alpha1.CanaryStep{{Experiment: &v1alpha1.RolloutExperimentStep{Templates: []v1alpha1.RolloutExperimentTemplate{}}}}
	header := []v1alpha1.CanaryStep{{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "h"}}}
	mirror := []v1alpha1.CanaryStep{{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m"}}}

	tests := []struct {
		name string
		in   StepState
		want StepDecision
	}{
		{"setWeight waits for its weight", StepState{Steps: seedSteps}, StepDecision{}},
		{"setWeight completes when reached", StepState{Steps: seedSteps, WeightReached: true}, StepDecision{Index: 1, Completed: true}},
		{"indefinite pause pauses", StepState{Steps: seedSteps, Index: 1}, StepDecision{Index: 1, AddPause: true}},
		{"paused stays paused", StepState{Steps: seedSteps, Index: 1, PauseStart: ago(time.Hour), ControllerPause: true}, StepDecision{Index: 1}},
		{"promote (conditions cleared) completes the pause", StepState{Steps: seedSteps, Index: 1, ControllerPause: true}, StepDecision{Index: 2, ClearPause: true, Completed: true}},
		{"all steps done", StepState{Steps: seedSteps, Index: 2}, StepDecision{Index: 2}},
		{"timed pause pauses and requeues", StepState{Steps: timed}, StepDecision{AddPause: true, RequeueAfter: 5 * time.Minute}},
		{"timed pause requeues for the rest", StepState{Steps: timed, PauseStart: ago(time.Minute), ControllerPause: true}, StepDecision{RequeueAfter: 4 * time.Minute}},
		{"timed pause ends", StepState{Steps: timed, PauseStart: ago(5 * time.Minute), ControllerPause: true}, StepDecision{Index: 1, ClearPause: true, Completed: true}},
		{"timed pause promoted early", StepState{Steps: timed, ControllerPause: true}, StepDecision{Index: 1, ClearPause: true, Completed: true}},
		{"zero pause passes through", StepState{Steps: zero}, StepDecision{Index: 1, Completed: true}},
		{"setCanaryScale has no effect without a router", StepState{Steps: scale}, StepDecision{Index: 1, Completed: true}},
		{"analysis step waits for its run", StepState{Steps: analysis, Index: 1}, StepDecision{Index: 1}},
		{"analysis step completes on a Successful run", StepState{Steps: analysis, Index: 1, AnalysisPassed: true}, StepDecision{Index: 2, Completed: true}},
		{"analysis step with no templates is no analysis", StepState{Steps: noTemplates}, StepDecision{Index: 1, Completed: true}},
		{"experiment step waits for its Experiment", StepState{Steps: exp, Index: 1, AnalysisPassed: true, WeightReached: true}, StepDecision{Index: 1}},
		{"experiment step completes on a Successful Experiment", StepState{Steps: exp, Index: 1, ExperimentPassed: true}, StepDecision{Index: 2, Completed: true}},
		{"experiment step held by an inconclusive Experiment", StepState{Steps: exp, Index: 1, ExperimentPassed: true, Held: true}, StepDecision{Index: 1}},
		{"experiment step with no templates runs nothing", StepState{Steps: emptyExp}, StepDecision{Index: 1, Completed: true}},
		{"held by an inconclusive analysis: setWeight waits", StepState{Steps: analysis, WeightReached: true, Held: true}, StepDecision{}},
		{"held: a pause does not start, a cleared pause does not complete", StepState{Steps: analysis, Index: 2, ControllerPause: true, Held: true}, StepDecision{Index: 2}},
		{"with a router setCanaryScale waits for its counts", StepState{Steps: scale, TrafficRouted: true}, StepDecision{}},
		{"with a router setCanaryScale completes at its counts", StepState{Steps: scale, TrafficRouted: true, WeightReached: true}, StepDecision{Index: 1, Completed: true}},
		{"a header route waits for the routers", StepState{Steps: header, TrafficRouted: true}, StepDecision{}},
		{"a header route completes once written", StepState{Steps: header, TrafficRouted: true, WeightReached: true}, StepDecision{Index: 1, Completed: true}},
		{"a mirror route completes once written", StepState{Steps: mirror, TrafficRouted: true, WeightReached: true}, StepDecision{Index: 1, Completed: true}},
		{"a pause with a router pauses", StepState{Steps: seedSteps, Index: 1, TrafficRouted: true, WeightReached: true}, StepDecision{Index: 1, AddPause: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			if diff := cmp.Diff(tt.want, Advance(tt.in)); diff != "" {
				t.Errorf("Advance() (-want +got):\n%s", diff)
			}
		})
	}
}
