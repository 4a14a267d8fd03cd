package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Analysis end to end: the controller binary measures with the web
// provider against an HTTP server this test process runs (the binary runs
// on the same host), whose answer the test sets, and with the Job
// provider on the local cluster's simulated nodes.

// verdictServer answers {"result": "<verdict>"}; the test changes the
// verdict while the Rollout runs.
type verdictServer struct {
	mu      sync.Mutex
	verdict string
	calls   int
	srv     *httptest.Server
}

func newVerdictServer(t *testing.T, verdict string) *verdictServer {
	v := &verdictServer{verdict: verdict}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.calls++
		fmt.Fprintf(w, `{"result": %q}`, v.verdict)
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *verdictServer) say(verdict string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.verdict = verdict
}

// webTemplate creates an AnalysisTemplate measuring the verdict: "pass" is
// Successful, "fail" Failed, anything else Inconclusive. With an interval
// it measures until told otherwise (count 0); without, once.
func (e *testEnv) webTemplate(name, interval string) {
	e.t.Helper()
	m := v1alpha1.Metric{
		Name:             "verdict",
		Provider:         v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "{{args.url}}", JSONPath: "{$.result}"}},
		SuccessCondition: `result == "pass"`,
		FailureCondition: `result == "fail"`,
		Interval:         v1alpha1.DurationString(interval),
	}
	e.createTemplate(name, m)
}

// untilPassTemplate measures every 500ms and succeeds on the first "pass";
// anything else just measures again (up to 10 minutes).
func (e *testEnv) untilPassTemplate(name string) {
	e.t.Helper()
	e.createTemplate(name, v1alpha1.Metric{
		Name:                    "verdict",
		Provider:                v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "{{args.url}}", JSONPath: "{$.result}"}},
		SuccessCondition:        `result == "pass"`,
		Interval:                "500ms",
		Count:                   ptr.To(intstr.FromInt32(1200)),
		FailureLimit:            ptr.To(intstr.FromInt32(-1)),
		ConsecutiveSuccessLimit: ptr.To(intstr.FromInt32(1)),
	})
}

func (e *testEnv) createTemplate(name string, metrics ...v1alpha1.Metric) {
	e.t.Helper()
	t := &v1alpha1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name},
		Spec:       v1alpha1.AnalysisTemplateSpec{Args: []v1alpha1.Argument{{Name: "url"}}, Metrics: metrics},
	}
	e.g.Expect(e.client.Create(context.Background(), t)).To(Succeed())
}

// analysisOf names a template and passes the server's URL.
func analysisOf(template string, v *verdictServer) *v1alpha1.RolloutAnalysis {
	return &v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: template}},
		Args:      []v1alpha1.AnalysisRunArgument{{Name: "url", Value: v.srv.URL}},
	}
}

func (e *testEnv) analysisRun(name string) *v1alpha1.AnalysisRun {
	run := &v1alpha1.AnalysisRun{}
	if err := e.client.Get(context.Background(), types.NamespacedName{Namespace: e.ns, Name: name}, run); err != nil {
		return nil
	}
	return run
}

// updateRollout changes a Rollout's spec, retrying on conflicts.
func (e *testEnv) updateRollout(name string, mutate func(*v1alpha1.Rollout)) {
	e.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ro := e.rollout(name)()
		if ro == nil {
			return fmt.Errorf("rollout %s not found", name)
		}
		mutate(ro)
		return e.client.Update(context.Background(), ro)
	})
	e.g.Expect(err).NotTo(HaveOccurred())
}

func (e *testEnv) createService(name, app string) {
	e.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": app},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	e.g.Expect(e.client.Create(context.Background(), svc)).To(Succeed())
}

const canaryName = "backend-canary"

// TestAnalysisCanaryStepPasses: a step analysis that passes lets the
// update complete; `get rollout` shows the run with its measurement.
func TestAnalysisCanaryStepPasses(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	web := newVerdictServer(t, "pass")
	e.webTemplate("verdict", "")
	e.seedCanary(smallCanary(2, v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}, v1alpha1.CanaryStep{Analysis: analysisOf("verdict", web)}))

	e.setImage(canaryName, newBuild)
	var hash string
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		hash = ro.Status.CurrentPodHash
		g.Expect(ro.Status.StableRS).To(Equal(hash))
	}).Should(Succeed())
	run := e.analysisRun(fmt.Sprintf("%s-%s-2-1", canaryName, hash))
	g.Expect(run).NotTo(BeNil())
	g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(run.Labels).To(HaveKeyWithValue("rollout-type", "Step"))
	g.Expect(e.mustRollouts("get", "rollout", canaryName, "--no-color")).To(MatchRegexp(
		`α ` + run.Name + `\s+AnalysisRun\s+✔ Successful\s+\S+\s+✔ 1`))
}

// TestAnalysisCanaryStepFailsAborts: a failing step analysis aborts the
// update back to the stable pods, and the stable Service never lacks a
// ready endpoint.
func TestAnalysisCanaryStepFailsAborts(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	web := newVerdictServer(t, "fail")
	e.webTemplate("verdict", "")
	e.createService("backend-stable", canaryName)
	e.createService("backend-canary-preview", canaryName)
	e.seedCanary(func(ro *v1alpha1.Rollout) {
		smallCanary(2, v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}, v1alpha1.CanaryStep{Analysis: analysisOf("verdict", web)})(ro)
		ro.Spec.Strategy.Canary.StableService = "backend-stable"
		ro.Spec.Strategy.Canary.CanaryService = "backend-canary-preview"
	})
	stable := e.rollout(canaryName)().Status.StableRS
	endpoints := e.watchEndpoints("backend-stable")
	g.Eventually(endpoints.hasStarted).Should(BeTrue())

	e.setImage(canaryName, newBuild)
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Degraded"))
		g.Expect(ro.Status.Message).To(Equal(`RolloutAborted: Rollout aborted update to revision 2: ` +
			`Step-based analysis phase failed: Metric "verdict" assessed Failed due to failed (1) > failureLimit (0)`))
		g.Expect(ro.Status.StableRS).To(Equal(stable))
		g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{stable: "2/2", ro.Status.CurrentPodHash: "0/0"}))
		g.Expect(selector(e.service("backend-canary-preview")())).To(Equal(stable))
	}).Should(Succeed())
	g.Expect(endpoints.stop()).To(BeEmpty(), "moments the stable Service had no ready endpoint")
}

// TestAnalysisInconclusivePromotedByHand: an inconclusive step analysis
// pauses the Rollout (InconclusiveAnalysisRun) until a person promotes.
func TestAnalysisInconclusivePromotedByHand(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	web := newVerdictServer(t, "unsure")
	e.webTemplate("verdict", "")
	e.seedCanary(smallCanary(2, v1alpha1.CanaryStep{SetWeight: ptr.To[int32](50)}, v1alpha1.CanaryStep{Analysis: analysisOf("verdict", web)},
		v1alpha1.CanaryStep{SetWeight: ptr.To[int32](100)}))

	e.setImage(canaryName, newBuild)
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Paused"))
		g.Expect(ro.Status.Message).To(Equal("InconclusiveAnalysisRun"))
		g.Expect(ro.Status.ControllerPause).To(BeTrue())
		g.Expect(stepIndex(ro)).To(Equal(int32(1)))
		g.Expect(ro.Status.Canary.CurrentStepAnalysisRunStatus).To(HaveField("Status", v1alpha1.AnalysisPhaseInconclusive))
	}).Should(Succeed())
	// It stays paused: nothing decides for the person.
	g.Consistently(func() string { return phaseOf(e.rollout(canaryName)()) }, 2*time.Second).Should(Equal("Paused"))

	g.Expect(e.mustRollouts("promote", canaryName)).To(ContainSubstring("promoted"))
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
	}).Should(Succeed())
}

// TestAnalysisBackgroundFailsMidSteps: a background analysis that starts
// failing while the canary waits at a pause aborts the update.
func TestAnalysisBackgroundFailsMidSteps(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	web := newVerdictServer(t, "pass")
	e.webTemplate("verdict", "500ms")
	e.seedCanary(func(ro *v1alpha1.Rollout) {
		smallCanary(2, fiftyThenPause...)(ro)
		ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: *analysisOf("verdict", web), StartingStep: ptr.To[int32](1)}
	})
	stable := e.rollout(canaryName)().Status.StableRS

	e.setImage(canaryName, newBuild)
	var runName string
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Paused"))
		g.Expect(stepIndex(ro)).To(Equal(int32(1)))
		bg := ro.Status.Canary.CurrentBackgroundAnalysisRunStatus
		g.Expect(bg).NotTo(BeNil())
		g.Expect(bg.Name).To(Equal(fmt.Sprintf("%s-%s-2", canaryName, ro.Status.CurrentPodHash)))
		runName = bg.Name
		run := e.analysisRun(runName)
		g.Expect(run.Status.MetricResults).To(ContainElement(HaveField("Successful", BeNumerically(">=", 2))))
	}).Should(Succeed())
	g.Expect(e.analysisRun(runName).Labels).To(HaveKeyWithValue("rollout-type", "Background"))

	web.say("fail")
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Degraded"))
		g.Expect(ro.Status.Message).To(HavePrefix(`RolloutAborted: Rollout aborted update to revision 2: Background analysis phase failed: ` +
			`Metric "verdict" assessed Failed due to failed (1) > failureLimit (0)`))
		g.Expect(e.replicaSetCounts()).To(Equal(map[string]string{stable: "2/2", ro.Status.CurrentPodHash: "0/0"}))
	}).Should(Succeed())
	g.Expect(e.analysisRun(runName).Status.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))
}

const blueGreenName = "backend-bluegreen"

// TestAnalysisBlueGreenPrePromotion: the active Service does not switch,
// and the rollout does not pause, until the pre-promotion analysis
// passes; then the usual pause and promote.
func TestAnalysisBlueGreenPrePromotion(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	web := newVerdictServer(t, "not yet")
	e.untilPassTemplate("smoke")
	e.applySeed("bluegreen-rollout.yaml")
	g.Eventually(e.rollout(blueGreenName)).Should(WithTransform(phaseOf, Equal("Healthy")))
	e.updateRollout(blueGreenName, func(ro *v1alpha1.Rollout) {
		ro.Spec.Strategy.BlueGreen.PrePromotionAnalysis = analysisOf("smoke", web)
	})

	e.setImage(blueGreenName, newBuild)
	var hash string
	g.Eventually(func(g Gomega) {
		ro := e.rollout(blueGreenName)()
		hash = ro.Status.CurrentPodHash
		g.Expect(hash).NotTo(Equal(seedBlueGreenHash))
		pre := ro.Status.BlueGreen.PrePromotionAnalysisRunStatus
		g.Expect(pre).NotTo(BeNil())
		g.Expect(pre.Name).To(Equal(fmt.Sprintf("%s-%s-2-pre", blueGreenName, hash)))
		g.Expect(pre.Status).To(Equal(v1alpha1.AnalysisPhaseRunning))
		g.Expect(selector(e.service("backend-preview")())).To(Equal(hash))
	}).Should(Succeed())
	g.Consistently(func(g Gomega) {
		ro := e.rollout(blueGreenName)()
		g.Expect(ro.Status.PauseConditions).To(BeEmpty(), "no pause before the analysis passes")
		g.Expect(selector(e.service("backend-active")())).To(Equal(seedBlueGreenHash))
	}, 2*time.Second).Should(Succeed())
	g.Expect(e.rollout(blueGreenName)().Status.Message).To(Equal("active service cutover pending"))

	web.say("pass")
	g.Eventually(func(g Gomega) {
		ro := e.rollout(blueGreenName)()
		g.Expect(phaseOf(ro)).To(Equal("Paused"))
		g.Expect(ro.Status.Message).To(Equal("BlueGreenPause"))
		g.Expect(ro.Status.BlueGreen.PrePromotionAnalysisRunStatus).To(HaveField("Status", v1alpha1.AnalysisPhaseSuccessful))
		g.Expect(selector(e.service("backend-active")())).To(Equal(seedBlueGreenHash))
	}).Should(Succeed())

	e.mustRollouts("promote", blueGreenName)
	g.Eventually(func(g Gomega) {
		ro := e.rollout(blueGreenName)()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		g.Expect(ro.Status.StableRS).To(Equal(hash))
		g.Expect(selector(e.service("backend-active")())).To(Equal(hash))
	}).Should(Succeed())
}

// TestAnalysisBlueGreenPostPromotionRollsBack: after the switch, a failing
// post-promotion analysis aborts and the active Service goes back to the
// stable pods, which were kept; the active Service is never without a
// ready endpoint.
func TestAnalysisBlueGreenPostPromotionRollsBack(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	web := newVerdictServer(t, "fail")
	e.webTemplate("verdict", "")
	e.applySeed("bluegreen-rollout.yaml")
	g.Eventually(e.rollout(blueGreenName)).Should(WithTransform(phaseOf, Equal("Healthy")))
	e.updateRollout(blueGreenName, func(ro *v1alpha1.Rollout) {
		ro.Spec.Strategy.BlueGreen.AutoPromotionEnabled = ptr.To(true)
		ro.Spec.Strategy.BlueGreen.PostPromotionAnalysis = analysisOf("verdict", web)
	})
	active := e.watchEndpoints("backend-active")
	g.Eventually(active.hasStarted).Should(BeTrue())
	switches := e.watchSelector("backend-active")

	e.setImage(blueGreenName, newBuild)
	var hash string
	g.Eventually(func(g Gomega) {
		ro := e.rollout(blueGreenName)()
		hash = ro.Status.CurrentPodHash
		g.Expect(phaseOf(ro)).To(Equal("Degraded"))
		g.Expect(ro.Status.Message).To(Equal(`RolloutAborted: Rollout aborted update to revision 2: ` +
			`Blue/green post-promotion analysis phase failed: Metric "verdict" assessed Failed due to failed (1) > failureLimit (0)`))
		g.Expect(ro.Status.StableRS).To(Equal(seedBlueGreenHash))
		g.Expect(ro.Status.BlueGreen.PostPromotionAnalysisRunStatus).To(HaveField("Name", fmt.Sprintf("%s-%s-2-post", blueGreenName, hash)))
		g.Expect(selector(e.service("backend-active")())).To(Equal(seedBlueGreenHash))
	}).Should(Succeed())
	g.Expect(active.stop()).To(BeEmpty(), "moments the active Service had no ready endpoint")
	g.Expect(switches.stop()).To(Equal([]string{seedBlueGreenHash, hash, seedBlueGreenHash}), "switched to the new pods, then back")
}

// TestAnalysisJobStep: a step analysis measured by a Job whose pod exits
// 0 (the ":succeed" image) passes.
func TestAnalysisJobStep(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	g := e.g
	job := v1alpha1.Metric{Name: "smoke", Provider: v1alpha1.MetricProvider{Job: &v1alpha1.JobMetric{Spec: batchv1.JobSpec{
		BackoffLimit: ptr.To[int32](0),
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"switchyard.dev/exit-delay": "1s"}},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "smoke", Image: "smoke:succeed", Args: []string{"{{args.url}}"}}},
			},
		},
	}}}}
	e.createTemplate("smoke", job)
	e.seedCanary(smallCanary(1, v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "smoke"}},
		Args:      []v1alpha1.AnalysisRunArgument{{Name: "url", Value: "http://backend-canary"}},
	}}))
	e.setImage(canaryName, newBuild)
	var hash string
	g.Eventually(func(g Gomega) {
		ro := e.rollout(canaryName)()
		g.Expect(phaseOf(ro)).To(Equal("Healthy"))
		hash = ro.Status.CurrentPodHash
		g.Expect(ro.Status.StableRS).To(Equal(hash))
	}).Should(Succeed())
	run := e.analysisRun(fmt.Sprintf("%s-%s-2-0", canaryName, hash))
	g.Expect(run).NotTo(BeNil())
	g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	jobName := run.Status.MetricResults[0].Measurements[0].Metadata["job-name"]
	g.Expect(jobName).NotTo(BeEmpty())
	live, err := e.kube.BatchV1().Jobs(e.ns).Get(context.Background(), jobName, metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Join(live.Spec.Template.Spec.Containers[0].Args, " ")).To(Equal("http://backend-canary"))
}
