package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/routercrds"
)

// The routed seed: the canary seed, its canary and stable Services, and
// one router's objects.
const (
	routedRollout = "backend-canary"
	canarySvc     = "backend-canary-canary"
	stableSvc     = "backend-canary-stable"
)

var (
	servicesGVR       = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	endpointSlicesGVR = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
	httpRoutesGVR     = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	ingressesGVR      = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
	virtualSvcsGVR    = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	replicaSetsGVR    = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
)

// pair is one weighted split the router holds: canary and stable weight.
type pair struct{ canary, stable int64 }

// router is one traffic router's part of the e2e scenarios.
type router struct {
	name string
	// trafficRouting is the YAML of spec.strategy.canary.trafficRouting,
	// objects the router's objects.
	trafficRouting, objects string
	// header and mirror: the router supports those route steps.
	header, mirror bool
	gvr            schema.GroupVersionResource
	// splits reads the weighted splits from the router's objects;
	// managed names the header and mirror routes present in them.
	splits  func(st state) ([]pair, error)
	managed func(st state) []string
}

var routerCRDsOnce sync.Once

// installRouterCRDs installs the Gateway API and Istio CRDs from their Go
// modules, once for the package.
func installRouterCRDs(t *testing.T) {
	var err error
	routerCRDsOnce.Do(func() {
		crds, lerr := routercrds.All(root)
		if lerr != nil {
			err = lerr
			return
		}
		err = routercrds.Install(env.RESTConfig, crds)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func gatewayAPIRouter() router {
	return router{
		name: "GatewayAPI", header: true, mirror: true, gvr: httpRoutesGVR,
		trafficRouting: `
        managedRoutes: [{name: header}, {name: mirror}]
        plugins:
          argoproj-labs/gatewayAPI:
            httpRoute: backend-canary`,
		objects: `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: backend-canary}
spec:
  parentRefs: [{name: gateway}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs:
    - {name: backend-canary-stable, port: 80, weight: 100}
    - {name: backend-canary-canary, port: 80, weight: 0}`,
		splits: func(st state) ([]pair, error) {
			u := st.get(httpRoutesGVR, routedRollout)
			if u == nil {
				return nil, fmt.Errorf("HTTPRoute %s is gone", routedRollout)
			}
			var out []pair
			rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
			for _, r := range rules {
				rule := r.(map[string]any)
				if rule["name"] == "header" {
					continue // all of its traffic goes to the canary
				}
				p, both := pair{}, 0
				for _, ref := range rule["backendRefs"].([]any) {
					m := ref.(map[string]any)
					w, _ := m["weight"].(int64)
					switch m["name"] {
					case canarySvc:
						p.canary, both = w, both+1
					case stableSvc:
						p.stable, both = w, both+1
					}
				}
				if both != 2 {
					return nil, fmt.Errorf("rule %v does not reference both Services", rule["name"])
				}
				out = append(out, p)
			}
			return out, nil
		},
		managed: func(st state) []string {
			var out []string
			if u := st.get(httpRoutesGVR, routedRollout); u != nil {
				rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
				for _, r := range rules {
					if n, _ := r.(map[string]any)["name"].(string); n != "" {
						out = append(out, n)
					}
				}
			}
			return out
		},
	}
}

const albAction = "alb.ingress.kubernetes.io/actions." + stableSvc

func albRouter() router {
	return router{
		name: "ALB", header: true, gvr: ingressesGVR,
		trafficRouting: `
        managedRoutes: [{name: header}]
        alb:
          ingress: backend-canary
          servicePort: 80`,
		objects: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: backend-canary
  annotations: {alb.ingress.kubernetes.io/scheme: internal}
spec:
  ingressClassName: alb
  rules:
  - http:
      paths:
      - path: /*
        pathType: ImplementationSpecific
        backend: {service: {name: backend-canary-stable, port: {name: use-annotation}}}`,
		splits: func(st state) ([]pair, error) {
			u := st.get(ingressesGVR, routedRollout)
			if u == nil {
				return nil, fmt.Errorf("Ingress %s is gone", routedRollout)
			}
			var a struct {
				ForwardConfig struct {
					TargetGroups []struct {
						ServiceName string
						Weight      int64
					}
				}
			}
			raw, ok := u.GetAnnotations()[albAction]
			if !ok {
				return nil, fmt.Errorf("no %s annotation", albAction)
			}
			if err := json.Unmarshal([]byte(raw), &a); err != nil {
				return nil, err
			}
			p := pair{}
			for _, tg := range a.ForwardConfig.TargetGroups {
				switch tg.ServiceName {
				case canarySvc:
					p.canary = tg.Weight
				case stableSvc:
					p.stable = tg.Weight
				default:
					return nil, fmt.Errorf("target group %s", tg.ServiceName)
				}
			}
			return []pair{p}, nil
		},
		managed: func(st state) []string {
			var out []string
			if u := st.get(ingressesGVR, routedRollout); u != nil {
				if _, ok := u.GetAnnotations()["alb.ingress.kubernetes.io/conditions.header"]; ok {
					out = append(out, "header")
				}
			}
			return out
		},
	}
}

const nginxCanaryIngress = routedRollout + "-" + routedRollout + "-canary"

func nginxRouter() router {
	return router{
		name: "Nginx", gvr: ingressesGVR,
		trafficRouting: `
        nginx:
          stableIngress: backend-canary`,
		objects: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: backend-canary}
spec:
  ingressClassName: nginx
  rules:
  - host: backend.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: backend-canary-stable, port: {number: 80}}}`,
		splits: func(st state) ([]pair, error) {
			if st.get(ingressesGVR, routedRollout) == nil {
				return nil, fmt.Errorf("the stable Ingress is gone")
			}
			u := st.get(ingressesGVR, nginxCanaryIngress)
			if u == nil {
				return []pair{{canary: 0, stable: 100}}, nil // no canary Ingress: all on stable
			}
			w, err := strconv.ParseInt(u.GetAnnotations()["nginx.ingress.kubernetes.io/canary-weight"], 10, 64)
			if err != nil || u.GetAnnotations()["nginx.ingress.kubernetes.io/canary"] != "true" {
				return nil, fmt.Errorf("canary Ingress annotations %v", u.GetAnnotations())
			}
			return []pair{{canary: w, stable: 100 - w}}, nil
		},
		managed: func(state) []string { return nil },
	}
}

func istioRouter() router {
	return router{
		name: "Istio", header: true, mirror: true, gvr: virtualSvcsGVR,
		trafficRouting: `
        managedRoutes: [{name: header}, {name: mirror}]
        istio:
          virtualService: {name: backend-canary, routes: [primary]}`,
		objects: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: backend-canary}
spec:
  hosts: [backend.example.com]
  gateways: [mesh]
  http:
  - name: primary
    route:
    - destination: {host: backend-canary-stable, port: {number: 80}}
      weight: 100
    - destination: {host: backend-canary-canary, port: {number: 80}}
      weight: 0`,
		splits: func(st state) ([]pair, error) {
			u := st.get(virtualSvcsGVR, routedRollout)
			if u == nil {
				return nil, fmt.Errorf("VirtualService %s is gone", routedRollout)
			}
			var out []pair
			routes, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
			for _, r := range routes {
				route := r.(map[string]any)
				if route["name"] == "header" {
					continue
				}
				p, both := pair{}, 0
				for _, d := range route["route"].([]any) {
					m := d.(map[string]any)
					w, _ := m["weight"].(int64)
					switch m["destination"].(map[string]any)["host"] {
					case canarySvc:
						p.canary, both = w, both+1
					case stableSvc:
						p.stable, both = w, both+1
					}
				}
				if both != 2 {
					return nil, fmt.Errorf("route %v does not reach both Services", route["name"])
				}
				out = append(out, p)
			}
			return out, nil
		},
		managed: func(st state) []string {
			var out []string
			if u := st.get(virtualSvcsGVR, routedRollout); u != nil {
				routes, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
				for _, r := range routes {
					if n := r.(map[string]any)["name"]; n == "header" || n == "mirror" {
						out = append(out, n.(string))
					}
				}
			}
			return out
		},
	}
}

// applyRoutedSeed applies the canary seed with canaryService,
// stableService and the router's trafficRouting added to its canary
// strategy, its two Services and the router's objects, then waits for it
// to be Healthy.
func (e *testEnv) applyRoutedSeed(rt router) {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "examples", "canary-rollout.yaml"))
	e.g.Expect(err).NotTo(HaveOccurred())
	seed := string(data)
	const at = "\n    canary:\n"
	e.g.Expect(seed).To(ContainSubstring(at))
	seed = strings.Replace(seed, at, at+"      canaryService: "+canarySvc+"\n      stableService: "+stableSvc+"\n      trafficRouting:"+rt.trafficRouting+"\n", 1)
	var docs []string
	for _, name := range []string{canarySvc, stableSvc} {
		docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %s}
spec:
  selector: {app: backend-canary}
  ports: [{name: http, port: 80, targetPort: 8080}]`, name))
	}
	docs = append(docs, strings.TrimSpace(rt.objects), seed)
	file := filepath.Join(e.t.TempDir(), "routed-canary.yaml")
	e.g.Expect(os.WriteFile(file, []byte(strings.Join(docs, "\n---\n")), 0o644)).To(Succeed())
	e.mustKubectl("apply", "-f", file)
	e.g.Eventually(e.rollout(routedRollout)).Should(WithTransform(phaseOf, Equal("Healthy")))
	e.t.Cleanup(func() {
		if e.t.Failed() {
			out, _ := e.kubectl("get", rt.gvr.Resource+"."+rt.gvr.Group, "-o", "yaml")
			e.t.Logf("%s objects:\n%s", rt.name, out)
		}
	})
}

// trafficRecord is what a phase of a routed rollout looked like.
type trafficRecord struct {
	// weights are the canary weights the router held, each change once.
	weights []int64
	// managed are the header and mirror routes that were ever present.
	managed map[string]bool
	// stableReplicas are the distinct spec.replicas of the ReplicaSet
	// the phase started as stable, in order.
	stableReplicas []int32
	violations     []string
	states         int
}

// recordTraffic starts recording the router's objects, the Services, their
// EndpointSlices and the ReplicaSets.
func (e *testEnv) recordTraffic(rt router) *timeline {
	return e.recordTimeline(rt.gvr, servicesGVR, endpointSlicesGVR, replicaSetsGVR)
}

// checkTraffic replays the recording and checks every state: each split
// adds up to 100; a Service that receives traffic (weight, or a header or
// mirror route for the canary) has a ready endpoint among the pods of the
// ReplicaSet its selector names.
func (e *testEnv) checkTraffic(rt router, tl *timeline, stableHash string) trafficRecord {
	rec := trafficRecord{managed: map[string]bool{}}
	tl.stop(e.g, func(st state, c *change) {
		rec.states++
		where := "at the start"
		if c != nil {
			where = fmt.Sprintf("after %s %s (resourceVersion %d)", c.gvr.Resource, c.obj.GetName(), c.rv)
		}
		if rs := st.get(replicaSetsGVR, routedRollout+"-"+stableHash); rs != nil {
			n, _, _ := unstructured.NestedInt64(rs.Object, "spec", "replicas")
			if l := len(rec.stableReplicas); l == 0 || rec.stableReplicas[l-1] != int32(n) {
				rec.stableReplicas = append(rec.stableReplicas, int32(n))
			}
		}
		splits, err := rt.splits(st)
		if err != nil {
			rec.violations = append(rec.violations, where+": "+err.Error())
			return
		}
		canary, stable := int64(0), int64(0)
		for i, p := range splits {
			if p.canary+p.stable != 100 || p.canary < 0 || p.stable < 0 {
				rec.violations = append(rec.violations, fmt.Sprintf("%s: split %d is canary %d + stable %d", where, i, p.canary, p.stable))
			}
			if i > 0 && p.canary != splits[0].canary {
				rec.violations = append(rec.violations, fmt.Sprintf("%s: splits disagree: %v", where, splits))
			}
			canary, stable = max(canary, p.canary), max(stable, p.stable)
		}
		managed := rt.managed(st)
		for _, m := range managed {
			rec.managed[m] = true
		}
		if l := len(rec.weights); len(splits) > 0 && (l == 0 || rec.weights[l-1] != splits[0].canary) {
			rec.weights = append(rec.weights, splits[0].canary)
		}
		for svc, w := range map[string]int64{canarySvc: canary + int64(len(managed)), stableSvc: stable} {
			if w == 0 {
				continue
			}
			if why := servedBy(st, svc); why != "" {
				rec.violations = append(rec.violations, fmt.Sprintf("%s: %s receives traffic (canary %d, stable %d, routes %v) but %s", where, svc, canary, stable, managed, why))
			}
		}
	})
	return rec
}

// servedBy says why the Service's selected pods have no ready endpoint, or
// returns "".
func servedBy(st state, svcName string) string {
	u := st.get(servicesGVR, svcName)
	if u == nil {
		return "it does not exist"
	}
	svc := &corev1.Service{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, svc); err != nil {
		return err.Error()
	}
	hash := svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
	if hash == "" {
		return "it selects no ReplicaSet"
	}
	prefix := routedRollout + "-" + hash + "-"
	for _, u := range st[endpointSlicesGVR] {
		if u.GetLabels()[discoveryv1.LabelServiceName] != svcName {
			continue
		}
		slice := &discoveryv1.EndpointSlice{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, slice); err != nil {
			return err.Error()
		}
		for _, ep := range slice.Endpoints {
			if ep.TargetRef != nil && strings.HasPrefix(ep.TargetRef.Name, prefix) && ptr.Deref(ep.Conditions.Ready, false) {
				return ""
			}
		}
	}
	return "no pod of ReplicaSet " + hash + " is a ready endpoint of it"
}

func (e *testEnv) expectClean(rt router, phase string, rec trafficRecord) {
	e.t.Helper()
	e.t.Logf("%s %s: %d states checked, weights %v, stable replicas %v, routes %v", rt.name, phase, rec.states, rec.weights, rec.stableReplicas, rec.managed)
	e.g.Expect(rec.violations).To(BeEmpty(), "%s %s", rt.name, phase)
}

// pausedAt is the canary's hash once the Rollout is paused at step index.
func (e *testEnv) pausedAt(index int32) func() string {
	return func() string {
		ro := e.rollout(routedRollout)()
		if phaseOf(ro) != "Paused" || stepIndex(ro) != index {
			return ""
		}
		return ro.Status.CurrentPodHash
	}
}

// healthyAt waits until the Rollout is Healthy with hash as its stable.
func (e *testEnv) healthyAt(hash string) {
	e.t.Helper()
	e.g.Eventually(func(g Gomega) {
		ro := e.rollout(routedRollout)()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		g.Expect(ro.Status.StableRS).To(Equal(hash))
		g.Expect(ro.Status.Canary.Weights).NotTo(BeNil())
		g.Expect(ro.Status.Canary.Weights.Canary.Weight).To(BeZero())
		g.Expect(ro.Status.Canary.Weights.Stable.PodTemplateHash).To(Equal(hash))
	}).Should(Succeed())
}

// playRouted plays, on one router, the scenarios the issue asks for: the
// seed canary (30%, pause) promoted; an abort; setCanaryScale with 2 pods
// at 5% (with header and mirror routes where the router has them);
// dynamicStableScale shrinking the stable as the weight moves. Each phase
// is recorded and every state it went through is checked.
func playRouted(t *testing.T, rt router) {
	installRouterCRDs(t)
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	e.applyRoutedSeed(rt)
	v1 := e.rollout(routedRollout)().Status.StableRS
	e.healthyAt(v1)

	// 1. The seed's steps: 30%, pause; promote.
	tl := e.recordTraffic(rt)
	e.setImage(routedRollout, newBuild)
	var v2 string
	g.Eventually(func(g Gomega) {
		v2 = e.pausedAt(1)()
		g.Expect(v2).NotTo(BeEmpty())
		g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(v2, "3/3"))
		g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(v1, "10/10"))
		g.Expect(e.rollout(routedRollout)().Status.Canary.Weights.Canary.Weight).To(Equal(int32(30)))
	}).Should(Succeed())
	getOut := e.mustRollouts("get", "rollout", routedRollout, "--no-color")
	g.Expect(getOut).To(MatchRegexp(`SetWeight:\s+30\n\s+ActualWeight:\s+30`))
	e.mustRollouts("promote", routedRollout)
	e.healthyAt(v2)
	rec := e.checkTraffic(rt, tl, v1)
	e.expectClean(rt, "seed canary", rec)
	g.Expect(rec.weights).To(Equal([]int64{0, 30, 100, 0}), "the seed's steps, then full promotion")

	// 2. Abort at 30%: all traffic back to the stable first.
	tl = e.recordTraffic(rt)
	third := seedImage + "@sha256:3333333333333333333333333333333333333333333333333333333333333333"
	e.setImage(routedRollout, third)
	var v3 string
	g.Eventually(func() string { v3 = e.pausedAt(1)(); return v3 }).ShouldNot(BeEmpty())
	e.mustRollouts("abort", routedRollout)
	g.Eventually(func(g Gomega) {
		ro := e.rollout(routedRollout)()
		g.Expect(phaseOf(ro)).To(Equal("Degraded"))
		g.Expect(ro.Status.Canary.Weights.Canary.Weight).To(BeZero())
		g.Expect(e.service(canarySvc)().Spec.Selector).To(HaveKeyWithValue(v1alpha1.DefaultRolloutUniqueLabelKey, v2))
	}).Should(Succeed())
	rec = e.checkTraffic(rt, tl, v2)
	e.expectClean(rt, "abort", rec)
	g.Expect(rec.weights).To(Equal([]int64{0, 30, 0}))
	// Back to the stable build: nothing to roll out.
	e.setImage(routedRollout, newBuild)
	e.healthyAt(v2)

	// 3. setCanaryScale: 2 canary pods at 5%, with header and mirror routes.
	steps := `[{"setCanaryScale":{"replicas":2}},{"setWeight":5}`
	var routes []string
	if rt.header {
		steps += `,{"setHeaderRoute":{"name":"header","match":[{"headerName":"x-canary","headerValue":{"exact":"yes"}}]}}`
		routes = append(routes, "header")
	}
	if rt.mirror {
		steps += `,{"setMirrorRoute":{"name":"mirror","percentage":50,"match":[{"path":{"prefix":"/"}}]}}`
		routes = append(routes, "mirror")
	}
	steps += `,{"pause":{}}]`
	pauseIndex := int32(strings.Count(steps, `{"set`))
	tl = e.recordTraffic(rt)
	fourth := seedImage + "@sha256:4444444444444444444444444444444444444444444444444444444444444444"
	e.mustKubectl("patch", "rollout", routedRollout, "--type=json", "-p",
		fmt.Sprintf(`[{"op":"replace","path":"/spec/strategy/canary/steps","value":%s},{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, steps, fourth))
	var v4 string
	g.Eventually(func(g Gomega) {
		v4 = e.pausedAt(pauseIndex)()
		g.Expect(v4).NotTo(BeEmpty())
		g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(v4, "2/2"))
		g.Expect(e.rollout(routedRollout)().Status.Canary.Weights.Canary.Weight).To(Equal(int32(5)))
	}).Should(Succeed())
	e.mustRollouts("promote", routedRollout)
	e.healthyAt(v4)
	rec = e.checkTraffic(rt, tl, v2)
	e.expectClean(rt, "setCanaryScale", rec)
	g.Expect(rec.weights).To(Equal([]int64{0, 5, 100, 0}))
	for _, r := range routes {
		g.Expect(rec.managed).To(HaveKey(r), "the %s route was written", r)
	}
	tl = e.recordTimeline(rt.gvr)
	var now []string
	tl.stop(g, func(st state, _ *change) { now = rt.managed(st) })
	g.Expect(now).To(BeEmpty(), "header and mirror routes are removed once promoted")

	// 4. dynamicStableScale: the stable shrinks as the weight moves.
	tl = e.recordTraffic(rt)
	fifth := seedImage + "@sha256:5555555555555555555555555555555555555555555555555555555555555555"
	e.mustKubectl("patch", "rollout", routedRollout, "--type=json", "-p",
		fmt.Sprintf(`[{"op":"add","path":"/spec/strategy/canary/dynamicStableScale","value":true},{"op":"replace","path":"/spec/strategy/canary/steps","value":[{"setWeight":50},{"pause":{}}]},{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, fifth))
	var v5 string
	g.Eventually(func(g Gomega) {
		v5 = e.pausedAt(1)()
		g.Expect(v5).NotTo(BeEmpty())
		g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(v5, "5/5"))
		g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(v4, "5/5"))
	}).Should(Succeed())
	e.mustRollouts("promote", routedRollout)
	e.healthyAt(v5)
	g.Eventually(e.replicaSetCounts).Should(HaveKeyWithValue(v4, "0/0"), "the old stable goes at once")
	rec = e.checkTraffic(rt, tl, v4)
	e.expectClean(rt, "dynamicStableScale", rec)
	g.Expect(rec.weights).To(Equal([]int64{0, 50, 100, 0}))
	g.Expect(rec.stableReplicas).To(Equal([]int32{10, 5, 0}), "the stable follows its weight")
}

func TestTrafficRoutingGatewayAPI(t *testing.T) { playRouted(t, gatewayAPIRouter()) }
func TestTrafficRoutingALB(t *testing.T)        { playRouted(t, albRouter()) }
func TestTrafficRoutingNginx(t *testing.T)      { playRouted(t, nginxRouter()) }
func TestTrafficRoutingIstio(t *testing.T)      { playRouted(t, istioRouter()) }
