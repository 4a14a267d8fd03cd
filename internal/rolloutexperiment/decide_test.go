package rolloutexperiment

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/experiment"
)

const base = "guestbook-6c54544bf9-3-2"

func ex(name string, phase v1alpha1.AnalysisPhase, msg string) *v1alpha1.Experiment {
	e := &v1alpha1.Experiment{}
	e.Name = name
	e.Status.Phase, e.Status.Message = phase, msg
	return e
}

func TestDecide(t *testing.T) {
	running := ex(base, v1alpha1.AnalysisPhaseRunning, "")
	stepping := Input{Configured: true, Base: base, Due: true}
	with := func(in Input, recorded *v1alpha1.Experiment) Input {
		in.Recorded, in.Current = recorded.Name, recorded
		return in
	}
	for _, tc := range []struct {
		name string
		in   Input
		want Decision
	}{
		{"not an experiment step, nothing recorded", Input{Base: base, Due: true}, Decision{}},
		{"the step is due: create", stepping, Decision{Gating: true, Create: true}},
		{"the step is not due (paused, aborted or no stable): wait", Input{Configured: true, Base: base}, Decision{Gating: true}},
		{"a person cleared the inconclusive pause: a fresh one, the resume spent",
			Input{Configured: true, Base: base, Due: true, Resumed: true}, Decision{Gating: true, Create: true, SpendResume: true}},
		{"pending: wait, keep the record", with(stepping, ex(base, v1alpha1.AnalysisPhasePending, "")), Decision{Gating: true, Record: base}},
		{"not reconciled yet: wait", with(stepping, ex(base+"-1", "", "")), Decision{Gating: true, Record: base + "-1"}},
		{"running: wait", with(stepping, running), Decision{Gating: true, Record: base}},
		{"successful: passed, the record stays until the step completes",
			with(stepping, ex(base, v1alpha1.AnalysisPhaseSuccessful, "")), Decision{Gating: true, Verdict: experiment.Passed, Record: base}},
		{"failed: abort with the reference's message, forget it",
			with(stepping, ex(base, v1alpha1.AnalysisPhaseFailed, `Metric "m" assessed Failed`)),
			Decision{Gating: true, Verdict: experiment.Abort, AbortMessage: `Experiment analysis phase is failed: Metric "m" assessed Failed`}},
		{"error without a message", with(stepping, ex(base, v1alpha1.AnalysisPhaseError, "")),
			Decision{Gating: true, Verdict: experiment.Abort, AbortMessage: "Experiment analysis phase is error"}},
		{"inconclusive: hold, forget it", with(stepping, ex(base, v1alpha1.AnalysisPhaseInconclusive, "")),
			Decision{Gating: true, Verdict: experiment.Hold}},
		{"a recorded Experiment that is gone: a new one", Input{Configured: true, Base: base, Due: true, Recorded: base},
			Decision{Gating: true, Create: true}},
		{"the status names another Experiment than the one found", Input{Configured: true, Base: base, Due: true, Recorded: base, Current: ex("other", v1alpha1.AnalysisPhaseRunning, "")},
			Decision{Gating: true, Create: true}},
		{"cancelled (abort, promote --full, promoted): terminate, forget", with(Input{Configured: true, Base: base, CancelAll: true}, running),
			Decision{Terminate: base}},
		{"promoted past the step: terminate, forget", with(Input{Base: base}, running), Decision{Terminate: base}},
		{"cancelled after it ended: nothing to terminate", with(Input{Base: base, CancelAll: true}, ex(base, v1alpha1.AnalysisPhaseSuccessful, "")), Decision{}},
		{"cancelled while already terminating", with(Input{Base: base}, func() *v1alpha1.Experiment {
			e := running.DeepCopy()
			e.Spec.Terminate = true
			return e
		}()), Decision{}},
		{"an Experiment of an earlier step at the next experiment step: terminated, a new one created",
			with(Input{Configured: true, Base: "guestbook-6c54544bf9-3-4", Due: true}, running),
			Decision{Gating: true, Create: true, Terminate: base}},
		{"an Experiment of the previous revision: terminated, the new revision's is not due yet",
			with(Input{Configured: true, Base: "guestbook-7d9f8c6b5a-4-2"}, running),
			Decision{Gating: true, Terminate: base}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Decide(tc.in)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOfStep(t *testing.T) {
	for name, want := range map[string]bool{
		base:                       true,
		base + "-1":                true,
		base + "-12":               true,
		base + "-0":                false,
		base + "-01":               false,
		base + "-x":                false,
		base + "1":                 false, // step 21, not step 2
		"guestbook-6c54544bf9-3-1": false,
		"guestbook-6c54544bf9-4-2": false,
		"":                         false,
	} {
		if got := OfStep(name, base); got != want {
			t.Errorf("OfStep(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestDestinations(t *testing.T) {
	step := &v1alpha1.RolloutExperimentStep{Templates: []v1alpha1.RolloutExperimentTemplate{
		{Name: "baseline", SpecRef: v1alpha1.StableSpecRef, Weight: ptr.To[int32](5)},
		{Name: "canary", SpecRef: v1alpha1.CanarySpecRef, Weight: ptr.To[int32](10), Service: &v1alpha1.TemplateService{Name: "exp-canary"}},
		{Name: "unweighted", SpecRef: v1alpha1.CanarySpecRef, Service: &v1alpha1.TemplateService{}},
		{Name: "no-service-yet", SpecRef: v1alpha1.CanarySpecRef, Weight: ptr.To[int32](1)},
	}}
	statuses := []v1alpha1.TemplateStatus{
		{Name: "canary", ServiceName: "exp-canary", PodTemplateHash: "c4n4ry"},
		{Name: "baseline", ServiceName: "guestbook-6c54544bf9-3-2-baseline", PodTemplateHash: "b4s3"},
		{Name: "unweighted", ServiceName: "guestbook-6c54544bf9-3-2-unweighted", PodTemplateHash: "u"},
		{Name: "no-service-yet"},
	}
	want := []v1alpha1.WeightDestination{
		{Weight: 5, ServiceName: "guestbook-6c54544bf9-3-2-baseline", PodTemplateHash: "b4s3"},
		{Weight: 10, ServiceName: "exp-canary", PodTemplateHash: "c4n4ry"},
	}
	for _, tc := range []struct {
		phase v1alpha1.AnalysisPhase
		want  []v1alpha1.WeightDestination
	}{
		{v1alpha1.AnalysisPhaseRunning, want},
		{v1alpha1.AnalysisPhasePending, nil},
		{v1alpha1.AnalysisPhaseSuccessful, nil},
		{v1alpha1.AnalysisPhaseFailed, nil},
		{v1alpha1.AnalysisPhaseInconclusive, nil},
	} {
		t.Run(string(tc.phase), func(t *testing.T) {
			e := ex(base, tc.phase, "")
			e.Status.TemplateStatuses = statuses
			if diff := cmp.Diff(tc.want, Destinations(step, e)); diff != "" {
				t.Errorf("Destinations (-want +got):\n%s", diff)
			}
		})
	}
	if got := Destinations(nil, ex(base, v1alpha1.AnalysisPhaseRunning, "")); got != nil {
		t.Errorf("no step: %v", got)
	}
	if got := Destinations(step, nil); got != nil {
		t.Errorf("no Experiment: %v", got)
	}
}
