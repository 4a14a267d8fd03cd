package cmdtest

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// runningExperiment creates an Experiment with two templates, one
// ReplicaSet each (kube-controller-manager runs their pod) and one run, as
// the controller leaves them while it runs; it has run 10 of its 60
// minutes.
func (f *fixture) runningExperiment(name string) *v1alpha1.Experiment {
	f.t.Helper()
	tmpl := func(role, image string) v1alpha1.TemplateSpec {
		l := map[string]string{"app": "demo", "role": role}
		return v1alpha1.TemplateSpec{
			Name: role, Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}},
		}
	}
	ex := &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: v1alpha1.ExperimentSpec{
			Duration:  "1h",
			Templates: []v1alpha1.TemplateSpec{tmpl("baseline", "demo:1"), tmpl("canary", "demo:2")},
			Analyses:  []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "compare", TemplateName: "compare"}},
		},
	}
	f.g.Expect(f.c.Create(f.ctx, ex)).To(Succeed())
	owner := []metav1.OwnerReference{*metav1.NewControllerRef(ex, v1alpha1.GroupVersion.WithKind("Experiment"))}
	for _, t := range ex.Spec.Templates {
		tmpl := *t.Template.DeepCopy()
		tmpl.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = "h-" + t.Name
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: f.ns, Name: name + "-" + t.Name, Labels: tmpl.Labels, OwnerReferences: owner,
				Annotations: map[string]string{v1alpha1.ExperimentNameAnnotationKey: name, v1alpha1.ExperimentTemplateNameAnnotationKey: t.Name},
			},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl},
		}
		f.g.Expect(f.c.Create(f.ctx, rs)).To(Succeed())
	}
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name + "-compare", OwnerReferences: owner},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{
			Name: "m", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://example.invalid"}},
		}}},
	}
	f.g.Expect(f.c.Create(f.ctx, run)).To(Succeed())
	run.Status = v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning, MetricResults: []v1alpha1.MetricResult{
		{Name: "m", Phase: v1alpha1.AnalysisPhaseRunning, Count: 3, Successful: 2, Failed: 1},
	}}
	f.g.Expect(f.c.Update(f.ctx, run)).To(Succeed())

	available := metav1.NewTime(fixedNow.Add(-10 * time.Minute))
	ex.Status = v1alpha1.ExperimentStatus{
		Phase: v1alpha1.AnalysisPhaseRunning, AvailableAt: &available,
		TemplateStatuses: []v1alpha1.TemplateStatus{
			{Name: "baseline", Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, Status: v1alpha1.TemplateStatusRunning},
			{Name: "canary", Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, Status: v1alpha1.TemplateStatusRunning},
		},
		AnalysisRuns: []v1alpha1.ExperimentAnalysisRunStatus{{Name: "compare", AnalysisRun: run.Name, Phase: v1alpha1.AnalysisPhaseRunning}},
	}
	// No status subresource: status is written through the main resource.
	f.g.Expect(f.c.Update(f.ctx, ex)).To(Succeed())
	return ex
}

func (f *fixture) experiment(name string) *v1alpha1.Experiment {
	f.t.Helper()
	ex := &v1alpha1.Experiment{}
	f.g.Expect(f.c.Get(f.ctx, key(f.ns, name), ex)).To(Succeed())
	return ex
}

func TestExperimentCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.runningExperiment("exp")

	// get experiment: the summary and the tree, once the pods are ready.
	var r result
	f.g.Eventually(func() string {
		r = f.run("get", "experiment", "exp", "--no-color")
		return r.out
	}).Should(MatchRegexp(`(?s)exp-baseline\s+ReplicaSet\s+✔ Healthy.*ready:1/1.*exp-canary\s+ReplicaSet\s+✔ Healthy.*ready:1/1`))
	f.g.Expect(r.code).To(BeZero(), r.err)
	lines := strings.Split(strings.TrimRight(r.out, "\n"), "\n")
	f.g.Expect(lines).To(HaveExactElements(
		"Name:            exp",
		"Namespace:       "+f.ns,
		"Status:          ◌ Running",
		"Images:          demo:1 (Σ:baseline)",
		"                 demo:2 (Σ:canary)",
		"",
		MatchRegexp(`^NAME\s+KIND\s+STATUS\s+AGE\s+INFO$`),
		MatchRegexp(`^Σ exp\s+Experiment\s+◌ Running\s+\S+$`),
		MatchRegexp(`^├──⧉ exp-baseline\s+ReplicaSet\s+✔ Healthy\s+\S+$`),
		MatchRegexp(`^│  └──□ exp-baseline-\w+\s+Pod\s+✔ Running\s+\S+\s+ready:1/1$`),
		MatchRegexp(`^├──⧉ exp-canary\s+ReplicaSet\s+✔ Healthy\s+\S+$`),
		MatchRegexp(`^│  └──□ exp-canary-\w+\s+Pod\s+✔ Running\s+\S+\s+ready:1/1$`),
		MatchRegexp(`^└──α exp-compare\s+AnalysisRun\s+◌ Running\s+\S+\s+✔ 2,✖ 1$`),
	))
	f.g.Expect(f.run("get", "exp", "exp", "--no-color").out).To(Equal(r.out), "alias exp")
	f.g.Expect(f.run("get", "experiment", "nope")).To(Equal(result{err: "Error: experiments.argoproj.io \"nope\" not found\n", code: 1}))

	// list experiments: 60 minutes, 50 left.
	r = f.run("list", "experiments")
	f.g.Expect(r.code).To(BeZero(), r.err)
	f.g.Expect(strings.Split(strings.TrimRight(r.out, "\n"), "\n")).To(HaveExactElements(
		MatchRegexp(`^NAME\s+STATUS\s+DURATION\s+REMAINING\s+AGE$`),
		MatchRegexp(`^exp\s+Running\s+60m\s+50m\s+\S+$`),
	))
	r = f.run("list", "exp", "-A")
	f.g.Expect(r.out).To(MatchRegexp(`(?m)^NAMESPACE\s+NAME\s+STATUS\s+DURATION\s+REMAINING\s+AGE$`))
	f.g.Expect(r.out).To(MatchRegexp(`(?m)^` + f.ns + `\s+exp\s+Running\s+60m\s+50m\s+\S+$`))

	// terminate experiment: spec.terminate, nothing else.
	f.g.Expect(f.run("terminate", "experiment", "exp")).To(Equal(result{out: "experiment 'exp' terminated\n"}))
	ex := f.experiment("exp")
	f.g.Expect(ex.Spec.Terminate).To(BeTrue())
	f.g.Expect(ex.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseRunning))
	f.g.Expect(f.run("terminate", "exp", "nope")).To(Equal(result{err: "Error: experiments.argoproj.io \"nope\" not found\n", code: 1}))

	// retry experiment: the status is gone (the controller starts over).
	f.g.Expect(f.run("retry", "experiment", "exp")).To(Equal(result{out: "experiment 'exp' retried\n"}))
	ex = f.experiment("exp")
	f.g.Expect(ex.Status).To(Equal(v1alpha1.ExperimentStatus{}))
	f.g.Expect(ex.Spec.Terminate).To(BeTrue(), "retry leaves the spec alone")
	f.g.Expect(f.run("retry", "exp", "nope")).To(Equal(result{err: "Error: experiments.argoproj.io \"nope\" not found\n", code: 1}))
	f.g.Expect(f.run("retry", "experiment")).To(Equal(result{
		err:  "Error: expected at least one experiment name\nSee 'kubectl argo rollouts retry experiment --help' for usage.\n",
		code: 1,
	}))
}

func TestListExperimentsEmpty(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.g.Expect(f.run("list", "experiments")).To(Equal(result{err: "No resources found.\n"}))
}
