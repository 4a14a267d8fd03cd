package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

// installs are what a user applies: the two generated single-file installs
// and every kustomize directory under config/ that runs the binaries.
var installs = []string{
	"../../install.yaml",
	"../../namespace-install.yaml",
	"../../config/default",
	"../../config/namespaced",
	"../../config/overlays/default-namespace",
	"../../config/overlays/webhook",
}

// restricted evaluates a pod against the restricted Pod Security Standard
// with kube-apiserver's own PodSecurity admission checks, at their latest
// version, and returns what it forbids ("" when allowed).
func restricted(t *testing.T, meta *corev1.PodTemplateSpec) string {
	t.Helper()
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	agg := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, &meta.ObjectMeta, &meta.Spec))
	if agg.Allowed {
		return ""
	}
	return agg.ForbiddenDetail()
}

// TestInstallsMeetRestrictedPodSecurity renders every install and checks
// each Deployment's pod template against the restricted profile, plus a
// read-only root filesystem (which the profile does not require).
func TestInstallsMeetRestrictedPodSecurity(t *testing.T) {
	for _, install := range installs {
		t.Run(filepath.Base(install), func(t *testing.T) {
			deployments := renderDeployments(t, install)
			if len(deployments) != 2 {
				t.Fatalf("%d Deployments, want the controller and the image updater", len(deployments))
			}
			for _, d := range deployments {
				if forbidden := restricted(t, &d.Spec.Template); forbidden != "" {
					t.Errorf("Deployment %s violates the restricted Pod Security Standard: %s", d.Name, forbidden)
				}
				for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
					if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
						t.Errorf("Deployment %s container %s: root filesystem is writable", d.Name, c.Name)
					}
				}
			}
		})
	}
}

// TestRestrictedCheckCatchesViolations shows the check above can fail: each
// weakening of the controller's pod is reported.
func TestRestrictedCheckCatchesViolations(t *testing.T) {
	base := renderDeployments(t, "../../config/default")[0].Spec.Template
	for _, tc := range []struct {
		name   string
		weaken func(*corev1.PodSpec)
	}{
		{"root allowed", func(s *corev1.PodSpec) { s.SecurityContext.RunAsNonRoot = nil; s.SecurityContext.RunAsUser = nil }},
		{"no seccomp profile", func(s *corev1.PodSpec) { s.SecurityContext.SeccompProfile = nil }},
		{"privilege escalation", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil }},
		{"capabilities kept", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Capabilities = nil }},
		{"host network", func(s *corev1.PodSpec) { s.HostNetwork = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := base.DeepCopy()
			tc.weaken(&tmpl.Spec)
			if restricted(t, tmpl) == "" {
				t.Error("the weakened pod passes the restricted profile")
			}
		})
	}
}

// TestInstallNamespacesEnforceRestricted: the namespaces the installs
// create admit only restricted pods, so kube-apiserver itself refuses a
// weakened Deployment's pods there.
func TestInstallNamespacesEnforceRestricted(t *testing.T) {
	for _, install := range []string{"../../install.yaml", "../../namespace-install.yaml"} {
		var namespaces int
		for _, doc := range documents(t, install) {
			var ns corev1.Namespace
			if err := yaml.Unmarshal(doc, &ns); err != nil {
				t.Fatal(err)
			}
			if ns.Kind != "Namespace" {
				continue
			}
			namespaces++
			if got := ns.Labels[psaapi.EnforceLevelLabel]; got != string(psaapi.LevelRestricted) {
				t.Errorf("%s: namespace %s has %s=%q, want restricted", install, ns.Name, psaapi.EnforceLevelLabel, got)
			}
		}
		if namespaces != 1 {
			t.Errorf("%s creates %d namespaces, want 1", install, namespaces)
		}
	}
}

// renderDeployments returns the Deployments of an install file or a
// kustomize directory (rendered as hack/installyaml renders it).
func renderDeployments(t *testing.T, install string) []appsv1.Deployment {
	t.Helper()
	var out []appsv1.Deployment
	for _, doc := range documents(t, install) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s: %v", install, err)
		}
		if meta.Kind != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := yaml.UnmarshalStrict(doc, &d); err != nil {
			t.Fatalf("%s: %v", install, err)
		}
		out = append(out, d)
	}
	return out
}

func documents(t *testing.T, install string) [][]byte {
	t.Helper()
	path := install
	if fi, err := os.Stat(install); err != nil {
		t.Fatal(err)
	} else if fi.IsDir() {
		path = filepath.Join(t.TempDir(), "install.yaml")
		if err := render(install, path); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}
