package trafficrouting

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Split is a traffic split: the canary's weight and the experiment
// destinations'; the stable gets the rest.
type Split struct {
	// Canary is the canary's weight, 0..Max.
	Canary int32
	// Additional are experiment destinations with their weights.
	Additional []v1alpha1.WeightDestination
	// Max is the total weight (maxTrafficWeight, default 100).
	Max int32
	// Ended: the canary is over (Desired.Ended); Canary is 0.
	Ended bool
}

// Stable is the stable's weight: Max minus the canary and the experiment
// destinations, never below 0.
func (s Split) Stable() int32 {
	return clamp(int64(s.Max)-int64(s.Canary)-sumWeights(s.Additional), 0, int64(s.Max))
}

// ActionKind is one router call.
type ActionKind string

// The router calls, one per Router method.
const (
	ActionRemoveManagedRoutes ActionKind = "RemoveManagedRoutes"
	ActionSetHeaderRoute      ActionKind = "SetHeaderRoute"
	ActionSetMirrorRoute      ActionKind = "SetMirrorRoute"
	ActionSetWeight           ActionKind = "SetWeight"
	ActionUpdateHash          ActionKind = "UpdateHash"
	ActionVerifyWeight        ActionKind = "VerifyWeight"
)

// Action is one router call with its arguments.
type Action struct {
	Kind ActionKind
	// Split is for SetWeight and VerifyWeight.
	Split Split
	// CanaryHash, StableHash and Additional are for UpdateHash.
	CanaryHash, StableHash string
	Additional             []v1alpha1.WeightDestination
	// HeaderRoute is for SetHeaderRoute, MirrorRoute for SetMirrorRoute.
	HeaderRoute *v1alpha1.SetHeaderRoute
	MirrorRoute *v1alpha1.SetMirrorRoute
}

// String is the action as it appears in logs and test failures, e.g.
// "SetWeight(30)" or "UpdateHash(abc,def)".
func (a Action) String() string {
	switch a.Kind {
	case ActionSetWeight, ActionVerifyWeight:
		if a.Split.Ended {
			return fmt.Sprintf("%s(%d,ended)", a.Kind, a.Split.Canary)
		}
		return fmt.Sprintf("%s(%d)", a.Kind, a.Split.Canary)
	case ActionUpdateHash:
		return fmt.Sprintf("%s(%s,%s)", a.Kind, a.CanaryHash, a.StableHash)
	case ActionSetHeaderRoute:
		return fmt.Sprintf("%s(%s)", a.Kind, a.HeaderRoute.Name)
	case ActionSetMirrorRoute:
		return fmt.Sprintf("%s(%s)", a.Kind, a.MirrorRoute.Name)
	}
	return string(a.Kind)
}

// Plan is the router side of one pass.
type Plan struct {
	Desired Desired
	// Gated: the stable ReplicaSet cannot carry max-w yet (or there is no
	// stable ReplicaSet); no router is called this pass and
	// status.canary.weights stays as it is.
	Gated bool
	// Actions are the router calls, in order; every router runs all of them.
	Actions []Action
}

// PlanPass decides the router calls of a pass, in this order:
//
//  1. Gate: nothing at all unless the stable ReplicaSet has
//     (max-w)*R/max available pods (integer division) or meets
//     replicaProgressThreshold; no stable ReplicaSet, nothing written.
//  2. RemoveManagedRoutes, when Desire says so (promoted, aborted,
//     promoteFull, no canary pods).
//  3. SetHeaderRoute / SetMirrorRoute when the current step is one, the
//     Rollout is past its first revision and the canary is stepping.
//  4. SetWeight(0) before the hash moves, when the routers still send
//     traffic to the canary and either the canary has no available pod or
//     its hash changes: a router must never point weight at pods that
//     cannot serve it.
//  5. UpdateHash, then SetWeight(w), then VerifyWeight(w).
func PlanPass(in Input) Plan {
	d := Desire(in)
	p := Plan{Desired: d}
	if !StableCanCarry(in, d.Weight) {
		p.Gated = true
		return p
	}
	split := Split{Canary: d.Weight, Additional: d.Additional, Max: int32(in.max()), Ended: d.Ended}
	if d.RemoveManagedRoutes {
		p.Actions = append(p.Actions, Action{Kind: ActionRemoveManagedRoutes})
	}
	if step := in.currentStep(); step != nil && in.revision() > 1 && (d.Situation == AtStep || d.Situation == BelowStepCounts) {
		if step.SetHeaderRoute != nil {
			p.Actions = append(p.Actions, Action{Kind: ActionSetHeaderRoute, HeaderRoute: step.SetHeaderRoute})
		}
		if step.SetMirrorRoute != nil {
			p.Actions = append(p.Actions, Action{Kind: ActionSetMirrorRoute, MirrorRoute: step.SetMirrorRoute})
		}
	}
	if w := in.statusWeights(); w != nil && w.Canary.Weight > 0 {
		nr := in.newRS()
		noPods := nr == nil || nr.Available == 0
		moved := w.Canary.PodTemplateHash != "" && w.Canary.PodTemplateHash != d.CanaryHash
		if noPods || moved {
			drain := split
			drain.Canary, drain.Ended = 0, false
			p.Actions = append(p.Actions, Action{Kind: ActionSetWeight, Split: drain})
		}
	}
	p.Actions = append(p.Actions,
		Action{Kind: ActionUpdateHash, CanaryHash: d.CanaryHash, StableHash: d.StableHash, Additional: d.Additional},
		Action{Kind: ActionSetWeight, Split: split},
		Action{Kind: ActionVerifyWeight, Split: split},
	)
	return p
}

// StableCanCarry is the stable capacity gate: the stable ReplicaSet has
// the pods for the traffic it is about to carry, (max-w)*R/max, or meets
// replicaProgressThreshold.
func StableCanCarry(in Input, w int32) bool {
	st := in.stableRS()
	if st == nil {
		return false
	}
	r, total := in.replicas(), in.max()
	need := (total - int64(clamp(int64(w), 0, total))) * r / total
	return int64(st.Available) >= need || thresholdMet(in.canary().ReplicaProgressThreshold, st.Available, int32(r))
}

// Weights is status.canary.weights for a pass that ran the plan: the
// canary's weight and hash under spec.canaryService, the experiment
// destinations, and the rest (never below 0) for the stable under
// spec.stableService. The names are the spec's even with ping-pong.
// Verified is left nil for the caller to fill from VerifyWeight.
func Weights(ro *v1alpha1.Rollout, d Desired) *v1alpha1.TrafficWeights {
	c := ro.Spec.Strategy.Canary
	if c == nil {
		c = &v1alpha1.CanaryStrategy{}
	}
	split := Split{Canary: d.Weight, Additional: d.Additional, Max: MaxWeight(ro)}
	w := &v1alpha1.TrafficWeights{
		Canary: v1alpha1.WeightDestination{Weight: d.Weight, PodTemplateHash: d.CanaryHash, ServiceName: c.CanaryService},
		Stable: v1alpha1.WeightDestination{Weight: split.Stable(), PodTemplateHash: d.StableHash, ServiceName: c.StableService},
	}
	if len(d.Additional) > 0 {
		w.Additional = append([]v1alpha1.WeightDestination(nil), d.Additional...)
	}
	return w
}

// WeightsChanged compares two status.canary.weights, ignoring Verified.
func WeightsChanged(prev, next *v1alpha1.TrafficWeights) bool {
	if prev == nil || next == nil {
		return prev != next
	}
	return prev.Canary != next.Canary || prev.Stable != next.Stable ||
		!reflect.DeepEqual(prev.Additional, next.Additional)
}

// WeightsMessage is the note of the TrafficWeightUpdated event.
func WeightsMessage(prev, next *v1alpha1.TrafficWeights) string {
	var parts []string
	switch {
	case next == nil:
		return "traffic weights cleared"
	case prev == nil:
		parts = append(parts, fmt.Sprintf("canary weight set to %d", next.Canary.Weight))
	case prev.Canary.Weight != next.Canary.Weight:
		parts = append(parts, fmt.Sprintf("canary weight changed from %d to %d", prev.Canary.Weight, next.Canary.Weight))
	}
	if prev != nil && !reflect.DeepEqual(prev.Additional, next.Additional) {
		var add []string
		for _, a := range next.Additional {
			add = append(add, fmt.Sprintf("%s=%d", a.ServiceName, a.Weight))
		}
		parts = append(parts, "experiment weights "+strings.Join(add, ", "))
	}
	if len(parts) == 0 {
		parts = append(parts, "traffic weights updated")
	}
	return strings.Join(parts, "; ")
}

// ErrWeightNotVerified stops a pass whose full weight a router has not
// confirmed yet: the stable Service must not switch before it is.
var ErrWeightNotVerified = errors.New("traffic weight not verified yet")

// DefaultVerifyRetryInterval is how long to wait before checking an
// unverified weight again.
const DefaultVerifyRetryInterval = 10 * time.Second

// VerifyRetryIntervalEnv overrides DefaultVerifyRetryInterval (a Go duration
// such as "5s"), as the reference's environment variable does.
const VerifyRetryIntervalEnv = "ROLLOUT_VERIFY_RETRY_INTERVAL"

// VerifyRetryInterval reads VerifyRetryIntervalEnv from getenv (os.Getenv
// when nil): unset means the default, anything but a positive duration is
// an error.
func VerifyRetryInterval(getenv func(string) string) (time.Duration, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	v := getenv(VerifyRetryIntervalEnv)
	if v == "" {
		return DefaultVerifyRetryInterval, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: must be a positive duration such as 10s", VerifyRetryIntervalEnv, v)
	}
	return d, nil
}

// AfterVerify says what a VerifyWeight result means for the pass: an
// unverified weight is checked again after retry, and at the full weight the
// pass stops with ErrWeightNotVerified so promotion waits for it.
func AfterVerify(split Split, verified *bool, retry time.Duration) (requeueAfter time.Duration, err error) {
	if verified == nil || *verified {
		return 0, nil
	}
	if split.Canary >= split.Max && split.Max > 0 {
		return retry, fmt.Errorf("weight %d: %w", split.Canary, ErrWeightNotVerified)
	}
	return retry, nil
}

// StepComplete reports whether a setWeight or setCanaryScale step is done
// with a router: the ReplicaSets are at the step's counts (AtStepCounts)
// and, for setWeight, no router reported the weight unverified. weights is
// status.canary.weights as this pass leaves it. Other step kinds are not
// judged here (false).
func StepComplete(in Input, weights *v1alpha1.TrafficWeights) bool {
	step := in.currentStep()
	if step == nil || (step.SetWeight == nil && step.SetCanaryScale == nil) {
		return false
	}
	if !AtStepCounts(in) {
		return false
	}
	if step.SetWeight != nil && weights != nil && weights.Verified != nil && !*weights.Verified {
		return false
	}
	return true
}

// ServiceTargets decides, once per pass, the pod-template hash the stable
// and canary Services select: the stable Service the stable ReplicaSet
// (the new one when there is none); the canary Service the new ReplicaSet
// once it has an available pod, the stable one before that and when an
// abort has returned it (at once without dynamicStableScale, regardless of
// readiness), and the previous canary while a rollback still sends it
// traffic.
func ServiceTargets(in Input, d Desired) (canary, stable string) {
	stable = d.StableHash
	if stable == "" {
		stable = in.NewHash
	}
	canary = stable
	switch {
	case d.Situation == RollingBackToStable && d.Weight > 0:
		canary = d.CanaryHash
	case d.Situation == Aborted && d.CanaryServiceToStable:
		canary = stable
	case d.Situation == Aborted:
		canary = in.NewHash
	default:
		if nr := in.newRS(); nr != nil && nr.Available > 0 {
			canary = nr.Hash
		}
	}
	return canary, stable
}
