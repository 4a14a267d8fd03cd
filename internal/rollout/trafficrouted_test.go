package rollout_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/rollout"
)

var (
	httpRouteGVK      = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	virtualServiceGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	destRuleGVK       = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}
)

// routedSeed is the seed canary (its steps: 30% then pause) with a canary
// and a stable Service, the given replicas, and edit applied (which sets
// the router).
func routedSeed(t *testing.T, g *WithT, ns string, replicas int32, edit func(c *v1alpha1.CanaryStrategy)) *v1alpha1.Rollout {
	t.Helper()
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To(replicas)
	c := ro.Spec.Strategy.Canary
	c.CanaryService, c.StableService = "canary", "stable"
	c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{}
	edit(c)
	for _, name := range []string{"canary", "stable"} {
		g.Expect(k8sClient.Create(context.Background(), service(ns, name, "backend-canary"))).To(Succeed())
	}
	return ro
}

func gatewayAPI(config string) func(c *v1alpha1.CanaryStrategy) {
	return func(c *v1alpha1.CanaryStrategy) {
		c.TrafficRouting.Plugins = map[string]apiextensionsv1.JSON{"argoproj-labs/gatewayAPI": {Raw: []byte(config)}}
	}
}

// createYAML creates an object from YAML in ns.
func createYAML(g *WithT, ns, doc string) {
	u := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed())
	u.SetNamespace(ns)
	g.Expect(k8sClient.Create(context.Background(), u)).To(Succeed())
}

const webRoute = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  rules:
  - backendRefs: [{name: stable, port: 80, weight: 100}, {name: canary, port: 80, weight: 0}]
`

func getObject(gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u, k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
}

// backendWeights are the weights of the first rule's backendRefs by
// Service name, as "stable=70,canary=30".
func backendWeights(ns, route string) func() string {
	return func() string {
		u, err := getObject(httpRouteGVK, ns, route)
		if err != nil {
			return err.Error()
		}
		rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
		if len(rules) == 0 {
			return "no rules"
		}
		var out []string
		for _, ref := range rules[0].(map[string]any)["backendRefs"].([]any) {
			m := ref.(map[string]any)
			out = append(out, fmt.Sprintf("%s=%v", m["name"], m["weight"]))
		}
		return strings.Join(out, ",")
	}
}

// weightsOf is status.canary.weights as "canary=30@hash,stable=70@hash".
func weightsOf(ns, name string) func() string {
	return func() string {
		ro := get(ns, name)()
		if ro == nil || ro.Status.Canary.Weights == nil {
			return "nil"
		}
		w := ro.Status.Canary.Weights
		return fmt.Sprintf("canary=%d@%s,stable=%d@%s", w.Canary.Weight, w.Canary.PodTemplateHash, w.Stable.Weight, w.Stable.PodTemplateHash)
	}
}

func replicaSetOf(ns, name string) func() *appsv1.ReplicaSet {
	return func() *appsv1.ReplicaSet {
		rs := &appsv1.ReplicaSet{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, rs); err != nil {
			return nil
		}
		return rs
	}
}

// replicasReady is a ReplicaSet's "spec/ready".
func replicasReady(ns, name string) func() string {
	return func() string {
		rs := replicaSetOf(ns, name)()
		if rs == nil {
			return "missing"
		}
		return fmt.Sprintf("%d/%d", ptr.Deref(rs.Spec.Replicas, 1), rs.Status.ReadyReplicas)
	}
}

// eventNotes are the notes of the Rollout's events with reason, oldest first.
func eventNotes(g *WithT, ns, reason string) []string {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	sort.SliceStable(list.Items, func(i, j int) bool { return list.Items[i].EventTime.Before(&list.Items[j].EventTime) })
	var out []string
	for _, e := range list.Items {
		if e.Reason == reason {
			out = append(out, e.Note)
		}
	}
	return out
}

// patchStatus merges a status patch, as the plugin's promote and abort do.
func patchStatus(g *WithT, ns, name, patch string) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	g.Expect(k8sClient.Status().Patch(context.Background(), ro, client.RawPatch("application/merge-patch+json", []byte(patch)))).To(Succeed())
}

func trafficCondition(ns, name string) func() string {
	return func() string {
		ro := get(ns, name)()
		if ro == nil {
			return ""
		}
		c := ro.Status.GetCondition(v1alpha1.RolloutTrafficRoutingCondition)
		if c == nil {
			return ""
		}
		return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
	}
}

// TestTrafficRoutedCanaryGatewayAPI plays the seed canary behind an
// HTTPRoute: the first revision leaves the route to the stable Service; the
// update sends 30% to the canary Service once its 3 pods are ready, then
// pauses; promotion moves 100% to the canary, then the stable Service to
// the new pods and the weight back to it, and only then marks the old
// ReplicaSet for scale-down.
func TestTrafficRoutedCanaryGatewayAPI(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	createYAML(g, ns, webRoute)
	ro := routedSeed(t, g, ns, 10, gatewayAPI(`{"httpRoute":"web"}`))
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	v1 := get(ns, ro.Name)().Status.StableRS
	g.Eventually(weightsOf(ns, ro.Name)).Should(Equal("canary=0@" + v1 + ",stable=100@" + v1))
	g.Expect(backendWeights(ns, "web")()).To(Equal("stable=100,canary=0"))
	g.Expect(selects(ns, "stable")()).To(Equal(v1))
	g.Expect(selects(ns, "canary")()).To(Equal(v1))
	g.Expect(get(ns, ro.Name)().Status.Canary.ReplicaWeights).To(BeNil(), "replicaWeights is the basic canary's")

	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	v2 := get(ns, ro.Name)().Status.CurrentPodHash
	g.Expect(backendWeights(ns, "web")()).To(Equal("stable=70,canary=30"))
	g.Expect(weightsOf(ns, ro.Name)()).To(Equal("canary=30@" + v2 + ",stable=70@" + v1))
	g.Expect(replicasReady(ns, ro.Name+"-"+v2)()).To(Equal("3/3"))
	g.Expect(replicasReady(ns, ro.Name+"-"+v1)()).To(Equal("10/10"), "the stable stays full, so an abort is instant")
	g.Expect(selects(ns, "canary")()).To(Equal(v2))
	g.Expect(selects(ns, "stable")()).To(Equal(v1))
	g.Expect(ptr.Deref(get(ns, ro.Name)().Status.CurrentStepIndex, -1)).To(Equal(int32(1)))

	patchStatus(g, ns, ro.Name, `{"status":{"pauseConditions":null}}`)
	g.Eventually(func(g Gomega) {
		live := get(ns, ro.Name)()
		g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
		g.Expect(live.Status.StableRS).To(Equal(v2))
		g.Expect(weightsOf(ns, ro.Name)()).To(Equal("canary=0@" + v2 + ",stable=100@" + v2))
	}).Should(Succeed())
	g.Expect(backendWeights(ns, "web")()).To(Equal("stable=100,canary=0"))
	g.Expect(selects(ns, "stable")()).To(Equal(v2))
	g.Expect(selects(ns, "canary")()).To(Equal(v2))
	g.Eventually(func() string {
		return replicaSetOf(ns, ro.Name+"-"+v1)().Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]
	}).ShouldNot(BeEmpty(), "the old stable waits scaleDownDelaySeconds")
	g.Expect(replicasReady(ns, ro.Name+"-"+v1)()).To(Equal("10/10"))

	g.Expect(eventNotes(g, ns, rollout.EventTrafficWeightUpdated)).To(Equal([]string{
		"canary weight set to 0",
		"canary weight changed from 0 to 30",
		"canary weight changed from 30 to 100",
		"canary weight changed from 100 to 0",
	}))
}

// TestTrafficRoutedAbort: an abort sends all traffic back to the stable
// Service first, then points the canary Service at the stable pods, and
// scales the canary down after abortScaleDownDelaySeconds.
func TestTrafficRoutedAbort(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	createYAML(g, ns, webRoute)
	ro := routedSeed(t, g, ns, 4, func(c *v1alpha1.CanaryStrategy) {
		gatewayAPI(`{"httpRoute":"web"}`)(c)
		c.Steps[0].SetWeight = ptr.To[int32](50)
		c.AbortScaleDownDelaySeconds = ptr.To[int32](2)
	})
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	v1 := get(ns, ro.Name)().Status.StableRS
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	v2 := get(ns, ro.Name)().Status.CurrentPodHash
	g.Expect(backendWeights(ns, "web")()).To(Equal("stable=50,canary=50"))
	g.Expect(replicasReady(ns, ro.Name+"-"+v2)()).To(Equal("2/2"))

	patchStatus(g, ns, ro.Name, `{"status":{"abort":true}}`)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Degraded"))
	g.Eventually(backendWeights(ns, "web")).Should(Equal("stable=100,canary=0"))
	g.Eventually(selects(ns, "canary")).Should(Equal(v1))
	g.Expect(weightsOf(ns, ro.Name)()).To(Equal("canary=0@" + v2 + ",stable=100@" + v1))
	g.Eventually(replicasReady(ns, ro.Name+"-"+v2), 20*time.Second).Should(Equal("0/0"), "scaled down after abortScaleDownDelaySeconds")
	g.Expect(replicasReady(ns, ro.Name+"-"+v1)()).To(Equal("4/4"))
}

// TestTrafficRoutingBadInput: a route that does not exist, and a route
// edited by someone else mid-rollout so the canary's backend is gone, each
// give a TrafficRouting condition naming the route; nothing moves until the
// route is fixed, and then the rollout resumes.
func TestTrafficRoutingBadInput(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	ro := routedSeed(t, g, ns, 4, gatewayAPI(`{"httpRoute":"web"}`))
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(trafficCondition(ns, ro.Name)).Should(And(HavePrefix("False TrafficRoutingError: GatewayAPI: "), HaveSuffix(fmt.Sprintf("HTTPRoute %s/web not found", ns))))
	g.Expect(get(ns, ro.Name)().Status.Message).To(HavePrefix("TrafficRoutingError: "))
	g.Expect(get(ns, ro.Name)().Status.Canary.Weights).To(BeNil(), "no weight was written")
	g.Expect(eventNotes(g, ns, rollout.EventTrafficRoutingError)).To(HaveLen(1), "one event per distinct error")

	createYAML(g, ns, webRoute) // fixing it resumes (the route watch re-queues the Rollout)
	g.Eventually(trafficCondition(ns, ro.Name)).Should(BeEmpty())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Expect(get(ns, ro.Name)().Status.Message).To(BeEmpty())

	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	g.Expect(backendWeights(ns, "web")()).To(Equal("stable=70,canary=30"))

	// Someone removes the canary's backend: the next pass cannot write it.
	u, err := getObject(httpRouteGVK, ns, "web")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(unstructured.SetNestedSlice(u.Object, []any{map[string]any{
		"backendRefs": []any{map[string]any{"name": "stable", "port": int64(80), "weight": int64(70)}},
	}}, "spec", "rules")).To(Succeed())
	g.Expect(k8sClient.Update(ctx, u)).To(Succeed())
	g.Eventually(trafficCondition(ns, ro.Name)).Should(And(ContainSubstring("HTTPRoute "+ns+"/web"), ContainSubstring("canary")))
	g.Expect(backendWeights(ns, "web")()).To(Equal("stable=70"), "only the stable Service is left to serve")
	g.Expect(phase(ns, ro.Name)()).To(Equal("Paused"))

	// Put the canary back: the weight is restored and the condition goes.
	u, err = getObject(httpRouteGVK, ns, "web")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(unstructured.SetNestedSlice(u.Object, []any{map[string]any{
		"backendRefs": []any{
			map[string]any{"name": "stable", "port": int64(80), "weight": int64(100)},
			map[string]any{"name": "canary", "port": int64(80), "weight": int64(0)},
		},
	}}, "spec", "rules")).To(Succeed())
	g.Expect(k8sClient.Update(ctx, u)).To(Succeed())
	g.Eventually(trafficCondition(ns, ro.Name)).Should(BeEmpty())
	g.Eventually(backendWeights(ns, "web")).Should(Equal("stable=70,canary=30"))
	g.Expect(get(ns, ro.Name)().Status.Message).To(Equal("CanaryPauseStep"))
}

// TestTrafficRoutedNginx: the canary Ingress carries the weight and goes
// when the canary ends; a missing stable Ingress (noticed once there is a
// canary to route to) is a condition naming it until it is created.
func TestTrafficRoutedNginx(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	ro := routedSeed(t, g, ns, 4, func(c *v1alpha1.CanaryStrategy) {
		c.TrafficRouting.Nginx = &v1alpha1.NginxTrafficRouting{StableIngress: "web"}
	})
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(trafficCondition(ns, ro.Name)).Should(ContainSubstring(fmt.Sprintf("stable Ingress %s/web not found", ns)))
	g.Expect(get(ns, ro.Name)().Status.Message).To(HavePrefix("TrafficRoutingError: Nginx: "))
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: ro.Name + "-web-canary"}, &networkingv1.Ingress{})).
		To(WithTransform(apierrors.IsNotFound, BeTrue()), "no canary Ingress: the traffic stays on stable")

	pathType := networkingv1.PathTypePrefix
	g.Expect(k8sClient.Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("nginx"), Rules: []networkingv1.IngressRule{{
			Host: "web.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pathType,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "stable", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	})).To(Succeed())
	// Ingresses are not watched: the failed pass looks again by itself.
	g.Eventually(trafficCondition(ns, ro.Name), 20*time.Second).Should(BeEmpty())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))

	canaryIngress := func() string {
		ing := &networkingv1.Ingress{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: ro.Name + "-web-canary"}, ing); err != nil {
			if apierrors.IsNotFound(err) {
				return "absent"
			}
			return err.Error()
		}
		return ing.Annotations["nginx.ingress.kubernetes.io/canary-weight"] + " -> " + ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name
	}
	g.Expect(canaryIngress()).To(Equal("30 -> canary"))
	patchStatus(g, ns, ro.Name, `{"status":{"pauseConditions":null}}`)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Eventually(canaryIngress).Should(Equal("absent"), "the canary Ingress goes when the canary ends")
}

// TestTrafficRoutedIstio: VirtualService weights by route name, and the
// DestinationRule's subsets follow the ReplicaSets' hashes; a missing
// VirtualService, then a route name that is not in it, are conditions
// naming it.
func TestTrafficRoutedIstio(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	createYAML(g, ns, `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets:
  - {name: stable, labels: {app: backend-canary}}
  - {name: canary, labels: {app: backend-canary}}
`)
	ro := routedSeed(t, g, ns, 4, func(c *v1alpha1.CanaryStrategy) {
		c.TrafficRouting.Istio = &v1alpha1.IstioTrafficRouting{
			VirtualService:  &v1alpha1.IstioVirtualService{Name: "web", Routes: []string{"primary"}},
			DestinationRule: &v1alpha1.IstioDestinationRule{Name: "web", CanarySubsetName: "canary", StableSubsetName: "stable"},
		}
	})
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(trafficCondition(ns, ro.Name)).Should(ContainSubstring("VirtualService " + ns + "/web not found"))

	createYAML(g, ns, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - name: main
    route:
    - destination: {host: web, subset: stable}
      weight: 100
    - destination: {host: web, subset: canary}
      weight: 0
`)
	g.Eventually(trafficCondition(ns, ro.Name)).Should(And(ContainSubstring("VirtualService "+ns+"/web"), ContainSubstring(`no HTTP route named "primary"`)))

	// Fix the Rollout's route name.
	live := get(ns, ro.Name)()
	live.Spec.Strategy.Canary.TrafficRouting.Istio.VirtualService.Routes = []string{"main"}
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
	g.Eventually(trafficCondition(ns, ro.Name)).Should(BeEmpty())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	v1 := get(ns, ro.Name)().Status.StableRS

	vsWeights := func() string {
		u, err := getObject(virtualServiceGVK, ns, "web")
		if err != nil {
			return err.Error()
		}
		routes, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
		var out []string
		for _, d := range routes[0].(map[string]any)["route"].([]any) {
			m := d.(map[string]any)
			out = append(out, fmt.Sprintf("%v=%v", m["destination"].(map[string]any)["subset"], m["weight"]))
		}
		return strings.Join(out, ",")
	}
	subsets := func() string {
		u, err := getObject(destRuleGVK, ns, "web")
		if err != nil {
			return err.Error()
		}
		list, _, _ := unstructured.NestedSlice(u.Object, "spec", "subsets")
		var out []string
		for _, s := range list {
			m := s.(map[string]any)
			out = append(out, fmt.Sprintf("%v=%v", m["name"], m["labels"].(map[string]any)[v1alpha1.DefaultRolloutUniqueLabelKey]))
		}
		return strings.Join(out, ",")
	}
	g.Eventually(subsets).Should(Equal("stable=" + v1 + ",canary=" + v1))
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	v2 := get(ns, ro.Name)().Status.CurrentPodHash
	g.Expect(vsWeights()).To(Equal("stable=70,canary=30"))
	g.Expect(subsets()).To(Equal("stable=" + v1 + ",canary=" + v2))
	patchStatus(g, ns, ro.Name, `{"status":{"pauseConditions":null}}`)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Eventually(vsWeights).Should(Equal("stable=100,canary=0"))
	g.Eventually(subsets).Should(Equal("stable=" + v2 + ",canary=" + v2))
}

// TestTrafficRoutedPingPongALB: with pingPong the ALB action sends the
// canary's weight to the Service not currently stable, which selects the
// new pods; promotion swaps the roles (status.canary.stablePingPong)
// instead of moving a selector under traffic.
func TestTrafficRoutedPingPongALB(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	for _, name := range []string{"ping", "pong", "root"} {
		g.Expect(k8sClient.Create(ctx, service(ns, name, "backend-canary"))).To(Succeed())
	}
	pathType := networkingv1.PathTypeImplementationSpecific
	g.Expect(k8sClient.Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/*", PathType: &pathType,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "root", Port: networkingv1.ServiceBackendPort{Name: "use-annotation"}}},
			}}}},
		}}},
	})).To(Succeed())
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](2)
	c := ro.Spec.Strategy.Canary
	c.PingPong = &v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}
	c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "web", RootService: "root", ServicePort: 80}}
	c.Steps[0].SetWeight = ptr.To[int32](50)
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	v1 := get(ns, ro.Name)().Status.StableRS
	g.Expect(get(ns, ro.Name)().Status.Canary.StablePingPong).To(Equal(v1alpha1.PPPing), "the first revision makes ping the stable")

	action := func() string {
		ing := &networkingv1.Ingress{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, ing); err != nil {
			return err.Error()
		}
		return ing.Annotations["alb.ingress.kubernetes.io/actions.root"]
	}
	forward := func(canarySvc string, canary int, stableSvc string, stable int) string {
		return fmt.Sprintf(`{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":%q,"ServicePort":"80","Weight":%d},{"ServiceName":%q,"ServicePort":"80","Weight":%d}]}}`, canarySvc, canary, stableSvc, stable)
	}
	g.Eventually(action).Should(Equal(forward("pong", 0, "ping", 100)))
	g.Expect(selects(ns, "ping")()).To(Equal(v1))

	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	v2 := get(ns, ro.Name)().Status.CurrentPodHash
	g.Expect(action()).To(Equal(forward("pong", 50, "ping", 50)))
	g.Expect(selects(ns, "pong")()).To(Equal(v2))
	g.Expect(selects(ns, "ping")()).To(Equal(v1))

	patchStatus(g, ns, ro.Name, `{"status":{"pauseConditions":null}}`)
	g.Eventually(func(g Gomega) {
		g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
		g.Expect(get(ns, ro.Name)().Status.Canary.StablePingPong).To(Equal(v1alpha1.PPPong))
		g.Expect(action()).To(Equal(forward("ping", 0, "pong", 100)))
	}).Should(Succeed())
	g.Expect(selects(ns, "pong")()).To(Equal(v2), "the Service that carried the canary carries the stable now")
}

// TestTrafficRoutedCanaryScaleAndDynamicStableScale: setCanaryScale runs 2
// canary pods at 5%; with dynamicStableScale the stable shrinks as the
// weight moves to the canary, and goes at once after promotion.
func TestTrafficRoutedCanaryScaleAndDynamicStableScale(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	createYAML(g, ns, webRoute)
	ro := routedSeed(t, g, ns, 4, func(c *v1alpha1.CanaryStrategy) {
		gatewayAPI(`{"httpRoute":"web"}`)(c)
		c.DynamicStableScale = true
		c.Steps = []v1alpha1.CanaryStep{
			{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr.To[int32](2)}},
			{SetWeight: ptr.To[int32](5)},
			{Pause: &v1alpha1.RolloutPause{}},
			{SetCanaryScale: &v1alpha1.SetCanaryScale{MatchTrafficWeight: true}},
			{SetWeight: ptr.To[int32](75)},
			{Pause: &v1alpha1.RolloutPause{}},
		}
	})
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	v1 := get(ns, ro.Name)().Status.StableRS

	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	v2 := get(ns, ro.Name)().Status.CurrentPodHash
	g.Expect(ptr.Deref(get(ns, ro.Name)().Status.CurrentStepIndex, -1)).To(Equal(int32(2)))
	g.Expect(backendWeights(ns, "web")()).To(Equal("stable=95,canary=5"))
	g.Expect(replicasReady(ns, ro.Name+"-"+v2)()).To(Equal("2/2"), "setCanaryScale's replicas, not the weight's")
	g.Expect(replicasReady(ns, ro.Name+"-"+v1)()).To(Equal("4/4"), "an explicit canary size moves no traffic off the stable")

	patchStatus(g, ns, ro.Name, `{"status":{"pauseConditions":null}}`)
	g.Eventually(func(g Gomega) {
		g.Expect(ptr.Deref(get(ns, ro.Name)().Status.CurrentStepIndex, -1)).To(Equal(int32(5)))
		g.Expect(phase(ns, ro.Name)()).To(Equal("Paused"))
	}).Should(Succeed())
	g.Expect(backendWeights(ns, "web")()).To(Equal("stable=25,canary=75"))
	g.Expect(replicasReady(ns, ro.Name+"-"+v2)()).To(Equal("3/3"))
	g.Eventually(replicasReady(ns, ro.Name+"-"+v1)).Should(Equal("1/1"), "the stable keeps the pods for its 25%")

	patchStatus(g, ns, ro.Name, `{"status":{"pauseConditions":null}}`)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Eventually(backendWeights(ns, "web")).Should(Equal("stable=100,canary=0"))
	g.Eventually(replicasReady(ns, ro.Name+"-"+v1)).Should(Equal("0/0"), "no scale-down delay with dynamicStableScale")
	g.Expect(replicasReady(ns, ro.Name+"-"+v2)()).To(Equal("4/4"))
}

// TestTrafficRoutedStableDeleted: the stable ReplicaSet deleted by hand
// mid-update holds the routed canary too (no weight moves, the canary keeps
// its step's size) until promote --full, which then makes it the stable and
// gives it the traffic through the stable Service.
func TestTrafficRoutedStableDeleted(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	createYAML(g, ns, webRoute)
	ro := routedSeed(t, g, ns, 4, func(c *v1alpha1.CanaryStrategy) {
		gatewayAPI(`{"httpRoute":"web"}`)(c)
		c.Steps[0].SetWeight = ptr.To[int32](50)
	})
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	v1 := get(ns, ro.Name)().Status.StableRS
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	v2 := get(ns, ro.Name)().Status.CurrentPodHash

	g.Expect(k8sClient.Delete(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ro.Name + "-" + v1}},
		client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
	g.Eventually(func() []string { return eventNotes(g, ns, rollout.EventStableMissing) }).ShouldNot(BeEmpty())
	g.Consistently(func(g Gomega) {
		g.Expect(replicasReady(ns, ro.Name+"-"+v2)()).To(Equal("2/2"))
		g.Expect(backendWeights(ns, "web")()).To(Equal("stable=50,canary=50"))
		g.Expect(get(ns, ro.Name)().Status.StableRS).To(Equal(v1))
	}, 3*time.Second).Should(Succeed())

	patchStatus(g, ns, ro.Name, `{"status":{"promoteFull":true}}`)
	g.Eventually(func(g Gomega) {
		g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
		g.Expect(get(ns, ro.Name)().Status.StableRS).To(Equal(v2))
		g.Expect(replicasReady(ns, ro.Name+"-"+v2)()).To(Equal("4/4"))
		g.Expect(backendWeights(ns, "web")()).To(Equal("stable=100,canary=0"))
		g.Expect(selects(ns, "stable")()).To(Equal(v2))
	}).Should(Succeed())
}
