package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/podtemplate"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=patch

// syncInjected keeps what the controller adds to its ReplicaSets' pod
// templates in step with each revision's role, after the strategy has
// decided the roles: the new ReplicaSet's anti-affinity term and
// minReadySeconds, and every ReplicaSet's ephemeral labels and annotations,
// which also go to its running pods in place (no restart).
func (r *Reconciler) syncInjected(ctx context.Context, s *scope) (ctrl.Result, error) {
	if err := r.syncNewReplicaSetSpec(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	for _, rs := range s.replicaSets {
		if err := r.syncEphemeralMetadata(ctx, s, rs, ephemeralRole(s, rs)); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// newTemplateAffinity is the affinity the new ReplicaSet's pods get.
func newTemplateAffinity(s *scope) *corev1.Affinity {
	return podtemplate.AntiAffinity(s.ro.Spec.Template.Spec.Affinity, antiAffinity(s.ro), s.ro.Status.StableRS, s.newHash, s.ro.Namespace)
}

func antiAffinity(ro *v1alpha1.Rollout) *v1alpha1.AntiAffinity {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		return bg.AntiAffinity
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		return c.AntiAffinity
	}
	return nil
}

// syncNewReplicaSetSpec points the new ReplicaSet's injected anti-affinity
// term at the current stable revision (it may name an older one) and
// carries minReadySeconds to it. Older ReplicaSets keep theirs, and the
// term is never removed: it only affects pods not yet scheduled.
func (r *Reconciler) syncNewReplicaSetSpec(ctx context.Context, s *scope) error {
	rs := s.newRS
	st := &s.ro.Status
	wantAffinity := rs.Spec.Template.Spec.Affinity
	if aa := antiAffinity(s.ro); aa != nil && st.StableRS != "" && st.StableRS != s.newHash &&
		podtemplate.InjectedAntiAffinityHash(rs.Spec.Template.Spec.Affinity) != st.StableRS {
		wantAffinity = newTemplateAffinity(s)
	}
	if rs.Spec.MinReadySeconds == s.ro.Spec.MinReadySeconds && equality.Semantic.DeepEqual(wantAffinity, rs.Spec.Template.Spec.Affinity) {
		return nil
	}
	patch := client.MergeFromWithOptions(rs.DeepCopy(), client.MergeFromWithOptimisticLock{})
	rs.Spec.MinReadySeconds = s.ro.Spec.MinReadySeconds
	rs.Spec.Template.Spec.Affinity = wantAffinity
	if err := r.Client.Patch(ctx, rs, patch); err != nil {
		return fmt.Errorf("update anti-affinity and minReadySeconds of replicaset %s: %w", klog.KObj(rs), err)
	}
	return nil
}

// ephemeralRole is the ephemeral metadata a ReplicaSet's role asks for.
// While an update is in flight the new ReplicaSet is the canary (preview)
// and the stable one the stable (active); once promoted, the new one is the
// stable (active). Every other ReplicaSet carries none. Blue-green's active
// role follows status.stableRS, as in the reference.
func ephemeralRole(s *scope, rs *appsv1.ReplicaSet) podtemplate.Ephemeral {
	st := &s.ro.Status
	var newRole, stableRole *v1alpha1.PodTemplateMetadata
	if bg := s.ro.Spec.Strategy.BlueGreen; bg != nil {
		newRole, stableRole = bg.PreviewMetadata, bg.ActiveMetadata
	} else if c := s.ro.Spec.Strategy.Canary; c != nil {
		newRole, stableRole = c.CanaryMetadata, c.StableMetadata
	}
	inFlight := st.StableRS != s.newHash && s.replicaSetByHash(st.StableRS) != nil
	switch {
	case rs == s.newRS && inFlight:
		return podtemplate.Want(newRole)
	case rs == s.newRS, hashOf(rs) == st.StableRS:
		return podtemplate.Want(stableRole)
	}
	return podtemplate.Ephemeral{}
}

// creationMetadata is the ephemeral metadata a new ReplicaSet starts with:
// the canary (preview) role when a different revision is stable, the stable
// (active) role on a first deploy.
func creationMetadata(s *scope) podtemplate.Ephemeral {
	var newRole, stableRole *v1alpha1.PodTemplateMetadata
	if bg := s.ro.Spec.Strategy.BlueGreen; bg != nil {
		newRole, stableRole = bg.PreviewMetadata, bg.ActiveMetadata
	} else if c := s.ro.Spec.Strategy.Canary; c != nil {
		newRole, stableRole = c.CanaryMetadata, c.StableMetadata
	}
	if st := s.ro.Status.StableRS; st != "" && st != s.newHash {
		return podtemplate.Want(newRole)
	}
	return podtemplate.Want(stableRole)
}

// syncEphemeralMetadata moves a ReplicaSet from the metadata it carries to
// want: its template first (with a note of what its pods still need), then
// its pods, then the note goes.
func (r *Reconciler) syncEphemeralMetadata(ctx context.Context, s *scope, rs *appsv1.ReplicaSet, want podtemplate.Ephemeral) error {
	base := s.ro.Spec.Template
	change := podtemplate.Diff(podtemplate.Recorded(rs.Annotations), want, base.Labels, base.Annotations)
	pending, hasPending := podtemplate.Pending(rs.Annotations)
	if !change.Empty() {
		patch := client.MergeFromWithOptions(rs.DeepCopy(), client.MergeFromWithOptimisticLock{})
		change.Apply(&rs.Spec.Template.Labels, &rs.Spec.Template.Annotations)
		if rs.Annotations == nil {
			rs.Annotations = map[string]string{}
		}
		if rec := podtemplate.Record(want); rec != "" {
			rs.Annotations[v1alpha1.EphemeralMetadataAnnotation] = rec
		} else {
			delete(rs.Annotations, v1alpha1.EphemeralMetadataAnnotation)
		}
		if specReplicas(rs) > 0 || rs.Status.Replicas > 0 {
			pending, hasPending = pending.Then(change), true
			rs.Annotations[podtemplate.PendingPodsAnnotation] = podtemplate.EncodePending(pending)
		}
		if err := r.Client.Patch(ctx, rs, patch); err != nil {
			return fmt.Errorf("set ephemeral metadata on replicaset %s: %w", klog.KObj(rs), err)
		}
	}
	if !hasPending {
		return nil
	}
	if err := r.patchPods(ctx, rs, pending); err != nil {
		return err
	}
	patch := client.MergeFrom(rs.DeepCopy())
	delete(rs.Annotations, podtemplate.PendingPodsAnnotation)
	if err := r.Client.Patch(ctx, rs, patch); err != nil {
		return fmt.Errorf("clear pending pod metadata of replicaset %s: %w", klog.KObj(rs), err)
	}
	return nil
}

// patchPods applies a metadata change to the running pods of a ReplicaSet.
func (r *Reconciler) patchPods(ctx context.Context, rs *appsv1.ReplicaSet, c podtemplate.Change) error {
	if c.Empty() {
		return nil
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return fmt.Errorf("selector of replicaset %s: %w", klog.KObj(rs), err)
	}
	var pods corev1.PodList
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(rs.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return fmt.Errorf("list pods of replicaset %s: %w", klog.KObj(rs), err)
	}
	body := client.RawPatch("application/merge-patch+json", c.MergePatch())
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !pod.DeletionTimestamp.IsZero() || !metav1.IsControlledBy(pod, rs) {
			continue
		}
		if err := r.Client.Patch(ctx, pod, body); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("set ephemeral metadata on pod %s: %w", klog.KObj(pod), err)
		}
	}
	ctrl.LoggerFrom(ctx).V(1).Info("updated ephemeral metadata of pods", "replicaSet", klog.KObj(rs), "pods", len(pods.Items))
	return nil
}
