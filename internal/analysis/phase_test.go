package analysis

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }

// finished is a result with n finished measurements and the given counters.
func finished(counters v1alpha1.MetricResult) *v1alpha1.MetricResult {
	r := counters
	r.Phase = v1alpha1.AnalysisPhaseRunning
	r.Measurements = []v1alpha1.Measurement{{Phase: v1alpha1.AnalysisPhaseSuccessful, StartedAt: at(0), FinishedAt: at(time.Second)}}
	return &r
}

func TestRulesOf(t *testing.T) {
	tests := []struct {
		name    string
		metric  v1alpha1.Metric
		want    rules
		wantErr string
	}{
		{name: "defaults: measure once", want: rules{count: 1, consecutiveErrorLimit: 4}},
		{name: "interval without count is unbounded", metric: v1alpha1.Metric{Interval: "30s"}, want: rules{interval: 30 * time.Second, consecutiveErrorLimit: 4}},
		{name: "count 0 with interval is unbounded", metric: v1alpha1.Metric{Interval: "1m", Count: ptr.To(intstr.FromInt32(0))}, want: rules{interval: time.Minute, consecutiveErrorLimit: 4}},
		{name: "count 0 without interval is once", metric: v1alpha1.Metric{Count: ptr.To(intstr.FromInt32(0))}, want: rules{count: 1, consecutiveErrorLimit: 4}},
		{
			name: "every field, strings from args",
			metric: v1alpha1.Metric{
				Interval: "10s", InitialDelay: "1m", Count: ptr.To(intstr.FromString("5")),
				FailureLimit: ptr.To(intstr.FromString("-1")), InconclusiveLimit: ptr.To(intstr.FromInt32(2)),
				ConsecutiveErrorLimit: ptr.To(intstr.FromInt32(0)), ConsecutiveSuccessLimit: ptr.To(intstr.FromInt32(3)),
			},
			want: rules{count: 5, interval: 10 * time.Second, initialDelay: time.Minute, failureLimit: -1, inconclusiveLimit: 2, consecutiveSuccessLimit: 3},
		},
		{name: "bad interval", metric: v1alpha1.Metric{Interval: "often"}, wantErr: `invalid interval string: time: invalid duration "often"`},
		{name: "bad initialDelay", metric: v1alpha1.Metric{InitialDelay: "5"}, wantErr: `invalid startDelay string: time: missing unit in duration "5"`},
		{name: "non-numeric limit", metric: v1alpha1.Metric{FailureLimit: ptr.To(intstr.FromString("three"))}, wantErr: `failureLimit: "three" is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rulesOf(&tt.metric)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAssessMetric(t *testing.T) {
	base := rules{count: 0, interval: time.Minute, consecutiveErrorLimit: 4}
	with := func(f func(*rules)) rules { r := base; f(&r); return r }
	running := &v1alpha1.MetricResult{Phase: v1alpha1.AnalysisPhaseRunning, Measurements: []v1alpha1.Measurement{{Phase: v1alpha1.AnalysisPhaseRunning, StartedAt: at(0)}}}
	tests := []struct {
		name        string
		rules       rules
		result      *v1alpha1.MetricResult
		terminating bool
		want        v1alpha1.AnalysisPhase
		wantWhy     string
	}{
		{name: "no result yet", rules: base, want: v1alpha1.AnalysisPhasePending},
		{name: "no result, terminating", rules: base, terminating: true, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "terminal phase is kept", rules: base, result: &v1alpha1.MetricResult{Phase: v1alpha1.AnalysisPhaseFailed, Measurements: running.Measurements}, want: v1alpha1.AnalysisPhaseFailed},
		{name: "terminal phase keeps the limit that decided it", rules: base, result: &v1alpha1.MetricResult{Phase: v1alpha1.AnalysisPhaseFailed, Failed: 1, Count: 1, Measurements: running.Measurements}, want: v1alpha1.AnalysisPhaseFailed, wantWhy: "failed (1) > failureLimit (0)"},
		{name: "in flight", rules: base, result: running, want: v1alpha1.AnalysisPhaseRunning},
		{name: "in flight while terminating is still running", rules: base, result: running, terminating: true, want: v1alpha1.AnalysisPhaseRunning},
		{name: "one failure within failureLimit 0? no: 1 > 0", rules: base, result: finished(v1alpha1.MetricResult{Failed: 1, Count: 1}), want: v1alpha1.AnalysisPhaseFailed, wantWhy: "failed (1) > failureLimit (0)"},
		{name: "failures within failureLimit 3", rules: with(func(r *rules) { r.failureLimit = 3 }), result: finished(v1alpha1.MetricResult{Failed: 3, Count: 3}), want: v1alpha1.AnalysisPhaseRunning},
		{name: "failureLimit 3 exceeded", rules: with(func(r *rules) { r.failureLimit = 3 }), result: finished(v1alpha1.MetricResult{Failed: 4, Count: 4}), want: v1alpha1.AnalysisPhaseFailed, wantWhy: "failed (4) > failureLimit (3)"},
		{name: "failureLimit -1 never fails", rules: with(func(r *rules) { r.failureLimit = -1; r.consecutiveSuccessLimit = 2 }), result: finished(v1alpha1.MetricResult{Failed: 40, Count: 40}), want: v1alpha1.AnalysisPhaseRunning},
		{name: "inconclusive over limit", rules: base, result: finished(v1alpha1.MetricResult{Inconclusive: 1, Count: 1}), want: v1alpha1.AnalysisPhaseInconclusive, wantWhy: "inconclusive (1) > inconclusiveLimit (0)"},
		{name: "consecutive errors within the default limit of 4", rules: base, result: finished(v1alpha1.MetricResult{Error: 4, ConsecutiveError: 4}), want: v1alpha1.AnalysisPhaseRunning},
		{name: "fifth consecutive error", rules: base, result: finished(v1alpha1.MetricResult{Error: 5, ConsecutiveError: 5}), want: v1alpha1.AnalysisPhaseError, wantWhy: "consecutiveErrors (5) > consecutiveErrorLimit (4)"},
		{name: "error beats inconclusive beats failed", rules: base, result: finished(v1alpha1.MetricResult{Failed: 1, Inconclusive: 1, Count: 2, ConsecutiveError: 5}), want: v1alpha1.AnalysisPhaseError, wantWhy: "consecutiveErrors (5) > consecutiveErrorLimit (4)"},
		{name: "inconclusive beats failed", rules: base, result: finished(v1alpha1.MetricResult{Failed: 1, Inconclusive: 1, Count: 2}), want: v1alpha1.AnalysisPhaseInconclusive, wantWhy: "inconclusive (1) > inconclusiveLimit (0)"},
		{name: "consecutiveSuccessLimit reached", rules: with(func(r *rules) { r.consecutiveSuccessLimit = 3 }), result: finished(v1alpha1.MetricResult{Successful: 3, Count: 3, ConsecutiveSuccess: 3}), want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "consecutiveSuccessLimit not yet", rules: with(func(r *rules) { r.consecutiveSuccessLimit = 3 }), result: finished(v1alpha1.MetricResult{Successful: 3, Count: 4, Failed: 0, Inconclusive: 0, ConsecutiveSuccess: 2}), want: v1alpha1.AnalysisPhaseRunning},
		{name: "count reached, no success limit", rules: with(func(r *rules) { r.count = 3; r.failureLimit = 1 }), result: finished(v1alpha1.MetricResult{Successful: 2, Failed: 1, Count: 3}), want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "count reached with both limits is Inconclusive", rules: with(func(r *rules) { r.count = 5; r.failureLimit = 2; r.consecutiveSuccessLimit = 3 }), result: finished(v1alpha1.MetricResult{Successful: 3, Failed: 2, Count: 5, ConsecutiveSuccess: 1}), want: v1alpha1.AnalysisPhaseInconclusive},
		{name: "count reached, only success limit is Failed", rules: with(func(r *rules) { r.count = 4; r.failureLimit = -1; r.consecutiveSuccessLimit = 3 }), result: finished(v1alpha1.MetricResult{Successful: 2, Failed: 2, Count: 4}), want: v1alpha1.AnalysisPhaseFailed},
		{name: "errors do not count toward count", rules: with(func(r *rules) { r.count = 2 }), result: finished(v1alpha1.MetricResult{Successful: 1, Count: 1, Error: 3}), want: v1alpha1.AnalysisPhaseRunning},
		{name: "unfinished count while terminating is Successful", rules: with(func(r *rules) { r.count = 5 }), result: finished(v1alpha1.MetricResult{Successful: 1, Count: 1}), terminating: true, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "a breach still wins while terminating", rules: base, result: finished(v1alpha1.MetricResult{Failed: 1, Count: 1}), terminating: true, want: v1alpha1.AnalysisPhaseFailed, wantWhy: "failed (1) > failureLimit (0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assessMetric(tt.rules, tt.result, tt.terminating)
			if got.phase != tt.want || got.why != tt.wantWhy {
				t.Errorf("got %q (%q), want %q (%q)", got.phase, got.why, tt.want, tt.wantWhy)
			}
		})
	}
}

func TestAssessRun(t *testing.T) {
	ok := func(name string) metricState {
		return metricState{name: name, phase: v1alpha1.AnalysisPhaseSuccessful}
	}
	tests := []struct {
		name                    string
		metrics                 []metricState
		terminating, terminated bool
		want                    runVerdict
	}{
		{
			name:    "a metric not measured yet keeps it running",
			metrics: []metricState{ok("a"), {name: "b"}},
			want:    runVerdict{phase: v1alpha1.AnalysisPhaseRunning, summary: v1alpha1.RunSummary{Count: 2, Successful: 1}},
		},
		{
			name:    "all successful",
			metrics: []metricState{ok("a"), ok("b")},
			want:    runVerdict{phase: v1alpha1.AnalysisPhaseSuccessful, summary: v1alpha1.RunSummary{Count: 2, Successful: 2}},
		},
		{
			name: "worst metric decides, with its reason and last message",
			metrics: []metricState{
				ok("a"),
				{name: "b", phase: v1alpha1.AnalysisPhaseInconclusive, why: "inconclusive (1) > inconclusiveLimit (0)"},
				{name: "c", phase: v1alpha1.AnalysisPhaseFailed, why: "failed (2) > failureLimit (1)", message: "boom"},
			},
			terminating: true,
			want: runVerdict{
				phase:   v1alpha1.AnalysisPhaseFailed,
				message: `Metric "c" assessed Failed due to failed (2) > failureLimit (1): "Error Message: boom"`,
				summary: v1alpha1.RunSummary{Count: 3, Successful: 1, Inconclusive: 1, Failed: 1},
			},
		},
		{
			name:    "dry-run metrics never decide the run",
			metrics: []metricState{ok("a"), {name: "b", dryRun: true, phase: v1alpha1.AnalysisPhaseFailed, why: "failed (1) > failureLimit (0)"}},
			want: runVerdict{
				phase:         v1alpha1.AnalysisPhaseSuccessful,
				summary:       v1alpha1.RunSummary{Count: 1, Successful: 1},
				dryRunSummary: v1alpha1.RunSummary{Count: 1, Failed: 1},
			},
		},
		{
			name:    "only dry-run metrics: Successful when they end",
			metrics: []metricState{{name: "a", dryRun: true, phase: v1alpha1.AnalysisPhaseError, why: "x"}},
			want:    runVerdict{phase: v1alpha1.AnalysisPhaseSuccessful, dryRunSummary: v1alpha1.RunSummary{Count: 1, Error: 1}},
		},
		{
			name:        "terminated before any measurement",
			metrics:     []metricState{{name: "a"}},
			terminating: true, terminated: true,
			want: runVerdict{phase: v1alpha1.AnalysisPhaseSuccessful, message: "Run Terminated", summary: v1alpha1.RunSummary{Count: 1}},
		},
		{
			name:        "terminated: a breach explains more than the termination",
			metrics:     []metricState{{name: "a", phase: v1alpha1.AnalysisPhaseFailed, why: "failed (1) > failureLimit (0)"}},
			terminating: true, terminated: true,
			want: runVerdict{phase: v1alpha1.AnalysisPhaseFailed, message: `Metric "a" assessed Failed due to failed (1) > failureLimit (0)`, summary: v1alpha1.RunSummary{Count: 1, Failed: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assessRun(tt.metrics, tt.terminating, tt.terminated)
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestWorse(t *testing.T) {
	order := []v1alpha1.AnalysisPhase{
		v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhasePending,
		v1alpha1.AnalysisPhaseInconclusive, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseFailed,
	}
	for i := range order {
		for j := range order {
			if got := Worse(order[i], order[j]); got != (i > j) {
				t.Errorf("Worse(%s, %s) = %v", order[i], order[j], got)
			}
		}
	}
}

func TestRunsIndefinitely(t *testing.T) {
	for _, tt := range []struct {
		metric v1alpha1.Metric
		want   bool
	}{
		{v1alpha1.Metric{}, false},
		{v1alpha1.Metric{Count: ptr.To(intstr.FromInt32(3))}, false},
		{v1alpha1.Metric{Interval: "1m"}, true},
		{v1alpha1.Metric{Interval: "1m", Count: ptr.To(intstr.FromInt32(0))}, true},
		{v1alpha1.Metric{Interval: "1m", Count: ptr.To(intstr.FromString("0"))}, true},
		{v1alpha1.Metric{Interval: "1m", Count: ptr.To(intstr.FromInt32(5))}, false},
		{v1alpha1.Metric{Interval: "1m", Count: ptr.To(intstr.FromString("{{args.count}}"))}, false},
	} {
		if got := RunsIndefinitely(&tt.metric); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt.metric, got, tt.want)
		}
	}
}
