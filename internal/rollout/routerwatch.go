package rollout

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/objects"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/routers"
)

// trafficRouting is the reconciler's traffic-routing machinery.
//
// Memory: the routers read their objects live (client), never from the
// manager's cache, so no Ingress, route or VirtualService is cached for
// being read. Changes are watched only where it pays: the Gateway API
// routes and the Istio objects a Rollout names get a metadata-only watch,
// started for a kind once some Rollout uses it, which re-queues the
// Rollouts naming the object when someone else edits or deletes it.
// Ingresses are not watched (a cluster has many, and caching even their
// metadata costs every controller replica): a pass whose router failed
// comes back every routingErrorRetry instead, so fixing an Ingress resumes
// the Rollout within seconds.
type trafficRouting struct {
	// client reads and writes router objects without a cache.
	client client.Client
	// options are the controller-wide router settings (ALB verification
	// is off: no Verifier is configured in this build).
	options routers.Options
	// verifyRetry is how soon an unverified weight is checked again.
	verifyRetry time.Duration
	// watches holds, per GroupKind, a started watch.
	watches sync.Map
	mu      sync.Mutex
}

const routerObjectIndex = "rollout.routerObjects"

// setupTrafficRouting builds the uncached router client and indexes
// Rollouts by the router objects they name.
func (r *Reconciler) setupTrafficRouting(mgr ctrl.Manager) error {
	c, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return fmt.Errorf("router client: %w", err)
	}
	r.traffic.client = c
	if r.traffic.verifyRetry, err = tr.VerifyRetryInterval(nil); err != nil {
		return err
	}
	return mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Rollout{}, routerObjectIndex, rolloutIndex(routerObjectsKeys))
}

// indexRouterObjects keys a Rollout by the traffic router objects it names.
func indexRouterObjects(ro *v1alpha1.Rollout) []string {
	var keys []string
	for _, ref := range routers.ObjectRefs(nil, ro) {
		keys = append(keys, routerObjectKey(ref))
	}
	return keys
}

func routerObjectKey(ref objects.Ref) string {
	return ref.GroupKind.String() + "/" + ref.Namespace + "/" + ref.Name
}

// routerClient is the client routers use: uncached when set up by the
// manager.
func (r *Reconciler) routerClient() client.Client {
	if r.traffic.client != nil {
		return r.traffic.client
	}
	return r.Client
}

// watchRouterObjects starts, once per kind, a metadata-only watch of the
// kinds of router objects a Rollout names. A kind the API server does not
// serve (its CRDs are not installed) is not watched; the router's own
// error says so, and the next pass tries again.
func (r *Reconciler) watchRouterObjects(ctx context.Context, ro *v1alpha1.Rollout) {
	if r.controller == nil {
		return
	}
	for _, ref := range routers.ObjectRefs(nil, ro) {
		gk := ref.GroupKind
		if _, ok := r.traffic.watches.Load(gk); ok {
			continue
		}
		if err := r.watchRouterKind(gk); err != nil {
			ctrl.LoggerFrom(ctx).V(1).Info("not watching router objects", "kind", gk.String(), "reason", err.Error())
		}
	}
}

func (r *Reconciler) watchRouterKind(gk schema.GroupKind) error {
	r.traffic.mu.Lock()
	defer r.traffic.mu.Unlock()
	if _, ok := r.traffic.watches.Load(gk); ok {
		return nil
	}
	gvk, err := objects.GVK(r.routerClient(), gk)
	if err != nil {
		return err
	}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(gvk)
	mapFn := func(ctx context.Context, obj *metav1.PartialObjectMetadata) []reconcile.Request {
		key := routerObjectKey(objects.Ref{GroupKind: gk, Namespace: obj.GetNamespace(), Name: obj.GetName()})
		// Across namespaces: a route may live in another namespace than
		// the Rollouts naming it.
		var list v1alpha1.RolloutList
		if err := r.Client.List(ctx, &list, client.MatchingFields{routerObjectIndex: key}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "list rollouts naming a router object", "object", key)
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for _, ro := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
		}
		return reqs
	}
	// Spec changes, creations and deletions only: a gateway controller
	// writing a route's status does not concern the Rollout.
	src := source.Kind(r.cache, meta, handler.TypedEnqueueRequestsFromMapFunc(mapFn),
		predicate.TypedGenerationChangedPredicate[*metav1.PartialObjectMetadata]{})
	if err := r.controller.Watch(src); err != nil {
		return fmt.Errorf("watch %s: %w", gk, err)
	}
	r.traffic.watches.Store(gk, true)
	return nil
}
