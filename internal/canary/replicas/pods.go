package replicas

// WithinPods lowers what plan grows so that the pods that may exist once it
// is applied stay within Replicas+maxSurge.
//
// Compute bounds spec.replicas, as Argo and the Deployment controller do.
// But a ReplicaSet whose spec was just lowered keeps its pods until the
// ReplicaSet controller removes them (Created, its status.replicas, still
// counts them), and growing another ReplicaSet into that room at once runs
// more pods than maxSurge allows for as long as the two controllers race
// (found by the chaos harness: 6 pods of a 5-replica canary with maxSurge
// 0). So the pods a ReplicaSet may have are counted as the larger of its
// planned spec and its Created, and the growth that does not fit is taken
// back, from the canary first, then the stable. It happens on a later
// reconcile, once the pods are gone and Created says so.
func WithinPods(in Input, plan Plan) (Plan, error) {
	b, err := prepare(in)
	if err != nil {
		return Plan{}, err
	}
	pods := func(rs *ReplicaSetState, planned int32) int32 { return max(planned, rs.Created) }
	var total int32
	if in.Canary != nil {
		total += pods(in.Canary, plan.Canary)
	}
	separate := separateStable(in)
	if separate {
		total += pods(in.Stable, plan.Stable)
	}
	for i := range in.Older {
		total += pods(&in.Older[i], plan.Older[in.Older[i].Name])
	}
	over := total - b.maxTotal
	take := func(rs *ReplicaSetState, planned *int32) {
		if rs == nil || over <= 0 {
			return
		}
		if grow := *planned - max(rs.Replicas, rs.Created); grow > 0 {
			cut := min(grow, over)
			*planned -= cut
			over -= cut
		}
	}
	take(in.Canary, &plan.Canary)
	if separate {
		take(in.Stable, &plan.Stable)
	} else if in.Stable != nil {
		plan.Stable = plan.Canary
	}
	return plan, nil
}
