package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// experimentManifests are an AnalysisTemplate measuring url (Successful on
// {"value":1}, Failed on {"value":0}) and an Experiment running a baseline
// and a canary (with a Service) beside it, as a user applies them.
func experimentManifests(url, duration string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: compare
spec:
  args:
  - name: baseline-hash
  metrics:
  - name: compare
    interval: 500ms
    count: 2
    successCondition: result == 1
    failureCondition: result == 0
    provider:
      web:
        url: %s/{{args.baseline-hash}}
        jsonPath: "{$.value}"
---
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: demo
spec:
  duration: %q
  scaleDownDelaySeconds: 1
  templates:
  - name: baseline
    selector:
      matchLabels: {app: demo, role: baseline}
    template:
      metadata:
        labels: {app: demo, role: baseline}
      spec:
        containers:
        - name: demo
          image: demo:1
  - name: canary
    replicas: 2
    selector:
      matchLabels: {app: demo, role: canary}
    template:
      metadata:
        labels: {app: demo, role: canary}
      spec:
        containers:
        - name: demo
          image: demo:2
          ports:
          - name: http
            containerPort: 8080
    service: {}
  analyses:
  - name: compare
    templateName: compare
    args:
    - name: baseline-hash
      value: "{{templates.baseline.podTemplateHash}}"
`, url, duration)
}

// valueServer answers {"value":<v>} with v settable.
func valueServer(t *testing.T, v int64) (*httptest.Server, *atomic.Int64) {
	var value atomic.Int64
	value.Store(v)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"value":%d}`, value.Load())
	}))
	t.Cleanup(srv.Close)
	return srv, &value
}

func (e *testEnv) applyManifest(yaml string) {
	e.t.Helper()
	path := filepath.Join(e.t.TempDir(), "manifest.yaml")
	e.g.Expect(os.WriteFile(path, []byte(yaml), 0o644)).To(Succeed())
	e.mustKubectl("apply", "-f", path)
}

func (e *testEnv) experiment(name string) func() *v1alpha1.Experiment {
	return func() *v1alpha1.Experiment {
		ex := &v1alpha1.Experiment{}
		if err := e.client.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: name}, ex); err != nil {
			return nil
		}
		return ex
	}
}

func experimentPhase(ex *v1alpha1.Experiment) v1alpha1.AnalysisPhase {
	if ex == nil {
		return ""
	}
	return ex.Status.Phase
}

func (e *testEnv) experimentReplicas(name string) func() string {
	return func() string {
		rs, err := e.kube.AppsV1().ReplicaSets(e.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("%d/%d", ptr.Deref(rs.Spec.Replicas, 0), rs.Status.ReadyReplicas)
	}
}

// TestExperimentSucceeds applies a standalone Experiment with baseline and
// canary templates and one analysis: both come up, the analysis measures
// with the baseline's hash and passes, the duration ends, the Experiment is
// Successful and its pods go. The plugin shows it along the way.
func TestExperimentSucceeds(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	srv, _ := valueServer(t, 1)
	e.applyManifest(experimentManifests(srv.URL, "4s"))

	e.g.Eventually(e.experiment("demo")).Should(WithTransform(experimentPhase, Equal(v1alpha1.AnalysisPhaseRunning)))
	out := e.mustRollouts("get", "experiment", "demo", "--no-color")
	e.g.Expect(out).To(MatchRegexp(`(?m)^Status:\s+◌ Running$`))
	e.g.Expect(out).To(MatchRegexp(`(?m)^Images:\s+demo:1 \(Σ:baseline\)$`))
	e.g.Expect(out).To(MatchRegexp(`(?m)^Σ demo\s+Experiment\s+◌ Running`))
	e.g.Expect(out).To(MatchRegexp(`(?m)^├──⧉ demo-baseline\s+ReplicaSet\s+✔ Healthy`))
	e.g.Expect(out).To(MatchRegexp(`(?m)^└──α demo-compare\s+AnalysisRun`))
	e.g.Expect(e.mustRollouts("list", "experiments")).To(MatchRegexp(`(?m)^demo\s+Running\s+4s\s+\S+\s+\S+$`))
	e.g.Expect(e.service("demo-canary")()).NotTo(BeNil())

	e.g.Eventually(e.experiment("demo")).Should(WithTransform(experimentPhase, Equal(v1alpha1.AnalysisPhaseSuccessful)))
	e.g.Eventually(e.experimentReplicas("demo-canary")).Should(Equal("0/0"))
	e.g.Eventually(e.experimentReplicas("demo-baseline")).Should(Equal("0/0"))
	e.g.Eventually(e.service("demo-canary")).Should(BeNil())
	out = e.mustRollouts("get", "experiment", "demo", "--no-color")
	e.g.Expect(out).To(MatchRegexp(`(?m)^Status:\s+✔ Successful$`))
	e.g.Expect(out).To(MatchRegexp(`(?m)^└──α demo-compare\s+AnalysisRun\s+✔ Successful\s+\S+\s+✔ 2$`))
	e.g.Expect(e.mustRollouts("list", "experiments")).To(MatchRegexp(`(?m)^demo\s+Successful\s+4s\s+-\s+\S+$`))
	// kubectl's own columns come from the CRD.
	e.g.Expect(e.mustKubectl("get", "exp", "demo")).To(MatchRegexp(`(?m)^demo\s+Successful\s+\S+$`))
}

// TestExperimentFails: the analysis fails, so does the Experiment, and its
// pods go at once. After the backend is fixed, `retry experiment` starts it
// again with a fresh run; without a duration it runs until `terminate
// experiment` ends it Successful.
func TestExperimentFails(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	srv, value := valueServer(t, 0)
	e.applyManifest(experimentManifests(srv.URL, ""))

	e.g.Eventually(e.experiment("demo")).Should(WithTransform(experimentPhase, Equal(v1alpha1.AnalysisPhaseFailed)))
	out := e.mustRollouts("get", "experiment", "demo", "--no-color")
	e.g.Expect(out).To(MatchRegexp(`(?m)^Status:\s+✖ Failed$`))
	e.g.Expect(out).To(MatchRegexp(`(?m)^Message:\s+Metric "compare" assessed Failed due to failed \(1\) > failureLimit \(0\)$`))
	e.g.Expect(out).To(MatchRegexp(`(?m)^└──α demo-compare\s+AnalysisRun\s+✖ Failed\s+\S+\s+✖ 1$`))
	e.g.Eventually(e.experimentReplicas("demo-canary")).Should(Equal("0/0"))

	value.Store(1)
	e.g.Expect(e.mustRollouts("retry", "experiment", "demo")).To(Equal("experiment 'demo' retried\n"))
	e.g.Eventually(e.experiment("demo")).Should(WithTransform(experimentPhase, Equal(v1alpha1.AnalysisPhaseRunning)))
	e.g.Eventually(e.experimentReplicas("demo-canary")).Should(Equal("2/2"))
	e.g.Eventually(func() string { return e.mustRollouts("get", "experiment", "demo", "--no-color") }).
		Should(MatchRegexp(`(?m)^└──α demo-compare\.1\s+AnalysisRun\s+✔ Successful`))
	e.g.Expect(e.experiment("demo")()).To(WithTransform(experimentPhase, Equal(v1alpha1.AnalysisPhaseRunning)), "no duration, no required analysis: it keeps running")

	e.g.Expect(e.mustRollouts("terminate", "experiment", "demo")).To(Equal("experiment 'demo' terminated\n"))
	e.g.Eventually(e.experiment("demo")).Should(WithTransform(experimentPhase, Equal(v1alpha1.AnalysisPhaseSuccessful)))
	e.g.Eventually(e.experimentReplicas("demo-canary")).Should(Equal("0/0"))
	e.g.Expect(e.replicaSets()).To(HaveLen(2), "the retry reused the ReplicaSets")
	e.g.Expect(e.replicaSets()).To(HaveEach(WithTransform(func(rs appsv1.ReplicaSet) string {
		return rs.Annotations[v1alpha1.ExperimentNameAnnotationKey]
	}, Equal("demo"))))
}

// experimentStepOf runs a baseline of the stable pods and a canary of the
// new ones beside the Rollout, with one analysis of the verdict server that
// the step waits for.
func experimentStepOf(template string, v *verdictServer) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{
		Templates: []v1alpha1.RolloutExperimentTemplate{
			{Name: "baseline", SpecRef: v1alpha1.StableSpecRef},
			{Name: "canary", SpecRef: v1alpha1.CanarySpecRef},
		},
		Analyses: []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{{
			Name: "compare", TemplateName: template, RequiredForCompletion: true,
			Args: []v1alpha1.AnalysisRunArgument{{Name: "url", Value: v.srv.URL}},
		}},
	}}
}

// TestExperimentStepPasses: a canary's experiment step runs the stable and
// the new pod templates side by side until its analysis passes; then the
// step completes and the update is promoted. The plugin shows the
// Experiment in the Rollout's tree, and on its own.
func TestExperimentStepPasses(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	web := newVerdictServer(t, "wait")
	e.untilPassTemplate("verdict")
	e.seedCanary(smallCanary(2, v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}, experimentStepOf("verdict", web)))
	stable := e.rollout(canaryName)().Status.StableRS

	e.setImage(canaryName, newBuild)
	var name, hash string
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		hash = ro.Status.CurrentPodHash
		name = fmt.Sprintf("%s-%s-2-1", canaryName, hash)
		g.Expect(ro.Status.Canary.CurrentExperiment).To(Equal(name))
		g.Expect(experimentPhase(e.experiment(name)())).To(Equal(v1alpha1.AnalysisPhaseRunning))
	}).Should(Succeed())
	g.Expect(e.experimentReplicas(name + "-baseline")()).To(Equal("1/1"))
	g.Expect(e.experimentReplicas(name + "-canary")()).To(Equal("1/1"))
	out := e.mustRollouts("get", "rollout", canaryName, "--no-color")
	g.Expect(out).To(MatchRegexp(`(?m)^│  [├└]──Σ ` + name + `\s+Experiment\s+◌ Running`))
	g.Expect(out).To(MatchRegexp(`(?m)^│  [│ ]  ├──⧉ ` + name + `-baseline\s+ReplicaSet\s+✔ Healthy`))
	g.Expect(out).To(MatchRegexp(`(?m)^│  [│ ]  └──α ` + name + `-compare\s+AnalysisRun\s+◌ Running`))
	// The watch shows it too (its informers include the Experiments).
	g.Expect(e.mustRollouts("get", "rollout", canaryName, "-w", "--timeout-seconds", "2", "--no-color")).To(
		MatchRegexp(`(?m)^│  [│ ]  └──α ` + name + `-compare\s+AnalysisRun\s+◌ Running`))
	out = e.mustRollouts("get", "experiment", name, "--no-color")
	g.Expect(out).To(MatchRegexp(`(?m)^Images:\s+\S+ \(Σ:baseline\)$`))
	g.Expect(out).To(ContainSubstring(newBuild + " (Σ:canary)"))
	g.Expect(e.mustRollouts("list", "experiments")).To(MatchRegexp(`(?m)^` + name + `\s+Running\s+-\s+-\s+\S+$`))

	web.say("pass")
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		g.Expect(ro.Status.StableRS).To(Equal(hash))
		g.Expect(ro.Status.Canary.CurrentExperiment).To(BeEmpty())
	}).Should(Succeed())
	g.Expect(experimentPhase(e.experiment(name)())).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(stable).NotTo(Equal(hash))
	g.Expect(e.mustRollouts("get", "rollout", canaryName, "--no-color")).To(MatchRegexp(`(?m)^│  [├└]──Σ ` + name + `\s+Experiment\s+✔ Successful`))
}

// TestExperimentStepFailsAborts: the experiment step's analysis fails, so
// the Experiment does and the update aborts back to the stable pods; the
// stable Service never lacks a ready endpoint. Retried through the plugin
// once the backend is fixed, the step runs a fresh "-1" Experiment and the
// update completes.
func TestExperimentStepFailsAborts(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	web := newVerdictServer(t, "fail")
	e.webTemplate("verdict", "")
	e.createService("backend-stable", canaryName)
	e.createService("backend-canary-preview", canaryName)
	e.seedCanary(func(ro *v1alpha1.Rollout) {
		smallCanary(2, v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}, experimentStepOf("verdict", web))(ro)
		ro.Spec.Strategy.Canary.StableService = "backend-stable"
		ro.Spec.Strategy.Canary.CanaryService = "backend-canary-preview"
	})
	stable := e.rollout(canaryName)().Status.StableRS
	endpoints := e.watchEndpoints("backend-stable")
	g.Eventually(endpoints.hasStarted).Should(BeTrue())

	e.setImage(canaryName, newBuild)
	var name string
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Degraded"))
		g.Expect(ro.Status.Message).To(Equal(`RolloutAborted: Rollout aborted update to revision 2: ` +
			`Experiment analysis phase is failed: Metric "verdict" assessed Failed due to failed (1) > failureLimit (0)`))
		g.Expect(ro.Status.StableRS).To(Equal(stable))
		g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(stable, "2/2"))
		g.Expect(e.replicaSetCounts()).To(HaveKeyWithValue(ro.Status.CurrentPodHash, "0/0"))
		g.Expect(selector(e.service("backend-canary-preview")())).To(Equal(stable))
		name = fmt.Sprintf("%s-%s-2-1", canaryName, ro.Status.CurrentPodHash)
	}).Should(Succeed())
	g.Expect(endpoints.stop()).To(BeEmpty(), "moments the stable Service had no ready endpoint")
	g.Expect(experimentPhase(e.experiment(name)())).To(Equal(v1alpha1.AnalysisPhaseFailed))
	g.Expect(e.mustRollouts("get", "rollout", canaryName, "--no-color")).To(MatchRegexp(`(?m)^│  [├└]──Σ ` + name + `\s+Experiment\s+✖ Failed`))
	out := e.mustRollouts("get", "experiment", name, "--no-color")
	g.Expect(out).To(MatchRegexp(`(?m)^Status:\s+✖ Failed$`))
	g.Expect(out).To(MatchRegexp(`(?m)^└──α ` + name + `-compare\s+AnalysisRun\s+✖ Failed\s+\S+\s+✖ 1$`))

	web.say("pass")
	g.Expect(e.mustRollouts("retry", "rollout", canaryName)).To(ContainSubstring("retried"))
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
	}).Should(Succeed())
	g.Expect(experimentPhase(e.experiment(name + "-1")())).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(e.mustRollouts("list", "experiments")).To(And(
		MatchRegexp(`(?m)^`+name+`\s+Failed\s`), MatchRegexp(`(?m)^`+name+`-1\s+Successful\s`)))
}
