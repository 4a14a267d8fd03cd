package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	experimentpkg "github.com/switchyard-dev/switchyard/internal/experiment"
	"github.com/switchyard-dev/switchyard/internal/hash"
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
	g.SetDefaultConsistentlyPollingInterval(100 * time.Millisecond)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "experiment-it-"}}
	g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("EXPERIMENT_IT_LOGS") != "" {
			t.Logf("controller log:\n%s", logs.String())
		}
		_ = k8sClient.Delete(context.Background(), ns)
	})
	return &fixture{t: t, g: g, ns: ns.Name, ctx: ctx}
}

// backend is an HTTP endpoint whose answer the test sets; it records the
// paths it was asked for.
type backend struct {
	*httptest.Server
	mu    sync.Mutex
	body  string
	paths []string
}

func newBackend(t *testing.T, body string) *backend {
	b := &backend{body: body}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.paths = append(b.paths, r.URL.Path)
		fmt.Fprint(w, b.body)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) set(body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.body = body
}

func (b *backend) requested() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.paths...)
}

// template creates an AnalysisTemplate measuring the backend at
// /<hash arg>: Successful on {"value":1}, Failed on {"value":0}.
func (f *fixture) template(name, url string) {
	f.t.Helper()
	at := &v1alpha1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: v1alpha1.AnalysisTemplateSpec{
			Args: []v1alpha1.Argument{{Name: "baseline-hash"}},
			Metrics: []v1alpha1.Metric{{
				Name: "compare", Interval: "500ms", Count: ptr.To(intstr.FromInt32(2)),
				SuccessCondition: "result == 1", FailureCondition: "result == 0",
				Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: url + "/{{args.baseline-hash}}", JSONPath: "{$.value}"}},
			}},
		},
	}
	f.g.Expect(k8sClient.Create(f.ctx, at)).To(Succeed())
}

func podTemplate(role, image string, ports ...corev1.ContainerPort) (*metav1.LabelSelector, corev1.PodTemplateSpec) {
	l := map[string]string{"app": "web", "role": role}
	return &metav1.LabelSelector{MatchLabels: l}, corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: l},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image, Ports: ports}}},
	}
}

// experiment is a baseline (web:1) and a canary (web:2, with a Service)
// running for duration.
func experiment(name, duration string) *v1alpha1.Experiment {
	bsel, btmpl := podTemplate("baseline", "web:1")
	csel, ctmpl := podTemplate("canary", "web:2", corev1.ContainerPort{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP})
	return &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ExperimentSpec{
			Duration:              v1alpha1.DurationString(duration),
			ScaleDownDelaySeconds: ptr.To[int32](0),
			Templates: []v1alpha1.TemplateSpec{
				{Name: "baseline", Selector: bsel, Template: btmpl},
				{Name: "canary", Replicas: ptr.To[int32](2), Selector: csel, Template: ctmpl, Service: &v1alpha1.TemplateService{}},
			},
		},
	}
}

func withAnalysis(ex *v1alpha1.Experiment, template string) *v1alpha1.Experiment {
	ex.Spec.Analyses = []v1alpha1.ExperimentAnalysisTemplateRef{{
		Name: "compare", TemplateName: template,
		Args: []v1alpha1.Argument{{Name: "baseline-hash", Value: ptr.To("{{templates.baseline.podTemplateHash}}")}},
	}}
	ex.Spec.AnalysisRunMetadata = v1alpha1.AnalysisRunMetadata{Labels: map[string]string{"team": "web"}, Annotations: map[string]string{"owner": "alice"}}
	return ex
}

func (f *fixture) create(ex *v1alpha1.Experiment) {
	f.t.Helper()
	ex.Namespace = f.ns
	f.g.Expect(k8sClient.Create(f.ctx, ex)).To(Succeed())
}

func (f *fixture) get(name string) func() *v1alpha1.Experiment {
	return func() *v1alpha1.Experiment {
		ex := &v1alpha1.Experiment{}
		if err := k8sClient.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, ex); err != nil {
			return nil
		}
		return ex
	}
}

func phase(ex *v1alpha1.Experiment) v1alpha1.AnalysisPhase {
	if ex == nil {
		return ""
	}
	return ex.Status.Phase
}

// done waits for a final phase and returns the Experiment.
func (f *fixture) done(name string) *v1alpha1.Experiment {
	f.t.Helper()
	f.g.Eventually(f.get(name)).Should(WithTransform(phase, BeElementOf(
		v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive)))
	return f.get(name)()
}

func (f *fixture) replicaSet(name string) func() *appsv1.ReplicaSet {
	return func() *appsv1.ReplicaSet {
		rs := &appsv1.ReplicaSet{}
		if err := k8sClient.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, rs); err != nil {
			return nil
		}
		return rs
	}
}

func (f *fixture) replicaSets() []appsv1.ReplicaSet {
	var list appsv1.ReplicaSetList
	f.g.Expect(k8sClient.List(f.ctx, &list, client.InNamespace(f.ns))).To(Succeed())
	return list.Items
}

func specReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return -1
	}
	return ptr.Deref(rs.Spec.Replicas, -1)
}

func (f *fixture) service(name string) func() *corev1.Service {
	return func() *corev1.Service {
		svc := &corev1.Service{}
		if err := k8sClient.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, svc); err != nil {
			return nil
		}
		return svc
	}
}

func (f *fixture) run(name string) *v1alpha1.AnalysisRun {
	f.t.Helper()
	run := &v1alpha1.AnalysisRun{}
	f.g.Expect(k8sClient.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: name}, run)).To(Succeed())
	return run
}

// events are the "type reason: note" of the events about an object.
func (f *fixture) events(name string) func() []string {
	return func() []string {
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
}

func (f *fixture) patch(name, patch string) {
	f.t.Helper()
	f.g.Expect(k8sClient.Patch(f.ctx, &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}},
		client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}

// TestSuccessfulExperiment: baseline and canary come up, the analysis
// starts once both are available and measures with the baseline's hash,
// the duration passes, the Experiment ends Successful and scales its
// ReplicaSets down after scaleDownDelaySeconds, deleting the canary's
// Service.
func TestSuccessfulExperiment(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, `{"value":1}`)
	f.template("compare", b.URL)
	ex := withAnalysis(experiment("exp", "3s"), "compare")
	ex.Spec.ScaleDownDelaySeconds = ptr.To[int32](2)
	f.create(ex)

	// Both ReplicaSets, named <experiment>-<template>, owned by the
	// Experiment, with the template's hash in labels and selector.
	f.g.Eventually(f.replicaSet("exp-canary")).Should(WithTransform(specReplicas, BeEquivalentTo(2)))
	f.g.Eventually(f.replicaSet("exp-baseline")).Should(WithTransform(specReplicas, BeEquivalentTo(1)))
	created := f.get("exp")()
	baseline := f.replicaSet("exp-baseline")()
	bhash := hash.PodTemplateHash(&created.Spec.Templates[0].Template, nil)
	f.g.Expect(baseline.Labels).To(HaveKeyWithValue(v1alpha1.DefaultRolloutUniqueLabelKey, bhash))
	f.g.Expect(baseline.Spec.Selector.MatchLabels).To(HaveKeyWithValue(v1alpha1.DefaultRolloutUniqueLabelKey, bhash))
	f.g.Expect(baseline.Annotations).To(Equal(map[string]string{"experiment.argoproj.io/name": "exp", "experiment.argoproj.io/template-name": "baseline"}))
	f.g.Expect(metav1.IsControlledBy(baseline, created)).To(BeTrue())

	// The canary's Service selects its pods.
	f.g.Eventually(f.service("exp-canary")).ShouldNot(BeNil())
	svc := f.service("exp-canary")()
	chash := f.replicaSet("exp-canary")().Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	f.g.Expect(svc.Spec.Selector).To(Equal(map[string]string{"app": "web", "role": "canary", v1alpha1.DefaultRolloutUniqueLabelKey: chash}))
	f.g.Expect(svc.Spec.Ports).To(HaveLen(1))
	f.g.Expect(svc.Spec.Ports[0].TargetPort).To(Equal(intstr.FromInt32(8080)))
	f.g.Expect(f.service("exp-baseline")()).To(BeNil(), "a template without service gets none")

	// Running: availableAt set, the run created with the Experiment's
	// metadata, the template Service recorded.
	f.g.Eventually(f.get("exp")).Should(WithTransform(phase, Equal(v1alpha1.AnalysisPhaseRunning)))
	running := f.get("exp")()
	f.g.Expect(running.Status.AvailableAt).NotTo(BeNil())
	f.g.Eventually(func() []v1alpha1.ExperimentAnalysisRunStatus { return f.get("exp")().Status.AnalysisRuns }).
		Should(ContainElement(HaveField("AnalysisRun", "exp-compare")))
	run := f.run("exp-compare")
	f.g.Expect(run.Labels).To(Equal(map[string]string{"team": "web"}))
	f.g.Expect(run.Annotations).To(Equal(map[string]string{"owner": "alice"}))
	f.g.Expect(metav1.IsControlledBy(run, created)).To(BeTrue())
	f.g.Expect(run.Spec.Args).To(ContainElement(v1alpha1.Argument{Name: "baseline-hash", Value: ptr.To(bhash)}))

	final := f.done("exp")
	f.g.Expect(final.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	f.g.Expect(b.requested()).To(ContainElement("/" + bhash))
	f.g.Expect(final.Status.TemplateStatuses).To(HaveEach(HaveField("Status", v1alpha1.TemplateStatusSuccessful)))
	f.g.Expect(final.Status.Conditions).To(ContainElement(And(
		HaveField("Type", v1alpha1.ExperimentProgressing), HaveField("Status", corev1.ConditionFalse),
		HaveField("Reason", "ExperimentCompleted"), HaveField("Message", `Experiment "exp" has successfully ran and completed.`))))
	// The duration counts from availableAt.
	f.g.Expect(final.Status.TemplateStatuses[0].LastTransitionTime).NotTo(BeNil())

	// The pods stay for scaleDownDelaySeconds, then go; the Service goes
	// with them.
	f.g.Eventually(f.replicaSet("exp-canary")).Should(WithTransform(func(rs *appsv1.ReplicaSet) string {
		return rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]
	}, Not(BeEmpty())))
	f.g.Eventually(f.replicaSet("exp-canary")).Should(WithTransform(specReplicas, BeZero()))
	f.g.Eventually(f.replicaSet("exp-baseline")).Should(WithTransform(specReplicas, BeZero()))
	f.g.Eventually(f.service("exp-canary")).Should(BeNil())
	f.g.Eventually(func() []v1alpha1.TemplateStatus { return f.get("exp")().Status.TemplateStatuses }).
		Should(HaveEach(And(HaveField("AvailableReplicas", BeZero()), HaveField("ServiceName", BeEmpty()))))
	f.g.Expect(f.run("exp-compare").Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	f.g.Eventually(f.events("exp")).Should(ContainElements(
		"Normal TemplateRunning: Template 'canary' transitioned from Progressing -> Running",
		"Normal TemplateSuccessful: Template 'canary' transitioned from Running -> Successful",
		"Normal AnalysisRunPending: AnalysisRun 'compare' transitioned from  -> Pending",
		MatchRegexp("^Normal AnalysisRunSuccessful: AnalysisRun 'compare' transitioned from (Pending|Running) -> Successful$"),
		"Normal ExperimentRunning: Experiment transitioned from Pending -> Running",
		"Normal ExperimentSuccessful: Experiment transitioned from Running -> Successful",
		"Normal ScalingReplicaSet: Scaled up ReplicaSet exp-canary from 0 to 2",
		"Normal ScalingReplicaSet: Scaled down ReplicaSet exp-canary from 2 to 0",
	))
}

// TestFailedAnalysisThenRetry: the run fails, the Experiment ends Failed
// with the run's message and scales down at once; `retry` (status: null)
// starts it again with a fresh run, <name>.1, which succeeds.
func TestFailedAnalysisThenRetry(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, `{"value":0}`)
	f.template("compare", b.URL)
	f.create(withAnalysis(experiment("exp", ""), "compare"))

	final := f.done("exp")
	f.g.Expect(final.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))
	f.g.Expect(final.Status.Message).To(Equal(`Metric "compare" assessed Failed due to failed (1) > failureLimit (0)`))
	f.g.Expect(final.Status.AnalysisRuns).To(ConsistOf(And(HaveField("AnalysisRun", "exp-compare"), HaveField("Phase", v1alpha1.AnalysisPhaseFailed))))
	f.g.Eventually(f.replicaSet("exp-canary")).Should(WithTransform(specReplicas, BeZero()))
	f.g.Eventually(f.replicaSet("exp-baseline")).Should(WithTransform(specReplicas, BeZero()))
	f.g.Eventually(f.events("exp")).Should(ContainElements(
		// The run may fail on its first measurement, before the
		// Experiment has seen it Running.
		MatchRegexp(`^Warning AnalysisRunFailed: AnalysisRun 'compare' transitioned from (Pending|Running) -> Failed: Metric "compare" assessed Failed due to failed \(1\) > failureLimit \(0\)$`),
		"Warning ExperimentFailed: Experiment transitioned from Running -> Failed",
	))

	b.set(`{"value":1}`)
	// Without a duration, the run's success ends the Experiment only if
	// it is required.
	f.patch("exp", `{"spec":{"analyses":[{"name":"compare","templateName":"compare","requiredForCompletion":true,"args":[{"name":"baseline-hash","value":"{{templates.baseline.podTemplateHash}}"}]}]}}`)
	f.patch("exp", `{"status":null}`)
	f.g.Eventually(f.get("exp")).Should(WithTransform(phase, Equal(v1alpha1.AnalysisPhaseSuccessful)))
	retried := f.get("exp")()
	f.g.Expect(retried.Status.Message).To(Equal("Required AnalysisRuns completed"))
	f.g.Expect(retried.Status.AnalysisRuns).To(ConsistOf(And(HaveField("AnalysisRun", "exp-compare.1"), HaveField("Phase", v1alpha1.AnalysisPhaseSuccessful))))
	f.g.Expect(f.run("exp-compare").Status.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed), "the first run is kept")
	// The same ReplicaSets were scaled up again and down again.
	f.g.Expect(f.replicaSets()).To(HaveLen(2))
	f.g.Eventually(f.replicaSet("exp-canary")).Should(WithTransform(specReplicas, BeZero()))
	f.g.Eventually(f.events("exp")).Should(ContainElement("Normal ScalingReplicaSet: Scaled up ReplicaSet exp-canary from 0 to 2"))
}

// TestTerminate: an Experiment without duration or analyses runs until it
// is terminated, then ends Successful and scales down.
func TestTerminate(t *testing.T) {
	f := newFixture(t)
	f.create(experiment("exp", ""))
	f.g.Eventually(f.get("exp")).Should(WithTransform(phase, Equal(v1alpha1.AnalysisPhaseRunning)))
	f.g.Consistently(f.get("exp"), 2*time.Second).Should(WithTransform(phase, Equal(v1alpha1.AnalysisPhaseRunning)))
	f.g.Eventually(f.get("exp")).Should(WithTransform(func(ex *v1alpha1.Experiment) string {
		for _, c := range ex.Status.Conditions {
			if c.Type == v1alpha1.ExperimentProgressing {
				return c.Reason + ": " + c.Message
			}
		}
		return ""
	}, Equal(`NewReplicaSetAvailable: Experiment "exp" is running.`)))

	f.patch("exp", `{"spec":{"terminate":true}}`)
	final := f.done("exp")
	f.g.Expect(final.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	f.g.Eventually(f.replicaSet("exp-canary")).Should(WithTransform(specReplicas, BeZero()))
	f.g.Eventually(f.replicaSet("exp-baseline")).Should(WithTransform(specReplicas, BeZero()))
	f.g.Eventually(f.service("exp-canary")).Should(BeNil())
}

// TestProgressDeadline: a template whose pods never become ready fails at
// progressDeadlineSeconds, and the Experiment with it; nothing keeps
// running.
func TestProgressDeadline(t *testing.T) {
	f := newFixture(t)
	ex := experiment("exp", "1m")
	ex.Spec.ProgressDeadlineSeconds = ptr.To[int32](3)
	ex.Spec.Templates[1].Template.Spec.Containers[0].Image = "web:unready"
	f.create(ex)

	final := f.done("exp")
	f.g.Expect(final.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseFailed))
	f.g.Expect(final.Status.Message).To(Equal("Template 'canary' exceeded its progressDeadlineSeconds (3)"))
	f.g.Expect(final.Status.AvailableAt).To(BeNil())
	f.g.Eventually(f.replicaSet("exp-canary")).Should(WithTransform(specReplicas, BeZero()))
	f.g.Eventually(f.replicaSet("exp-baseline")).Should(WithTransform(specReplicas, BeZero()))
	f.g.Eventually(f.events("exp")).Should(ContainElement(
		"Warning TemplateFailed: Template 'canary' transitioned from Progressing -> Failed: Template 'canary' exceeded its progressDeadlineSeconds (3)"))
}

// TestBadInput: an invalid template or a missing AnalysisTemplate ends the
// Experiment in Error with the InvalidSpec condition naming the problem,
// and no ReplicaSet is created.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	mismatch := experiment("mismatch", "")
	mismatch.Spec.Templates[1].Template.Labels = map[string]string{"app": "web"}
	f.create(mismatch)
	missing := withAnalysis(experiment("missing", ""), "nope")
	f.create(missing)

	for name, msg := range map[string]string{
		"mismatch": `spec.templates[1].selector: "app=web,role=canary" does not match the template's labels app=web`,
		"missing":  "AnalysisTemplate verification failed for analysis 'compare': AnalysisTemplate 'nope' not found",
	} {
		ex := f.done(name)
		f.g.Expect(ex.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseError), name)
		f.g.Expect(ex.Status.Message).To(Equal(msg), name)
		f.g.Expect(ex.Status.Conditions).To(ContainElement(And(
			HaveField("Type", v1alpha1.ExperimentInvalidSpec), HaveField("Status", corev1.ConditionTrue),
			HaveField("Reason", "InvalidSpec"), HaveField("Message", msg))), name)
		f.g.Eventually(f.events(name)).Should(ContainElement("Warning InvalidSpec: InvalidSpec: "+msg), name)
	}
	f.g.Expect(f.get("missing")().Status.AnalysisRuns).To(ConsistOf(And(HaveField("Name", "compare"), HaveField("Phase", v1alpha1.AnalysisPhaseError))))
	f.g.Consistently(f.replicaSets, 2*time.Second).Should(BeEmpty())
}

// TestOtherInstance: an Experiment labelled for another controller instance
// is left alone.
func TestOtherInstance(t *testing.T) {
	f := newFixture(t)
	ex := experiment("theirs", "")
	ex.Labels = map[string]string{v1alpha1.InstanceIDLabelKey: "other"}
	f.create(ex)
	f.create(experiment("ours", ""))
	f.g.Eventually(f.get("ours")).Should(WithTransform(phase, Not(BeEmpty())))
	f.g.Consistently(f.get("theirs"), 2*time.Second).Should(WithTransform(phase, BeEmpty()))
	f.g.Expect(f.replicaSet("theirs-canary")()).To(BeNil())
}

// TestCreateOrAdopt: the Rollout step's Experiment is created once, found
// again while it runs (a lost status write), and created anew as <name>-1
// once the first one has ended.
func TestCreateOrAdopt(t *testing.T) {
	f := newFixture(t)
	owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "owner"}}
	f.g.Expect(k8sClient.Create(f.ctx, owner)).To(Succeed())
	want := experiment("step", "")
	want.Namespace = f.ns
	want.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, corev1.SchemeGroupVersion.WithKind("ConfigMap"))}

	first, created, err := experimentpkg.CreateOrAdopt(f.ctx, k8sClient, k8sClient, want)
	f.g.Expect(err).NotTo(HaveOccurred())
	f.g.Expect(first.Name).To(Equal("step"))
	f.g.Expect(created).To(BeTrue())
	again, created, err := experimentpkg.CreateOrAdopt(f.ctx, k8sClient, k8sClient, want)
	f.g.Expect(err).NotTo(HaveOccurred())
	f.g.Expect(again.UID).To(Equal(first.UID))
	f.g.Expect(created).To(BeFalse(), "adopted")

	f.g.Expect(experimentpkg.Terminate(f.ctx, k8sClient, f.ns, "step")).To(Succeed())
	f.g.Expect(f.get("step")().Spec.Terminate).To(BeTrue())
	retried, created, err := experimentpkg.CreateOrAdopt(f.ctx, k8sClient, k8sClient, want)
	f.g.Expect(err).NotTo(HaveOccurred())
	f.g.Expect(retried.Name).To(Equal("step-1"))
	f.g.Expect(created).To(BeTrue())
	f.g.Expect(experimentpkg.Terminate(f.ctx, k8sClient, f.ns, "gone")).To(Succeed(), "a missing Experiment is not an error")
}
