package e2e

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/argocd"
	"github.com/switchyard-dev/switchyard/test/tools"
)

var rolloutsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// argoCDShows is the health Argo CD shows for a Rollout phase.
var argoCDShows = map[v1alpha1.RolloutPhase]string{
	v1alpha1.RolloutPhaseHealthy:     argocd.Healthy,
	v1alpha1.RolloutPhaseProgressing: argocd.Progressing,
	v1alpha1.RolloutPhasePaused:      argocd.Suspended,
	v1alpha1.RolloutPhaseDegraded:    argocd.Degraded,
}

// argoCDWatch records every version of one Rollout the API server serves
// while a scenario runs, to run Argo CD's own health check for Rollouts
// (its health.lua, from its module) on each.
type argoCDWatch struct {
	e    *testEnv
	name string
	m    *argocd.Module
	tl   *timeline
}

// watchArgoCD starts recording the Rollout name. Without Argo CD's module
// (no Go module proxy) nothing is checked: the test says so in its log,
// and fails where tools are required (CI).
func (e *testEnv) watchArgoCD(name string) *argoCDWatch {
	e.t.Helper()
	m, err := argocd.Open(root)
	if err != nil {
		if tools.Required() {
			tools.Missing(e.t, "Argo CD's health check for Rollouts: %v", err)
		}
		e.t.Logf("not checking Argo CD's health of Rollout %s: %v", name, err)
		return &argoCDWatch{e: e, name: name}
	}
	return &argoCDWatch{e: e, name: name, m: m, tl: e.recordTimeline(rolloutsGVR)}
}

// stop ends the recording and checks that Argo CD shows, for every version
// of the Rollout, what its status says: the health of its phase (Paused is
// Suspended) with its message, once the controller has observed the spec
// (status.observedGeneration); Progressing before. Argo CD may also show
// Progressing while it waits for the controller to observe a workloadRef's
// generation. It returns the healths Argo CD showed, in order, each once
// per run of equal healths ("Healthy" then "Progressing: <message>").
func (w *argoCDWatch) stop() []string {
	w.e.t.Helper()
	if w.m == nil {
		return nil
	}
	var seen []string
	w.tl.stop(w.e.g, func(st state, c *change) {
		if c != nil && (c.gvr != rolloutsGVR || c.obj.GetName() != w.name) {
			return
		}
		obj := st.get(rolloutsGVR, w.name)
		if obj == nil {
			return
		}
		health, message, err := w.m.Health("argoproj.io", "Rollout", obj)
		w.e.g.Expect(err).NotTo(HaveOccurred())
		if problem := disagreement(obj, health, message); problem != "" {
			w.e.t.Errorf("Rollout %s at resourceVersion %s: %s", w.name, obj.GetResourceVersion(), problem)
		}
		shown := health
		if message != "" {
			shown += ": " + message
		}
		if len(seen) == 0 || seen[len(seen)-1] != shown {
			seen = append(seen, shown)
		}
	})
	w.e.t.Logf("Argo CD %s showed Rollout %s as %q", w.m.Version, w.name, seen)
	return seen
}

// disagreement says how Argo CD's health of obj differs from what obj's
// status says, or "".
func disagreement(obj *unstructured.Unstructured, health, message string) string {
	observed, _, _ := unstructured.NestedString(obj.Object, "status", "observedGeneration")
	phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
	msg, _, _ := unstructured.NestedString(obj.Object, "status", "message")
	waiting := health == argocd.Progressing && strings.HasPrefix(message, "Waiting for rollout spec update to be observed")
	if observed != fmt.Sprint(obj.GetGeneration()) || phase == "" {
		if health != argocd.Progressing {
			return fmt.Sprintf("generation %d, observed %q, phase %q: Argo CD shows %s %q, want Progressing", obj.GetGeneration(), observed, phase, health, message)
		}
		return ""
	}
	want, known := argoCDShows[v1alpha1.RolloutPhase(phase)]
	if !known {
		return fmt.Sprintf("phase %q is not one Argo CD knows (Argo CD shows %s %q)", phase, health, message)
	}
	if (health != want || message != msg) && !waiting {
		return fmt.Sprintf("phase %s %q: Argo CD shows %s %q, want %s %q", phase, msg, health, message, want, msg)
	}
	return ""
}

// subsequence reports whether want appears in seen in order, each entry
// of want matching the start of an entry of seen.
func subsequence(seen []string, want ...string) bool {
	for _, s := range seen {
		if len(want) > 0 && strings.HasPrefix(s, want[0]) {
			want = want[1:]
		}
	}
	return len(want) == 0
}

// TestArgoCDInvalidSpec: a Rollout the controller cannot run (its step
// analysis names an AnalysisTemplate that does not exist) is Degraded in
// Argo CD, with the reason, and Healthy again once the spec is fixed.
func TestArgoCDInvalidSpec(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	ro := e.seedCanary(func(ro *v1alpha1.Rollout) { ro.Spec.Replicas = ptr.To[int32](2) })
	w := e.watchArgoCD(ro.Name)
	e.mustKubectl("patch", "rollout", ro.Name, "--type=json", "-p",
		`[{"op":"add","path":"/spec/strategy/canary/steps/0","value":{"analysis":{"templates":[{"templateName":"missing"}]}}}]`)
	g.Eventually(func(g Gomega) {
		ro := e.rollout(ro.Name)()
		g.Expect(phaseOf(ro)).To(Equal("Degraded"))
		g.Expect(ro.Status.Message).To(And(HavePrefix("InvalidSpec"), ContainSubstring("missing")))
	}).Should(Succeed())
	e.mustKubectl("patch", "rollout", ro.Name, "--type=json", "-p", `[{"op":"remove","path":"/spec/strategy/canary/steps/0"}]`)
	g.Eventually(e.rollout(ro.Name)).Should(WithTransform(phaseOf, Equal("Healthy")))
	if seen := w.stop(); seen != nil {
		g.Expect(subsequence(seen, "Healthy", "Progressing", "Degraded: InvalidSpec", "Healthy")).To(BeTrue(), "%q", seen)
	}
}

// TestArgoCDDisagreement: the comparison flags what Argo CD must not show.
func TestArgoCDDisagreement(t *testing.T) {
	rollout := func(generation int64, observed, phase, message string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"observedGeneration": observed, "phase": phase, "message": message}}}
		u.SetGeneration(generation)
		return u
	}
	const waiting = "Waiting for rollout spec update to be observed"
	tests := []struct {
		name            string
		obj             *unstructured.Unstructured
		health, message string
		flagged         bool
	}{
		{"healthy", rollout(2, "2", "Healthy", ""), "Healthy", "", false},
		{"paused is suspended", rollout(2, "2", "Paused", "CanaryPauseStep"), "Suspended", "CanaryPauseStep", false},
		{"paused shown healthy", rollout(2, "2", "Paused", "CanaryPauseStep"), "Healthy", "", true},
		{"message differs", rollout(2, "2", "Degraded", "RolloutAborted: x"), "Degraded", "y", true},
		{"waiting for the workload", rollout(2, "2", "Healthy", ""), "Progressing", waiting, false},
		{"unobserved is progressing", rollout(3, "2", "Healthy", ""), "Progressing", waiting, false},
		{"unobserved shown healthy", rollout(3, "2", "Healthy", ""), "Healthy", "", true},
		{"unknown phase", rollout(2, "2", "Stuck", ""), "Unknown", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := disagreement(tt.obj, tt.health, tt.message); (got != "") != tt.flagged {
				t.Errorf("disagreement %q, want flagged %v", got, tt.flagged)
			}
		})
	}
}
