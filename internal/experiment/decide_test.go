package experiment

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mt(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }

func newExperiment(edit func(*v1alpha1.Experiment)) *v1alpha1.Experiment {
	ex := &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: "exp", Namespace: "ns"},
		Spec: v1alpha1.ExperimentSpec{Templates: []v1alpha1.TemplateSpec{
			{Name: "baseline", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "baseline"}}},
			{Name: "canary", Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "canary"}}},
		}},
	}
	for i := range ex.Spec.Templates {
		t := &ex.Spec.Templates[i]
		t.Template.Labels = t.Selector.MatchLabels
		t.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: "app:" + t.Name}}
	}
	if edit != nil {
		edit(ex)
	}
	return ex
}

func TestTerminatingAndDesiredReplicas(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(*v1alpha1.Experiment)
		terminating bool
		// desired for baseline (replicas unset) and canary (2)
		desired [2]int32
	}{
		{name: "running", desired: [2]int32{1, 2}},
		{name: "terminate asked", edit: func(ex *v1alpha1.Experiment) { ex.Spec.Terminate = true }, terminating: true},
		{name: "ended", edit: func(ex *v1alpha1.Experiment) { ex.Status.Phase = v1alpha1.AnalysisPhaseSuccessful }, terminating: true},
		{name: "a template failed", terminating: true, edit: func(ex *v1alpha1.Experiment) {
			ex.Status.TemplateStatuses = []v1alpha1.TemplateStatus{{Name: "canary", Status: v1alpha1.TemplateStatusFailed}}
		}},
		{name: "a template in error", terminating: true, edit: func(ex *v1alpha1.Experiment) {
			ex.Status.TemplateStatuses = []v1alpha1.TemplateStatus{{Name: "canary", Status: v1alpha1.TemplateStatusError}}
		}},
		{name: "a template done keeps the other running", desired: [2]int32{0, 2}, edit: func(ex *v1alpha1.Experiment) {
			ex.Status.TemplateStatuses = []v1alpha1.TemplateStatus{{Name: "baseline", Status: v1alpha1.TemplateStatusSuccessful}}
		}},
		{name: "a run inconclusive", terminating: true, edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t"}}
			ex.Status.AnalysisRuns = []v1alpha1.ExperimentAnalysisRunStatus{{Name: "a", Phase: v1alpha1.AnalysisPhaseInconclusive}}
		}},
		{name: "a non-required run successful keeps running", desired: [2]int32{1, 2}, edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t"}}
			ex.Status.AnalysisRuns = []v1alpha1.ExperimentAnalysisRunStatus{{Name: "a", Phase: v1alpha1.AnalysisPhaseSuccessful}}
		}},
		{name: "every required run successful", terminating: true, edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t", RequiredForCompletion: true}, {Name: "b", TemplateName: "t"}}
			ex.Status.AnalysisRuns = []v1alpha1.ExperimentAnalysisRunStatus{{Name: "a", Phase: v1alpha1.AnalysisPhaseSuccessful}, {Name: "b", Phase: v1alpha1.AnalysisPhaseRunning}}
		}},
		{name: "one of two required runs successful", desired: [2]int32{1, 2}, edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t", RequiredForCompletion: true}, {Name: "b", TemplateName: "t", RequiredForCompletion: true}}
			ex.Status.AnalysisRuns = []v1alpha1.ExperimentAnalysisRunStatus{{Name: "a", Phase: v1alpha1.AnalysisPhaseSuccessful}, {Name: "b", Phase: v1alpha1.AnalysisPhaseRunning}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newExperiment(tt.edit)
			if got := Terminating(ex); got != tt.terminating {
				t.Errorf("Terminating = %v, want %v", got, tt.terminating)
			}
			got := [2]int32{DesiredReplicas(ex, &ex.Spec.Templates[0]), DesiredReplicas(ex, &ex.Spec.Templates[1])}
			if got != tt.desired {
				t.Errorf("DesiredReplicas = %v, want %v", got, tt.desired)
			}
		})
	}
}

func TestAssessTemplate(t *testing.T) {
	deadline := 60 * time.Second
	base := func(edit func(*TemplateInput)) TemplateInput {
		in := TemplateInput{
			Previous: v1alpha1.TemplateStatus{Name: "canary", Status: v1alpha1.TemplateStatusProgressing, LastTransitionTime: mt(t0)},
			Observed: Observed{Exists: true},
			Desired:  2, Now: t0.Add(10 * time.Second), Deadline: deadline,
		}
		edit(&in)
		return in
	}
	tests := []struct {
		name       string
		in         TemplateInput
		status     v1alpha1.TemplateStatusCode
		message    string
		transition time.Time
	}{
		{
			name:   "short of pods within the deadline",
			in:     base(func(in *TemplateInput) { in.Observed.Replicas, in.Observed.Available = 2, 1 }),
			status: v1alpha1.TemplateStatusProgressing, transition: t0.Add(10 * time.Second),
		},
		{
			name:   "all available",
			in:     base(func(in *TemplateInput) { in.Observed.Replicas, in.Observed.Ready, in.Observed.Available = 2, 2, 2 }),
			status: v1alpha1.TemplateStatusRunning, transition: t0.Add(10 * time.Second),
		},
		{
			name: "all available once the duration passed",
			in: base(func(in *TemplateInput) {
				in.Observed.Replicas, in.Observed.Ready, in.Observed.Available = 2, 2, 2
				in.DurationPassed = true
			}),
			status: v1alpha1.TemplateStatusSuccessful, transition: t0.Add(10 * time.Second),
		},
		{
			name: "no progress past the deadline",
			in: base(func(in *TemplateInput) {
				in.Now = t0.Add(deadline + time.Second)
			}),
			status: v1alpha1.TemplateStatusFailed, message: "Template 'canary' exceeded its progressDeadlineSeconds (60)", transition: t0,
		},
		{
			name: "exactly at the deadline is not past it",
			in:   base(func(in *TemplateInput) { in.Now = t0.Add(deadline) }),
			// nothing changed: the transition time stays
			status: v1alpha1.TemplateStatusProgressing, transition: t0,
		},
		{
			name: "progress restarts the deadline",
			in: base(func(in *TemplateInput) {
				in.Now = t0.Add(deadline + time.Second)
				in.Observed.Replicas = 1
			}),
			status: v1alpha1.TemplateStatusProgressing, transition: t0.Add(deadline + time.Second),
		},
		{
			name: "scaling restarts the deadline",
			in: base(func(in *TemplateInput) {
				in.Now = t0.Add(deadline + time.Second)
				in.Observed.Touched = true
			}),
			status: v1alpha1.TemplateStatusProgressing, transition: t0.Add(deadline + time.Second),
		},
		{
			name: "terminating while short of pods ends Successful",
			in: base(func(in *TemplateInput) {
				in.Desired, in.Terminating = 0, true
				in.Previous.Replicas, in.Previous.UpdatedReplicas, in.Previous.AvailableReplicas = 2, 2, 2
				in.Observed.Replicas, in.Observed.Available = 2, 2
			}),
			status: v1alpha1.TemplateStatusSuccessful, transition: t0,
		},
		{
			name: "create error",
			in: base(func(in *TemplateInput) {
				in.Observed = Observed{Error: "Failed to create ReplicaSet for template 'canary': boom"}
			}),
			status: v1alpha1.TemplateStatusError, message: "Failed to create ReplicaSet for template 'canary': boom", transition: t0,
		},
		{
			name: "a final state is kept",
			in: base(func(in *TemplateInput) {
				in.Previous.Status, in.Previous.Message = v1alpha1.TemplateStatusFailed, "x"
				in.Observed.Replicas, in.Observed.Available = 2, 2
			}),
			status: v1alpha1.TemplateStatusFailed, message: "x", transition: t0.Add(10 * time.Second),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AssessTemplate(tt.in)
			if got.Status != tt.status || got.Message != tt.message {
				t.Errorf("status %q %q, want %q %q", got.Status, got.Message, tt.status, tt.message)
			}
			if got.LastTransitionTime == nil || !got.LastTransitionTime.Time.Equal(tt.transition) {
				t.Errorf("lastTransitionTime %v, want %v", got.LastTransitionTime, tt.transition)
			}
			if want := tt.in.Observed.Replicas; got.Replicas != want || got.UpdatedReplicas != want {
				t.Errorf("replicas %d/%d, want %d", got.Replicas, got.UpdatedReplicas, want)
			}
		})
	}
}

func TestPhase(t *testing.T) {
	ts := func(baseline, canary v1alpha1.TemplateStatusCode) []v1alpha1.TemplateStatus {
		return []v1alpha1.TemplateStatus{{Name: "baseline", Status: baseline, Message: "b:" + string(baseline)}, {Name: "canary", Status: canary, Message: "c:" + string(canary)}}
	}
	const (
		progressing = v1alpha1.TemplateStatusProgressing
		running     = v1alpha1.TemplateStatusRunning
		successful  = v1alpha1.TemplateStatusSuccessful
		failed      = v1alpha1.TemplateStatusFailed
		errored     = v1alpha1.TemplateStatusError
	)
	run := func(name string, p v1alpha1.AnalysisPhase) v1alpha1.ExperimentAnalysisRunStatus {
		return v1alpha1.ExperimentAnalysisRunStatus{Name: name, AnalysisRun: "exp-" + name, Phase: p, Message: name + ":" + string(p)}
	}
	oneAnalysis := []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t"}}
	required := []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t", RequiredForCompletion: true}, {Name: "b", TemplateName: "t"}}
	tests := []struct {
		name      string
		previous  v1alpha1.AnalysisPhase
		analyses  []v1alpha1.ExperimentAnalysisTemplateRef
		templates []v1alpha1.TemplateStatus
		runs      []v1alpha1.ExperimentAnalysisRunStatus
		want      v1alpha1.AnalysisPhase
		message   string
	}{
		{name: "first pass records Pending only", previous: "", templates: ts(failed, failed), want: v1alpha1.AnalysisPhasePending},
		{name: "a final phase stays", previous: v1alpha1.AnalysisPhaseFailed, templates: ts(running, running), want: v1alpha1.AnalysisPhaseFailed, message: "kept"},
		{name: "templates progressing", previous: v1alpha1.AnalysisPhasePending, templates: ts(running, progressing), want: v1alpha1.AnalysisPhasePending, message: "c:Progressing"},
		{name: "a template without status counts as progressing", previous: v1alpha1.AnalysisPhasePending, templates: ts(running, running)[:1], want: v1alpha1.AnalysisPhasePending},
		{name: "templates running", previous: v1alpha1.AnalysisPhasePending, templates: ts(running, running), want: v1alpha1.AnalysisPhaseRunning, message: "b:Running"},
		{name: "a template failed", previous: v1alpha1.AnalysisPhaseRunning, templates: ts(errored, failed), want: v1alpha1.AnalysisPhaseFailed, message: "c:Failed"},
		{name: "a template errored", previous: v1alpha1.AnalysisPhaseRunning, templates: ts(errored, successful), want: v1alpha1.AnalysisPhaseError, message: "b:Error"},
		{
			name: "duration over, no analyses", previous: v1alpha1.AnalysisPhaseRunning,
			templates: ts(successful, successful), want: v1alpha1.AnalysisPhaseSuccessful,
		},
		{
			name: "duration over, a run still measuring: the templates decide", previous: v1alpha1.AnalysisPhaseRunning, analyses: oneAnalysis,
			templates: ts(successful, successful), runs: []v1alpha1.ExperimentAnalysisRunStatus{run("a", v1alpha1.AnalysisPhaseRunning)},
			want: v1alpha1.AnalysisPhaseSuccessful,
		},
		{
			name: "duration over, the run finished: the run decides", previous: v1alpha1.AnalysisPhaseRunning, analyses: oneAnalysis,
			templates: ts(successful, successful), runs: []v1alpha1.ExperimentAnalysisRunStatus{run("a", v1alpha1.AnalysisPhaseFailed)},
			want: v1alpha1.AnalysisPhaseFailed, message: "a:Failed",
		},
		{
			name: "duration over, a required run still measuring: wait for it", previous: v1alpha1.AnalysisPhaseRunning, analyses: required,
			templates: ts(successful, successful), runs: []v1alpha1.ExperimentAnalysisRunStatus{run("a", v1alpha1.AnalysisPhaseRunning), run("b", v1alpha1.AnalysisPhaseSuccessful)},
			want: v1alpha1.AnalysisPhaseRunning, message: "a:Running",
		},
		{
			name: "running, a run failed: ends early", previous: v1alpha1.AnalysisPhaseRunning, analyses: oneAnalysis,
			templates: ts(running, running), runs: []v1alpha1.ExperimentAnalysisRunStatus{run("a", v1alpha1.AnalysisPhaseFailed)},
			want: v1alpha1.AnalysisPhaseFailed, message: "a:Failed",
		},
		{
			name: "running, a run inconclusive: ends early", previous: v1alpha1.AnalysisPhaseRunning, analyses: oneAnalysis,
			templates: ts(running, running), runs: []v1alpha1.ExperimentAnalysisRunStatus{run("a", v1alpha1.AnalysisPhaseInconclusive)},
			want: v1alpha1.AnalysisPhaseInconclusive, message: "a:Inconclusive",
		},
		{
			name: "running, a non-required run successful: keeps running", previous: v1alpha1.AnalysisPhaseRunning, analyses: oneAnalysis,
			templates: ts(running, running), runs: []v1alpha1.ExperimentAnalysisRunStatus{run("a", v1alpha1.AnalysisPhaseSuccessful)},
			want: v1alpha1.AnalysisPhaseRunning, message: "b:Running",
		},
		{
			name: "running, the required run successful while another measures: ends Successful", previous: v1alpha1.AnalysisPhaseRunning, analyses: required,
			templates: ts(running, running), runs: []v1alpha1.ExperimentAnalysisRunStatus{run("a", v1alpha1.AnalysisPhaseSuccessful), run("b", v1alpha1.AnalysisPhaseRunning)},
			want: v1alpha1.AnalysisPhaseSuccessful, message: MsgRequiredAnalysesCompleted,
		},
		{
			name: "running, the required run successful, another pending: ends Successful", previous: v1alpha1.AnalysisPhaseRunning, analyses: required,
			templates: ts(running, running), runs: []v1alpha1.ExperimentAnalysisRunStatus{run("a", v1alpha1.AnalysisPhaseSuccessful), run("b", v1alpha1.AnalysisPhasePending)},
			// Pending is worse than Running: the roll-up is Running, and
			// the required runs have all succeeded, so the phase is that.
			want: v1alpha1.AnalysisPhaseRunning, message: "b:Pending",
		},
		{
			name: "pending templates, a run errored: ends early", previous: v1alpha1.AnalysisPhasePending, analyses: oneAnalysis,
			templates: ts(running, progressing), runs: []v1alpha1.ExperimentAnalysisRunStatus{run("a", v1alpha1.AnalysisPhaseError)},
			want: v1alpha1.AnalysisPhaseError, message: "a:Error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newExperiment(func(ex *v1alpha1.Experiment) { ex.Spec.Analyses = tt.analyses })
			st := &v1alpha1.ExperimentStatus{TemplateStatuses: tt.templates, AnalysisRuns: tt.runs, Message: "kept"}
			got, msg := Phase(PhaseInput{Spec: &ex.Spec, Previous: tt.previous, Status: st})
			if got != tt.want || msg != tt.message {
				t.Errorf("Phase = %q %q, want %q %q", got, msg, tt.want, tt.message)
			}
		})
	}
}

func TestNextCheck(t *testing.T) {
	tests := []struct {
		name string
		edit func(*v1alpha1.Experiment)
		want time.Time
	}{
		{name: "nothing to wait for", want: time.Time{}},
		{name: "the end of the duration", want: t0.Add(5*time.Minute + time.Millisecond), edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Duration = "5m"
			ex.Status.AvailableAt = mt(t0)
		}},
		{name: "a progress deadline comes first", want: t0.Add(time.Minute + time.Millisecond), edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Duration = "5m"
			ex.Spec.ProgressDeadlineSeconds = ptr.To[int32](60)
			ex.Status.AvailableAt = mt(t0)
			ex.Status.TemplateStatuses = []v1alpha1.TemplateStatus{{Name: "canary", Status: v1alpha1.TemplateStatusProgressing, AvailableReplicas: 1, LastTransitionTime: mt(t0)}}
		}},
		{name: "a template with all its pods has no deadline", want: time.Time{}, edit: func(ex *v1alpha1.Experiment) {
			ex.Status.TemplateStatuses = []v1alpha1.TemplateStatus{{Name: "canary", Status: v1alpha1.TemplateStatusRunning, AvailableReplicas: 2, LastTransitionTime: mt(t0)}}
		}},
		{name: "terminating waits for nothing", want: time.Time{}, edit: func(ex *v1alpha1.Experiment) {
			ex.Spec.Duration, ex.Spec.Terminate = "5m", true
			ex.Status.AvailableAt = mt(t0)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextCheck(newExperiment(tt.edit), t0.Add(time.Second)); !got.Equal(tt.want) {
				t.Errorf("NextCheck = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlanScale(t *testing.T) {
	delay := 30 * time.Second
	tests := []struct {
		name     string
		current  int32
		desired  int32
		deadline string
		delay    time.Duration
		want     ScalePlan
	}{
		{name: "scale up", current: 0, desired: 2, delay: delay, want: ScalePlan{Replicas: 2}},
		{name: "scale up drops an old deadline", current: 0, desired: 2, deadline: "2026-03-01T11:00:00Z", delay: delay, want: ScalePlan{Replicas: 2, RemoveDeadline: true}},
		{name: "first time down: write the deadline, keep the pods", current: 2, desired: 0, delay: delay,
			want: ScalePlan{Replicas: 2, SetDeadline: "2026-03-01T12:00:30Z", RecheckAt: t0.Add(delay)}},
		{name: "before the deadline: keep the pods", current: 2, desired: 0, delay: delay, deadline: "2026-03-01T12:00:30Z",
			want: ScalePlan{Replicas: 2, RecheckAt: t0.Add(delay)}},
		{name: "deadline passed: scale down", current: 2, desired: 0, delay: delay, deadline: "2026-03-01T11:59:59Z", want: ScalePlan{}},
		{name: "unreadable deadline: scale down", current: 2, desired: 0, delay: delay, deadline: "soon", want: ScalePlan{}},
		{name: "no delay: scale down at once and drop the deadline", current: 2, desired: 0, deadline: "2026-03-01T12:00:30Z", want: ScalePlan{RemoveDeadline: true}},
		{name: "already down", current: 0, desired: 0, delay: delay, want: ScalePlan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanScale(tt.current, tt.desired, tt.deadline, t0, tt.delay)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PlanScale (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgressingCondition(t *testing.T) {
	ex := newExperiment(func(ex *v1alpha1.Experiment) { ex.Spec.Duration = "1m" })
	counts := func(n int32) v1alpha1.ExperimentStatus {
		return v1alpha1.ExperimentStatus{TemplateStatuses: []v1alpha1.TemplateStatus{{Name: "canary", Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}}}
	}
	available := counts(2)
	available.AvailableAt = mt(t0)
	successful := counts(2)
	successful.Phase = v1alpha1.AnalysisPhaseSuccessful
	tests := []struct {
		name          string
		before, after v1alpha1.ExperimentStatus
		now           time.Time
		reason        string
	}{
		{name: "counts moved", before: counts(1), after: counts(2), now: t0, reason: ReasonReplicaSetUpdated},
		{name: "first template status", before: v1alpha1.ExperimentStatus{}, after: counts(0), now: t0, reason: ReasonReplicaSetUpdated},
		{name: "running its duration", before: available, after: available, now: t0.Add(30 * time.Second), reason: ReasonNewReplicaSetAvailable},
		{name: "duration over, nothing moved", before: available, after: available, now: t0.Add(2 * time.Minute)},
		{name: "successful", before: available, after: successful, now: t0, reason: ReasonCompleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ProgressingCondition(ex, &tt.before, &tt.after, tt.now)
			switch {
			case tt.reason == "" && c != nil:
				t.Errorf("condition %+v, want none", c)
			case tt.reason != "" && (c == nil || c.Reason != tt.reason):
				t.Errorf("condition %+v, want reason %s", c, tt.reason)
			}
		})
	}

	// Setting a condition keeps its transition time while the status holds.
	st := &v1alpha1.ExperimentStatus{}
	SetCondition(st, *ProgressingCondition(ex, &v1alpha1.ExperimentStatus{}, ptr.To(counts(1)), t0))
	SetCondition(st, *ProgressingCondition(ex, &available, &available, t0.Add(time.Second)))
	c := Condition(st, v1alpha1.ExperimentProgressing)
	if c.Reason != ReasonNewReplicaSetAvailable || !c.LastTransitionTime.Time.Equal(t0) || !c.LastUpdateTime.Time.Equal(t0.Add(time.Second)) {
		t.Errorf("condition after two updates: %+v", c)
	}
	if c.Message != `Experiment "exp" is running.` {
		t.Errorf("message %q", c.Message)
	}
	SetCondition(st, *ProgressingCondition(ex, &available, &successful, t0.Add(2*time.Second)))
	if c := Condition(st, v1alpha1.ExperimentProgressing); c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Time.Equal(t0.Add(2*time.Second)) ||
		c.Message != `Experiment "exp" has successfully ran and completed.` {
		t.Errorf("completed condition: %+v", c)
	}
	if len(st.Conditions) != 1 {
		t.Errorf("%d conditions, want 1", len(st.Conditions))
	}
}
