package manager

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/compactcache"
	"github.com/switchyard-dev/switchyard/internal/rollout"
)

// slimCachedObject is the default transform of every cache: it drops what
// the controller never reads and what can be the larger half of an object.
//   - managedFields;
//   - kubectl's last-applied-configuration annotation, a second copy of the
//     whole object as the user last applied it (Rollouts and Services
//     applied client-side by kubectl or Argo CD carry it; a Rollout's is as
//     large as its spec).
//
// Dropping them from the cache changes nothing on the server: every write
// of the controller is a patch computed against a cached object, so what
// the cache lacks is never sent.
func slimCachedObject(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil
	}
	// Nil-checked: setting nil on an object without managedFields can
	// still allocate (kubernetes#124337).
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	if annotations := obj.GetAnnotations(); annotations != nil {
		if _, ok := annotations[corev1.LastAppliedConfigAnnotation]; ok {
			delete(annotations, corev1.LastAppliedConfigAnnotation)
			if len(annotations) == 0 {
				annotations = nil
			}
			// Unstructured objects hand out a copy of their annotations.
			obj.SetAnnotations(annotations)
		}
	}
	return in, nil
}

// How many of the objects each Compactor last encoded it keeps decoded,
// and for how long: the passes and lookups a burst of changes brings read
// them. Rollouts are JSON, whose decode costs about five copies: enough
// are kept for the passes of a few hundred promotes at once (a hundred
// promotes' passes come after up to a hundred other changes), about a
// megabyte at most. ReplicaSets and Services are protobuf, which decodes
// about as fast as it copies: a few are kept. None once the controller is
// at rest.
const (
	recentRollouts = 256
	recentBuiltIn  = 16
	recentHold     = 10 * time.Second
)

// compactRollout, compactReplicaSet and compactService make the transforms
// of the kinds a fleet has one or several of per Rollout: slimmed (a
// transform of their own replaces the default one, so they apply it too)
// and held encoded (compactcache), the recently encoded also decoded for
// a while (above); Rollouts with their index keys. Each cache
// gets its own: a Compactor keeps state.
func compactRollout() func(any) (any, error) {
	c := compactcache.NewCompactor[v1alpha1.Rollout](recentRollouts, recentHold, rollout.IndexKeys)
	return func(in any) (any, error) { return transformInTurn(in, slimCachedObject, c.Transform) }
}

func compactReplicaSet() func(any) (any, error) {
	c := compactcache.NewCompactor[appsv1.ReplicaSet](recentBuiltIn, recentHold, nil)
	return func(in any) (any, error) {
		return transformInTurn(in, slimCachedObject, rollout.SlimReplicaSet, c.Transform)
	}
}

func compactService() func(any) (any, error) {
	c := compactcache.NewCompactor[corev1.Service](recentBuiltIn, recentHold, nil)
	return func(in any) (any, error) { return transformInTurn(in, slimCachedObject, c.Transform) }
}

// compactEndpointSlice is cut down to what the rollout reconciler counts
// (a new object: nothing of the default slimming is left to drop), then
// encoded.
func compactEndpointSlice(in any) (any, error) {
	return transformInTurn(in, rollout.SlimEndpointSlice, compactcache.Compact[discoveryv1.EndpointSlice])
}

// transformInTurn applies the cache transforms to in, each to what the
// one before returned.
func transformInTurn(in any, transforms ...func(any) (any, error)) (any, error) {
	out := in
	for _, transform := range transforms {
		var err error
		if out, err = transform(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}
