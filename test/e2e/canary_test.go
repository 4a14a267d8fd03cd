package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// seedCanaryHash is the pod-template hash Argo Rollouts gives the canary seed.
const seedCanaryHash = "7c56df565d"

// podSampler records, over a test, the most pods that existed at once and
// the fewest that were ready (once the first full set was ready).
type podSampler struct {
	mu        sync.Mutex
	maxPods   int
	minReady  int
	readyFrom int
	cancel    context.CancelFunc
	done      chan struct{}
}

func (e *testEnv) samplePods(readyFrom int) *podSampler {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &podSampler{cancel: cancel, done: make(chan struct{}), minReady: -1, readyFrom: readyFrom}
	w, err := e.kube.CoreV1().Pods(e.ns).Watch(ctx, metav1.ListOptions{})
	e.g.Expect(err).NotTo(HaveOccurred())
	pods := map[string]*corev1.Pod{}
	go func() {
		defer close(s.done)
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(pods, pod.Name)
			} else {
				pods[pod.Name] = pod
			}
			total, ready := 0, 0
			for _, p := range pods {
				if p.DeletionTimestamp != nil {
					continue
				}
				total++
				for _, c := range p.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
			s.mu.Lock()
			s.maxPods = max(s.maxPods, total)
			if ready >= s.readyFrom && s.minReady < 0 {
				s.minReady = ready
			}
			if s.minReady >= 0 {
				s.minReady = min(s.minReady, ready)
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *podSampler) stop() (maxPods, minReady int) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxPods, s.minReady
}

func stepIndex(ro *v1alpha1.Rollout) int32 {
	if ro == nil {
		return -1
	}
	return ptr.Deref(ro.Status.CurrentStepIndex, -1)
}

// TestCanarySeed: the canary seed applied verbatim, a new build paused at
// 30% (3 new, 7 old), then promoted to 10 new, never more than 13 pods nor
// fewer than 10 ready.
func TestCanarySeed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	argoCD := e.watchArgoCD("backend-canary")
	e.applySeed("canary-rollout.yaml")
	g.Eventually(e.rollout("backend-canary")).Should(WithTransform(phaseOf, Equal("Healthy")))
	g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{seedCanaryHash: "10/10"}))

	sampler := e.samplePods(10)
	e.setImage("backend-canary", newBuild)
	var newHash string
	g.Eventually(func(g Gomega) {
		ro := e.rollout("backend-canary")()
		g.Expect(phaseOf(ro)).To(Equal("Paused"))
		g.Expect(ro.Status.Message).To(Equal("CanaryPauseStep"))
		g.Expect(stepIndex(ro)).To(Equal(int32(1)))
		newHash = ro.Status.CurrentPodHash
		g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{seedCanaryHash: "7/7", newHash: "3/3"}))
		g.Expect(ro.Status.Canary.ReplicaWeights).To(Equal(&v1alpha1.ReplicaWeights{SetWeight: 30, ActualWeight: 30}))
	}).Should(Succeed())

	e.promote("backend-canary")
	g.Eventually(func(g Gomega) {
		ro := e.rollout("backend-canary")()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		g.Expect(ro.Status.StableRS).To(Equal(newHash))
		g.Expect(stepIndex(ro)).To(Equal(int32(2)))
		g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{seedCanaryHash: "0/0", newHash: "10/10"}))
	}).Should(Succeed())

	maxPods, minReady := sampler.stop()
	g.Expect(maxPods).To(BeNumerically("<=", 13), "pods existing at once (maxSurge 30%)")
	g.Expect(minReady).To(BeNumerically(">=", 10), "ready pods (maxUnavailable 0)")

	if seen := argoCD.stop(); seen != nil {
		g.Expect(subsequence(seen, "Progressing", "Healthy", "Progressing", "Suspended: CanaryPauseStep", "Healthy")).To(BeTrue(), "Argo CD showed %q", seen)
	}
}

// seedCanary creates the canary seed, changed by mutate, and waits until
// it is Healthy.
func (e *testEnv) seedCanary(mutate func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
	e.t.Helper()
	ro := e.seedRollout("canary-rollout.yaml", mutate)
	e.g.Expect(e.client.Create(context.Background(), ro)).To(Succeed())
	e.g.Eventually(e.rollout(ro.Name)).Should(WithTransform(phaseOf, Equal("Healthy")))
	return ro
}

// seedRollout returns a seed's Rollout in the test's namespace, changed by
// mutate, not yet created.
func (e *testEnv) seedRollout(file string, mutate func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
	e.t.Helper()
	ro := &v1alpha1.Rollout{}
	e.readSeed(file, ro)
	ro.Namespace = e.ns
	mutate(ro)
	return ro
}

// readSeed decodes a seed manifest's first document, the Rollout.
func (e *testEnv) readSeed(file string, ro *v1alpha1.Rollout) {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "examples", file))
	e.g.Expect(err).NotTo(HaveOccurred())
	e.g.Expect(yaml.Unmarshal(data, ro)).To(Succeed())
}

// TestCanaryProgressDeadlineAbort: pods that never become ready hit the
// progress deadline; with progressDeadlineAbort the rollout returns to the
// full stable count.
func TestCanaryProgressDeadlineAbort(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	e.seedCanary(func(ro *v1alpha1.Rollout) {
		ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](8)
		ro.Spec.ProgressDeadlineAbort = true
	})
	argoCD := e.watchArgoCD("backend-canary")
	sampler := e.samplePods(10)
	e.setImage("backend-canary", "backend:unready")
	g.Eventually(func(g Gomega) {
		ro := e.rollout("backend-canary")()
		g.Expect(phaseOf(ro)).To(Equal("Degraded"))
		g.Expect(ro.Status.Abort).To(BeTrue())
		g.Expect(ro.Status.Message).To(And(ContainSubstring("RolloutAborted"), ContainSubstring("timed out progressing")))
		g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{seedCanaryHash: "10/10", ro.Status.CurrentPodHash: "0/0"}))
	}).Should(Succeed())
	_, minReady := sampler.stop()
	g.Expect(minReady).To(BeNumerically(">=", 10))
	if seen := argoCD.stop(); seen != nil {
		g.Expect(subsequence(seen, "Healthy", "Progressing", "Degraded: RolloutAborted")).To(BeTrue(), "Argo CD showed %q", seen)
	}
}

// TestCanaryAbortRetryAndNewImage: abort and retry a paused canary, then push
// another build mid-canary, which restarts the steps; revert to stable is
// a fast rollback.
func TestCanaryAbortRetryAndNewImage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	e.seedCanary(func(*v1alpha1.Rollout) {})
	argoCD := e.watchArgoCD("backend-canary")
	pausedAt30 := func(hash *string) func(g Gomega) {
		return func(g Gomega) {
			ro := e.rollout("backend-canary")()
			g.Expect(phaseOf(ro)).To(Equal("Paused"))
			g.Expect(stepIndex(ro)).To(Equal(int32(1)))
			*hash = ro.Status.CurrentPodHash
			g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(*hash, "3/3"))
			g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(seedCanaryHash, "7/7"))
		}
	}
	var first string
	e.setImage("backend-canary", newBuild)
	g.Eventually(pausedAt30(&first)).Should(Succeed())

	e.mustKubectl("patch", "rollout", "backend-canary", "--subresource=status", "--type=merge", "-p", `{"status":{"abort":true}}`)
	g.Eventually(func(g Gomega) {
		ro := e.rollout("backend-canary")()
		g.Expect(phaseOf(ro)).To(Equal("Degraded"))
		g.Expect(ro.Status.Message).To(HavePrefix("RolloutAborted: Rollout aborted update to revision 2"))
		g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{seedCanaryHash: "10/10", first: "0/0"}))
	}).Should(Succeed())

	e.mustKubectl("patch", "rollout", "backend-canary", "--subresource=status", "--type=merge", "-p", `{"status":{"abort":false}}`)
	g.Eventually(pausedAt30(&first)).Should(Succeed())

	// Another build mid-canary: the steps start over for it.
	var second string
	e.setImage("backend-canary", seedImage+"@sha256:2222222222222222222222222222222222222222222222222222222222222222")
	g.Eventually(pausedAt30(&second)).Should(Succeed())
	g.Expect(second).NotTo(Equal(first))
	g.Eventually(e.replicaSetCounts).Should(HaveKeyWithValue(first, "0/0"))

	// Back to the stable template: Healthy at once, no new pods.
	e.setImage("backend-canary", seedImage)
	g.Eventually(func(g Gomega) {
		ro := e.rollout("backend-canary")()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		g.Expect(ro.Status.CurrentPodHash).To(Equal(seedCanaryHash))
		g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{seedCanaryHash: "10/10", first: "0/0", second: "0/0"}))
	}).Should(Succeed())
	if seen := argoCD.stop(); seen != nil {
		g.Expect(subsequence(seen, "Healthy", "Progressing", "Suspended: CanaryPauseStep", "Degraded: RolloutAborted",
			"Suspended: CanaryPauseStep", "Progressing", "Suspended: CanaryPauseStep", "Healthy")).To(BeTrue(), "Argo CD showed %q", seen)
	}
}
