package rollout_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/test/history"
	"github.com/switchyard-dev/switchyard/test/invariant"
)

// TestCanaryStableServiceNeverEmpty: a basic canary's stableService keeps a
// ready endpoint through a whole update, including the end, when the stable
// ReplicaSet goes to zero: it is handed to the new pods first (found by the
// chaos harness: it was empty from the stable ReplicaSet's scale-down to
// the promotion, up to 1.4s, on every update). Every committed state of the
// namespace is checked, with maxSurge 0 (the stable must empty before the
// canary is full), with maxUnavailable 0, and with both at 1.
func TestCanaryStableServiceNeverEmpty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		replicas                 int32
		maxSurge, maxUnavailable int32
		steps                    []v1alpha1.CanaryStep
	}{
		{5, 0, 2, []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](40)}, {Pause: &v1alpha1.RolloutPause{}}}},
		{3, 1, 0, nil},
		{4, 1, 1, []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](25)}, {Pause: &v1alpha1.RolloutPause{}}}},
	} {
		t.Run(fmt.Sprintf("replicas %d maxSurge %d maxUnavailable %d steps %d", tc.replicas, tc.maxSurge, tc.maxUnavailable, len(tc.steps)), func(t *testing.T) {
			t.Parallel()
			ns, g := newNamespace(t)
			ctx := context.Background()
			for _, name := range []string{"backend-stable", "backend-canary-svc"} {
				g.Expect(k8sClient.Create(ctx, service(ns, name, "backend-canary"))).To(Succeed())
			}
			ro := seed(t, g, "canary-rollout.yaml", ns)
			ro.Spec.Replicas = ptr.To(tc.replicas)
			c := ro.Spec.Strategy.Canary
			c.StableService, c.CanaryService = "backend-stable", "backend-canary-svc"
			c.MaxSurge, c.MaxUnavailable = ptr.To(intstr.FromInt32(tc.maxSurge)), ptr.To(intstr.FromInt32(tc.maxUnavailable))
			c.Steps = tc.steps
			g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
			g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))

			scheme, err := manager.Scheme()
			g.Expect(err).NotTo(HaveOccurred())
			watcher, err := client.NewWithWatch(env.RESTConfig, client.Options{Scheme: scheme})
			g.Expect(err).NotTo(HaveOccurred())
			rec := history.New(ctx)
			defer rec.Stop()
			for _, src := range invariant.Sources(watcher, ns) {
				g.Expect(rec.Record(ctx, src)).To(Succeed())
			}

			for i, image := range []string{"backend:v2", "backend:v3"} {
				setImage(g, ns, ro.Name, image)
				if len(tc.steps) > 0 {
					g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
					promote(g, ns, ro.Name)
				}
				g.Eventually(func(g Gomega) {
					live := get(ns, ro.Name)()
					g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
					g.Expect(live.Status.StableRS).To(Equal(live.Status.CurrentPodHash))
					g.Expect(live.Spec.Template.Spec.Containers[0].Image).To(Equal(image))
					g.Expect(selects(ns, "backend-stable")()).To(Equal(live.Status.StableRS))
				}).Should(Succeed(), "update %d", i+1)
			}

			cutoff, err := rec.Settle(ctx, time.Minute)
			g.Expect(err).NotTo(HaveOccurred())
			checker := invariant.NewChecker()
			rec.Replay(cutoff, checker.Visit)
			g.Expect(checker.Violations()).To(BeEmpty())
			g.Expect(checker.States).To(BeNumerically(">", 20))
		})
	}
}
