package replicas

import "math"

// DesiredCounts returns the canary and stable sizes that best approximate weight percent of the
// traffic going to the canary, for a Rollout of the given size. These are the targets of a step;
// Compute moves towards them within maxSurge and maxUnavailable.
//
// Without a traffic router the traffic split is the pod split, and a percentage of a small
// replica count is rarely a whole number of pods. Like Argo Rollouts
// (approximateWeightedCanaryStableReplicaCounts), it tries rounding the canary down and up,
// over a total of replicas and, when maxSurge allows one extra pod, of replicas+1, and keeps
// the candidate whose canary share is closest to weight; on a tie the earlier candidate in that
// order wins, which prefers the larger canary and the smaller total. Two rules keep a step from
// being a no-op or a full cut-over by accident:
//   - for a weight strictly between 0 and 100 neither side may be rounded to 0 pods, unless the
//     Rollout has a single replica and no surge, where there is no other choice;
//   - a floor that sits exactly halfway (3 replicas at 50%) is not offered, so halves round up.
//
// The halfway test and the distances are computed in float64 with the same expressions as the
// reference, on purpose. The float halfway test misses some exact halves (25 replicas at 14% is
// 3.5000000000000004), which lets the rounded-down candidate compete; with these expressions the
// outcome is the reference's by construction. TestDesiredCountsFloatAgreesWithExact shows that,
// in the realistic range, it is also what exact arithmetic would pick.
//
// weight is clamped to 0..100 and a non-positive replicas yields 0/0. maxSurge only matters as
// "is surging allowed at all".
func DesiredCounts(replicas, weight int32, maxSurge int32) (canary, stable int32) {
	if replicas <= 0 {
		return 0, 0
	}
	weight = min(max(weight, 0), 100)

	share := int64(replicas) * int64(weight)
	down := int32(share / 100)
	up := down
	if share%100 != 0 {
		up++
	}
	// Zero pods on one side is what the user asked for at 0% and 100%; with one replica and no
	// surge it is the only possibility.
	zeroOK := weight == 0 || weight == 100 || (replicas == 1 && maxSurge == 0)

	var (
		bestCanary, bestTotal int32
		bestMiss              float64
		found                 bool
	)
	consider := func(c, total int32) {
		miss := weightMiss(weight, c, total)
		if !found || miss < bestMiss {
			bestCanary, bestTotal, bestMiss, found = c, total, miss, true
		}
	}
	offerDown := func(total int32) {
		if !halfway(weight, total) && (down != 0 || zeroOK) {
			consider(down, total)
		}
	}

	// Rounding up to every pod is a full cut-over, allowed only where zero stable pods is.
	if up < replicas || zeroOK {
		consider(up, replicas)
	}
	offerDown(replicas)
	if maxSurge > 0 {
		// The counts are still rounded from replicas, not replicas+1: the extra pod goes to
		// whichever side it makes the split most faithful for.
		consider(up, replicas+1)
		offerDown(replicas + 1)
	}
	if !found {
		// No candidate survives when, without surge, rounding up would take every pod and the
		// rounded-down count is an exact half: 2 replicas at 75%, 5 at 90%, 10 at 95%, 25 at 98%,
		// 50 at 99%. Argo then runs no canary pod at all for the step (the golden oracle has
		// the 2-replica case); a drop-in must do the same, surprising as it is.
		return 0, replicas
	}
	return bestCanary, bestTotal - bestCanary
}

// halfway reports whether weight percent of total pods has a fractional part of exactly one
// half, in which case rounding down and up are equally far and the planner rounds up.
func halfway(weight, total int32) bool {
	_, frac := math.Modf(float64(total) * (float64(weight) / 100))
	return frac == 0.5
}

// weightMiss is how many percentage points a split of canary pods out of total misses weight by.
func weightMiss(weight, canary, total int32) float64 {
	got := float64(int64(canary)*100) / float64(total)
	return math.Abs(got - float64(weight))
}
