package clustertest

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/routers"
)

// TestPlannerDrivesRouters plays a whole canary the way the reconciler
// will: each pass plans from the status as read, runs the plan against the
// Gateway API and NGINX routers, records the weights, and sizes the
// ReplicaSets (whose pods are taken to become available at once). Pauses
// are promoted. After every pass it samples the objects: the weights add up
// to 100, the canary only has weight its available pods can carry, and the
// sequence of weights is exactly the steps'.
func TestPlannerDrivesRouters(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  rules:
  - backendRefs: [{name: stable, port: 80, weight: 100}, {name: canary, port: 80, weight: 0}]
`)
	stableIngress(g, ns, "web")
	target := rolloutIn(t, g, ns, func(ro *v1alpha1.Rollout) {
		gatewayRollout(`{"httpRoute":"web"}`)(ro)
		nginxRollout(v1alpha1.NginxTrafficRouting{StableIngress: "web"})(ro)
		ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{
			{SetWeight: ptr.To[int32](30)}, {Pause: &v1alpha1.RolloutPause{}},
			{SetWeight: ptr.To[int32](60)}, {Pause: &v1alpha1.RolloutPause{}},
		}
	})
	ro := target.Rollout
	ro.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
	ro.Status = v1alpha1.RolloutStatus{StableRS: "v1", CurrentStepIndex: ptr.To[int32](0),
		Canary: v1alpha1.CanaryStatus{Weights: &v1alpha1.TrafficWeights{
			Canary: v1alpha1.WeightDestination{PodTemplateHash: "v1", ServiceName: "canary"},
			Stable: v1alpha1.WeightDestination{Weight: 100, PodTemplateHash: "v1", ServiceName: "stable"}}}}
	sets := map[string]*tr.ReplicaSet{"v1": {Hash: "v1", Replicas: 10, Available: 10, Created: 10}}

	sample := func() (canary, stable int64) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(httpRouteGVK)
		g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, u)).To(Succeed())
		rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
		for _, ref := range rules[0].(map[string]any)["backendRefs"].([]any) {
			m := ref.(map[string]any)
			switch m["name"] {
			case "canary":
				canary = m["weight"].(int64)
			case "stable":
				stable = m["weight"].(int64)
			}
		}
		return canary, stable
	}

	var seen []int64
	for pass := 0; pass < 40; pass++ {
		input := tr.Input{Rollout: ro.DeepCopy(), NewHash: "v2"}
		for _, rs := range sets {
			input.ReplicaSets = append(input.ReplicaSets, *rs)
		}
		plan := tr.PlanPass(input)
		rts, err := routers.For(controller, tr.Target{Rollout: input.Rollout, CanaryService: "canary", StableService: "stable"}, routers.Options{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(rts).To(HaveLen(2))
		out, err := tr.Execute(ctx, rts, plan)
		g.Expect(err).NotTo(HaveOccurred(), "pass %d", pass)
		if !plan.Gated {
			w := tr.Weights(ro, plan.Desired)
			w.Verified = out.Verified
			ro.Status.Canary.Weights = w
		}

		canary, stable := sample()
		g.Expect(canary+stable).To(BeEquivalentTo(100), "pass %d", pass)
		if canary > 0 {
			nr := sets["v2"]
			g.Expect(nr).NotTo(BeNil())
			g.Expect(int64(nr.Available)*100).To(BeNumerically(">=", canary*10), "pass %d: %d%% on %d available pods", pass, canary, nr.Available)
		}
		if len(seen) == 0 || seen[len(seen)-1] != canary {
			seen = append(seen, canary)
		}

		// The step machine and promotion, as the reconciler will do them.
		index := int(*ro.Status.CurrentStepIndex)
		steps := ro.Spec.Strategy.Canary.Steps
		switch {
		case ro.Status.StableRS == "v2":
		case index < len(steps) && steps[index].Pause != nil:
			ro.Status.CurrentStepIndex = ptr.To(int32(index + 1)) // promoted
		case index < len(steps) && tr.StepComplete(input, ro.Status.Canary.Weights):
			ro.Status.CurrentStepIndex = ptr.To(int32(index + 1))
		case index == len(steps) && plan.Desired.Situation == tr.PastLastStep && !plan.Gated:
			ro.Status.StableRS = "v2"
		}
		counts := tr.ReplicaCounts(input)
		if counts.Canary > 0 || sets["v2"] != nil {
			sets["v2"] = &tr.ReplicaSet{Hash: "v2", Replicas: counts.Canary, Available: counts.Canary, Created: counts.Canary}
		}
		if input.Rollout.Status.StableRS == "v2" {
			break
		}
	}
	g.Expect(seen).To(Equal([]int64{0, 30, 60, 100, 0}))
	g.Expect(ro.Status.Canary.Weights.Canary).To(Equal(v1alpha1.WeightDestination{Weight: 0, PodTemplateHash: "v2", ServiceName: "canary"}))
	g.Expect(ro.Status.Canary.Weights.Stable).To(Equal(v1alpha1.WeightDestination{Weight: 100, PodTemplateHash: "v2", ServiceName: "stable"}))
	err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-web-canary"}, &networkingv1.Ingress{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the canary Ingress goes when the canary ends: %v", err)

	// The old stable waits behind its scale-down deadline.
	now := time.Now()
	sd := tr.PlanScaleDown(tr.ScaleDownInput{Rollout: ro, NewHash: "v2", TotalAvailable: 20,
		Old: []tr.OldReplicaSet{{Hash: "v1", Replicas: 10, Available: 10}}, Now: now})
	g.Expect(sd.Changes).To(HaveLen(1))
	g.Expect(sd.Changes[0].Replicas).To(BeEquivalentTo(10))
	g.Expect(sd.Changes[0].SetDeadline).NotTo(BeNil())
}
