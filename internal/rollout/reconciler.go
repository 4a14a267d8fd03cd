// Package rollout is the Rollout reconciler: it reads a Rollout and the
// objects it owns, lets the strategy planners (internal/bluegreen,
// internal/canary) decide, applies their plan to ReplicaSets and Services,
// and writes the status once per pass.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/metrics"
	"github.com/switchyard-dev/switchyard/internal/requeue"
)

// Reconciler drives Rollouts. All progress lives in the API objects
// (ReplicaSet annotations, Service selectors, Rollout status), so a restart
// at any point resumes where the last pass left off.
type Reconciler struct {
	Client client.Client
	// APIReader reads uncached: what the cache may not show yet (an object
	// a pass just created) and pods, which are not cached.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// MaxConcurrentReconciles is the number of Rollouts reconciled at once.
	MaxConcurrentReconciles int

	// ownWrites maps a Rollout to the resourceVersions the writes of its
	// last pass by this controller replaced. While the cache still shows
	// one of them, a pass would act on stale state and its writes would
	// conflict; the watch event of our own write brings the Rollout back.
	ownWrites sync.Map
	// countsSince maps a Rollout to when a pass first held back a status
	// write that only changed replica counts (writeStatus).
	countsSince sync.Map
	// equivalents remembers which ReplicaSet runs a template whose hash
	// label differs (see equivalentReplicaSet), by Rollout UID and hash.
	equivalents sync.Map
	// templateHashes maps a Rollout to its pod-template hash for one
	// generation (templateHash): the template's JSON encoding, hashed,
	// was a tenth of a pass that changes nothing.
	templateHashes sync.Map
	// validSpecs maps a Rollout to the version of its spec (specVersion)
	// last found valid: run cold, as on a promote after a quiet while, the
	// checks were a quarter of the pass before its Service write.
	validSpecs sync.Map

	// controller and cache let watches start lazily: a workloadRef's kind
	// is watched once some Rollout references it (workloadWatches).
	controller      controller.Controller
	cache           cache.Cache
	workloadWatches sync.Map

	// traffic serves traffic-routed canaries (routerwatch.go).
	traffic trafficRouting

	// AnalysisServed: the API server serves the analysis CRDs, so
	// Rollouts may use analysis. ClusterTemplates: ClusterAnalysisTemplates
	// may be read (not when the controller serves one namespace).
	AnalysisServed, ClusterTemplates bool
	templateWatches                  analysisWatches
	// ExperimentServed: the API server serves the Experiment CRD (and the
	// analysis ones), so canary steps may run Experiments.
	ExperimentServed bool

	// Metrics times each pass and records promote-to-switch times (nil:
	// none); promotes holds the promotes not yet switched
	// (promotemetric.go).
	Metrics  *metrics.Metrics
	promotes sync.Map
}

// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/scale,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;patch;update
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile runs one pass: fetch, validate, gather, sync the new ReplicaSet,
// run the strategy, prune history, then write the status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	ro := &v1alpha1.Rollout{}
	if err := r.Client.Get(ctx, req.NamespacedName, ro); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, r.releaseServicesOfDeleted(ctx, req.NamespacedName)
		}
		return ctrl.Result{}, err
	}
	if !ro.DeletionTimestamp.IsZero() {
		// Owned ReplicaSets go with the garbage collector.
		return ctrl.Result{}, nil
	}
	if replaced, ok := r.ownWrites.Load(req.NamespacedName); ok {
		if slices.Contains(replaced.([]string), ro.ResourceVersion) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		r.ownWrites.Delete(req.NamespacedName)
	}
	// The pass logs with controller-runtime's logger, which already names
	// the Rollout (its "Rollout", "namespace" and "name" keys).
	s := newScope(ro, r.Clock.Now())
	r.notePromote(s)
	defer func() {
		if wait := r.holdCounts(s); wait > 0 {
			// Only counts moved: written with the next change, or once
			// the window has passed.
			result = requeue.Sooner(result, requeue.After(wait))
		} else if err := r.writeStatus(ctx, s); err != nil {
			if apierrors.IsConflict(err) {
				// Someone (a promote, an abort) wrote first: start over.
				result, retErr = requeue.After(100*time.Millisecond), nil
				return
			}
			retErr = errors.Join(retErr, fmt.Errorf("write status of rollout %s: %w", klog.KObj(ro), err))
			return
		}
		r.recordStatusEvents(s)
		if deadline := progressDeadline(s.ro); !deadline.IsZero() {
			// Come back when the update would time out.
			result = requeue.Sooner(result, requeue.After(deadline.Sub(s.now)+time.Second))
		}
	}()

	phases := []struct {
		name string
		run  func(context.Context, *scope) (ctrl.Result, error)
	}{
		{"validate spec", r.validate},
		{"resolve workloadRef", r.resolveWorkload},
		{"validate analysis templates", r.validateAnalysis},
		{"validate experiment steps", r.validateExperiments},
		{"gather owned objects", r.gather},
		{"gather analysis runs", r.gatherAnalysisRuns},
		{"gather experiments", r.gatherExperiments},
		{"release unreferenced Services", r.releaseServices},
		{"sync new ReplicaSet", r.syncNewReplicaSet},
		{"run strategy", r.runStrategy},
		{"sync injected pod metadata", r.syncInjected},
		{"scale down referenced workload", r.scaleDownWorkload},
		{"restart pods", r.restartPods},
		{"prune analysis runs", r.pruneAnalysisRuns},
		{"prune experiments", r.pruneExperiments},
		{"prune revision history", r.pruneHistory},
	}
	for _, phase := range phases {
		res, err := phase.run(ctx, s)
		result = requeue.Sooner(result, res)
		if errors.Is(err, errCacheBehind) {
			ctrl.LoggerFrom(ctx).V(1).Info("waiting for the cache", "phase", phase.name, "reason", err.Error())
			return requeue.Sooner(result, requeue.After(cacheBehindRetry)), nil
		}
		if err != nil {
			return result, fmt.Errorf("%s: %w", phase.name, err)
		}
		if s.stop {
			break
		}
	}
	return result, nil
}

// SetupWithManager registers the reconciler and its watches: owned
// ReplicaSets, and the Services a Rollout names (so that creating a missing
// Service or editing a selector is noticed).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Rollout{}, serviceIndex, rolloutIndex(servicesKeys)); err != nil {
		return fmt.Errorf("index rollouts by service: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &appsv1.ReplicaSet{}, ownerIndex, indexOwner); err != nil {
		return fmt.Errorf("index replicasets by owner: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &appsv1.ReplicaSet{}, orphanIndex, indexOrphan); err != nil {
		return fmt.Errorf("index replicasets without a controller: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Rollout{}, workloadIndex, rolloutIndex(workloadKeys)); err != nil {
		return fmt.Errorf("index rollouts by workloadRef: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Service{}, managedByIndex, indexManagedBy); err != nil {
		return fmt.Errorf("index services by managing rollout: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &discoveryv1.EndpointSlice{}, sliceServiceIndex, indexSliceService); err != nil {
		return fmt.Errorf("index endpointslices by service: %w", err)
	}
	if err := r.setupTrafficRouting(mgr); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		// The reference's workqueue name: workqueue_* metrics carry it.
		Named("Rollouts").
		For(&v1alpha1.Rollout{}, builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Owns(&appsv1.ReplicaSet{}).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsForService)).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsForEndpointSlice)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)})
	if r.AnalysisServed {
		// A run's phase changing brings its Rollout back; templates are
		// watched once a Rollout uses analysis (watchTemplates).
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.AnalysisRun{}, runOwnerIndex, indexRunOwner); err != nil {
			return fmt.Errorf("index analysisruns by owner: %w", err)
		}
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Rollout{}, templatesIndex, rolloutIndex(templatesKeys)); err != nil {
			return fmt.Errorf("index rollouts by analysis template: %w", err)
		}
		b = b.Owns(&v1alpha1.AnalysisRun{})
	}
	if r.ExperimentServed {
		// An Experiment's phase changing brings its Rollout back.
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Experiment{}, experimentOwnerIndex, indexOwner); err != nil {
			return fmt.Errorf("index experiments by owner: %w", err)
		}
		b = b.Owns(&v1alpha1.Experiment{})
	}
	c, err := b.Build(r.Metrics.Observe(metrics.Rollout, r))
	if err != nil {
		return err
	}
	r.controller, r.cache = c, mgr.GetCache()
	return nil
}

// rolloutsForService maps a Service to the Rollouts that name it, and to
// the one that manages it (which may no longer name it, or be gone: that
// Rollout releases it).
func (r *Reconciler) rolloutsForService(ctx context.Context, obj client.Object) []reconcile.Request {
	reqs := r.rolloutsFor(ctx, obj.GetNamespace(), serviceIndex, obj.GetName())
	if name := obj.GetAnnotations()[v1alpha1.ManagedByRolloutsKey]; name != "" {
		managing := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}
		if !slices.Contains(reqs, managing) {
			reqs = append(reqs, managing)
		}
	}
	return reqs
}

// rolloutsFor lists, from the cache, the Rollouts of a namespace whose field
// index holds key.
func (r *Reconciler) rolloutsFor(ctx context.Context, namespace, index, key string) []reconcile.Request {
	var list v1alpha1.RolloutList
	if err := r.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{index: key}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list rollouts", "index", index, "key", key)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, ro := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ro.Namespace, Name: ro.Name}})
	}
	return reqs
}

// recordStatusEvents records the events of the pass's status transitions,
// once the status is written (or needed no write).
func (r *Reconciler) recordStatusEvents(s *scope) {
	for _, e := range s.statusEvents {
		r.Recorder.Eventf(s.ro, nil, e.Type, e.Reason, e.Reason, "%s", e.Message)
	}
	s.statusEvents = nil
}

// countsWindow is how long a status change of replica counts alone waits
// for company: pods becoming ready one by one, or a ReplicaSet's status
// catching up with its scale, make a burst of such changes, written as one.
const countsWindow = time.Second

// holdCounts computes the status and, when it differs from the stored one
// in replica counts only (no condition, phase or progress), holds the write
// back for at most countsWindow from the first such pass; it returns how
// long is left, 0 when the status is to be written now. Any other change
// is written at once, with the counts.
func (r *Reconciler) holdCounts(s *scope) time.Duration {
	r.computeStatusOnce(s)
	key := client.ObjectKeyFromObject(s.ro)
	if !countsOnly(&s.original.Status, &s.ro.Status) {
		r.countsSince.Delete(key)
		return 0
	}
	first, _ := r.countsSince.LoadOrStore(key, s.now)
	if left := countsWindow - s.now.Sub(first.(time.Time)); left > 0 {
		return left
	}
	r.countsSince.Delete(key)
	return 0
}

// computeStatusOnce computes the pass's status, unless the pass leaves it
// as it was (skipStatus) or it is computed already.
func (r *Reconciler) computeStatusOnce(s *scope) {
	if !s.skipStatus && !s.statusComputed {
		r.computeStatus(s)
	}
	s.statusComputed = true
}

// countsOnly: now differs from was, in the replica counts and nothing else.
func countsOnly(was, now *v1alpha1.RolloutStatus) bool {
	if equality.Semantic.DeepEqual(was, now) {
		return false
	}
	c := was.DeepCopy()
	c.Replicas, c.UpdatedReplicas, c.ReadyReplicas = now.Replicas, now.UpdatedReplicas, now.ReadyReplicas
	c.AvailableReplicas, c.HPAReplicas = now.AvailableReplicas, now.HPAReplicas
	return equality.Semantic.DeepEqual(c, now)
}

// writeStatus computes the status from what this pass observed and did, and
// patches it only when it changed, with optimistic locking so a concurrent
// client write (promote, abort) is never overwritten.
func (r *Reconciler) writeStatus(ctx context.Context, s *scope) error {
	r.computeStatusOnce(s)
	if equality.Semantic.DeepEqual(s.original.Status, s.ro.Status) {
		return nil
	}
	patch, err := statusPatch(&s.original.Status, &s.ro.Status, s.original.ResourceVersion)
	if err != nil || patch == nil {
		return err
	}
	// The answer is read as metadata only: the pass needs the new
	// resourceVersion, not the whole Rollout decoded again (a third of the
	// write's CPU here, and the API server's encoding of it).
	meta := rolloutMetadata(client.ObjectKeyFromObject(s.ro))
	if err := r.Client.Status().Patch(ctx, meta, patch); err != nil {
		return err
	}
	r.rememberOwnWrite(s, s.original.ResourceVersion, meta.ResourceVersion)
	s.ro.ResourceVersion = meta.ResourceVersion
	return nil
}

// rememberOwnWrite notes that this pass moved the Rollout from version
// before to after. Every version the pass replaced is stale: a pass that
// reads one from the cache (the watch event of a metadata patch arriving
// before that of the status write that followed it) would conflict. A write
// the API server found to change nothing keeps the version, and must not be
// waited for.
func (r *Reconciler) rememberOwnWrite(s *scope, before, after string) {
	if after == "" || after == before {
		return
	}
	s.replaced = append(s.replaced, before)
	r.ownWrites.Store(client.ObjectKeyFromObject(s.ro), slices.Clone(s.replaced))
}
