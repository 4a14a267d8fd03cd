package crdtest

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/crdvalidation"
	"github.com/switchyard-dev/switchyard/test/rolloutcorpus"
)

// create creates obj in the fixture's namespace as `kubectl apply` would
// (strict field validation), after dropping what a stored object carries
// (namespace, status); dryRun leaves nothing behind.
func (f *fixture) create(obj map[string]any, dryRun bool) error {
	u := &unstructured.Unstructured{Object: rolloutcorpus.DeepCopy(obj)}
	u.SetNamespace(f.ns)
	delete(u.Object, "status")
	opts := metav1.CreateOptions{FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err := f.dyn.Create(context.Background(), u, opts)
	return err
}

func corpus(t *testing.T, invalid bool) []rolloutcorpus.Doc {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	read := rolloutcorpus.Valid
	if invalid {
		read = rolloutcorpus.Invalid
	}
	docs, err := read(root)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestValidCorpusApplies: every Rollout the reference accepts (the seed,
// the reference's shapes, the e2e tests' shapes) is created by a real
// kube-apiserver with the generated CRD.
func TestValidCorpusApplies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, d := range corpus(t, false) {
		f.g.Expect(f.create(d.Object, false)).To(Succeed(), d.Name)
	}
}

// TestInvalidCorpusRefused: every Rollout of the invalid corpus is refused
// at apply time, and the refusal names the field and gives the message.
func TestInvalidCorpusRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, d := range corpus(t, true) {
		err := f.create(d.Object, false)
		f.g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: want a refusal, got %v", d.Name, err)
		for _, want := range d.Wants {
			f.g.Expect(err.Error()).To(And(ContainSubstring(want.Field+":"), ContainSubstring(want.Message)), d.Name)
		}
	}
}

// TestInProcessValidationAgrees runs the fuzz test's seed mutations through
// a real kube-apiserver (dry run) and through crdvalidation, which the fuzz
// test relies on: both admit or both refuse, and every field the
// in-process validation names is in kube-apiserver's refusal.
func TestInProcessValidationAgrees(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root, err := cluster.RepoRoot()
	f.g.Expect(err).NotTo(HaveOccurred())
	v, err := crdvalidation.Load(root + "/config/crd/bases/argoproj.io_rollouts.yaml")
	f.g.Expect(err).NotTo(HaveOccurred())
	docs := corpus(t, false)
	var admitted, refused int
	for i, seed := range rolloutcorpus.Seeds() {
		obj := rolloutcorpus.DeepCopy(docs[int(seed.Doc)%len(docs)].Object)
		applied := rolloutcorpus.Mutate(obj, seed.Ops)
		obj["metadata"] = map[string]any{"name": fmt.Sprintf("seed-%d", i)}
		what := fmt.Sprintf("seed %d (%s after %v)", i, docs[int(seed.Doc)%len(docs)].Name, applied)

		inProcess := v.Admit(rolloutcorpus.DeepCopy(obj))
		apiErr := f.create(obj, true)
		if len(inProcess) == 0 {
			admitted++
			f.g.Expect(apiErr).NotTo(HaveOccurred(), what)
			continue
		}
		refused++
		f.g.Expect(apiErr).To(HaveOccurred(), "%s: in process: %v", what, inProcess.ToAggregate())
		for _, e := range inProcess {
			if e.Field == "<nil>" {
				continue // the "rules were not checked" note
			}
			f.g.Expect(apiErr.Error()).To(ContainSubstring(e.Field+":"), "%s: in process: %v", what, e)
		}
	}
	t.Logf("%d seed mutations admitted and %d refused by both", admitted, refused)
	f.g.Expect(admitted).To(BeNumerically(">", 100))
	f.g.Expect(refused).To(BeNumerically(">", 100))
}
