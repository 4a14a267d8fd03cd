package clustertest

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/istio"
)

var (
	virtualServiceGVK  = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	destinationRuleGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}
)

const hostLevelVS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web.example.com]
  gateways: [gw]
  http:
  - name: primary
    match: [{uri: {prefix: /}}]
    route:
    - {destination: {host: stable, port: {number: 80}}, weight: 100}
    - {destination: {host: canary, port: {number: 80}}, weight: 0}
  - name: secondary
    route:
    - {destination: {host: stable.default.svc.cluster.local}, weight: 90}
    - {destination: {host: canary.default.svc.cluster.local}, weight: 0}
    - {destination: {host: legacy}, weight: 10}
  - name: other
    route: [{destination: {host: other}}]
  tls:
  - match: [{port: 443, sniHosts: [web.example.com]}]
    route:
    - {destination: {host: stable}, weight: 100}
    - {destination: {host: canary}, weight: 0}
  tcp:
  - match: [{port: 3306}]
    route:
    - {destination: {host: stable}, weight: 100}
    - {destination: {host: canary}, weight: 0}
`

func istioRollout(cfg v1alpha1.IstioTrafficRouting, managed ...string) func(*v1alpha1.Rollout) {
	return func(ro *v1alpha1.Rollout) {
		ro.Spec.Strategy.Canary.TrafficRouting.Istio = &cfg
		for _, m := range managed {
			ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes = append(ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes, v1alpha1.ManagedRoute{Name: m})
		}
	}
}

func TestIstioHostLevelWeights(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, hostLevelVS)
	target := rolloutIn(t, g, ns, istioRollout(v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{
		Name: "web", Routes: []string{"primary", "secondary"},
		TLSRoutes: []v1alpha1.TLSRoute{{Port: 443, SNIHosts: []string{"web.example.com"}}},
		TCPRoutes: []v1alpha1.TCPRoute{{Port: 3306}},
	}}))
	r := istio.New(controller, target)

	for _, w := range []int{30, 90, 0} {
		g.Expect(r.SetWeight(ctx, tr.Split{Canary: int32(w), Max: 100})).To(Succeed())
		vs := get(g, virtualServiceGVK, ns, "web")
		g.Expect(field(g, vs, "spec")).To(Equal(yamlOf(g, `
hosts: [web.example.com]
gateways: [gw]
http:
- name: primary
  match: [{uri: {prefix: /}}]
  route:
  - {destination: {host: stable, port: {number: 80}}, weight: `+itoa(100-w)+`}
  - {destination: {host: canary, port: {number: 80}}, weight: `+itoa(w)+`}
- name: secondary
  route:
  - {destination: {host: stable.default.svc.cluster.local}, weight: `+itoa(max(90-w, 0))+`}
  - {destination: {host: canary.default.svc.cluster.local}, weight: `+itoa(w)+`}
  - {destination: {host: legacy}, weight: 10}
- name: other
  route: [{destination: {host: other}}]
tls:
- match: [{port: 443, sniHosts: [web.example.com]}]
  route:
  - {destination: {host: stable}, weight: `+itoa(100-w)+`}
  - {destination: {host: canary}, weight: `+itoa(w)+`}
tcp:
- match: [{port: 3306}]
  route:
  - {destination: {host: stable}, weight: `+itoa(100-w)+`}
  - {destination: {host: canary}, weight: `+itoa(w)+`}
`)), "weight %d", w)
	}
}

const subsetDR = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets:
  - {name: stable, labels: {app: web}}
  - {name: canary, labels: {app: web}}
  - {name: debug, labels: {app: web, debug: "true"}}
`

const subsetVS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - route:
    - {destination: {host: web, subset: stable}, weight: 100}
    - {destination: {host: web, subset: canary}, weight: 0}
`

func TestIstioSubsetsAndSeveralVirtualServices(t *testing.T) {
	ns, g := newNamespace(t)
	other, _ := newNamespace(t)
	createYAML(g, ns, subsetDR)
	createYAML(g, ns, subsetVS)
	createYAML(g, other, subsetVS)
	target := rolloutIn(t, g, ns, istioRollout(v1alpha1.IstioTrafficRouting{
		VirtualServices: []v1alpha1.IstioVirtualService{{Name: "web"}, {Name: "web." + other}},
		DestinationRule: &v1alpha1.IstioDestinationRule{Name: "web", CanarySubsetName: "canary", StableSubsetName: "stable"},
	}))
	target.CanaryService, target.StableService = "", ""
	r := istio.New(controller, target)

	g.Expect(r.UpdateHash(ctx, "v2hash", "v1hash", nil)).To(Succeed())
	dr := get(g, destinationRuleGVK, ns, "web")
	g.Expect(field(g, dr, "spec", "subsets")).To(Equal(yamlOf(g, `
- {name: stable, labels: {app: web, rollouts-pod-template-hash: v1hash}}
- {name: canary, labels: {app: web, rollouts-pod-template-hash: v2hash}}
- {name: debug, labels: {app: web, debug: "true"}}
`)))
	g.Expect(dr.GetAnnotations()).To(HaveKeyWithValue("argo-rollouts.argoproj.io/managed-by-rollouts", "web"))
	g.Expect(r.ReferencedHashes(ctx)).To(ConsistOf("v1hash", "v2hash"))

	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 25, Max: 100})).To(Succeed())
	for _, n := range []string{ns, other} {
		g.Expect(field(g, get(g, virtualServiceGVK, n, "web"), "spec", "http")).To(Equal(yamlOf(g, `
- route:
  - {destination: {host: web, subset: stable}, weight: 75}
  - {destination: {host: web, subset: canary}, weight: 25}
`)), n)
	}

	// After promotion both subsets select the new hash; an empty hash removes the label.
	g.Expect(r.UpdateHash(ctx, "", "v2hash", nil)).To(Succeed())
	g.Expect(field(g, get(g, destinationRuleGVK, ns, "web"), "spec", "subsets")).To(Equal(yamlOf(g, `
- {name: stable, labels: {app: web, rollouts-pod-template-hash: v2hash}}
- {name: canary, labels: {app: web}}
- {name: debug, labels: {app: web, debug: "true"}}
`)))
}

func TestIstioHeaderAndMirrorRoutes(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - name: primary
    route:
    - {destination: {host: stable, port: {number: 8080}}, weight: 100}
    - {destination: {host: canary, port: {number: 8080}}, weight: 0}
`)
	target := rolloutIn(t, g, ns, func(ro *v1alpha1.Rollout) {
		istioRollout(v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "web", Routes: []string{"primary"}}}, "copy", "preview")(ro)
		ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "copy"}}}
	})
	r := istio.New(controller, target)
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 10, Max: 100})).To(Succeed())

	g.Expect(r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "preview", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}},
		{HeaderName: "x-build", HeaderValue: &v1alpha1.StringMatch{Regex: "v1.*"}},
	}})).To(Succeed())
	g.Expect(r.SetMirrorRoute(ctx, &v1alpha1.SetMirrorRoute{Name: "copy", Percentage: ptr.To[int32](40), Match: []v1alpha1.RouteMatch{{
		Method: &v1alpha1.StringMatch{Exact: "POST"}, Path: &v1alpha1.StringMatch{Prefix: "/orders"},
	}}})).To(Succeed())
	mirror := func(canary, stable int) string {
		return `
- name: copy
  match: [{method: {exact: POST}, uri: {prefix: /orders}}]
  route:
  - {destination: {host: stable, port: {number: 8080}}, weight: ` + itoa(stable) + `}
  - {destination: {host: canary, port: {number: 8080}}, weight: ` + itoa(canary) + `}
  mirror: {host: canary, port: {number: 8080}}
  mirrorPercentage: {value: 40}
`
	}
	header := `
- name: preview
  match:
  - headers: {x-canary: {exact: "yes"}}
  - headers: {x-build: {regex: v1.*}}
  route: [{destination: {host: canary, port: {number: 8080}}, weight: 100}]
`
	primary := func(canary, stable int) string {
		return `
- name: primary
  route:
  - {destination: {host: stable, port: {number: 8080}}, weight: ` + itoa(stable) + `}
  - {destination: {host: canary, port: {number: 8080}}, weight: ` + itoa(canary) + `}
`
	}
	// Managed routes first, in managedRoutes order (copy, preview).
	g.Expect(field(g, get(g, virtualServiceGVK, ns, "web"), "spec", "http")).To(Equal(yamlOf(g, mirror(10, 90)+header+primary(10, 90))))
	// The mirror route serves traffic: it follows the weights; the header route does not.
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 50, Max: 100})).To(Succeed())
	g.Expect(field(g, get(g, virtualServiceGVK, ns, "web"), "spec", "http")).To(Equal(yamlOf(g, mirror(50, 50)+header+primary(50, 50))))

	g.Expect(r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "preview"})).To(Succeed())
	g.Expect(field(g, get(g, virtualServiceGVK, ns, "web"), "spec", "http")).To(Equal(yamlOf(g, mirror(50, 50)+primary(50, 50))))
	g.Expect(r.RemoveManagedRoutes(ctx)).To(Succeed())
	g.Expect(field(g, get(g, virtualServiceGVK, ns, "web"), "spec", "http")).To(Equal(yamlOf(g, primary(50, 50))))
}

func TestIstioBadInput(t *testing.T) {
	ns, g := newNamespace(t)
	createYAML(g, ns, hostLevelVS)
	createYAML(g, ns, subsetDR)
	target := rolloutIn(t, g, ns, istioRollout(v1alpha1.IstioTrafficRouting{
		VirtualServices: []v1alpha1.IstioVirtualService{{Name: "missing"}, {Name: "web", Routes: []string{"primary", "nope"}}, {Name: "web", Routes: []string{"other"}}},
		DestinationRule: &v1alpha1.IstioDestinationRule{Name: "web", CanarySubsetName: "preview", StableSubsetName: "stable"},
	}))
	r := istio.New(controller, target)
	before := field(g, get(g, virtualServiceGVK, ns, "web"), "spec")

	err := r.SetWeight(ctx, tr.Split{Canary: 30, Max: 100})
	g.Expect(err).To(MatchError(ContainSubstring("VirtualService " + ns + "/missing not found")))
	g.Expect(err).To(MatchError(ContainSubstring(`VirtualService ` + ns + `/web: no HTTP route named "nope"`)))
	g.Expect(err).To(MatchError(ContainSubstring(`VirtualService ` + ns + `/web: route "other" has no destination for the canary (preview)`)))
	g.Expect(field(g, get(g, virtualServiceGVK, ns, "web"), "spec")).To(Equal(before), "a VirtualService with a bad reference is not written")

	err = r.UpdateHash(ctx, "v2hash", "v1hash", nil)
	g.Expect(err).To(MatchError(ContainSubstring(`DestinationRule ` + ns + `/web: no subset named "preview"`)))

	// A foreign edit between two passes is kept.
	edit(g, virtualServiceGVK, ns, "web", func(u *unstructured.Unstructured) {
		g.Expect(unstructured.SetNestedStringSlice(u.Object, []string{"gw", "mesh"}, "spec", "gateways")).To(Succeed())
	})
	good := istio.New(controller, rolloutIn(t, g, ns, func(ro *v1alpha1.Rollout) {
		ro.Name = "web2"
		istioRollout(v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "web", Routes: []string{"primary"}}})(ro)
	}))
	g.Expect(good.SetWeight(ctx, tr.Split{Canary: 5, Max: 100})).To(Succeed())
	g.Expect(field(g, get(g, virtualServiceGVK, ns, "web"), "spec", "gateways")).To(Equal(yamlOf(g, `[gw, mesh]`)))
}
