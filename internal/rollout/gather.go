package rollout

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/validation"
)

const (
	serviceIndex = "rollout.services"
	ownerIndex   = "replicaset.rolloutOwner"
	orphanIndex  = "replicaset.orphan"
)

// specVersion is one version of a Rollout's spec: the Rollout's UID and
// generation, which the API server raises with every change to the spec.
type specVersion struct {
	uid        types.UID
	generation int64
}

// indexServices lists the Services a Rollout names, for the Service watch.
func indexServices(ro *v1alpha1.Rollout) []string { return referencedServices(ro) }

// indexOwner is the name of the Rollout controlling a ReplicaSet.
func indexOwner(obj client.Object) []string {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.Kind != "Rollout" || !strings.HasPrefix(ref.APIVersion, v1alpha1.GroupVersion.Group+"/") {
		return nil
	}
	return []string{ref.Name}
}

// indexOrphan keys a ReplicaSet without a controller "true": the ones a
// Rollout may adopt.
func indexOrphan(obj client.Object) []string {
	if metav1.GetControllerOf(obj) != nil {
		return nil
	}
	return []string{"true"}
}

// referencedServices are the Service names a Rollout's strategy uses.
func referencedServices(ro *v1alpha1.Rollout) []string {
	var names []string
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		names = append(names, bg.ActiveService, bg.PreviewService)
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		names = append(names, c.CanaryService, c.StableService)
		if pp := c.PingPong; pp != nil && c.TrafficRouting != nil {
			names = append(names, pp.PingService, pp.PongService)
		}
	}
	out := names[:0]
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// validate checks the spec without I/O. An invalid spec stops the pass
// before any write to ReplicaSets or Services: running pods are left alone.
// A spec found valid is not checked again until its generation changes
// (validSpecs).
func (r *Reconciler) validate(ctx context.Context, s *scope) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(s.ro)
	checked := specVersion{uid: s.ro.UID, generation: s.ro.Generation}
	if v, ok := r.validSpecs.Load(key); ok && v.(specVersion) == checked {
		return ctrl.Result{}, nil
	}
	errs := validation.Rollout(s.ro)
	if len(errs) == 0 {
		if checked.generation > 0 {
			r.validSpecs.Store(key, checked)
		}
		return ctrl.Result{}, nil
	}
	s.invalid = errs.ToAggregate().Error()
	s.stop = true
	ctrl.LoggerFrom(ctx).Info("invalid spec", "reason", s.invalid)
	return ctrl.Result{}, nil
}

// gather reads the Rollout's ReplicaSets and Services. ReplicaSets that
// match the selector but have no controller are adopted, so that a
// namespace moved from Argo Rollouts keeps its pods.
func (r *Reconciler) gather(ctx context.Context, s *scope) (ctrl.Result, error) {
	for _, name := range referencedServices(s.ro) {
		svc := &corev1.Service{}
		key := types.NamespacedName{Namespace: s.ro.Namespace, Name: name}
		err := r.Client.Get(ctx, key, svc)
		if apierrors.IsNotFound(err) && r.APIReader != nil {
			// A Service created just before its Rollout may not be in the
			// cache yet: only the API server may call it missing.
			err = r.APIReader.Get(ctx, key, svc)
		}
		if apierrors.IsNotFound(err) {
			s.invalid = fmt.Sprintf("%s: Not found: Service %q", serviceField(s.ro, name), name)
			s.stop = true
			return ctrl.Result{}, nil
		}
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("get service %s: %w", name, err)
		}
		s.services[name] = svc
	}
	if errs := trafficrouting.ValidateServices(s.ro, s.services); len(errs) > 0 {
		s.invalid = errs.ToAggregate().Error()
		s.stop = true
		return ctrl.Result{}, nil
	}

	selector, err := metav1.LabelSelectorAsSelector(s.ro.Spec.Selector)
	if err != nil {
		// validation rejects such selectors; defensive only.
		return ctrl.Result{}, fmt.Errorf("parse selector: %w", err)
	}
	var owned appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &owned, client.InNamespace(s.ro.Namespace), client.MatchingFields{ownerIndex: s.ro.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list replicasets: %w", err)
	}
	for i := range owned.Items {
		rs := &owned.Items[i]
		if metav1.IsControlledBy(rs, s.ro) {
			s.replicaSets = append(s.replicaSets, rs)
		}
	}
	// Only ReplicaSets without a controller can be adopted: listed by that
	// index, a pass does not scan every ReplicaSet of a namespace of
	// thousands of Rollouts.
	var candidates appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &candidates, client.InNamespace(s.ro.Namespace), client.MatchingFields{orphanIndex: "true"}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list replicasets: %w", err)
	}
	for i := range candidates.Items {
		rs := &candidates.Items[i]
		if metav1.GetControllerOf(rs) != nil || !rs.DeletionTimestamp.IsZero() {
			continue
		}
		if !selector.Matches(labels.Set(rs.Labels)) || !selector.Matches(labels.Set(rs.Spec.Template.Labels)) {
			continue
		}
		if err := r.adopt(ctx, s, rs); err != nil {
			return ctrl.Result{}, err
		}
		s.replicaSets = append(s.replicaSets, rs)
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) adopt(ctx context.Context, s *scope, rs *appsv1.ReplicaSet) error {
	patch := client.MergeFromWithOptions(rs.DeepCopy(), client.MergeFromWithOptimisticLock{})
	rs.OwnerReferences = append(rs.OwnerReferences, *metav1.NewControllerRef(s.ro, v1alpha1.GroupVersion.WithKind("Rollout")))
	if err := r.Client.Patch(ctx, rs, patch); err != nil {
		return fmt.Errorf("adopt replicaset %s: %w", klog.KObj(rs), err)
	}
	ctrl.LoggerFrom(ctx).Info("adopted ReplicaSet", "replicaSet", klog.KObj(rs))
	return nil
}

func serviceField(ro *v1alpha1.Rollout, name string) string {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		if bg.ActiveService == name {
			return "spec.strategy.blueGreen.activeService"
		}
		return "spec.strategy.blueGreen.previewService"
	}
	c := ro.Spec.Strategy.Canary
	switch {
	case c.CanaryService == name:
		return "spec.strategy.canary.canaryService"
	case c.PingPong != nil && c.PingPong.PingService == name:
		return "spec.strategy.canary.pingPong.pingService"
	case c.PingPong != nil && c.PingPong.PongService == name:
		return "spec.strategy.canary.pingPong.pongService"
	}
	return "spec.strategy.canary.stableService"
}

// controlledNamed is the object of that name the Rollout controls (an
// AnalysisRun or Experiment): from cached, the pass's cached ones, or read
// live when the cache does not have it yet (one the last pass created), so
// one recorded in status is never taken for missing and created twice.
// The zero T (nil) when there is none.
func controlledNamed[T client.Object](ctx context.Context, r *Reconciler, s *scope, cached []T, name string, live T) (T, error) {
	var none T
	if name == "" {
		return none, nil
	}
	for _, obj := range cached {
		if obj.GetName() == name {
			return obj, nil
		}
	}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: s.ro.Namespace, Name: name}, live)
	if apierrors.IsNotFound(err) {
		return none, nil
	}
	if err != nil {
		kind := strings.ToLower(reflect.TypeOf(live).Elem().Name())
		return none, fmt.Errorf("get %s %s/%s: %w", kind, s.ro.Namespace, name, err)
	}
	if !metav1.IsControlledBy(live, s.ro) {
		return none, nil
	}
	return live, nil
}
