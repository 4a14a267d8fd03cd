package integration

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/argocd"
	"github.com/switchyard-dev/switchyard/test/cluster"
)

// TestArgoCDHealth: runs in each phase, read back from the API server as
// Argo CD reads them, get the health Argo CD's own AnalysisRun check
// (resource_customizations/argoproj.io/AnalysisRun/health.lua, from Argo
// CD's module, run with a Lua interpreter) gives: the phase values are
// the ones it knows, the status is absent until the first reconcile, and
// the message is absent (not "") when there is none, so Argo CD shows its
// default text rather than an empty one.
func TestArgoCDHealth(t *testing.T) {
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	argoCD := argocd.Require(t, root)
	f := newFixture(t)
	argoCDHealth := func(obj map[string]any) (health, message string) {
		health, message, err := argoCD.Health(v1alpha1.GroupVersion.Group, "AnalysisRun", &unstructured.Unstructured{Object: obj})
		f.g.Expect(err).NotTo(HaveOccurred())
		return health, message
	}
	ok := newBackend(t, 200, `{"value":1}`)
	unsure := newBackend(t, 200, `{"value":0.7}`)
	down := newBackend(t, 500, "down")
	f.create(analysisRun("good", web("rate", ok.URL, func(m *v1alpha1.Metric) { m.SuccessCondition = "result == 1" })))
	f.create(analysisRun("bad", web("rate", ok.URL, func(m *v1alpha1.Metric) { m.SuccessCondition = "result > 1" })))
	f.create(analysisRun("unsure", web("rate", unsure.URL, func(m *v1alpha1.Metric) {
		m.SuccessCondition, m.FailureCondition = "result > 0.9", "result < 0.5"
	})))
	f.create(analysisRun("broken", web("rate", down.URL, func(m *v1alpha1.Metric) { m.ConsecutiveErrorLimit = count(0) })))
	f.create(analysisRun("measuring", web("rate", ok.URL, func(m *v1alpha1.Metric) {
		m.SuccessCondition, m.Interval = "result == 1", "1h"
	}), web("later", ok.URL, func(m *v1alpha1.Metric) { m.InitialDelay = "1h" })))

	served := func(name string) map[string]any {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: v1alpha1.GroupVersion.Group, Version: v1alpha1.GroupVersion.Version, Kind: "AnalysisRun"})
		f.g.Expect(k8sClient.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, u)).To(Succeed())
		return u.Object
	}
	for _, tc := range []struct {
		run, health, message string
	}{
		{"good", "Healthy", "Analysis run completed successfully"},
		{"bad", "Degraded", `Metric "rate" assessed Failed due to failed (1) > failureLimit (0)`},
		{"unsure", "Unknown", `Metric "rate" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)`},
		{"broken", "Degraded", `Metric "rate" assessed Error due to consecutiveErrors (1) > consecutiveErrorLimit (0): "Error Message: received non 2xx response code: 500"`},
		{"measuring", "Progressing", "Analysis run is running"},
	} {
		f.g.Eventually(func() []string {
			h, m := argoCDHealth(served(tc.run))
			return []string{h, m}
		}).Should(Equal([]string{tc.health, tc.message}), "run %s", tc.run)
	}

	// Before the controller has seen a run, Argo CD waits for it.
	pending := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(), "kind": "AnalysisRun",
		"metadata": map[string]any{"name": "not-yet", "namespace": f.ns},
		"spec":     map[string]any{"metrics": []any{}},
	}}
	h, m := argoCDHealth(pending.Object)
	f.g.Expect([]string{h, m}).To(Equal([]string{"Progressing", "Waiting for analysis run to finish: status has not been reconciled."}))
	// A Go AnalysisRun with no status serialises without one.
	var run v1alpha1.AnalysisRun
	raw, err := toMap(&run)
	f.g.Expect(err).NotTo(HaveOccurred())
	f.g.Expect(raw).NotTo(HaveKey("status"))
}

func toMap(obj any) (map[string]any, error) {
	return runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
}
