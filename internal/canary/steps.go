// Package canary holds the canary strategy's pure decisions: the step
// machine here, and the basic canary's replica arithmetic in ./replicas.
package canary

import (
	"time"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// StepState is what the step machine reads.
type StepState struct {
	Steps []v1alpha1.CanaryStep
	// Index is status.currentStepIndex.
	Index int32
	// PauseStart is the CanaryPauseStep pause condition's start, if present.
	PauseStart *time.Time
	// ControllerPause is status.controllerPause: with no pause condition it
	// means a client promoted (cleared the conditions).
	ControllerPause bool
	// WeightReached says the current step has taken effect: for setWeight
	// the replica counts have reached its target (replicas.StepComplete)
	// and, with a traffic router, the routers carry its weight; with a
	// router, for setCanaryScale the counts are reached
	// (trafficrouting.StepComplete), and for setHeaderRoute and
	// setMirrorRoute the routers wrote the route this pass.
	WeightReached bool
	// TrafficRouted: the canary has a traffic router, so setCanaryScale
	// and the header and mirror route steps wait for WeightReached.
	TrafficRouted bool
	Now           time.Time
	// AnalysisPassed says the current analysis step's AnalysisRun is
	// Successful (internal/rolloutanalysis).
	AnalysisPassed bool
	// ExperimentPassed says the current experiment step's Experiment is
	// Successful (internal/rolloutexperiment).
	ExperimentPassed bool
	// Held: an analysis or an Experiment ended Inconclusive and a person
	// has not decided yet (the InconclusiveAnalysisRun or
	// InconclusiveExperiment pause): no step moves.
	Held bool
}

// StepDecision is the step machine's verdict for one pass.
type StepDecision struct {
	// Index is the new status.currentStepIndex.
	Index int32
	// AddPause adds a CanaryPauseStep condition; ClearPause removes it and
	// controllerPause.
	AddPause, ClearPause bool
	// Completed is set when the step at the old index finished.
	Completed bool
	// RequeueAfter is when a timed pause ends.
	RequeueAfter time.Duration
}

// Advance moves through at most one step: a setWeight step completes when
// its weight is reached (with a router, so do setCanaryScale, setHeaderRoute
// and setMirrorRoute when they have taken effect); a pause step pauses, then
// completes when its duration has passed or a client promotes; an analysis
// step completes when its run is Successful, an experiment step when its
// Experiment is.
func Advance(s StepState) StepDecision {
	d := StepDecision{Index: s.Index}
	if int(s.Index) >= len(s.Steps) || s.Held {
		return d
	}
	step := s.Steps[s.Index]
	switch {
	case step.SetWeight != nil, s.TrafficRouted && (step.SetCanaryScale != nil || step.SetHeaderRoute != nil || step.SetMirrorRoute != nil):
		if s.WeightReached {
			d.Index++
			d.Completed = true
		}
	case step.Pause != nil:
		switch {
		case s.PauseStart == nil && s.ControllerPause:
			// A client promoted by clearing the pause conditions.
			d.ClearPause, d.Index, d.Completed = true, s.Index+1, true
		case s.PauseStart == nil:
			d.AddPause = true
			if !step.Pause.IsIndefinite() {
				d.RequeueAfter = step.Pause.DurationOrZero()
			}
			if !step.Pause.IsIndefinite() && step.Pause.DurationOrZero() == 0 {
				d.AddPause, d.Index, d.Completed = false, s.Index+1, true
			}
		case !step.Pause.IsIndefinite():
			if left := s.PauseStart.Add(step.Pause.DurationOrZero()).Sub(s.Now); left > 0 {
				d.RequeueAfter = left
			} else {
				d.ClearPause, d.Index, d.Completed = true, s.Index+1, true
			}
		}
	case step.Analysis != nil && len(step.Analysis.Templates) > 0:
		// Completes only on a Successful run; a failed one aborts the
		// update elsewhere, and a promote moves the index past it.
		if s.AnalysisPassed {
			d.Index++
			d.Completed = true
		}
	case step.Experiment != nil && len(step.Experiment.Templates) > 0:
		// Completes only on a Successful Experiment; a failed one aborts
		// the update elsewhere, and a promote moves the index past it.
		if s.ExperimentPassed {
			d.Index++
			d.Completed = true
		}
	default:
		// An analysis step without templates is no analysis (as in the
		// reference), and an experiment step without templates runs
		// nothing. Validation refuses the other step kinds
		// (setCanaryScale and the route steps need a traffic router, as in
		// Argo); nothing to wait for.
		d.Index++
		d.Completed = true
	}
	return d
}
