// Package trafficrouting is the traffic-routed canary: a Rollout whose
// strategy.canary.trafficRouting names a router (Gateway API, ALB, NGINX,
// Istio) that splits the traffic by weight, so the canary's share no longer
// has to be its share of the pods.
//
// The package is in two halves.
//
// The planner is pure. It reads the Rollout (spec, and the status as read at
// the start of the pass), the pod-template hash of the current template and
// the Rollout's ReplicaSets, and decides:
//
//   - the weight w the routers get and why (Desire: the reference's rows, in
//     order, one Situation each);
//   - the replica counts of the canary and stable ReplicaSets (Counts),
//     including setCanaryScale, dynamicStableScale, minPodsPerReplicaSet and
//     the abort and rollback step-down (StepDown, one function for both);
//   - the router calls of the pass as data (PlanPass: a gate, then a list of
//     Actions in the order they must run);
//   - status.canary.weights (Weights), step completion (StepComplete), what
//     a weight verification means (AfterVerify);
//   - when older ReplicaSets and an aborted canary are scaled down
//     (PlanScaleDown, PlanAbortedCanary);
//   - whether the spec is valid (Validate, ValidateServices).
//
// All arithmetic is int64 and every weight is clamped to 0..maxTrafficWeight,
// so no input can give a negative or overflowing weight.
//
// The edge is the Router interface and Execute, which runs a plan against
// routers in order. The routers live in one package each (gatewayapi, alb,
// nginx, istio) and are assembled by package routers.
//
// One pass of the canary reconciler, once the step index has been adjusted
// for this pass (reset on a new template, 0 on abort, len(steps) on
// promoteFull) and before the step machine runs:
//
//	in := Input{Rollout: ro, NewHash: newHash, ReplicaSets: ...}
//	plan := PlanPass(in)
//	canaryHash, stableHash := ServiceTargets(in, plan.Desired) // point each Service once
//	rs, err := routers.For(client, Target{...}, routers.Options{})
//	out, err := Execute(ctx, rs, plan)                        // error: Warning TrafficRoutingError
//	if !plan.Gated { w := Weights(ro, plan.Desired); w.Verified = out.Verified; ... }
//	requeue, err := AfterVerify(split, out.Verified, interval)
//	counts := ReplicaCounts(in)            // from the weights as read, not as just written
//	PlanAbortedCanary(...), PlanScaleDown(...) with ReferencedHashes(...)
//	StepComplete(in, weights) feeds the step machine for setWeight and setCanaryScale.
package trafficrouting
