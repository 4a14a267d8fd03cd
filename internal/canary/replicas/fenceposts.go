package replicas

import (
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// defaultFencepost is what Argo Rollouts uses when strategy.canary.maxSurge or maxUnavailable is
// unset (utils/defaults: DefaultMaxSurge, DefaultMaxUnavailable). It is a string so that it scales
// with spec.replicas like a user-written percentage would.
const defaultFencepost = "25%"

// ResolveFenceposts turns strategy.canary.maxSurge and maxUnavailable into pod counts for a
// Rollout of the given size. A nil value means unset and defaults to 25%.
//
// Rounding follows the Deployment controller (and therefore Argo Rollouts): a percentage surge
// rounds up and a percentage unavailability rounds down, so that a small Rollout can always
// make progress by surging rather than by dropping below its requested size. When both resolve
// to 0 (validation forbids writing 0/0, but 10% of 3 replicas floors to 0) unavailability
// becomes 1: otherwise no pod could ever be replaced.
//
// The values are parsed with intstr.GetScaledValueFromIntOrPercent, so a string must end in
// "%"; a bare number in a string ("5") is an error, where Argo's legacy parser would read it
// as 5%. Negative results are errors too: validation rejects them and the arithmetic relies on
// the fenceposts being non-negative.
//
// The result is not clamped to replicas; the planner caps unavailability at replicas itself, as
// Argo's MaxUnavailable does.
func ResolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, replicas int32) (surge, unavailable int32, err error) {
	surge, err = scaleFencepost("maxSurge", maxSurge, replicas, true)
	if err != nil {
		return 0, 0, err
	}
	unavailable, err = scaleFencepost("maxUnavailable", maxUnavailable, replicas, false)
	if err != nil {
		return 0, 0, err
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable, nil
}

// scaleFencepost resolves one fencepost; field names it in errors so a user can find the
// offending line of their spec.
func scaleFencepost(field string, v *intstr.IntOrString, replicas int32, roundUp bool) (int32, error) {
	if v == nil {
		d := intstr.FromString(defaultFencepost)
		v = &d
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, int(replicas), roundUp)
	if err != nil {
		return 0, fmt.Errorf("resolve %s %q: %w", field, v.String(), err)
	}
	if n < 0 || n > math.MaxInt32 {
		return 0, fmt.Errorf("resolve %s %q: %d pods is out of range", field, v.String(), n)
	}
	return int32(n), nil
}
