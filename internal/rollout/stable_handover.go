package rollout

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/switchyard-dev/switchyard/internal/canary/replicas"
	"github.com/switchyard-dev/switchyard/internal/requeue"
)

// stableHandover is where a basic canary's stableService points in this
// pass, and what that asks of the stable ReplicaSet's size.
//
// The stable Service must never be left without a ready endpoint. The
// stable ReplicaSet can reach zero before the promotion makes the new one
// stable: when the last step carries the full weight and maxUnavailable
// lets the old pods go before the last new ones are ready (and with
// maxSurge 0 it must: the canary cannot be full while a stable pod
// remains). So once the plan empties the stable ReplicaSet, the Service is
// handed to the new pods first (when some are ready), and the stable
// ReplicaSet keeps one pod until the Service's EndpointSlices list a new pod
// as ready. The same rule brings it back on an abort: a Service moves only
// to pods that are ready, unless where it points has none either.
type stableHandover struct {
	// target is the pod-template hash the stable Service selects.
	target string
	// holdStable and holdCanary keep the stable or the new ReplicaSet at
	// one pod although the plan empties it.
	holdStable, holdCanary bool
	// recheck: endpoints or readiness are awaited (pods are not watched);
	// come back soon.
	recheck bool
}

// planStableHandover decides the handover for the plan of this pass.
func (r *Reconciler) planStableHandover(ctx context.Context, s *scope, stableRS *appsv1.ReplicaSet, plan replicas.Plan) (stableHandover, error) {
	stableHash := hashOf(stableRS)
	if stableHash == "" {
		stableHash = s.newHash
	}
	h := stableHandover{target: stableHash}
	svc := s.services[s.ro.Spec.Strategy.Canary.StableService]
	if svc == nil {
		return h, nil
	}
	live := selectedHash(svc)
	if stableRS != nil && stableRS != s.newRS && !s.ro.Status.Abort && plan.Stable == 0 {
		// The stable ReplicaSet's last pods are to go: hand the
		// Service to the new ones.
		h.target = s.newHash
	}
	if live != h.target {
		// A Service moves only to pods that are ready, unless where it
		// points has none either.
		moveTo, err := r.hasReadyPods(ctx, s.replicaSetByHash(h.target))
		if err != nil {
			return h, err
		}
		stay, err := r.hasReadyPods(ctx, s.replicaSetByHash(live))
		if err != nil {
			return h, err
		}
		if !moveTo && stay {
			h.target, h.recheck = live, true
		}
	}
	// Whatever the plan empties keeps a pod until the Service lists a
	// ready pod of another ReplicaSet as an endpoint (a switch in this
	// pass shows there only later).
	released := func(rs *appsv1.ReplicaSet) (bool, error) {
		serving := s.replicaSetByHash(live)
		if serving == nil || serving == rs {
			return false, nil
		}
		n, err := r.readyEndpoints(ctx, svc, serving)
		return n > 0, err
	}
	for _, e := range []struct {
		rs      *appsv1.ReplicaSet
		planned int32
		hold    *bool
	}{{stableRS, plan.Stable, &h.holdStable}, {s.newRS, plan.Canary, &h.holdCanary}} {
		if e.rs == nil || e.planned > 0 || specReplicas(e.rs) == 0 || (e.rs == s.newRS && e.rs == stableRS) {
			continue
		}
		ok, err := released(e.rs)
		if err != nil {
			return h, err
		}
		if !ok {
			*e.hold, h.recheck = true, true
		}
	}
	return h, nil
}

// hasReadyPods reports whether rs has a pod an endpoint controller would list
// as ready (read live); a missing ReplicaSet has none.
func (r *Reconciler) hasReadyPods(ctx context.Context, rs *appsv1.ReplicaSet) (bool, error) {
	if rs == nil || (specReplicas(rs) == 0 && rs.Status.Replicas == 0) {
		return false, nil
	}
	n, err := r.readyPods(ctx, rs)
	return n > 0, err
}

// apply keeps the pods the handover holds.
func (h stableHandover) apply(plan *replicas.Plan) {
	if h.holdStable {
		plan.Stable = 1
	}
	if h.holdCanary {
		plan.Canary = 1
	}
}

// result is the pass's result with the handover's recheck.
func (h stableHandover) result(res ctrl.Result) ctrl.Result {
	if !h.recheck || (res.RequeueAfter > 0 && res.RequeueAfter <= endpointsRetry) {
		return res
	}
	return requeue.After(endpointsRetry)
}
