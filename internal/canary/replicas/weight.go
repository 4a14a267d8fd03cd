package replicas

// Step is the part of a strategy.canary.steps entry that bears on the basic canary's weight.
//
// Only setWeight does. A setCanaryScale step (replicas, weight or matchTrafficWeight) has no
// effect without a traffic router: Argo's UseSetCanaryScale returns nil when trafficRouting is
// unset, so the replica counts keep following the last setWeight. Represent such a step, like a
// pause, analysis or experiment step, with a nil SetWeight.
type Step struct {
	SetWeight *int32
}

// Progress is where a basic-canary Rollout stands, as far as the canary weight is concerned.
type Progress struct {
	// Steps are strategy.canary.steps.
	Steps []Step
	// CurrentStepIndex is status.currentStepIndex; nil means 0. A negative index (which only a
	// hand-edited status could hold) is treated as 0.
	CurrentStepIndex *int32
	// StableRS and CurrentPodHash are status.stableRS and status.currentPodHash.
	StableRS, CurrentPodHash string
	// Aborted is status.abort.
	Aborted bool
	// PromoteFull is status.promoteFull.
	PromoteFull bool
}

// EffectiveWeight returns the canary weight the replica arithmetic should aim for, as Argo's
// GetCanaryReplicasOrWeight does for a Rollout without trafficRouting:
//
//   - 100 on a full promotion, when there is no stable yet (first deploy) or when the current
//     template is the stable one: there is nothing to compare, so the new pods take everything;
//   - 0 while aborted, so the canary drains back and the stable returns to full size;
//   - 100 when there are no steps or all steps are done;
//   - otherwise the last setWeight at or before the current step, or 0 if none has run yet.
//
// The order matters: promoteFull wins over abort, as in Argo.
func EffectiveWeight(p Progress) int32 {
	if p.PromoteFull || p.StableRS == "" || p.CurrentPodHash == p.StableRS {
		return 100
	}
	if p.Aborted {
		return 0
	}
	idx := 0
	if p.CurrentStepIndex != nil && *p.CurrentStepIndex > 0 {
		idx = int(*p.CurrentStepIndex)
	}
	if idx >= len(p.Steps) {
		return 100
	}
	for i := idx; i >= 0; i-- {
		if w := p.Steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}
