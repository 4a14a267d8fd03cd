package experiment

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func rolloutReplicaSet(hash, image string) *appsv1.ReplicaSet {
	l := map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: hash}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Labels: l},
		Spec: appsv1.ReplicaSetSpec{
			MinReadySeconds: 3,
			Selector:        &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
			},
		},
	}
}

func TestFromStep(t *testing.T) {
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "ro-uid", Labels: map[string]string{"team": "a", v1alpha1.InstanceIDLabelKey: "blue"}},
		Spec:       v1alpha1.RolloutSpec{ProgressDeadlineSeconds: ptr.To[int32](120)},
	}
	step := &v1alpha1.RolloutExperimentStep{
		Duration: "5m",
		Templates: []v1alpha1.RolloutExperimentTemplate{
			{Name: "baseline", SpecRef: v1alpha1.StableSpecRef},
			{Name: "canary", SpecRef: v1alpha1.CanarySpecRef, Replicas: ptr.To[int32](2), Weight: ptr.To[int32](5),
				Metadata: v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}, Annotations: map[string]string{"note": "x"}}},
		},
		Analyses: []v1alpha1.RolloutExperimentStepAnalysisTemplateRef{{
			Name: "compare", TemplateName: "t", RequiredForCompletion: true,
			Args: []v1alpha1.AnalysisRunArgument{
				{Name: "stable", ValueFrom: &v1alpha1.ValueFrom{PodTemplateHashValue: ptr.To(v1alpha1.Stable)}},
				{Name: "team", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.labels['team']"}}},
				{Name: "baseline", Value: "{{templates.baseline.podTemplateHash}}"},
			},
		}},
	}
	ex, err := FromStep(StepInput{Rollout: ro, Step: step, StepIndex: 2, Stable: rolloutReplicaSet("old", "web:1"), Canary: rolloutReplicaSet("new", "web:2"), NewHash: "new", Revision: "4"})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Name != "web-new-4-2" || ex.Namespace != "ns" {
		t.Errorf("name %s/%s", ex.Namespace, ex.Name)
	}
	if diff := cmp.Diff(map[string]string{"team": "a", v1alpha1.InstanceIDLabelKey: "blue", v1alpha1.DefaultRolloutUniqueLabelKey: "new"}, ex.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if ex.Annotations[v1alpha1.RevisionAnnotation] != "4" || !metav1.IsControlledBy(ex, ro) {
		t.Errorf("annotations %v, owners %v", ex.Annotations, ex.OwnerReferences)
	}
	if *ex.Spec.ProgressDeadlineSeconds != 120 || ex.Spec.Duration != "5m" {
		t.Errorf("deadline %d duration %s", *ex.Spec.ProgressDeadlineSeconds, ex.Spec.Duration)
	}
	base, canary := ex.Spec.Templates[0], ex.Spec.Templates[1]
	if base.Template.Spec.Containers[0].Image != "web:1" || canary.Template.Spec.Containers[0].Image != "web:2" {
		t.Error("templates copied from the wrong ReplicaSets")
	}
	if base.Service != nil || canary.Service == nil || canary.MinReadySeconds != 3 || *canary.Replicas != 2 {
		t.Errorf("baseline service %v, canary %+v", base.Service, canary)
	}
	if diff := cmp.Diff(map[string]string{"app": "web", "role": "canary"}, canary.Selector.MatchLabels); diff != "" {
		t.Errorf("canary selector (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"app": "web", "role": "canary"}, canary.Template.Labels); diff != "" {
		t.Errorf("canary pod labels (-want +got):\n%s", diff)
	}
	if canary.Template.Annotations["note"] != "x" {
		t.Errorf("canary annotations %v", canary.Template.Annotations)
	}
	args := ex.Spec.Analyses[0].Args
	got := map[string]string{}
	for _, a := range args {
		got[a.Name] = *a.Value
	}
	if diff := cmp.Diff(map[string]string{"stable": "old", "team": "a", "baseline": "{{templates.baseline.podTemplateHash}}"}, got); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if msg := Validate(ex); msg != "" {
		t.Errorf("the step's Experiment is invalid: %s", msg)
	}
	if _, err := FromStep(StepInput{Rollout: ro, Step: step, Canary: rolloutReplicaSet("new", "web:2"), NewHash: "new", Revision: "4"}); err == nil {
		t.Error("a stable template without a stable ReplicaSet was built")
	}
}

func TestStepVerdict(t *testing.T) {
	for phase, want := range map[v1alpha1.AnalysisPhase]Verdict{
		"": Waiting, v1alpha1.AnalysisPhasePending: Waiting, v1alpha1.AnalysisPhaseRunning: Waiting,
		v1alpha1.AnalysisPhaseSuccessful: Passed, v1alpha1.AnalysisPhaseFailed: Abort, v1alpha1.AnalysisPhaseError: Abort,
		v1alpha1.AnalysisPhaseInconclusive: Hold,
	} {
		if got := StepVerdict(&v1alpha1.Experiment{Status: v1alpha1.ExperimentStatus{Phase: phase}}); got != want {
			t.Errorf("%q: %v, want %v", phase, got, want)
		}
	}
	ex := &v1alpha1.Experiment{Status: v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseFailed, Message: "bad"}}
	if got := AbortMessage(ex); got != "Experiment analysis phase is failed: bad" {
		t.Errorf("AbortMessage = %q", got)
	}
}
