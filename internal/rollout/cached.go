package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SlimReplicaSet is the cache transform of ReplicaSets. A cached
// ReplicaSet keeps its metadata, spec (but the pod spec), status and, of
// the pod template, what the reconcilers read on every pass: the labels and
// annotations (ephemeral metadata, adoption), the affinity (the injected
// anti-affinity) and each container's name and image (whether a template
// change can be an older ReplicaSet's template). The rest of the pod spec
// is a fifth of a ReplicaSet's memory and is read only where a template is
// copied or compared whole, from the API server (fullReplicaSet).
//
// Dropping it changes nothing on the server: every write to a ReplicaSet is
// a merge patch computed against the cached object, so what the cache
// lacks is in neither side of the patch, and no write replaces a
// ReplicaSet's containers.
func SlimReplicaSet(obj any) (any, error) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return obj, nil
	}
	spec := &rs.Spec.Template.Spec
	*spec = corev1.PodSpec{
		Affinity:       spec.Affinity,
		InitContainers: namesAndImages(spec.InitContainers),
		Containers:     namesAndImages(spec.Containers),
	}
	return rs, nil
}

// namesAndImages keeps each container's name and image, in place.
func namesAndImages(containers []corev1.Container) []corev1.Container {
	for i, c := range containers {
		containers[i] = corev1.Container{Name: c.Name, Image: c.Image}
	}
	return containers
}

// fullReplicaSet reads rs from the API server, with the whole pod template
// that the cached copy lacks (SlimReplicaSet). It returns nil if rs is
// nil or gone.
func (r *Reconciler) fullReplicaSet(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	if rs == nil {
		return nil, nil
	}
	full := &appsv1.ReplicaSet{}
	err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(rs), full)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get replicaset %s: %w", klog.KObj(rs), err)
	}
	return full, nil
}
