// Package rolloutexperiment decides how a canary Rollout uses the
// Experiment of an `experiment` step: when the step's Experiment is
// created, kept, terminated or replaced, what its outcome means for the
// Rollout (wait, complete the step, abort, or pause for a person), which
// weights its templates take with a traffic router, and which of the
// Rollout's other Experiments to terminate or delete by the history limits.
//
// It is pure: the rollout reconciler gathers the Experiments and the
// Rollout's state, asks here, and acts.
//
// The step's state is read from the API objects, never from a flag of its
// own. status.canary.currentExperiment names the step's Experiment while
// its outcome has not been applied:
//
//	nothing recorded, step due   -> create the Experiment, record it
//	recorded, not ended          -> wait
//	recorded, Successful         -> the step completes (the record goes
//	                                with the step)
//	recorded, Failed or Error    -> abort the update; forget it
//	recorded, Inconclusive       -> pause (InconclusiveExperiment); forget it
//	nothing recorded, paused     -> wait for a person (nothing is created
//	                                while any pause condition is present)
//	nothing recorded, the person
//	  cleared the pause          -> a fresh Experiment (<name>-1, ...)
//
// An Experiment belongs to one revision and one step: its name is the
// step's base name, <rollout>-<hash>-<revision>-<step>, or that name with
// a -N suffix. A recorded Experiment of another revision or step is
// terminated and forgotten, so a promote past the step, an abort, a full
// promotion or a new revision always ends it.
package rolloutexperiment

import (
	"strconv"
	"strings"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/experiment"
)

// Input is the experiment step as one pass observed it.
type Input struct {
	// Configured: the current step is an experiment step with templates.
	Configured bool
	// Base is the name of the current step's first Experiment for this
	// revision (experiment.StepExperimentName).
	Base string
	// Due: the step may start its Experiment now: the Rollout is not
	// paused (no pause condition, spec.paused unset), not aborted, and has
	// a stable ReplicaSet to copy.
	Due bool
	// CancelAll ends the step's Experiment whatever its state: the update
	// is fully promoted, aborted, being promoted in full, a rollback
	// within rollbackWindow, or the first deploy.
	CancelAll bool
	// Recorded is status.canary.currentExperiment as read; Current the
	// Experiment it names (nil when there is none).
	Recorded string
	Current  *v1alpha1.Experiment
	// Resumed: status.controllerPause is set with no pause condition left,
	// i.e. a person cleared the pause an Inconclusive Experiment caused.
	Resumed bool
}

// Decision is what to do with the step's Experiment this pass.
type Decision struct {
	// Verdict is the step's gate: Waiting (nothing yet, or running),
	// Passed, Abort or Hold. Gating is false when the step does not wait
	// on an Experiment (not an experiment step, or cancelled).
	Verdict experiment.Verdict
	Gating  bool
	// Create the step's Experiment (then record it).
	Create bool
	// Terminate names an Experiment to stop ("" for none).
	Terminate string
	// Record is status.canary.currentExperiment to write.
	Record string
	// AbortMessage is the RolloutAborted message of an Abort verdict.
	AbortMessage string
	// SpendResume: the Experiment created replaces the one whose
	// Inconclusive result a person resumed; status.controllerPause is
	// cleared so that the same promote does not also end a later pause.
	SpendResume bool
}

// Decide runs the experiment step's state machine for one pass.
func Decide(in Input) Decision {
	var d Decision
	current := in.Current
	if in.Recorded == "" || current == nil || current.Name != in.Recorded {
		current = nil
	}
	if current != nil && !OfStep(current.Name, in.Base) {
		// Another revision's or step's Experiment: end it and forget it.
		d.Terminate = terminable(current)
		current = nil
	}
	if in.CancelAll || !in.Configured {
		if current != nil {
			d.Terminate = terminable(current)
		}
		return d
	}
	d.Gating = true
	if current == nil {
		d.Verdict = experiment.Waiting
		d.Create = in.Due
		d.SpendResume = d.Create && in.Resumed
		return d
	}
	d.Verdict = experiment.StepVerdict(current)
	switch d.Verdict {
	case experiment.Waiting, experiment.Passed:
		// A Successful Experiment stays recorded until its step completes
		// (a manual pause may hold the step): it is never run twice.
		d.Record = current.Name
	case experiment.Abort:
		d.AbortMessage = experiment.AbortMessage(current)
	}
	return d
}

// OfStep reports whether an Experiment named name is one of a step's
// Experiments: the base name, or the base name with a -N suffix.
func OfStep(name, base string) bool {
	if name == base {
		return true
	}
	rest, ok := strings.CutPrefix(name, base+"-")
	if !ok {
		return false
	}
	n, err := strconv.Atoi(rest)
	return err == nil && n > 0 && strconv.Itoa(n) == rest
}

// terminable is the Experiment's name if it has not ended and was not
// told to, "" otherwise.
func terminable(ex *v1alpha1.Experiment) string {
	if ex.Spec.Terminate || ex.Status.Phase.Completed() {
		return ""
	}
	return ex.Name
}

// Destinations are the weights of a step's Experiment for the traffic
// routers (status.canary.weights.additional): one per template with a
// weight, carrying the Service and pod-template hash the Experiment
// recorded for it, and only while the Experiment is Running. A template
// whose Service is not recorded yet gets no weight.
func Destinations(step *v1alpha1.RolloutExperimentStep, ex *v1alpha1.Experiment) []v1alpha1.WeightDestination {
	if step == nil || ex == nil || ex.Status.Phase != v1alpha1.AnalysisPhaseRunning {
		return nil
	}
	var out []v1alpha1.WeightDestination
	for _, t := range step.Templates {
		if t.Weight == nil {
			continue
		}
		ts := experiment.TemplateStatus(&ex.Status, t.Name)
		if ts == nil || ts.ServiceName == "" {
			continue
		}
		out = append(out, v1alpha1.WeightDestination{Weight: *t.Weight, ServiceName: ts.ServiceName, PodTemplateHash: ts.PodTemplateHash})
	}
	return out
}

// CreatedMessage is the note of the ExperimentCreated event.
func CreatedMessage(name string) string {
	return "Created Experiment '" + name + "'"
}
