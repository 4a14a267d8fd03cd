package podtemplate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func injected(hash string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: "rollouts-pod-template-hash", Operator: metav1.LabelSelectorOpIn, Values: []string{hash}}}},
		Namespaces:  []string{"ns"},
		TopologyKey: "kubernetes.io/hostname",
	}
}

func TestAntiAffinity(t *testing.T) {
	own := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "subnettype", Operator: "In", Values: []string{"private"}}}}}}}}
	required := &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}
	preferred := &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 40}}
	tests := []struct {
		name            string
		own             *corev1.Affinity
		aa              *v1alpha1.AntiAffinity
		stable, newHash string
		want            *corev1.Affinity
	}{
		{name: "not asked for", own: own, aa: nil, stable: "old", newHash: "new", want: own},
		{name: "first deploy: no stable", own: own, aa: required, stable: "", newHash: "new", want: own},
		{name: "the stable is this revision", own: own, aa: required, stable: "new", newHash: "new", want: own},
		{name: "required, next to the template's node affinity", own: own, aa: required, stable: "old", newHash: "new",
			want: &corev1.Affinity{NodeAffinity: own.NodeAffinity, PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{injected("old")}}}},
		{name: "preferred with its weight, no affinity of its own", aa: preferred, stable: "old", newHash: "new",
			want: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 40, PodAffinityTerm: injected("old")}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.own.DeepCopy()
			got := AntiAffinity(tt.own, tt.aa, tt.stable, tt.newHash, "ns")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AntiAffinity (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.own); diff != "" {
				t.Errorf("input modified:\n%s", diff)
			}
			if tt.want != tt.own {
				if h := InjectedAntiAffinityHash(got); h != tt.stable {
					t.Errorf("InjectedAntiAffinityHash = %q, want %q", h, tt.stable)
				}
				if diff := cmp.Diff(tt.own, withoutInjectedAntiAffinity(got)); diff != "" {
					t.Errorf("stripping the injected term does not give the template's own back:\n%s", diff)
				}
			}
		})
	}
}

func TestDiffAndApply(t *testing.T) {
	tests := []struct {
		name             string
		applied, want    Ephemeral
		baseLabels       map[string]string
		start, wantAfter map[string]string
	}{
		{name: "inject into a fresh template",
			want:  Ephemeral{Labels: map[string]string{"role": "canary"}},
			start: map[string]string{"app": "x"}, wantAfter: map[string]string{"app": "x", "role": "canary"}},
		{name: "role change: canary to stable, value swapped",
			applied:   Ephemeral{Labels: map[string]string{"role": "canary", "canary-only": "1"}},
			want:      Ephemeral{Labels: map[string]string{"role": "stable"}},
			start:     map[string]string{"app": "x", "role": "canary", "canary-only": "1"},
			wantAfter: map[string]string{"app": "x", "role": "stable"}},
		{name: "removing a key the template also sets gives its own value back",
			applied:    Ephemeral{Labels: map[string]string{"tier": "canary"}},
			baseLabels: map[string]string{"tier": "web"},
			start:      map[string]string{"tier": "canary"}, wantAfter: map[string]string{"tier": "web"}},
		{name: "a key the controller did not inject is left alone",
			applied: Ephemeral{Labels: map[string]string{"role": "canary"}},
			start:   map[string]string{"role": "canary", "team": "a"}, wantAfter: map[string]string{"team": "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Diff(tt.applied, tt.want, tt.baseLabels, nil)
			labels, annotations := tt.start, map[string]string(nil)
			c.Apply(&labels, &annotations)
			if diff := cmp.Diff(tt.wantAfter, labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if Diff(tt.want, tt.want, tt.baseLabels, nil).Empty() != true {
				t.Error("no change from a state to itself expected")
			}
		})
	}
}

func TestMergePatchAndRecord(t *testing.T) {
	c := Diff(Ephemeral{Labels: map[string]string{"old": "1"}}, Ephemeral{Labels: map[string]string{"role": "canary"}, Annotations: map[string]string{"a": "b"}}, nil, nil)
	if got, want := string(c.MergePatch()), `{"metadata":{"annotations":{"a":"b"},"labels":{"old":null,"role":"canary"}}}`; got != want {
		t.Errorf("MergePatch = %s, want %s", got, want)
	}
	e := Ephemeral{Labels: map[string]string{"role": "canary"}}
	rec := Record(e)
	if rec != `{"labels":{"role":"canary"}}` {
		t.Errorf("Record = %s", rec)
	}
	if diff := cmp.Diff(e, Recorded(map[string]string{v1alpha1.EphemeralMetadataAnnotation: rec})); diff != "" {
		t.Errorf("Recorded(Record(e)) differs:\n%s", diff)
	}
	if Record(Ephemeral{}) != "" {
		t.Error("an empty record must be no annotation at all")
	}
}

func TestWithoutInjected(t *testing.T) {
	own := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	rs := own.DeepCopy()
	rs.Labels["rollouts-pod-template-hash"] = "abc"
	rs.Labels["role"] = "canary"
	rs.Spec.Affinity = AntiAffinity(nil, &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}, "old", "abc", "ns")
	got := WithoutInjected(*rs, map[string]string{v1alpha1.EphemeralMetadataAnnotation: `{"labels":{"role":"canary"}}`}, own.Labels, nil)
	if diff := cmp.Diff(own, got); diff != "" {
		t.Errorf("WithoutInjected (-want +got):\n%s", diff)
	}
}
