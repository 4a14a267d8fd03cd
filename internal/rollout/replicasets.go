package rollout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/hash"
	"github.com/switchyard-dev/switchyard/internal/podtemplate"
	"github.com/switchyard-dev/switchyard/internal/requeue"
)

// syncNewReplicaSet finds or creates the ReplicaSet of the current pod
// template. It is found by its pod-template hash, computed exactly as Argo
// Rollouts computes it, so ReplicaSets created by either controller match.
func (r *Reconciler) syncNewReplicaSet(ctx context.Context, s *scope) (ctrl.Result, error) {
	s.newHash = r.podTemplateHash(s.ro)
	s.newRS = s.replicaSetByHash(s.newHash)
	if s.newRS == nil {
		equivalent, err := r.equivalentReplicaSet(ctx, s)
		if err != nil {
			return ctrl.Result{}, err
		}
		if equivalent != nil {
			s.newRS, s.newHash = equivalent, hashOf(equivalent)
		}
	}
	maxRevision := int64(0)
	for _, rs := range s.replicaSets {
		if rs != s.newRS {
			maxRevision = max(maxRevision, revision(rs))
		}
	}

	if s.newRS != nil {
		// A rollback to an older template makes its ReplicaSet the newest
		// revision again.
		if revision(s.newRS) <= maxRevision {
			if err := r.setRevision(ctx, s.newRS, maxRevision+1); err != nil {
				return ctrl.Result{}, err
			}
		}
		return ctrl.Result{}, r.syncRolloutRevision(ctx, s)
	}

	rs := r.newReplicaSet(s, maxRevision+1)
	err := r.Client.Create(ctx, rs)
	switch {
	case apierrors.IsAlreadyExists(err):
		// A ReplicaSet of that name exists but is not ours for this
		// template: a hash collision. Bump the count and recompute.
		existing := &appsv1.ReplicaSet{}
		// Read live: the one in the way may be our own, created by a pass
		// whose write the cache does not show yet.
		if getErr := r.APIReader.Get(ctx, client.ObjectKeyFromObject(rs), existing); getErr != nil {
			return ctrl.Result{}, fmt.Errorf("get colliding replicaset %s: %w", klog.KObj(rs), getErr)
		}
		if metav1.IsControlledBy(existing, s.ro) && hashOf(existing) == s.newHash {
			// Our own, not yet in the cache.
			s.newRS = existing
			s.replicaSets = append(s.replicaSets, existing)
			return ctrl.Result{}, nil
		}
		s.ro.Status.CollisionCount = ptr.To(ptr.Deref(s.ro.Status.CollisionCount, 0) + 1)
		s.stop = true
		return requeue.After(time.Millisecond), nil
	case err != nil:
		// Reported in the status too: a refusal (an admission policy, a
		// quota) repeats on every pass until someone acts.
		s.createError, s.createErrorRS = err, rs.Name
		return ctrl.Result{}, fmt.Errorf("create replicaset %s: %w", klog.KObj(rs), err)
	}
	s.newRS = rs
	s.replicaSets = append(s.replicaSets, rs)
	ctrl.LoggerFrom(ctx).Info("created ReplicaSet", "replicaSet", klog.KObj(rs), "revision", maxRevision+1)
	// The reference announces the revision, then the ReplicaSet, then its
	// first scale-up (it creates at 0 and scales; we create at the size).
	err = r.syncRolloutRevision(ctx, s)
	r.Recorder.Eventf(s.ro, rs, corev1.EventTypeNormal, EventNewReplicaSet, "Create",
		"Created ReplicaSet %s (revision %d)", rs.Name, maxRevision+1)
	if n := specReplicas(rs); n > 0 {
		r.Recorder.Eventf(s.ro, rs, corev1.EventTypeNormal, EventScalingRS, "Scale",
			"Scaled up ReplicaSet %s (revision %d) from 0 to %d", rs.Name, maxRevision+1, n)
	}
	return ctrl.Result{}, err
}

// templateHash is a Rollout's pod-template hash, valid while the Rollout
// (by UID) is at generation with that collision count: the template is
// part of the spec, so a change to it is a new generation.
type templateHash struct {
	uid            types.UID
	generation     int64
	collisionCount *int32
	hash           string
}

// podTemplateHash is hash.PodTemplateHash of ro's template, remembered per
// generation. A workloadRef's template comes from another object, whose
// changes leave the Rollout's generation as it is: it is hashed each time.
func (r *Reconciler) podTemplateHash(ro *v1alpha1.Rollout) string {
	if ro.Spec.WorkloadRef != nil {
		return hash.PodTemplateHash(&ro.Spec.Template, ro.Status.CollisionCount)
	}
	key := client.ObjectKeyFromObject(ro)
	if v, ok := r.templateHashes.Load(key); ok {
		if h := v.(templateHash); h.uid == ro.UID && h.generation == ro.Generation && ptr.Equal(h.collisionCount, ro.Status.CollisionCount) {
			return h.hash
		}
	}
	h := hash.PodTemplateHash(&ro.Spec.Template, ro.Status.CollisionCount)
	// A copy: unset and zero hash differently.
	var collisions *int32
	if ro.Status.CollisionCount != nil {
		collisions = ptr.To(*ro.Status.CollisionCount)
	}
	r.templateHashes.Store(key, templateHash{uid: ro.UID, generation: ro.Generation, collisionCount: collisions, hash: h})
	return h
}

// newReplicaSet builds the ReplicaSet for the current template at the size
// its strategy will want first, which saves a scale-up write per revision.
func (r *Reconciler) newReplicaSet(s *scope, rev int64) *appsv1.ReplicaSet {
	tmpl := *s.ro.Spec.Template.DeepCopy()
	tmpl.Spec.Affinity = newTemplateAffinity(s)
	ephemeral := creationMetadata(s)
	podtemplate.Diff(podtemplate.Ephemeral{}, ephemeral, tmpl.Labels, tmpl.Annotations).Apply(&tmpl.Labels, &tmpl.Annotations)
	tmpl.Labels = maps.Clone(tmpl.Labels)
	if tmpl.Labels == nil {
		tmpl.Labels = map[string]string{}
	}
	tmpl.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = s.newHash
	selector := s.ro.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = s.newHash
	annotations := map[string]string{v1alpha1.RevisionAnnotation: strconv.FormatInt(rev, 10), v1alpha1.DesiredReplicasAnnotation: strconv.Itoa(int(s.ro.ReplicasOrDefault()))}
	if rec := podtemplate.Record(ephemeral); rec != "" {
		annotations[v1alpha1.EphemeralMetadataAnnotation] = rec
	}
	// The ReplicaSet's own labels are the Rollout template's plus the hash,
	// without ephemeral ones (those belong to the role, not the revision).
	rsLabels := maps.Clone(s.ro.Spec.Template.Labels)
	if rsLabels == nil {
		rsLabels = map[string]string{}
	}
	rsLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = s.newHash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            s.ro.Name + "-" + s.newHash,
			Namespace:       s.ro.Namespace,
			Labels:          rsLabels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(s.ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To(r.initialReplicas(s)),
			MinReadySeconds: s.ro.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        tmpl,
		},
	}
}

func (r *Reconciler) setRevision(ctx context.Context, rs *appsv1.ReplicaSet, rev int64) error {
	patch := client.MergeFrom(rs.DeepCopy())
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	rs.Annotations[v1alpha1.RevisionAnnotation] = strconv.FormatInt(rev, 10)
	if err := r.Client.Patch(ctx, rs, patch); err != nil {
		return fmt.Errorf("set revision of replicaset %s: %w", klog.KObj(rs), err)
	}
	return nil
}

// syncRolloutRevision mirrors the new ReplicaSet's revision onto the Rollout,
// where `kubectl argo rollouts` and Argo CD read it.
func (r *Reconciler) syncRolloutRevision(ctx context.Context, s *scope) error {
	want := s.newRS.Annotations[v1alpha1.RevisionAnnotation]
	if want == "" || s.ro.Annotations[v1alpha1.RevisionAnnotation] == want {
		return nil
	}
	if err := r.annotateRollout(ctx, s, v1alpha1.RevisionAnnotation, want); err != nil {
		return err
	}
	r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventUpdated, "Update", "Rollout updated to revision %s", want)
	return nil
}

// annotateRollout sets one annotation on the Rollout (a metadata patch,
// outside the status written at the end of the pass).
func (r *Reconciler) annotateRollout(ctx context.Context, s *scope, key, value string) error {
	if s.ro.Annotations[key] == value {
		return nil
	}
	patch, err := mergePatch(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}}, "")
	if err != nil {
		return err
	}
	meta := rolloutMetadata(client.ObjectKeyFromObject(s.ro))
	if err := r.Client.Patch(ctx, meta, patch); err != nil {
		return fmt.Errorf("annotate rollout %s: %w", key, err)
	}
	// The status patch that ends the pass carries the resourceVersion it
	// read; keep it current so the optimistic lock holds.
	r.rememberOwnWrite(s, s.ro.ResourceVersion, meta.ResourceVersion)
	s.ro.ResourceVersion = meta.ResourceVersion
	s.original.ResourceVersion = meta.ResourceVersion
	for _, ro := range []*v1alpha1.Rollout{s.ro, s.original} {
		if ro.Annotations == nil {
			ro.Annotations = map[string]string{}
		}
		ro.Annotations[key] = value
	}
	return nil
}

// scale sets a ReplicaSet's spec.replicas.
func (r *Reconciler) scale(ctx context.Context, s *scope, rs *appsv1.ReplicaSet, replicas int32) error {
	old := specReplicas(rs)
	desired := strconv.Itoa(int(s.ro.ReplicasOrDefault()))
	if old == replicas && rs.Annotations[v1alpha1.DesiredReplicasAnnotation] == desired {
		return nil
	}
	if replicas == 0 && old > 0 && scaleDownDeadline(rs) == nil && usesScaleDownDeadlines(s.ro) {
		live, err := r.liveDeadline(ctx, rs)
		if err != nil {
			return err
		}
		if plannedOnStaleDeadline(nil, live, s.now) {
			return fmt.Errorf("scale replicaset %s to 0: it must wait for its scale-down deadline %s: %w",
				klog.KObj(rs), live.UTC().Format(time.RFC3339), errCacheBehind)
		}
	}
	annotations := map[string]any{v1alpha1.DesiredReplicasAnnotation: desired}
	if replicas == 0 && rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] != "" {
		annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = nil
	}
	patch, err := mergePatch(map[string]any{
		"metadata": map[string]any{"annotations": annotations},
		"spec":     map[string]any{"replicas": replicas},
	}, "")
	if err != nil {
		return err
	}
	// rs becomes the API server's answer.
	if err := r.Client.Patch(ctx, rs, patch); err != nil {
		return fmt.Errorf("scale replicaset %s to %d: %w", klog.KObj(rs), replicas, err)
	}
	if old != replicas {
		verb := "up"
		if replicas < old {
			verb = "down"
		}
		r.Recorder.Eventf(s.ro, rs, corev1.EventTypeNormal, EventScalingRS, "Scale",
			"Scaled %s ReplicaSet %s (revision %d) from %d to %d", verb, rs.Name, revision(rs), old, replicas)
		ctrl.LoggerFrom(ctx).V(1).Info("scaled ReplicaSet", "replicaSet", klog.KObj(rs), "from", old, "to", replicas)
	}
	return nil
}

// setScaleDownDeadline writes (or with a zero time removes) the
// scale-down-deadline annotation, so a delay survives a controller restart.
func (r *Reconciler) setScaleDownDeadline(ctx context.Context, rs *appsv1.ReplicaSet, at time.Time) error {
	key := v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey
	value := ""
	if !at.IsZero() {
		value = at.UTC().Format(time.RFC3339)
	}
	if rs.Annotations[key] == value {
		return nil
	}
	lock := ""
	if value != "" && scaleDownDeadline(rs) == nil {
		// The first deadline written stands: on the version this pass
		// read, so a deadline the cache does not show yet is not moved.
		lock = rs.ResourceVersion
	}
	var annotation any
	if value != "" {
		annotation = value
	}
	patch, err := mergePatch(map[string]any{"metadata": map[string]any{"annotations": map[string]any{key: annotation}}}, lock)
	if err != nil {
		return err
	}
	if err := r.Client.Patch(ctx, rs, patch); err != nil {
		if apierrors.IsConflict(err) {
			err = errors.Join(err, errCacheBehind)
		}
		return fmt.Errorf("annotate scale-down deadline on replicaset %s: %w", klog.KObj(rs), err)
	}
	return nil
}

func scaleDownDeadline(rs *appsv1.ReplicaSet) *time.Time {
	v, ok := rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil
	}
	return &t
}

// pruneHistory deletes the oldest scaled-down ReplicaSets beyond
// revisionHistoryLimit. ReplicaSets with pods, the new and the stable one are
// never deleted.
func (r *Reconciler) pruneHistory(ctx context.Context, s *scope) (ctrl.Result, error) {
	var idle []*appsv1.ReplicaSet
	for _, rs := range s.olderReplicaSets() {
		if specReplicas(rs) == 0 && rs.Status.Replicas == 0 && hashOf(rs) != s.ro.Status.StableRS {
			idle = append(idle, rs)
		}
	}
	limit := int(s.ro.RevisionHistoryLimitOrDefault())
	if len(idle) <= limit {
		return ctrl.Result{}, nil
	}
	sort.Slice(idle, func(i, j int) bool { return revision(idle[i]) < revision(idle[j]) })
	for _, rs := range idle[:len(idle)-limit] {
		err := r.Client.Delete(ctx, rs, client.Preconditions{UID: &rs.UID, ResourceVersion: &rs.ResourceVersion})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return ctrl.Result{}, fmt.Errorf("prune replicaset %s: %w", klog.KObj(rs), err)
		}
	}
	return ctrl.Result{}, nil
}

// equivalentReplicaSet finds a ReplicaSet that runs the Rollout's pod template
// although its hash label differs: `kubectl argo rollouts undo` copies a
// ReplicaSet's template, which the API server had defaulted, back into the
// Rollout; an older controller may have hashed differently. Such a
// ReplicaSet is reused rather than a copy started, so no pod restarts.
//
// The comparison needs the template as the API server would default it,
// which a dry-run create returns, and each candidate's whole template,
// read from the API server. It runs only when a ReplicaSet has the same
// containers and images (not for an ordinary new build), and its answer is
// remembered per template hash.
func (r *Reconciler) equivalentReplicaSet(ctx context.Context, s *scope) (*appsv1.ReplicaSet, error) {
	var candidates []*appsv1.ReplicaSet
	for _, rs := range s.replicaSets {
		if sameImages(&rs.Spec.Template.Spec, &s.ro.Spec.Template.Spec) {
			candidates = append(candidates, rs)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	key := equivalentKey{rollout: client.ObjectKeyFromObject(s.ro), uid: s.ro.UID, hash: s.newHash}
	if name, ok := r.equivalents.Load(key); ok {
		for _, rs := range candidates {
			if rs.Name == name {
				return rs, nil
			}
		}
	}
	dry := r.newReplicaSet(s, 0)
	dry.Name, dry.GenerateName = "", s.ro.Name+"-"
	dry.Spec.Replicas = ptr.To[int32](0)
	if err := r.Client.Create(ctx, dry, client.DryRunAll); err != nil {
		return nil, fmt.Errorf("default pod template (dry run): %w", err)
	}
	base := s.ro.Spec.Template
	want := podtemplate.WithoutInjected(dry.Spec.Template, dry.Annotations, base.Labels, base.Annotations)
	for _, rs := range candidates {
		// The cached ReplicaSet carries only its containers' names and
		// images; the comparison needs the whole template.
		full, err := r.fullReplicaSet(ctx, rs)
		if err != nil {
			return nil, err
		}
		if full == nil {
			continue
		}
		if equality.Semantic.DeepEqual(podtemplate.WithoutInjected(full.Spec.Template, full.Annotations, base.Labels, base.Annotations), want) {
			r.equivalents.Store(key, rs.Name)
			ctrl.LoggerFrom(ctx).Info("reusing ReplicaSet with the same pod template", "replicaSet", klog.KObj(rs))
			return rs, nil
		}
	}
	return nil, nil
}

func sameImages(a, b *corev1.PodSpec) bool {
	images := func(spec *corev1.PodSpec) []string {
		var out []string
		for _, c := range append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...) {
			out = append(out, c.Name+"="+c.Image)
		}
		return out
	}
	return slices.Equal(images(a), images(b))
}

// equivalentKey identifies a remembered equivalent ReplicaSet: the Rollout
// (by name, so entries are dropped when it is deleted, and by UID, so a
// new Rollout of the same name starts afresh) and the template hash.
type equivalentKey struct {
	rollout types.NamespacedName
	uid     types.UID
	hash    string
}

// forget drops what the reconciler remembers of a deleted Rollout, so its
// in-memory maps stay bounded by the Rollouts that exist.
func (r *Reconciler) forget(key types.NamespacedName) {
	r.templateHashes.Delete(key)
	r.validSpecs.Delete(key)
	r.ownWrites.Delete(key)
	r.countsSince.Delete(key)
	r.promotes.Delete(key)
	r.equivalents.Range(func(k, _ any) bool {
		if k.(equivalentKey).rollout == key {
			r.equivalents.Delete(k)
		}
		return true
	})
}
