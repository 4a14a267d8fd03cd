package rollout

import (
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// indexedRollouts gives the Rollout field indexes the Rollout they key.
// The cache holds Rollouts encoded (compactcache) and hands index
// functions what it holds, whose DeepCopyObject decodes it. An update
// runs every index on the old object and on the new one, and the next
// update's old object is this one's new: remembering the last two decoded
// makes that one decode per update instead of two per index.
type indexedRollouts struct {
	mu   sync.Mutex
	last [2]decodedRollout
	// older is the entry of last to replace next.
	older int
}

type decodedRollout struct {
	cached client.Object
	ro     *v1alpha1.Rollout
}

// by makes an index function of keys, which must not change the Rollout:
// the index functions share it.
func (d *indexedRollouts) by(keys func(*v1alpha1.Rollout) []string) client.IndexerFunc {
	return func(obj client.Object) []string {
		if ro := d.rollout(obj); ro != nil {
			return keys(ro)
		}
		return nil
	}
}

// rollout is the Rollout obj holds; nil for another kind.
func (d *indexedRollouts) rollout(obj client.Object) *v1alpha1.Rollout {
	if ro, ok := obj.(*v1alpha1.Rollout); ok {
		return ro
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// Cached objects are never changed, only replaced, so the same object
	// decodes the same.
	for _, e := range d.last {
		if e.cached == obj {
			return e.ro
		}
	}
	ro, ok := obj.DeepCopyObject().(*v1alpha1.Rollout)
	if !ok {
		return nil
	}
	d.last[d.older] = decodedRollout{cached: obj, ro: ro}
	d.older = 1 - d.older
	return ro
}
