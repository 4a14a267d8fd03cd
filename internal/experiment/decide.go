package experiment

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
)

// The pure decisions of an Experiment pass, by the reference's rules. None
// reads a clock or an API: the reconciler passes what it observed and the
// time, and acts on the answers.

// Defaults, as the reference's.
const (
	DefaultProgressDeadlineSeconds = 600
	DefaultScaleDownDelaySeconds   = 30
	// DefaultThreads is how many Experiments are reconciled at once
	// (--experiment-threads).
	DefaultThreads = 10
)

// Messages and reasons clients read.
const (
	MsgRequiredAnalysesCompleted = "Required AnalysisRuns completed"
	ReasonReplicaSetUpdated      = "ReplicaSetUpdated"
	ReasonNewReplicaSetAvailable = "NewReplicaSetAvailable"
	ReasonCompleted              = "ExperimentCompleted"
	ReasonInvalidSpec            = "InvalidSpec"
)

// ProgressDeadline is how long a template may take to become available.
func ProgressDeadline(ex *v1alpha1.Experiment) time.Duration {
	return time.Duration(ptr.Deref(ex.Spec.ProgressDeadlineSeconds, DefaultProgressDeadlineSeconds)) * time.Second
}

// ScaleDownDelay is how long the ReplicaSets keep their pods once the
// Experiment stops wanting them.
func ScaleDownDelay(ex *v1alpha1.Experiment) time.Duration {
	return time.Duration(ptr.Deref(ex.Spec.ScaleDownDelaySeconds, DefaultScaleDownDelaySeconds)) * time.Second
}

// Duration is spec.duration; ok is false when it is unset or unreadable
// (Validate reports the latter).
func Duration(ex *v1alpha1.Experiment) (d time.Duration, ok bool) {
	if ex.Spec.Duration == "" {
		return 0, false
	}
	d, err := time.ParseDuration(string(ex.Spec.Duration))
	return d, err == nil
}

// EndsAt is when the duration ends: availableAt + duration, zero when the
// Experiment has no duration or is not available yet.
func EndsAt(ex *v1alpha1.Experiment) time.Time {
	d, ok := Duration(ex)
	if !ok || ex.Status.AvailableAt == nil {
		return time.Time{}
	}
	return ex.Status.AvailableAt.Add(d)
}

// DurationPassed reports whether the Experiment has run for its duration.
func DurationPassed(ex *v1alpha1.Experiment, now time.Time) bool {
	end := EndsAt(ex)
	return !end.IsZero() && now.After(end)
}

// HasRequiredAnalyses reports whether an analysis is requiredForCompletion.
func HasRequiredAnalyses(spec *v1alpha1.ExperimentSpec) bool {
	for _, a := range spec.Analyses {
		if a.RequiredForCompletion {
			return true
		}
	}
	return false
}

// RequiredAnalysesSuccessful: there is a required analysis, and every
// required analysis's run is Successful.
func RequiredAnalysesSuccessful(spec *v1alpha1.ExperimentSpec, st *v1alpha1.ExperimentStatus) bool {
	required := false
	for _, a := range spec.Analyses {
		if !a.RequiredForCompletion {
			continue
		}
		required = true
		if rs := RunStatus(st, a.Name); rs == nil || rs.Phase != v1alpha1.AnalysisPhaseSuccessful {
			return false
		}
	}
	return required
}

// Terminating: the Experiment stops wanting pods and runs. It is asked to
// (spec.terminate), has ended, a template failed, a run went bad, or every
// required run succeeded.
func Terminating(ex *v1alpha1.Experiment) bool {
	if ex.Spec.Terminate || ex.Status.Phase.Completed() {
		return true
	}
	for _, ts := range ex.Status.TemplateStatuses {
		if ts.Status == v1alpha1.TemplateStatusFailed || ts.Status == v1alpha1.TemplateStatusError {
			return true
		}
	}
	for _, rs := range ex.Status.AnalysisRuns {
		switch rs.Phase {
		case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
			return true
		}
	}
	return RequiredAnalysesSuccessful(&ex.Spec, &ex.Status)
}

// DesiredReplicas is what a template's ReplicaSet should run: its replicas
// (default 1), or 0 once the Experiment is terminating or the template has
// reached a final state.
func DesiredReplicas(ex *v1alpha1.Experiment, tmpl *v1alpha1.TemplateSpec) int32 {
	if Terminating(ex) {
		return 0
	}
	if ts := TemplateStatus(&ex.Status, tmpl.Name); ts != nil && ts.Status.Completed() {
		return 0
	}
	return ptr.Deref(tmpl.Replicas, 1)
}

// TemplateStatus returns the status of the named template, or nil.
func TemplateStatus(st *v1alpha1.ExperimentStatus, name string) *v1alpha1.TemplateStatus {
	for i := range st.TemplateStatuses {
		if st.TemplateStatuses[i].Name == name {
			return &st.TemplateStatuses[i]
		}
	}
	return nil
}

// RunStatus returns the status of the named analysis, or nil.
func RunStatus(st *v1alpha1.ExperimentStatus, name string) *v1alpha1.ExperimentAnalysisRunStatus {
	for i := range st.AnalysisRuns {
		if st.AnalysisRuns[i].Name == name {
			return &st.AnalysisRuns[i]
		}
	}
	return nil
}

// Observed is what a pass saw of, and did to, one template's ReplicaSet.
type Observed struct {
	// Exists: the ReplicaSet exists (or was created this pass).
	Exists bool
	// Counts from the ReplicaSet's status.
	Replicas, Ready, Available int32
	// Touched: the ReplicaSet was created or scaled this pass, which
	// restarts the progress deadline.
	Touched bool
	// Error is a create, scale or Service failure retrying cannot fix, in
	// the reference's words; it ends the template in Error.
	Error string
}

// TemplateInput is everything AssessTemplate reads.
type TemplateInput struct {
	Previous v1alpha1.TemplateStatus
	Observed Observed
	Desired  int32
	Now      time.Time
	Deadline time.Duration
	// DurationPassed and Terminating are the Experiment's, at the start of
	// the pass.
	DurationPassed bool
	Terminating    bool
}

// AssessTemplate returns a template's new status: its counts, when they
// last changed, and its state by the reference's table. A final state is
// kept.
func AssessTemplate(in TemplateInput) v1alpha1.TemplateStatus {
	ts := *in.Previous.DeepCopy()
	var replicas, ready, available int32
	if in.Observed.Exists {
		replicas, ready, available = in.Observed.Replicas, in.Observed.Ready, in.Observed.Available
	}
	now := metav1.NewTime(in.Now)
	if in.Observed.Touched || ts.Replicas != replicas || ts.UpdatedReplicas != replicas || ts.ReadyReplicas != ready || ts.AvailableReplicas != available {
		ts.LastTransitionTime = &now
	}
	ts.Replicas, ts.UpdatedReplicas, ts.ReadyReplicas, ts.AvailableReplicas = replicas, replicas, ready, available
	if in.Observed.Error != "" && !ts.Status.Completed() {
		ts.Status, ts.Message = v1alpha1.TemplateStatusError, in.Observed.Error
	}
	if ts.Status.Completed() {
		return ts
	}
	if available == in.Desired {
		if in.DurationPassed || in.Terminating {
			ts.Status = v1alpha1.TemplateStatusSuccessful
		} else {
			ts.Status = v1alpha1.TemplateStatusRunning
		}
		return ts
	}
	from := in.Now
	if ts.LastTransitionTime != nil {
		from = ts.LastTransitionTime.Time
	}
	switch {
	case in.Now.After(from.Add(in.Deadline)):
		ts.Status = v1alpha1.TemplateStatusFailed
		ts.Message = fmt.Sprintf("Template '%s' exceeded its progressDeadlineSeconds (%d)", ts.Name, int64(in.Deadline/time.Second))
	case in.Terminating:
		ts.Status = v1alpha1.TemplateStatusSuccessful
	default:
		ts.Status = v1alpha1.TemplateStatusProgressing
	}
	return ts
}

// templateSeverity orders template states from best to worst.
var templateSeverity = map[v1alpha1.TemplateStatusCode]int{
	v1alpha1.TemplateStatusSuccessful:  0,
	v1alpha1.TemplateStatusRunning:     1,
	v1alpha1.TemplateStatusProgressing: 2,
	v1alpha1.TemplateStatusError:       3,
	v1alpha1.TemplateStatusFailed:      4,
}

// TemplatesPhase rolls the templates up into a phase: the worst template
// (one without a status counts as Progressing) gives Pending (Progressing),
// Running, Successful, Failed or Error, with its message.
func TemplatesPhase(spec *v1alpha1.ExperimentSpec, st *v1alpha1.ExperimentStatus) (v1alpha1.AnalysisPhase, string) {
	worst, msg := v1alpha1.TemplateStatusSuccessful, ""
	for _, t := range spec.Templates {
		code, m := v1alpha1.TemplateStatusProgressing, ""
		if ts := TemplateStatus(st, t.Name); ts != nil && ts.Status != "" {
			code, m = ts.Status, ts.Message
		}
		if templateSeverity[code] > templateSeverity[worst] {
			worst, msg = code, m
		}
	}
	switch worst {
	case v1alpha1.TemplateStatusProgressing:
		return v1alpha1.AnalysisPhasePending, msg
	case v1alpha1.TemplateStatusRunning:
		return v1alpha1.AnalysisPhaseRunning, msg
	case v1alpha1.TemplateStatusFailed:
		return v1alpha1.AnalysisPhaseFailed, msg
	case v1alpha1.TemplateStatusError:
		return v1alpha1.AnalysisPhaseError, msg
	}
	return v1alpha1.AnalysisPhaseSuccessful, msg
}

// AnalysesPhase rolls the runs up: the worst run phase (Pending shown as
// Running; an analysis without a run yet counts for nothing), or
// Successful with "Required AnalysisRuns completed" once every required
// run is Successful and no run is worse than Running.
func AnalysesPhase(spec *v1alpha1.ExperimentSpec, st *v1alpha1.ExperimentStatus) (v1alpha1.AnalysisPhase, string) {
	worst, msg := v1alpha1.AnalysisPhaseSuccessful, ""
	for _, a := range spec.Analyses {
		rs := RunStatus(st, a.Name)
		if rs == nil || rs.Phase == "" {
			continue
		}
		if analysis.Worse(rs.Phase, worst) {
			worst, msg = rs.Phase, rs.Message
		}
	}
	if RequiredAnalysesSuccessful(spec, st) && !analysis.Worse(worst, v1alpha1.AnalysisPhaseRunning) {
		return v1alpha1.AnalysisPhaseSuccessful, MsgRequiredAnalysesCompleted
	}
	if worst == v1alpha1.AnalysisPhasePending {
		worst = v1alpha1.AnalysisPhaseRunning
	}
	return worst, msg
}

// PhaseInput is what Phase reads: the Experiment's spec, the phase it had
// at the start of the pass and the statuses this pass computed.
type PhaseInput struct {
	Spec     *v1alpha1.ExperimentSpec
	Previous v1alpha1.AnalysisPhase
	Status   *v1alpha1.ExperimentStatus
}

// Phase decides the Experiment's phase and message. The first pass only
// records Pending; a final phase never changes; otherwise templates and
// analyses are weighed by the reference's rules.
func Phase(in PhaseInput) (v1alpha1.AnalysisPhase, string) {
	switch {
	case in.Previous == "":
		return v1alpha1.AnalysisPhasePending, ""
	case in.Previous.Completed():
		return in.Previous, in.Status.Message
	}
	templates, tmsg := TemplatesPhase(in.Spec, in.Status)
	analyses, amsg := AnalysesPhase(in.Spec, in.Status)
	if templates.Completed() {
		if templates == v1alpha1.AnalysisPhaseSuccessful && (analyses.Completed() || HasRequiredAnalyses(in.Spec)) {
			return analyses, amsg
		}
		return templates, tmsg
	}
	if analyses.Completed() && analyses != v1alpha1.AnalysisPhaseSuccessful {
		return analyses, amsg
	}
	if RequiredAnalysesSuccessful(in.Spec, in.Status) {
		return analyses, amsg
	}
	return templates, tmsg
}

// Progressed reports whether any template's counts moved between two
// statuses (or a template got its first status).
func Progressed(before, after *v1alpha1.ExperimentStatus) bool {
	if len(after.TemplateStatuses) > len(before.TemplateStatuses) {
		return true
	}
	for _, b := range before.TemplateStatuses {
		a := TemplateStatus(after, b.Name)
		if a == nil {
			continue
		}
		if a.Replicas != b.Replicas || a.UpdatedReplicas != b.UpdatedReplicas || a.ReadyReplicas != b.ReadyReplicas || a.AvailableReplicas != b.AvailableReplicas {
			return true
		}
	}
	return false
}

// ProgressingCondition returns the Progressing condition the Experiment
// should carry, or nil to keep what it has: False ExperimentCompleted once
// Successful, True ReplicaSetUpdated while counts move, True
// NewReplicaSetAvailable while it runs its duration.
func ProgressingCondition(ex *v1alpha1.Experiment, before, after *v1alpha1.ExperimentStatus, now time.Time) *v1alpha1.ExperimentCondition {
	cond := func(status corev1.ConditionStatus, reason, format string) *v1alpha1.ExperimentCondition {
		t := metav1.NewTime(now)
		return &v1alpha1.ExperimentCondition{
			Type: v1alpha1.ExperimentProgressing, Status: status, Reason: reason,
			Message: fmt.Sprintf(format, ex.Name), LastUpdateTime: t, LastTransitionTime: t,
		}
	}
	switch {
	case after.Phase == v1alpha1.AnalysisPhaseSuccessful:
		return cond(corev1.ConditionFalse, ReasonCompleted, "Experiment %q has successfully ran and completed.")
	case Progressed(before, after):
		return cond(corev1.ConditionTrue, ReasonReplicaSetUpdated, "Experiment %q is progressing.")
	case before.AvailableAt != nil && !DurationPassed(&v1alpha1.Experiment{Spec: ex.Spec, Status: *before}, now):
		return cond(corev1.ConditionTrue, ReasonNewReplicaSetAvailable, "Experiment %q is running.")
	}
	return nil
}

// SetCondition puts c into st. A condition of the same type, status and
// reason is left as it is, except a Progressing ReplicaSetUpdated, whose
// update time (and message) moves with every progress. The transition time
// changes only when the status flips.
func SetCondition(st *v1alpha1.ExperimentStatus, c v1alpha1.ExperimentCondition) {
	for i := range st.Conditions {
		cur := &st.Conditions[i]
		if cur.Type != c.Type {
			continue
		}
		if cur.Status == c.Status {
			if cur.Reason == c.Reason && cur.Message == c.Message && c.Reason != ReasonReplicaSetUpdated {
				return
			}
			c.LastTransitionTime = cur.LastTransitionTime
		}
		*cur = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}

// RemoveCondition drops the condition of type t.
func RemoveCondition(st *v1alpha1.ExperimentStatus, t v1alpha1.ExperimentConditionType) {
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

// Condition returns the condition of type t, or nil.
func Condition(st *v1alpha1.ExperimentStatus, t v1alpha1.ExperimentConditionType) *v1alpha1.ExperimentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// NextCheck is when the Experiment must be looked at again even if nothing
// it watches changes: the end of its duration, or a template's progress
// deadline while it is short of pods. Zero means no such time.
func NextCheck(ex *v1alpha1.Experiment, now time.Time) time.Time {
	if Terminating(ex) {
		return time.Time{}
	}
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if end := EndsAt(ex); !end.IsZero() && !now.After(end) {
		// One tick past the end: the duration has passed only after it.
		earliest(end.Add(time.Millisecond))
	}
	for i := range ex.Spec.Templates {
		t := &ex.Spec.Templates[i]
		ts := TemplateStatus(&ex.Status, t.Name)
		if ts == nil || ts.LastTransitionTime == nil {
			continue
		}
		if ts.Status != v1alpha1.TemplateStatusProgressing && ts.Status != v1alpha1.TemplateStatusRunning {
			continue
		}
		if ts.AvailableReplicas != DesiredReplicas(ex, t) {
			earliest(ts.LastTransitionTime.Add(ProgressDeadline(ex) + time.Millisecond))
		}
	}
	return next
}

// ScalePlan is what to do to a template's ReplicaSet.
type ScalePlan struct {
	// Replicas is the spec.replicas to set.
	Replicas int32
	// SetDeadline, when not empty, is the scale-down-deadline annotation
	// to add (RFC3339); RemoveDeadline drops it.
	SetDeadline    string
	RemoveDeadline bool
	// RecheckAt is when the pods may go (zero: nothing to wait for).
	RecheckAt time.Time
}

// PlanScale sizes a ReplicaSet that runs current pods (spec.replicas) when
// the template wants desired. Scaling down waits scaleDownDelaySeconds:
// the first time, the deadline is written on the ReplicaSet (so a restart
// keeps it) and the pods stay until it passes; a delay of 0 scales down at
// once. Scaling up drops a deadline left from an earlier end (a retried
// Experiment).
func PlanScale(current, desired int32, deadline string, now time.Time, delay time.Duration) ScalePlan {
	if desired > 0 {
		return ScalePlan{Replicas: desired, RemoveDeadline: deadline != ""}
	}
	if current == 0 {
		return ScalePlan{}
	}
	if delay <= 0 {
		return ScalePlan{RemoveDeadline: deadline != ""}
	}
	if deadline == "" {
		at := now.Add(delay).UTC().Truncate(time.Second)
		return ScalePlan{Replicas: current, SetDeadline: at.Format(time.RFC3339), RecheckAt: at}
	}
	at, err := time.Parse(time.RFC3339, deadline)
	if err != nil || !now.Before(at) {
		return ScalePlan{}
	}
	return ScalePlan{Replicas: current, RecheckAt: at}
}
