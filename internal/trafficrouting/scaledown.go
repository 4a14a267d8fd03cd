package trafficrouting

import (
	"time"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// OldReplicaSet is a ReplicaSet of the Rollout that is neither the new nor
// the stable one.
type OldReplicaSet struct {
	Hash      string
	Replicas  int32
	Available int32
	// Deadline is its scale-down-deadline annotation, nil when absent or
	// unparsable (which counts as absent: a fresh deadline is written).
	Deadline *time.Time
}

// ScaleDownInput is what PlanScaleDown reads.
type ScaleDownInput struct {
	Rollout *v1alpha1.Rollout
	// NewHash is the current template's hash.
	NewHash string
	// Old are the other ReplicaSets, newest revision first: the newest keep
	// their delay when scaleDownDelayRevisionLimit is reached.
	Old []OldReplicaSet
	// TotalAvailable is the available pods of all the Rollout's ReplicaSets.
	TotalAvailable int32
	// MaxUnavailable is strategy.canary.maxUnavailable resolved to pods.
	MaxUnavailable int32
	// Referenced are hashes something still sends traffic to
	// (ReferencedHashes): those ReplicaSets are left alone.
	Referenced map[string]bool
	// NewDeadline and StableDeadline say whether the new and the stable
	// ReplicaSets carry a scale-down-deadline.
	NewDeadline, StableDeadline bool
	Now                         time.Time
}

// ScaleDownChange is what to do to one ReplicaSet.
type ScaleDownChange struct {
	Hash string
	// Replicas is the spec.replicas to set; -1 leaves it as it is (a
	// change that only removes a deadline).
	Replicas int32
	// SetDeadline writes scale-down-deadline (RFC3339, UTC).
	SetDeadline *time.Time
	// RemoveDeadline deletes scale-down-deadline.
	RemoveDeadline bool
}

// ScaleDownPlan is the changes of a pass and when to look again.
type ScaleDownPlan struct {
	Changes []ScaleDownChange
	// RequeueAfter is the nearest deadline still ahead, 0 if none.
	RequeueAfter time.Duration
}

// PlanScaleDown decides, for a traffic-routed canary, what happens to the
// older ReplicaSets:
//
//   - one still referenced (status weights, a Service selector, an Istio
//     subset) is left as it is;
//   - with dynamicStableScale it goes to 0 at once: its traffic is gone;
//   - after a full promotion, or once it carries a deadline, it waits
//     scaleDownDelaySeconds (default 30; 0 scales down at once) behind a
//     scale-down-deadline annotation, then goes to 0; past
//     scaleDownDelayRevisionLimit (newest first) it goes to 0 at once;
//   - an intermediate ReplicaSet (V2 when V3 arrives mid-update) goes to 0
//     at once: no traffic reaches it.
//
// Reductions stay within maxUnavailable: the Rollout keeps
// R-maxUnavailable available pods. A deadline on the stable ReplicaSet, or
// on the new one when not aborted, is stale (a rollback within the delay)
// and removed.
func PlanScaleDown(in ScaleDownInput) ScaleDownPlan {
	var p ScaleDownPlan
	ro := in.Rollout
	c := ro.Spec.Strategy.Canary
	if c == nil {
		c = &v1alpha1.CanaryStrategy{}
	}
	r := int64(max(ro.ReplicasOrDefault(), 0))
	budget := int64(in.TotalAvailable) - (r - min(int64(max(in.MaxUnavailable, 0)), r))
	delay := time.Duration(c.ScaleDownDelaySecondsOrDefault()) * time.Second
	limit := int64(-1)
	if c.ScaleDownDelayRevisionLimit != nil {
		limit = int64(max(*c.ScaleDownDelayRevisionLimit, 0))
	}
	fullyPromoted := ro.Status.StableRS != "" && ro.Status.StableRS == in.NewHash
	requeue := func(at time.Time) {
		if d := at.Sub(in.Now); d > 0 && (p.RequeueAfter == 0 || d < p.RequeueAfter) {
			p.RequeueAfter = d
		}
	}

	annotated := int64(0)
	for _, rs := range in.Old {
		if in.Referenced[rs.Hash] || rs.Replicas <= 0 {
			continue
		}
		want := int32(0)
		var setDeadline *time.Time
		switch {
		case c.DynamicStableScale:
		case fullyPromoted || rs.Deadline != nil:
			annotated++
			switch {
			case limit >= 0 && annotated > limit:
			case delay <= 0:
			case rs.Deadline == nil:
				at := in.Now.Add(delay).UTC().Truncate(time.Second)
				setDeadline, want = &at, rs.Replicas
				requeue(at)
			case in.Now.Before(*rs.Deadline):
				want = rs.Replicas
				requeue(*rs.Deadline)
			}
		}
		if want < rs.Replicas {
			cut := min(int64(rs.Replicas-want), max(budget, 0))
			budget -= cut
			want = rs.Replicas - int32(cut)
		}
		if want != rs.Replicas || setDeadline != nil {
			p.Changes = append(p.Changes, ScaleDownChange{Hash: rs.Hash, Replicas: want, SetDeadline: setDeadline})
		}
	}
	if in.NewDeadline && !ro.Status.Abort {
		p.Changes = append(p.Changes, ScaleDownChange{Hash: in.NewHash, Replicas: -1, RemoveDeadline: true})
	}
	if in.StableDeadline && ro.Status.StableRS != "" && ro.Status.StableRS != in.NewHash {
		p.Changes = append(p.Changes, ScaleDownChange{Hash: ro.Status.StableRS, Replicas: -1, RemoveDeadline: true})
	}
	return p
}

// ReferencedHashes are the pod-template hashes that still receive (or may
// receive) traffic: those in status.canary.weights, those the Services
// select, and those a router references (HashReferencer).
func ReferencedHashes(ro *v1alpha1.Rollout, serviceHashes, routerHashes []string) map[string]bool {
	ref := map[string]bool{}
	add := func(h string) {
		if h != "" {
			ref[h] = true
		}
	}
	if w := ro.Status.Canary.Weights; w != nil {
		add(w.Canary.PodTemplateHash)
		add(w.Stable.PodTemplateHash)
		for _, a := range w.Additional {
			add(a.PodTemplateHash)
		}
	}
	for _, h := range serviceHashes {
		add(h)
	}
	for _, h := range routerHashes {
		add(h)
	}
	return ref
}

// AbortedCanaryInput is what PlanAbortedCanary reads.
type AbortedCanaryInput struct {
	Rollout *v1alpha1.Rollout
	// Canary is the new ReplicaSet; Deadline its scale-down-deadline.
	Canary OldReplicaSet
	// StableAvailable are the stable ReplicaSet's available pods.
	StableAvailable int32
	// Weights is status.canary.weights as this pass leaves it.
	Weights *v1alpha1.TrafficWeights
	Now     time.Time
}

// AbortedCanary is what happens to an aborted canary this pass.
type AbortedCanary struct {
	// Handled is false when the replica counts size the canary instead
	// (not aborted, or dynamicStableScale without an explicit
	// abortScaleDownDelaySeconds: the canary shrinks as traffic returns).
	Handled bool
	// Replicas is the canary's spec.replicas.
	Replicas int32
	// SetDeadline writes scale-down-deadline.
	SetDeadline *time.Time
	// RequeueAfter is the time left before the deadline.
	RequeueAfter time.Duration
}

// PlanAbortedCanary keeps an aborted canary at its size until the stable
// ReplicaSet has R available pods and the routers send it no traffic, then
// marks it with scale-down-deadline = now + abortScaleDownDelaySeconds
// (default 30) and scales it to 0 once the deadline has passed.
// abortScaleDownDelaySeconds 0 keeps it forever.
func PlanAbortedCanary(in AbortedCanaryInput) AbortedCanary {
	ro := in.Rollout
	c := ro.Spec.Strategy.Canary
	if c == nil || !ro.Status.Abort || (c.DynamicStableScale && c.AbortScaleDownDelaySeconds == nil) {
		return AbortedCanary{}
	}
	out := AbortedCanary{Handled: true, Replicas: in.Canary.Replicas}
	delay := time.Duration(c.AbortScaleDownDelaySecondsOrDefault()) * time.Second
	if delay <= 0 {
		return out
	}
	if in.Canary.Deadline != nil {
		if !in.Now.Before(*in.Canary.Deadline) {
			out.Replicas = 0
		} else {
			out.RequeueAfter = in.Canary.Deadline.Sub(in.Now)
		}
		return out
	}
	drained := in.Weights == nil || (in.Weights.Canary.Weight == 0 && (in.Weights.Verified == nil || *in.Weights.Verified))
	if in.StableAvailable >= ro.ReplicasOrDefault() && drained && in.Canary.Replicas > 0 {
		at := in.Now.Add(delay).UTC().Truncate(time.Second)
		out.SetDeadline = &at
		out.RequeueAfter = at.Sub(in.Now)
	}
	return out
}
