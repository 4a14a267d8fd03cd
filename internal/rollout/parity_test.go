package rollout_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// condition returns "status/reason/message" of a condition type, or "".
func condition(ns, name string, t v1alpha1.RolloutConditionType) func() string {
	return func() string {
		ro := get(ns, name)()
		if ro == nil {
			return ""
		}
		c := ro.Status.GetCondition(t)
		if c == nil {
			return ""
		}
		return string(c.Status) + "/" + c.Reason + "/" + c.Message
	}
}

// events lists a Rollout's events, oldest first, as "Reason: note".
func events(g *WithT, ns, name string) []string {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	items := slices.DeleteFunc(list.Items, func(e eventsv1.Event) bool { return e.Regarding.Kind != "Rollout" || e.Regarding.Name != name })
	sort.SliceStable(items, func(i, j int) bool { return items[i].EventTime.Before(&items[j].EventTime) })
	var out []string
	for _, e := range items {
		out = append(out, e.Reason+": "+e.Note)
	}
	return out
}

// promote clears the pause conditions, as `kubectl argo rollouts promote` does.
func promote(g *WithT, ns, name string) {
	patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"pauseConditions":null}}`))
	g.Expect(k8sClient.Status().Patch(context.Background(), &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, patch)).To(Succeed())
}

func setImage(g *WithT, ns, name, image string) {
	patch := client.RawPatch(types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"`+image+`"}]`))
	g.Expect(k8sClient.Patch(context.Background(), &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, patch)).To(Succeed())
}

// TestCanaryConditionsAndEvents: the seed canary's conditions at each stage
// and its events, as the reference writes them.
func TestCanaryConditionsAndEvents(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](4)
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	first := get(ns, ro.Name)()
	rs1 := ro.Name + "-" + first.Status.CurrentPodHash
	g.Expect(first.Status.CurrentStepIndex).To(Equal(ptr.To[int32](2)))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutProgressing)()).To(Equal(`True/NewReplicaSetAvailable/ReplicaSet "` + rs1 + `" has successfully progressed.`))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutCompleted)()).To(Equal("True/RolloutCompleted/RolloutCompleted"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutHealthy)()).To(Equal("True/RolloutHealthy/Rollout is healthy"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutAvailable)()).To(Equal("True/AvailableReason/Rollout has minimum availability"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutPaused)()).To(BeEmpty(), "never paused: no Paused condition")

	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	paused := get(ns, ro.Name)()
	rs2 := ro.Name + "-" + paused.Status.CurrentPodHash
	g.Expect(paused.Status.Message).To(Equal("CanaryPauseStep"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutProgressing)()).To(Equal("Unknown/RolloutPaused/Rollout is paused"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutPaused)()).To(Equal("True/RolloutPaused/Rollout is paused"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutCompleted)()).To(Equal("False/RolloutCompleted/RolloutCompleted"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutHealthy)()).To(Equal("False/RolloutHealthy/Rollout is not healthy"))

	promote(g, ns, ro.Name)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutPaused)()).To(Equal("False/RolloutPaused/Rollout is paused"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutProgressing)()).To(Equal(`True/NewReplicaSetAvailable/ReplicaSet "` + rs2 + `" has successfully progressed.`))

	g.Eventually(func() []string { return events(g, ns, ro.Name) }).Should(ContainElements(
		"RolloutUpdated: Rollout updated to revision 1",
		"NewReplicaSetCreated: Created ReplicaSet "+rs1+" (revision 1)",
		"ScalingReplicaSet: Scaled up ReplicaSet "+rs1+" (revision 1) from 0 to 4",
		"RolloutCompleted: Rollout completed update to revision 1 ("+first.Status.CurrentPodHash+"): Initial deploy",
		"RolloutUpdated: Rollout updated to revision 2",
		"NewReplicaSetCreated: Created ReplicaSet "+rs2+" (revision 2)",
		"RolloutNotCompleted: Rollout not completed, started update to revision 2 ("+paused.Status.CurrentPodHash+")",
		"RolloutStepCompleted: Rollout step 1/2 completed (setWeight: 30)",
		"RolloutPaused: Rollout is paused (CanaryPauseStep)",
		// No RolloutResumed: a promote clears the pause conditions itself,
		// and the reference announces only pauses the controller lifts.
		"RolloutStepCompleted: Rollout step 2/2 completed (pause)",
		"RolloutCompleted: Rollout completed update to revision 2 ("+paused.Status.CurrentPodHash+"): Completed all 2 canary steps",
	))
	for _, e := range events(g, ns, ro.Name) {
		g.Expect(e).NotTo(HavePrefix("RolloutNotCompleted: Rollout not completed, started update to revision 1"),
			"the first revision is stable at once: never 'not completed'")
		g.Expect(e).NotTo(HavePrefix("RolloutResumed"))
	}
}

// TestCanaryAbortPointsCanaryServiceBack: on abort the canary Service goes
// back to the stable pods at once, before the canary pods go.
func TestCanaryAbortPointsCanaryServiceBack(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	for _, name := range []string{"backend-canary-svc", "backend-stable-svc"} {
		g.Expect(k8sClient.Create(ctx, service(ns, name, "backend-canary"))).To(Succeed())
	}
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](4)
	ro.Spec.Strategy.Canary.CanaryService = "backend-canary-svc"
	ro.Spec.Strategy.Canary.StableService = "backend-stable-svc"
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	stable := get(ns, ro.Name)().Status.StableRS
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	canary := get(ns, ro.Name)().Status.CurrentPodHash
	g.Eventually(selects(ns, "backend-canary-svc")).Should(Equal(canary))

	abort := client.RawPatch(types.MergePatchType, []byte(`{"status":{"abort":true}}`))
	g.Expect(k8sClient.Status().Patch(ctx, &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ro.Name}}, abort)).To(Succeed())
	// Every observation until the canary is drained: once the abort is
	// seen, the canary Service never selects the canary again.
	g.Eventually(func(g Gomega) {
		ro := get(ns, ro.Name)()
		rs := &appsv1.ReplicaSet{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: ro.Name + "-" + canary}, rs)).To(Succeed())
		g.Expect(selects(ns, "backend-canary-svc")()).To(Equal(stable))
		g.Expect(ro.Status.Phase).To(Equal(v1alpha1.RolloutPhaseDegraded))
		g.Expect(rs.Status.Replicas).To(BeZero())
	}).Should(Succeed())
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutProgressing)()).To(Equal("False/RolloutAborted/Rollout aborted update to revision 2"))
}

// TestBlueGreenCountsAndManualPause: a blue-green Rollout's ready and
// available counts are the active ReplicaSet's; spec.paused gives the
// reference's conditions and phase.
func TestBlueGreenCountsAndManualPause(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	ro := seedBlueGreen(t, g, ns)
	ro.Spec.Replicas = ptr.To[int32](2)
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(func(g Gomega) {
		ro := get(ns, ro.Name)()
		g.Expect(ro.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused))
		g.Expect(ro.Status.Message).To(Equal("BlueGreenPause"))
		g.Expect(ro.Status.Replicas).To(Equal(int32(4)), "both ReplicaSets' pods exist")
		g.Expect(ro.Status.UpdatedReplicas).To(Equal(int32(2)))
		g.Expect(ro.Status.ReadyReplicas).To(Equal(int32(2)), "only the active ReplicaSet's")
		g.Expect(ro.Status.AvailableReplicas).To(Equal(int32(2)), "only the active ReplicaSet's")
		g.Expect(ro.Status.HPAReplicas).To(Equal(int32(2)))
		g.Expect(ro.Status.Selector).To(Equal("app=backend-bluegreen,rollouts-pod-template-hash=" + ro.Status.StableRS))
	}).Should(Succeed())

	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"paused":true}}`))
	g.Expect(k8sClient.Patch(ctx, &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ro.Name}}, patch)).To(Succeed())
	g.Eventually(func(g Gomega) {
		ro := get(ns, ro.Name)()
		g.Expect(ro.Status.ObservedGeneration).To(Equal(v1alpha1.ObservedGenerationString(ro.Generation)))
		g.Expect(ro.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused))
		g.Expect(ro.Status.Message).To(Equal("manually paused"))
	}).Should(Succeed())
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutPaused)()).To(Equal("True/RolloutPaused/Rollout is paused"))
	g.Expect(condition(ns, ro.Name, v1alpha1.RolloutProgressing)()).To(Equal("Unknown/RolloutPaused/Rollout is paused"))
}

// TestBlueGreenToCanary: switching strategy keeps the pods of the running
// revision and gives the active Service back (its hash selector and the
// managed-by annotation removed), as the reference leaves it.
func TestBlueGreenToCanary(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	g.Expect(k8sClient.Create(ctx, service(ns, "bg-to-canary", "backend-bluegreen"))).To(Succeed())
	ro := seed(t, g, "bluegreen-rollout.yaml", ns)
	ro.Name = "bg-to-canary"
	ro.Spec.Replicas = ptr.To[int32](2)
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "bg-to-canary", ScaleDownDelaySeconds: ptr.To[int32](5)}
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	stable := get(ns, ro.Name)().Status.StableRS
	g.Expect(selects(ns, "bg-to-canary")()).To(Equal(stable))

	switchPatch, err := json.Marshal(map[string]any{"spec": map[string]any{
		"template": map[string]any{"metadata": map[string]any{"annotations": map[string]string{"foo": "bar"}}},
		"strategy": map[string]any{"blueGreen": nil, "canary": map[string]any{"steps": []any{
			map[string]any{"setWeight": 50}, map[string]any{"pause": map[string]any{}}}}},
	}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(k8sClient.Patch(ctx, &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ro.Name}},
		client.RawPatch(types.MergePatchType, switchPatch))).To(Succeed())
	g.Eventually(func(g Gomega) {
		ro := get(ns, ro.Name)()
		g.Expect(ro.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused))
		g.Expect([]int32{ro.Status.Replicas, ro.Status.UpdatedReplicas, ro.Status.ReadyReplicas, ro.Status.AvailableReplicas}).
			To(Equal([]int32{2, 1, 2, 2}), "current, updated, ready, available")
		g.Expect(ro.Status.StableRS).To(Equal(stable))
		svc := &corev1.Service{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bg-to-canary"}, svc)).To(Succeed())
		g.Expect(svc.Spec.Selector).To(Equal(map[string]string{"app": "backend-bluegreen"}))
		g.Expect(svc.Annotations).NotTo(HaveKey(v1alpha1.ManagedByRolloutsKey))
	}).Should(Succeed())
}

// TestCanaryToBlueGreen: switching back gives the canary and stable
// Services back (no hash selector, no managed-by annotation) and the
// blue-green Services take over, with no restart of the running revision.
func TestCanaryToBlueGreen(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	for _, name := range []string{"c2bg-canary", "c2bg-stable", "c2bg-active"} {
		g.Expect(k8sClient.Create(ctx, service(ns, name, "backend-canary"))).To(Succeed())
	}
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](2)
	ro.Spec.Strategy.Canary.CanaryService, ro.Spec.Strategy.Canary.StableService = "c2bg-canary", "c2bg-stable"
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	stable := get(ns, ro.Name)().Status.StableRS
	g.Eventually(selects(ns, "c2bg-stable")).Should(Equal(stable))
	var pods corev1.PodList
	g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())

	patch := []byte(`{"spec":{"strategy":{"canary":null,"blueGreen":{"activeService":"c2bg-active"}}}}`)
	g.Expect(k8sClient.Patch(ctx, &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ro.Name}},
		client.RawPatch(types.MergePatchType, patch))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
		g.Expect(selects(ns, "c2bg-active")()).To(Equal(stable))
		for _, name := range []string{"c2bg-canary", "c2bg-stable"} {
			svc := &corev1.Service{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, svc)).To(Succeed())
			g.Expect(svc.Spec.Selector).To(Equal(map[string]string{"app": "backend-canary"}), name)
			g.Expect(svc.Annotations).NotTo(HaveKey(v1alpha1.ManagedByRolloutsKey), name)
		}
	}).Should(Succeed())
	var after corev1.PodList
	g.Expect(k8sClient.List(ctx, &after, client.InNamespace(ns))).To(Succeed())
	g.Expect(after.Items).To(HaveLen(len(pods.Items)))
	for i := range pods.Items {
		g.Expect(after.Items).To(ContainElement(HaveField("UID", pods.Items[i].UID)), "no pod restarted")
	}
}
