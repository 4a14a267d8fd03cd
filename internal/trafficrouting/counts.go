package trafficrouting

import "github.com/switchyard-dev/switchyard/api/v1alpha1"

// Counts are the spec.replicas a traffic-routed canary wants for its two
// ReplicaSets. maxSurge does not pace them (the router, not the pod ratio,
// carries the weight); the caller still keeps older ReplicaSets within
// maxUnavailable (PlanScaleDown).
type Counts struct {
	// Canary is for the new ReplicaSet.
	Canary int32
	// Stable is for the stable ReplicaSet: equal to Canary when the new
	// ReplicaSet is the stable one, 0 when there is no stable ReplicaSet.
	Stable int32
	// ScaleWeight is the weight the counts were derived from, for logs;
	// -1 when setCanaryScale.replicas sized the canary.
	ScaleWeight int32
}

// ReplicaCounts sizes the canary and stable ReplicaSets:
//
//   - The scaling weight is max on promoteFull, without a stable ReplicaSet
//     and once fully promoted; else the setCanaryScale in force; else, when
//     aborted, StepDown's weight with dynamicStableScale and 0 without; else
//     max past the last step; else the last setWeight at or before the
//     current step.
//   - The canary gets setCanaryScale.replicas verbatim, or
//     ceil(R*weight/max) raised to minPodsPerReplicaSet.
//   - The stable keeps R pods, so an abort is instant. With
//     dynamicStableScale it gets ceil(R*(max-weight)/max), but never fewer
//     than the traffic it still receives (status.canary.weights.stable), and
//     while aborting the canary keeps the pods for the traffic it still
//     receives: no ReplicaSet shrinks before its traffic has left.
//
// minPodsPerReplicaSet raises a non-zero count to min(minPods, R): a floor
// above the Rollout's size would never be reached.
func ReplicaCounts(in Input) Counts {
	r, total := in.replicas(), in.max()
	scaleReplicas, weight := scaling(in)
	var canary int64
	out := Counts{ScaleWeight: clamp(weight, 0, total)}
	if scaleReplicas != nil {
		canary = int64(max(*scaleReplicas, 0))
		out.ScaleWeight = -1
	} else {
		canary = minPods(in, podsFor(r, weight, total))
	}
	stable := r
	if in.canary().DynamicStableScale {
		w := weight
		if scaleReplicas != nil {
			w = 0 // an explicit canary size moves no traffic: the stable stays full
		}
		stable = podsFor(r, total-w, total)
		if sw := in.statusWeights(); sw != nil {
			stable = max(stable, podsFor(r, int64(sw.Stable.Weight), total))
			if in.Rollout.Status.Abort {
				canary = max(canary, minPods(in, podsFor(r, int64(sw.Canary.Weight), total)))
			}
		}
		stable = minPods(in, stable)
	}
	out.Canary = clamp(canary, 0, 1<<31-1)
	switch st := in.stableRS(); {
	case st == nil:
		out.Stable = 0
	case st.Hash == in.NewHash:
		out.Stable = out.Canary
	default:
		out.Stable = clamp(stable, 0, 1<<31-1)
	}
	return out
}

// scaling returns setCanaryScale.replicas when that sizes the canary, else
// the weight the counts derive from.
func scaling(in Input) (*int32, int64) {
	st := in.Rollout.Status
	total := in.max()
	if st.PromoteFull || in.stableRS() == nil || in.fullyPromoted() {
		return nil, total
	}
	if s := ActiveCanaryScale(in); s != nil {
		if s.Replicas != nil {
			return s.Replicas, 0
		}
		if s.Weight != nil {
			return nil, int64(*s.Weight)
		}
	}
	if st.Abort {
		if in.canary().DynamicStableScale {
			return nil, int64(stepDownFor(in, in.NewHash).ScaleWeight)
		}
		return nil, 0
	}
	if in.index() >= len(in.steps()) {
		return nil, total
	}
	return nil, int64(lastSetWeight(in.steps(), in.index(), true))
}

// ActiveCanaryScale is the setCanaryScale in force: the latest one at or
// before the current step, until a step with matchTrafficWeight. None past
// the last step, on promoteFull, once fully promoted, or while aborted
// (unless abortScaleDownDelaySeconds is 0, which keeps the canary as it is).
func ActiveCanaryScale(in Input) *v1alpha1.SetCanaryScale {
	st := in.Rollout.Status
	i := in.index()
	if i >= len(in.steps()) || st.PromoteFull || in.fullyPromoted() {
		return nil
	}
	if st.Abort {
		if d := in.canary().AbortScaleDownDelaySeconds; d == nil || *d != 0 {
			return nil
		}
	}
	for j := i; j >= 0; j-- {
		if s := in.steps()[j].SetCanaryScale; s != nil {
			if s.MatchTrafficWeight {
				return nil
			}
			return s
		}
	}
	return nil
}

// lastSetWeight is the last setWeight at (inclusive) or before index, 0 if none.
func lastSetWeight(steps []v1alpha1.CanaryStep, index int, inclusive bool) int32 {
	if !inclusive {
		index--
	}
	for j := min(index, len(steps)-1); j >= 0; j-- {
		if w := steps[j].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// minPods raises a non-zero count to minPodsPerReplicaSet, capped at R.
func minPods(in Input, count int64) int64 {
	return minPodsOf(in.canary().MinPodsPerReplicaSet, in.replicas(), count)
}

func minPodsOf(minPods *int32, r, count int64) int64 {
	if count <= 0 || minPods == nil {
		return max(count, 0)
	}
	return max(count, min(int64(*minPods), r))
}

// AtStepCounts reports whether the canary and stable ReplicaSets have the
// counts the current step wants: the canary's spec and available pods equal
// its count (or replicaProgressThreshold is met) and, without
// dynamicStableScale, the stable's spec and existing pods equal its count.
// Older ReplicaSets may still be up.
func AtStepCounts(in Input) bool {
	want := ReplicaCounts(in)
	nr := in.newRS()
	if nr == nil || nr.Replicas != want.Canary {
		return false
	}
	if nr.Available != want.Canary && !thresholdMet(in.canary().ReplicaProgressThreshold, nr.Available, want.Canary) {
		return false
	}
	if in.canary().DynamicStableScale {
		return true
	}
	st := in.stableRS()
	return st != nil && st.Replicas == want.Stable && st.Created == want.Stable
}

// thresholdMet applies replicaProgressThreshold: Percent compares
// available/desired*100 with the value (desired 0 counts as met); any other
// type compares available with the value as a pod count.
func thresholdMet(t *v1alpha1.ReplicaProgressThreshold, available, desired int32) bool {
	if t == nil {
		return false
	}
	if t.Type == v1alpha1.ProgressTypePercentage {
		return desired <= 0 || int64(available)*100 >= int64(t.Value)*int64(desired)
	}
	return available >= t.Value
}
