package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// One scenario per Rollout field that needs neither a traffic router nor
// analysis: workloadRef (each scaleDown), ephemeral metadata, anti-affinity,
// rollbackWindow, --instance-id, and a new revision over a failing one.

// podsByHash lists the test's pods by pod-template hash: name -> pod.
func (e *testEnv) podsByHash() map[string]map[string]corev1.Pod {
	pods, err := e.kube.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{})
	e.g.Expect(err).NotTo(HaveOccurred())
	out := map[string]map[string]corev1.Pod{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		h := p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		if out[h] == nil {
			out[h] = map[string]corev1.Pod{}
		}
		out[h][p.Name] = p
	}
	return out
}

func (e *testEnv) patchRollout(name, patchType, patch string) {
	e.t.Helper()
	e.mustKubectl("patch", "rollout", name, "--type="+patchType, "-p", patch)
}

func smallCanary(replicas int32, steps ...v1alpha1.CanaryStep) func(*v1alpha1.Rollout) {
	return func(ro *v1alpha1.Rollout) {
		ro.Spec.Replicas = ptr.To(replicas)
		ro.Spec.Strategy.Canary.Steps = steps
	}
}

var fiftyThenPause = []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}, {Pause: &v1alpha1.RolloutPause{}}}

// TestWorkloadRef: a Rollout takes its template from a running Deployment
// and scales it down as each scaleDown mode says, never leaving fewer
// ready pods than desired; editing the Deployment's template starts a new
// revision.
func TestWorkloadRef(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{v1alpha1.ScaleDownNever, v1alpha1.ScaleDownOnSuccess, v1alpha1.ScaleDownProgressively} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			g, ctx := e.g, context.Background()
			labels := map[string]string{"app": "backend"}
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: e.ns},
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](2),
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "backend", Image: "backend:v1"}}},
					},
				},
			}
			g.Expect(e.client.Create(ctx, d)).To(Succeed())
			g.Eventually(func() int32 {
				live := &appsv1.Deployment{}
				_ = e.client.Get(ctx, client.ObjectKeyFromObject(d), live)
				return live.Status.AvailableReplicas
			}).Should(Equal(int32(2)))

			sampler := e.samplePods(2)
			argoCD := e.watchArgoCD("backend")
			ro := &v1alpha1.Rollout{
				ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: e.ns},
				Spec: v1alpha1.RolloutSpec{
					Replicas:    ptr.To[int32](2),
					WorkloadRef: &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "backend", ScaleDown: mode},
					Strategy:    v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}},
				},
			}
			g.Expect(e.client.Create(ctx, ro)).To(Succeed())
			wantDeployment := map[string]int32{v1alpha1.ScaleDownNever: 2, v1alpha1.ScaleDownOnSuccess: 0, v1alpha1.ScaleDownProgressively: 0}[mode]
			g.Eventually(func(g Gomega) {
				ro := e.rollout("backend")()
				g.Expect(phaseOf(ro)).To(Equal("Healthy"))
				g.Expect(ro.Status.AvailableReplicas).To(Equal(int32(2)))
				live := &appsv1.Deployment{}
				g.Expect(e.client.Get(ctx, client.ObjectKeyFromObject(d), live)).To(Succeed())
				g.Expect(ptr.Deref(live.Spec.Replicas, 1)).To(Equal(wantDeployment))
				gen := strconv.FormatInt(live.Generation, 10)
				g.Expect(ro.Status.WorkloadObservedGeneration).To(Equal(gen))
				g.Expect(ro.Annotations).To(HaveKeyWithValue(v1alpha1.WorkloadGenerationAnnotation, gen))
				g.Expect(ro.Spec.Template.Spec.Containers).To(BeEmpty(), "the template is never written back")
			}).Should(Succeed())
			_, minReady := sampler.stop()
			g.Expect(minReady).To(BeNumerically(">=", 2), "ready pods, the Deployment's and the Rollout's, never below 2")

			// A new template in the Deployment is a new revision.
			first := e.rollout("backend")().Status.CurrentPodHash
			e.mustKubectl("set", "image", "deployment/backend", "backend=backend:v2")
			g.Eventually(func(g Gomega) {
				ro := e.rollout("backend")()
				g.Expect(ro.Status.CurrentPodHash).NotTo(Equal(first))
				g.Expect(phaseOf(ro)).To(Equal("Healthy"))
				g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
			}).Should(Succeed())
			if seen := argoCD.stop(); seen != nil {
				g.Expect(subsequence(seen, "Progressing", "Healthy", "Progressing", "Healthy")).To(BeTrue(), "Argo CD showed %q", seen)
			}
		})
	}
}

// TestEphemeralMetadata: canary/stable and preview/active labels and
// annotations follow each revision's role, on the ReplicaSets and on the
// running pods, which keep running (same UIDs) as their role changes.
func TestEphemeralMetadata(t *testing.T) {
	t.Parallel()
	t.Run("canary", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		g := e.g
		e.seedCanary(func(ro *v1alpha1.Rollout) {
			smallCanary(4, fiftyThenPause...)(ro)
			ro.Spec.Strategy.Canary.CanaryMetadata = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}, Annotations: map[string]string{"note": "under test"}}
			ro.Spec.Strategy.Canary.StableMetadata = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "stable"}}
		})
		for _, p := range e.podsByHash()[seedCanaryHash] {
			g.Expect(p.Labels).To(HaveKeyWithValue("role", "stable"))
		}
		e.setImage("backend-canary", "backend:v2")
		var canaryPods map[string]corev1.Pod
		g.Eventually(func(g Gomega) {
			ro := e.rollout("backend-canary")()
			g.Expect(phaseOf(ro)).To(Equal("Paused"))
			byHash := e.podsByHash()
			canaryPods = byHash[ro.Status.CurrentPodHash]
			g.Expect(canaryPods).To(HaveLen(2))
			for _, p := range canaryPods {
				g.Expect(p.Labels).To(HaveKeyWithValue("role", "canary"))
				g.Expect(p.Annotations).To(HaveKeyWithValue("note", "under test"))
			}
			for _, p := range byHash[seedCanaryHash] {
				g.Expect(p.Labels).To(HaveKeyWithValue("role", "stable"))
			}
		}).Should(Succeed())
		e.promote("backend-canary")
		g.Eventually(func(g Gomega) {
			ro := e.rollout("backend-canary")()
			g.Expect(phaseOf(ro)).To(Equal("Healthy"))
			pods := e.podsByHash()[ro.Status.CurrentPodHash]
			g.Expect(pods).To(HaveLen(4))
			for name := range canaryPods {
				p, ok := pods[name]
				g.Expect(ok).To(BeTrue(), "canary pod %s kept running", name)
				g.Expect(p.UID).To(Equal(canaryPods[name].UID))
			}
			for _, p := range pods {
				g.Expect(p.Labels).To(HaveKeyWithValue("role", "stable"))
				g.Expect(p.Annotations).NotTo(HaveKey("note"))
			}
		}).Should(Succeed())
	})
	t.Run("blue-green", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		g := e.g
		e.applySeed("bluegreen-rollout.yaml")
		g.Eventually(e.rollout("backend-bluegreen")).Should(WithTransform(phaseOf, Equal("Healthy")))
		e.patchRollout("backend-bluegreen", "merge", `{"spec":{"strategy":{"blueGreen":{"previewMetadata":{"labels":{"role":"preview"}},"activeMetadata":{"labels":{"role":"active"}}}}}}`)
		g.Eventually(func(g Gomega) {
			for _, p := range e.podsByHash()[seedBlueGreenHash] {
				g.Expect(p.Labels).To(HaveKeyWithValue("role", "active"), "the running stable pod gets the active role in place")
			}
		}).Should(Succeed())
		e.setImage("backend-bluegreen", "backend:v2")
		var preview corev1.Pod
		g.Eventually(func(g Gomega) {
			ro := e.rollout("backend-bluegreen")()
			g.Expect(phaseOf(ro)).To(Equal("Paused"))
			pods := e.podsByHash()[ro.Status.CurrentPodHash]
			g.Expect(pods).To(HaveLen(1))
			for _, p := range pods {
				preview = p
			}
			g.Expect(preview.Labels).To(HaveKeyWithValue("role", "preview"))
		}).Should(Succeed())
		e.promote("backend-bluegreen")
		g.Eventually(func(g Gomega) {
			ro := e.rollout("backend-bluegreen")()
			g.Expect(phaseOf(ro)).To(Equal("Healthy"))
			p, ok := e.podsByHash()[ro.Status.CurrentPodHash][preview.Name]
			g.Expect(ok).To(BeTrue())
			g.Expect(p.UID).To(Equal(preview.UID), "promoted in place, not restarted")
			g.Expect(p.Labels).To(HaveKeyWithValue("role", "active"))
		}).Should(Succeed())
	})
}

// TestAntiAffinity: the new revision's pods avoid the nodes that run the
// stable revision's.
func TestAntiAffinity(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	e.seedCanary(func(ro *v1alpha1.Rollout) {
		smallCanary(2, fiftyThenPause...)(ro)
		ro.Spec.Strategy.Canary.AntiAffinity = &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}
	})
	e.setImage("backend-canary", "backend:v2")
	g.Eventually(func(g Gomega) {
		ro := e.rollout("backend-canary")()
		g.Expect(phaseOf(ro)).To(Equal("Paused"))
		rs := &appsv1.ReplicaSet{}
		g.Expect(e.client.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: "backend-canary-" + ro.Status.CurrentPodHash}, rs)).To(Succeed())
		terms := rs.Spec.Template.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		g.Expect(terms).To(ContainElement(HaveField("LabelSelector.MatchExpressions", ContainElement(
			HaveField("Values", Equal([]string{seedCanaryHash}))))))
		byHash := e.podsByHash()
		stableNodes := map[string]bool{}
		for _, p := range byHash[seedCanaryHash] {
			stableNodes[p.Spec.NodeName] = true
		}
		g.Expect(byHash[ro.Status.CurrentPodHash]).To(HaveLen(1))
		for _, p := range byHash[ro.Status.CurrentPodHash] {
			g.Expect(p.Spec.NodeName).NotTo(BeEmpty())
			g.Expect(stableNodes).NotTo(HaveKey(p.Spec.NodeName), "canary pod on a stable pod's node")
		}
	}).Should(Succeed())
}

// TestRollbackWindow: going back to the previous revision within
// rollbackWindow skips the steps (no pause); going back further does not.
func TestRollbackWindow(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	e.seedCanary(func(ro *v1alpha1.Rollout) {
		smallCanary(2, fiftyThenPause...)(ro)
		ro.Spec.RollbackWindow = &v1alpha1.RollbackWindowSpec{Revisions: 1}
	})
	release := func(image string) {
		e.setImage("backend-canary", image)
		g.Eventually(e.rollout("backend-canary")).Should(WithTransform(phaseOf, Equal("Paused")))
		e.promote("backend-canary")
		g.Eventually(e.rollout("backend-canary")).Should(WithTransform(phaseOf, Equal("Healthy")))
	}
	release("backend:v2")
	original := e.seedImage("canary-rollout.yaml")

	// Back to revision 1 from revision 2: within the window.
	phases := e.watchPhases("backend-canary")
	e.setImage("backend-canary", original)
	g.Eventually(func(g Gomega) {
		ro := e.rollout("backend-canary")()
		g.Expect(ro.Status.CurrentPodHash).To(Equal(seedCanaryHash))
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		g.Expect(ro.Status.CurrentStepIndex).To(Equal(ptr.To[int32](2)))
	}).Should(Succeed())
	g.Expect(phases.stop()).NotTo(ContainElement("Paused"), "a rollback within the window skips the steps")

	// v3, v4, then back to v2: v3's ReplicaSet was created in between, and
	// the window is 1 revision, so the steps run again.
	release("backend:v3")
	release("backend:v4")
	e.setImage("backend-canary", "backend:v2")
	g.Eventually(e.rollout("backend-canary")).Should(WithTransform(phaseOf, Equal("Paused")))
}

// seedImage is the image a seed manifest names.
func (e *testEnv) seedImage(file string) string {
	ro := &v1alpha1.Rollout{}
	e.readSeed(file, ro)
	return ro.Spec.Template.Spec.Containers[0].Image
}

// phaseWatcher records every phase a Rollout reports.
type phaseWatcher struct {
	stop func() []string
}

func (e *testEnv) watchPhases(name string) phaseWatcher {
	done := make(chan struct{})
	result := make(chan []string, 1)
	go func() {
		var seen []string
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				result <- seen
				return
			case <-tick.C:
				if p := phaseOf(e.rollout(name)()); p != "" && (len(seen) == 0 || seen[len(seen)-1] != p) {
					seen = append(seen, p)
				}
			}
		}
	}()
	return phaseWatcher{stop: func() []string { close(done); return <-result }}
}

// TestInstanceID: a controller started with --instance-id serves only the
// Rollouts labelled with it; one without serves only unlabelled ones.
func TestInstanceID(t *testing.T) {
	t.Parallel()
	e := newBareTestEnv(t)
	g := e.g
	ctx := context.Background()
	plain := e.seedRollout("canary-rollout.yaml", func(ro *v1alpha1.Rollout) {
		ro.Name = "plain"
		smallCanary(1)(ro)
	})
	labelled := e.seedRollout("canary-rollout.yaml", func(ro *v1alpha1.Rollout) {
		ro.Name = "labelled"
		ro.Labels = map[string]string{v1alpha1.LabelKeyControllerInstanceID: "alpha"}
		ro.Spec.Selector.MatchLabels["app"] = "labelled"
		ro.Spec.Template.Labels["app"] = "labelled"
		smallCanary(1)(ro)
	})
	for _, ro := range []*v1alpha1.Rollout{plain, labelled} {
		g.Expect(e.client.Create(ctx, ro)).To(Succeed())
	}
	e.controller = e.startControllerAs(env.Kubeconfig, "--instance-id=alpha")
	g.Eventually(e.rollout("labelled")).Should(WithTransform(phaseOf, Equal("Healthy")))
	g.Consistently(func() string { return string(e.rollout("plain")().Status.Phase) }, 3*time.Second).Should(BeEmpty(),
		"the alpha controller leaves unlabelled Rollouts alone")

	other := e.startController()
	t.Cleanup(other.stop)
	g.Eventually(e.rollout("plain")).Should(WithTransform(phaseOf, Equal("Healthy")))
}

// TestNewRevisionOverFailingOne: a revision whose pods never become ready,
// replaced by another, is scaled away at once instead of piling up pods.
func TestNewRevisionOverFailingOne(t *testing.T) {
	t.Parallel()
	t.Run("canary", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		g := e.g
		e.seedCanary(smallCanary(4, fiftyThenPause...))
		sampler := e.samplePods(4)
		e.setImage("backend-canary", "backend:unready")
		var failing string
		g.Eventually(func(g Gomega) {
			ro := e.rollout("backend-canary")()
			failing = ro.Status.CurrentPodHash
			g.Expect(failing).NotTo(Equal(seedCanaryHash))
			g.Expect(e.podsByHash()[failing]).NotTo(BeEmpty())
		}).Should(Succeed())
		e.setImage("backend-canary", "backend:v3")
		g.Eventually(func(g Gomega) {
			ro := e.rollout("backend-canary")()
			g.Expect(phaseOf(ro)).To(Equal("Paused"))
			g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{seedCanaryHash: "2/2", failing: "0/0", ro.Status.CurrentPodHash: "2/2"}))
		}).Should(Succeed())
		maxPods, minReady := sampler.stop()
		g.Expect(maxPods).To(BeNumerically("<=", 6), "replicas + the seed's maxSurge (30% of 4, rounded up: 2)")
		g.Expect(minReady).To(BeNumerically(">=", 4), "the seed's maxUnavailable is 0")
	})
	t.Run("blue-green", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		g := e.g
		e.applySeed("bluegreen-rollout.yaml")
		g.Eventually(e.rollout("backend-bluegreen")).Should(WithTransform(phaseOf, Equal("Healthy")))
		sampler := e.samplePods(1)
		e.setImage("backend-bluegreen", "backend:unready")
		var failing string
		g.Eventually(func(g Gomega) {
			failing = e.rollout("backend-bluegreen")().Status.CurrentPodHash
			g.Expect(failing).NotTo(Equal(seedBlueGreenHash))
			g.Expect(e.podsByHash()[failing]).To(HaveLen(1))
		}).Should(Succeed())
		e.setImage("backend-bluegreen", "backend:v3")
		g.Eventually(func(g Gomega) {
			ro := e.rollout("backend-bluegreen")()
			g.Expect(phaseOf(ro)).To(Equal("Paused"))
			g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{seedBlueGreenHash: "1/1", failing: "0/0", ro.Status.CurrentPodHash: "1/1"}))
		}).Should(Succeed())
		maxPods, minReady := sampler.stop()
		g.Expect(maxPods).To(BeNumerically("<=", 3), "the stable, the failing preview on its way out, the new preview")
		g.Expect(minReady).To(BeNumerically(">=", 1))
	})
}
