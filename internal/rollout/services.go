package rollout

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// selectedHash is the pod-template hash a Service's selector pins, or "".
func selectedHash(svc *corev1.Service) string {
	if svc == nil {
		return ""
	}
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
}

// pointService makes svc select the pods of one ReplicaSet by adding the
// pod-template hash to its selector, and marks it managed by the Rollout.
// The patch touches only that key and the annotation.
func (r *Reconciler) pointService(ctx context.Context, s *scope, svc *corev1.Service, podHash string) error {
	from := selectedHash(svc)
	if from == podHash && svc.Annotations[v1alpha1.ManagedByRolloutsKey] == s.ro.Name {
		return nil
	}
	patch := client.MergeFrom(svc.DeepCopy())
	if svc.Spec.Selector == nil {
		svc.Spec.Selector = map[string]string{}
	}
	svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] = podHash
	if svc.Annotations == nil {
		svc.Annotations = map[string]string{}
	}
	svc.Annotations[v1alpha1.ManagedByRolloutsKey] = s.ro.Name
	if err := r.Client.Patch(ctx, svc, patch); err != nil {
		return fmt.Errorf("point service %s at %s: %w", klog.KObj(svc), podHash, err)
	}
	if from == podHash {
		return nil
	}
	ctrl.LoggerFrom(ctx).Info("switched service", "service", klog.KObj(svc), "from", from, "to", podHash)
	r.Recorder.Eventf(s.ro, svc, corev1.EventTypeNormal, EventSwitchService, "Switch",
		"Switched selector for service '%s' from '%s' to '%s'", svc.Name, from, podHash)
	return nil
}

// readyEndpoints counts the pods of rs that svc's EndpointSlices list as
// ready: what a client of the Service actually reaches. Read uncached, at
// the moment it matters, from the API server's watch cache (resourceVersion
// "0"): a quorum read can wait ~100 ms for that cache to catch up, on the
// promote's critical path. The ReplicaSet's status already says the pods
// are available; this confirms the Service's endpoints agree.
func (r *Reconciler) readyEndpoints(ctx context.Context, svc *corev1.Service, rs *appsv1.ReplicaSet) (int32, error) {
	var slices discoveryv1.EndpointSliceList
	err := r.APIReader.List(ctx, &slices, client.InNamespace(svc.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name},
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: "0"}})
	if err != nil {
		return 0, fmt.Errorf("list endpointslices of service %s: %w", klog.KObj(svc), err)
	}
	prefix := rs.Name + "-"
	seen := map[string]bool{}
	for _, slice := range slices.Items {
		for _, ep := range slice.Endpoints {
			if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" || !strings.HasPrefix(ep.TargetRef.Name, prefix) {
				continue
			}
			if ptr.Deref(ep.Conditions.Ready, false) {
				seen[ep.TargetRef.Name] = true
			}
		}
	}
	return int32(len(seen)), nil
}
