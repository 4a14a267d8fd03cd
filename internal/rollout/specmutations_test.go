package rollout_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/validation"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/rolloutcorpus"
)

// The outcomes a mutated Rollout may have (issue 13's contract).
const (
	outcomeRefused     = "refused at apply"
	outcomeInvalidSpec = "InvalidSpec"
	outcomeReconciled  = "reconciled"
)

// mutationCase is one Rollout of the test: a document of the valid corpus
// after some mutations, and the outcome it must have, if one is known.
type mutationCase struct {
	name string
	// original is the unmutated document: the Services and Deployment it
	// names are created first, as a user would have.
	original, object map[string]any
	want             string
}

// TestSpecMutationsAgainstTheController is the controller half of
// FuzzSpecMutations (api/v1alpha1): the fuzz test's seeds, a fixed sample
// of further mutations and two Rollouts only the controller can judge are
// applied to a real kube-apiserver with the Rollout reconciler running.
// Each is either refused at apply, or gets InvalidSpec naming a field with
// no ReplicaSet created and no Service touched, or is reconciled into a
// ReplicaSet; internal/validation must agree with the controller, and the
// sample must reach all three outcomes.
func TestSpecMutationsAgainstTheController(t *testing.T) {
	t.Parallel()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	docs, err := rolloutcorpus.Valid(root)
	if err != nil {
		t.Fatal(err)
	}
	mutated := func(doc uint8, ops []byte) mutationCase {
		d := docs[int(doc)%len(docs)]
		obj := rolloutcorpus.DeepCopy(d.Object)
		applied := rolloutcorpus.Mutate(obj, ops)
		return mutationCase{name: fmt.Sprintf("%s %v", d.Name, applied), original: d.Object, object: obj}
	}
	var cases []mutationCase
	for _, s := range rolloutcorpus.Seeds() {
		cases = append(cases, mutated(s.Doc, s.Ops))
	}
	// Further mutations, the same on every run: up to four at once on a
	// random document.
	rng := rand.New(rand.NewPCG(13, 13))
	for range 60 {
		ops := make([]byte, 2*(1+rng.IntN(4)))
		for i := range ops {
			ops[i] = byte(rng.UintN(256))
		}
		cases = append(cases, mutated(byte(rng.UintN(256)), ops))
	}
	// Admitted by the CRD, invalid by what only the controller sees.
	bluegreen := docs[0]
	if !strings.HasPrefix(bluegreen.Name, "bluegreen-rollout.yaml") {
		t.Fatalf("the first corpus document is %s, not the blue-green example", bluegreen.Name)
	}
	missing := rolloutcorpus.DeepCopy(bluegreen.Object)
	rolloutcorpus.Lookup(missing, "spec", "strategy", "blueGreen").(map[string]any)["activeService"] = "not-created"
	expression := rolloutcorpus.DeepCopy(bluegreen.Object)
	rolloutcorpus.Lookup(expression, "spec", "selector").(map[string]any)["matchExpressions"] = []any{
		map[string]any{"key": "tier", "operator": "In", "values": []any{"front"}},
	}
	cases = append(cases,
		mutationCase{name: "activeService names a Service that does not exist", original: bluegreen.Object, object: missing, want: outcomeInvalidSpec},
		mutationCase{name: "selector expression does not match the template labels", original: bluegreen.Object, object: expression, want: outcomeInvalidSpec},
	)

	var (
		mu     sync.Mutex
		counts = map[string]int{}
		work   = make(chan int)
		wg     sync.WaitGroup
	)
	// Cases run in their own namespaces, a bounded number at a time.
	for range 12 {
		wg.Go(func() {
			for i := range work {
				c := cases[i]
				t.Run(fmt.Sprintf("%03d", i), func(t *testing.T) {
					got := runMutationCase(t, c)
					mu.Lock()
					counts[got]++
					mu.Unlock()
					if c.want != "" && got != c.want {
						t.Errorf("%s: want %s, got %s", c.name, c.want, got)
					}
				})
			}
		})
	}
	for i := range cases {
		work <- i
	}
	close(work)
	wg.Wait()

	t.Logf("%d mutated Rollouts: %d %s, %d %s, %d %s", len(cases),
		counts[outcomeRefused], outcomeRefused, counts[outcomeInvalidSpec], outcomeInvalidSpec, counts[outcomeReconciled], outcomeReconciled)
	for _, o := range []string{outcomeRefused, outcomeInvalidSpec, outcomeReconciled} {
		if counts[o] == 0 {
			t.Errorf("no mutated Rollout was %s: the sample no longer covers the contract", o)
		}
	}
}

// runMutationCase applies c in a new namespace and returns its outcome,
// failing t where the outcome breaks the contract.
func runMutationCase(t *testing.T, c mutationCase) string {
	ctx := context.Background()
	g := NewWithT(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "mutation-"}}
	g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	// Deleted as soon as the case is judged: a reconciled Rollout may ask
	// for hundreds of pods.
	defer func() { _ = k8sClient.Delete(ctx, ns) }()
	t.Logf("%s in %s", c.name, ns.Name)

	for _, name := range servicesNamed(c.original) {
		g.Expect(k8sClient.Create(ctx, service(ns.Name, name, name))).To(Succeed())
	}
	if ref, ok := rolloutcorpus.Lookup(c.object, "spec", "workloadRef").(map[string]any); ok && ref["kind"] == "Deployment" && ref["apiVersion"] == "apps/v1" {
		if name, ok := ref["name"].(string); ok && name != "" {
			g.Expect(k8sClient.Create(ctx, deployment(ns.Name, name))).To(Succeed())
		}
	}
	services := serviceVersions(g, ns.Name)
	deployments := deploymentReplicas(g, ns.Name)

	u := &unstructured.Unstructured{Object: rolloutcorpus.DeepCopy(c.object)}
	u.SetNamespace(ns.Name)
	if err := k8sClient.Create(ctx, u); err != nil {
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "a refusal is an Invalid error, got %v", err)
		return outcomeRefused
	}
	name := u.GetName()

	ownedReplicaSets := func() []string {
		var list appsv1.ReplicaSetList
		g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns.Name))).To(Succeed())
		var out []string
		for _, rs := range list.Items {
			if ref := metav1.GetControllerOf(&rs); ref == nil || ref.Kind != "Deployment" {
				out = append(out, rs.Name)
			}
		}
		return out
	}
	// The first verdict: InvalidSpec for the current generation, or a
	// ReplicaSet of the Rollout's.
	g.Eventually(func() bool {
		return invalidSpec(get(ns.Name, name)()) != "" || len(ownedReplicaSets()) > 0
	}, time.Minute, 100*time.Millisecond).Should(BeTrue(), "neither InvalidSpec nor a ReplicaSet")

	ro := get(ns.Name, name)()
	g.Expect(ro).NotTo(BeNil())
	errs := validation.Rollout(ro)
	if msg := invalidSpec(ro); msg != "" {
		g.Expect(msg).To(ContainSubstring("spec."), "InvalidSpec names the field")
		if len(errs) > 0 {
			g.Expect(msg).To(Equal(errs.ToAggregate().Error()), "the controller reports internal/validation's errors")
		}
		g.Expect(ownedReplicaSets()).To(BeEmpty(), "an invalid Rollout creates no ReplicaSet")
		// Changes nothing: no ReplicaSet appears, no Service or
		// referenced Deployment is written, and the verdict stays.
		g.Consistently(func(g Gomega) {
			g.Expect(invalidSpec(get(ns.Name, name)())).To(Equal(msg))
			g.Expect(ownedReplicaSets()).To(BeEmpty())
			g.Expect(serviceVersions(g, ns.Name)).To(Equal(services))
			g.Expect(deploymentReplicas(g, ns.Name)).To(Equal(deployments))
		}, time.Second, 200*time.Millisecond).Should(Succeed())
		return outcomeInvalidSpec
	}
	g.Expect(errs).To(BeEmpty(), "the controller acted on a Rollout internal/validation refuses")
	g.Eventually(func(g Gomega) {
		ro := get(ns.Name, name)()
		g.Expect(ro.Status.ObservedGeneration).To(Equal(v1alpha1.ObservedGenerationString(ro.Generation)))
		g.Expect(ro.Status.GetCondition(v1alpha1.RolloutInvalidSpec)).To(BeNil(), "a reconciled Rollout has no InvalidSpec")
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	return outcomeReconciled
}

// servicesNamed lists the Services a corpus document's strategy names.
func servicesNamed(doc map[string]any) []string {
	var out []string
	for _, path := range [][]string{
		{"blueGreen", "activeService"}, {"blueGreen", "previewService"},
		{"canary", "canaryService"}, {"canary", "stableService"},
		{"canary", "pingPong", "pingService"}, {"canary", "pingPong", "pongService"},
	} {
		name, _ := rolloutcorpus.Lookup(doc, append([]string{"spec", "strategy"}, path...)...).(string)
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// deployment is a workloadRef target with no replicas of its own.
func deployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "web:v1",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}}},
			},
		},
	}
}

func serviceVersions(g Gomega, ns string) map[string]string {
	var list corev1.ServiceList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	out := map[string]string{}
	for _, s := range list.Items {
		out[s.Name] = s.ResourceVersion + " " + fmt.Sprint(s.Spec.Selector)
	}
	return out
}

func deploymentReplicas(g Gomega, ns string) map[string]int32 {
	var list appsv1.DeploymentList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	out := map[string]int32{}
	for _, d := range list.Items {
		out[d.Name] = ptr.Deref(d.Spec.Replicas, -1)
	}
	return out
}
