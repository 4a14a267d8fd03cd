package trafficrouting_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
)

func raw(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

// Each case edits a valid NGINX canary; want lists substrings each of which
// must appear in some error, nil means valid.
func TestValidate(t *testing.T) {
	header := func(name string, m ...v1alpha1.HeaderRoutingMatch) v1alpha1.CanaryStep {
		return v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: name, Match: m}}
	}
	exact := func(h, v string) v1alpha1.HeaderRoutingMatch {
		return v1alpha1.HeaderRoutingMatch{HeaderName: h, HeaderValue: &v1alpha1.StringMatch{Exact: v}}
	}
	gateway := func(c *v1alpha1.CanaryStrategy) {
		c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Plugins: map[string]apiextensionsv1.JSON{
			"argoproj-labs/gatewayAPI": *raw(`{"httpRoute":"web"}`)}}
	}
	istio := func(c *v1alpha1.CanaryStrategy) {
		c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{
			VirtualService: &v1alpha1.IstioVirtualService{Name: "vs", Routes: []string{"primary"}}}}
	}
	alb := func(c *v1alpha1.CanaryStrategy) {
		c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "ing", ServicePort: 80}}
	}
	tests := []struct {
		name string
		edit func(c *v1alpha1.CanaryStrategy)
		want []string
	}{
		{name: "the nginx canary is valid", edit: func(*v1alpha1.CanaryStrategy) {}},
		{name: "the Gateway API canary is valid", edit: gateway},
		{name: "the ALB canary is valid", edit: alb},
		{
			name: "unsupported routers are refused by name",
			edit: func(c *v1alpha1.CanaryStrategy) {
				c.TrafficRouting.SMI = raw(`{}`)
				c.TrafficRouting.Traefik = raw(`{"weightedTraefikServiceName":"x"}`)
				c.TrafficRouting.Ambassador = raw(`{}`)
				c.TrafficRouting.Apisix = raw(`{}`)
				c.TrafficRouting.AppMesh = raw(`{}`)
			},
			want: []string{
				"spec.strategy.canary.trafficRouting.smi: Forbidden: the SMI traffic router is not supported",
				"trafficRouting.traefik: Forbidden: the Traefik traffic router",
				"trafficRouting.ambassador: Forbidden: the Ambassador traffic router",
				"trafficRouting.apisix: Forbidden: the APISIX traffic router",
				"trafficRouting.appMesh: Forbidden: the App Mesh traffic router",
			},
		},
		{
			name: "another plugin is refused by name",
			edit: func(c *v1alpha1.CanaryStrategy) {
				c.TrafficRouting.Plugins = map[string]apiextensionsv1.JSON{"acme/router": *raw(`{}`)}
			},
			want: []string{`trafficRouting.plugins[acme/router]: Forbidden: traffic router plugin "acme/router" is not supported`},
		},
		{
			name: "a Gateway API config without routes",
			edit: func(c *v1alpha1.CanaryStrategy) {
				gateway(c)
				c.TrafficRouting.Plugins["argoproj-labs/gatewayAPI"] = *raw(`{"namespace":"x","httpRoutes":[{"useHeaderRoutes":true}]}`)
			},
			want: []string{"plugins[argoproj-labs/gatewayAPI].httpRoutes[0].name: Required value"},
		},
		{
			name: "a Gateway API config that is not JSON of the right shape",
			edit: func(c *v1alpha1.CanaryStrategy) {
				gateway(c)
				c.TrafficRouting.Plugins["argoproj-labs/gatewayAPI"] = *raw(`{"httpRoutes":"web"}`)
			},
			want: []string{"plugins[argoproj-labs/gatewayAPI]: Invalid value", "decode argoproj-labs/gatewayAPI configuration"},
		},
		{
			name: "trafficRouting without a router",
			edit: func(c *v1alpha1.CanaryStrategy) { c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{} },
			want: []string{"spec.strategy.canary.trafficRouting: Required value: one of istio, nginx, alb"},
		},
		{
			name: "nginx needs both Services",
			edit: func(c *v1alpha1.CanaryStrategy) { c.CanaryService, c.StableService = "", "" },
			want: []string{"canary.canaryService: Required value: required by the nginx traffic router", "canary.stableService: Required value"},
		},
		{
			name: "the Services must differ",
			edit: func(c *v1alpha1.CanaryStrategy) { c.StableService = c.CanaryService },
			want: []string{"canary.stableService: Invalid value: \"canary\": canaryService and stableService must name two different Services"},
		},
		{
			name: "Istio with a DestinationRule needs no Services",
			edit: func(c *v1alpha1.CanaryStrategy) {
				istio(c)
				c.TrafficRouting.Istio.DestinationRule = &v1alpha1.IstioDestinationRule{Name: "dr", CanarySubsetName: "canary", StableSubsetName: "stable"}
				c.CanaryService, c.StableService = "", ""
			},
		},
		{
			name: "nginx with both stableIngress and stableIngresses",
			edit: func(c *v1alpha1.CanaryStrategy) { c.TrafficRouting.Nginx.StableIngresses = []string{"a"} },
			want: []string{"trafficRouting.nginx.stableIngresses: Invalid value"},
		},
		{
			name: "ALB: no servicePort, bad stickiness, both ingress fields",
			edit: func(c *v1alpha1.CanaryStrategy) {
				alb(c)
				c.TrafficRouting.ALB.ServicePort = 0
				c.TrafficRouting.ALB.Ingresses = []string{"b"}
				c.TrafficRouting.ALB.StickinessConfig = &v1alpha1.StickinessConfig{Enabled: true, DurationSeconds: 700000}
			},
			want: []string{"alb.servicePort: Invalid value: 0", "alb.stickinessConfig.durationSeconds: Invalid value: 700000", "alb.ingresses: Invalid value"},
		},
		{
			name: "Istio: two VirtualService fields and a DestinationRule without subsets",
			edit: func(c *v1alpha1.CanaryStrategy) {
				istio(c)
				c.TrafficRouting.Istio.VirtualServices = []v1alpha1.IstioVirtualService{{Name: ""}}
				c.TrafficRouting.Istio.DestinationRule = &v1alpha1.IstioDestinationRule{Name: "dr"}
			},
			want: []string{"istio.virtualServices: Invalid value", "istio.virtualServices[0].name: Required value", "istio.destinationRule.canarySubsetName: Required value"},
		},
		{
			name: "maxTrafficWeight with Istio",
			edit: func(c *v1alpha1.CanaryStrategy) { istio(c); c.TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000) },
			want: []string{"trafficRouting.maxTrafficWeight: Invalid value: 1000: only the nginx and Gateway API traffic routers"},
		},
		{
			name: "maxTrafficWeight 1000 lets setWeight go to 1000, not beyond",
			edit: func(c *v1alpha1.CanaryStrategy) {
				c.TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000)
				c.Steps = []v1alpha1.CanaryStep{setWeight(500), setWeight(1001)}
			},
			want: []string{"steps[1].setWeight: Invalid value: 1001: must be between 0 and 1000"},
		},
		{
			name: "setWeight above 100 without maxTrafficWeight",
			edit: func(c *v1alpha1.CanaryStrategy) { c.Steps = []v1alpha1.CanaryStep{setWeight(101)} },
			want: []string{"steps[0].setWeight: Invalid value: 101: must be between 0 and 100"},
		},
		{
			name: "scaleDownDelaySeconds with dynamicStableScale",
			edit: func(c *v1alpha1.CanaryStrategy) {
				c.DynamicStableScale, c.ScaleDownDelaySeconds = true, ptr.To[int32](30)
			},
			want: []string{"canary.dynamicStableScale: Invalid value: true: " + tr.ScaleDownDelayAndDynamic},
		},
		{
			name: "header route with nginx",
			edit: func(c *v1alpha1.CanaryStrategy) {
				c.TrafficRouting.ManagedRoutes = []v1alpha1.ManagedRoute{{Name: "h"}}
				c.Steps = []v1alpha1.CanaryStep{header("h", exact("x", "1"))}
			},
			want: []string{"steps[0].setHeaderRoute: Invalid value: \"setHeaderRoute\": setHeaderRoute needs the istio, alb or Gateway API traffic router"},
		},
		{
			name: "header route not in managedRoutes, and a header value with two matches",
			edit: func(c *v1alpha1.CanaryStrategy) {
				istio(c)
				c.Steps = []v1alpha1.CanaryStep{header("h", v1alpha1.HeaderRoutingMatch{HeaderName: "x", HeaderValue: &v1alpha1.StringMatch{Exact: "1", Prefix: "2"}})}
			},
			want: []string{"steps[0].setHeaderRoute.name: Invalid value: \"h\": must be listed in trafficRouting.managedRoutes",
				"setHeaderRoute.match[0].headerValue: Invalid value", "exactly one of exact, prefix or regex"},
		},
		{
			name: "ALB header routes match exactly",
			edit: func(c *v1alpha1.CanaryStrategy) {
				alb(c)
				c.TrafficRouting.ManagedRoutes = []v1alpha1.ManagedRoute{{Name: "h"}}
				c.Steps = []v1alpha1.CanaryStep{header("h", v1alpha1.HeaderRoutingMatch{HeaderName: "x", HeaderValue: &v1alpha1.StringMatch{Prefix: "2"}})}
			},
			want: []string{"headerValue: Invalid value", "the alb traffic router matches headers exactly"},
		},
		{
			name: "a mirror route with ALB",
			edit: func(c *v1alpha1.CanaryStrategy) {
				alb(c)
				c.TrafficRouting.ManagedRoutes = []v1alpha1.ManagedRoute{{Name: "m"}}
				c.Steps = []v1alpha1.CanaryStep{{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m"}}}
			},
			want: []string{"setMirrorRoute: Invalid value: \"setMirrorRoute\": setMirrorRoute needs the istio or Gateway API traffic router"},
		},
		{
			name: "a Gateway API mirror route matches methods exactly; percentage at most 100",
			edit: func(c *v1alpha1.CanaryStrategy) {
				gateway(c)
				c.TrafficRouting.ManagedRoutes = []v1alpha1.ManagedRoute{{Name: "m"}, {Name: "m"}}
				c.Steps = []v1alpha1.CanaryStep{{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m", Percentage: ptr.To[int32](101),
					Match: []v1alpha1.RouteMatch{{Method: &v1alpha1.StringMatch{Prefix: "G"}}, {}}}}}
			},
			want: []string{"setMirrorRoute.percentage: Invalid value: 101", "setMirrorRoute.match[0].method: Invalid value", "matches an HTTP method exactly",
				"setMirrorRoute.match[1]: Required value", "managedRoutes[1].name: Duplicate value"},
		},
		{
			name: "pingPong with nginx, missing pong",
			edit: func(c *v1alpha1.CanaryStrategy) { c.PingPong = &v1alpha1.PingPongSpec{PingService: "ping"} },
			want: []string{"canary.pingPong.pongService: Required value", "canary.pingPong: Invalid value: \"pingPong\": pingPong needs the alb, istio or Gateway API traffic router"},
		},
		{
			name: "pingPong with ALB needs rootService, not the canary/stable Services",
			edit: func(c *v1alpha1.CanaryStrategy) {
				alb(c)
				c.CanaryService, c.StableService = "", ""
				c.PingPong = &v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}
			},
			want: []string{"trafficRouting.alb.rootService: Required value: required with pingPong"},
		},
		{
			name: "without trafficRouting: the router knobs are refused",
			edit: func(c *v1alpha1.CanaryStrategy) {
				c.TrafficRouting = nil
				c.DynamicStableScale = true
				c.ScaleDownDelaySeconds = ptr.To[int32](5)
				c.Steps = []v1alpha1.CanaryStep{scaleReplicas(2), header("h"), {SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m"}}}
			},
			want: []string{"canary.dynamicStableScale: Invalid value: true: can only be used with trafficRouting",
				"canary.scaleDownDelaySeconds: Invalid value: 5: can only be used", "steps[0].setCanaryScale: Invalid value",
				"steps[1].setHeaderRoute: Invalid value", "steps[2].setMirrorRoute: Invalid value"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ro := rollout(10, 0, setWeight(30), pause())
			tt.edit(ro.Spec.Strategy.Canary)
			errs := tr.Validate(ro)
			if tt.want == nil {
				if len(errs) > 0 {
					t.Fatalf("want valid, got %v", errs.ToAggregate())
				}
				return
			}
			all := errs.ToAggregate()
			if all == nil {
				t.Fatalf("want errors %q, got none", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(all.Error(), w) {
					t.Errorf("no error contains %q; got:\n%s", w, strings.ReplaceAll(all.Error(), ", ", "\n"))
				}
			}
		})
	}
}

func TestValidateServices(t *testing.T) {
	ro := rollout(10, 0, setWeight(30))
	ro.Spec.Template.Labels = map[string]string{"app": "web"}
	svc := func(name string, sel map[string]string, owner string) *corev1.Service {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{Selector: sel}}
		if owner != "" {
			s.Annotations = map[string]string{v1alpha1.ManagedByRolloutsKey: owner}
		}
		return s
	}
	ok := map[string]*corev1.Service{
		"canary": svc("canary", map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: "x"}, "ro"),
		"stable": svc("stable", map[string]string{"app": "web"}, ""),
	}
	if errs := tr.ValidateServices(ro, ok); len(errs) > 0 {
		t.Fatalf("valid Services refused: %v", errs.ToAggregate())
	}
	bad := map[string]*corev1.Service{
		"canary": svc("canary", map[string]string{"app": "api"}, ""),
		"stable": svc("stable", map[string]string{"app": "web"}, "other"),
	}
	got := tr.ValidateServices(ro, bad).ToAggregate().Error()
	for _, w := range []string{
		`canary.canaryService: Invalid value: "canary": Service "canary" selects app=api, which the pod template's labels do not have`,
		`canary.stableService: Invalid value: "stable": Service "stable" is managed by Rollout "other"`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in %s", w, got)
		}
	}
	if got := tr.ValidateServices(ro, map[string]*corev1.Service{}).ToAggregate().Error(); !strings.Contains(got, `canary.canaryService: Not found: "canary"`) {
		t.Errorf("missing Service: %s", got)
	}
}
