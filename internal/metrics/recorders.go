package metrics

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Kind names which reconciler a ReconcileObserver measures.
type Kind int

// The kinds with reconcile metrics.
const (
	Rollout Kind = iota
	AnalysisRun
	Experiment
)

// Observe wraps a reconciler so that each pass is timed into the kind's
// reconcile histogram and each error counted in its reconcile_error
// counter. When the object is gone (the pass found nothing, or deleted
// it), its series are removed, as the reference does on deletion. A nil m
// returns inner unchanged.
func (m *Metrics) Observe(kind Kind, inner reconcile.Reconciler) reconcile.Reconciler {
	if m == nil {
		return inner
	}
	var (
		hist   *compactHistogram
		errs   *compactCounter
		newObj func() client.Object
		// perObjectSeries hold the series removed with their object.
		perObjectSeries []perObject
	)
	switch kind {
	case Rollout:
		hist, errs, newObj = m.rolloutReconcile, m.rolloutReconcileError, func() client.Object { return &v1alpha1.Rollout{} }
		perObjectSeries = append(perObjectSeries, m.rolloutEvents, m.promoteToSwitch)
	case AnalysisRun:
		hist, errs, newObj = m.analysisRunReconcile, m.analysisRunReconcileError, func() client.Object { return &v1alpha1.AnalysisRun{} }
	case Experiment:
		hist, errs, newObj = m.experimentReconcile, m.experimentReconcileError, func() client.Object { return &v1alpha1.Experiment{} }
	}
	perObjectSeries = append(perObjectSeries, hist, errs)
	return reconcile.Func(func(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
		start := time.Now()
		res, err := inner.Reconcile(ctx, req)
		ns, name := req.Namespace, req.Name
		if m.opts.Reader != nil {
			if getErr := m.opts.Reader.Get(ctx, req.NamespacedName, newObj()); apierrors.IsNotFound(getErr) {
				for _, f := range perObjectSeries {
					f.deleteObject(ns, name)
				}
				if kind == Rollout {
					m.requests.forgetRollout(ctx, m.opts.Reader, ns, name)
				}
				return res, err
			}
		}
		hist.observe(time.Since(start).Seconds(), ns, name)
		if err != nil {
			errs.inc(ns, name)
		}
		return res, err
	})
}

// ObservePromoteToSwitch records, for a Rollout, the seconds from the pass
// that saw a person's promote to the write that switched its active or
// stable Service.
func (m *Metrics) ObservePromoteToSwitch(ro *v1alpha1.Rollout, d time.Duration) {
	if m == nil {
		return
	}
	m.promoteToSwitch.observe(d.Seconds(), ro.Namespace, ro.Name, Strategy(ro))
}

// CountEvents wraps an event recorder so that each event about a Rollout
// increments rollout_events_total{namespace,name,type,reason}. Events about
// other kinds pass through uncounted. A nil m returns rec unchanged.
func (m *Metrics) CountEvents(rec events.EventRecorder) events.EventRecorder {
	if m == nil {
		return rec
	}
	return eventCounter{rec: rec, counter: m.rolloutEvents}
}

type eventCounter struct {
	rec     events.EventRecorder
	counter *compactCounter
}

func (e eventCounter) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	if ro, ok := regarding.(*v1alpha1.Rollout); ok {
		e.counter.inc(ro.Namespace, ro.Name, eventtype, reason)
	}
	e.rec.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

// RequestCounter counts each request the controller sends to the API
// server in controller_clientset_k8s_request_total. It is built before the
// manager (whose clients take its transport) and handed to New.
//
// Its series name objects, and every revision brings new ones (a
// ReplicaSet, AnalysisRuns): kept forever, they would grow with every
// release a long-running controller makes. Here an object's series go
// some time after the controller deleted it (a pruned ReplicaSet or
// AnalysisRun), so the delete is still scraped, and at once when its
// Rollout is deleted, with the Rollout's own.
type RequestCounter struct {
	counter *compactCounter
	now     func() time.Time

	mu sync.Mutex
	// deleted are the objects the controller deleted, oldest first.
	deleted []deletedObject
}

type deletedObject struct {
	ref objectRef
	at  time.Time
}

// deletedRetention is how long the series of an object the controller
// deleted are still exported: a few scrapes.
const deletedRetention = 5 * time.Minute

// NewRequestCounter builds an unregistered counter.
func NewRequestCounter() *RequestCounter {
	return &RequestCounter{
		counter: newCompactCounter(K8sRequestTotal,
			"Requests the controller sent to the Kubernetes API server, by object, verb and response code.",
			"kind", "namespace", "name", "verb", "status_code"),
		now: time.Now,
	}
}

// WrapTransport is a rest.Config's WrapTransport.
func (c *RequestCounter) WrapTransport(rt http.RoundTripper) http.RoundTripper {
	return countingTransport{rt: rt, requests: c}
}

type countingTransport struct {
	rt       http.RoundTripper
	requests *RequestCounter
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(req)
	code := "Unknown"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	ri := ParseRequest(req.Method, req.URL.Path, req.URL.Query().Get("watch") == "true")
	c.requests.counter.inc(ri.Kind, ri.Namespace, ri.Name, ri.Verb, code)
	if ri.Verb == "Delete" && (code == "200" || code == "202" || code == "404") {
		c.requests.noteDeleted(objectRef{ri.Namespace, ri.Name})
	}
	return resp, err
}

// noteDeleted notes that the controller deleted ref, and removes the series of
// the objects deleted longer than the retention ago.
func (c *RequestCounter) noteDeleted(ref objectRef) {
	now := c.now()
	c.mu.Lock()
	c.deleted = append(c.deleted, deletedObject{ref: objectRef{strings.Clone(ref.namespace), strings.Clone(ref.name)}, at: now})
	i := 0
	for ; i < len(c.deleted) && now.Sub(c.deleted[i].at) >= deletedRetention; i++ {
		c.counter.deleteObject(c.deleted[i].ref.namespace, c.deleted[i].ref.name)
	}
	c.deleted = slices.Delete(c.deleted, 0, i)
	c.mu.Unlock()
}

// forgetRollout removes the series of a deleted Rollout: its own and those
// of the objects named after it (its ReplicaSets, AnalysisRuns and
// Experiments, which the garbage collector deletes), leaving alone the
// names of another Rollout of the namespace ("app-v2" when "app" goes).
// Only the names with series are looked at, each against the cache: a
// fleet deleted at once costs no listing of the fleet per Rollout.
func (c *RequestCounter) forgetRollout(ctx context.Context, reader client.Reader, namespace, name string) {
	isRollout := func(n string) bool {
		err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: n}, &v1alpha1.Rollout{})
		// Unsure (not a NotFound): keep the series.
		return !apierrors.IsNotFound(err)
	}
	c.counter.deleteObject(namespace, name)
	for _, object := range c.counter.objectNames(namespace, name+"-") {
		if namedAfter(name, object, isRollout) {
			c.counter.deleteObject(namespace, object)
		}
	}
}

// namedAfter: object is the Rollout name's own, or one of its objects
// (named after it: its name, a dash, more), unless a Rollout exists whose
// name is a longer dash-separated prefix of it (or it itself).
func namedAfter(name, object string, isRollout func(string) bool) bool {
	if object == name {
		return true
	}
	if !strings.HasPrefix(object, name+"-") {
		return false
	}
	for i := len(name) + 1; i <= len(object); i++ {
		if (i == len(object) || object[i] == '-') && isRollout(object[:i]) {
			return false
		}
	}
	return true
}

// RequestInfo is what the request counter's labels say of one request.
type RequestInfo struct {
	Kind, Namespace, Name, Verb string
}

// NotApplicable is the name label of a request that names no object.
const NotApplicable = "N/A"

// ParseRequest reads the resource, namespace, name and verb of an API
// request from its method and path: kind is the resource as the path spells
// it (e.g. "rollouts", "replicasets"), a subresource appended after a slash
// ("rollouts/status"); a request that names no object (list, watch,
// create, delete collection) has name N/A; a path or method it cannot read
// is Unknown in every label.
func ParseRequest(method, path string, watch bool) RequestInfo {
	unknown := RequestInfo{Kind: "Unknown", Namespace: "Unknown", Name: "Unknown", Verb: "Unknown"}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:] // api/v1
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:] // apis/group/version
	default:
		return unknown
	}
	ri := RequestInfo{Name: NotApplicable}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		ri.Namespace, parts = parts[1], parts[2:]
	}
	if len(parts) == 0 || parts[0] == "" {
		return unknown
	}
	ri.Kind = parts[0]
	if len(parts) >= 2 {
		ri.Name = parts[1]
	}
	if len(parts) >= 3 {
		ri.Kind += "/" + parts[2]
	}
	named := ri.Name != NotApplicable
	switch {
	case method == http.MethodGet && watch:
		ri.Verb = "Watch"
	case method == http.MethodGet && named:
		ri.Verb = "Get"
	case method == http.MethodGet:
		ri.Verb = "List"
	case method == http.MethodPost:
		ri.Verb = "Create"
	case method == http.MethodPut:
		ri.Verb = "Update"
	case method == http.MethodPatch:
		ri.Verb = "Patch"
	case method == http.MethodDelete && named:
		ri.Verb = "Delete"
	case method == http.MethodDelete:
		ri.Verb = "DeleteCollection"
	default:
		return unknown
	}
	return ri
}
