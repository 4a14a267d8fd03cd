// Package podtemplate decides what the controller adds to a ReplicaSet's pod
// template beyond the Rollout's own: the anti-affinity term that keeps a new
// revision off the nodes of the stable one, and the ephemeral labels and
// annotations of a revision's current role (canary/stable, preview/active).
// Neither is part of the pod-template hash, and both are stripped wherever a
// ReplicaSet's template is compared with (or copied back into) the Rollout.
//
// It is pure: no client, no clock.
package podtemplate

import (
	"encoding/json"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// HostnameTopologyKey spreads by node.
const HostnameTopologyKey = "kubernetes.io/hostname"

// AntiAffinity returns the affinity a new ReplicaSet's pods get: the
// template's own, plus (when the strategy asks for it and a different
// revision is stable) a term avoiding nodes that run the stable revision's
// pods, required or preferred with the given weight. The input is not
// modified.
func AntiAffinity(own *corev1.Affinity, aa *v1alpha1.AntiAffinity, stableHash, newHash, namespace string) *corev1.Affinity {
	if aa == nil || stableHash == "" || stableHash == newHash {
		return own
	}
	out := own.DeepCopy()
	if out == nil {
		out = &corev1.Affinity{}
	}
	if out.PodAntiAffinity == nil {
		out.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	term := corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: v1alpha1.DefaultRolloutUniqueLabelKey, Operator: metav1.LabelSelectorOpIn, Values: []string{stableHash},
		}}},
		Namespaces:  []string{namespace},
		TopologyKey: HostnameTopologyKey,
	}
	paa := out.PodAntiAffinity
	if p := aa.PreferredDuringSchedulingIgnoredDuringExecution; p != nil {
		paa.PreferredDuringSchedulingIgnoredDuringExecution = append(paa.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.WeightedPodAffinityTerm{Weight: p.Weight, PodAffinityTerm: term})
	} else {
		paa.RequiredDuringSchedulingIgnoredDuringExecution = append(paa.RequiredDuringSchedulingIgnoredDuringExecution, term)
	}
	return out
}

// injectedTerm reports whether a pod-affinity term is the one AntiAffinity
// adds (selecting pods by pod-template hash, nothing else).
func injectedTerm(t corev1.PodAffinityTerm) (hash string, ok bool) {
	sel := t.LabelSelector
	if sel == nil || len(sel.MatchLabels) != 0 || len(sel.MatchExpressions) != 1 {
		return "", false
	}
	e := sel.MatchExpressions[0]
	if e.Key != v1alpha1.DefaultRolloutUniqueLabelKey || e.Operator != metav1.LabelSelectorOpIn || len(e.Values) != 1 {
		return "", false
	}
	return e.Values[0], true
}

// InjectedAntiAffinityHash is the stable hash named by the injected term of
// an affinity, or "".
func InjectedAntiAffinityHash(a *corev1.Affinity) string {
	if a == nil || a.PodAntiAffinity == nil {
		return ""
	}
	for _, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if h, ok := injectedTerm(t); ok {
			return h
		}
	}
	for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if h, ok := injectedTerm(w.PodAffinityTerm); ok {
			return h
		}
	}
	return ""
}

// withoutInjectedAntiAffinity removes injected terms, and the structs that
// only held them.
func withoutInjectedAntiAffinity(a *corev1.Affinity) *corev1.Affinity {
	if a == nil || a.PodAntiAffinity == nil {
		return a
	}
	out := a.DeepCopy()
	paa := out.PodAntiAffinity
	paa.RequiredDuringSchedulingIgnoredDuringExecution = slices.DeleteFunc(paa.RequiredDuringSchedulingIgnoredDuringExecution,
		func(t corev1.PodAffinityTerm) bool { _, ok := injectedTerm(t); return ok })
	paa.PreferredDuringSchedulingIgnoredDuringExecution = slices.DeleteFunc(paa.PreferredDuringSchedulingIgnoredDuringExecution,
		func(w corev1.WeightedPodAffinityTerm) bool { _, ok := injectedTerm(w.PodAffinityTerm); return ok })
	if len(paa.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		paa.RequiredDuringSchedulingIgnoredDuringExecution = nil
	}
	if len(paa.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		paa.PreferredDuringSchedulingIgnoredDuringExecution = nil
	}
	if paa.RequiredDuringSchedulingIgnoredDuringExecution == nil && paa.PreferredDuringSchedulingIgnoredDuringExecution == nil {
		out.PodAntiAffinity = nil
	}
	if out.PodAntiAffinity == nil && out.PodAffinity == nil && out.NodeAffinity == nil {
		return nil
	}
	return out
}

// Ephemeral is the ephemeral metadata injected into a ReplicaSet, as
// recorded in its rollout.argoproj.io/ephemeral-metadata annotation (the
// reference's JSON, so either controller can take over).
type Ephemeral = v1alpha1.PodTemplateMetadata

// Recorded reads a ReplicaSet's record of what was injected; a missing or
// unreadable record is empty.
func Recorded(annotations map[string]string) Ephemeral {
	var e Ephemeral
	if v := annotations[v1alpha1.EphemeralMetadataAnnotation]; v != "" {
		_ = json.Unmarshal([]byte(v), &e)
	}
	return e
}

// Record is the annotation value for e, "" when nothing is injected.
func Record(e Ephemeral) string {
	if len(e.Labels) == 0 && len(e.Annotations) == 0 {
		return ""
	}
	b, _ := json.Marshal(e)
	return string(b)
}

// Want is the ephemeral metadata a role asks for; nil means none.
func Want(m *v1alpha1.PodTemplateMetadata) Ephemeral {
	if m == nil {
		return Ephemeral{}
	}
	return Ephemeral{Labels: maps.Clone(m.Labels), Annotations: maps.Clone(m.Annotations)}
}

// Change is the metadata edit that moves a pod (or a pod template) from
// the injected metadata applied to want: keys to set, and keys to remove or
// give back their own value (base: the Rollout template's labels and
// annotations, which an injected key may have overridden).
type Change struct {
	Labels, Annotations map[string]*string
}

// Empty reports whether the change edits nothing.
func (c Change) Empty() bool { return len(c.Labels) == 0 && len(c.Annotations) == 0 }

// Diff computes the Change from applied to want.
func Diff(applied, want Ephemeral, baseLabels, baseAnnotations map[string]string) Change {
	return Change{
		Labels:      diffMap(applied.Labels, want.Labels, baseLabels),
		Annotations: diffMap(applied.Annotations, want.Annotations, baseAnnotations),
	}
}

func diffMap(applied, want, base map[string]string) map[string]*string {
	out := map[string]*string{}
	for k, v := range want {
		if old, ok := applied[k]; !ok || old != v {
			out[k] = &v
		}
	}
	for k := range applied {
		if _, keep := want[k]; keep {
			continue
		}
		if v, ok := base[k]; ok {
			out[k] = &v
		} else {
			out[k] = nil
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Apply makes the change on object metadata (a template's or a pod's).
// It reports whether anything differed.
func (c Change) Apply(labels, annotations *map[string]string) bool {
	l := applyMap(labels, c.Labels)
	a := applyMap(annotations, c.Annotations)
	return l || a
}

func applyMap(m *map[string]string, change map[string]*string) bool {
	changed := false
	for k, v := range change {
		cur, ok := (*m)[k]
		switch {
		case v == nil && ok:
			delete(*m, k)
			changed = true
		case v != nil && (!ok || cur != *v):
			if *m == nil {
				*m = map[string]string{}
			}
			(*m)[k] = *v
			changed = true
		}
	}
	return changed
}

// MergePatch is the JSON merge patch of a pod's metadata for the change.
func (c Change) MergePatch() []byte {
	meta := map[string]any{}
	if len(c.Labels) > 0 {
		meta["labels"] = c.Labels
	}
	if len(c.Annotations) > 0 {
		meta["annotations"] = c.Annotations
	}
	b, _ := json.Marshal(map[string]any{"metadata": meta})
	return b
}

// WithoutInjected returns a ReplicaSet's pod template as the Rollout wrote
// it: no hash label, no ephemeral metadata (per the ReplicaSet's record), no
// injected anti-affinity term. base are the Rollout template's labels and
// annotations, whose values an injected key may have replaced.
func WithoutInjected(t corev1.PodTemplateSpec, rsAnnotations map[string]string, baseLabels, baseAnnotations map[string]string) corev1.PodTemplateSpec {
	t = *t.DeepCopy()
	delete(t.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	Diff(Recorded(rsAnnotations), Ephemeral{}, baseLabels, baseAnnotations).Apply(&t.Labels, &t.Annotations)
	if len(t.Labels) == 0 {
		t.Labels = nil
	}
	if len(t.Annotations) == 0 {
		t.Annotations = nil
	}
	t.Spec.Affinity = withoutInjectedAntiAffinity(t.Spec.Affinity)
	return t
}

// PendingPodsAnnotation on a ReplicaSet holds the metadata change (JSON)
// that its running pods have yet to receive. The ReplicaSet's template is
// changed first, so pods created from then on are right; the pods that ran
// already are patched next, and the annotation goes once they all are. A
// controller that stops in between finds the change still to do.
const PendingPodsAnnotation = "switchyard.dev/ephemeral-metadata-pods-pending"

// Then composes two changes: c, then next (next wins on a key both touch).
func (c Change) Then(next Change) Change {
	return Change{Labels: overlay(c.Labels, next.Labels), Annotations: overlay(c.Annotations, next.Annotations)}
}

func overlay(a, b map[string]*string) map[string]*string {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := maps.Clone(a)
	if out == nil {
		out = map[string]*string{}
	}
	maps.Copy(out, b)
	return out
}

// Pending reads the change a ReplicaSet's pods still need, if any.
func Pending(annotations map[string]string) (Change, bool) {
	v, ok := annotations[PendingPodsAnnotation]
	if !ok {
		return Change{}, false
	}
	var c Change
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return Change{}, false
	}
	return c, true
}

// EncodePending is the annotation value for a pending change.
func EncodePending(c Change) string {
	b, _ := json.Marshal(c)
	return string(b)
}
