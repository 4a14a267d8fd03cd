package experiment

import (
	"testing"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// argoCDHealth is how Argo CD's built-in health check for
// argoproj.io/Experiment reads an Experiment (resource_customizations,
// restated): only status.phase counts. No status yet is Progressing
// ("status has not been reconciled"); Pending and Running are
// Progressing; Successful is Healthy; Failed and Error are Degraded. Any
// other phase, Inconclusive included, gets no health from the check.
func argoCDHealth(st *v1alpha1.ExperimentStatus, hasStatus bool) string {
	if !hasStatus {
		return "Progressing"
	}
	switch st.Phase {
	case v1alpha1.AnalysisPhasePending, v1alpha1.AnalysisPhaseRunning:
		return "Progressing"
	case v1alpha1.AnalysisPhaseSuccessful:
		return "Healthy"
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		return "Degraded"
	}
	return ""
}

// TestArgoCDHealth walks an Experiment through the states the controller
// writes and checks the health Argo CD shows for each: the controller
// always writes a phase from the first pass on (never a status Argo CD
// cannot read), an invalid spec is Degraded rather than stuck Progressing,
// and only a good end is Healthy.
func TestArgoCDHealth(t *testing.T) {
	running := func(ex *v1alpha1.Experiment) *v1alpha1.ExperimentStatus {
		return &v1alpha1.ExperimentStatus{TemplateStatuses: []v1alpha1.TemplateStatus{
			{Name: "baseline", Status: v1alpha1.TemplateStatusRunning}, {Name: "canary", Status: v1alpha1.TemplateStatusRunning},
		}}
	}
	withRun := func(p v1alpha1.AnalysisPhase) func(*v1alpha1.Experiment) *v1alpha1.ExperimentStatus {
		return func(ex *v1alpha1.Experiment) *v1alpha1.ExperimentStatus {
			st := running(ex)
			st.AnalysisRuns = []v1alpha1.ExperimentAnalysisRunStatus{{Name: "a", AnalysisRun: "exp-a", Phase: p}}
			return st
		}
	}
	tests := []struct {
		name     string
		previous v1alpha1.AnalysisPhase
		status   func(*v1alpha1.Experiment) *v1alpha1.ExperimentStatus
		want     string
	}{
		{name: "first pass", previous: "", status: running, want: "Progressing"},
		{name: "templates coming up", previous: v1alpha1.AnalysisPhasePending, want: "Progressing", status: func(*v1alpha1.Experiment) *v1alpha1.ExperimentStatus {
			return &v1alpha1.ExperimentStatus{TemplateStatuses: []v1alpha1.TemplateStatus{{Name: "baseline", Status: v1alpha1.TemplateStatusProgressing}}}
		}},
		{name: "running, run measuring", previous: v1alpha1.AnalysisPhasePending, status: withRun(v1alpha1.AnalysisPhaseRunning), want: "Progressing"},
		{name: "run failed", previous: v1alpha1.AnalysisPhaseRunning, status: withRun(v1alpha1.AnalysisPhaseFailed), want: "Degraded"},
		{name: "run errored", previous: v1alpha1.AnalysisPhaseRunning, status: withRun(v1alpha1.AnalysisPhaseError), want: "Degraded"},
		{name: "run inconclusive", previous: v1alpha1.AnalysisPhaseRunning, status: withRun(v1alpha1.AnalysisPhaseInconclusive), want: ""},
		{name: "template past its deadline", previous: v1alpha1.AnalysisPhasePending, want: "Degraded", status: func(*v1alpha1.Experiment) *v1alpha1.ExperimentStatus {
			return &v1alpha1.ExperimentStatus{TemplateStatuses: []v1alpha1.TemplateStatus{{Name: "baseline", Status: v1alpha1.TemplateStatusFailed}}}
		}},
		{name: "duration over", previous: v1alpha1.AnalysisPhaseRunning, want: "Healthy", status: func(*v1alpha1.Experiment) *v1alpha1.ExperimentStatus {
			return &v1alpha1.ExperimentStatus{TemplateStatuses: []v1alpha1.TemplateStatus{
				{Name: "baseline", Status: v1alpha1.TemplateStatusSuccessful}, {Name: "canary", Status: v1alpha1.TemplateStatusSuccessful},
			}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newExperiment(func(ex *v1alpha1.Experiment) {
				ex.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t"}}
			})
			st := tt.status(ex)
			st.Phase, st.Message = Phase(PhaseInput{Spec: &ex.Spec, Previous: tt.previous, Status: st})
			if st.Phase == "" {
				t.Fatal("the controller wrote no phase")
			}
			if got := argoCDHealth(st, true); got != tt.want {
				t.Errorf("phase %s: Argo CD health %q, want %q", st.Phase, got, tt.want)
			}
		})
	}
	if got := argoCDHealth(nil, false); got != "Progressing" {
		t.Errorf("no status: %q", got)
	}
	// An invalid spec ends the Experiment in Error: Degraded, with the
	// reason in the message Argo CD shows next to the health.
	ex := newExperiment(func(ex *v1alpha1.Experiment) {
		ex.Spec.Templates[0].Selector.MatchLabels = map[string]string{"role": "x"}
	})
	if msg := Validate(ex); msg == "" || argoCDHealth(&v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseError, Message: msg}, true) != "Degraded" {
		t.Errorf("invalid spec: %q", msg)
	}
}
