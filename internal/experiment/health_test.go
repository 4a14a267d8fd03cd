package experiment

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/argocd"
	"github.com/switchyard-dev/switchyard/test/cluster"
)

// argoCDHealth runs Argo CD's own health check for Experiments (its
// resource_customizations/argoproj.io/Experiment/health.lua, from Argo
// CD's module) on ex as the API server would serve it (its JSON form).
func argoCDHealth(t *testing.T, m *argocd.Module, ex *v1alpha1.Experiment) (health, message string) {
	t.Helper()
	raw, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := json.Unmarshal(raw, &obj.Object); err != nil {
		t.Fatal(err)
	}
	health, message, err = m.Health(v1alpha1.GroupVersion.Group, "Experiment", obj)
	if err != nil {
		t.Fatal(err)
	}
	return health, message
}

// TestArgoCDHealth walks an Experiment through the states the controller
// writes and checks the health Argo CD shows for each: the controller
// always writes a phase from the first pass on (never a status Argo CD
// cannot read), an invalid spec is Degraded rather than stuck Progressing,
// and only a good end is Healthy.
func TestArgoCDHealth(t *testing.T) {
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	m := argocd.Require(t, root)
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
			ex.Status = *st
			if got, msg := argoCDHealth(t, m, ex); got != tt.want {
				t.Errorf("phase %s: Argo CD health %q (%q), want %q", st.Phase, got, msg, tt.want)
			}
		})
	}
	// Before the controller's first pass the Experiment has no status (it
	// serialises without one), and Argo CD waits for it.
	if got, msg := argoCDHealth(t, m, newExperiment(func(*v1alpha1.Experiment) {})); got != "Progressing" || !strings.Contains(msg, "not been reconciled") {
		t.Errorf("no status: %q %q", got, msg)
	}
	// An invalid spec ends the Experiment in Error: Degraded, with the
	// reason in the message Argo CD shows next to the health.
	ex := newExperiment(func(ex *v1alpha1.Experiment) {
		ex.Spec.Templates[0].Selector.MatchLabels = map[string]string{"role": "x"}
	})
	msg := Validate(ex)
	ex.Status = v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseError, Message: msg}
	if got, _ := argoCDHealth(t, m, ex); msg == "" || got != "Degraded" {
		t.Errorf("invalid spec %q: Argo CD health %q", msg, got)
	}
}
