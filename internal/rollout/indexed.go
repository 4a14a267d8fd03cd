package rollout

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// The Rollout cache's field indexes, by their place in rolloutIndexKeys.
const (
	servicesKeys = iota
	workloadKeys
	templatesKeys
	routerObjectsKeys
	rolloutIndexCount
)

// rolloutIndexKeys are a Rollout's keys in each of the Rollout cache's
// field indexes.
type rolloutIndexKeys [rolloutIndexCount][]string

// rolloutKeyFuncs compute each index's keys, by place.
var rolloutKeyFuncs = [rolloutIndexCount]func(*v1alpha1.Rollout) []string{
	servicesKeys:      indexServices,
	workloadKeys:      indexWorkload,
	templatesKeys:     indexTemplates,
	routerObjectsKeys: indexRouterObjects,
}

// IndexKeys is the memo of the Rollout cache's Compactor: a Rollout's keys
// in every Rollout index, computed once, as the Rollout is encoded.
//
// The cache holds Rollouts encoded (compactcache), and an update runs
// every index on the old object and on the new one. Without the keys kept
// with the object, each index function would decode it: in a burst of
// changes the old object's decoded form is long gone.
func IndexKeys(ro *v1alpha1.Rollout) any {
	var keys rolloutIndexKeys
	for i, f := range rolloutKeyFuncs {
		keys[i] = f(ro)
	}
	return &keys
}

// memoized is what a cached object of the Compactor offers.
type memoized interface{ Memo() any }

// rolloutIndex is the field index function of the index at place: the
// keys kept with the cached Rollout, or, for a Rollout cached without
// them, computed from it.
func rolloutIndex(place int) client.IndexerFunc {
	return func(obj client.Object) []string {
		if m, ok := obj.(memoized); ok {
			if keys, ok := m.Memo().(*rolloutIndexKeys); ok {
				return keys[place]
			}
		}
		ro, ok := obj.(*v1alpha1.Rollout)
		if !ok {
			// Encoded without the keys: its copy is the Rollout.
			if ro, ok = obj.DeepCopyObject().(*v1alpha1.Rollout); !ok {
				return nil
			}
		}
		return rolloutKeyFuncs[place](ro)
	}
}
