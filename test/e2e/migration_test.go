package e2e

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/hash"
)

// argoState builds, without any controller running, the objects exactly as
// Argo Rollouts leaves them in the middle of an update of a seed: the
// Rollout at revision 2 with the status Argo wrote, the stable and new
// ReplicaSets named by Argo's hash with Argo's annotations, owned by the
// Rollout, and their pods running.
type argoState struct {
	e            *testEnv
	ro           *v1alpha1.Rollout
	stable, next *appsv1.ReplicaSet
}

func (e *testEnv) argoMidUpdate(file string, stableReplicas, newReplicas int32) *argoState {
	e.t.Helper()
	g, ctx := e.g, context.Background()
	ro := e.seedRollout(file, func(*v1alpha1.Rollout) {})
	g.Expect(e.client.Create(ctx, ro)).To(Succeed())
	// Hash the template as the API server stored it, as Argo does.
	stableTemplate := e.rollout(ro.Name)().Spec.Template
	e.setImage(ro.Name, "backend:v2")
	ro = e.rollout(ro.Name)()
	s := &argoState{e: e, ro: ro}
	s.stable = e.argoReplicaSet(ro, stableTemplate, "1", stableReplicas)
	s.next = e.argoReplicaSet(ro, ro.Spec.Template, "2", newReplicas)
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"rollout.argoproj.io/revision":"2"}}}`))
	g.Expect(e.client.Patch(ctx, ro, patch)).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, rs := range []*appsv1.ReplicaSet{s.stable, s.next} {
			live := &appsv1.ReplicaSet{}
			g.Expect(e.client.Get(ctx, client.ObjectKeyFromObject(rs), live)).To(Succeed())
			g.Expect(live.Status.AvailableReplicas).To(Equal(*rs.Spec.Replicas))
		}
	}).Should(Succeed())
	return s
}

func (e *testEnv) argoReplicaSet(ro *v1alpha1.Rollout, tmpl corev1.PodTemplateSpec, revision string, replicas int32) *appsv1.ReplicaSet {
	e.t.Helper()
	h := hash.PodTemplateHash(&tmpl, nil)
	labels := maps.Clone(tmpl.Labels)
	labels[v1alpha1.DefaultRolloutUniqueLabelKey] = h
	tmpl = *tmpl.DeepCopy()
	tmpl.Labels = labels
	selector := ro.Spec.Selector.DeepCopy()
	selector.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = h
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: ro.Name + "-" + h, Namespace: ro.Namespace, Labels: labels,
			Annotations: map[string]string{
				v1alpha1.RevisionAnnotation:        revision,
				v1alpha1.DesiredReplicasAnnotation: strconv.Itoa(int(ptr.Deref(ro.Spec.Replicas, 1))),
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Selector: selector, Template: tmpl},
	}
	e.g.Expect(e.client.Create(context.Background(), rs)).To(Succeed())
	return rs
}

// setStatus writes the Rollout's status as Argo Rollouts wrote it.
func (s *argoState) setStatus(mutate func(st *v1alpha1.RolloutStatus)) {
	s.e.t.Helper()
	ro := s.e.rollout(s.ro.Name)()
	since := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	cond := func(t v1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, msg string) v1alpha1.RolloutCondition {
		return v1alpha1.RolloutCondition{Type: t, Status: status, Reason: reason, Message: msg, LastUpdateTime: since, LastTransitionTime: since}
	}
	ro.Status = v1alpha1.RolloutStatus{
		CurrentPodHash:     hashOf(s.next),
		StableRS:           hashOf(s.stable),
		ObservedGeneration: v1alpha1.ObservedGenerationString(ro.Generation),
		PauseConditions:    []v1alpha1.PauseCondition{},
		ControllerPause:    true,
		Phase:              v1alpha1.RolloutPhasePaused,
		Conditions: []v1alpha1.RolloutCondition{
			cond(v1alpha1.RolloutAvailable, corev1.ConditionTrue, "AvailableReason", "Rollout has minimum availability"),
			cond(v1alpha1.RolloutCompleted, corev1.ConditionFalse, "RolloutCompleted", "RolloutCompleted"),
			cond(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, "RolloutPaused", "Rollout is paused"),
			cond(v1alpha1.RolloutPaused, corev1.ConditionTrue, "RolloutPaused", "Rollout is paused"),
		},
	}
	mutate(&ro.Status)
	s.e.g.Expect(s.e.client.Status().Update(context.Background(), ro)).To(Succeed())
}

func hashOf(rs *appsv1.ReplicaSet) string { return rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] }

// world is what must not change when Switchyard takes over: every pod (by
// UID), every ReplicaSet (by name and size), every Service selector.
func (e *testEnv) world() map[string]string {
	ctx := context.Background()
	out := map[string]string{}
	pods, err := e.kube.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	e.g.Expect(err).NotTo(HaveOccurred())
	for _, p := range pods.Items {
		out["pod/"+p.Name] = string(p.UID)
	}
	for _, rs := range e.replicaSets() {
		out["rs/"+rs.Name] = strconv.Itoa(int(ptr.Deref(rs.Spec.Replicas, 0)))
	}
	svcs, err := e.kube.CoreV1().Services(e.ns).List(ctx, metav1.ListOptions{})
	e.g.Expect(err).NotTo(HaveOccurred())
	for _, svc := range svcs.Items {
		keys := slices.Sorted(maps.Keys(svc.Spec.Selector))
		for _, k := range keys {
			out["svc/"+svc.Name+"/"+k] = svc.Spec.Selector[k]
		}
	}
	return out
}

// TestMigrationFromArgoRollouts: a canary paused at step 1 and a blue-green
// paused with its preview up, left mid-update by Argo Rollouts, are taken
// over by Switchyard with nothing replaced, added or switched; both then
// promote to Healthy.
func TestMigrationFromArgoRollouts(t *testing.T) {
	t.Parallel()
	e := newBareTestEnv(t)
	g := e.g

	canary := e.argoMidUpdate("canary-rollout.yaml", 7, 3)
	pausedAt := metav1.NewTime(time.Now().Add(-30 * time.Second).Truncate(time.Second))
	canary.setStatus(func(st *v1alpha1.RolloutStatus) {
		st.CurrentStepIndex = ptr.To[int32](1)
		st.CurrentStepHash = hash.StepsHash(canary.ro.Spec.Strategy.Canary.Steps)
		st.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: pausedAt}}
		st.Message = "CanaryPauseStep"
		st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.HPAReplicas = 10, 3, 10, 10, 10
		st.Selector = "app=backend-canary"
	})

	// The blue-green seed's Services, as Argo left them: active on the
	// stable pods, preview on the new ones, both marked as managed.
	bg := e.argoMidUpdate("bluegreen-rollout.yaml", 1, 1)
	for name, rs := range map[string]*appsv1.ReplicaSet{"backend-active": bg.stable, "backend-preview": bg.next} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Annotations: map[string]string{v1alpha1.ManagedByRolloutsKey: bg.ro.Name}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "backend-bluegreen", v1alpha1.DefaultRolloutUniqueLabelKey: hashOf(rs)},
				Ports:    []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
			},
		}
		g.Expect(e.client.Create(context.Background(), svc)).To(Succeed())
	}
	bg.setStatus(func(st *v1alpha1.RolloutStatus) {
		st.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause, StartTime: pausedAt}}
		st.Message = "BlueGreenPause"
		st.BlueGreen = v1alpha1.BlueGreenStatus{ActiveSelector: hashOf(bg.stable), PreviewSelector: hashOf(bg.next)}
		st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.HPAReplicas = 2, 1, 1, 1, 1
		st.Selector = "app=backend-bluegreen,rollouts-pod-template-hash=" + hashOf(bg.stable)
	})

	before := e.world()
	g.Expect(before).To(HaveLen(10+2+2+2+2+2), "12 pods, 4 ReplicaSets, 2 Services with 2 selector keys each")
	e.controller = e.startController()
	// Switchyard has looked at both (the canary's replica weights appear,
	// the blue-green plan is logged) ...
	g.Eventually(func(g Gomega) {
		g.Expect(e.rollout(canary.ro.Name)().Status.Canary.ReplicaWeights).NotTo(BeNil())
		g.Expect(e.controller.log()).To(ContainSubstring(`"msg":"blue-green plan"`))
	}).Should(Succeed())
	// ... and changes nothing: no pod replaced or added, no ReplicaSet
	// created or resized, no selector moved, the canary still at step 1.
	g.Consistently(func(g Gomega) {
		g.Expect(e.world()).To(Equal(before))
		ro := e.rollout(canary.ro.Name)()
		g.Expect(ro.Status.CurrentStepIndex).To(Equal(ptr.To[int32](1)))
		g.Expect(ro.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused))
		g.Expect(e.rollout(bg.ro.Name)().Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused))
	}, 5*time.Second).Should(Succeed())

	e.mustRollouts("promote", canary.ro.Name)
	e.mustRollouts("promote", bg.ro.Name)
	g.Eventually(func(g Gomega) {
		for _, name := range []string{canary.ro.Name, bg.ro.Name} {
			ro := e.rollout(name)()
			g.Expect(phaseOf(ro)).To(Equal("Healthy"), name)
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
		}
		g.Expect(e.service("backend-active")().Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(hashOf(bg.next)))
	}).Should(Succeed())
	g.Expect(e.replicaSets()).To(HaveLen(4), "no new ReplicaSet, even after the promotions")
}
