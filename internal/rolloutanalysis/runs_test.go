package rolloutanalysis

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

const (
	successful   = v1alpha1.AnalysisPhaseSuccessful
	failed       = v1alpha1.AnalysisPhaseFailed
	errored      = v1alpha1.AnalysisPhaseError
	inconclusive = v1alpha1.AnalysisPhaseInconclusive
	running      = v1alpha1.AnalysisPhaseRunning
)

func TestBaseName(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		step int32
		want string
	}{
		{Step, 2, "guestbook-6c54544bf9-3-2"},
		{Background, 0, "guestbook-6c54544bf9-3"},
		{PrePromotion, 0, "guestbook-6c54544bf9-3-pre"},
		{PostPromotion, 0, "guestbook-6c54544bf9-3-post"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			if got := BaseName("guestbook", "6c54544bf9", "3", tc.kind, tc.step); got != tc.want {
				t.Errorf("BaseName = %q, want %q", got, tc.want)
			}
		})
	}
	if got := Candidate("guestbook-6c54544bf9-3-pre", 0); got != "guestbook-6c54544bf9-3-pre" {
		t.Errorf("Candidate(0) = %q", got)
	}
	if got := Candidate("guestbook-6c54544bf9-3-pre", 2); got != "guestbook-6c54544bf9-3-pre.2" {
		t.Errorf("Candidate(2) = %q", got)
	}
}

func TestLabels(t *testing.T) {
	got := Labels(LabelInput{
		Kind: Step, Hash: "6c54544bf9", Step: 1,
		Metadata: map[string]string{"team": "shop", "app": "overridden"},
		Selector: map[string]string{"app": "guestbook"},
	})
	want := map[string]string{
		"rollouts-pod-template-hash": "6c54544bf9",
		"rollout-type":               "Step",
		"step-index":                 "1",
		"team":                       "shop",
		"app":                        "guestbook",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("step labels (-want +got):\n%s", diff)
	}
	bg := Labels(LabelInput{Kind: Background, Hash: "h"})
	if _, ok := bg[StepIndexLabel]; ok || bg[TypeLabel] != "Background" {
		t.Errorf("background labels = %v", bg)
	}
	if i, ok := StepIndexOf(got); !ok || i != 1 {
		t.Errorf("StepIndexOf = %d, %v", i, ok)
	}
	if _, ok := StepIndexOf(map[string]string{StepIndexLabel: "x"}); ok {
		t.Error("StepIndexOf accepted a non-number")
	}
}

func TestAbortMessage(t *testing.T) {
	for _, tc := range []struct {
		kind  Kind
		phase v1alpha1.AnalysisPhase
		msg   string
		want  string
	}{
		{Step, failed, `Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`,
			`Step-based analysis phase failed: Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`},
		{Step, errored, "", "Step-based analysis phase error"},
		{Background, failed, "", "Background analysis phase failed"},
		{PrePromotion, errored, "Analysis spec invalid: metrics[0]: no provider specified",
			"Blue/green pre-promotion analysis phase error: Analysis spec invalid: metrics[0]: no provider specified"},
		{PostPromotion, failed, "", "Blue/green post-promotion analysis phase failed"},
	} {
		if got := AbortMessage(tc.kind, tc.phase, tc.msg); got != tc.want {
			t.Errorf("AbortMessage(%s, %s) = %q, want %q", tc.kind, tc.phase, got, tc.want)
		}
	}
}

func rec(name string, phase v1alpha1.AnalysisPhase) *v1alpha1.RolloutAnalysisRunStatus {
	return &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: phase}
}

func run(name string, phase v1alpha1.AnalysisPhase) *Run {
	return &Run{Name: name, Phase: phase, Hash: "new"}
}

func stepRun(name string, phase v1alpha1.AnalysisPhase, step int32) *Run {
	r := run(name, phase)
	r.StepIndex = ptr.To(step)
	return r
}

func TestDecide(t *testing.T) {
	const step, bgName = "ro-new-2-1", "ro-new-2"
	stepSource := func(recorded *v1alpha1.RolloutAnalysisRunStatus, current *Run) Source {
		return Source{Kind: Step, Configured: true, Due: true, Hash: "new", Step: 1, Recorded: recorded, Current: current}
	}
	tests := []struct {
		name string
		src  Source
		ro   Rollout
		want Decision
	}{{
		name: "step just became current: create",
		src:  stepSource(nil, nil),
		want: Decision{Verdict: Pending, Create: true},
	}, {
		name: "step current but the rollout is paused: wait, create nothing",
		src:  Source{Kind: Step, Configured: true, Due: false, Hash: "new", Step: 1},
		want: Decision{Verdict: Pending},
	}, {
		name: "inconclusive pause holds creation",
		src:  stepSource(nil, nil),
		ro:   Rollout{InconclusivePause: true},
		want: Decision{Verdict: Pending},
	}, {
		name: "new run not reconciled yet",
		src:  stepSource(rec(step, ""), stepRun(step, "", 1)),
		want: Decision{Verdict: Pending, Status: rec(step, "")},
	}, {
		name: "running",
		src:  stepSource(rec(step, ""), stepRun(step, running, 1)),
		want: Decision{Verdict: Pending, Status: rec(step, running)},
	}, {
		name: "successful: the step may complete",
		src:  stepSource(rec(step, running), stepRun(step, successful, 1)),
		want: Decision{Verdict: Passed, Status: rec(step, successful)},
	}, {
		name: "failed: abort with the run's message",
		src: stepSource(rec(step, running), &Run{Name: step, Phase: failed, Hash: "new", StepIndex: ptr.To[int32](1),
			Message: `Metric "m" assessed Failed due to failed (2) > failureLimit (1)`}),
		want: Decision{Verdict: Abort,
			Status:       &v1alpha1.RolloutAnalysisRunStatus{Name: step, Status: failed, Message: `Metric "m" assessed Failed due to failed (2) > failureLimit (1)`},
			AbortMessage: `Step-based analysis phase failed: Metric "m" assessed Failed due to failed (2) > failureLimit (1)`},
	}, {
		name: "error: abort",
		src:  stepSource(rec(step, running), stepRun(step, errored, 1)),
		want: Decision{Verdict: Abort, Status: rec(step, errored), AbortMessage: "Step-based analysis phase error"},
	}, {
		name: "inconclusive, first seen: pause",
		src:  stepSource(rec(step, running), stepRun(step, inconclusive, 1)),
		want: Decision{Verdict: Inconclusive, Status: rec(step, inconclusive)},
	}, {
		name: "inconclusive, pause present: keep waiting for a person",
		src:  stepSource(rec(step, inconclusive), stepRun(step, inconclusive, 1)),
		ro:   Rollout{InconclusivePause: true},
		want: Decision{Verdict: Inconclusive, Status: rec(step, inconclusive)},
	}, {
		name: "inconclusive, a person cleared the pause: a new run",
		src:  stepSource(rec(step, inconclusive), stepRun(step, inconclusive, 1)),
		want: Decision{Verdict: Pending, Create: true, Resumed: true, Status: rec(step, inconclusive)},
	}, {
		name: "promoted past the step (index moved): the running run is terminated and forgotten",
		src:  Source{Kind: Step, Configured: false, Hash: "new", Step: 2, Recorded: rec(step, running), Current: stepRun(step, running, 1)},
		want: Decision{Terminate: step},
	}, {
		name: "next step is an analysis too: the previous step's run is replaced",
		src:  Source{Kind: Step, Configured: true, Due: true, Hash: "new", Step: 2, Recorded: rec(step, successful), Current: stepRun(step, successful, 1)},
		want: Decision{Verdict: Pending, Create: true},
	}, {
		name: "a run of another revision is never current",
		src:  stepSource(rec(step, running), &Run{Name: step, Phase: running, Hash: "old", StepIndex: ptr.To[int32](1)}),
		want: Decision{Verdict: Pending, Create: true, Terminate: step},
	}, {
		name: "recorded run is gone: create again",
		src:  stepSource(rec(step, running), nil),
		want: Decision{Verdict: Pending, Create: true},
	}, {
		name: "already terminating runs are not terminated again",
		src:  Source{Kind: Step, Configured: false, Hash: "new", Step: 2, Recorded: rec(step, running), Current: &Run{Name: step, Phase: running, Hash: "new", StepIndex: ptr.To[int32](1), Terminating: true}},
		want: Decision{},
	}, {
		name: "abort (cancel all): canary drops the status and terminates",
		src:  Source{Kind: Background, Configured: true, Due: true, Hash: "new", Recorded: rec(bgName, running), Current: run(bgName, running)},
		ro:   Rollout{CancelAll: true},
		want: Decision{Terminate: bgName},
	}, {
		name: "fully promoted: a finished background run is left as it is",
		src:  Source{Kind: Background, Configured: true, Hash: "new", Recorded: rec(bgName, successful), Current: run(bgName, successful)},
		ro:   Rollout{CancelAll: true},
		want: Decision{},
	}, {
		name: "cancel all: blue-green keeps its status",
		src:  Source{Kind: PrePromotion, Configured: true, Hash: "new", Recorded: rec("ro-new-2-pre", running), Current: run("ro-new-2-pre", running)},
		ro:   Rollout{CancelAll: true},
		want: Decision{Terminate: "ro-new-2-pre", Status: rec("ro-new-2-pre", running)},
	}, {
		name: "pre-promotion: once started, losing saturation does not end it",
		src:  Source{Kind: PrePromotion, Configured: true, Due: false, Hash: "new", Recorded: rec("ro-new-2-pre", running), Current: run("ro-new-2-pre", running)},
		want: Decision{Verdict: Pending, Status: rec("ro-new-2-pre", running)},
	}, {
		name: "pre-promotion not due yet: it gates, nothing is created",
		src:  Source{Kind: PrePromotion, Configured: true, Due: false, Hash: "new"},
		want: Decision{Verdict: Pending},
	}, {
		name: "post-promotion cancelled (switched back): status kept",
		src:  Source{Kind: PostPromotion, Configured: true, Cancel: true, Hash: "new", Recorded: rec("ro-new-2-post", running), Current: run("ro-new-2-post", running)},
		want: Decision{Terminate: "ro-new-2-post", Status: rec("ro-new-2-post", running)},
	}, {
		name: "retry: the failed run is forgotten and a fresh one created",
		src:  Source{Kind: PrePromotion, Configured: true, Due: true, Hash: "new", Recorded: rec("ro-new-2-pre", failed), Current: run("ro-new-2-pre", failed)},
		ro:   Rollout{Retry: true},
		want: Decision{Verdict: Pending, Create: true},
	}, {
		name: "retry before the source is due: the old status goes",
		src:  Source{Kind: PostPromotion, Configured: true, Due: false, Hash: "new", Recorded: rec("ro-new-2-post", failed), Current: run("ro-new-2-post", failed)},
		ro:   Rollout{Retry: true},
		want: Decision{Verdict: Pending},
	}, {
		name: "not configured, nothing recorded",
		src:  Source{Kind: Background, Hash: "new"},
		want: Decision{},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.src, tc.ro)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatusEvent(t *testing.T) {
	tests := []struct {
		name       string
		kind       Kind
		prev, next *v1alpha1.RolloutAnalysisRunStatus
		want       *Event
	}{
		{"new run, not reconciled", Step, nil, rec("a", ""), nil},
		{"first phase", Step, rec("a", ""), rec("a", running),
			&Event{Reason: "AnalysisRunRunning", Message: "Step Analysis Run 'a' Status New: 'Running' Previous: 'NoPreviousStatus'"}},
		{"no previous status", Background, nil, rec("a", running),
			&Event{Reason: "AnalysisRunRunning", Message: "Background Analysis Run 'a' Status New: 'Running' Previous: 'NoPreviousStatus'"}},
		{"unchanged", Step, rec("a", running), rec("a", running), nil},
		{"failed is a warning", PrePromotion, rec("a", running), rec("a", failed),
			&Event{Warning: true, Reason: "AnalysisRunFailed", Message: "PrePromotion Analysis Run 'a' Status New: 'Failed' Previous: 'Running'"}},
		{"error is a warning", PostPromotion, rec("a", running), rec("a", errored),
			&Event{Warning: true, Reason: "AnalysisRunError", Message: "PostPromotion Analysis Run 'a' Status New: 'Error' Previous: 'Running'"}},
		{"successful", Step, rec("a", running), rec("a", successful),
			&Event{Reason: "AnalysisRunSuccessful", Message: "Step Analysis Run 'a' Status New: 'Successful' Previous: 'Running'"}},
		{"another run replaces the recorded one", Step, rec("a", inconclusive), rec("a.1", running),
			&Event{Reason: "AnalysisRunRunning", Message: "Step Analysis Run 'a.1' Status New: 'Running' Previous: 'NoPreviousStatus'"}},
		{"cleared", Step, rec("a", running), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := StatusEvent(tc.kind, tc.prev, tc.next)
			if tc.want == nil {
				if ok {
					t.Fatalf("unexpected event %+v", got)
				}
				return
			}
			if !ok {
				t.Fatal("no event")
			}
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	runs := []OwnedRun{
		{Name: "cur", Phase: running, Hash: "new", Created: at(10)},
		{Name: "s1", Phase: successful, Hash: "new", Created: at(9)},
		{Name: "s2", Phase: successful, Hash: "old", Created: at(8)},
		{Name: "s3", Phase: successful, Hash: "old", Created: at(7)},
		{Name: "f1", Phase: failed, Hash: "new", Created: at(6)},
		{Name: "e1", Phase: errored, Hash: "old", Created: at(5)},
		{Name: "i1", Phase: inconclusive, Hash: "old", Created: at(4)},
		{Name: "run-other", Phase: running, Hash: "new", Created: at(3)},
		{Name: "term-other", Phase: running, Hash: "new", Created: at(3), Terminating: true},
		{Name: "pending-other", Phase: "", Hash: "old", Created: at(3)},
		{Name: "gone-rev", Phase: successful, Hash: "deleted", Created: at(11)},
		{Name: "unlabelled", Phase: successful, Created: at(12)},
	}
	tests := []struct {
		name                  string
		succLimit, unsuccLimt int32
		want                  Cleanup
	}{
		{"defaults keep everything recent", 5, 5, Cleanup{
			Terminate: []string{"run-other", "pending-other"},
			Delete:    []string{"gone-rev", "unlabelled"},
		}},
		{"limits of one, newest kept", 1, 1, Cleanup{
			Terminate: []string{"run-other", "pending-other"},
			Delete:    []string{"gone-rev", "unlabelled", "s2", "s3", "e1", "i1"},
		}},
		{"limits of zero", 0, 0, Cleanup{
			Terminate: []string{"run-other", "pending-other"},
			Delete:    []string{"gone-rev", "unlabelled", "s1", "s2", "s3", "f1", "e1", "i1"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Prune(History{
				Runs:              runs,
				Current:           map[string]bool{"cur": true},
				Revisions:         map[string]bool{"new": true, "old": true},
				SuccessfulLimit:   tc.succLimit,
				UnsuccessfulLimit: tc.unsuccLimt,
			})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Prune (-want +got):\n%s", diff)
			}
		})
	}
}
