package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

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
// The patch touches only that key and, when not yet set, the annotation.
func (r *Reconciler) pointService(ctx context.Context, s *scope, svc *corev1.Service, podHash string) error {
	from := selectedHash(svc)
	if from == podHash && svc.Annotations[v1alpha1.ManagedByRolloutsKey] == s.ro.Name {
		return nil
	}
	change := map[string]any{"spec": map[string]any{"selector": map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: podHash}}}
	if svc.Annotations[v1alpha1.ManagedByRolloutsKey] != s.ro.Name {
		// Once set, the annotation stays out of the switch's patch, which
		// is then what any controller's switch would send.
		change["metadata"] = map[string]any{"annotations": map[string]string{v1alpha1.ManagedByRolloutsKey: s.ro.Name}}
	}
	patch, err := mergePatch(change, "")
	if err != nil {
		return err
	}
	// svc becomes the API server's answer.
	if err := r.Client.Patch(ctx, svc, patch); err != nil {
		return fmt.Errorf("point service %s at %s: %w", klog.KObj(svc), podHash, err)
	}
	if from == podHash {
		return nil
	}
	ctrl.LoggerFrom(ctx).Info("switched service", "service", klog.KObj(svc), "from", from, "to", podHash)
	r.observeSwitch(s, svc, podHash)
	r.Recorder.Eventf(s.ro, svc, corev1.EventTypeNormal, EventSwitchService, "Switch",
		"Switched selector for service '%s' from '%s' to '%s'", svc.Name, from, podHash)
	return nil
}

// readyEndpoints counts the pods of rs that svc's EndpointSlices list as
// ready: what a client of the Service actually reaches. Read from the
// cache, which holds every Service's slices cut down to what is counted
// here (SlimEndpointSlice); a slice changing brings back the Rollouts
// naming its Service, so a pass waiting for endpoints costs no request.
// The ReplicaSet's status already says the pods are available; this
// confirms the Service's endpoints agree.
func (r *Reconciler) readyEndpoints(ctx context.Context, svc *corev1.Service, rs *appsv1.ReplicaSet) (int32, error) {
	var slices discoveryv1.EndpointSliceList
	err := r.Client.List(ctx, &slices, client.InNamespace(svc.Namespace),
		client.MatchingFields{sliceServiceIndex: svc.Name})
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

const managedByIndex = "service.managedBy"

// indexManagedBy keys a Service by the Rollout its managed-by annotation
// names.
func indexManagedBy(obj client.Object) []string {
	if name := obj.GetAnnotations()[v1alpha1.ManagedByRolloutsKey]; name != "" {
		return []string{name}
	}
	return nil
}

// releaseServices gives back the Services a Rollout marked as managed but no
// longer names (its strategy changed, a Service was renamed): their
// pod-template-hash selector and the managed-by annotation are removed, so
// they select every pod of the app again, as the reference leaves them.
func (r *Reconciler) releaseServices(ctx context.Context, s *scope) (ctrl.Result, error) {
	return ctrl.Result{}, r.releaseServicesOf(ctx, s.ro.Namespace, s.ro.Name, referencedServices(s.ro))
}

// releaseServicesOf releases the Services of namespace managed by the named
// Rollout, except those in keep. A deleted Rollout keeps none: its
// ReplicaSets are going, and a Service left pinned to their hash would
// select nothing.
func (r *Reconciler) releaseServicesOf(ctx context.Context, namespace, rollout string, keep []string) error {
	var list corev1.ServiceList
	if err := r.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{managedByIndex: rollout}); err != nil {
		return fmt.Errorf("list services managed by rollout %s: %w", rollout, err)
	}
	for i := range list.Items {
		svc := &list.Items[i]
		if slices.Contains(keep, svc.Name) {
			continue
		}
		patch := client.MergeFrom(svc.DeepCopy())
		delete(svc.Spec.Selector, v1alpha1.DefaultRolloutUniqueLabelKey)
		delete(svc.Annotations, v1alpha1.ManagedByRolloutsKey)
		if err := r.Client.Patch(ctx, svc, patch); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("release service %s: %w", klog.KObj(svc), err)
		}
		ctrl.LoggerFrom(ctx).Info("released service no longer managed", "service", klog.KObj(svc))
	}
	return nil
}

// releaseServicesOfDeleted releases the Services of a Rollout that is gone.
// The cache may not hold a Rollout that exists (another controller
// instance's): only a live read saying it is gone lets its Services go.
func (r *Reconciler) releaseServicesOfDeleted(ctx context.Context, key types.NamespacedName) error {
	var list corev1.ServiceList
	if err := r.Client.List(ctx, &list, client.InNamespace(key.Namespace), client.MatchingFields{managedByIndex: key.Name}); err != nil || len(list.Items) == 0 {
		return err
	}
	if err := r.APIReader.Get(ctx, key, rolloutMetadata(key)); !apierrors.IsNotFound(err) {
		return client.IgnoreNotFound(err)
	}
	return r.releaseServicesOf(ctx, key.Namespace, key.Name, nil)
}

// readyPods counts a ReplicaSet's pods that an endpoint controller would
// list as ready: Ready, with an IP, not terminating. Read uncached.
func (r *Reconciler) readyPods(ctx context.Context, rs *appsv1.ReplicaSet) (int32, error) {
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return 0, fmt.Errorf("selector of replicaset %s: %w", klog.KObj(rs), err)
	}
	var pods corev1.PodList
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(rs.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return 0, fmt.Errorf("list pods of replicaset %s: %w", klog.KObj(rs), err)
	}
	var n int32
	for i := range pods.Items {
		if p := &pods.Items[i]; p.DeletionTimestamp.IsZero() && p.Status.PodIP != "" && podReady(p) {
			n++
		}
	}
	return n, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

const sliceServiceIndex = "endpointslice.service"

// indexSliceService keys an EndpointSlice by the Service it belongs to.
func indexSliceService(obj client.Object) []string {
	if svc := obj.GetLabels()[discoveryv1.LabelServiceName]; svc != "" {
		return []string{svc}
	}
	return nil
}

// SlimEndpointSlice is the cache transform of EndpointSlices: only what
// readyEndpoints counts (each endpoint's pod and readiness) and what the
// cache keys and indexes (name, namespace, the Service's name) are kept,
// so caching every Service's slices costs little.
func SlimEndpointSlice(obj any) (any, error) {
	slice, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	slim := &discoveryv1.EndpointSlice{
		TypeMeta: slice.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: slice.Name, Namespace: slice.Namespace, UID: slice.UID,
			ResourceVersion: slice.ResourceVersion,
		},
		AddressType: slice.AddressType,
		Endpoints:   make([]discoveryv1.Endpoint, 0, len(slice.Endpoints)),
	}
	// The slice controller copies the Service's labels too; only the
	// Service's name is read.
	if svc, ok := slice.Labels[discoveryv1.LabelServiceName]; ok {
		slim.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
	}
	for _, ep := range slice.Endpoints {
		e := discoveryv1.Endpoint{Conditions: discoveryv1.EndpointConditions{Ready: ep.Conditions.Ready}}
		if ep.TargetRef != nil {
			e.TargetRef = &corev1.ObjectReference{Kind: ep.TargetRef.Kind, Name: ep.TargetRef.Name}
		}
		slim.Endpoints = append(slim.Endpoints, e)
	}
	return slim, nil
}

// rolloutsForEndpointSlice maps an EndpointSlice to the Rollout managing
// its Service: a pass waiting for the Service's endpoints goes on at once.
// Slices change with every pod becoming ready, so the Rollout is found by
// the Service's managed-by annotation, one small cached object, rather than
// by listing the Rollouts naming the Service (each decoded from the cache);
// only a Service no Rollout manages yet is looked up that way.
func (r *Reconciler) rolloutsForEndpointSlice(ctx context.Context, obj client.Object) []reconcile.Request {
	name := obj.GetLabels()[discoveryv1.LabelServiceName]
	if name == "" {
		return nil
	}
	var svc corev1.Service
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}, &svc)
	if err == nil {
		if managing := svc.Annotations[v1alpha1.ManagedByRolloutsKey]; managing != "" {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: svc.Namespace, Name: managing}}}
		}
	}
	return r.rolloutsFor(ctx, obj.GetNamespace(), serviceIndex, name)
}
