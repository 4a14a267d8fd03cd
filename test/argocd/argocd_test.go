package argocd

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

// open opens Argo CD's module for a test; when it cannot be downloaded the
// test is skipped, or fails where tools are required (CI).
func open(t *testing.T) *Module {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return Require(t, root)
}

// TestHealthScripts runs Argo CD's own test cases for its built-in health
// checks (resource_customizations/argoproj.io/<kind>/health_test.yaml and
// their testdata) through Health: the statuses and messages must be the
// ones Argo CD's tests expect, which shows that the Lua runner gives a
// script the object and reads its answer as Argo CD does.
func TestHealthScripts(t *testing.T) {
	m := open(t)
	t.Logf("Argo CD %s", m.Version)
	for _, kind := range []string{"Rollout", "Experiment", "AnalysisRun"} {
		dir := filepath.Join(m.Dir, "resource_customizations", "argoproj.io", kind)
		raw, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var suite struct {
			Tests []struct {
				InputPath    string `json:"inputPath"`
				HealthStatus struct {
					Status  string `json:"status"`
					Message string `json:"message"`
				} `json:"healthStatus"`
			} `json:"tests"`
		}
		if err := yaml.UnmarshalStrict(raw, &suite); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if len(suite.Tests) < 5 {
			t.Fatalf("%s: only %d test cases", kind, len(suite.Tests))
		}
		for _, tc := range suite.Tests {
			t.Run(kind+"/"+tc.InputPath, func(t *testing.T) {
				raw, err := os.ReadFile(filepath.Join(dir, tc.InputPath))
				if err != nil {
					t.Fatal(err)
				}
				obj := &unstructured.Unstructured{}
				if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
					t.Fatal(err)
				}
				if obj.GetKind() != kind {
					t.Fatalf("test object is a %s", obj.GetKind())
				}
				status, message, err := m.Health("argoproj.io", kind, obj)
				if err != nil {
					t.Fatal(err)
				}
				if status != tc.HealthStatus.Status || message != tc.HealthStatus.Message {
					t.Errorf("got %s %q, Argo CD's test expects %s %q", status, message, tc.HealthStatus.Status, tc.HealthStatus.Message)
				}
			})
		}
	}
}

// TestRunHealth covers what the scripts under test do not: how Argo CD
// reads what a script returns, and numbers as the API machinery decodes
// them (int64, where YAML test data gives float64).
func TestRunHealth(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"spec":   map[string]any{"replicas": int64(3), "paused": true, "list": []any{"a", "b"}},
		"status": map[string]any{"ratio": 0.5, "name": "x", "missing": nil},
	}}
	tests := []struct {
		name, script    string
		status, message string
		err             bool
	}{
		{name: "int64", script: `return {status = "Healthy", message = tostring(obj.spec.replicas + 1)}`, status: "Healthy", message: "4"},
		{name: "float", script: `return {status = "Healthy", message = tostring(obj.status.ratio * 2)}`, status: "Healthy", message: "1"},
		{name: "bool and list", script: `if obj.spec.paused and #obj.spec.list == 2 and obj.spec.list[2] == "b" then return {status = "Suspended"} end`, status: "Suspended"},
		{name: "null is nil", script: `if obj.status.missing == nil and obj.status.name == "x" then return {status = "Degraded", message = "m"} end`, status: "Degraded", message: "m"},
		{name: "nothing returned", script: `local x = 1`},
		{name: "empty table", script: `return {}`},
		{name: "message only", script: `return {message = "m"}`, status: "Unknown", message: "Lua returned an invalid health status"},
		{name: "unknown status", script: `return {status = "Fine"}`, status: "Unknown", message: "Lua returned an invalid health status"},
		{name: "not a table", script: `return "Healthy"`, err: true},
		{name: "runtime error", script: `return obj.nothing.here`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, message, err := RunHealth(tt.script, obj)
			if (err != nil) != tt.err {
				t.Fatalf("err %v", err)
			}
			if status != tt.status || message != tt.message {
				t.Errorf("got %q %q, want %q %q", status, message, tt.status, tt.message)
			}
		})
	}
}

func TestApplicationCRD(t *testing.T) {
	m := open(t)
	crd, err := m.ApplicationCRD()
	if err != nil {
		t.Fatal(err)
	}
	if crd.Name != "applications.argoproj.io" || len(crd.Spec.Versions) == 0 || crd.Spec.Versions[0].Schema == nil {
		t.Fatalf("unexpected CRD %s with %d versions", crd.Name, len(crd.Spec.Versions))
	}
	if _, err := m.HealthScript("argoproj.io", "NoSuchKind"); err == nil {
		t.Error("a kind without a health check: no error")
	}
}
