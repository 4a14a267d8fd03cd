package clustertest

import (
	"testing"

	. "github.com/onsi/gomega"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/nginx"
)

func stableIngress(g *WithT, ns, name string, mutate ...func(*networkingv1.Ingress)) {
	backend := func(svc string) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}}
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
			"kubernetes.io/ingress.class": "nginx", "team": "edge"}},
		Spec: networkingv1.IngressSpec{
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"web.example.com"}, SecretName: "web-tls"}},
			Rules: []networkingv1.IngressRule{
				{Host: "web.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
					{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: backend("stable")},
					{Path: "/docs", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: backend("docs")},
				}}}},
				{Host: "other.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
					{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: backend("other")},
				}}}},
			},
		},
	}
	for _, m := range mutate {
		m(ing)
	}
	g.Expect(admin.Create(ctx, ing)).To(Succeed())
}

func getIngress(g *WithT, ns, name string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{}
	g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ing)).To(Succeed())
	return ing
}

func nginxRollout(cfg v1alpha1.NginxTrafficRouting) func(*v1alpha1.Rollout) {
	return func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.TrafficRouting.Nginx = &cfg }
}

func TestNginxCanaryIngress(t *testing.T) {
	ns, g := newNamespace(t)
	stableIngress(g, ns, "web")
	target := rolloutIn(t, g, ns, nginxRollout(v1alpha1.NginxTrafficRouting{
		StableIngress:                "web",
		AdditionalIngressAnnotations: map[string]string{"canary-by-header": "x-canary", "nginx.ingress.kubernetes.io/canary-by-header-value": "yes"},
		CanaryIngressAnnotations:     map[string]string{"example.com/owner": "team-a"},
	}))
	r := nginx.New(controller, target)

	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 30, Max: 100})).To(Succeed())
	canary := getIngress(g, ns, "web-web-canary")
	g.Expect(canary.Annotations).To(Equal(map[string]string{
		"kubernetes.io/ingress.class":                        "nginx",
		"nginx.ingress.kubernetes.io/canary-by-header":       "x-canary",
		"nginx.ingress.kubernetes.io/canary-by-header-value": "yes",
		"example.com/owner":                                  "team-a",
		"nginx.ingress.kubernetes.io/canary":                 "true",
		"nginx.ingress.kubernetes.io/canary-weight":          "30",
	}))
	g.Expect(metav1.IsControlledBy(canary, target.Rollout)).To(BeTrue())
	g.Expect(canary.Spec.TLS).To(Equal([]networkingv1.IngressTLS{{Hosts: []string{"web.example.com"}, SecretName: "web-tls"}}))
	g.Expect(canary.Spec.Rules).To(HaveLen(1), "only the rule that reaches the stable Service")
	g.Expect(canary.Spec.Rules[0].Host).To(Equal("web.example.com"))
	paths := canary.Spec.Rules[0].HTTP.Paths
	g.Expect(paths).To(HaveLen(2))
	g.Expect(paths[0].Backend.Service.Name).To(Equal("canary"))
	g.Expect(paths[1].Backend.Service.Name).To(Equal("docs"), "other paths of that rule are copied unchanged")

	// Someone adds an annotation to the canary Ingress: it is kept.
	canary.Annotations["example.com/note"] = "hands off"
	g.Expect(admin.Update(ctx, canary)).To(Succeed())
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 60, Max: 100})).To(Succeed())
	canary = getIngress(g, ns, "web-web-canary")
	g.Expect(canary.Annotations).To(HaveKeyWithValue("nginx.ingress.kubernetes.io/canary-weight", "60"))
	g.Expect(canary.Annotations).To(HaveKeyWithValue("example.com/note", "hands off"))

	// The stable Ingress is never modified.
	stable := getIngress(g, ns, "web")
	g.Expect(stable.Annotations).To(Equal(map[string]string{"kubernetes.io/ingress.class": "nginx", "team": "edge"}))
	g.Expect(stable.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name).To(Equal("stable"))

	// Weight 0 mid-update keeps the Ingress (header routing still works).
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 0, Max: 100})).To(Succeed())
	g.Expect(getIngress(g, ns, "web-web-canary").Annotations).To(HaveKeyWithValue("nginx.ingress.kubernetes.io/canary-weight", "0"))

	// The canary ends: the Ingress goes.
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 0, Max: 100, Ended: true})).To(Succeed())
	err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-web-canary"}, &networkingv1.Ingress{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "canary Ingress still there: %v", err)
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 0, Max: 100, Ended: true})).To(Succeed(), "ending twice is fine")
}

func TestNginxSeveralIngressesPrefixAndTotal(t *testing.T) {
	ns, g := newNamespace(t)
	stableIngress(g, ns, "public")
	stableIngress(g, ns, "internal", func(i *networkingv1.Ingress) {
		delete(i.Annotations, "kubernetes.io/ingress.class")
		i.Spec.IngressClassName = ptr.To("internal")
		i.Spec.TLS = nil
	})
	target := rolloutIn(t, g, ns, func(ro *v1alpha1.Rollout) {
		nginxRollout(v1alpha1.NginxTrafficRouting{StableIngresses: []string{"public", "internal"}, AnnotationPrefix: "custom.nginx.org",
			AdditionalIngressAnnotations: map[string]string{"canary-by-cookie": "beta"}})(ro)
		ro.Spec.Strategy.Canary.TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000)
	})
	r := nginx.New(controller, target)
	g.Expect(r.SetWeight(ctx, tr.Split{Canary: 25, Max: 1000})).To(Succeed())
	for _, name := range []string{"web-public-canary", "web-internal-canary"} {
		ing := getIngress(g, ns, name)
		g.Expect(ing.Annotations).To(HaveKeyWithValue("custom.nginx.org/canary", "true"))
		g.Expect(ing.Annotations).To(HaveKeyWithValue("custom.nginx.org/canary-weight", "25"))
		g.Expect(ing.Annotations).To(HaveKeyWithValue("custom.nginx.org/canary-weight-total", "1000"))
		g.Expect(ing.Annotations).To(HaveKeyWithValue("custom.nginx.org/canary-by-cookie", "beta"))
	}
	g.Expect(getIngress(g, ns, "web-internal-canary").Spec.IngressClassName).To(Equal(ptr.To("internal")))
	g.Expect(getIngress(g, ns, "web-internal-canary").Annotations).NotTo(HaveKey("kubernetes.io/ingress.class"))
}

func TestNginxBadInput(t *testing.T) {
	ns, g := newNamespace(t)
	stableIngress(g, ns, "no-stable", func(i *networkingv1.Ingress) {
		i.Spec.Rules = i.Spec.Rules[1:]
	})
	stableIngress(g, ns, "taken")
	stableIngress(g, ns, "good")
	// Someone else's Ingress already has the canary name.
	g.Expect(admin.Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-taken-canary"},
		Spec:       networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "x", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
	})).To(Succeed())
	target := rolloutIn(t, g, ns, nginxRollout(v1alpha1.NginxTrafficRouting{StableIngresses: []string{"missing", "no-stable", "taken", "good"}}))
	r := nginx.New(controller, target)

	err := r.SetWeight(ctx, tr.Split{Canary: 10, Max: 100})
	g.Expect(err).To(MatchError(ContainSubstring("stable Ingress " + ns + "/missing not found")))
	g.Expect(err).To(MatchError(ContainSubstring("stable Ingress " + ns + "/no-stable has no rules using Service stable as a backend")))
	g.Expect(err).To(MatchError(ContainSubstring("canary Ingress " + ns + "/web-taken-canary exists and is not controlled by Rollout web")))
	g.Expect(getIngress(g, ns, "web-good-canary").Annotations).To(HaveKeyWithValue("nginx.ingress.kubernetes.io/canary-weight", "10"),
		"the good Ingress is still served")
	g.Expect(getIngress(g, ns, "web-taken-canary").Annotations).To(BeEmpty(), "someone else's Ingress is left alone")

	// Ending the canary does not delete someone else's Ingress either.
	err = r.SetWeight(ctx, tr.Split{Max: 100, Ended: true})
	g.Expect(err).To(MatchError(ContainSubstring("web-taken-canary exists and is not controlled by Rollout web")))
	getIngress(g, ns, "web-taken-canary")
}

func TestCanaryIngressName(t *testing.T) {
	g := NewWithT(t)
	g.Expect(nginx.CanaryIngressName("web", "public")).To(Equal("web-public-canary"))
	long := nginx.CanaryIngressName(string(make([]byte, 200)), string(make([]byte, 200)))
	g.Expect(long).To(HaveLen(253))
}
