package clustertest

import (
	"strconv"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/gatewayapi"
)

var (
	httpRouteGVK = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	grpcRouteGVK = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "GRPCRoute"}
	tcpRouteGVK  = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "TCPRoute"}
)

const httpRoute = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs: [{name: gw}]
  rules:
  - name: main
    matches: [{path: {type: PathPrefix, value: /}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {add: [{name: x-env, value: prod}]}
    backendRefs:
    - {name: stable, port: 80, weight: 100}
    - {name: canary, port: 80, weight: 0}
    - {name: legacy, port: 80, weight: 5}
  - name: api
    matches: [{path: {type: PathPrefix, value: /api}, method: GET}]
    backendRefs:
    - {name: stable, port: 8080}
    - {name: canary, port: 8080}
  - name: static
    matches: [{path: {type: PathPrefix, value: /static}}]
    backendRefs: [{name: assets, port: 80}]
`

// rules is the expected spec.rules of the HTTPRoute above at a weight, with
// the API server's defaults.
func rules(canary, stable int) string {
	return `
- name: main
  matches: [{path: {type: PathPrefix, value: /}}]
  filters:
  - type: RequestHeaderModifier
    requestHeaderModifier: {add: [{name: x-env, value: prod}]}
  backendRefs:
  - {group: "", kind: Service, name: stable, port: 80, weight: ` + itoa(stable) + `}
  - {group: "", kind: Service, name: canary, port: 80, weight: ` + itoa(canary) + `}
  - {group: "", kind: Service, name: legacy, port: 80, weight: 5}
- name: api
  matches: [{path: {type: PathPrefix, value: /api}, method: GET}]
  backendRefs:
  - {group: "", kind: Service, name: stable, port: 8080, weight: ` + itoa(stable) + `}
  - {group: "", kind: Service, name: canary, port: 8080, weight: ` + itoa(canary) + `}
- name: static
  matches: [{path: {type: PathPrefix, value: /static}}]
  backendRefs: [{group: "", kind: Service, name: assets, port: 80, weight: 1}]
`
}

func gatewayRollout(config string, managed ...string) func(*v1alpha1.Rollout) {
	return func(ro *v1alpha1.Rollout) {
		ro.Spec.Strategy.Canary.TrafficRouting.Plugins = map[string]apiextensionsv1.JSON{"argoproj-labs/gatewayAPI": {Raw: []byte(config)}}
		for _, m := range managed {
			ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes = append(ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes, v1alpha1.ManagedRoute{Name: m})
		}
	}
}

func TestGatewayAPIWeights(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, httpRoute)
	target := rolloutIn(t, g, ns, gatewayRollout(`{"httpRoute":"web"}`))
	r, err := gatewayapi.New(controller, target)
	g.Expect(err).NotTo(HaveOccurred())

	for _, w := range []int32{30, 60, 100} {
		g.Expect(r.SetWeight(ctx, tr.Split{Canary: w, Max: 100})).To(Succeed())
		route := get(g, httpRouteGVK, ns, "web")
		g.Expect(field(g, route, "spec", "rules")).To(Equal(yamlOf(g, rules(int(w), 100-int(w)))), "weight %d", w)
		g.Expect(route.GetLabels()).To(HaveKeyWithValue("rollouts.argoproj.io/gatewayapi-canary", "in-progress"))
	}

	// Someone edits the route mid-rollout: their changes stay.
	edit(g, httpRouteGVK, ns, "web", func(u *unstructured.Unstructured) {
		u.SetAnnotations(map[string]string{"team": "edge"})
		rs, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
		rs[0].(map[string]any)["timeouts"] = map[string]any{"request": "10s"}
		g.Expect(unstructured.SetNestedSlice(u.Object, rs, "spec", "rules")).To(Succeed())
	})
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 0, Max: 100, Ended: true})).To(Succeed())
	route := get(g, httpRouteGVK, ns, "web")
	g.Expect(route.GetAnnotations()).To(HaveKeyWithValue("team", "edge"))
	rs, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	g.Expect(rs[0].(map[string]any)["timeouts"]).To(Equal(map[string]any{"request": "10s"}))
	g.Expect(route.GetLabels()).NotTo(HaveKey("rollouts.argoproj.io/gatewayapi-canary"))
	g.Expect(rs[0].(map[string]any)["backendRefs"]).To(ContainElement(HaveKeyWithValue("weight", int64(100))))
}

func TestGatewayAPIMaxTrafficWeightAndOtherKinds(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, httpRoute)
	createYAML(g, ns, `
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: rpc}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: stable, port: 9090}, {name: canary, port: 9090}]
`)
	createYAML(g, ns, `
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: db}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: stable, port: 5432}, {name: canary, port: 5432}]
`)
	target := rolloutIn(t, g, ns, gatewayRollout(`{"httpRoutes":[{"name":"web"}],"grpcRoute":"rpc","tcpRoutes":[{"name":"db"}],"disableInProgressLabel":true}`))
	r, err := gatewayapi.New(controller, target)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 50, Max: 1000})).To(Succeed())
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, rules(50, 950))))
	g.Expect(field(g, get(g, grpcRouteGVK, ns, "rpc"), "spec", "rules")).To(Equal(yamlOf(g, `
- backendRefs:
  - {group: "", kind: Service, name: stable, port: 9090, weight: 950}
  - {group: "", kind: Service, name: canary, port: 9090, weight: 50}
`)))
	g.Expect(field(g, get(g, tcpRouteGVK, ns, "db"), "spec", "rules")).To(Equal(yamlOf(g, `
- backendRefs:
  - {group: "", kind: Service, name: stable, port: 5432, weight: 950}
  - {group: "", kind: Service, name: canary, port: 5432, weight: 50}
`)))
	g.Expect(get(g, httpRouteGVK, ns, "web").GetLabels()).NotTo(HaveKey("rollouts.argoproj.io/gatewayapi-canary"))
}

func TestGatewayAPIBadRoutes(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, httpRoute)
	createYAML(g, ns, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: stable-only}
spec:
  rules:
  - backendRefs: [{name: stable, port: 80}]
`)
	target := rolloutIn(t, g, ns, gatewayRollout(`{"httpRoutes":[{"name":"missing"},{"name":"stable-only"},{"name":"web"}]}`))
	r, err := gatewayapi.New(controller, target)
	g.Expect(err).NotTo(HaveOccurred())

	err = r.SetWeight(ctx, tr.Split{Canary: 30, Max: 100})
	g.Expect(err).To(MatchError(ContainSubstring("HTTPRoute " + ns + "/missing not found")))
	g.Expect(err).To(MatchError(ContainSubstring(`HTTPRoute ` + ns + `/stable-only: no backendRef to both Services "canary" and "stable"`)))
	// The route that is fine is still written: every object is finished.
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, rules(30, 70))))
	// The broken one is left as it was.
	g.Expect(field(g, get(g, httpRouteGVK, ns, "stable-only"), "spec", "rules")).To(Equal(yamlOf(g, `
- matches: [{path: {type: PathPrefix, value: /}}]
  backendRefs: [{group: "", kind: Service, name: stable, port: 80, weight: 1}]
`)))
}

func TestGatewayAPIHeaderRoute(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, httpRoute)
	target := rolloutIn(t, g, ns, gatewayRollout(`{"httpRoute":"web"}`, "preview", "other"))
	r, err := gatewayapi.New(controller, target)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 10, Max: 100})).To(Succeed())

	step := &v1alpha1.SetHeaderRoute{Name: "preview", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}},
		{HeaderName: "x-build", HeaderValue: &v1alpha1.StringMatch{Prefix: "v1."}},
	}}
	headerRules := `
- name: preview
  matches:
  - path: {type: PathPrefix, value: /}
    headers:
    - {type: Exact, name: x-canary, value: "yes"}
    - {type: RegularExpression, name: x-build, value: '^v1\..*'}
  filters:
  - type: RequestHeaderModifier
    requestHeaderModifier: {add: [{name: x-env, value: prod}]}
  backendRefs: [{group: "", kind: Service, name: canary, port: 80, weight: 1}]
- name: preview-1
  matches:
  - path: {type: PathPrefix, value: /api}
    method: GET
    headers:
    - {type: Exact, name: x-canary, value: "yes"}
    - {type: RegularExpression, name: x-build, value: '^v1\..*'}
  backendRefs: [{group: "", kind: Service, name: canary, port: 8080, weight: 1}]
`
	// Twice: the second run replaces the rules, it does not add more.
	for range 2 {
		g.Expect(r.SetHeaderRoute(ctx, step)).To(Succeed())
		g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, rules(10, 90)+headerRules)))
	}
	// Weights do not touch the header rules.
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 20, Max: 100})).To(Succeed())
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, rules(20, 80)+headerRules)))

	// A step without match removes its rules; RemoveManagedRoutes removes all.
	g.Expect(r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "preview"})).To(Succeed())
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, rules(20, 80))))
	g.Expect(r.SetHeaderRoute(ctx, step)).To(Succeed())
	g.Expect(r.RemoveManagedRoutes(ctx)).To(Succeed())
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, rules(20, 80))))
}

func TestGatewayAPIUserRulesAreNotManaged(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  rules:
  - name: main
    backendRefs: [{name: stable, port: 80}, {name: canary, port: 80}]
  - name: beta-testers
    matches: [{headers: [{name: x-beta, value: "1"}]}]
    backendRefs: [{name: canary, port: 80}]
`)
	target := rolloutIn(t, g, ns, gatewayRollout(`{"httpRoute":"web"}`, "preview"))
	r, err := gatewayapi.New(controller, target)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.RemoveManagedRoutes(ctx)).To(Succeed())
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(ContainSubstring("beta-testers"),
		"a user's rule whose only backend is the canary is not the Rollout's to delete")
}

func TestGatewayAPIMirrorRoute(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, httpRoute)
	target := rolloutIn(t, g, ns, gatewayRollout(`{"httpRoute":"web"}`, "copy"))
	r, err := gatewayapi.New(controller, target)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 10, Max: 100})).To(Succeed())

	step := &v1alpha1.SetMirrorRoute{Name: "copy", Percentage: ptr.To[int32](50), Match: []v1alpha1.RouteMatch{{
		Method:  &v1alpha1.StringMatch{Exact: "POST"},
		Path:    &v1alpha1.StringMatch{Prefix: "/orders"},
		Headers: map[string]v1alpha1.StringMatch{"x-mirror": {Exact: "on"}},
	}}}
	g.Expect(r.SetMirrorRoute(ctx, step)).To(Succeed())
	mirrorRules := func(canary, stable int) string {
		return `
- name: copy
  matches:
  - path: {type: PathPrefix, value: /orders}
    method: POST
    headers: [{type: Exact, name: x-mirror, value: "on"}]
  filters:
  - type: RequestHeaderModifier
    requestHeaderModifier: {add: [{name: x-env, value: prod}]}
  - type: RequestMirror
    requestMirror: {backendRef: {group: "", kind: Service, name: canary, port: 80}, percent: 50}
  backendRefs:
  - {group: "", kind: Service, name: stable, port: 80, weight: ` + itoa(stable) + `}
  - {group: "", kind: Service, name: canary, port: 80, weight: ` + itoa(canary) + `}
  - {group: "", kind: Service, name: legacy, port: 80, weight: 5}
- name: copy-1
  matches:
  - path: {type: PathPrefix, value: /orders}
    method: POST
    headers: [{type: Exact, name: x-mirror, value: "on"}]
  filters:
  - type: RequestMirror
    requestMirror: {backendRef: {group: "", kind: Service, name: canary, port: 8080}, percent: 50}
  backendRefs:
  - {group: "", kind: Service, name: stable, port: 8080, weight: ` + itoa(stable) + `}
  - {group: "", kind: Service, name: canary, port: 8080, weight: ` + itoa(canary) + `}
`
	}
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, rules(10, 90)+mirrorRules(10, 90))))
	// The mirror rules serve traffic: their weights follow the canary's.
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 40, Max: 100})).To(Succeed())
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, rules(40, 60)+mirrorRules(40, 60))))
	g.Expect(r.RemoveManagedRoutes(ctx)).To(Succeed())
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, rules(40, 60))))
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestGatewayAPIExperimentDestinations(t *testing.T) {
	ns, g := newNamespace(t)
	service(g, ns, "exp-a")
	createYAML(g, ns, `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  rules:
  - backendRefs: [{name: stable, port: 80}, {name: canary, port: 80}]
`)
	target := rolloutIn(t, g, ns, gatewayRollout(`{"httpRoute":"web"}`))
	r, err := gatewayapi.New(controller, target)
	g.Expect(err).NotTo(HaveOccurred())
	add := []v1alpha1.WeightDestination{{ServiceName: "exp-a", PodTemplateHash: "e1", Weight: 10}}
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 20, Max: 100, Additional: add})).To(Succeed())
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, `
- matches: [{path: {type: PathPrefix, value: /}}]
  backendRefs:
  - {group: "", kind: Service, name: stable, port: 80, weight: 70}
  - {group: "", kind: Service, name: canary, port: 80, weight: 20}
  - {group: "", kind: Service, name: exp-a, port: 80, weight: 10}
`)))

	// The experiment ended: its destination, remembered in status, goes.
	target.Rollout.Status.Canary.Weights = &v1alpha1.TrafficWeights{Additional: add}
	r, err = gatewayapi.New(controller, target)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 20, Max: 100})).To(Succeed())
	g.Expect(field(g, get(g, httpRouteGVK, ns, "web"), "spec", "rules")).To(Equal(yamlOf(g, `
- matches: [{path: {type: PathPrefix, value: /}}]
  backendRefs:
  - {group: "", kind: Service, name: stable, port: 80, weight: 80}
  - {group: "", kind: Service, name: canary, port: 80, weight: 20}
`)))
}
