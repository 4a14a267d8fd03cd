// Package charts tests the Helm chart in charts/switchyard with Helm's own
// Go SDK (the code behind `helm lint` and `helm template`): lint clean, and
// rendered it holds the same objects as the kustomize build (install.yaml,
// namespace-install.yaml), plus what its values turn on and off.
package charts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const (
	chartDir    = "switchyard"
	releaseName = "switchyard"
)

// helmLabels are the labels the chart adds to every object it owns, which
// the kustomize build does not set.
var helmLabels = []string{
	"helm.sh/chart",
	"app.kubernetes.io/managed-by",
	"app.kubernetes.io/instance",
	"app.kubernetes.io/version",
}

// key names an object: kind, namespace and name.
type key struct{ kind, namespace, name string }

func (k key) String() string { return k.kind + " " + k.namespace + "/" + k.name }

func keyOf(u *unstructured.Unstructured) key {
	return key{u.GetKind(), u.GetNamespace(), u.GetName()}
}

// decode reads every non-empty object of a multi-document YAML stream.
func decode(t *testing.T, name string, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatalf("decode %s: %v", name, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// byKey indexes objects, failing on a duplicate.
func byKey(t *testing.T, objs []*unstructured.Unstructured) map[key]*unstructured.Unstructured {
	t.Helper()
	m := map[key]*unstructured.Unstructured{}
	for _, u := range objs {
		k := keyOf(u)
		if _, dup := m[k]; dup {
			t.Fatalf("%s appears twice", k)
		}
		m[k] = u
	}
	return m
}

// manifest reads a generated single-file install from the repository root.
func manifest(t *testing.T, file string) map[key]*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		t.Fatal(err)
	}
	return byKey(t, decode(t, file, data))
}

// kustomizeBuild builds a kustomization of the repository with kustomize's
// own API, as hack/installyaml does.
func kustomizeBuild(t *testing.T, dir string) map[key]*unstructured.Unstructured {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join("..", dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	data, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return byKey(t, decode(t, dir, data))
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// render renders the chart as `helm install -n namespace --set ...` would
// apply it: the CRDs of crds/ and every template, with the values validated
// against values.schema.json.
func render(t *testing.T, namespace string, vals map[string]any) (map[key]*unstructured.Unstructured, error) {
	t.Helper()
	c := loadChart(t)
	rv, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{
		Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	out, err := engine.Render(c, rv)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for _, crd := range c.CRDObjects() {
		objs = append(objs, decode(t, crd.Filename, crd.File.Data)...)
	}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		objs = append(objs, decode(t, name, []byte(out[name]))...)
	}
	return byKey(t, objs), nil
}

func mustRender(t *testing.T, namespace string, vals map[string]any) map[key]*unstructured.Unstructured {
	t.Helper()
	objs, err := render(t, namespace, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return objs
}

// withoutHelmLabels drops the chart's own labels (and the labels map when
// nothing else is left), so a rendered object compares with kustomize's.
func withoutHelmLabels(u *unstructured.Unstructured) map[string]any {
	u = u.DeepCopy()
	l := u.GetLabels()
	for _, h := range helmLabels {
		delete(l, h)
	}
	if len(l) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "labels")
	} else {
		u.SetLabels(l)
	}
	return u.Object
}

// namespaceOf is the name of the one Namespace a manifest creates.
func namespaceOf(t *testing.T, objs map[key]*unstructured.Unstructured) string {
	t.Helper()
	var names []string
	for k := range objs {
		if k.kind == "Namespace" {
			names = append(names, k.name)
		}
	}
	if len(names) != 1 {
		t.Fatalf("want one Namespace in the manifest, got %v", names)
	}
	return names[0]
}

func keys(objs map[key]*unstructured.Unstructured) []string {
	var s []string
	for k := range objs {
		s = append(s, k.String())
	}
	sort.Strings(s)
	return s
}

func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals map[string]any
	}{
		{"defaults", nil},
		{"namespaced", map[string]any{"namespaced": true}},
		{"everything on", map[string]any{
			"namespace": map[string]any{"create": true},
			"metrics":   map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
			"imageUpdater": map[string]any{
				"webhook":        map[string]any{"enabled": true},
				"registriesConf": map[string]any{"configMapName": "argocd-image-updater-config"},
			},
		}},
		{"image updater off, no leader election", map[string]any{
			"imageUpdater":   map[string]any{"enabled": false},
			"leaderElection": map[string]any{"enabled": false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			linter := lint.All(chartDir, tc.vals, "switchyard-system", false)
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				} else {
					t.Logf("lint: %s", m)
				}
			}
		})
	}
}

// TestSameObjectsAsKustomize renders the chart into the namespace each
// generated install uses and wants the same objects, field for field, once
// the chart's own labels are set aside.
func TestSameObjectsAsKustomize(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest string
		// kustomization, when set, is built instead of reading manifest:
		// an overlay with no generated single-file install.
		kustomization string
		vals          map[string]any
		// Helm's convention by default: the release namespace is not the
		// chart's to create.
		noNamespace bool
	}{
		{name: "defaults", manifest: "install.yaml", noNamespace: true},
		{name: "namespace.create", manifest: "install.yaml",
			vals: map[string]any{"namespace": map[string]any{"create": true}}},
		{name: "namespaced", manifest: "namespace-install.yaml",
			vals: map[string]any{"namespaced": true, "namespace": map[string]any{"create": true}}},
		{name: "image updater webhook", kustomization: "config/overlays/webhook", noNamespace: true,
			vals: map[string]any{"imageUpdater": map[string]any{"webhook": map[string]any{"enabled": true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want map[key]*unstructured.Unstructured
			if tc.kustomization != "" {
				want = kustomizeBuild(t, tc.kustomization)
				tc.manifest = tc.kustomization
			} else {
				want = manifest(t, tc.manifest)
			}
			ns := namespaceOf(t, want)
			if tc.noNamespace {
				delete(want, key{"Namespace", "", ns})
			}
			got := mustRender(t, ns, tc.vals)
			if d := cmp.Diff(keys(want), keys(got)); d != "" {
				t.Fatalf("objects (-%s +chart):\n%s", tc.manifest, d)
			}
			for k, w := range want {
				if d := cmp.Diff(w.Object, withoutHelmLabels(got[k])); d != "" {
					t.Errorf("%s (-%s +chart):\n%s", k, tc.manifest, d)
				}
			}
			// Every object the chart renders carries Helm's labels.
			for k, u := range got {
				if k.kind == "CustomResourceDefinition" {
					continue // crds/ is applied as is
				}
				if got := u.GetLabels()["app.kubernetes.io/instance"]; got != releaseName {
					t.Errorf("%s: label app.kubernetes.io/instance=%q, want %q", k, got, releaseName)
				}
			}
		})
	}
}

func deployment(t *testing.T, objs map[key]*unstructured.Unstructured, ns, name string) *unstructured.Unstructured {
	t.Helper()
	d, ok := objs[key{"Deployment", ns, name}]
	if !ok {
		t.Fatalf("no Deployment %s/%s in %v", ns, name, keys(objs))
	}
	return d
}

// container is the first container of a Deployment's pod template.
func container(t *testing.T, d *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs, _, err := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if err != nil || len(cs) == 0 {
		t.Fatalf("%s: no containers (%v)", d.GetName(), err)
	}
	return cs[0].(map[string]any)
}

func args(t *testing.T, d *unstructured.Unstructured) []string {
	t.Helper()
	a, _, err := unstructured.NestedStringSlice(container(t, d), "args")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestImageUpdaterOff(t *testing.T) {
	const ns = "switchyard-system"
	all := mustRender(t, ns, nil)
	off := mustRender(t, ns, map[string]any{"imageUpdater": map[string]any{"enabled": false}})
	var dropped []string
	for k := range all {
		if _, ok := off[k]; !ok {
			dropped = append(dropped, k.String())
		}
	}
	sort.Strings(dropped)
	want := []string{
		"ClusterRole /switchyard-image-updater",
		"ClusterRoleBinding /switchyard-image-updater",
		"Deployment switchyard-system/switchyard-image-updater",
		"RoleBinding switchyard-system/switchyard-image-updater-leader-election",
		"ServiceAccount switchyard-system/switchyard-image-updater",
	}
	if d := cmp.Diff(want, dropped); d != "" {
		t.Errorf("objects dropped with imageUpdater.enabled=false (-want +got):\n%s", d)
	}
	if len(off) != len(all)-len(want) {
		t.Errorf("imageUpdater.enabled=false renders %d objects, want %d", len(off), len(all)-len(want))
	}
	// The controller is untouched.
	if d := cmp.Diff(all[key{"Deployment", ns, "switchyard-controller"}].Object,
		off[key{"Deployment", ns, "switchyard-controller"}].Object); d != "" {
		t.Errorf("controller Deployment changed:\n%s", d)
	}
}

func TestServiceMonitor(t *testing.T) {
	const ns = "monitoring-test"
	for _, tc := range []struct {
		name       string
		vals       map[string]any
		components []string
		monitor    bool
	}{
		{name: "off by default", components: nil},
		{name: "service only", components: []string{"controller", "image-updater"},
			vals: map[string]any{"metrics": map[string]any{"service": map[string]any{"enabled": true}}}},
		{name: "service monitor", components: []string{"controller", "image-updater"}, monitor: true,
			vals: map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{
				"enabled": true, "interval": "15s", "labels": map[string]any{"release": "prometheus"}}}}},
		{name: "service monitor, image updater off", components: []string{"controller"}, monitor: true,
			vals: map[string]any{
				"imageUpdater": map[string]any{"enabled": false},
				"metrics":      map[string]any{"serviceMonitor": map[string]any{"enabled": true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := mustRender(t, ns, tc.vals)
			var services []*unstructured.Unstructured
			for k, u := range objs {
				if k.kind == "Service" {
					services = append(services, u)
				}
			}
			if len(services) != len(tc.components) {
				t.Fatalf("%d Services, want %d (%v)", len(services), len(tc.components), keys(objs))
			}
			for _, component := range tc.components {
				svc, ok := objs[key{"Service", ns, "switchyard-" + component + "-metrics"}]
				if !ok {
					t.Fatalf("no metrics Service for %s in %v", component, keys(objs))
				}
				// The Service selects the component's pods and targets
				// the container port that serves /metrics.
				d := deployment(t, objs, ns, "switchyard-"+component)
				sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
				podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
				if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(labels.Set(podLabels)) {
					t.Errorf("Service %s selector %v does not select the %s pods %v", svc.GetName(), sel, component, podLabels)
				}
				for _, other := range tc.components {
					od := deployment(t, objs, ns, "switchyard-"+other)
					ol, _, _ := unstructured.NestedStringMap(od.Object, "spec", "template", "metadata", "labels")
					if other != component && labels.SelectorFromSet(sel).Matches(labels.Set(ol)) {
						t.Errorf("Service %s also selects the %s pods", svc.GetName(), other)
					}
				}
				ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
				if len(ports) != 1 || ports[0].(map[string]any)["targetPort"] != "metrics" {
					t.Errorf("Service %s ports %v, want one targeting port metrics", svc.GetName(), ports)
				}
				cports, _, _ := unstructured.NestedSlice(container(t, d), "ports")
				if !slices.ContainsFunc(cports, func(p any) bool { return p.(map[string]any)["name"] == "metrics" }) {
					t.Errorf("%s container has no port named metrics: %v", component, cports)
				}
			}
			sm, ok := objs[key{"ServiceMonitor", ns, "switchyard"}]
			if ok != tc.monitor {
				t.Fatalf("ServiceMonitor rendered: %v, want %v", ok, tc.monitor)
			}
			if !tc.monitor {
				return
			}
			if sm.GetAPIVersion() != "monitoring.coreos.com/v1" {
				t.Errorf("ServiceMonitor apiVersion %s", sm.GetAPIVersion())
			}
			match, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
			selector := labels.SelectorFromSet(match)
			for _, svc := range services {
				if !selector.Matches(labels.Set(svc.GetLabels())) {
					t.Errorf("ServiceMonitor selector %v does not select Service %s (labels %v)", match, svc.GetName(), svc.GetLabels())
				}
			}
			if selector.Matches(labels.Set{"app.kubernetes.io/name": "switchyard", "app.kubernetes.io/instance": "another-release"}) {
				t.Errorf("ServiceMonitor selector %v selects another release's Services", match)
			}
			nsNames, _, _ := unstructured.NestedStringSlice(sm.Object, "spec", "namespaceSelector", "matchNames")
			if d := cmp.Diff([]string{ns}, nsNames); d != "" {
				t.Errorf("namespaceSelector.matchNames:\n%s", d)
			}
			endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			if len(endpoints) != 1 || endpoints[0].(map[string]any)["port"] != "metrics" {
				t.Errorf("endpoints %v, want one on port metrics", endpoints)
			}
			if iv, ok := tc.vals["metrics"].(map[string]any)["serviceMonitor"].(map[string]any)["interval"]; ok {
				if got := endpoints[0].(map[string]any)["interval"]; got != iv {
					t.Errorf("endpoint interval %v, want %v", got, iv)
				}
				if got := sm.GetLabels()["release"]; got != "prometheus" {
					t.Errorf("ServiceMonitor label release=%q, want prometheus", got)
				}
			}
		})
	}
}

func TestImages(t *testing.T) {
	const (
		ns     = "switchyard-system"
		digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	)
	for _, tc := range []struct {
		name                  string
		vals                  map[string]any
		controller, updater   string
		controllerPullPolicy  any
		updaterCommandPresent bool
	}{
		{name: "defaults: appVersion tag, each binary its own image",
			controller: "ghcr.io/switchyard-dev/switchyard:v0.1.0",
			updater:    "ghcr.io/switchyard-dev/switchyard-image-updater:v0.1.0"},
		{name: "tag, shared by the image updater",
			vals:       map[string]any{"image": map[string]any{"tag": "v0.2.0"}},
			controller: "ghcr.io/switchyard-dev/switchyard:v0.2.0",
			updater:    "ghcr.io/switchyard-dev/switchyard-image-updater:v0.2.0"},
		{name: "digest, shared by an image updater run from the controller's image",
			vals: map[string]any{"image": map[string]any{"repository": "registry.example:5000/switchyard", "digest": digest, "pullPolicy": "IfNotPresent"},
				"imageUpdater": map[string]any{"image": map[string]any{"repository": "registry.example:5000/switchyard"}, "command": []any{"/image-updater"}}},
			controller: "registry.example:5000/switchyard@" + digest, controllerPullPolicy: "IfNotPresent",
			updater: "registry.example:5000/switchyard@" + digest, updaterCommandPresent: true},
		{name: "image updater's own image and tag",
			vals: map[string]any{
				"image":        map[string]any{"digest": digest},
				"imageUpdater": map[string]any{"image": map[string]any{"repository": "r.example/switchyard-image-updater", "tag": "v9"}}},
			controller: "ghcr.io/switchyard-dev/switchyard@" + digest,
			updater:    "r.example/switchyard-image-updater:v9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := mustRender(t, ns, tc.vals)
			c := container(t, deployment(t, objs, ns, "switchyard-controller"))
			u := container(t, deployment(t, objs, ns, "switchyard-image-updater"))
			if c["image"] != tc.controller {
				t.Errorf("controller image %v, want %s", c["image"], tc.controller)
			}
			if c["imagePullPolicy"] != tc.controllerPullPolicy {
				t.Errorf("controller imagePullPolicy %v, want %v", c["imagePullPolicy"], tc.controllerPullPolicy)
			}
			if u["image"] != tc.updater {
				t.Errorf("image updater image %v, want %s", u["image"], tc.updater)
			}
			if _, ok := u["command"]; ok != tc.updaterCommandPresent {
				t.Errorf("image updater command %v, want present: %v", u["command"], tc.updaterCommandPresent)
			}
		})
	}
}

func TestReplicasAndLeaderElection(t *testing.T) {
	const ns = "switchyard-system"
	objs := mustRender(t, ns, map[string]any{
		"controller":   map[string]any{"replicas": 3, "resources": map[string]any{"limits": map[string]any{"memory": "1Gi"}}},
		"imageUpdater": map[string]any{"replicas": 2},
	})
	// decode reads numbers as JSON does: float64.
	for name, want := range map[string]float64{"switchyard-controller": 3, "switchyard-image-updater": 2} {
		d := deployment(t, objs, ns, name)
		if got, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas"); got != want {
			t.Errorf("%s replicas %v, want %v", name, got, want)
		}
		if a := args(t, d); !slices.Contains(a, "--leader-elect") {
			t.Errorf("%s args %v lack --leader-elect", name, a)
		}
	}
	res, _, _ := unstructured.NestedMap(container(t, deployment(t, objs, ns, "switchyard-controller")), "resources")
	if d := cmp.Diff(map[string]any{"limits": map[string]any{"memory": "1Gi"}, "requests": map[string]any{"cpu": "100m", "memory": "64Mi"}}, res); d != "" {
		t.Errorf("controller resources (merged with the defaults):\n%s", d)
	}

	off := mustRender(t, ns, map[string]any{"leaderElection": map[string]any{"enabled": false}})
	for _, name := range []string{"switchyard-controller", "switchyard-image-updater"} {
		a := args(t, deployment(t, off, ns, name))
		if !slices.Contains(a, "--leader-elect=false") || slices.Contains(a, "--leader-elect") {
			t.Errorf("%s args %v, want --leader-elect=false", name, a)
		}
	}
	for k := range off {
		if strings.Contains(k.name, "leader-election") {
			t.Errorf("%s rendered with leaderElection.enabled=false", k)
		}
	}
}

func TestNamespacedMode(t *testing.T) {
	const ns = "team-a"
	objs := mustRender(t, ns, map[string]any{"namespaced": true})
	for k, u := range objs {
		if k.kind == "ClusterRoleBinding" || k.kind == "ClusterRole" {
			// A second release (another namespace's shard) would clash
			// on it, and a namespace's admin could not create it.
			t.Errorf("%s rendered in namespaced mode", k)
		}
		if k.kind == "RoleBinding" || k.kind == "ClusterRoleBinding" {
			subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
			for _, s := range subjects {
				if got := s.(map[string]any)["namespace"]; got != ns {
					t.Errorf("%s subject %v: namespace %v, want %s", k, s, got, ns)
				}
			}
		}
	}
	for _, name := range []string{"switchyard", "switchyard-image-updater"} {
		binding := name + "-namespaced"
		rb, ok := objs[key{"RoleBinding", ns, binding}]
		if !ok {
			t.Fatalf("no RoleBinding %s/%s", ns, binding)
		}
		if got, _, _ := unstructured.NestedString(rb.Object, "roleRef", "name"); got != name {
			t.Errorf("RoleBinding %s grants %s, want %s", binding, got, name)
		}
		if got, _, _ := unstructured.NestedString(rb.Object, "roleRef", "kind"); got != "Role" {
			t.Errorf("RoleBinding %s grants a %s, want the Role in %s", binding, got, ns)
		}
		if _, ok := objs[key{"Role", ns, name}]; !ok {
			t.Errorf("no Role %s/%s", ns, name)
		}
	}
	// The controller's Role holds the notification rules too: nothing
	// binds the cluster-wide mode's separate notifications Role.
	rules, _, _ := unstructured.NestedSlice(objs[key{"Role", ns, "switchyard"}].Object, "rules")
	var names []any
	for _, r := range rules {
		rn, _ := r.(map[string]any)["resourceNames"].([]any)
		names = append(names, rn...)
	}
	for _, want := range []string{"argo-rollouts-notification-configmap", "argo-rollouts-notification-secret"} {
		if !slices.Contains(names, any(want)) {
			t.Errorf("Role %s/switchyard does not name %s: %v", ns, want, names)
		}
	}
	for _, name := range []string{"switchyard-controller", "switchyard-image-updater"} {
		d := deployment(t, objs, ns, name)
		if a := args(t, d); a[len(a)-1] != "--namespace=$(POD_NAMESPACE)" {
			t.Errorf("%s args %v, want --namespace=$(POD_NAMESPACE) last", name, a)
		}
		env, _, _ := unstructured.NestedSlice(container(t, d), "env")
		want := []any{map[string]any{"name": "POD_NAMESPACE", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}}}
		if d := cmp.Diff(want, env); d != "" {
			t.Errorf("%s env:\n%s", name, d)
		}
	}
}

// TestBadValues: a wrong value fails the render with an error naming it,
// instead of rendering something that does not work.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals map[string]any
		want []string
	}{
		{"replicas without leader election",
			map[string]any{"controller": map[string]any{"replicas": 2}, "leaderElection": map[string]any{"enabled": false}},
			[]string{"controller.replicas", "leaderElection.enabled"}},
		{"digest that is not one",
			map[string]any{"image": map[string]any{"digest": "latest"}},
			[]string{"image", "digest"}},
		{"misspelt value",
			map[string]any{"controller": map[string]any{"replica": 2}},
			[]string{"controller", "replica"}},
		{"negative replicas",
			map[string]any{"imageUpdater": map[string]any{"replicas": -1}},
			[]string{"imageUpdater", "replicas"}},
		{"metrics port out of range",
			map[string]any{"controller": map[string]any{"metricsPort": 70000}},
			[]string{"controller", "metricsPort"}},
		{"webhook without a Secret",
			map[string]any{"imageUpdater": map[string]any{"webhook": map[string]any{"enabled": true, "secretName": ""}}},
			[]string{"webhook", "secretName"}},
		{"webhook port out of range",
			map[string]any{"imageUpdater": map[string]any{"webhook": map[string]any{"port": 0}}},
			[]string{"webhook", "port"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, "switchyard-system", tc.vals)
			if err == nil {
				t.Fatal("rendered, want an error")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// TestImageUpdaterWebhookAndRegistriesConf: the webhook's port, Secret
// and Service type, and the registries.conf ConfigMap, reach the image
// updater's pod as its flags, ports, environment and files.
func TestImageUpdaterWebhookAndRegistriesConf(t *testing.T) {
	const ns = "switchyard-system"
	objs := mustRender(t, ns, map[string]any{"imageUpdater": map[string]any{
		"webhook": map[string]any{"enabled": true, "port": 9443, "secretName": "registry-hooks",
			"service": map[string]any{"type": "LoadBalancer"}},
		"registriesConf": map[string]any{"configMapName": "argocd-image-updater-config"},
	}})
	d := deployment(t, objs, ns, "switchyard-image-updater")
	a := args(t, d)
	for _, want := range []string{"--webhook-bind-address=:9443", "--registries-conf-path=/app/config/registries.conf"} {
		if !slices.Contains(a, want) {
			t.Errorf("args %v lack %s", a, want)
		}
	}
	c := container(t, d)
	envFrom, _, _ := unstructured.NestedSlice(c, "envFrom")
	if d := cmp.Diff([]any{map[string]any{"secretRef": map[string]any{"name": "registry-hooks"}}}, envFrom); d != "" {
		t.Errorf("envFrom (-want +got):\n%s", d)
	}
	ports, _, _ := unstructured.NestedSlice(c, "ports")
	if !slices.ContainsFunc(ports, func(p any) bool {
		m := p.(map[string]any)
		return m["name"] == "webhook" && fmt.Sprint(m["containerPort"]) == "9443"
	}) {
		t.Errorf("container ports %v lack webhook 9443", ports)
	}
	mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	wantMounts := []any{map[string]any{"name": "registries-conf", "mountPath": "/app/config/registries.conf", "subPath": "registries.conf", "readOnly": true}}
	if d := cmp.Diff(wantMounts, mounts); d != "" {
		t.Errorf("volumeMounts (-want +got):\n%s", d)
	}
	volumes, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
	wantVolumes := []any{map[string]any{"name": "registries-conf", "configMap": map[string]any{
		"name": "argocd-image-updater-config", "items": []any{map[string]any{"key": "registries.conf", "path": "registries.conf"}}}}}
	if d := cmp.Diff(wantVolumes, volumes); d != "" {
		t.Errorf("volumes (-want +got):\n%s", d)
	}
	svc, ok := objs[key{"Service", ns, "switchyard-image-updater-webhook"}]
	if !ok {
		t.Fatalf("no webhook Service in %v", keys(objs))
	}
	typ, _, _ := unstructured.NestedString(svc.Object, "spec", "type")
	svcPorts, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if typ != "LoadBalancer" || len(svcPorts) != 1 || fmt.Sprint(svcPorts[0].(map[string]any)["port"]) != "9443" || svcPorts[0].(map[string]any)["targetPort"] != "webhook" {
		t.Errorf("Service type %s ports %v, want LoadBalancer, 9443 -> webhook", typ, svcPorts)
	}

	// Off by default: no flag, port, Secret, mount or Service.
	objs = mustRender(t, ns, nil)
	d = deployment(t, objs, ns, "switchyard-image-updater")
	for _, arg := range args(t, d) {
		if strings.HasPrefix(arg, "--webhook") || strings.HasPrefix(arg, "--registries-conf") {
			t.Errorf("default args hold %s", arg)
		}
	}
	for _, field := range []string{"envFrom", "volumeMounts"} {
		if _, ok := container(t, d)[field]; ok {
			t.Errorf("default container has %s", field)
		}
	}
	if _, ok := objs[key{"Service", ns, "switchyard-image-updater-webhook"}]; ok {
		t.Error("the webhook Service is rendered by default")
	}
}

// TestCRDsInSync: crds/ holds exactly the generated CRDs of config/crd
// (hack/generate.sh copies them; make verify-generate keeps them so).
func TestCRDsInSync(t *testing.T) {
	bases, err := filepath.Glob(filepath.Join("..", "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := loadChart(t)
	got := map[string][]byte{}
	for _, crd := range c.CRDObjects() {
		got[filepath.Base(crd.Filename)] = crd.File.Data
	}
	if len(got) != len(bases) {
		t.Errorf("chart has %d CRDs, config/crd/bases %d", len(got), len(bases))
	}
	for _, b := range bases {
		want, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got[filepath.Base(b)]) {
			t.Errorf("crds/%s differs from %s: run make generate", filepath.Base(b), b)
		}
	}
}
