package analysis

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// taskKind is what to do with a metric in this pass.
type taskKind int

const (
	// taskStart takes a new measurement.
	taskStart taskKind = iota + 1
	// taskResume continues an in-flight measurement.
	taskResume
	// taskTerminate stops an in-flight measurement because the run ends.
	taskTerminate
)

// due says what a metric needs now, if anything, and otherwise when it
// next needs something (zero when never: the metric is decided or waits
// for nothing the clock brings).
func due(r rules, res *v1alpha1.MetricResult, startedAt *metav1.Time, now time.Time, terminating bool) (taskKind, time.Time) {
	if res != nil && res.Phase.Completed() {
		return 0, time.Time{}
	}
	var last *v1alpha1.Measurement
	if res != nil && len(res.Measurements) > 0 {
		last = &res.Measurements[len(res.Measurements)-1]
	}
	if last != nil && last.FinishedAt == nil {
		switch {
		case terminating:
			return taskTerminate, time.Time{}
		case last.ResumeAt == nil || !now.Before(last.ResumeAt.Time):
			return taskResume, time.Time{}
		}
		return 0, last.ResumeAt.Time
	}
	if terminating {
		return 0, time.Time{}
	}
	if last == nil {
		if r.initialDelay > 0 {
			if startedAt == nil {
				return 0, time.Time{}
			}
			if at := startedAt.Add(r.initialDelay); now.Before(at) {
				return 0, at
			}
		}
		return taskStart, time.Time{}
	}
	if r.count > 0 && res.Count >= r.count {
		return 0, time.Time{}
	}
	wait := r.interval
	if last.Phase == v1alpha1.AnalysisPhaseError {
		wait = ErrorRetryInterval
	}
	if at := last.FinishedAt.Add(wait); now.Before(at) {
		return 0, at
	}
	return taskStart, time.Time{}
}

// record folds a finished or in-flight measurement into the metric's
// result: an in-flight one replaces the last measurement, and a finished
// one updates the counters.
func record(res *v1alpha1.MetricResult, m v1alpha1.Measurement, replacesLast bool) {
	if replacesLast && len(res.Measurements) > 0 {
		res.Measurements[len(res.Measurements)-1] = m
	} else {
		res.Measurements = append(res.Measurements, m)
	}
	if m.FinishedAt == nil {
		return
	}
	res.Message = m.Message
	switch m.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		res.Successful++
		res.Count++
		res.ConsecutiveError = 0
		res.ConsecutiveSuccess++
	case v1alpha1.AnalysisPhaseFailed:
		res.Failed++
		res.Count++
		res.ConsecutiveError = 0
		res.ConsecutiveSuccess = 0
	case v1alpha1.AnalysisPhaseInconclusive:
		res.Inconclusive++
		res.Count++
		res.ConsecutiveError = 0
		res.ConsecutiveSuccess = 0
	case v1alpha1.AnalysisPhaseError:
		res.Error++
		res.ConsecutiveError++
		res.ConsecutiveSuccess = 0
	}
}

// trim keeps the newest keep measurements.
func trim(res *v1alpha1.MetricResult, keep int) {
	if keep > 0 && len(res.Measurements) > keep {
		res.Measurements = append([]v1alpha1.Measurement(nil), res.Measurements[len(res.Measurements)-keep:]...)
	}
}

// earliest returns the earlier non-zero time.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

// ttlExpiry is when a completed run is to be deleted, or zero.
func ttlExpiry(run *v1alpha1.AnalysisRun) time.Time {
	ttl := run.Spec.TTLStrategy
	if ttl == nil || run.Status.CompletedAt == nil || !run.Status.Phase.Completed() {
		return time.Time{}
	}
	secs := ttl.SecondsAfterCompletion
	switch {
	case run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful && ttl.SecondsAfterSuccess != nil:
		secs = ttl.SecondsAfterSuccess
	case run.Status.Phase == v1alpha1.AnalysisPhaseFailed && ttl.SecondsAfterFailure != nil:
		secs = ttl.SecondsAfterFailure
	}
	if secs == nil {
		return time.Time{}
	}
	return run.Status.CompletedAt.Add(time.Duration(*secs) * time.Second)
}
