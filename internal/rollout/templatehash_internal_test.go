package rollout

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/hash"
)

// TestPodTemplateHashPerGeneration: the remembered hash is the one
// hash.PodTemplateHash gives for the Rollout as it is now, through every
// change that can alter it.
func TestPodTemplateHashPerGeneration(t *testing.T) {
	r := &Reconciler{}
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app", UID: "uid-1", Generation: 1},
		Spec: v1alpha1.RolloutSpec{Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
		}},
	}
	steps := []struct {
		name string
		edit func(*v1alpha1.Rollout)
	}{
		{"first pass", func(*v1alpha1.Rollout) {}},
		{"a pass that changes nothing", func(*v1alpha1.Rollout) {}},
		{"a new image, a new generation", func(ro *v1alpha1.Rollout) {
			ro.Spec.Template.Spec.Containers[0].Image = "app:2"
			ro.Generation++
		}},
		{"a collision counted: zero hashes unlike unset", func(ro *v1alpha1.Rollout) { ro.Status.CollisionCount = ptr.To[int32](0) }},
		{"another collision", func(ro *v1alpha1.Rollout) { ro.Status.CollisionCount = ptr.To[int32](1) }},
		{"the Rollout recreated at generation 1", func(ro *v1alpha1.Rollout) {
			ro.UID, ro.Generation, ro.Status.CollisionCount = "uid-2", 1, nil
			ro.Spec.Template.Spec.Containers[0].Image = "app:3"
		}},
		{"a workloadRef's template changed, the generation not", func(ro *v1alpha1.Rollout) {
			ro.Spec.WorkloadRef = &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "app"}
			ro.Spec.Template.Spec.Containers[0].Image = "app:4"
		}},
		{"and again", func(ro *v1alpha1.Rollout) { ro.Spec.Template.Spec.Containers[0].Image = "app:5" }},
	}
	seen := map[string]bool{}
	for _, step := range steps {
		step.edit(ro)
		want := hash.PodTemplateHash(&ro.Spec.Template, ro.Status.CollisionCount)
		if got := r.podTemplateHash(ro); got != want {
			t.Errorf("%s: hash %s, want %s", step.name, got, want)
		}
		seen[want] = true
	}
	if len(seen) != len(steps)-1 {
		t.Errorf("%d distinct hashes over the steps, want %d: the steps must change the hash", len(seen), len(steps)-1)
	}
}
