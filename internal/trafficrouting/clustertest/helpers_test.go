package clustertest

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting"
)

// rolloutIn creates a canary Rollout named "web" (canary/stable Services)
// in ns, after edit; the routers get it as their Target.
func rolloutIn(t *testing.T, g *WithT, ns string, edit func(*v1alpha1.Rollout)) trafficrouting.Target {
	t.Helper()
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](10),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				CanaryService: "canary", StableService: "stable",
				TrafficRouting: &v1alpha1.RolloutTrafficRouting{},
			}},
		},
	}
	edit(ro)
	g.Expect(admin.Create(context.Background(), ro)).To(Succeed())
	return trafficrouting.Target{Rollout: ro, CanaryService: ro.Spec.Strategy.Canary.CanaryService, StableService: ro.Spec.Strategy.Canary.StableService}
}

// service creates a Service selecting app=web on port 80.
func service(g *WithT, ns, name string) {
	g.Expect(admin.Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	})).To(Succeed())
}

// createYAML creates an unstructured object from YAML in ns.
func createYAML(g *WithT, ns, doc string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed())
	u.SetNamespace(ns)
	g.Expect(admin.Create(context.Background(), u)).To(Succeed())
	return u
}

// get reads an object of group/version/kind.
func get(g *WithT, gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	g.Expect(admin.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)).To(Succeed())
	return u
}

// field is the value at path in u, as YAML, for readable comparisons.
func field(g *WithT, u *unstructured.Unstructured, path ...string) string {
	v, _, err := unstructured.NestedFieldNoCopy(u.Object, path...)
	g.Expect(err).NotTo(HaveOccurred())
	out, err := yaml.Marshal(v)
	g.Expect(err).NotTo(HaveOccurred())
	return string(out)
}

// yamlOf normalises a YAML literal the way field prints values.
func yamlOf(g *WithT, doc string) string {
	var v any
	g.Expect(yaml.Unmarshal([]byte(doc), &v)).To(Succeed())
	out, err := yaml.Marshal(v)
	g.Expect(err).NotTo(HaveOccurred())
	return string(out)
}

// edit changes an object as someone else would (a foreign edit).
func edit(g *WithT, gvk schema.GroupVersionKind, ns, name string, fn func(u *unstructured.Unstructured)) {
	u := get(g, gvk, ns, name)
	fn(u)
	g.Expect(admin.Update(context.Background(), u)).To(Succeed())
}

var ctx = context.Background()
