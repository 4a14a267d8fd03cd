package trafficrouting

import "github.com/switchyard-dev/switchyard/api/v1alpha1"

// Situation names the rule that chose the weight of a pass.
type Situation string

// The situations, in the order they are tried: the first that applies wins.
const (
	// RollingBackToStable: the template went back to the stable one during
	// a dynamicStableScale canary; traffic steps down from the previous
	// canary (StepDown).
	RollingBackToStable Situation = "RollingBackToStable"
	// FullyPromoted: the new ReplicaSet is the stable one; the stable
	// Service carries everything.
	FullyPromoted Situation = "FullyPromoted"
	// Aborted: traffic goes back to stable, at once or stepping down.
	Aborted Situation = "Aborted"
	// NoCanaryPods: the new ReplicaSet is missing or has no available pod.
	NoCanaryPods Situation = "NoCanaryPods"
	// PromotingFully: status.promoteFull; the weight follows the canary's
	// available pods with dynamicStableScale, else stays where it is until
	// the stable Service switches.
	PromotingFully Situation = "PromotingFully"
	// BelowStepCounts: the ReplicaSets are not yet at the current step's
	// counts; the weight stays at the previous step's.
	BelowStepCounts Situation = "BelowStepCounts"
	// AtStep: the last setWeight at or before the current step.
	AtStep Situation = "AtStep"
	// PastLastStep: every step done and the canary at full size: max.
	PastLastStep Situation = "PastLastStep"
	// NoSteps: a canary without steps sends no traffic through the router;
	// it moves when the stable Service switches to the new pods.
	NoSteps Situation = "NoSteps"
)

// Desired is the router side of a pass.
type Desired struct {
	Situation Situation
	// Weight is the canary weight, 0..max.
	Weight int32
	// Additional are the experiment destinations sent with the weight.
	Additional []v1alpha1.WeightDestination
	// CanaryHash and StableHash are the pod-template hashes of the
	// ReplicaSets behind the canary and stable weights (UpdateHash).
	CanaryHash, StableHash string
	// RemoveManagedRoutes: header and mirror routes must go.
	RemoveManagedRoutes bool
	// Ended: the canary is over and has no traffic left (fully promoted, or
	// aborted with the weight back at 0). Routers may delete what they
	// created for it.
	Ended bool
	// CanaryServiceToStable: the canary Service must select the stable
	// ReplicaSet now, without waiting for readiness (abort).
	CanaryServiceToStable bool
}

// Desire picks the weight of a pass; the first rule that applies wins:
//
//  1. RollingBackToStable: fully promoted, dynamicStableScale, status
//     weights name a canary hash other than the new one, and the new
//     ReplicaSet has fewer than R available pods: StepDown from that
//     previous canary, whose hash is sent as the canary hash.
//  2. FullyPromoted: 0; managed routes removed; canary hash = stable hash.
//  3. Aborted: 0, or StepDown with dynamicStableScale; managed routes
//     removed; the canary Service goes back to stable (with
//     dynamicStableScale once the weight is 0).
//  4. NoCanaryPods: 0 plus experiment weights; managed routes removed.
//  5. PromotingFully: max*available/R with dynamicStableScale, else the
//     weight in status; managed routes removed.
//  6. With steps: BelowStepCounts (the last setWeight before the current
//     step), AtStep (the last setWeight at or before it, plus experiment
//     weights), PastLastStep (max).
//  7. NoSteps: 0.
func Desire(in Input) Desired {
	r, total := in.replicas(), in.max()
	st := in.Rollout.Status
	c := in.canary()
	nr := in.newRS()
	weights := in.statusWeights()
	d := Desired{}
	if nr != nil {
		d.CanaryHash = nr.Hash
	}
	if stable := in.stableRS(); stable != nil {
		d.StableHash = stable.Hash
	}

	switch {
	case in.fullyPromoted() && c.DynamicStableScale && weights != nil &&
		weights.Canary.PodTemplateHash != "" && weights.Canary.PodTemplateHash != in.NewHash &&
		(nr == nil || int64(nr.Available) < r):
		d.Situation = RollingBackToStable
		d.CanaryHash = weights.Canary.PodTemplateHash
		d.Weight = stepDownFor(in, d.CanaryHash).RouterWeight
	case in.fullyPromoted():
		d.Situation = FullyPromoted
		d.CanaryHash = d.StableHash
		d.RemoveManagedRoutes, d.Ended = true, true
	case st.Abort:
		d.Situation = Aborted
		if c.DynamicStableScale {
			d.Weight = stepDownFor(in, in.NewHash).RouterWeight
		}
		d.RemoveManagedRoutes = true
		d.Ended = d.Weight == 0
		d.CanaryServiceToStable = !c.DynamicStableScale || d.Weight == 0
	case nr == nil || nr.Available == 0:
		d.Situation = NoCanaryPods
		d.Additional = in.Additional
		d.RemoveManagedRoutes = true
	case st.PromoteFull:
		d.Situation = PromotingFully
		switch {
		case c.DynamicStableScale && r > 0:
			d.Weight = clamp(total*int64(nr.Available)/r, 0, total)
		case weights != nil:
			d.Weight = clamp(int64(weights.Canary.Weight), 0, total)
		}
		d.RemoveManagedRoutes = true
	case len(in.steps()) == 0:
		d.Situation = NoSteps
	case !AtStepCounts(in):
		d.Situation = BelowStepCounts
		d.Weight = lastSetWeight(in.steps(), in.index(), false)
		d.Additional = in.Additional
	case in.index() < len(in.steps()):
		d.Situation = AtStep
		d.Weight = lastSetWeight(in.steps(), in.index(), true)
		d.Additional = in.Additional
	default:
		d.Situation = PastLastStep
		d.Weight = int32(total)
	}
	d.Weight = clamp(int64(d.Weight), 0, total)
	return d
}
