package trafficrouting

import "github.com/switchyard-dev/switchyard/api/v1alpha1"

// StepDownInput is what the abort/rollback step-down reads. It serves both
// an abort (traffic returns from the canary to the stable ReplicaSet) and a
// rollback to the stable template during a dynamicStableScale canary
// (traffic returns from the previous canary to the stable ReplicaSet, which
// is also the new one).
type StepDownInput struct {
	// Replicas is spec.replicas; Max is maxTrafficWeight.
	Replicas, Max int32
	// Steps are the canary steps; their setWeights are the ladder.
	Steps []v1alpha1.CanaryStep
	// StableAvailable are the available pods of the ReplicaSet traffic
	// returns to, CanaryAvailable those of the one it leaves.
	StableAvailable, CanaryAvailable int32
	// Current is the canary weight the routers were last given
	// (status.canary.weights.canary.weight), nil when unknown.
	Current *int32
	// MinPods is minPodsPerReplicaSet.
	MinPods *int32
	// ExplicitAbortDelay is set when abortScaleDownDelaySeconds is: the
	// canary is then shrunk by its scale-down deadline, not by the counts,
	// so its pods must not hold the ladder up.
	ExplicitAbortDelay bool
}

// StepDownResult is a point on the way back.
type StepDownResult struct {
	// ScaleWeight is the canary weight the replica counts are sized for: the
	// stable grows to carry max-ScaleWeight.
	ScaleWeight int32
	// RouterWeight is the canary weight the routers get now.
	RouterWeight int32
}

// StepDown walks traffic back to the stable ReplicaSet one setWeight step
// at a time, as fast as the stable's available pods allow, so a stable that
// dynamicStableScale had shrunk is never given more traffic than it has pods
// for:
//
//  1. The canary pods still needed are R minus the stable's available pods,
//     or the canary's available pods if more (not with ExplicitAbortDelay).
//  2. The ladder weight is the last setWeight (walking from the last step)
//     whose pods, ceil(R*w/max), are fewer than that; 0 if none. It sizes
//     the ReplicaSets: the stable grows to carry max minus it.
//  3. The routers keep the current weight while the stable has fewer
//     available pods than that size, then get the ladder weight; they are
//     never given more than the current weight.
//  4. Once the stable has R available pods all traffic goes back to it,
//     whatever the canary's size (minPodsPerReplicaSet can hold canary pods
//     that would otherwise keep a non-zero step in the ladder).
//
// The canary's own count keeps the pods for the weight it was last given
// (ReplicaCounts), so it shrinks only after its traffic has left.
func StepDown(in StepDownInput) StepDownResult {
	r := int64(max(in.Replicas, 0))
	total := int64(in.Max)
	if total <= 0 {
		total = int64(DefaultMaxWeight)
	}
	stableAvail := int64(max(in.StableAvailable, 0))
	if stableAvail >= r {
		return StepDownResult{}
	}
	needed := r - stableAvail
	if !in.ExplicitAbortDelay {
		needed = max(needed, int64(max(in.CanaryAvailable, 0)))
	}
	var ladder int64
	for i := len(in.Steps) - 1; i >= 0; i-- {
		if w := in.Steps[i].SetWeight; w != nil && podsFor(r, int64(*w), total) < needed {
			ladder = int64(clamp(int64(*w), 0, total))
			break
		}
	}
	router := ladder
	if in.Current != nil {
		current := int64(clamp(int64(*in.Current), 0, total))
		stableWanted := minPodsOf(in.MinPods, r, podsFor(r, total-ladder, total))
		if stableAvail < stableWanted {
			router = current // the stable is still growing: hold
		} else {
			router = min(router, current)
		}
	}
	return StepDownResult{ScaleWeight: int32(ladder), RouterWeight: int32(router)}
}

// stepDownFor fills StepDownInput from a pass: traffic returns to the
// stable ReplicaSet from the one with canaryHash.
func stepDownFor(in Input, canaryHash string) StepDownResult {
	c := in.canary()
	sd := StepDownInput{
		Replicas:           int32(in.replicas()),
		Max:                int32(in.max()),
		Steps:              c.Steps,
		MinPods:            c.MinPodsPerReplicaSet,
		ExplicitAbortDelay: c.AbortScaleDownDelaySeconds != nil,
	}
	if st := in.stableRS(); st != nil {
		sd.StableAvailable = st.Available
	}
	if cr := in.find(canaryHash); cr != nil {
		sd.CanaryAvailable = cr.Available
	}
	if w := in.statusWeights(); w != nil {
		sd.Current = &w.Canary.Weight
	}
	return StepDown(sd)
}
