package integration

import (
	"context"
	"encoding/json"
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
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis/providers/job"
)

// fixture is one test's namespace.
type fixture struct {
	t   *testing.T
	g   *WithT
	ns  string
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	t.Parallel()
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(time.Minute)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "analysis-it-"}}
	g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
	return &fixture{t: t, g: g, ns: ns.Name, ctx: ctx}
}

func (f *fixture) create(run *v1alpha1.AnalysisRun) {
	f.t.Helper()
	run.Namespace = f.ns
	f.g.Expect(k8sClient.Create(f.ctx, run)).To(Succeed())
}

func (f *fixture) get(name string) func() *v1alpha1.AnalysisRun {
	return func() *v1alpha1.AnalysisRun {
		run := &v1alpha1.AnalysisRun{}
		if err := k8sClient.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, run); err != nil {
			return nil
		}
		return run
	}
}

// done waits for the run to reach a terminal phase and returns it.
func (f *fixture) done(name string) *v1alpha1.AnalysisRun {
	f.t.Helper()
	var run *v1alpha1.AnalysisRun
	f.g.Eventually(func() v1alpha1.AnalysisPhase {
		run = f.get(name)()
		if run == nil {
			return ""
		}
		return run.Status.Phase
	}).Should(BeElementOf(v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive))
	return run
}

// events are the "reason: note" of the events about a run.
func (f *fixture) events(name string) []string {
	var list eventsv1.EventList
	f.g.Expect(k8sClient.List(f.ctx, &list, client.InNamespace(f.ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e.Type+" "+e.Reason+": "+e.Note)
		}
	}
	return out
}

func (f *fixture) eventsEventually(name string) func() []string {
	return func() []string { return f.events(name) }
}

// backend is an HTTP endpoint whose answer the test sets.
type backend struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	body   string
	calls  int
	last   *http.Request
}

func newBackend(t *testing.T, status int, body string) *backend {
	b := &backend{status: status, body: body}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.calls++
		b.last = r.Clone(context.Background())
		w.WriteHeader(b.status)
		fmt.Fprint(w, b.body)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) request() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

func web(name, url string, edit func(*v1alpha1.Metric)) v1alpha1.Metric {
	m := v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: url, JSONPath: "{$.value}"}}}
	if edit != nil {
		edit(&m)
	}
	return m
}

func analysisRun(name string, metrics ...v1alpha1.Metric) *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.AnalysisRunSpec{Metrics: metrics}}
}

func count(n int32) *intstr.IntOrString { return ptr.To(intstr.FromInt32(n)) }

func TestSuccessfulRun(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200, `{"value":"ok"}`)
	f.create(analysisRun("ok", web("health", b.URL, func(m *v1alpha1.Metric) {
		m.Count, m.Interval, m.SuccessCondition = count(3), "1s", `result == "ok"`
	})))
	run := f.done("ok")
	f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	f.g.Expect(run.Status.Message).To(BeEmpty())
	f.g.Expect(run.Status.StartedAt).NotTo(BeNil())
	f.g.Expect(run.Status.CompletedAt).NotTo(BeNil())
	f.g.Expect(run.Status.RunSummary).To(Equal(v1alpha1.RunSummary{Count: 1, Successful: 1}))
	f.g.Expect(run.Status.MetricResults).To(HaveLen(1))
	res := run.Status.MetricResults[0]
	f.g.Expect(res.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	f.g.Expect([]int32{res.Count, res.Successful, res.ConsecutiveSuccess}).To(Equal([]int32{3, 3, 3}))
	f.g.Expect(res.Measurements).To(HaveLen(3))
	for i, m := range res.Measurements {
		f.g.Expect(m.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
		f.g.Expect(m.Value).To(Equal(`"ok"`))
		f.g.Expect(m.FinishedAt).NotTo(BeNil())
		if i > 0 {
			// The interval runs from the end of one measurement to the next.
			gap := m.StartedAt.Sub(res.Measurements[i-1].FinishedAt.Time)
			f.g.Expect(gap).To(BeNumerically(">=", 0))
		}
	}
	f.g.Eventually(f.eventsEventually("ok")).Should(ContainElements(
		"Normal MetricSuccessful: Metric 'health' Completed. Result: Successful",
		"Normal AnalysisRunSuccessful: Analysis Completed. Result: Successful",
	))
	// A finished run is not measured again.
	calls := func() int { b.mu.Lock(); defer b.mu.Unlock(); return b.calls }
	before := calls()
	f.g.Consistently(calls, 2*time.Second, 200*time.Millisecond).Should(Equal(before))
}

func TestFailureLimit(t *testing.T) {
	f := newFixture(t)
	bad := newBackend(t, 200, `{"value":0.2}`)
	good := newBackend(t, 200, `{"value":1}`)
	f.create(analysisRun("failing",
		web("rate", bad.URL, func(m *v1alpha1.Metric) {
			m.Interval, m.FailureLimit, m.SuccessCondition = "1s", count(1), "result >= 0.9"
		}),
		// Unbounded: only the run's end stops it.
		web("steady", good.URL, func(m *v1alpha1.Metric) { m.Interval, m.SuccessCondition = "1s", "result == 1" }),
	))
	run := f.done("failing")
	f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))
	f.g.Expect(run.Status.Message).To(Equal(`Metric "rate" assessed Failed due to failed (2) > failureLimit (1)`))
	f.g.Expect(run.Status.RunSummary).To(Equal(v1alpha1.RunSummary{Count: 2, Successful: 1, Failed: 1}))
	byName := map[string]v1alpha1.MetricResult{}
	for _, r := range run.Status.MetricResults {
		byName[r.Name] = r
	}
	f.g.Expect(byName["rate"].Failed).To(BeEquivalentTo(2))
	f.g.Expect(byName["rate"].Measurements).To(HaveEach(HaveField("Phase", v1alpha1.AnalysisPhaseFailed)))
	f.g.Expect(byName["steady"].Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful), "the run's end stops the other metric")
	f.g.Eventually(f.eventsEventually("failing")).Should(ContainElements(
		"Warning MetricFailed: Metric 'rate' Completed. Result: Failed",
		"Warning AnalysisRunFailed: Analysis Completed. Result: Failed",
	))
}

func TestInconclusive(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200, `{"value":0.7}`)
	f.create(analysisRun("unsure", web("rate", b.URL, func(m *v1alpha1.Metric) {
		m.SuccessCondition, m.FailureCondition = "result > 0.9", "result < 0.5"
	})))
	run := f.done("unsure")
	f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseInconclusive))
	f.g.Expect(run.Status.Message).To(Equal(`Metric "rate" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)`))
	f.g.Expect(run.Status.MetricResults[0].Measurements[0].Value).To(Equal("0.7"))
}

func TestConsecutiveErrorLimit(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 500, "down")
	f.create(analysisRun("erroring", web("rate", b.URL, func(m *v1alpha1.Metric) {
		m.Interval, m.ConsecutiveErrorLimit, m.SuccessCondition = "1s", count(1), "result > 0.9"
	})))
	// After the first error the run keeps going (1 is within the limit).
	f.g.Eventually(f.get("erroring")).Should(WithTransform(func(r *v1alpha1.AnalysisRun) int32 {
		if r == nil || len(r.Status.MetricResults) == 0 {
			return 0
		}
		return r.Status.MetricResults[0].ConsecutiveError
	}, BeEquivalentTo(1)))
	f.g.Expect(f.get("erroring")().Status.Phase).To(Equal(v1alpha1.AnalysisPhaseRunning))
	run := f.done("erroring")
	f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseError))
	f.g.Expect(run.Status.Message).To(Equal(`Metric "rate" assessed Error due to consecutiveErrors (2) > consecutiveErrorLimit (1): "Error Message: received non 2xx response code: 500"`))
	ms := run.Status.MetricResults[0].Measurements
	f.g.Expect(ms).To(HaveLen(2))
	// After an error the next try waits 10s, whatever the interval says.
	f.g.Expect(ms[1].StartedAt.Sub(ms[0].FinishedAt.Time)).To(BeNumerically(">=", 9*time.Second))
	f.g.Expect(run.Status.MetricResults[0].Count).To(BeZero(), "errors are not counted")
}

func TestTerminate(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200, `{"value":1}`)
	f.create(analysisRun("endless", web("rate", b.URL, func(m *v1alpha1.Metric) {
		m.Interval, m.SuccessCondition = "1s", "result == 1"
	})))
	measured := func(r *v1alpha1.AnalysisRun) int32 {
		if r == nil || len(r.Status.MetricResults) == 0 {
			return 0
		}
		return r.Status.MetricResults[0].Count
	}
	f.g.Eventually(f.get("endless")).Should(WithTransform(measured, BeNumerically(">=", 2)))
	f.g.Expect(k8sClient.Patch(f.ctx, &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "endless"}},
		client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`)))).To(Succeed())
	run := f.done("endless")
	f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	f.g.Expect(run.Status.Message).To(Equal("Run Terminated"))
	n := measured(run)
	f.g.Consistently(f.get("endless"), 2*time.Second, 200*time.Millisecond).Should(WithTransform(measured, Equal(n)), "no measurement after terminate")
}

func TestDryRun(t *testing.T) {
	f := newFixture(t)
	good := newBackend(t, 200, `{"value":1}`)
	bad := newBackend(t, 200, `{"value":0}`)
	run := analysisRun("dry",
		web("ok", good.URL, func(m *v1alpha1.Metric) { m.SuccessCondition = "result == 1" }),
		web("flaky-rate", bad.URL, func(m *v1alpha1.Metric) { m.SuccessCondition = "result == 1" }),
	)
	run.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "flaky"}} // unanchored regexp
	f.create(run)
	run = f.done("dry")
	f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	f.g.Expect(run.Status.RunSummary).To(Equal(v1alpha1.RunSummary{Count: 1, Successful: 1}))
	f.g.Expect(run.Status.DryRunSummary).To(Equal(&v1alpha1.RunSummary{Count: 1, Failed: 1}))
	var flaky v1alpha1.MetricResult
	for _, r := range run.Status.MetricResults {
		if r.Name == "flaky-rate" {
			flaky = r
		}
	}
	f.g.Expect(flaky.DryRun).To(BeTrue())
	f.g.Expect(flaky.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))
	f.g.Expect(flaky.Message).To(Equal("Metric assessed Failed due to failed (1) > failureLimit (0)"))
}

func TestMeasurementRetentionAndTTL(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200, `{"value":1}`)
	run := analysisRun("kept", web("rate", b.URL, func(m *v1alpha1.Metric) {
		m.Count, m.Interval, m.SuccessCondition = count(4), "500ms", "result == 1"
	}))
	run.Spec.MeasurementRetention = []v1alpha1.MeasurementRetention{{MetricName: "rate", Limit: 2}}
	run.Spec.TTLStrategy = &v1alpha1.TTLStrategy{SecondsAfterSuccess: ptr.To[int32](3)}
	f.create(run)
	run = f.done("kept")
	f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	f.g.Expect(run.Status.MetricResults[0].Count).To(BeEquivalentTo(4))
	f.g.Expect(run.Status.MetricResults[0].Measurements).To(HaveLen(2))
	// secondsAfterSuccess: the controller comes back when it expires.
	f.g.Eventually(func() bool {
		err := k8sClient.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: "kept"}, &v1alpha1.AnalysisRun{})
		return apierrors.IsNotFound(err)
	}).Should(BeTrue())
}

func TestSecretArgs(t *testing.T) {
	f := newFixture(t)
	const token = "tok-Zq8-very-secret"
	b := newBackend(t, 200, fmt.Sprintf(`{"value":%q}`, token))
	f.g.Expect(k8sClient.Create(f.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "creds"},
		Data:       map[string][]byte{"token": []byte(token)},
	})).To(Succeed())
	secretArg := v1alpha1.Argument{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "token"}}}

	run := analysisRun("secret",
		// The endpoint echoes the token back: the value must not keep it.
		web("echo", b.URL+"/q?t={{args.token}}", func(m *v1alpha1.Metric) {
			m.SuccessCondition = "len(result) > 0"
			m.Provider.Web.Headers = []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer {{args.token}}"}}
		}),
		// A failing call whose error text holds the URL, token included.
		web("unreachable", "http://127.0.0.1:1/q?t={{args.token}}", func(m *v1alpha1.Metric) {
			m.ConsecutiveErrorLimit = count(0)
		}),
	)
	run.Spec.Args = []v1alpha1.Argument{secretArg}
	f.create(run)
	run = f.done("secret")

	req := b.request()
	f.g.Expect(req).NotTo(BeNil())
	f.g.Expect(req.URL.Query().Get("t")).To(Equal(token), "the provider gets the real value")
	f.g.Expect(req.Header.Get("Authorization")).To(Equal("Bearer " + token))

	status, err := json.Marshal(run.Status)
	f.g.Expect(err).NotTo(HaveOccurred())
	f.g.Expect(string(status)).NotTo(ContainSubstring(token))
	f.g.Expect(string(status)).To(ContainSubstring("*****"))
	f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseError))
	f.g.Expect(run.Status.Message).To(ContainSubstring("t=*****"))
	f.g.Eventually(f.eventsEventually("secret")).ShouldNot(BeEmpty())
	f.g.Expect(strings.Join(f.events("secret"), "\n")).NotTo(ContainSubstring(token))
	f.g.Expect(logs.String()).NotTo(ContainSubstring(token))

	t.Run("missing Secret", func(t *testing.T) {
		run := analysisRun("no-secret", web("echo", b.URL+"/q?t={{args.token}}", nil))
		arg := secretArg
		arg.ValueFrom = &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "absent", Key: "token"}}
		run.Spec.Args = []v1alpha1.Argument{arg}
		f.create(run)
		run = f.done("no-secret")
		f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseError))
		f.g.Expect(run.Status.Message).To(Equal(fmt.Sprintf(`Unable to resolve metric arguments: secret 'absent' (argument "token") not found in namespace %s`, f.ns)))
		f.g.Expect(run.Status.MetricResults).To(BeEmpty(), "nothing is measured")
	})
	t.Run("missing key", func(t *testing.T) {
		run := analysisRun("no-key", web("echo", b.URL+"/q?t={{args.token}}", nil))
		arg := secretArg
		arg.ValueFrom = &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "other"}}
		run.Spec.Args = []v1alpha1.Argument{arg}
		f.create(run)
		run = f.done("no-key")
		f.g.Expect(run.Status.Message).To(Equal("Unable to resolve metric arguments: key 'other' does not exist in secret 'creds'"))
	})
}

func TestBadInput(t *testing.T) {
	b := newBackend(t, 200, `{"value":1}`)
	tests := []struct {
		name    string
		run     *v1alpha1.AnalysisRun
		message string
	}{
		{
			name:    "unparsable condition",
			run:     analysisRun("bad-condition", web("rate", b.URL, func(m *v1alpha1.Metric) { m.SuccessCondition = "result >= " })),
			message: `Analysis spec invalid: metrics[0]: successCondition "result >= " does not parse: unexpected token EOF (1:10)`,
		},
		{
			name: "unsupported provider",
			run: analysisRun("datadog", v1alpha1.Metric{Name: "errors", Provider: v1alpha1.MetricProvider{
				Datadog: &apiextensionsv1.JSON{Raw: []byte(`{"query":"sum:errors{*}"}`)},
			}}),
			message: "Analysis spec invalid: metrics[0]: provider datadog is not supported by Switchyard (supported: prometheus, web, job)",
		},
		{
			name:    "missing arg",
			run:     analysisRun("missing-arg", web("rate", b.URL+"/{{args.path}}", nil)),
			message: "Unable to resolve metric arguments: failed to resolve {{args.path}}",
		},
		{
			name: "arg without a value",
			run: func() *v1alpha1.AnalysisRun {
				r := analysisRun("unset-arg", web("rate", b.URL, nil))
				r.Spec.Args = []v1alpha1.Argument{{Name: "x"}}
				return r
			}(),
			message: `Unable to resolve metric arguments: argument "x" was not supplied`,
		},
		{
			name:    "count without interval",
			run:     analysisRun("no-interval", web("rate", b.URL, func(m *v1alpha1.Metric) { m.Count = count(3) })),
			message: "Analysis spec invalid: metrics[0]: interval must be specified when count > 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.create(tt.run)
			run := f.done(tt.run.Name)
			f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseError))
			f.g.Expect(run.Status.Message).To(Equal(tt.message))
			f.g.Expect(run.Status.MetricResults).To(BeEmpty())
			f.g.Eventually(f.eventsEventually(tt.run.Name)).Should(ContainElement("Warning AnalysisRunError: Analysis Completed. Result: Error"))
		})
	}
}

func jobMetric(name, image, delay string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Job: &v1alpha1.JobMetric{
		Metadata: metav1.ObjectMeta{Labels: map[string]string{"purpose": "smoke"}},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"switchyard.dev/exit-delay": delay}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "check", Image: image, Args: []string{"{{args.target}}"}}},
				},
			},
		},
	}}}
}

func TestJobMetric(t *testing.T) {
	for _, tt := range []struct {
		image   string
		phase   v1alpha1.AnalysisPhase
		message string
	}{
		{"check:succeed", v1alpha1.AnalysisPhaseSuccessful, ""},
		{"check:fail", v1alpha1.AnalysisPhaseFailed, `Metric "smoke" assessed Failed due to failed (1) > failureLimit (0): "Error Message: Job has reached the specified backoff limit"`},
	} {
		t.Run(tt.image, func(t *testing.T) {
			f := newFixture(t)
			run := analysisRun("job", jobMetric("smoke", tt.image, "2s"))
			run.Spec.Args = []v1alpha1.Argument{{Name: "target", Value: ptr.To("http://checkout")}}
			f.create(run)
			// While the pod runs, the measurement is in flight.
			f.g.Eventually(f.get("job")).Should(WithTransform(func(r *v1alpha1.AnalysisRun) v1alpha1.AnalysisPhase {
				if r == nil || len(r.Status.MetricResults) == 0 || len(r.Status.MetricResults[0].Measurements) == 0 {
					return ""
				}
				return r.Status.MetricResults[0].Measurements[0].Phase
			}, Equal(v1alpha1.AnalysisPhaseRunning)))
			run = f.done("job")
			f.g.Expect(run.Status.Phase).To(Equal(tt.phase))
			f.g.Expect(run.Status.Message).To(Equal(tt.message))
			m := run.Status.MetricResults[0].Measurements[0]
			name := job.Name(string(run.UID), "smoke", 1)
			f.g.Expect(m.Metadata).To(Equal(map[string]string{"job-name": name, "job-namespace": f.ns}))

			j := &batchv1.Job{}
			f.g.Expect(k8sClient.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, j)).To(Succeed())
			f.g.Expect(j.Labels).To(HaveKeyWithValue(job.RunUIDLabel, string(run.UID)))
			f.g.Expect(j.Labels).To(HaveKeyWithValue("purpose", "smoke"))
			f.g.Expect(j.Spec.Template.Labels).To(HaveKeyWithValue(job.RunUIDLabel, string(run.UID)))
			f.g.Expect(j.Annotations).To(HaveKeyWithValue(job.MetricNameAnnotation, "smoke"))
			f.g.Expect(j.Spec.Template.Spec.Containers[0].Args).To(Equal([]string{"http://checkout"}), "args reach the Job spec")
			f.g.Expect(metav1.IsControlledBy(j, run)).To(BeTrue())
		})
	}
	t.Run("terminated while running", func(t *testing.T) {
		f := newFixture(t)
		run := analysisRun("long-job", jobMetric("smoke", "check:succeed", "1h"))
		run.Spec.Args = []v1alpha1.Argument{{Name: "target", Value: ptr.To("x")}}
		f.create(run)
		var name string
		f.g.Eventually(func() string {
			r := f.get("long-job")()
			if r == nil || len(r.Status.MetricResults) == 0 {
				return ""
			}
			name = r.Status.MetricResults[0].Measurements[0].Metadata["job-name"]
			return name
		}).ShouldNot(BeEmpty())
		f.g.Expect(k8sClient.Patch(f.ctx, &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "long-job"}},
			client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`)))).To(Succeed())
		run = f.done("long-job")
		f.g.Expect(run.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseInconclusive))
		f.g.Expect(run.Status.MetricResults[0].Measurements[0].Message).To(Equal("Metric Terminated"))
		f.g.Eventually(func() bool {
			err := k8sClient.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, &batchv1.Job{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue(), "the Job is deleted")
	})
}
