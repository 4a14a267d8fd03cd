package main

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// controlPlaneProbe tells when the cluster's own controllers answer again
// after kube-apiserver restarted: a ReplicaSet of its own namespace is
// resized and must reach its size with ready pods, which takes
// kube-controller-manager's ReplicaSet controller and informers, the
// scheduler and kwok all caught up with the new API server.
//
// Restarting kube-apiserver again before they caught up starves them: each
// relists from scratch after every restart, and restarts a few seconds
// apart left kube-controller-manager's pod informer behind for minutes
// (its ReplicaSet controller refused to act on a cache older than its own
// writes), so no Rollout, ours or anyone's, could progress. That is a
// control plane down, not one that restarts; the next restart waits for
// the probe.
type controlPlaneProbe struct {
	kube kubernetes.Interface
	ns   string
	size int32
}

const probeName = "control-plane-probe"

func newControlPlaneProbe(ctx context.Context, kube kubernetes.Interface, ns string) (*controlPlaneProbe, error) {
	p := &controlPlaneProbe{kube: kube, ns: ns}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create probe namespace: %w", err)
	}
	labels := map[string]string{"app": probeName}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: probeName, Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "probe", Image: "probe:1"}},
				},
			},
		},
	}
	if _, err := kube.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create probe ReplicaSet: %w", err)
	}
	return p, nil
}

// answered resizes the probe ReplicaSet (1, then 0, then 1, ...) and waits
// until its status shows the new size, every pod ready, or until timeout.
func (p *controlPlaneProbe) answered(ctx context.Context, timeout time.Duration) error {
	p.size = 1 - p.size
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		rs, err := p.kube.AppsV1().ReplicaSets(p.ns).Get(ctx, probeName, metav1.GetOptions{})
		if err != nil {
			return false, nil // the API server may still be settling
		}
		if ptr.Deref(rs.Spec.Replicas, 0) != p.size {
			rs.Spec.Replicas = ptr.To(p.size)
			_, _ = p.kube.AppsV1().ReplicaSets(p.ns).Update(ctx, rs, metav1.UpdateOptions{})
			return false, nil
		}
		s := rs.Status
		return s.ObservedGeneration == rs.Generation && s.Replicas == p.size && s.ReadyReplicas == p.size, nil
	})
}

func (p *controlPlaneProbe) delete(ctx context.Context) {
	_ = p.kube.CoreV1().Namespaces().Delete(ctx, p.ns, metav1.DeleteOptions{})
}
