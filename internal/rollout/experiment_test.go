package rollout_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/rollout"
)

// experimentNamed reads an Experiment; nil when there is none.
func experimentNamed(ns, name string) func() *v1alpha1.Experiment {
	return func() *v1alpha1.Experiment {
		ex := &v1alpha1.Experiment{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, ex); err != nil {
			return nil
		}
		return ex
	}
}

func experimentPhase(ns, name string) func() v1alpha1.AnalysisPhase {
	return func() v1alpha1.AnalysisPhase {
		if ex := experimentNamed(ns, name)(); ex != nil {
			return ex.Status.Phase
		}
		return "missing"
	}
}

func experimentNames(g Gomega, ns string) []string {
	var list v1alpha1.ExperimentList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, ex := range list.Items {
		out = append(out, ex.Name)
	}
	return out
}

// experimentStep is a step running a baseline of the stable pods and a
// canary of the new ones side by side, with one analysis of the verdict at
// url that the step waits for.
func experimentStep(template, url string) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{
		Templates: []v1alpha1.RolloutExperimentTemplate{
			{Name: "baseline", SpecRef: v1alpha1.StableSpecRef},
			{Name: "canary", SpecRef: v1alpha1.CanarySpecRef},
		},
		Analyses: []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{{
			Name: "compare", TemplateName: template, RequiredForCompletion: true,
			Args: []v1alpha1.AnalysisRunArgument{{Name: "url", Value: url}},
		}},
	}}
}

// TestCanaryExperimentStep: the step's Experiment runs the stable and the
// new pod templates side by side; Successful, the step completes and the
// update is promoted; Failed, the update aborts with the reference's
// message and the stable pods keep everything; a retry runs a fresh "-1"
// Experiment. Finished Experiments are kept up to spec.analysis's limits.
func TestCanaryExperimentStep(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	web := newVerdicts(t)
	createTemplate(g, ns, webTemplate)
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](2)
	ro.Spec.Analysis = &v1alpha1.AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](1)}
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}, experimentStep("web-check", web.url(ns))}
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Expect(experimentNames(g, ns)).To(BeEmpty(), "the first deploy runs no experiment")

	web.say(ns, "pass")
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(func(g Gomega) {
		live := get(ns, ro.Name)()
		g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
		g.Expect(live.Status.StableRS).To(Equal(live.Status.CurrentPodHash))
	}).Should(Succeed())
	v2 := get(ns, ro.Name)()
	name := fmt.Sprintf("%s-%s-2-1", ro.Name, v2.Status.CurrentPodHash)
	ex := experimentNamed(ns, name)()
	g.Expect(ex).NotTo(BeNil(), "experiments: %v", experimentNames(g, ns))
	g.Expect(ex.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Expect(ex.Labels).To(HaveKeyWithValue(v1alpha1.DefaultRolloutUniqueLabelKey, v2.Status.CurrentPodHash))
	g.Expect(ex.Annotations).To(HaveKeyWithValue(v1alpha1.RevisionAnnotation, "2"))
	g.Expect(ex.Spec.Templates).To(HaveLen(2))
	g.Expect(ex.Spec.Templates[0].Template.Spec.Containers[0].Image).NotTo(Equal("backend:v2"), "the baseline runs the stable pods")
	g.Expect(ex.Spec.Templates[1].Template.Spec.Containers[0].Image).To(Equal("backend:v2"), "the canary runs the new pods")
	g.Expect(v2.Status.Canary.CurrentExperiment).To(BeEmpty(), "forgotten once its step completed")
	g.Expect(events(g, ns, ro.Name)).To(ContainElements(
		"ExperimentCreated: Created Experiment '"+name+"'",
		MatchRegexp(`^AnalysisRunSuccessful: AnalysisRun 'compare' transitioned from \w+ -> Successful$`),
		"RolloutStepCompleted: Rollout step 2/2 completed (experiment)",
	))

	web.say(ns, "fail")
	setImage(g, ns, ro.Name, "backend:v3")
	g.Eventually(message(ns, ro.Name)).Should(Equal(`Degraded: RolloutAborted: Rollout aborted update to revision 3: ` +
		`Experiment analysis phase is failed: Metric "check" assessed Failed due to failed (1) > failureLimit (0)`))
	v3 := get(ns, ro.Name)()
	failed := fmt.Sprintf("%s-%s-3-1", ro.Name, v3.Status.CurrentPodHash)
	g.Expect(experimentPhase(ns, failed)()).To(Equal(v1alpha1.AnalysisPhaseFailed))
	g.Expect(v3.Status.Canary.CurrentExperiment).To(BeEmpty())
	g.Eventually(func() map[string]string { return counts(g, ns) }).Should(And(
		HaveKeyWithValue(v2.Status.CurrentPodHash, "2/2"), HaveKeyWithValue(v3.Status.CurrentPodHash, "0/0")))

	web.say(ns, "pass")
	patchStatus(g, ns, ro.Name, `{"status":{"abort":false}}`)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Expect(experimentPhase(ns, failed+"-1")()).To(Equal(v1alpha1.AnalysisPhaseSuccessful), "experiments: %v", experimentNames(g, ns))
	// One Successful Experiment is kept (the newest), Failed ones up to 5.
	g.Eventually(func(g Gomega) []string { return experimentNames(g, ns) }).Should(ConsistOf(failed, failed+"-1"))
}

// TestExperimentInconclusiveAndPromote: an Inconclusive Experiment pauses
// the Rollout (InconclusiveExperiment) and no other is started while it
// waits; the person's promote runs a fresh "-1" Experiment, whose success
// completes the step. A promote past a running Experiment terminates it;
// so does promote --full.
func TestExperimentInconclusiveAndPromote(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	web := newVerdicts(t)
	createTemplate(g, ns, webTemplate)
	createTemplate(g, ns, untilPassTemplate)
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](1)
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{experimentStep("web-check", web.url(ns)), {Pause: &v1alpha1.RolloutPause{}}}
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))

	web.say(ns, "unsure")
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(message(ns, ro.Name)).Should(Equal("Paused: InconclusiveExperiment"))
	live := get(ns, ro.Name)()
	name := fmt.Sprintf("%s-%s-2-0", ro.Name, live.Status.CurrentPodHash)
	g.Expect(experimentPhase(ns, name)()).To(Equal(v1alpha1.AnalysisPhaseInconclusive))
	g.Expect(live.Status.Canary.CurrentExperiment).To(BeEmpty(), "omitted once it ended")
	g.Expect(live.Status.ControllerPause).To(BeTrue())
	g.Consistently(func(g Gomega) []string { return experimentNames(g, ns) }, 2*time.Second).Should(ConsistOf(name),
		"nothing new while a person decides")

	web.say(ns, "pass")
	promote(g, ns, ro.Name)
	g.Eventually(experimentPhase(ns, name+"-1")).Should(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Eventually(message(ns, ro.Name)).Should(Equal("Paused: CanaryPauseStep"))
	g.Expect(ptr.Deref(get(ns, ro.Name)().Status.CurrentStepIndex, -1)).To(Equal(int32(1)))
	promote(g, ns, ro.Name)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))

	// A running Experiment and a promote past its step.
	ro2 := get(ns, ro.Name)()
	ro2.Spec.Strategy.Canary.Steps[0] = experimentStep("until-pass", web.url(ns+"-slow"))
	g.Expect(k8sClient.Update(context.Background(), ro2)).To(Succeed())
	setImage(g, ns, ro.Name, "backend:v3")
	var running string
	g.Eventually(func(g Gomega) {
		live := get(ns, ro.Name)()
		running = live.Status.Canary.CurrentExperiment
		g.Expect(running).To(Equal(fmt.Sprintf("%s-%s-3-0", ro.Name, live.Status.CurrentPodHash)))
		g.Expect(experimentPhase(ns, running)()).To(Equal(v1alpha1.AnalysisPhaseRunning))
	}).Should(Succeed())
	patchStatus(g, ns, ro.Name, `{"status":{"pauseConditions":null,"currentStepIndex":1}}`)
	g.Eventually(func() bool { return experimentNamed(ns, running)().Spec.Terminate }).Should(BeTrue())
	g.Eventually(experimentPhase(ns, running)).Should(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Eventually(message(ns, ro.Name)).Should(Equal("Paused: CanaryPauseStep"))
	g.Expect(get(ns, ro.Name)().Status.Canary.CurrentExperiment).To(BeEmpty())

	// promote --full during a running Experiment ends it too.
	setImage(g, ns, ro.Name, "backend:v4")
	g.Eventually(func(g Gomega) {
		live := get(ns, ro.Name)()
		running = live.Status.Canary.CurrentExperiment
		g.Expect(running).To(HavePrefix(fmt.Sprintf("%s-%s-4-0", ro.Name, live.Status.CurrentPodHash)))
	}).Should(Succeed())
	patchStatus(g, ns, ro.Name, `{"status":{"promoteFull":true}}`)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Eventually(func() bool { return experimentNamed(ns, running)().Spec.Terminate }).Should(BeTrue())
}

// TestTrafficRoutedExperimentWeights: behind a Gateway API HTTPRoute, the
// experiment template with a weight gets its own backendRef (its Service,
// with the Service's port) while the Experiment runs, taken from the
// stable's share; once it has ended the ref goes and the update promotes.
func TestTrafficRoutedExperimentWeights(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	createYAML(g, ns, webRoute)
	ro := routedSeed(t, g, ns, 2, func(c *v1alpha1.CanaryStrategy) {
		gatewayAPI(`{"httpRoute":"web"}`)(c)
		c.Steps = []v1alpha1.CanaryStep{
			{SetWeight: ptr.To[int32](20)},
			{Experiment: &v1alpha1.RolloutExperimentStep{
				Duration: "4s",
				Templates: []v1alpha1.RolloutExperimentTemplate{
					{Name: "exp-canary", SpecRef: v1alpha1.CanarySpecRef, Weight: ptr.To[int32](10)},
				},
			}},
		}
	})
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))

	setImage(g, ns, ro.Name, "backend:v2")
	var exName, svc string
	g.Eventually(func(g Gomega) {
		live := get(ns, ro.Name)()
		exName = live.Status.Canary.CurrentExperiment
		g.Expect(exName).NotTo(BeEmpty())
		ex := experimentNamed(ns, exName)()
		g.Expect(ex).NotTo(BeNil())
		g.Expect(ex.Status.Phase).To(Equal(v1alpha1.AnalysisPhaseRunning))
		g.Expect(ex.Status.TemplateStatuses).To(HaveLen(1))
		svc = ex.Status.TemplateStatuses[0].ServiceName
		g.Expect(svc).To(Equal(exName + "-exp-canary"))
		w := live.Status.Canary.Weights
		g.Expect(w).NotTo(BeNil())
		g.Expect(w.Additional).To(Equal([]v1alpha1.WeightDestination{{Weight: 10, ServiceName: svc, PodTemplateHash: ex.Status.TemplateStatuses[0].PodTemplateHash}}))
		g.Expect(w.Stable.Weight).To(Equal(int32(70)))
		g.Expect(backendWeights(ns, "web")()).To(Equal("stable=70,canary=20," + svc + "=10"))
	}).Should(Succeed())
	g.Expect(eventNotes(g, ns, rollout.EventTrafficWeightUpdated)).To(ContainElement(ContainSubstring("experiment weights")))

	g.Eventually(func(g Gomega) {
		live := get(ns, ro.Name)()
		g.Expect(phase(ns, ro.Name)()).To(Equal("Healthy"))
		g.Expect(live.Status.StableRS).To(Equal(live.Status.CurrentPodHash))
	}).Should(Succeed())
	g.Expect(experimentPhase(ns, exName)()).To(Equal(v1alpha1.AnalysisPhaseSuccessful))
	g.Eventually(backendWeights(ns, "web")).Should(Equal("stable=100,canary=0"))
	g.Expect(get(ns, ro.Name)().Status.Canary.Weights.Additional).To(BeEmpty())
}

// TestExperimentStepBadInput: an arg the downward API cannot read is
// InvalidSpec naming the field, and nothing is created; an Experiment
// whose AnalysisTemplate does not exist ends in Error before it creates a
// ReplicaSet, and the update aborts with its message.
func TestExperimentStepBadInput(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	ro := seed(t, g, "canary-rollout.yaml", ns)
	ro.Spec.Replicas = ptr.To[int32](1)
	step := experimentStep("no-such-template", "http://127.0.0.1:1/")
	step.Experiment.Analyses[0].Args = append(step.Experiment.Analyses[0].Args,
		v1alpha1.AnalysisRunArgument{Name: "team", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.uid.team"}}})
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{step}
	g.Expect(k8sClient.Create(context.Background(), ro)).To(Succeed())
	g.Eventually(get(ns, ro.Name)).Should(WithTransform(invalidSpec, And(
		ContainSubstring("spec.strategy.canary.steps[0].experiment.analyses[0].args"),
		ContainSubstring("Analyses arguments must refer to valid object metadata supported by downwardAPI"))))
	g.Expect(replicaSets(g, ns)).To(BeEmpty(), "an invalid Rollout creates nothing")

	live := get(ns, ro.Name)()
	live.Spec.Strategy.Canary.Steps[0].Experiment.Analyses[0].Args = live.Spec.Strategy.Canary.Steps[0].Experiment.Analyses[0].Args[:1]
	g.Expect(k8sClient.Update(context.Background(), live)).To(Succeed())
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(message(ns, ro.Name)).Should(Equal(`Degraded: RolloutAborted: Rollout aborted update to revision 2: ` +
		`Experiment analysis phase is error: AnalysisTemplate verification failed for analysis 'compare': AnalysisTemplate 'no-such-template' not found`))
	for _, rs := range replicaSets(g, ns) {
		g.Expect(rs.Annotations).NotTo(HaveKey(v1alpha1.ExperimentNameAnnotationKey), "the Experiment created no ReplicaSet")
	}
}
