package e2e

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

const (
	seedImage = "XXXXXXXXXXXX.dkr.ecr.{AWS-REGION}.amazonaws.com/backend:latest"
	// newBuild is the seed's image pinned to a new digest, as the image
	// updater writes it.
	newBuild = seedImage + "@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	// seedBlueGreenHash is the pod-template hash Argo Rollouts gives the
	// blue-green seed: the first ReplicaSet has the same name under both.
	seedBlueGreenHash = "75d5d67b94"
)

func selector(svc *corev1.Service) string {
	if svc == nil {
		return ""
	}
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
}

// TestBlueGreenSeed walks the blue-green seed through a release, killing the
// controller while paused and while switching, and checks that the active
// Service never lacks a ready endpoint.
func TestBlueGreenSeed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	argoCD := e.watchArgoCD("backend-bluegreen")
	e.applySeed("bluegreen-rollout.yaml")

	// The first version goes live without a pause.
	g.Eventually(e.rollout("backend-bluegreen")).Should(WithTransform(phaseOf, Equal("Healthy")))
	g.Expect(e.service("backend-active")()).To(WithTransform(selector, Equal(seedBlueGreenHash)))
	g.Expect(e.service("backend-preview")()).To(WithTransform(selector, Equal(seedBlueGreenHash)))
	g.Expect(e.service("backend-active")().Annotations).To(HaveKeyWithValue(v1alpha1.ManagedByRolloutsKey, "backend-bluegreen"))
	g.Expect(e.replicaSets()).To(ConsistOf(HaveField("Name", "backend-bluegreen-"+seedBlueGreenHash)))

	active := e.watchEndpoints("backend-active")
	g.Eventually(active.hasStarted).Should(BeTrue())
	switches := e.watchSelector("backend-active")

	// A new build: the preview gets it, production stays, the rollout pauses.
	e.setImage("backend-bluegreen", newBuild)
	var newHash string
	g.Eventually(func(g Gomega) {
		ro := e.rollout("backend-bluegreen")()
		g.Expect(phaseOf(ro)).To(Equal("Paused"))
		g.Expect(ro.Status.Message).To(Equal("BlueGreenPause"))
		g.Expect(ro.Status.PauseConditions).To(ConsistOf(HaveField("Reason", v1alpha1.PauseReasonBlueGreenPause)))
		newHash = ro.Status.CurrentPodHash
		g.Expect(newHash).NotTo(Equal(seedBlueGreenHash))
		g.Expect(ro.Status.StableRS).To(Equal(seedBlueGreenHash))
		g.Expect(selector(e.service("backend-preview")())).To(Equal(newHash))
		g.Expect(selector(e.service("backend-active")())).To(Equal(seedBlueGreenHash))
		g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{seedBlueGreenHash: "1/1", newHash: "1/1"}))
	}).Should(Succeed())

	// A crash while paused changes nothing.
	e.restartController()
	g.Consistently(func(g Gomega) {
		ro := e.rollout("backend-bluegreen")()
		g.Expect(ro.Status.Phase).To(Equal(v1alpha1.RolloutPhasePaused))
		g.Expect(selector(e.service("backend-active")())).To(Equal(seedBlueGreenHash))
		g.Expect(e.replicaSets()).To(HaveLen(2))
	}, 3*time.Second).Should(Succeed())

	// Promote, and crash right away: the switch happens (once) after restart.
	e.promote("backend-bluegreen")
	e.restartController()
	g.Eventually(func(g Gomega) {
		ro := e.rollout("backend-bluegreen")()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		g.Expect(ro.Status.StableRS).To(Equal(newHash))
		g.Expect(ro.Status.BlueGreen.ActiveSelector).To(Equal(newHash))
		g.Expect(selector(e.service("backend-active")())).To(Equal(newHash))
	}).Should(Succeed())

	// The old pods stay for the scale-down delay (30 s by default), then go.
	g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(seedBlueGreenHash, "1/1"))
	g.Eventually(e.replicaSetCounts, time.Minute).Should(Equal(map[string]string{seedBlueGreenHash: "0/0", newHash: "1/1"}))
	g.Expect(e.replicaSets()).To(HaveLen(2))

	g.Expect(active.stop()).To(BeEmpty(), "moments the active Service had no ready endpoint")
	g.Expect(switches.stop()).To(Equal([]string{seedBlueGreenHash, newHash}), "the active Service switches once, despite two controller kills")
	if seen := argoCD.stop(); seen != nil {
		g.Expect(subsequence(seen, "Progressing", "Healthy", "Progressing", "Suspended: BlueGreenPause", "Healthy")).To(BeTrue(), "Argo CD showed %q", seen)
	}
}
