package rollout_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/routercrds"
)

// These tests run the reconciler in-process (the same manager the binary
// runs) against a real kube-apiserver with real ReplicaSet and garbage
// collection controllers.

var (
	env       *cluster.Cluster
	k8sClient client.Client
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(runner{m}, &env)) }

type runner struct{ m *testing.M }

func (r runner) Run() int {
	root, err := cluster.RepoRoot()
	if err != nil {
		panic(err)
	}
	ctrl.SetLogger(logr.Discard())
	scheme, err := manager.Scheme()
	if err != nil {
		panic(err)
	}
	routerCRDs, err := routercrds.All(root)
	if err != nil {
		panic(err)
	}
	if _, err := envtest.InstallCRDs(env.RESTConfig, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(root, "config", "crd", "bases")},
		CRDs:  routerCRDs,
	}); err != nil {
		panic(err)
	}
	if k8sClient, err = client.New(env.RESTConfig, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	mgr, err := manager.New(env.RESTConfig, manager.Options{MetricsAddr: "0", HealthAddr: "0"})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(ctrl.SetupSignalHandler())
	go func() {
		if err := mgr.Start(ctx); err != nil {
			panic(err)
		}
	}()
	code := r.m.Run()
	cancel()
	return code
}

func newNamespace(t *testing.T) (string, *WithT) {
	t.Helper()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(time.Minute)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rollout-it-"}}
	g.Expect(k8sClient.Create(context.Background(), ns)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
	return ns.Name, g
}

func seed(t *testing.T, g *WithT, file, ns string) *v1alpha1.Rollout {
	t.Helper()
	root, err := cluster.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(filepath.Join(root, "examples", file))
	g.Expect(err).NotTo(HaveOccurred())
	ro := &v1alpha1.Rollout{}
	g.Expect(yaml.Unmarshal(data, ro)).To(Succeed()) // first document: the Rollout
	ro.Namespace = ns
	return ro
}

// seedBlueGreen is the blue-green seed's Rollout in ns, not yet created,
// with its active and preview Services created.
func seedBlueGreen(t *testing.T, g *WithT, ns string) *v1alpha1.Rollout {
	t.Helper()
	for _, name := range []string{"backend-active", "backend-preview"} {
		g.Expect(k8sClient.Create(context.Background(), service(ns, name, "backend-bluegreen"))).To(Succeed())
	}
	return seed(t, g, "bluegreen-rollout.yaml", ns)
}

func service(ns, name, app string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": app},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func get(ns, name string) func() *v1alpha1.Rollout {
	return func() *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
			return nil
		}
		return ro
	}
}

func invalidSpec(ro *v1alpha1.Rollout) string {
	if ro == nil || ro.Status.ObservedGeneration != v1alpha1.ObservedGenerationString(ro.Generation) {
		return ""
	}
	c := ro.Status.GetCondition(v1alpha1.RolloutInvalidSpec)
	if c == nil || c.Status != corev1.ConditionTrue || ro.Status.Phase != v1alpha1.RolloutPhaseDegraded {
		return ""
	}
	return c.Message
}

func TestInvalidSpecs(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ns string, ro *v1alpha1.Rollout) []client.Object
		// refused is set when the CRD's rules refuse the Rollout at apply
		// time; contains then applies to the API server's error.
		refused  bool
		contains []string
	}{{
		name: "missing active Service",
		mutate: func(ns string, ro *v1alpha1.Rollout) []client.Object {
			return []client.Object{service(ns, "backend-preview", "backend-bluegreen")}
		},
		contains: []string{"spec.strategy.blueGreen.activeService", `"backend-active"`, "Not found"},
	}, {
		name: "selector does not match the template labels",
		mutate: func(ns string, ro *v1alpha1.Rollout) []client.Object {
			ro.Spec.Selector.MatchLabels = map[string]string{"app": "something-else"}
			return nil
		},
		refused:  true,
		contains: []string{"spec.template.metadata.labels", "`selector` does not match template `labels`"},
	}, {
		// matchExpressions are checked at reconcile time only (the CRD's
		// rules compare matchLabels).
		name: "selector expression does not match the template labels",
		mutate: func(ns string, ro *v1alpha1.Rollout) []client.Object {
			ro.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front"}}}
			return nil
		},
		contains: []string{"spec.template.metadata.labels", "`selector` does not match template `labels`"},
	}, {
		name: "both strategies",
		mutate: func(ns string, ro *v1alpha1.Rollout) []client.Object {
			ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
			return nil
		},
		refused:  true,
		contains: []string{"spec.strategy", "Multiple Strategies can not be listed"},
	}, {
		name: "pre-promotion analysis naming a template that does not exist",
		mutate: func(ns string, ro *v1alpha1.Rollout) []client.Object {
			ro.Spec.Strategy.BlueGreen.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "smoke"}}}
			return nil
		},
		contains: []string{"spec.strategy.blueGreen.prePromotionAnalysis.templates", "AnalysisTemplate 'smoke' not found"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns, g := newNamespace(t)
			ro := seed(t, g, "bluegreen-rollout.yaml", ns)
			extra := tt.mutate(ns, ro)
			if extra == nil {
				extra = []client.Object{service(ns, "backend-active", "backend-bluegreen"), service(ns, "backend-preview", "backend-bluegreen")}
			}
			for _, o := range extra {
				g.Expect(k8sClient.Create(context.Background(), o)).To(Succeed())
			}
			matchers := []types.GomegaMatcher{}
			for _, c := range tt.contains {
				matchers = append(matchers, ContainSubstring(c))
			}
			err := k8sClient.Create(context.Background(), ro)
			if tt.refused {
				g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want a refusal at apply time, got %v", err)
				g.Expect(err.Error()).To(SatisfyAll(matchers...))
				g.Expect(get(ns, ro.Name)()).To(BeNil())
			} else {
				g.Expect(err).NotTo(HaveOccurred())
				g.Eventually(get(ns, ro.Name)).Should(WithTransform(invalidSpec, SatisfyAll(matchers...)))
				g.Expect(get(ns, ro.Name)().Status.Message).To(HavePrefix("InvalidSpec: "))
			}
			var rsList appsv1.ReplicaSetList
			g.Expect(k8sClient.List(context.Background(), &rsList, client.InNamespace(ns))).To(Succeed())
			g.Expect(rsList.Items).To(BeEmpty(), "an invalid Rollout creates nothing")
		})
	}
}

// TestInvalidSpecLeavesRunningPodsAlone: a healthy Rollout edited into an
// invalid one (a new image together with an analysis naming a template that
// does not exist) gets
// InvalidSpec, and its ReplicaSets and pods are not touched; fixing the spec
// resumes the update.
func TestInvalidSpecLeavesRunningPodsAlone(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	ro := seed(t, g, "canary-rollout.yaml", ns)
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal(string(v1alpha1.RolloutPhaseHealthy)))

	snapshot := func() map[string]string {
		var rsList appsv1.ReplicaSetList
		var pods corev1.PodList
		g.Expect(k8sClient.List(ctx, &rsList, client.InNamespace(ns))).To(Succeed())
		g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
		out := map[string]string{}
		for _, rs := range rsList.Items {
			out["rs/"+rs.Name] = rs.ResourceVersion
		}
		for _, p := range pods.Items {
			out["pod/"+p.Name] = string(p.Status.Phase)
		}
		return out
	}
	before := snapshot()

	live := get(ns, ro.Name)()
	live.Spec.Template.Spec.Containers[0].Image = "backend:v2"
	live.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "missing"}}}}
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
	g.Eventually(get(ns, ro.Name)).Should(WithTransform(invalidSpec, ContainSubstring("spec.strategy.canary.analysis.templates: Invalid value: \"templateNames: [missing]\": AnalysisTemplate 'missing' not found")))
	g.Consistently(snapshot, 3*time.Second, 200*time.Millisecond).Should(Equal(before))

	live = get(ns, ro.Name)()
	live.Spec.Strategy.Canary.Analysis = nil
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
	g.Eventually(func() int32 {
		ro := get(ns, ro.Name)()
		if ro == nil || ro.Status.GetCondition(v1alpha1.RolloutInvalidSpec) != nil {
			return -1
		}
		return ptr.Deref(ro.Status.CurrentStepIndex, -1)
	}).Should(Equal(int32(1)), "the update resumes and pauses at the seed's pause step")
}

// TestSpecEditedInvalid: a healthy Rollout whose spec is edited into one the
// controller refuses (a selector expression the template's labels do not
// match: checked at reconcile time, not by the CRD) gets
// InvalidSpec naming the field, although its earlier spec was found valid
// and that finding is remembered; putting the spec back clears it.
func TestSpecEditedInvalid(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	ro := seed(t, g, "canary-rollout.yaml", ns)
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal(string(v1alpha1.RolloutPhaseHealthy)))

	live := get(ns, ro.Name)()
	live.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front"}}}
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
	g.Eventually(get(ns, ro.Name)).Should(WithTransform(invalidSpec, ContainSubstring("spec.template.metadata.labels")))

	live = get(ns, ro.Name)()
	live.Spec.Selector.MatchExpressions = nil
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
	g.Eventually(func() *v1alpha1.RolloutCondition {
		ro := get(ns, ro.Name)()
		if ro == nil {
			return &v1alpha1.RolloutCondition{}
		}
		return ro.Status.GetCondition(v1alpha1.RolloutInvalidSpec)
	}).Should(BeNil())
	g.Expect(get(ns, ro.Name)().Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy))
}

// TestRestartAt replaces every pod created before spec.restartAt, one at a
// time (maxUnavailable 0), and records status.restartedAt.
func TestRestartAt(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](3)
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	podNames := func() []string {
		var pods corev1.PodList
		g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
		var names []string
		for _, p := range pods.Items {
			names = append(names, p.Name)
		}
		return names
	}
	g.Eventually(func() v1alpha1.RolloutPhase {
		if ro := get(ns, ro.Name)(); ro != nil {
			return ro.Status.Phase
		}
		return ""
	}).Should(Equal(v1alpha1.RolloutPhaseHealthy))
	before := podNames()
	g.Expect(before).To(HaveLen(3))

	restartAt := metav1.NewTime(time.Now().Add(time.Second).Truncate(time.Second))
	live := get(ns, ro.Name)()
	live.Spec.RestartAt = &restartAt
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
	g.Eventually(func(g Gomega) {
		ro := get(ns, ro.Name)()
		g.Expect(ro.Status.RestartedAt).NotTo(BeNil())
		g.Expect(ro.Status.RestartedAt.Time).To(BeTemporally("==", restartAt.Time))
		g.Expect(ro.Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy))
		g.Expect(podNames()).To(HaveLen(3))
	}).Should(Succeed())
	for _, name := range before {
		g.Expect(podNames()).NotTo(ContainElement(name))
	}
}

func phase(ns, name string) func() string {
	return func() string {
		ro := get(ns, name)()
		if ro == nil || ro.Status.ObservedGeneration != v1alpha1.ObservedGenerationString(ro.Generation) {
			return ""
		}
		return string(ro.Status.Phase)
	}
}

func selects(ns, name string) func() string {
	return func() string {
		svc := &corev1.Service{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
			return ""
		}
		return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
}

// TestCanaryServices: canaryService and stableService get the canary's and
// the stable's hash injected, as blue-green's Services do.
func TestCanaryServices(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	for _, name := range []string{"backend-canary-svc", "backend-stable-svc"} {
		g.Expect(k8sClient.Create(ctx, service(ns, name, "backend-canary"))).To(Succeed())
	}
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](4)
	ro.Spec.Strategy.Canary.CanaryService = "backend-canary-svc"
	ro.Spec.Strategy.Canary.StableService = "backend-stable-svc"
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	stable := get(ns, ro.Name)().Status.StableRS
	g.Expect(selects(ns, "backend-stable-svc")()).To(Equal(stable))
	g.Expect(selects(ns, "backend-canary-svc")()).To(Equal(stable))

	live := get(ns, ro.Name)()
	live.Spec.Template.Spec.Containers[0].Image = "backend:v2"
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	canary := get(ns, ro.Name)().Status.CurrentPodHash
	g.Expect(canary).NotTo(Equal(stable))
	g.Eventually(selects(ns, "backend-canary-svc")).Should(Equal(canary))
	g.Expect(selects(ns, "backend-stable-svc")()).To(Equal(stable))
}

// TestCanaryWithoutSteps: no steps is a plain rolling update within
// maxSurge and maxUnavailable, straight to Healthy.
func TestCanaryWithoutSteps(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](4)
	ro.Spec.Strategy.Canary.Steps = nil
	ro.Spec.Strategy.Canary.MaxSurge = ptr.To(intstr.FromInt32(1))
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))

	var maxSpec int32
	live := get(ns, ro.Name)()
	live.Spec.Template.Spec.Containers[0].Image = "backend:v2"
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
	g.Eventually(func(g Gomega) {
		var rsList appsv1.ReplicaSetList
		g.Expect(k8sClient.List(ctx, &rsList, client.InNamespace(ns))).To(Succeed())
		var total int32
		for _, rs := range rsList.Items {
			total += ptr.Deref(rs.Spec.Replicas, 0)
		}
		maxSpec = max(maxSpec, total)
		ro := get(ns, ro.Name)()
		g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
		g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
		g.Expect(ro.Status.UpdatedReplicas).To(Equal(int32(4)))
		g.Expect(ro.Status.Replicas).To(Equal(int32(4)))
	}).Should(Succeed())
	g.Expect(maxSpec).To(BeNumerically("<=", 5), "replicas + maxSurge")
}

// TestUndoReusesTheOldReplicaSet: `kubectl argo rollouts undo` copies an old
// ReplicaSet's template (as the API server defaulted it) into the Rollout;
// that ReplicaSet is scaled back up, no third one is created.
func TestUndoReusesTheOldReplicaSet(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ctx := context.Background()
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](2)
	ro.Spec.Strategy.Canary.Steps = nil
	g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	first := get(ns, ro.Name)().Status.CurrentPodHash

	live := get(ns, ro.Name)()
	live.Spec.Template.Spec.Containers[0].Image = "backend:v2"
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
	g.Eventually(func() string {
		if ro := get(ns, ro.Name)(); phase(ns, ro.Name)() == "Healthy" {
			return ro.Status.StableRS
		}
		return ""
	}).ShouldNot(Or(BeEmpty(), Equal(first)))

	// What undo does: the first ReplicaSet's template, hash label removed.
	rs := &appsv1.ReplicaSet{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: ro.Name + "-" + first}, rs)).To(Succeed())
	template := rs.Spec.Template.DeepCopy()
	delete(template.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	live = get(ns, ro.Name)()
	live.Spec.Template = *template
	g.Expect(k8sClient.Update(ctx, live)).To(Succeed())

	g.Eventually(func(g Gomega) {
		ro := get(ns, ro.Name)()
		g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
		g.Expect(ro.Status.CurrentPodHash).To(Equal(first))
		g.Expect(ro.Status.StableRS).To(Equal(first))
		var rsList appsv1.ReplicaSetList
		g.Expect(k8sClient.List(ctx, &rsList, client.InNamespace(ns))).To(Succeed())
		g.Expect(rsList.Items).To(HaveLen(2))
	}).Should(Succeed())
}
