package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// errCacheBehind: this pass planned on a cached ReplicaSet older than the
// live one in a way that matters (a scale-down deadline the cache does not
// show yet). The pass stops and comes back when the cache has caught up;
// it is not a failure.
var errCacheBehind = errors.New("the cache is behind")

// cacheBehindRetry is how soon a pass stopped by errCacheBehind comes back.
const cacheBehindRetry = 100 * time.Millisecond

// The scale-down deadline annotation is the only mark that a ReplicaSet
// served production and must wait out scaleDownDelaySeconds; a ReplicaSet
// without one goes to zero at once. The controller writes it, and the next
// pass may read a cached ReplicaSet that does not show it yet (the Rollout's
// or the Service's event arrived first; after a kube-apiserver restart the
// ReplicaSet informer can lag for seconds). Found by the chaos harness: a
// promoted blue-green Rollout's previous revision went to zero 34ms after
// the switch instead of 30s later, and under repeated kube-apiserver
// restarts another's deadline was written again and again, each time 30s
// later, so its old pods never went. So a scale-down to zero without a
// cached deadline is checked against a live read, and a first deadline is
// written with the read version as a precondition (a conflict means the
// cache is behind).

// liveDeadline reads rs's scale-down deadline from the API server, not
// the cache.
func (r *Reconciler) liveDeadline(ctx context.Context, rs *appsv1.ReplicaSet) (*time.Time, error) {
	live := &appsv1.ReplicaSet{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(rs), live); err != nil {
		return nil, fmt.Errorf("read replicaset %s: %w", klog.KObj(rs), err)
	}
	return scaleDownDeadline(live), nil
}

// plannedOnStaleDeadline reports whether a scale-down to zero of a
// ReplicaSet whose cached copy shows no deadline was planned without
// knowing the live one's, still ahead of now.
func plannedOnStaleDeadline(cached, live *time.Time, now time.Time) bool {
	return cached == nil && live != nil && now.Before(*live)
}

// usesScaleDownDeadlines: only blue-green and traffic-routed canaries keep
// a revision up for a delay; a basic canary's ReplicaSets never carry a
// deadline, and their scale-downs cost no extra read.
func usesScaleDownDeadlines(ro *v1alpha1.Rollout) bool {
	s := ro.Spec.Strategy
	return s.BlueGreen != nil || (s.Canary != nil && s.Canary.TrafficRouting != nil)
}
