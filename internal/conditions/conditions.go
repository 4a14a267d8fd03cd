// Package conditions computes a Rollout's status conditions (Progressing,
// Paused, Healthy, Completed, Available, ReplicaFailure) and the events that
// announce their transitions, by the rules of the reference controller, so
// that Argo CD, `kubectl wait --for=condition=...`, notification triggers and
// people reading `kubectl describe` see what they saw with Argo Rollouts.
//
// It is pure: the reconciler passes what it observed and decided this pass,
// and gets back the conditions to write and the events to record.
package conditions

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Condition messages, as the reference writes them.
const (
	MsgPaused             = "Rollout is paused"
	MsgResumed            = "Rollout is resumed"
	MsgRetry              = "Retrying Rollout after abort"
	MsgHealthy            = "Rollout is healthy"
	MsgNotHealthy         = "Rollout is not healthy"
	MsgAvailable          = "Rollout has minimum availability"
	MsgNotAvailable       = "Rollout does not have minimum availability"
	MsgCompleted          = v1alpha1.RolloutCompletedReason // the reference repeats the reason
	fmtAborted            = "Rollout aborted update to revision %s"
	fmtRSProgressing      = "ReplicaSet %q is progressing."
	fmtRSCompleted        = "ReplicaSet %q has successfully progressed."
	fmtRSTimedOut         = "ReplicaSet %q has timed out progressing."
	fmtRSCreateError      = "Failed to create new replica set %q: %v"
	fmtRSCreated          = "Created new replica set %q"
	fmtNotCompletedEvent  = "Rollout not completed, started update to revision %s (%s)"
	fmtPausedEvent        = "Rollout is paused (%s)"
	ReasonNotCompleted    = "RolloutNotCompleted"
	reasonRolloutResumed  = v1alpha1.ResumedRolloutReason
	reasonRolloutPaused   = v1alpha1.PausedRolloutReason
	reasonRolloutAborted  = v1alpha1.RolloutAbortedReason
	reasonRolloutHealthy  = v1alpha1.RolloutHealthyReason
	reasonRolloutComplete = v1alpha1.RolloutCompletedReason
)

// Event is a Kubernetes event to record on the Rollout.
type Event struct {
	Type    string // corev1.EventTypeNormal or corev1.EventTypeWarning
	Reason  string
	Message string
}

// Input is what one reconcile pass observed and decided.
type Input struct {
	// Spec is the Rollout's spec; Generation its metadata.generation.
	Spec       *v1alpha1.RolloutSpec
	Generation int64
	// Previous is the status as the pass read it; New the status the pass
	// is about to write, with counts, pause conditions, abort, stableRS and
	// step index already decided. Update sets New.Conditions.
	Previous *v1alpha1.RolloutStatus
	New      *v1alpha1.RolloutStatus

	// NewRSName and Revision name the ReplicaSet of the current template.
	NewRSName, Revision string
	// AbortMessage says why the controller itself aborted (an analysis
	// failed, ...); "" for an abort a person asked for.
	AbortMessage string
	// WaitingIndefinitely is set while the update waits on something with
	// no deadline of its own (a pause, an analysis or experiment step, a
	// blue-green pause): the progress deadline does not run.
	WaitingIndefinitely bool
	// MinimumAvailable reports the Available condition's rule for the
	// strategy: the active ReplicaSet saturated (blue-green), or enough
	// available pods in all ReplicaSets (canary).
	MinimumAvailable bool
	// ReplicaFailure is a ReplicaFailure condition of a ReplicaSet (the new
	// one's first), or nil.
	ReplicaFailure *v1alpha1.RolloutCondition
	Now            time.Time
}

// Result is what Update decided besides the conditions.
type Result struct {
	Events []Event
	// AbortNow is set when the progress deadline passed and the spec asks
	// to abort then (progressDeadlineAbort); New.Abort is already set.
	AbortNow bool
}

// Update sets in.New.Conditions and returns the events of the transitions.
func Update(in Input) Result {
	var res Result
	st := in.New
	st.Conditions = append([]v1alpha1.RolloutCondition(nil), in.Previous.Conditions...)
	removeCondition(st, v1alpha1.RolloutInvalidSpec)
	now := metav1.NewTime(in.Now)

	paused := in.Spec.Paused || len(st.PauseConditions) > 0
	inFlight := st.StableRS != st.CurrentPodHash
	healthy := !paused && isHealthy(in)

	res.Events = append(res.Events, pauseEvents(in)...)

	// Healthy: added the first time the rollout is healthy, then flipped.
	if healthy {
		set(st, now, v1alpha1.RolloutHealthy, corev1.ConditionTrue, reasonRolloutHealthy, MsgHealthy)
	}
	becameUnhealthy := false
	if !healthy && find(st, v1alpha1.RolloutHealthy) != nil {
		becameUnhealthy = set(st, now, v1alpha1.RolloutHealthy, corev1.ConditionFalse, reasonRolloutHealthy, MsgNotHealthy)
	}

	progressing := find(st, v1alpha1.RolloutProgressing)
	abortedBefore := progressing != nil && progressing.Reason == reasonRolloutAborted
	switch {
	case st.Abort:
		msg := fmt.Sprintf(fmtAborted, in.Revision)
		if in.AbortMessage != "" {
			msg += ": " + in.AbortMessage
		}
		if set(st, now, v1alpha1.RolloutProgressing, corev1.ConditionFalse, reasonRolloutAborted, msg) {
			res.Events = append(res.Events, Event{corev1.EventTypeWarning, reasonRolloutAborted, msg})
		}
	case abortedBefore:
		// Retried: the abort was cleared by a client.
		set(st, now, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, v1alpha1.RolloutRetryReason, MsgRetry)
	case paused:
		set(st, now, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, reasonRolloutPaused, MsgPaused)
	case healthy:
		set(st, now, v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.NewRSAvailableReason, fmt.Sprintf(fmtRSCompleted, in.NewRSName))
	case madeProgress(in) || becameUnhealthy:
		reason, msg := v1alpha1.ReplicaSetUpdatedReason, fmt.Sprintf(fmtRSProgressing, in.NewRSName)
		if !inFlight && becameUnhealthy {
			// A promoted rollout lost pods (restarts, evictions): it is
			// progressing again, with a fresh deadline.
			reason, msg = v1alpha1.ReplicaSetNotAvailableReason, MsgNotAvailable
		}
		progress(st, now, reason, msg)
	case progressing != nil && progressing.Reason == v1alpha1.FailedRSCreateReason:
		// The refused ReplicaSet exists now (created at zero, it made no
		// progress to report).
		progress(st, now, v1alpha1.NewReplicaSetReason, fmt.Sprintf(fmtRSCreated, in.NewRSName))
	case progressing != nil && progressing.Reason == reasonRolloutPaused:
		// Resumed; the deadline runs again from now.
		set(st, now, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, reasonRolloutResumed, MsgResumed)
	case inFlight && !in.WaitingIndefinitely && timedOut(in, find(st, v1alpha1.RolloutProgressing)):
		msg := fmt.Sprintf(fmtRSTimedOut, in.NewRSName)
		set(st, now, v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.TimedOutReason, msg)
		if in.Spec.ProgressDeadlineAbort {
			// Also when the deadline passed before the flag was set.
			st.Abort = true
			res.AbortNow = true
			aborted := fmt.Sprintf(fmtAborted, in.Revision) + ": " + msg
			set(st, now, v1alpha1.RolloutProgressing, corev1.ConditionFalse, reasonRolloutAborted, aborted)
			res.Events = append(res.Events, Event{corev1.EventTypeWarning, reasonRolloutAborted, aborted})
		}
	}

	// Paused mirrors the pause, except while aborted (an abort clears the
	// pause, and the Degraded phase says more than Paused=False would).
	pausedCond := find(st, v1alpha1.RolloutPaused)
	if !st.Abort && paused != (pausedCond != nil && pausedCond.Status == corev1.ConditionTrue) {
		status := corev1.ConditionFalse
		if paused {
			status = corev1.ConditionTrue
		}
		set(st, now, v1alpha1.RolloutPaused, status, reasonRolloutPaused, MsgPaused)
	}

	if in.MinimumAvailable {
		set(st, now, v1alpha1.RolloutAvailable, corev1.ConditionTrue, v1alpha1.AvailableReason, MsgAvailable)
	} else {
		set(st, now, v1alpha1.RolloutAvailable, corev1.ConditionFalse, v1alpha1.AvailableReason, MsgNotAvailable)
	}

	if in.ReplicaFailure != nil {
		set(st, in.ReplicaFailure.LastTransitionTime, v1alpha1.RolloutReplicaFailure, in.ReplicaFailure.Status, in.ReplicaFailure.Reason, in.ReplicaFailure.Message)
	} else {
		removeCondition(st, v1alpha1.RolloutReplicaFailure)
	}

	if st.StableRS != "" && !inFlight {
		set(st, now, v1alpha1.RolloutCompleted, corev1.ConditionTrue, reasonRolloutComplete, MsgCompleted)
	} else if set(st, now, v1alpha1.RolloutCompleted, corev1.ConditionFalse, reasonRolloutComplete, MsgCompleted) {
		res.Events = append(res.Events, Event{corev1.EventTypeNormal, ReasonNotCompleted,
			fmt.Sprintf(fmtNotCompletedEvent, in.Revision, st.CurrentPodHash)})
	}
	return res
}

// pauseEvents announce a pause condition appearing or the last one going
// (unless an abort cleared it).
func pauseEvents(in Input) []Event {
	wasPaused, isPaused := len(in.Previous.PauseConditions) > 0, len(in.New.PauseConditions) > 0
	switch {
	case isPaused && !wasPaused:
		return []Event{{corev1.EventTypeNormal, reasonRolloutPaused, fmt.Sprintf(fmtPausedEvent, in.New.PauseConditions[0].Reason)}}
	case wasPaused && !isPaused && in.New.AbortedAt == nil && !in.New.Abort:
		return []Event{{corev1.EventTypeNormal, reasonRolloutResumed, MsgResumed}}
	}
	return nil
}

// isHealthy is the reference's "healthy" rule: every replica updated and
// available, the latest spec observed, and the strategy finished (blue-green
// Services on the new pods; canary all steps done, promoted, old pods gone).
func isHealthy(in Input) bool {
	st := in.New
	replicas := int32(1)
	if in.Spec.Replicas != nil {
		replicas = *in.Spec.Replicas
	}
	if st.UpdatedReplicas != replicas || st.AvailableReplicas != replicas ||
		st.ObservedGeneration != v1alpha1.ObservedGenerationString(in.Generation) {
		return false
	}
	switch s := in.Spec.Strategy; {
	case s.BlueGreen != nil:
		if st.BlueGreen.ActiveSelector != st.CurrentPodHash {
			return false
		}
		return s.BlueGreen.PreviewService == "" || st.BlueGreen.PreviewSelector == st.CurrentPodHash
	case s.Canary != nil:
		if n := len(s.Canary.Steps); n > 0 && st.CurrentStepIndex != nil && int(*st.CurrentStepIndex) != n {
			return false
		}
		return st.StableRS != "" && st.StableRS == st.CurrentPodHash && st.Replicas == replicas
	}
	return false
}

// madeProgress is the reference's progress rule: pods were updated, old
// ones went, pods became ready or available, or the strategy moved (a
// Service switched, a step completed, the steps or the stable changed).
func madeProgress(in Input) bool {
	old, st := in.Previous, in.New
	strategy := false
	switch s := in.Spec.Strategy; {
	case s.BlueGreen != nil:
		strategy = old.BlueGreen.ActiveSelector != st.BlueGreen.ActiveSelector ||
			old.BlueGreen.PreviewSelector != st.BlueGreen.PreviewSelector
	case s.Canary != nil:
		stepMoved := old.CurrentStepIndex != nil && st.CurrentStepIndex != nil && *old.CurrentStepIndex != *st.CurrentStepIndex
		strategy = old.StableRS != st.StableRS || stepMoved || old.CurrentStepHash != st.CurrentStepHash
	}
	return st.UpdatedReplicas != old.UpdatedReplicas ||
		st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas ||
		st.AvailableReplicas > old.AvailableReplicas ||
		strategy
}

// timedOut reports whether the Progressing condition has gone unchanged
// for longer than progressDeadlineSeconds.
func timedOut(in Input, c *v1alpha1.RolloutCondition) bool {
	if c == nil || c.Reason == reasonRolloutAborted {
		return false
	}
	if c.Reason == v1alpha1.TimedOutReason {
		return true
	}
	return !in.Now.Before(ProgressDeadline(in.Spec, c))
}

// ProgressDeadline is when an update whose Progressing condition is c times
// out, or the zero time if c is nil.
func ProgressDeadline(spec *v1alpha1.RolloutSpec, c *v1alpha1.RolloutCondition) time.Time {
	if c == nil {
		return time.Time{}
	}
	seconds := v1alpha1.DefaultProgressDeadlineSeconds
	if spec.ProgressDeadlineSeconds != nil {
		seconds = *spec.ProgressDeadlineSeconds
	}
	return c.LastUpdateTime.Add(time.Duration(seconds) * time.Second)
}

// Find returns the condition of type t, or nil.
func Find(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	return find(st, t)
}

func find(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// set is the reference's SetRolloutCondition: a condition with the same
// status and reason is left alone (message and times included); otherwise
// it is replaced and moved to the end of the list, keeping its transition
// time when only the reason changed. It reports whether anything changed.
func set(st *v1alpha1.RolloutStatus, now metav1.Time, t v1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, msg string) bool {
	c := v1alpha1.RolloutCondition{Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
	if old := find(st, t); old != nil {
		if old.Status == status && old.Reason == reason {
			return false
		}
		if old.Status == status {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
	removeCondition(st, t)
	st.Conditions = append(st.Conditions, c)
	return true
}

// progress records progress: unlike set, it refreshes lastUpdateTime even
// when status and reason stay, which restarts the progress deadline.
func progress(st *v1alpha1.RolloutStatus, now metav1.Time, reason, msg string) {
	c := v1alpha1.RolloutCondition{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
	if old := find(st, v1alpha1.RolloutProgressing); old != nil && old.Status == corev1.ConditionTrue {
		c.LastTransitionTime = old.LastTransitionTime
	}
	removeCondition(st, v1alpha1.RolloutProgressing)
	st.Conditions = append(st.Conditions, c)
}

func removeCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) {
	out := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	st.Conditions = out
	if len(out) == 0 {
		st.Conditions = nil
	}
}

// Remove removes the condition of type t, if any.
func Remove(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) { removeCondition(st, t) }

// SetReplicaSetCreateError records that the API server refused the new
// ReplicaSet, as the reference does: Progressing=False with reason
// ReplicaSetCreateError. The spec passed every check before the create, so
// an InvalidSpec condition left by an earlier pass goes. It returns the
// message and whether the condition is new.
func SetReplicaSetCreateError(st *v1alpha1.RolloutStatus, now time.Time, rsName string, err error) (string, bool) {
	removeCondition(st, v1alpha1.RolloutInvalidSpec)
	msg := fmt.Sprintf(fmtRSCreateError, rsName, err)
	return msg, set(st, metav1.NewTime(now), v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.FailedRSCreateReason, msg)
}

// SetInvalidSpec records an InvalidSpec condition and reports whether it is
// new or its message changed.
func SetInvalidSpec(st *v1alpha1.RolloutStatus, now time.Time, msg string) bool {
	old := find(st, v1alpha1.RolloutInvalidSpec)
	if old != nil && old.Message == msg {
		return false
	}
	t := metav1.NewTime(now)
	c := v1alpha1.RolloutCondition{Type: v1alpha1.RolloutInvalidSpec, Status: corev1.ConditionTrue, Reason: v1alpha1.InvalidSpecReason, Message: msg, LastUpdateTime: t, LastTransitionTime: t}
	if old != nil {
		c.LastTransitionTime = old.LastTransitionTime
	}
	removeCondition(st, v1alpha1.RolloutInvalidSpec)
	st.Conditions = append(st.Conditions, c)
	return true
}
