package e2e

import (
	"context"
	"strings"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/switchyard-dev/switchyard/test/history"
)

// timeline records every change of some kinds of objects in the test's
// namespace and replays them in the order the API server committed them
// (test/history: the watch streams merged by resourceVersion, so a check
// run after each change sees every state the cluster went through, the
// routing objects, the Services and their EndpointSlices at once).
type timeline struct {
	rec  *history.Recorder
	gvrs map[string]schema.GroupVersionResource
}

// change is one write: the object after it (before it, for a deletion).
type change struct {
	gvr     schema.GroupVersionResource
	rv      int64
	deleted bool
	obj     *unstructured.Unstructured
}

// state is the namespace's objects of the recorded kinds at one moment, by
// name.
type state map[schema.GroupVersionResource]map[string]*unstructured.Unstructured

func (s state) get(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	return s[gvr][name]
}

func (e *testEnv) recordTimeline(gvrs ...schema.GroupVersionResource) *timeline {
	e.t.Helper()
	dyn, err := dynamic.NewForConfig(env.RESTConfig)
	e.g.Expect(err).NotTo(HaveOccurred())
	tl := &timeline{rec: history.New(context.Background()), gvrs: map[string]schema.GroupVersionResource{}}
	for _, gvr := range gvrs {
		res := dyn.Resource(gvr).Namespace(e.ns)
		tl.gvrs[gvr.String()] = gvr
		e.g.Expect(tl.rec.Record(context.Background(), history.Source{
			Kind: gvr.String(),
			ListerWatcher: &cache.ListWatch{
				ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return res.List(ctx, o)
				},
				WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return res.Watch(ctx, o)
				},
			},
			Object: &unstructured.Unstructured{},
		})).To(Succeed())
	}
	return tl
}

// stop waits until every kind has delivered the writes a fresh list
// shows, ends the recording, and replays the changes in commit order up to
// the earliest of those lists: visit is called with each state from the
// moment recording began (once for the starting state, then after every
// change), and with the change that led to it (nil for the first).
func (tl *timeline) stop(g *WithT, visit func(st state, c *change)) {
	cutoff, err := tl.rec.Settle(context.Background(), timeout)
	g.Expect(err).NotTo(HaveOccurred())
	tl.rec.Stop()
	st := state{}
	for _, gvr := range tl.gvrs {
		st[gvr] = map[string]*unstructured.Unstructured{}
	}
	tl.rec.Replay(cutoff, func(hs history.State, c *history.Change) {
		if c == nil {
			for kind, objs := range hs {
				for key, o := range objs {
					st[tl.gvrs[kind]][name(key)] = o.(*unstructured.Unstructured)
				}
			}
			visit(st, nil)
			return
		}
		gvr := tl.gvrs[c.Kind]
		switch {
		case c.IsList():
			st[gvr] = map[string]*unstructured.Unstructured{}
			for key, o := range c.List {
				st[gvr][name(key)] = o.(*unstructured.Unstructured)
			}
			// A watch broke and the kind was listed again.
			listed := &unstructured.Unstructured{}
			listed.SetName("(listed again)")
			visit(st, &change{gvr: gvr, rv: c.RV, obj: listed})
			return
		case c.Deleted:
			delete(st[gvr], name(c.Name))
		default:
			st[gvr][name(c.Name)] = c.Fact.(*unstructured.Unstructured)
		}
		visit(st, &change{gvr: gvr, rv: c.RV, deleted: c.Deleted, obj: c.Fact.(*unstructured.Unstructured)})
	})
}

// name is the object name of a namespace/name key.
func name(key string) string {
	_, n, _ := strings.Cut(key, "/")
	return n
}
