package dashboard

import (
	"context"
	"fmt"
	"sort"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/view"
)

// Snapshot is what the page shows: the Rollouts of the namespace (or of
// all namespaces) as `get rollout` models them, and the errors the API
// server answered while reading them.
type Snapshot struct {
	// Namespace is the namespace shown; empty for all namespaces.
	Namespace string
	// Synced is false until every watch has listed once.
	Synced   bool
	Rollouts []Rollout
	// Errors are the API server's answers to the dashboard's lists and
	// watches that failed (forbidden, not found, ...), one per resource,
	// as long as that resource has not been read successfully since.
	Errors []string
}

// Rollout is one Rollout of the page: the model of `get rollout`, plus
// what the page's forms need.
type Rollout struct {
	*view.Rollout
	// Revision is the Rollout's current revision.
	Revision string
	// Containers are the names of the pod template's containers (init,
	// regular), for the set-image form.
	Containers []string
	// Error is set when the Rollout could not be read.
	Error string `json:",omitempty"`
}

// watched is one informer and the last error its list or watch met.
type watched struct {
	resource string
	informer cache.SharedIndexInformer
	// optional resources (analysis, experiments) do not hold the page
	// back: one the user may not read is reported, and the Rollouts are
	// shown without it.
	optional bool

	mu sync.Mutex
	// err and errVersion are the last list/watch error and the informer's
	// resource version when it happened; a newer version means the
	// resource has been read since, and the error is over.
	err        error
	errVersion string
}

func (w *watched) setError(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.err, w.errVersion = err, w.informer.LastSyncResourceVersion()
}

func (w *watched) currentError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil && w.informer.LastSyncResourceVersion() != w.errVersion {
		w.err = nil
	}
	return w.err
}

// state watches Rollouts, ReplicaSets and pods, and the AnalysisRuns and
// Experiments when their CRDs are installed, and builds snapshots from the
// informers' caches.
type state struct {
	namespace string
	rollouts  *watched
	rss       *watched
	pods      *watched
	// runs and experiments are nil when the cluster does not serve them.
	runs        *watched
	experiments *watched
	factory     informers.SharedInformerFactory
	dynamic     dynamicinformer.DynamicSharedInformerFactory

	mu sync.Mutex
	// changed is closed, and replaced, on every change: waiters select on it.
	changed chan struct{}
}

// rolloutLabel is on every ReplicaSet and pod a Rollout creates; watching
// only those keeps a namespace's other workloads out of memory.
const rolloutLabel = v1alpha1.DefaultRolloutUniqueLabelKey

func newState(ns string, dyn dynamic.Interface, kube kubernetes.Interface) (*state, error) {
	s := &state{namespace: ns, changed: make(chan struct{})}
	s.dynamic = dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, nil)
	s.factory = informers.NewSharedInformerFactoryWithOptions(kube, 0,
		informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = rolloutLabel }))
	s.rollouts = &watched{resource: "rollouts", informer: s.dynamic.ForResource(cli.RolloutGVR).Informer()}
	s.rss = &watched{resource: "replicasets", informer: s.factory.Apps().V1().ReplicaSets().Informer()}
	s.pods = &watched{resource: "pods", informer: s.factory.Core().V1().Pods().Informer()}
	served := servedResources(kube)
	if served[cli.AnalysisRunGVR.Resource] {
		s.runs = &watched{resource: "analysisruns", optional: true, informer: s.dynamic.ForResource(cli.AnalysisRunGVR).Informer()}
	}
	if served[cli.ExperimentGVR.Resource] {
		s.experiments = &watched{resource: "experiments", optional: true, informer: s.dynamic.ForResource(cli.ExperimentGVR).Informer()}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.notify() },
		UpdateFunc: func(any, any) { s.notify() },
		DeleteFunc: func(any) { s.notify() },
	}
	for _, w := range s.all() {
		if err := w.informer.SetTransform(stripManagedFields); err != nil {
			return nil, fmt.Errorf("watch %s: %w", w.resource, err)
		}
		err := w.informer.SetWatchErrorHandlerWithContext(func(ctx context.Context, _ *cache.Reflector, err error) {
			// The page shows the error; the terminal stays quiet
			// unless asked (-v).
			if ctx.Err() == nil {
				w.setError(err)
				s.notify()
				klog.V(1).InfoS("Dashboard watch failed", "resource", w.resource, "err", err.Error())
			}
		})
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", w.resource, err)
		}
		if _, err := w.informer.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("watch %s: %w", w.resource, err)
		}
	}
	return s, nil
}

// servedResources are the resources of the Rollout API group the cluster
// serves, by discovery. The Rollout CRD may be installed without the
// AnalysisRun and Experiment ones; when discovery fails they are assumed
// served, and a failing watch says why on the page.
func servedResources(kube kubernetes.Interface) map[string]bool {
	served := map[string]bool{}
	list, err := kube.Discovery().ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
	if err != nil && !apierrors.IsNotFound(err) {
		klog.V(1).InfoS("Dashboard discovery failed", "groupVersion", v1alpha1.GroupVersion.String(), "err", err.Error())
		return map[string]bool{cli.AnalysisRunGVR.Resource: true, cli.ExperimentGVR.Resource: true}
	}
	if list != nil {
		for _, r := range list.APIResources {
			served[r.Name] = true
		}
	}
	return served
}

func (s *state) all() []*watched {
	out := []*watched{s.rollouts, s.rss, s.pods}
	for _, w := range []*watched{s.runs, s.experiments} {
		if w != nil {
			out = append(out, w)
		}
	}
	return out
}

// start runs the informers until ctx ends; stop waits for them.
func (s *state) start(ctx context.Context) {
	s.dynamic.Start(ctx.Done())
	s.factory.Start(ctx.Done())
}

func (s *state) stop() {
	s.dynamic.Shutdown()
	s.factory.Shutdown()
}

// notify wakes every waiter.
func (s *state) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// changes returns a channel closed at the next change.
func (s *state) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// snapshot reads the caches.
func (s *state) snapshot() *Snapshot {
	snap := &Snapshot{Namespace: s.namespace, Synced: true, Rollouts: []Rollout{}, Errors: []string{}}
	for _, w := range s.all() {
		err := w.currentError()
		if !w.informer.HasSynced() && (!w.optional || err == nil) {
			snap.Synced = false
		}
		if err != nil {
			snap.Errors = append(snap.Errors, fmt.Sprintf("read %s: %s", w.resource, cli.Message(err)))
		}
	}
	rel := view.Related{
		ReplicaSets: cli.Cached[appsv1.ReplicaSet](s.rss.informer.GetStore()),
		Pods:        cli.Cached[corev1.Pod](s.pods.informer.GetStore()),
	}
	// A run or Experiment the types cannot read (a newer API version) is
	// no reason to hide the Rollouts: it is left out.
	var unread []error
	if s.runs != nil {
		rel.AnalysisRuns, unread = cli.CachedDecoded[v1alpha1.AnalysisRun](s.runs.informer.GetStore())
	}
	if s.experiments != nil {
		var errs []error
		rel.Experiments, errs = cli.CachedDecoded[v1alpha1.Experiment](s.experiments.informer.GetStore())
		unread = append(unread, errs...)
	}
	for _, err := range unread {
		klog.V(1).InfoS("Dashboard cannot read object", "err", err.Error())
	}
	for _, obj := range s.rollouts.informer.GetStore().List() {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		snap.Rollouts = append(snap.Rollouts, newRollout(u, rel))
	}
	sort.Slice(snap.Rollouts, func(i, j int) bool {
		a, b := snap.Rollouts[i], snap.Rollouts[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return snap
}

func newRollout(u *unstructured.Unstructured, rel view.Related) Rollout {
	ro, err := cli.FromUnstructured(u)
	if err != nil {
		// A Rollout Switchyard's types cannot read is still listed, with why.
		return Rollout{Rollout: &view.Rollout{Name: u.GetName(), Namespace: u.GetNamespace()}, Error: err.Error()}
	}
	r := Rollout{Rollout: view.NewRolloutFrom(ro, rel), Revision: ro.Annotations[v1alpha1.RevisionAnnotation]}
	for _, c := range ro.Spec.Template.Spec.InitContainers {
		r.Containers = append(r.Containers, c.Name)
	}
	for _, c := range ro.Spec.Template.Spec.Containers {
		r.Containers = append(r.Containers, c.Name)
	}
	return r
}

// stripManagedFields drops what the page never shows from cached objects.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
