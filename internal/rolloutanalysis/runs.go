// Package rolloutanalysis decides how a Rollout uses AnalysisRuns: which run
// each analysis source (a canary step, background analysis, blue-green
// pre- and post-promotion analysis) must have, when a run is created,
// terminated or replaced, and what its result means for the Rollout
// (wait, go on, abort, or pause for a person). It also names and labels the
// runs, and picks the runs to terminate or delete by the history limits.
//
// It is pure: the rollout reconciler gathers the runs and the Rollout's
// state, asks here, and acts.
//
// Each source is a small state machine whose state is read from the API
// objects, never from a flag of its own:
//
//	no run      -> the source is due: create a run
//	running     -> wait (the run's phase is "", Pending or Running)
//	Successful  -> go on
//	Failed/Error-> abort the update
//	Inconclusive, first seen -> pause (InconclusiveAnalysisRun)
//	Inconclusive, pause present -> wait for a person
//	Inconclusive, pause cleared by a person -> resumed: create a new run
//
// A run belongs to one revision (its pod-template hash) and, for a step
// run, to one step index: a run of another revision or step is never the
// current one, so a promote past a step or a new revision always ends it.
package rolloutanalysis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Kind is where a run comes from; its value is the rollout-type label.
type Kind string

// Kinds of runs, with the reference's label values.
const (
	Step          Kind = "Step"
	Background    Kind = "Background"
	PrePromotion  Kind = "PrePromotion"
	PostPromotion Kind = "PostPromotion"
)

// Labels and annotations a Rollout puts on its runs.
const (
	// TypeLabel holds the Kind.
	TypeLabel = "rollout-type"
	// StepIndexLabel holds the canary step index of a step run.
	StepIndexLabel = "step-index"
)

// BaseName is the name of a source's first run for a revision:
// <rollout>-<hash>-<revision>-<step> for a step, -pre and -post for
// blue-green, and <rollout>-<hash>-<revision> for background analysis.
func BaseName(rollout, hash, revision string, kind Kind, step int32) string {
	base := rollout + "-" + hash + "-" + revision
	switch kind {
	case Step:
		return base + "-" + strconv.Itoa(int(step))
	case PrePromotion:
		return base + "-pre"
	case PostPromotion:
		return base + "-post"
	}
	return base
}

// Candidate is the n-th name tried for a run: the base name, then
// <base>.1, <base>.2, ... when the name is taken by a run that cannot be
// reused.
func Candidate(base string, n int) string {
	if n == 0 {
		return base
	}
	return base + "." + strconv.Itoa(n)
}

// LabelInput is what a run's labels are made of.
type LabelInput struct {
	Kind Kind
	Hash string
	// Step is the step index of a step run.
	Step int32
	// Metadata are the analysis's analysisRunMetadata labels; Selector
	// the Rollout's spec.selector.matchLabels.
	Metadata, Selector map[string]string
}

// Labels are a run's labels, in the reference's order of precedence: the
// pod-template hash, the kind and step index, then analysisRunMetadata,
// then the selector's matchLabels (the instance-id label is added by the
// caller).
func Labels(in LabelInput) map[string]string {
	out := map[string]string{
		v1alpha1.DefaultRolloutUniqueLabelKey: in.Hash,
		TypeLabel:                             string(in.Kind),
	}
	if in.Kind == Step {
		out[StepIndexLabel] = strconv.Itoa(int(in.Step))
	}
	for k, v := range in.Metadata {
		out[k] = v
	}
	for k, v := range in.Selector {
		out[k] = v
	}
	return out
}

// StepIndexOf reads a run's step-index label; ok is false without one.
func StepIndexOf(labels map[string]string) (int32, bool) {
	v, ok := labels[StepIndexLabel]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

// Run is what the decisions read from one AnalysisRun.
type Run struct {
	Name    string
	Phase   v1alpha1.AnalysisPhase
	Message string
	// Hash is the run's rollouts-pod-template-hash label.
	Hash string
	// StepIndex is the step-index label, nil without one.
	StepIndex *int32
	// Terminating is spec.terminate.
	Terminating bool
}

// Source is one analysis of the Rollout, as the pass observed it.
type Source struct {
	Kind Kind
	// Configured: the spec asks for this analysis now (for a step: the
	// current step is an analysis step with templates).
	Configured bool
	// Due: the moment to start a run has come (the step is current and
	// nothing pauses the Rollout; the update is past startingStep; the
	// preview is saturated; the active Service was switched). Due is only
	// read to create a run: once started, a run is never ended because its
	// start conditions stop holding (argo-rollouts#4604).
	Due bool
	// Cancel ends a started run: its source no longer applies (the active
	// Service was switched before a pre-promotion run finished, or back
	// before a post-promotion one did).
	Cancel bool
	// Hash is the current revision's pod-template hash; Step the current
	// step index.
	Hash string
	Step int32
	// Recorded is the Rollout's status field for this source, as read.
	Recorded *v1alpha1.RolloutAnalysisRunStatus
	// Current is the run Recorded names, nil when there is none.
	Current *Run
}

// Rollout is the state every source shares.
type Rollout struct {
	// CancelAll ends every run: the update is fully promoted, aborted,
	// being promoted in full, a rollback within rollbackWindow or a fast
	// rollback, or the first deploy.
	CancelAll bool
	// Retry: a person retried an aborted update (status.abort cleared,
	// status.abortedAt still set). Every source starts over with a fresh
	// run.
	Retry bool
	// InconclusivePause: the InconclusiveAnalysisRun pause condition is
	// present. While it is, no run is created.
	InconclusivePause bool
}

// Verdict is what a source's run means for the Rollout this pass.
type Verdict int

// Verdicts.
const (
	// None: this source does not gate the Rollout now.
	None Verdict = iota
	// Pending: the source gates the Rollout and has no result yet (its
	// run is to be created, or is running).
	Pending
	// Passed: the run is Successful.
	Passed
	// Abort: the run is Failed or Error; the update aborts.
	Abort
	// Inconclusive: the run is Inconclusive; the Rollout pauses for a
	// person.
	Inconclusive
)

func (v Verdict) String() string {
	switch v {
	case Pending:
		return "Pending"
	case Passed:
		return "Passed"
	case Abort:
		return "Abort"
	case Inconclusive:
		return "Inconclusive"
	}
	return "None"
}

// Decision is what to do for one source.
type Decision struct {
	Verdict Verdict
	// Create a run (then record it in Status).
	Create bool
	// Terminate names a running run to stop ("" for none).
	Terminate string
	// Status is the status field to write; nil clears it. When Create is
	// set, the caller records the new run instead.
	Status *v1alpha1.RolloutAnalysisRunStatus
	// AbortMessage is the RolloutAborted message of an Abort verdict.
	AbortMessage string
	// Resumed: a person cleared the inconclusive pause; a new run replaces
	// the inconclusive one.
	Resumed bool
}

// Decide runs one source's state machine for one pass.
func Decide(src Source, ro Rollout) Decision {
	var d Decision
	recorded, current := src.Recorded, src.Current
	if recorded == nil || current == nil || current.Name != recorded.Name {
		current = nil
	}
	if current != nil && !belongs(src, current) {
		// A run of another revision or step: end it and forget it.
		d.Terminate = terminable(current)
		current, recorded = nil, nil
	}
	if ro.CancelAll || src.Cancel || !src.Configured {
		if current != nil {
			d.Terminate = terminable(current)
			if keepsStatusOnCancel(src.Kind) {
				d.Status = statusOf(current)
			}
		}
		return d
	}
	if ro.Retry && current != nil {
		d.Terminate = terminable(current)
		current, recorded = nil, nil
	}
	if current == nil {
		d.Verdict = Pending
		d.Create = src.Due && !ro.InconclusivePause
		return d
	}
	d.Status = statusOf(current)
	switch current.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		d.Verdict = Passed
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		d.Verdict = Abort
		d.AbortMessage = AbortMessage(src.Kind, current.Phase, current.Message)
	case v1alpha1.AnalysisPhaseInconclusive:
		if recorded.Status == v1alpha1.AnalysisPhaseInconclusive && !ro.InconclusivePause {
			// The pause this result caused is gone: a person resumed.
			d.Verdict, d.Create, d.Resumed = Pending, true, true
			return d
		}
		d.Verdict = Inconclusive
	default:
		d.Verdict = Pending
	}
	return d
}

// belongs reports whether run is of the source's current revision (and
// step).
func belongs(src Source, run *Run) bool {
	if run.Hash != src.Hash {
		return false
	}
	if src.Kind == Step {
		return run.StepIndex != nil && *run.StepIndex == src.Step
	}
	return true
}

// keepsStatusOnCancel: blue-green keeps its pre- and post-promotion
// statuses when their runs are cancelled (they show what the promotion was
// based on); a canary drops its step and background statuses.
func keepsStatusOnCancel(k Kind) bool { return k == PrePromotion || k == PostPromotion }

// terminable is the run's name if it still measures, "" otherwise.
func terminable(run *Run) string {
	if run.Phase.Completed() || run.Terminating {
		return ""
	}
	return run.Name
}

func statusOf(run *Run) *v1alpha1.RolloutAnalysisRunStatus {
	return &v1alpha1.RolloutAnalysisRunStatus{Name: run.Name, Status: run.Phase, Message: run.Message}
}

// abortPrefixes are the reference's RolloutAborted messages, per kind.
var abortPrefixes = map[Kind]string{
	Step:          "Step-based analysis phase",
	Background:    "Background analysis phase",
	PrePromotion:  "Blue/green pre-promotion analysis phase",
	PostPromotion: "Blue/green post-promotion analysis phase",
}

// AbortMessage is why a Failed or Error run aborts the update:
// "<kind> analysis phase error|failed[: <run message>]".
func AbortMessage(k Kind, phase v1alpha1.AnalysisPhase, runMessage string) string {
	msg := abortPrefixes[k] + " " + strings.ToLower(string(phase))
	if runMessage != "" {
		msg += ": " + runMessage
	}
	return msg
}

// Event is an event to record on the Rollout.
type Event struct {
	Warning         bool
	Reason, Message string
}

// StatusEvent is the event announcing that a source's run changed phase
// (reason AnalysisRun<Phase>), or false when nothing changed. A run not
// yet reconciled (phase "") is not announced.
func StatusEvent(k Kind, prev, next *v1alpha1.RolloutAnalysisRunStatus) (Event, bool) {
	if next == nil || next.Status == "" {
		return Event{}, false
	}
	previous := "NoPreviousStatus"
	if prev != nil && prev.Name == next.Name {
		if prev.Status == next.Status {
			return Event{}, false
		}
		if prev.Status != "" {
			previous = string(prev.Status)
		}
	}
	return Event{
		Warning: next.Status == v1alpha1.AnalysisPhaseFailed || next.Status == v1alpha1.AnalysisPhaseError,
		Reason:  "AnalysisRun" + string(next.Status),
		Message: fmt.Sprintf("%s Analysis Run '%s' Status New: '%s' Previous: '%s'", k, next.Name, next.Status, previous),
	}, true
}
