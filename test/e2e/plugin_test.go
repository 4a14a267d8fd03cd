package e2e

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// pluginResult is one `kubectl argo rollouts` invocation.
type pluginResult struct {
	out  string
	code int
}

// rollouts runs `kubectl argo rollouts ARGS` in the test's namespace:
// kubectl finds our kubectl-argo-rollouts first on the PATH. kubectl
// refuses flags before a plugin's name, so the kubeconfig and namespace
// flags go after the plugin's arguments (e.kubectl puts them first).
func (e *testEnv) rollouts(args ...string) pluginResult {
	e.t.Helper()
	args = append(append([]string{"argo", "rollouts"}, args...), "--kubeconfig="+env.Kubeconfig, "-n", e.ns)
	out, err := exec.Command("kubectl", args...).CombinedOutput()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run kubectl %s: %v", strings.Join(args, " "), err)
	}
	e.t.Logf("kubectl %s (exit %d):\n%s", strings.Join(args, " "), code, out)
	return pluginResult{out: string(out), code: code}
}

// mustRollouts runs the plugin and expects it to succeed.
func (e *testEnv) mustRollouts(args ...string) string {
	e.t.Helper()
	r := e.rollouts(args...)
	e.g.Expect(r.code).To(Equal(0), "kubectl argo rollouts %s:\n%s", strings.Join(args, " "), r.out)
	return r.out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestPluginBlueGreen drives the blue-green seed through a release with the
// plugin only, as an operator would: set image, wait for the pause, look,
// promote, wait for Healthy.
func TestPluginBlueGreen(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	e.applySeed("bluegreen-rollout.yaml")
	g.Expect(lastLine(e.mustRollouts("status", "backend-bluegreen", "--timeout", "2m"))).To(Equal("Healthy"))

	g.Expect(e.mustRollouts("set", "image", "backend-bluegreen", "backend-bluegreen="+newBuild)).
		To(Equal("rollout \"backend-bluegreen\" image updated\n"))

	// The pipeline stops at the pause and hands over to a person.
	g.Expect(lastLine(e.mustRollouts("status", "backend-bluegreen", "--until", "paused", "--timeout", "2m"))).
		To(Equal("Paused - BlueGreenPause"))
	newHash := e.rollout("backend-bluegreen")().Status.CurrentPodHash
	g.Expect(newHash).NotTo(Equal(seedBlueGreenHash))

	out := e.mustRollouts("get", "rollout", "backend-bluegreen", "--no-color")
	g.Expect(out).To(ContainSubstring("Status:          ॥ Paused\nMessage:         BlueGreenPause\nStrategy:        BlueGreen\n"))
	g.Expect(out).To(ContainSubstring(newBuild + " (preview)"))
	g.Expect(out).To(ContainSubstring(seedImage + " (active, stable)"))
	g.Expect(out).To(MatchRegexp(`⧉ backend-bluegreen-` + newHash + ` +ReplicaSet +✔ Healthy +\S+ +preview\n`))
	g.Expect(out).To(MatchRegexp(`⧉ backend-bluegreen-` + seedBlueGreenHash + ` +ReplicaSet +✔ Healthy +\S+ +stable,active\n`))
	g.Expect(out).To(MatchRegexp(`□ backend-bluegreen-` + newHash + `-\S+ +Pod +✔ Running +\S+ +ready:1/1\n`))

	g.Expect(e.mustRollouts("list", "rollouts")).To(MatchRegexp(`(?m)^backend-bluegreen +BlueGreen +Paused +- +- +\d+/\d+ +1 `))

	g.Expect(e.mustRollouts("promote", "backend-bluegreen")).To(Equal("rollout 'backend-bluegreen' promoted\n"))
	g.Expect(lastLine(e.mustRollouts("status", "backend-bluegreen", "--timeout", "2m"))).To(Equal("Healthy"))
	ro := e.rollout("backend-bluegreen")()
	g.Expect(ro.Status.StableRS).To(Equal(newHash))
	g.Expect(selector(e.service("backend-active")())).To(Equal(newHash))

	out = e.mustRollouts("get", "rollout", "backend-bluegreen", "--no-color")
	g.Expect(out).To(ContainSubstring("Status:          ✔ Healthy\n"))
	g.Expect(out).To(MatchRegexp(`⧉ backend-bluegreen-` + newHash + ` +ReplicaSet +✔ Healthy +\S+ +stable,active\n`))

	// Nothing is paused any more: a second promote succeeds and does
	// nothing, as with Argo's plugin; --strict makes it a visible mistake.
	g.Expect(e.mustRollouts("promote", "backend-bluegreen")).To(Equal("rollout 'backend-bluegreen' promoted\n"))
	r := e.rollouts("promote", "backend-bluegreen", "--strict")
	g.Expect(r.code).To(Equal(1))
	g.Expect(r.out).To(Equal("Error: rollout 'backend-bluegreen' is not paused: nothing to promote\n"))
}

// TestPluginCanary drives the canary seed: set image, the rollout pauses at
// step 1 with 3 new and 7 old pods, promote, Healthy with 10 new pods.
func TestPluginCanary(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	e.applySeed("canary-rollout.yaml")
	g.Expect(lastLine(e.mustRollouts("status", "backend-canary", "--timeout", "2m"))).To(Equal("Healthy"))
	seedHash := e.rollout("backend-canary")().Status.StableRS
	g.Expect(seedHash).NotTo(BeEmpty())

	g.Expect(e.mustRollouts("set", "image", "backend-canary", "backend-canary="+newBuild)).
		To(Equal("rollout \"backend-canary\" image updated\n"))
	g.Expect(lastLine(e.mustRollouts("status", "backend-canary", "--until", "paused", "--timeout", "3m"))).
		To(Equal("Paused - CanaryPauseStep"))
	ro := e.rollout("backend-canary")()
	newHash := ro.Status.CurrentPodHash
	g.Expect(newHash).NotTo(Equal(seedHash))
	g.Expect(ro.Status.PauseConditions).To(ConsistOf(HaveField("Reason", v1alpha1.PauseReasonCanaryPauseStep)))
	g.Eventually(e.replicaSetCounts).Should(Equal(map[string]string{newHash: "3/3", seedHash: "7/7"}))

	out := e.mustRollouts("get", "rollout", "backend-canary", "--no-color")
	g.Expect(out).To(ContainSubstring("Status:          ॥ Paused\nMessage:         CanaryPauseStep\nStrategy:        Canary\n  Step:          1/2\n  SetWeight:     30\n  ActualWeight:  30\n"))
	g.Expect(out).To(ContainSubstring(newBuild + " (canary)"))
	g.Expect(out).To(ContainSubstring(seedImage + " (stable)"))

	g.Expect(e.mustRollouts("promote", "backend-canary")).To(Equal("rollout 'backend-canary' promoted\n"))
	g.Expect(lastLine(e.mustRollouts("status", "backend-canary", "--timeout", "3m"))).To(Equal("Healthy"))
	g.Eventually(e.replicaSetCounts).Should(Equal(map[string]string{newHash: "10/10", seedHash: "0/0"}))

	out = e.mustRollouts("get", "rollout", "backend-canary", "--no-color")
	g.Expect(out).To(ContainSubstring("Status:          ✔ Healthy\nStrategy:        Canary\n  Step:          2/2\n  SetWeight:     100\n  ActualWeight:  100\n"))
	g.Expect(out).To(ContainSubstring(newBuild + " (stable)\n"))
}
