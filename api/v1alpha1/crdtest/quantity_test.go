package crdtest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/hash"
)

var rolloutGVR = v1alpha1.GroupVersion.WithResource("rollouts")

// rolloutWith is a canary Rollout whose pod template has every kind of
// quantity field, each set to "1"; set then replaces one of them.
const rolloutWith = `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: q
spec:
  replicas: 1
  selector:
    matchLabels: {app: q}
  strategy:
    canary: {}
  template:
    metadata:
      labels: {app: q}
    spec:
      overhead: {cpu: "1"}
      resources:
        requests: {cpu: "1"}
      containers:
      - name: app
        image: app:1
        resources:
          requests: {cpu: "1", memory: "1"}
          limits: {cpu: "1"}
        env:
        - name: CPU
          valueFrom:
            resourceFieldRef: {resource: limits.cpu, divisor: "1"}
      initContainers:
      - name: init
        image: init:1
        resources:
          limits: {memory: "1"}
      volumes:
      - name: scratch
        emptyDir: {sizeLimit: "1"}
      - name: claim
        ephemeral:
          volumeClaimTemplate:
            spec:
              accessModes: [ReadWriteOnce]
              resources:
                requests: {storage: "1"}
      - name: info
        downwardAPI:
          items:
          - path: cpu
            resourceFieldRef: {containerName: app, resource: requests.cpu, divisor: "1"}
`

// quantityFields are the quantity fields of rolloutWith, as paths (for
// setting them) and as the API server names them in errors.
var quantityFields = []struct {
	path []any
	name string
}{
	{[]any{"spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"}, "spec.template.spec.containers[0].resources.requests.cpu"},
	{[]any{"spec", "template", "spec", "containers", 0, "resources", "limits", "cpu"}, "spec.template.spec.containers[0].resources.limits.cpu"},
	{[]any{"spec", "template", "spec", "containers", 0, "env", 0, "valueFrom", "resourceFieldRef", "divisor"}, "spec.template.spec.containers[0].env[0].valueFrom.resourceFieldRef.divisor"},
	{[]any{"spec", "template", "spec", "initContainers", 0, "resources", "limits", "memory"}, "spec.template.spec.initContainers[0].resources.limits.memory"},
	{[]any{"spec", "template", "spec", "overhead", "cpu"}, "spec.template.spec.overhead.cpu"},
	{[]any{"spec", "template", "spec", "resources", "requests", "cpu"}, "spec.template.spec.resources.requests.cpu"},
	{[]any{"spec", "template", "spec", "volumes", 0, "emptyDir", "sizeLimit"}, "spec.template.spec.volumes[0].emptyDir.sizeLimit"},
	{[]any{"spec", "template", "spec", "volumes", 1, "ephemeral", "volumeClaimTemplate", "spec", "resources", "requests", "storage"}, "spec.template.spec.volumes[1].ephemeral.volumeClaimTemplate.spec.resources.requests.storage"},
	{[]any{"spec", "template", "spec", "volumes", 2, "downwardAPI", "items", 0, "resourceFieldRef", "divisor"}, "spec.template.spec.volumes[2].downwardAPI.items[0].resourceFieldRef.divisor"},
}

type fixture struct {
	g   *WithT
	ns  string
	dyn dynamic.ResourceInterface
	c   client.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	g.Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	c, err := client.New(env.RESTConfig, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "crd-"}}
	g.Expect(c.Create(context.Background(), ns)).To(Succeed())
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	dyn, err := dynamic.NewForConfig(env.RESTConfig)
	g.Expect(err).NotTo(HaveOccurred())
	return &fixture{g: g, ns: ns.Name, dyn: dyn.Resource(rolloutGVR).Namespace(ns.Name), c: c}
}

// rollout is rolloutWith named name, with value (decoded from JSON) at path.
func (f *fixture) rollout(name string, path []any, valueJSON string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	f.g.Expect(yaml.Unmarshal([]byte(rolloutWith), &u.Object)).To(Succeed())
	u.SetName(name)
	var value any
	f.g.Expect(json.Unmarshal([]byte(valueJSON), &value)).To(Succeed())
	set(u.Object, path, value)
	return u
}

// set stores value at path in obj (maps by key, slices by index).
func set(obj any, path []any, value any) {
	for i, step := range path {
		last := i == len(path)-1
		switch step := step.(type) {
		case string:
			m := obj.(map[string]any)
			if last {
				m[step] = value
				return
			}
			obj = m[step]
		case int:
			s := obj.([]any)
			if last {
				s[step] = value
				return
			}
			obj = s[step]
		}
	}
}

// TestQuantitiesAtApply creates Rollouts with each quantity field set to
// each value, as `kubectl apply` would send them. Numbers (floats too) and
// quantity strings are accepted, as in a Deployment; anything that would
// not decode as a resource.Quantity is refused, naming the field.
func TestQuantitiesAtApply(t *testing.T) {
	t.Parallel()
	accepted := []string{`0.001`, `1`, `"100m"`, `"1Gi"`, `2.5`, `1e3`, `"1.5e3"`, `-1`}
	// The API server's own messages; each names the field.
	refused := map[string]string{
		`"abc"`:    "in body should match '^(",
		`""`:       "in body should match '^(",
		`"1 Gi"`:   "in body should match '^(",
		`{}`:       "should have at least 1 properties",
		`{"a": 1}`: "must have at most 0 items",
		`[]`:       "should have at least 1 items",
		`["1"]`:    "must have at most 0 items",
		`true`:     "must not validate the schema (not)",
		`false`:    "must not validate the schema (not)",
	}
	for _, field := range quantityFields {
		t.Run(field.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			for i, value := range accepted {
				// As kubectl apply sends it (client-side: a create), and as
				// Argo CD's server-side apply does.
				_, err := f.dyn.Create(ctx, f.rollout(fmt.Sprintf("ok-%d", i), field.path, value), metav1.CreateOptions{})
				f.g.Expect(err).NotTo(HaveOccurred(), "%s: %s", field.name, value)
				_, err = f.dyn.Apply(ctx, fmt.Sprintf("ssa-%d", i), f.rollout(fmt.Sprintf("ssa-%d", i), field.path, value), metav1.ApplyOptions{FieldManager: "crdtest"})
				f.g.Expect(err).NotTo(HaveOccurred(), "server-side apply %s: %s", field.name, value)
			}
			i := 0
			for value, reason := range refused {
				i++
				_, err := f.dyn.Create(ctx, f.rollout(fmt.Sprintf("bad-%d", i), field.path, value), metav1.CreateOptions{})
				f.g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: %s: %v", field.name, value, err)
				f.g.Expect(err.Error()).To(ContainSubstring(field.name), "%s", value)
				f.g.Expect(err.Error()).To(ContainSubstring(reason), "%s", value)
			}
			// Every accepted Rollout decodes into the Go types: a value the
			// controller could not decode would stop it listing Rollouts.
			var list v1alpha1.RolloutList
			f.g.Expect(f.c.List(ctx, &list, client.InNamespace(f.ns))).To(Succeed())
			f.g.Expect(list.Items).To(HaveLen(2 * len(accepted)))
		})
	}
}

// TestNumericQuantityHash: a Rollout written with `cpu: 0.001` is stored
// with the number, decodes through the typed client, and gets the same
// pod-template hash (so the same ReplicaSet) as one written with "1m".
//
// The hash is taken over the JSON of the Go pod template, not over the
// stored manifest, and resource.Quantity always marshals in its canonical
// form: 0.001, "0.001" and "1m" all become "1m". Argo Rollouts hashes the
// Go template the same way, so both controllers name the ReplicaSet alike
// however the quantity was written.
func TestNumericQuantityHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	cpu := quantityFields[0].path
	for name, value := range map[string]string{"number": `0.001`, "string": `"1m"`, "decimal-string": `"0.001"`} {
		_, err := f.dyn.Create(ctx, f.rollout(name, cpu, value), metav1.CreateOptions{})
		f.g.Expect(err).NotTo(HaveOccurred())
	}

	raw, err := f.dyn.Get(ctx, "number", metav1.GetOptions{})
	f.g.Expect(err).NotTo(HaveOccurred())
	stored, _, _ := unstructured.NestedFieldNoCopy(raw.Object, "spec", "template", "spec", "containers")
	f.g.Expect(stored.([]any)[0]).To(HaveKeyWithValue("resources", HaveKeyWithValue("requests", HaveKeyWithValue("cpu", 0.001))),
		"the server keeps the number as written")

	hashes := map[string]string{}
	for _, name := range []string{"number", "string", "decimal-string"} {
		ro := &v1alpha1.Rollout{}
		f.g.Expect(f.c.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: name}, ro)).To(Succeed())
		q := ro.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]
		f.g.Expect(q.Cmp(resource.MustParse("1m"))).To(Equal(0), name)
		hashes[name] = hash.PodTemplateHash(&ro.Spec.Template, nil)
	}
	f.g.Expect(hashes["number"]).NotTo(BeEmpty())
	f.g.Expect(hashes).To(HaveKeyWithValue("string", hashes["number"]))
	f.g.Expect(hashes).To(HaveKeyWithValue("decimal-string", hashes["number"]))
}
