package rollout_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/rollout"
)

// verdicts is an HTTP server whose answer, per path, the test sets: the
// web provider reads {"result": "<verdict>"} from it.
type verdicts struct {
	mu  sync.Mutex
	set map[string]string
	srv *httptest.Server
}

func newVerdicts(t *testing.T) *verdicts {
	v := &verdicts{set: map[string]string{}}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		fmt.Fprintf(w, `{"result": %q}`, v.set[r.URL.Path])
	}))
	t.Cleanup(v.srv.Close)
	return v
}

// url is where the verdict for key is read; say sets it.
func (v *verdicts) url(key string) string { return v.srv.URL + "/" + key }

func (v *verdicts) say(key, verdict string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.set["/"+key] = verdict
}

// webTemplate measures once: "pass" is Successful, "fail" Failed,
// anything else Inconclusive.
const webTemplate = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: web-check
spec:
  args:
  - name: url
  metrics:
  - name: check
    provider:
      web:
        url: "{{args.url}}"
        jsonPath: "{$.result}"
    successCondition: result == "pass"
    failureCondition: result == "fail"
`

// createTemplate creates an AnalysisTemplate from YAML in ns.
func createTemplate(g *WithT, ns, doc string) {
	var t v1alpha1.AnalysisTemplate
	g.Expect(yaml.Unmarshal([]byte(doc), &t)).To(Succeed())
	t.Namespace = ns
	g.Expect(k8sClient.Create(context.Background(), &t)).To(Succeed())
}

func analysisRun(ns, name string) func() *v1alpha1.AnalysisRun {
	return func() *v1alpha1.AnalysisRun {
		run := &v1alpha1.AnalysisRun{}
		if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, run); err != nil {
			return nil
		}
		return run
	}
}

func runNames(g *WithT, ns string) []string {
	var list v1alpha1.AnalysisRunList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, r := range list.Items {
		out = append(out, r.Name)
	}
	return out
}

func message(ns, name string) func() string {
	return func() string {
		ro := get(ns, name)()
		if ro == nil {
			return ""
		}
		return string(ro.Status.Phase) + ": " + ro.Status.Message
	}
}

// TestCanaryStepAnalysis: a Rollout naming a template that does not exist
// yet is InvalidSpec until the template is created (no restart); then a
// step analysis passes and the update completes, the next one fails and
// aborts with the reference's message, and a retry runs a fresh ".1" run.
func TestCanaryStepAnalysis(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	web := newVerdicts(t)
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](2)
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](50)},
		{Analysis: &v1alpha1.RolloutAnalysis{
			Templates:           []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "web-check"}},
			Args:                []v1alpha1.AnalysisRunArgument{{Name: "url", Value: web.url(ns)}},
			AnalysisRunMetadata: v1alpha1.AnalysisRunMetadata{Labels: map[string]string{"team": "shop"}, Annotations: map[string]string{"note": "canary"}},
		}},
	}
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(get(ns, ro.Name)).Should(WithTransform(invalidSpec,
		Equal(`spec.strategy.canary.steps[1].analysis.templates: Invalid value: "templateNames: [web-check]": AnalysisTemplate 'web-check' not found`)))

	createTemplate(g, ns, webTemplate)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Expect(runNames(g, ns)).To(BeEmpty(), "the first deploy runs no analysis")

	web.say(ns, "pass")
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	v2 := get(ns, ro.Name)()
	name := fmt.Sprintf("%s-%s-2-1", ro.Name, v2.Status.CurrentPodHash)
	run := analysisRun(ns, name)()
	g.Expect(run).NotTo(BeNil(), "runs: %v", runNames(g, ns))
	g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(run.Labels).To(Equal(map[string]string{
		"rollouts-pod-template-hash": v2.Status.CurrentPodHash, "rollout-type": "Step", "step-index": "1",
		"team": "shop", "app": "backend-canary",
	}))
	g.Expect(run.Annotations).To(Equal(map[string]string{"rollout.argoproj.io/revision": "2", "note": "canary"}))
	owner := metav1.GetControllerOf(run)
	g.Expect(owner).NotTo(BeNil())
	g.Expect(owner.Kind + "/" + owner.Name).To(Equal("Rollout/" + ro.Name))
	g.Expect(run.Spec.Args).To(Equal([]v1alpha1.Argument{{Name: "url", Value: ptr.To(web.url(ns))}}))
	g.Expect(v2.Status.Canary.CurrentStepAnalysisRunStatus).To(BeNil(), "cleared once the step completed")
	// Previous is Running, or NoPreviousStatus when the run ended before
	// the Rollout saw it running.
	g.Expect(events(g, ns, ro.Name)).To(ContainElement(MatchRegexp(
		`^AnalysisRunSuccessful: Step Analysis Run '` + name + `' Status New: 'Successful' Previous: '(Running|NoPreviousStatus)'$`)))

	web.say(ns, "fail")
	setImage(g, ns, ro.Name, "backend:v3")
	g.Eventually(message(ns, ro.Name)).Should(Equal(`Degraded: RolloutAborted: Rollout aborted update to revision 3: ` +
		`Step-based analysis phase failed: Metric "check" assessed Failed due to failed (1) > failureLimit (0)`))
	v3 := get(ns, ro.Name)()
	failedRun := fmt.Sprintf("%s-%s-3-1", ro.Name, v3.Status.CurrentPodHash)
	g.Expect(analysisRun(ns, failedRun)()).To(WithTransform(func(r *v1alpha1.AnalysisRun) v1alpha1.AnalysisPhase { return r.Status.Phase }, Equal(v1alpha1.AnalysisPhaseFailed)))
	g.Eventually(func() map[string]string { return counts(g, ns) }).Should(And(
		HaveKeyWithValue(v2.Status.CurrentPodHash, "2/2"), HaveKeyWithValue(v3.Status.CurrentPodHash, "0/0")))
	g.Expect(get(ns, ro.Name)().Status.Canary.CurrentStepAnalysisRunStatus).To(BeNil(), "a canary drops its analysis status on abort")

	web.say(ns, "pass")
	patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"abort":false}}`))
	g.Expect(k8sClient.Status().Patch(context.Background(), &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ro.Name}}, patch)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Expect(analysisRun(ns, failedRun+".1")()).To(WithTransform(func(r *v1alpha1.AnalysisRun) v1alpha1.AnalysisPhase { return r.Status.Phase }, Equal(v1alpha1.AnalysisPhaseSuccessful)),
		"runs: %v", runNames(g, ns))
}

// counts maps each ReplicaSet's hash to spec.replicas/available.
func counts(g *WithT, ns string) map[string]string {
	out := map[string]string{}
	for _, rs := range replicaSets(g, ns) {
		out[rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]] = fmt.Sprintf("%d/%d", ptr.Deref(rs.Spec.Replicas, 0), rs.Status.AvailableReplicas)
	}
	return out
}

// TestAnalysisTemplateProblems: what is wrong with the templates a Rollout
// names is InvalidSpec with the reference's message, and nothing starts.
func TestAnalysisTemplateProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		templates []string
		analysis  v1alpha1.RolloutAnalysis
		want      []string
	}{{
		name:      "an arg the template needs is not given",
		templates: []string{webTemplate},
		analysis:  v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "web-check"}}},
		want:      []string{`spec.strategy.canary.steps[1].analysis.args: Invalid value: "url": missing analysis arguments in rollout spec`},
	}, {
		name: "a step analysis that never ends",
		templates: []string{`
metadata: {name: forever}
spec:
  metrics:
  - name: poll
    interval: 10s
    provider: {web: {url: "http://127.0.0.1:1/"}}`},
		analysis: v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "forever"}}},
		want:     []string{`AnalysisTemplate forever has metric poll which runs indefinitely. Invalid value for count: <nil>`},
	}, {
		name: "a provider Switchyard does not measure with",
		templates: []string{`
metadata: {name: dd}
spec:
  metrics:
  - name: errors
    provider: {datadog: {query: "avg:errors"}}`},
		analysis: v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "dd"}}},
		want:     []string{"AnalysisTemplate dd: spec.metrics[0]: Invalid value: \"errors\": provider datadog is not supported by Switchyard"},
	}, {
		name: "a condition that does not parse",
		templates: []string{`
metadata: {name: typo}
spec:
  metrics:
  - name: errors
    successCondition: "result >"
    provider: {web: {url: "http://127.0.0.1:1/"}}`},
		analysis: v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "typo"}}},
		want:     []string{`successCondition "result >" does not parse`},
	}, {
		name: "two templates with the same metric",
		templates: []string{`
metadata: {name: a}
spec:
  metrics:
  - name: m
    provider: {web: {url: "http://127.0.0.1:1/"}}`, `
metadata: {name: b}
spec:
  metrics:
  - name: m
    provider: {web: {url: "http://127.0.0.1:1/"}}`},
		analysis: v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "a"}, {TemplateName: "b"}}},
		want:     []string{`spec.strategy.canary.steps[1].analysis.templates: Invalid value: "templateNames: [a b]": two metrics have the same name 'm'`},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns, g := newNamespace(t)
			for _, doc := range tc.templates {
				createTemplate(g, ns, doc)
			}
			ro := seed(t, g, "canary-rollout.yaml", ns)
			ro.Spec.Replicas = ptr.To[int32](1)
			a := tc.analysis
			ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}, {Analysis: &a}}
			g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
			g.Eventually(get(ns, ro.Name)).Should(WithTransform(invalidSpec, And(ContainSubstring(tc.want[0]))))
			g.Expect(replicaSets(g, ns)).To(BeEmpty(), "nothing starts while the spec is invalid")
		})
	}
}

// TestAnalysisRunHistoryLimits: finished runs that no status field names
// are kept up to spec.analysis's limits, newest first; runs of a revision
// that is gone are deleted.
func TestAnalysisRunHistoryLimits(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](1)
	ro.Spec.Analysis = &v1alpha1.AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](2), UnsuccessfulRunHistoryLimit: ptr.To[int32](1)}
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	live := get(ns, ro.Name)()
	hash := live.Status.CurrentPodHash
	// Created one after the other: newest last. Within one second of
	// creationTimestamp, the later name (run-3 after run-2) is the newer.
	for _, spec := range []struct {
		name  string
		phase v1alpha1.AnalysisPhase
		hash  string
	}{
		{"run-1", v1alpha1.AnalysisPhaseSuccessful, hash},
		{"run-2", v1alpha1.AnalysisPhaseFailed, hash},
		{"run-3", v1alpha1.AnalysisPhaseSuccessful, hash},
		{"run-4", v1alpha1.AnalysisPhaseInconclusive, hash},
		{"run-5", v1alpha1.AnalysisPhaseSuccessful, hash},
		{"run-6", v1alpha1.AnalysisPhaseSuccessful, "5d8b7c9f6d"},
	} {
		run := &v1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: spec.name,
				Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: spec.hash},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(live, v1alpha1.GroupVersion.WithKind("Rollout"))}},
			Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{Name: "m", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://127.0.0.1:1/"}}}}},
			// The CRD has no status subresource (as in the reference), so
			// a finished run can be created as such.
			Status: v1alpha1.AnalysisRunStatus{Phase: spec.phase},
		}
		g.Expect(k8sClient.Create(context.Background(), run)).To(Succeed())
	}
	// The runs' creation brings their Rollout back.
	g.Eventually(func() []string { return runNames(g, ns) }).Should(ConsistOf("run-5", "run-3", "run-4"))
}

func replicaSets(g *WithT, ns string) []appsv1.ReplicaSet {
	var list appsv1.ReplicaSetList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

// untilPass is a template measuring every 500ms until the verdict is
// "pass" (then Successful); other verdicts just measure again.
const untilPassTemplate = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: until-pass
spec:
  args:
  - name: url
  metrics:
  - name: check
    interval: 500ms
    count: 1200
    failureLimit: -1
    consecutiveSuccessLimit: 1
    provider:
      web:
        url: "{{args.url}}"
        jsonPath: "{$.result}"
    successCondition: result == "pass"
`

// pollTemplate measures every 500ms for as long as it runs: "fail" fails
// it, anything but "pass" and "fail" makes it Inconclusive.
const pollTemplate = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: poll
spec:
  args:
  - name: url
  metrics:
  - name: check
    interval: 500ms
    provider:
      web:
        url: "{{args.url}}"
        jsonPath: "{$.result}"
    successCondition: result == "pass"
    failureCondition: result == "fail"
`

func runPhase(ns, name string) func() v1alpha1.AnalysisPhase {
	return func() v1alpha1.AnalysisPhase {
		if r := analysisRun(ns, name)(); r != nil {
			return r.Status.Phase
		}
		return "missing"
	}
}

// TestAnalysisAndPromote: what a person's promote does to running
// analyses. A promote past a running step analysis terminates it (the step
// moves on, the run ends Successful) while the background analysis goes on;
// an inconclusive background analysis pauses the Rollout, and the promote
// that clears the pause replaces it with a fresh ".1" run (and completes
// the pause step it was cleared with); full promotion terminates it.
func TestAnalysisAndPromote(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	web := newVerdicts(t)
	createTemplate(g, ns, untilPassTemplate)
	createTemplate(g, ns, pollTemplate)
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](1)
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{
		{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "until-pass"}},
			Args: []v1alpha1.AnalysisRunArgument{{Name: "url", Value: web.url(ns + "-step")}}}},
		{Pause: &v1alpha1.RolloutPause{}},
	}
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "poll"}},
		Args:      []v1alpha1.AnalysisRunArgument{{Name: "url", Value: web.url(ns + "-bg")}},
	}}
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))

	web.say(ns+"-step", "not yet")
	web.say(ns+"-bg", "pass")
	setImage(g, ns, ro.Name, "backend:v2")
	var stepRun, bgRun string
	g.Eventually(func(g Gomega) {
		live := get(ns, ro.Name)()
		st := live.Status.Canary
		g.Expect(st.CurrentStepAnalysisRunStatus).To(HaveField("Status", v1alpha1.AnalysisPhaseRunning))
		g.Expect(st.CurrentBackgroundAnalysisRunStatus).To(HaveField("Status", v1alpha1.AnalysisPhaseRunning))
		stepRun, bgRun = st.CurrentStepAnalysisRunStatus.Name, st.CurrentBackgroundAnalysisRunStatus.Name
		g.Expect(bgRun).To(Equal(fmt.Sprintf("%s-%s-2", ro.Name, live.Status.CurrentPodHash)))
	}).Should(Succeed())

	// promote while the step analysis runs: the index moves past it.
	patchStatus(g, ns, ro.Name, `{"status":{"pauseConditions":null,"currentStepIndex":1}}`)
	g.Eventually(runPhase(ns, stepRun)).Should(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(analysisRun(ns, stepRun)().Spec.Terminate).To(BeTrue())
	g.Eventually(message(ns, ro.Name)).Should(Equal("Paused: CanaryPauseStep"))
	g.Expect(get(ns, ro.Name)().Status.Canary.CurrentStepAnalysisRunStatus).To(BeNil())
	g.Expect(runPhase(ns, bgRun)()).To(Equal(v1alpha1.AnalysisPhaseRunning), "the background analysis goes on")

	// The background analysis cannot decide: a pause for a person.
	web.say(ns+"-bg", "unsure")
	g.Eventually(func(g Gomega) {
		live := get(ns, ro.Name)()
		g.Expect(live.Status.PauseConditions).To(ContainElement(HaveField("Reason", v1alpha1.PauseReasonInconclusiveAnalysis)))
		g.Expect(live.Status.Canary.CurrentBackgroundAnalysisRunStatus).To(HaveField("Status", v1alpha1.AnalysisPhaseInconclusive))
	}).Should(Succeed())
	g.Expect(get(ns, ro.Name)().Status.StableRS).NotTo(Equal(get(ns, ro.Name)().Status.CurrentPodHash), "nothing is promoted meanwhile")

	// The person promotes: a fresh background run, and the pause step ends.
	web.say(ns+"-bg", "pass")
	promote(g, ns, ro.Name)
	g.Eventually(runPhase(ns, bgRun+".1")).Should(Or(Equal(v1alpha1.AnalysisPhaseRunning), Equal(v1alpha1.AnalysisPhaseSuccessful)))
	// All steps done: fully promoted, and the background run is ended.
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Eventually(runPhase(ns, bgRun+".1")).Should(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(analysisRun(ns, bgRun+".1")().Spec.Terminate).To(BeTrue())
	g.Expect(runPhase(ns, bgRun)()).To(Equal(v1alpha1.AnalysisPhaseInconclusive))
	g.Expect(get(ns, ro.Name)().Status.Canary.CurrentBackgroundAnalysisRunStatus).To(BeNil())
}

// TestTrafficRoutedStepAnalysis: a Gateway API canary's analysis step runs
// at the weight the routers carry; passing, it promotes; failing, the
// routers give everything back to the stable pods with the reference's
// abort message.
func TestTrafficRoutedStepAnalysis(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	web := newVerdicts(t)
	createTemplate(g, ns, webTemplate)
	createYAML(g, ns, webRoute)
	ro := routedSeed(t, g, ns, 2, func(c *v1alpha1.CanaryStrategy) {
		gatewayAPI(`{"httpRoute":"web"}`)(c)
		c.Steps = []v1alpha1.CanaryStep{
			{SetWeight: ptr.To[int32](40)},
			{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "web-check"}},
				Args: []v1alpha1.AnalysisRunArgument{{Name: "url", Value: web.url(ns)}}}},
		}
	})
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	v1 := get(ns, ro.Name)().Status.StableRS

	web.say(ns, "pass")
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(func(g Gomega) {
		live := get(ns, ro.Name)()
		g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
		g.Expect(live.Status.StableRS).To(Equal(live.Status.CurrentPodHash))
	}).Should(Succeed())
	v2 := get(ns, ro.Name)().Status.StableRS
	g.Expect(runPhase(ns, fmt.Sprintf("%s-%s-2-1", ro.Name, v2))()).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(eventNotes(g, ns, rollout.EventTrafficWeightUpdated)).To(ContainElement("canary weight changed from 0 to 40"),
		"the analysis ran with 40% of the traffic on the canary")

	web.say(ns, "fail")
	setImage(g, ns, ro.Name, "backend:v3")
	g.Eventually(message(ns, ro.Name)).Should(Equal(`Degraded: RolloutAborted: Rollout aborted update to revision 3: ` +
		`Step-based analysis phase failed: Metric "check" assessed Failed due to failed (1) > failureLimit (0)`))
	g.Eventually(backendWeights(ns, "web")).Should(Equal("stable=100,canary=0"))
	g.Eventually(selects(ns, "canary")).Should(Equal(v2))
	g.Expect(v1).NotTo(Equal(v2))
}
