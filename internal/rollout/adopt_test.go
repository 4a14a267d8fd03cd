package rollout_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// orphan is a ReplicaSet of app with no controller, as Argo Rollouts
// leaves one when its Rollout is deleted with --cascade=orphan.
func orphan(ns, app, hash string) *appsv1.ReplicaSet {
	l := map[string]string{"app": app, v1alpha1.DefaultRolloutUniqueLabelKey: hash}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app + "-" + hash, Labels: l},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:0"}}},
			},
		},
	}
}

// TestAdoptsOrphanReplicaSets: a Rollout adopts the ReplicaSets without a
// controller that its selector matches, and no other.
func TestAdoptsOrphanReplicaSets(t *testing.T) {
	ns, g := newNamespace(t)
	ctx := context.Background()
	mine, other := orphan(ns, "adopter", "abc"), orphan(ns, "bystander", "def")
	g.Expect(k8sClient.Create(ctx, mine)).To(Succeed())
	g.Expect(k8sClient.Create(ctx, other)).To(Succeed())
	app := map[string]string{"app": "adopter"}
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "adopter"},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: app},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: app},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}},
		},
	}
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &appsv1.ReplicaSet{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mine), got)).To(Succeed())
		g.Expect(metav1.IsControlledBy(got, ro)).To(BeTrue(), "owner references %v", got.OwnerReferences)
	}).Should(Succeed())
	// By then the Rollout has its own new ReplicaSet too; the bystander
	// is left alone.
	g.Eventually(get(ns, "adopter")).Should(HaveField("Status.CurrentPodHash", Not(BeEmpty())))
	got := &appsv1.ReplicaSet{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(other), got)).To(Succeed())
	g.Expect(got.OwnerReferences).To(BeEmpty())
}
