package rollout

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/requeue"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups="",resources=pods/eviction,verbs=create

// restartPods honours spec.restartAt: every pod created before it is
// replaced, through the Eviction API (so PodDisruptionBudgets hold), never
// taking more pods down than maxUnavailable allows (at least one at a time,
// or a Rollout with maxUnavailable 0 could never restart). What is down is
// counted from the pods themselves, read live, not from ReplicaSet status
// that lags behind the evictions just made. The stable ReplicaSet's pods go
// first, then the new one's, then older ones, oldest first.
func (r *Reconciler) restartPods(ctx context.Context, s *scope) (ctrl.Result, error) {
	at := s.ro.Spec.RestartAt
	st := &s.ro.Status
	if at == nil || (st.RestartedAt != nil && !st.RestartedAt.Before(at)) {
		return ctrl.Result{}, nil
	}
	if s.now.Before(at.Time) {
		return requeue.After(at.Sub(s.now)), nil
	}
	selector, err := metav1.LabelSelectorAsSelector(s.ro.Spec.Selector)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("parse selector: %w", err)
	}
	var pods corev1.PodList
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(s.ro.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list pods: %w", err)
	}
	var desired, available int32
	for _, rs := range s.replicaSets {
		desired += specReplicas(rs)
	}
	var stale []*corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if s.replicaSetByHash(p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]) == nil || !p.DeletionTimestamp.IsZero() {
			continue
		}
		if podAvailable(p, s.ro.Spec.MinReadySeconds, s.now) {
			available++
		}
		if p.CreationTimestamp.Before(at) {
			stale = append(stale, p)
		}
	}
	if len(stale) == 0 {
		if available >= desired {
			st.RestartedAt = at.DeepCopy()
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventRestarted, "Restart", "All pods created before %s were restarted", at.UTC().Format(time.RFC3339))
			return ctrl.Result{}, nil
		}
		return requeue.After(time.Second), nil
	}
	maxUnavailable := s.ro.MaxUnavailableOrDefault()
	budget, err := intstr.GetScaledValueFromIntOrPercent(&maxUnavailable, int(desired), false)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("resolve maxUnavailable: %w", err)
	}
	allowed := max(int32(budget), 1) - max(desired-available, 0)
	sort.SliceStable(stale, func(i, j int) bool { return r.restartOrder(s, stale[i]) < r.restartOrder(s, stale[j]) })
	for _, p := range stale {
		if allowed <= 0 {
			break
		}
		eviction := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
			DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}}}
		err := r.Client.SubResource("eviction").Create(ctx, p, eviction)
		switch {
		case apierrors.IsTooManyRequests(err):
			// A PodDisruptionBudget says not now.
			ctrl.LoggerFrom(ctx).V(1).Info("eviction refused by a disruption budget", "pod", klog.KObj(p))
			return requeue.After(time.Second), nil
		case err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err):
			return ctrl.Result{}, fmt.Errorf("evict pod %s: %w", klog.KObj(p), err)
		}
		allowed--
	}
	return requeue.After(time.Second), nil
}

// restartOrder ranks a pod by its ReplicaSet: stable first, then the new
// one, then older revisions, oldest first.
func (r *Reconciler) restartOrder(s *scope, p *corev1.Pod) int64 {
	switch h := p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; h {
	case s.ro.Status.StableRS:
		return -2
	case s.newHash:
		return -1
	default:
		return revision(s.replicaSetByHash(h))
	}
}

// podAvailable: Ready for at least minReadySeconds, as a ReplicaSet counts
// availability.
func podAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue &&
				!c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).After(now)
		}
	}
	return false
}
