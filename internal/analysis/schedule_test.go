package analysis

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestDue(t *testing.T) {
	every := func(d time.Duration, count int32) rules {
		return rules{interval: d, count: count, consecutiveErrorLimit: 4}
	}
	last := func(phase v1alpha1.AnalysisPhase, finishedAt time.Duration, count int32) *v1alpha1.MetricResult {
		return &v1alpha1.MetricResult{Phase: v1alpha1.AnalysisPhaseRunning, Count: count, Measurements: []v1alpha1.Measurement{
			{Phase: phase, StartedAt: at(finishedAt - time.Second), FinishedAt: at(finishedAt)},
		}}
	}
	inFlight := func(resumeAt *metav1.Time) *v1alpha1.MetricResult {
		return &v1alpha1.MetricResult{Phase: v1alpha1.AnalysisPhaseRunning, Measurements: []v1alpha1.Measurement{
			{Phase: v1alpha1.AnalysisPhaseRunning, StartedAt: at(0), ResumeAt: resumeAt},
		}}
	}
	started := at(0)
	tests := []struct {
		name        string
		rules       rules
		result      *v1alpha1.MetricResult
		startedAt   *metav1.Time
		now         time.Duration
		terminating bool
		want        taskKind
		wantNext    time.Duration // -1: no next time
	}{
		{name: "first measurement at once", rules: every(0, 1), startedAt: started, want: taskStart, wantNext: -1},
		{name: "initial delay not over", rules: rules{count: 1, initialDelay: time.Minute}, startedAt: started, now: 30 * time.Second, wantNext: time.Minute},
		{name: "initial delay over", rules: rules{count: 1, initialDelay: time.Minute}, startedAt: started, now: time.Minute, want: taskStart, wantNext: -1},
		{name: "initial delay before the run started", rules: rules{count: 1, initialDelay: time.Minute}, wantNext: -1},
		{name: "interval not over", rules: every(30*time.Second, 0), result: last(v1alpha1.AnalysisPhaseSuccessful, 10*time.Second, 1), startedAt: started, now: 20 * time.Second, wantNext: 40 * time.Second},
		{name: "interval over, counted from the end of the last", rules: every(30*time.Second, 0), result: last(v1alpha1.AnalysisPhaseSuccessful, 10*time.Second, 1), startedAt: started, now: 40 * time.Second, want: taskStart, wantNext: -1},
		{name: "after an Error the wait is 10s, whatever the interval", rules: every(5*time.Minute, 0), result: last(v1alpha1.AnalysisPhaseError, 0, 0), startedAt: started, now: 9 * time.Second, wantNext: 10 * time.Second},
		{name: "after an Error with no interval", rules: every(0, 1), result: last(v1alpha1.AnalysisPhaseError, 0, 0), startedAt: started, now: 10 * time.Second, want: taskStart, wantNext: -1},
		{name: "count reached", rules: every(time.Second, 3), result: last(v1alpha1.AnalysisPhaseSuccessful, 0, 3), startedAt: started, now: time.Hour, wantNext: -1},
		{name: "completed metric", rules: every(time.Second, 0), result: &v1alpha1.MetricResult{Phase: v1alpha1.AnalysisPhaseFailed}, now: time.Hour, wantNext: -1},
		{name: "terminating starts nothing", rules: every(time.Second, 0), result: last(v1alpha1.AnalysisPhaseSuccessful, 0, 1), startedAt: started, now: time.Hour, terminating: true, wantNext: -1},
		{name: "in flight, resume time not reached", rules: every(time.Second, 0), result: inFlight(at(5 * time.Second)), now: time.Second, wantNext: 5 * time.Second},
		{name: "in flight, resume time reached", rules: every(time.Second, 0), result: inFlight(at(5 * time.Second)), now: 5 * time.Second, want: taskResume, wantNext: -1},
		{name: "in flight without a resume time", rules: every(time.Second, 0), result: inFlight(nil), want: taskResume, wantNext: -1},
		{name: "in flight while terminating is stopped at once", rules: every(time.Second, 0), result: inFlight(at(time.Hour)), terminating: true, want: taskTerminate, wantNext: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, next := due(tt.rules, tt.result, tt.startedAt, t0.Add(tt.now), tt.terminating)
			if kind != tt.want {
				t.Errorf("task %d, want %d", kind, tt.want)
			}
			switch {
			case tt.wantNext < 0 && !next.IsZero():
				t.Errorf("next %v, want none", next.Sub(t0))
			case tt.wantNext >= 0 && !next.Equal(t0.Add(tt.wantNext)):
				t.Errorf("next %v, want %v", next.Sub(t0), tt.wantNext)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	res := &v1alpha1.MetricResult{}
	seq := []v1alpha1.AnalysisPhase{
		v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseError,
		v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseInconclusive,
		v1alpha1.AnalysisPhaseSuccessful,
	}
	for i, p := range seq {
		record(res, v1alpha1.Measurement{Phase: p, Message: string(p), FinishedAt: at(time.Duration(i) * time.Second)}, false)
	}
	// Errors are not counted: count = 3 successful + 1 failed + 1 inconclusive.
	want := v1alpha1.MetricResult{Count: 5, Successful: 3, Failed: 1, Inconclusive: 1, Error: 2, ConsecutiveError: 0, ConsecutiveSuccess: 1, Message: "Successful"}
	got := *res
	got.Measurements = nil
	if got.Count != want.Count || got.Successful != want.Successful || got.Failed != want.Failed || got.Inconclusive != want.Inconclusive ||
		got.Error != want.Error || got.ConsecutiveError != want.ConsecutiveError || got.ConsecutiveSuccess != want.ConsecutiveSuccess || got.Message != want.Message {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if len(res.Measurements) != len(seq) {
		t.Errorf("%d measurements, want %d", len(res.Measurements), len(seq))
	}

	// Consecutive errors and successes.
	res = &v1alpha1.MetricResult{}
	for range 3 {
		record(res, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError, FinishedAt: at(0)}, false)
	}
	if res.ConsecutiveError != 3 || res.Count != 0 {
		t.Errorf("after 3 errors: %+v", res)
	}
	record(res, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseInconclusive, FinishedAt: at(0)}, false)
	if res.ConsecutiveError != 0 {
		t.Errorf("a non-error result resets consecutiveError: %+v", res)
	}

	// An in-flight measurement adds nothing; its end replaces it.
	res = &v1alpha1.MetricResult{}
	record(res, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseRunning, StartedAt: at(0)}, false)
	if len(res.Measurements) != 1 || res.Count != 0 {
		t.Fatalf("in flight: %+v", res)
	}
	record(res, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed, StartedAt: at(0), FinishedAt: at(time.Second)}, true)
	if len(res.Measurements) != 1 || res.Failed != 1 || res.Count != 1 || res.Measurements[0].Phase != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("resumed: %+v", res)
	}
}

func TestTrim(t *testing.T) {
	res := &v1alpha1.MetricResult{}
	for i := range 12 {
		res.Measurements = append(res.Measurements, v1alpha1.Measurement{Value: string(rune('a' + i))})
	}
	trim(res, 10)
	if len(res.Measurements) != 10 || res.Measurements[0].Value != "c" || res.Measurements[9].Value != "l" {
		t.Errorf("kept %v", res.Measurements)
	}
	trim(res, 3)
	if len(res.Measurements) != 3 || res.Measurements[0].Value != "j" {
		t.Errorf("kept %v", res.Measurements)
	}
}

func TestRetentionLimit(t *testing.T) {
	rules := []v1alpha1.MeasurementRetention{{MetricName: "rate", Limit: 3}, {MetricName: "^latency$", Limit: 0}}
	for metric, want := range map[string]int{
		"error-rate": 3, // unanchored
		"latency":    DefaultMeasurementRetention,
		"other":      DefaultMeasurementRetention,
	} {
		if got := retentionLimit(rules, metric); got != want {
			t.Errorf("%s: %d, want %d", metric, got, want)
		}
	}
}

func TestTTLExpiry(t *testing.T) {
	ttl := &v1alpha1.TTLStrategy{SecondsAfterCompletion: ptr.To[int32](60), SecondsAfterFailure: ptr.To[int32](600), SecondsAfterSuccess: ptr.To[int32](5)}
	tests := []struct {
		phase v1alpha1.AnalysisPhase
		ttl   *v1alpha1.TTLStrategy
		want  time.Duration // -1: never
	}{
		{v1alpha1.AnalysisPhaseSuccessful, ttl, 5 * time.Second},
		{v1alpha1.AnalysisPhaseFailed, ttl, 10 * time.Minute},
		{v1alpha1.AnalysisPhaseError, ttl, time.Minute},
		{v1alpha1.AnalysisPhaseInconclusive, ttl, time.Minute},
		{v1alpha1.AnalysisPhaseSuccessful, &v1alpha1.TTLStrategy{SecondsAfterCompletion: ptr.To[int32](7)}, 7 * time.Second},
		{v1alpha1.AnalysisPhaseError, &v1alpha1.TTLStrategy{SecondsAfterSuccess: ptr.To[int32](7)}, -1},
		{v1alpha1.AnalysisPhaseRunning, ttl, -1},
		{v1alpha1.AnalysisPhaseSuccessful, nil, -1},
	}
	for _, tt := range tests {
		run := &v1alpha1.AnalysisRun{Spec: v1alpha1.AnalysisRunSpec{TTLStrategy: tt.ttl}, Status: v1alpha1.AnalysisRunStatus{Phase: tt.phase, CompletedAt: at(0)}}
		got := ttlExpiry(run)
		if (tt.want < 0 && !got.IsZero()) || (tt.want >= 0 && !got.Equal(t0.Add(tt.want))) {
			t.Errorf("%s %+v: %v", tt.phase, tt.ttl, got)
		}
	}
}
