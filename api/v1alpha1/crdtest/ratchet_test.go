package crdtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/rolloutcorpus"
)

// TestRulesRatchetStoredRollouts: a Rollout stored before the CEL rules
// existed (here: under a copy of the CRD in another group, created without
// them and then updated to the generated schema) keeps accepting updates
// that leave its invalid spec as it is, such as the controller's status
// write, and refuses a spec edit that leaves it invalid. This is what an
// upgrade of the CRD does to Rollouts already in a cluster.
func TestRulesRatchetStoredRollouts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g, ctx := f.g, context.Background()
	g.SetDefaultEventuallyTimeout(time.Minute)
	root, err := cluster.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	raw, err := os.ReadFile(filepath.Join(root, "config", "crd", "bases", "argoproj.io_rollouts.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	withRules := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(yaml.Unmarshal(raw, withRules)).To(Succeed())
	const group = "ratchet.switchyard.dev"
	withRules.Name = "rollouts." + group
	withRules.Spec.Group = group
	withoutRules := withRules.DeepCopy()
	dropRules(withoutRules.Spec.Versions[0].Schema.OpenAPIV3Schema)

	scheme := runtime.NewScheme()
	g.Expect(apiextensionsv1.AddToScheme(scheme)).To(Succeed())
	c, err := client.New(env.RESTConfig, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Create(ctx, withoutRules)).To(Succeed())
	t.Cleanup(func() { _ = c.Delete(context.Background(), withoutRules) })
	dyn, err := dynamic.NewForConfig(env.RESTConfig)
	g.Expect(err).NotTo(HaveOccurred())
	rollouts := dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v1alpha1", Resource: "rollouts"}).Namespace(f.ns)

	invalid := func(name string) *unstructured.Unstructured {
		obj, err := rolloutcorpus.Decode([]byte(`{"apiVersion":"` + group + `/v1alpha1","kind":"Rollout","metadata":{"name":"` + name + `"},
			"spec":{"replicas":1,"selector":{"matchLabels":{"app":"a"}},"strategy":{"canary":{}},
			"template":{"metadata":{"labels":{"app":"b"}},"spec":{"containers":[{"name":"a","image":"a"}]}}}}`))
		g.Expect(err).NotTo(HaveOccurred())
		return &unstructured.Unstructured{Object: obj}
	}
	// Stored while the CRD had no rules (retried until the new CRD serves).
	g.Eventually(func() error {
		_, err := rollouts.Create(ctx, invalid("stored"), metav1.CreateOptions{})
		return err
	}).Should(Succeed())

	// The CRD gains the rules; wait until they refuse a new invalid Rollout.
	g.Eventually(func() error {
		cur := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(withoutRules), cur); err != nil {
			return err
		}
		cur.Spec.Versions = withRules.Spec.Versions
		return c.Update(ctx, cur)
	}).Should(Succeed())
	g.Eventually(func() bool {
		_, err := rollouts.Create(ctx, invalid("new"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return apierrors.IsInvalid(err)
	}).Should(BeTrue())

	// A status write and a metadata edit leave the spec as it was: accepted.
	stored, err := rollouts.Get(ctx, "stored", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(unstructured.SetNestedField(stored.Object, "Degraded", "status", "phase")).To(Succeed())
	stored, err = rollouts.UpdateStatus(ctx, stored, metav1.UpdateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	stored.SetAnnotations(map[string]string{"note": "kept"})
	stored, err = rollouts.Update(ctx, stored, metav1.UpdateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	// A spec edit that keeps it invalid is refused, naming the field.
	g.Expect(unstructured.SetNestedField(stored.Object, int64(2), "spec", "replicas")).To(Succeed())
	_, err = rollouts.Update(ctx, stored, metav1.UpdateOptions{})
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("spec.template.metadata.labels: Invalid value"))
}

// dropRules removes every x-kubernetes-validations below s.
func dropRules(s *apiextensionsv1.JSONSchemaProps) {
	if s == nil {
		return
	}
	s.XValidations = nil
	for k, p := range s.Properties {
		dropRules(&p)
		s.Properties[k] = p
	}
	if s.Items != nil {
		dropRules(s.Items.Schema)
	}
	if s.AdditionalProperties != nil {
		dropRules(s.AdditionalProperties.Schema)
	}
}
