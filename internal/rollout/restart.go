package rollout

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=list;delete

// restartPods honours spec.restartAt: every pod created before it is
// replaced, one batch at a time within maxUnavailable (at least one pod at a
// time, or a single-replica Rollout could never restart). Pods are read
// uncached and only while a restart is pending.
func (r *Reconciler) restartPods(ctx context.Context, s *scope) (ctrl.Result, error) {
	at := s.ro.Spec.RestartAt
	st := &s.ro.Status
	if at == nil || (st.RestartedAt != nil && !st.RestartedAt.Before(at)) {
		return ctrl.Result{}, nil
	}
	if s.now.Before(at.Time) {
		return requeueAt(at.Sub(s.now)), nil
	}
	selector, err := metav1.LabelSelectorAsSelector(s.ro.Spec.Selector)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("parse selector: %w", err)
	}
	var pods corev1.PodList
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(s.ro.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list pods: %w", err)
	}
	var stale []*corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp == nil && p.CreationTimestamp.Before(at) && s.replicaSetByHash(p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]) != nil {
			stale = append(stale, p)
		}
	}
	var desired, available int32
	for _, rs := range s.replicaSets {
		desired += specReplicas(rs)
		available += rs.Status.AvailableReplicas
	}
	if len(stale) == 0 {
		if available >= desired {
			st.RestartedAt = at.DeepCopy()
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventRestarted, "Restart", "All pods created before %s were restarted", at.UTC().Format(time.RFC3339))
			return ctrl.Result{}, nil
		}
		return requeueAt(time.Second), nil
	}
	maxUnavailable := s.ro.MaxUnavailableOrDefault()
	budget, err := intstr.GetScaledValueFromIntOrPercent(&maxUnavailable, int(desired), false)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("resolve maxUnavailable: %w", err)
	}
	allowed := max(int32(budget), 1) - (desired - available)
	for _, p := range stale {
		if allowed <= 0 {
			break
		}
		err := r.Client.Delete(ctx, p, client.Preconditions{UID: &p.UID})
		if err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("restart pod %s: %w", klog.KObj(p), err)
		}
		allowed--
	}
	return requeueAt(time.Second), nil
}
