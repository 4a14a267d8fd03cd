package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// timeline records every change of some kinds of objects in the test's
// namespace and replays them in the order the API server committed them.
//
// The cluster has a single etcd, whose revision orders every write of every
// kind, and resourceVersion is that revision: merging the watch streams of
// several kinds by resourceVersion gives the true sequence of states, so a
// check run after each change sees every state the cluster went through
// (the routing objects, the Services and their EndpointSlices at once),
// with no sampling gap and no polling load.
type timeline struct {
	dyn     dynamic.Interface
	ns      string
	streams []*stream
}

type stream struct {
	gvr    schema.GroupVersionResource
	w      watch.Interface
	done   chan struct{}
	mu     sync.Mutex
	listRV int64
	// initial is the list the watch started from; events follow it.
	initial []*unstructured.Unstructured
	events  []change
	// latest is the resourceVersion last seen per object name.
	latest map[string]int64
}

// change is one write: the object after it (before it, for a deletion).
type change struct {
	gvr     schema.GroupVersionResource
	rv      int64
	deleted bool
	obj     *unstructured.Unstructured
}

// state is the namespace's objects of the recorded kinds at one moment.
type state map[schema.GroupVersionResource]map[string]*unstructured.Unstructured

func (s state) get(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	return s[gvr][name]
}

func (e *testEnv) recordTimeline(gvrs ...schema.GroupVersionResource) *timeline {
	e.t.Helper()
	dyn, err := dynamic.NewForConfig(env.RESTConfig)
	e.g.Expect(err).NotTo(HaveOccurred())
	tl := &timeline{dyn: dyn, ns: e.ns}
	for _, gvr := range gvrs {
		list, err := dyn.Resource(gvr).Namespace(e.ns).List(context.Background(), metav1.ListOptions{})
		e.g.Expect(err).NotTo(HaveOccurred())
		s := &stream{gvr: gvr, done: make(chan struct{}), latest: map[string]int64{}}
		s.listRV = rvOf(list.GetResourceVersion())
		for i := range list.Items {
			s.initial = append(s.initial, &list.Items[i])
			s.latest[list.Items[i].GetName()] = rvOf(list.Items[i].GetResourceVersion())
		}
		s.w, err = dyn.Resource(gvr).Namespace(e.ns).Watch(context.Background(), metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
		e.g.Expect(err).NotTo(HaveOccurred())
		go func() {
			defer close(s.done)
			for ev := range s.w.ResultChan() {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok || (ev.Type != watch.Added && ev.Type != watch.Modified && ev.Type != watch.Deleted) {
					continue
				}
				rv := rvOf(u.GetResourceVersion())
				s.mu.Lock()
				s.events = append(s.events, change{gvr: gvr, rv: rv, deleted: ev.Type == watch.Deleted, obj: u})
				s.latest[u.GetName()] = rv
				s.mu.Unlock()
			}
		}()
		tl.streams = append(tl.streams, s)
	}
	return tl
}

func rvOf(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// stop waits until every stream has delivered the writes a fresh list
// shows, ends the watches, and replays the changes in commit order up to
// the earliest of those lists: visit is called with each state from the
// moment recording began (once for the starting state, then after every
// change), and with the change that led to it (nil for the first).
func (tl *timeline) stop(g *WithT, visit func(st state, c *change)) {
	cutoff := int64(-1)
	for _, s := range tl.streams {
		list, err := tl.dyn.Resource(s.gvr).Namespace(tl.ns).List(context.Background(), metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		listRV := rvOf(list.GetResourceVersion())
		if cutoff < 0 || listRV < cutoff {
			cutoff = listRV
		}
		g.Eventually(func() error {
			s.mu.Lock()
			defer s.mu.Unlock()
			present := map[string]bool{}
			for _, item := range list.Items {
				present[item.GetName()] = true
				if s.latest[item.GetName()] < rvOf(item.GetResourceVersion()) {
					return fmt.Errorf("%s %s: watched up to %d, listed at %s", s.gvr.Resource, item.GetName(), s.latest[item.GetName()], item.GetResourceVersion())
				}
			}
			for name, rv := range s.latest {
				if !present[name] && rv <= listRV && !deletedAfterLast(s.events, name) {
					return fmt.Errorf("%s %s: deletion not watched yet", s.gvr.Resource, name)
				}
			}
			return nil
		}).Should(Succeed())
	}
	for _, s := range tl.streams {
		s.w.Stop()
		<-s.done
	}

	st := state{}
	var all []change
	start := int64(0)
	for _, s := range tl.streams {
		st[s.gvr] = map[string]*unstructured.Unstructured{}
		for _, u := range s.initial {
			st[s.gvr][u.GetName()] = u
		}
		start = max(start, s.listRV)
		all = append(all, s.events...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].rv < all[j].rv })
	apply := func(c change) {
		if c.deleted {
			delete(st[c.gvr], c.obj.GetName())
		} else {
			st[c.gvr][c.obj.GetName()] = c.obj
		}
	}
	// Up to the last of the starting lists the streams are not all known:
	// bring them to that point, then check every state after it.
	i := 0
	for ; i < len(all) && all[i].rv <= start; i++ {
		apply(all[i])
	}
	visit(st, nil)
	for ; i < len(all) && all[i].rv <= cutoff; i++ {
		apply(all[i])
		visit(st, &all[i])
	}
}

// deletedAfterLast: the last event of the object is its deletion.
func deletedAfterLast(events []change, name string) bool {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].obj.GetName() == name {
			return events[i].deleted
		}
	}
	return false
}
