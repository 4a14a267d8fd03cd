package analysis

import (
	"fmt"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// severity orders phases from best to worst, for every "worst of" decision:
// Successful < Running < Pending < Inconclusive < Error < Failed.
var severity = map[v1alpha1.AnalysisPhase]int{
	v1alpha1.AnalysisPhaseSuccessful:   0,
	v1alpha1.AnalysisPhaseRunning:      1,
	v1alpha1.AnalysisPhasePending:      2,
	v1alpha1.AnalysisPhaseInconclusive: 3,
	v1alpha1.AnalysisPhaseError:        4,
	v1alpha1.AnalysisPhaseFailed:       5,
}

// Worse reports whether phase a is worse than b.
func Worse(a, b v1alpha1.AnalysisPhase) bool { return severity[a] > severity[b] }

// metricVerdict is the assessed phase of one metric and, when a limit
// decided it, why.
type metricVerdict struct {
	phase v1alpha1.AnalysisPhase
	why   string
}

// assessMetric decides a metric's phase from its counters (first rule that
// matches wins; among the limit checks a later one overrides an earlier).
func assessMetric(r rules, res *v1alpha1.MetricResult, terminating bool) metricVerdict {
	if res != nil && res.Phase.Completed() {
		// Decided earlier: keep the phase, and the limit that decided it.
		if b := limitBreach(r, res); b.phase == res.Phase {
			return b
		}
		return metricVerdict{phase: res.Phase}
	}
	if res == nil || len(res.Measurements) == 0 {
		if terminating {
			return metricVerdict{phase: v1alpha1.AnalysisPhaseSuccessful}
		}
		return metricVerdict{phase: v1alpha1.AnalysisPhasePending}
	}
	if last := res.Measurements[len(res.Measurements)-1]; last.FinishedAt == nil {
		return metricVerdict{phase: v1alpha1.AnalysisPhaseRunning}
	}
	if b := limitBreach(r, res); b.phase != "" {
		return b
	}
	if r.consecutiveSuccessLimit > 0 && res.ConsecutiveSuccess >= r.consecutiveSuccessLimit {
		return metricVerdict{phase: v1alpha1.AnalysisPhaseSuccessful}
	}
	if r.count > 0 && res.Count >= r.count {
		switch {
		case r.failureLimit >= 0 && r.consecutiveSuccessLimit > 0:
			// Neither limit was reached within count measurements.
			return metricVerdict{phase: v1alpha1.AnalysisPhaseInconclusive}
		case r.failureLimit < 0 && r.consecutiveSuccessLimit > 0:
			// Only a run of successes could pass it, and none came.
			return metricVerdict{phase: v1alpha1.AnalysisPhaseFailed}
		}
		return metricVerdict{phase: v1alpha1.AnalysisPhaseSuccessful}
	}
	if terminating {
		return metricVerdict{phase: v1alpha1.AnalysisPhaseSuccessful}
	}
	return metricVerdict{phase: v1alpha1.AnalysisPhaseRunning}
}

// limitBreach checks the limits in order, a later breach overriding an
// earlier one: Error beats Inconclusive, which beats Failed.
func limitBreach(r rules, res *v1alpha1.MetricResult) metricVerdict {
	var v metricVerdict
	if r.failureLimit >= 0 && res.Failed > r.failureLimit {
		v = metricVerdict{v1alpha1.AnalysisPhaseFailed, fmt.Sprintf("failed (%d) > failureLimit (%d)", res.Failed, r.failureLimit)}
	}
	if res.Inconclusive > r.inconclusiveLimit {
		v = metricVerdict{v1alpha1.AnalysisPhaseInconclusive, fmt.Sprintf("inconclusive (%d) > inconclusiveLimit (%d)", res.Inconclusive, r.inconclusiveLimit)}
	}
	if res.ConsecutiveError > r.consecutiveErrorLimit {
		v = metricVerdict{v1alpha1.AnalysisPhaseError, fmt.Sprintf("consecutiveErrors (%d) > consecutiveErrorLimit (%d)", res.ConsecutiveError, r.consecutiveErrorLimit)}
	}
	return v
}

// runVerdict is the assessed state of a run.
type runVerdict struct {
	phase         v1alpha1.AnalysisPhase
	message       string
	summary       v1alpha1.RunSummary
	dryRunSummary v1alpha1.RunSummary
}

// metricState is what assessRun needs of one metric.
type metricState struct {
	name   string
	dryRun bool
	// phase is the metric's assessed phase ("" with no result yet), why
	// the limit that decided it and message the metric result's message.
	phase        v1alpha1.AnalysisPhase
	why, message string
}

// assessRun decides the run's phase: Running while a metric is
// undecided, otherwise the worst non-dry-run metric (Successful if all are
// dry-run). While terminating, undecided metrics no longer hold the run.
func assessRun(metrics []metricState, terminating, terminatedByUser bool) runVerdict {
	v := runVerdict{phase: v1alpha1.AnalysisPhaseSuccessful}
	allDone := true
	var worst *metricState
	for i := range metrics {
		m := &metrics[i]
		summary := &v.summary
		if m.dryRun {
			summary = &v.dryRunSummary
		}
		summary.Count++
		if !m.phase.Completed() {
			allDone = false
			continue
		}
		switch m.phase {
		case v1alpha1.AnalysisPhaseSuccessful:
			summary.Successful++
		case v1alpha1.AnalysisPhaseFailed:
			summary.Failed++
		case v1alpha1.AnalysisPhaseInconclusive:
			summary.Inconclusive++
		case v1alpha1.AnalysisPhaseError:
			summary.Error++
		}
		if !m.dryRun && (worst == nil || Worse(m.phase, worst.phase)) {
			worst = m
		}
	}
	if !allDone && !terminating {
		v.phase = v1alpha1.AnalysisPhaseRunning
		return v
	}
	if terminatedByUser {
		v.message = "Run Terminated"
	}
	if worst != nil {
		v.phase = worst.phase
		// A limit that decided the worst metric explains the run; its
		// last measurement's message tells what went wrong.
		if worst.why != "" {
			v.message = fmt.Sprintf("Metric %q assessed %s due to %s", worst.name, worst.phase, worst.why)
			if worst.message != "" {
				v.message += fmt.Sprintf(": \"Error Message: %s\"", worst.message)
			}
		}
	}
	return v
}

// dryRunMessage is the message a decided dry-run metric carries, since it
// never reaches the run's message.
func dryRunMessage(phase v1alpha1.AnalysisPhase, why string) string {
	if why == "" {
		return ""
	}
	return fmt.Sprintf("Metric assessed %s due to %s", phase, why)
}
