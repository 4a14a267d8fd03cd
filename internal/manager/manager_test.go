package manager_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/test/cluster"
)

// These tests start managers exactly as cmd/switchyard does, against a
// real API server with the ReplicaSet controller running.

var (
	env       *cluster.Cluster
	k8sClient client.Client
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(runner{m}, &env)) }

type runner struct{ m *testing.M }

func (r runner) Run() int {
	ctrl.SetLogger(logr.Discard())
	root, err := cluster.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := envtest.InstallCRDs(env.RESTConfig, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(root, "config", "crd", "bases", "argoproj.io_rollouts.yaml")},
	}); err != nil {
		fmt.Fprintf(os.Stderr, "install the Rollout CRD: %v\n", err)
		return 1
	}
	scheme, err := manager.Scheme()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if k8sClient, err = client.New(env.RESTConfig, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return r.m.Run()
}

// start runs a manager for ns with the given instance ID, leader election
// on (Leases in ns), until the test ends. Its requests carry the user agent
// fieldManager, so the objects it writes record which manager wrote them.
// It returns the manager's cached client: what the reconciler can see.
func start(t *testing.T, g *WithT, ns, instanceID, fieldManager string) client.Reader {
	t.Helper()
	reader, _ := startWith(t, g, env.RESTConfig, fieldManager, manager.Options{
		Namespaces:              []string{ns},
		InstanceID:              instanceID,
		LeaderElectionNamespace: ns,
	})
	return reader
}

// startWith runs a manager as cfg's user with opts (leader election on,
// no metrics or probes) until stop is called or the test ends. Its
// requests carry the user agent fieldManager.
func startWith(t *testing.T, g *WithT, cfg *rest.Config, fieldManager string, opts manager.Options) (reader client.Reader, stop func()) {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = fieldManager
	opts.MetricsAddr, opts.HealthAddr = "0", "0"
	opts.LeaderElect, opts.SkipControllerNameValidation = true, true
	mgr, err := manager.New(cfg, opts)
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("manager %s: %v", fieldManager, err)
			}
		})
	}
	t.Cleanup(stop)
	return mgr.GetClient(), stop
}

func rollout(ns, name string, labels map[string]string) *v1alpha1.Rollout {
	app := map[string]string{"app": name}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: app},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: app},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}},
		},
	}
}

func instance(id string) map[string]string {
	return map[string]string{v1alpha1.InstanceIDLabelKey: id}
}

// writers lists, per ReplicaSet of ro (by name), the field managers that
// created or changed it: which controller acted on ro.
func writers(g Gomega, ro *v1alpha1.Rollout) map[string][]string {
	var list appsv1.ReplicaSetList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ro.Namespace), client.MatchingLabels(ro.Spec.Selector.MatchLabels))).To(Succeed())
	out := map[string][]string{}
	for _, rs := range list.Items {
		for _, mf := range rs.ManagedFields {
			out[rs.Name] = append(out[rs.Name], mf.Manager)
		}
	}
	return out
}

// onlyBy matches the field managers of an object that the controller
// called manager wrote and no other Switchyard did.
func onlyBy(manager string) OmegaMatcher {
	return And(ContainElement(manager), Not(ContainElement(And(HavePrefix("switchyard-"), Not(Equal(manager))))))
}

// statusWriters lists the field managers of ro's status.
func statusWriters(g Gomega, ns, name string) []string {
	ro := &v1alpha1.Rollout{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ro)).To(Succeed())
	var out []string
	for _, mf := range ro.ManagedFields {
		if mf.Subresource == "status" {
			out = append(out, mf.Manager)
		}
	}
	return out
}

// TestInstanceID runs two controllers side by side, one with --instance-id
// blue and one without, and a Rollout for an instance that is not running.
// Each controller serves its own Rollouts only, both are leaders (their
// Leases differ), and relabelling a Rollout hands it over.
func TestInstanceID(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(time.Minute)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx := context.Background()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "instance-id-"}}
	g.Expect(k8sClient.Create(ctx, nsObj)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), nsObj) })
	ns := nsObj.Name

	blueCache := start(t, g, ns, "blue", "switchyard-blue")
	plainCache := start(t, g, ns, "", "switchyard-plain")

	blue := rollout(ns, "blue", instance("blue"))
	plain := rollout(ns, "plain", nil)
	green := rollout(ns, "green", instance("green"))
	for _, ro := range []*v1alpha1.Rollout{blue, plain, green} {
		g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	}

	// Each served Rollout gets a ReplicaSet and a status, from its own
	// controller only.
	g.Eventually(func(g Gomega) {
		g.Expect(writers(g, blue)).To(And(HaveLen(1), HaveEach(onlyBy("switchyard-blue"))))
		g.Expect(statusWriters(g, ns, "blue")).To(ConsistOf("switchyard-blue"))
		g.Expect(writers(g, plain)).To(And(HaveLen(1), HaveEach(onlyBy("switchyard-plain"))))
		g.Expect(statusWriters(g, ns, "plain")).To(ConsistOf("switchyard-plain"))
	}).Should(Succeed())

	// Neither controller can see the Rollouts of other instances: they are
	// not in its cache, so it cannot act on them.
	notFound := func(c client.Reader, name string) func(Gomega) {
		return func(g Gomega) {
			err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &v1alpha1.Rollout{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s: %v", name, err)
		}
	}
	for _, name := range []string{"plain", "green"} {
		notFound(blueCache, name)(g)
	}
	for _, name := range []string{"blue", "green"} {
		notFound(plainCache, name)(g)
	}
	g.Expect(writers(g, green)).To(BeEmpty())
	g.Expect(statusWriters(g, ns, "green")).To(BeEmpty())
	got := &v1alpha1.Rollout{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(green), got)).To(Succeed())
	g.Expect(got.Status).To(Equal(v1alpha1.RolloutStatus{}))

	// Both are leaders (both reconciled), each of its own Lease.
	for _, lease := range []string{manager.LeaseName + "-blue", manager.LeaseName} {
		l := &coordinationv1.Lease{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: lease}, l)).To(Succeed())
		g.Expect(l.Spec.HolderIdentity).To(HaveValue(Not(BeEmpty())), lease)
	}

	// Relabelled to blue, green is served by the blue controller.
	g.Expect(k8sClient.Patch(ctx, green, client.RawPatch(types.MergePatchType,
		fmt.Appendf(nil, `{"metadata":{"labels":{%q:"blue"}}}`, v1alpha1.InstanceIDLabelKey)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(writers(g, green)).To(And(HaveLen(1), HaveEach(onlyBy("switchyard-blue"))))
		g.Expect(statusWriters(g, ns, "green")).To(ConsistOf("switchyard-blue"))
	}).Should(Succeed())

	// Unlabelled, blue goes to the controller without an instance ID: it
	// leaves the blue controller's cache, and its next revision is the
	// plain controller's work.
	g.Expect(k8sClient.Patch(ctx, blue, client.RawPatch(types.MergePatchType,
		fmt.Appendf(nil, `{"metadata":{"labels":{%q:null}}}`, v1alpha1.InstanceIDLabelKey)))).To(Succeed())
	g.Eventually(notFound(blueCache, "blue")).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(plainCache.Get(ctx, client.ObjectKeyFromObject(blue), &v1alpha1.Rollout{})).To(Succeed())
	}).Should(Succeed())
	g.Expect(k8sClient.Patch(ctx, blue, client.RawPatch(types.MergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}}}`)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		rs := writers(g, blue)
		g.Expect(rs).To(HaveLen(2))
		newRS := 0
		for _, managers := range rs {
			if !slices.Contains(managers, "switchyard-blue") {
				g.Expect(managers).To(onlyBy("switchyard-plain"))
				newRS++
			}
		}
		g.Expect(newRS).To(Equal(1), "the new revision's ReplicaSet is the plain controller's: %v", rs)
		g.Expect(statusWriters(g, ns, "blue")).To(ContainElement("switchyard-plain"))
	}).Should(Succeed())
}
