package clustertest

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/alb"
)

// albIngress is an Ingress whose "/" goes to the action of svc and "/health"
// to a plain Service, on two hosts.
func albIngress(g *WithT, ns, name, svc string) {
	action := func() networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Name: "use-annotation"}}}
	}
	health := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "health", Port: networkingv1.ServiceBackendPort{Number: 8080}}}
	rule := func(host string) networkingv1.IngressRule {
		return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
			{Path: "/health", PathType: ptr.To(networkingv1.PathTypeExact), Backend: health},
			{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: action()},
		}}}}
	}
	g.Expect(admin.Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
			"alb.ingress.kubernetes.io/scheme": "internet-facing"}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{rule("a.example.com"), rule("b.example.com")}},
	})).To(Succeed())
}

func albRollout(cfg v1alpha1.ALBTrafficRouting, managed ...string) func(*v1alpha1.Rollout) {
	return func(ro *v1alpha1.Rollout) {
		ro.Spec.Strategy.Canary.TrafficRouting.ALB = &cfg
		for _, m := range managed {
			ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes = append(ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes, v1alpha1.ManagedRoute{Name: m})
		}
	}
}

func TestALBWeights(t *testing.T) {
	ns, g := newNamespace(t)
	albIngress(g, ns, "web", "stable")
	target := rolloutIn(t, g, ns, albRollout(v1alpha1.ALBTrafficRouting{Ingress: "web", ServicePort: 80}))
	r := alb.New(controller, target, nil)

	for _, w := range []int32{0, 30, 100} {
		g.Expect(r.SetWeight(ctx, tr.Split{Canary: w, Max: 100})).To(Succeed())
		ing := getIngress(g, ns, "web")
		g.Expect(ing.Annotations).To(Equal(map[string]string{
			"alb.ingress.kubernetes.io/scheme": "internet-facing",
			"alb.ingress.kubernetes.io/actions.stable": `{"Type":"forward","ForwardConfig":{"TargetGroups":[` +
				`{"ServiceName":"canary","ServicePort":"80","Weight":` + itoa(int(w)) + `},` +
				`{"ServiceName":"stable","ServicePort":"80","Weight":` + itoa(100-int(w)) + `}]}}`,
			"rollouts.argoproj.io/managed-alb-annotations": `{"web":["alb.ingress.kubernetes.io/actions.stable"]}`,
		}), "weight %d", w)
	}
	// Weight verification is off without a Verifier: it cannot tell.
	v, err := r.VerifyWeight(ctx, tr.Split{Canary: 100, Max: 100})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v).To(BeNil())
}

func TestALBRootServiceStickinessExperimentsAndSeveralIngresses(t *testing.T) {
	ns, g := newNamespace(t)
	albIngress(g, ns, "public", "root")
	albIngress(g, ns, "private", "root")
	albIngress(g, ns, "wrong", "stable")
	target := rolloutIn(t, g, ns, albRollout(v1alpha1.ALBTrafficRouting{
		Ingresses: []string{"public", "missing", "wrong", "private"}, ServicePort: 443, RootService: "root",
		StickinessConfig: &v1alpha1.StickinessConfig{Enabled: true, DurationSeconds: 300},
	}))
	r := alb.New(controller, target, nil)

	err := r.SetWeight(ctx, tr.Split{Canary: 20, Max: 100, Additional: []v1alpha1.WeightDestination{{ServiceName: "exp", Weight: 10}}})
	g.Expect(err).To(MatchError(ContainSubstring("ingress " + ns + "/missing not found")))
	g.Expect(err).To(MatchError(ContainSubstring(`ingress ` + ns + `/wrong: no rule sends a path to Service "root"`)))
	want := `{"Type":"forward","ForwardConfig":{"TargetGroups":[` +
		`{"ServiceName":"canary","ServicePort":"443","Weight":20},` +
		`{"ServiceName":"exp","ServicePort":"443","Weight":10},` +
		`{"ServiceName":"stable","ServicePort":"443","Weight":70}],` +
		`"TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":300}}}`
	// Every Ingress that can be served is, despite the others' errors.
	for _, name := range []string{"public", "private"} {
		g.Expect(getIngress(g, ns, name).Annotations).To(HaveKeyWithValue("alb.ingress.kubernetes.io/actions.root", want), name)
	}
	g.Expect(getIngress(g, ns, "wrong").Annotations).To(Equal(map[string]string{"alb.ingress.kubernetes.io/scheme": "internet-facing"}))
}

func TestALBHeaderRoute(t *testing.T) {
	ns, g := newNamespace(t)
	albIngress(g, ns, "web", "stable")
	target := rolloutIn(t, g, ns, albRollout(v1alpha1.ALBTrafficRouting{Ingress: "web", ServicePort: 80}, "first", "preview"))
	// Another Rollout shares the Ingress and has its own entry.
	ing := getIngress(g, ns, "web")
	ing.Annotations["rollouts.argoproj.io/managed-alb-annotations"] = `{"api":["alb.ingress.kubernetes.io/actions.api"]}`
	g.Expect(admin.Update(ctx, ing)).To(Succeed())
	r := alb.New(controller, target, nil)
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 10, Max: 100})).To(Succeed())

	step := &v1alpha1.SetHeaderRoute{Name: "preview", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}},
		{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "always"}},
		{HeaderName: "x-team", HeaderValue: &v1alpha1.StringMatch{Exact: "qa"}},
	}}
	for range 2 { // the second run changes nothing
		g.Expect(r.SetHeaderRoute(ctx, step)).To(Succeed())
		ing = getIngress(g, ns, "web")
		g.Expect(ing.Annotations).To(HaveKeyWithValue("alb.ingress.kubernetes.io/actions.preview",
			`{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"80","Weight":100}]}}`))
		g.Expect(ing.Annotations).To(HaveKeyWithValue("alb.ingress.kubernetes.io/conditions.preview",
			`[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"x-canary","values":["yes","always"]}},`+
				`{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"x-team","values":["qa"]}}]`))
		g.Expect(ing.Annotations).To(HaveKeyWithValue("rollouts.argoproj.io/managed-alb-annotations",
			`{"api":["alb.ingress.kubernetes.io/actions.api"],"web":["alb.ingress.kubernetes.io/actions.preview","alb.ingress.kubernetes.io/actions.stable","alb.ingress.kubernetes.io/conditions.preview"]}`))
		for _, rule := range ing.Spec.Rules {
			g.Expect(paths(rule)).To(Equal([]string{"/* -> preview:use-annotation", "/health -> health:8080", "/ -> stable:use-annotation"}))
		}
	}
	// A second managed route goes before it: managedRoutes order.
	g.Expect(r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "first", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "x-first", HeaderValue: &v1alpha1.StringMatch{Exact: "1"}}}})).To(Succeed())
	g.Expect(paths(getIngress(g, ns, "web").Spec.Rules[1])).To(Equal([]string{
		"/* -> first:use-annotation", "/* -> preview:use-annotation", "/health -> health:8080", "/ -> stable:use-annotation"}))

	// Without match the route goes; RemoveManagedRoutes takes the rest.
	g.Expect(r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "preview"})).To(Succeed())
	ing = getIngress(g, ns, "web")
	g.Expect(ing.Annotations).NotTo(HaveKey("alb.ingress.kubernetes.io/actions.preview"))
	g.Expect(ing.Annotations).NotTo(HaveKey("alb.ingress.kubernetes.io/conditions.preview"))
	g.Expect(paths(ing.Spec.Rules[0])).To(Equal([]string{"/* -> first:use-annotation", "/health -> health:8080", "/ -> stable:use-annotation"}))
	g.Expect(r.RemoveManagedRoutes(ctx)).To(Succeed())
	ing = getIngress(g, ns, "web")
	g.Expect(paths(ing.Spec.Rules[0])).To(Equal([]string{"/health -> health:8080", "/ -> stable:use-annotation"}))
	g.Expect(ing.Annotations).To(Equal(map[string]string{
		"alb.ingress.kubernetes.io/scheme": "internet-facing",
		"alb.ingress.kubernetes.io/actions.stable": `{"Type":"forward","ForwardConfig":{"TargetGroups":[` +
			`{"ServiceName":"canary","ServicePort":"80","Weight":10},{"ServiceName":"stable","ServicePort":"80","Weight":90}]}}`,
		"rollouts.argoproj.io/managed-alb-annotations": `{"api":["alb.ingress.kubernetes.io/actions.api"],"web":["alb.ingress.kubernetes.io/actions.stable"]}`,
	}))
}

// stubVerifier answers for the load balancer.
type stubVerifier struct{ ok bool }

func (s stubVerifier) VerifyWeight(context.Context, *networkingv1.Ingress, tr.Split, string, string, int32) (bool, error) {
	return s.ok, nil
}

func TestALBVerificationWhenConfigured(t *testing.T) {
	ns, g := newNamespace(t)
	albIngress(g, ns, "web", "stable")
	target := rolloutIn(t, g, ns, albRollout(v1alpha1.ALBTrafficRouting{Ingress: "web", ServicePort: 80}))
	for _, ok := range []bool{true, false} {
		v, err := alb.New(controller, target, stubVerifier{ok}).VerifyWeight(ctx, tr.Split{Canary: 10, Max: 100})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v).To(Equal(ptr.To(ok)))
	}
}

func paths(rule networkingv1.IngressRule) []string {
	var out []string
	for _, p := range rule.HTTP.Paths {
		port := p.Backend.Service.Port.Name
		if port == "" {
			port = itoa(int(p.Backend.Service.Port.Number))
		}
		out = append(out, p.Path+" -> "+p.Backend.Service.Name+":"+port)
	}
	return out
}
