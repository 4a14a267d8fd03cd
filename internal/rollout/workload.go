package rollout

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/validation"
)

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=podtemplates,verbs=get;list;watch

const workloadIndex = "rollout.workloadRef"

// Workload kinds a workloadRef may name, and where their template lives.
var (
	deploymentKind  = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	replicaSetKind  = schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}
	podTemplateKind = schema.GroupKind{Group: "", Kind: "PodTemplate"}
)

// indexWorkload keys a Rollout by the workload it references.
func indexWorkload(ro *v1alpha1.Rollout) []string {
	if ro.Spec.WorkloadRef == nil {
		return nil
	}
	return []string{workloadKey(workloadGroupKind(ro.Spec.WorkloadRef), ro.Spec.WorkloadRef.Name)}
}

func workloadKey(gk schema.GroupKind, name string) string { return gk.String() + "/" + name }

func workloadGroupKind(ref *v1alpha1.ObjectRef) schema.GroupKind {
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	return schema.GroupKind{Group: gv.Group, Kind: ref.Kind}
}

// resolveWorkload takes the pod template (and the selector, when the
// Rollout has none) from the workload that workloadRef names. The template
// is used for this pass only and never written back. A missing workload or
// an unsupported kind is an invalid spec: nothing is touched.
func (r *Reconciler) resolveWorkload(ctx context.Context, s *scope) (ctrl.Result, error) {
	ref := s.ro.Spec.WorkloadRef
	if ref == nil {
		s.ro.Status.WorkloadObservedGeneration = ""
		return ctrl.Result{}, nil
	}
	gk := workloadGroupKind(ref)
	if err := r.watchWorkloads(gk); err != nil {
		return ctrl.Result{}, err
	}
	var (
		obj      client.Object
		template func() (corev1.PodTemplateSpec, *metav1.LabelSelector)
	)
	switch gk {
	case deploymentKind:
		d := &appsv1.Deployment{}
		obj, template = d, func() (corev1.PodTemplateSpec, *metav1.LabelSelector) { return d.Spec.Template, d.Spec.Selector }
	case replicaSetKind:
		rs := &appsv1.ReplicaSet{}
		obj, template = rs, func() (corev1.PodTemplateSpec, *metav1.LabelSelector) { return rs.Spec.Template, rs.Spec.Selector }
	case podTemplateKind:
		pt := &corev1.PodTemplate{}
		obj, template = pt, func() (corev1.PodTemplateSpec, *metav1.LabelSelector) { return pt.Template, nil }
	default:
		s.invalid = fmt.Sprintf("spec.workloadRef: workload of type %s/%s is not supported", gk.Group, gk.Kind)
		s.stop = true
		return ctrl.Result{}, nil
	}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: s.ro.Namespace, Name: ref.Name}, obj)
	if apierrors.IsNotFound(err) {
		s.invalid = fmt.Sprintf("spec.workloadRef.name: Not found: %s %q", ref.Kind, ref.Name)
		s.stop = true
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("get %s %s: %w", ref.Kind, ref.Name, err)
	}
	tmpl, selector := template()
	for _, ro := range []*v1alpha1.Rollout{s.ro, s.original} {
		ro.Spec.Template = *tmpl.DeepCopy()
		if ro.Spec.Selector == nil {
			ro.Spec.Selector = selector.DeepCopy()
		}
	}
	s.workload = obj
	if errs := validation.ResolvedTemplate(s.ro); len(errs) > 0 {
		s.invalid = errs.ToAggregate().Error()
		s.stop = true
		return ctrl.Result{}, nil
	}
	generation := strconv.FormatInt(obj.GetGeneration(), 10)
	s.ro.Status.WorkloadObservedGeneration = generation
	return ctrl.Result{}, r.annotateRollout(ctx, s, v1alpha1.WorkloadGenerationAnnotation, generation)
}

// watchWorkloads starts, once per kind, a metadata-only watch of the kind a
// workloadRef names, so that editing the workload reconciles its Rollouts.
// Nothing is watched (or cached) for kinds no Rollout references.
func (r *Reconciler) watchWorkloads(gk schema.GroupKind) error {
	if r.controller == nil {
		return nil
	}
	once, _ := r.workloadWatches.LoadOrStore(gk, &sync.Once{})
	var err error
	once.(*sync.Once).Do(func() {
		version := "v1"
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(gk.WithVersion(version))
		mapFn := func(ctx context.Context, obj *metav1.PartialObjectMetadata) []reconcile.Request {
			return r.rolloutsFor(ctx, obj.GetNamespace(), workloadIndex, workloadKey(gk, obj.GetName()))
		}
		err = r.controller.Watch(source.Kind(r.cache, meta, handler.TypedEnqueueRequestsFromMapFunc(mapFn)))
	})
	if err != nil {
		r.workloadWatches.Delete(gk)
		return fmt.Errorf("watch %s: %w", gk, err)
	}
	return nil
}

// scaleDownWorkload scales the referenced Deployment down as the Rollout
// takes over its traffic (workloadRef.scaleDown), during the migration's
// first revision only, as the reference does: onsuccess once the Rollout
// is Healthy, progressively as its pods become ready. The Deployment's own
// pods are never touched before the Rollout's are available.
func (r *Reconciler) scaleDownWorkload(ctx context.Context, s *scope) (ctrl.Result, error) {
	ref := s.ro.Spec.WorkloadRef
	d, ok := s.workload.(*appsv1.Deployment)
	if ref == nil || !ok || s.newRS == nil || revision(s.newRS) != 1 {
		return ctrl.Result{}, nil
	}
	prev := &s.original.Status
	healthy := prev.Phase == v1alpha1.RolloutPhaseHealthy && prev.CurrentPodHash == s.newHash
	replicas := s.ro.ReplicasOrDefault()
	current := int32(1)
	if d.Spec.Replicas != nil {
		current = *d.Spec.Replicas
	}
	want := current
	switch ref.ScaleDown {
	case v1alpha1.ScaleDownOnSuccess:
		if healthy {
			want = 0
		}
	case v1alpha1.ScaleDownProgressively:
		switch {
		case healthy:
			want = 0
		case prev.ReadyReplicas > 0:
			// Grows back if the Rollout loses ready pods.
			want = min(max(replicas-prev.ReadyReplicas, 0), replicas)
		}
	}
	if want == current {
		return ctrl.Result{}, nil
	}
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, want))
	if err := r.Client.Patch(ctx, d, patch); err != nil {
		return ctrl.Result{}, fmt.Errorf("scale deployment %s to %d: %w", klog.KObj(d), want, err)
	}
	ctrl.LoggerFrom(ctx).Info("scaled referenced deployment", "deployment", klog.KObj(d), "from", current, "to", want)
	return ctrl.Result{}, nil
}
