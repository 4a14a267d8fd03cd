// Package history records every change of some kinds of objects and
// replays them in the order the API server committed them.
//
// The local cluster has a single etcd, whose revision orders every write
// of every kind, and resourceVersion is that revision: merging the watch
// streams of several kinds by resourceVersion gives the true sequence of
// states, so a check run after each change sees every state the cluster
// went through (Services, their EndpointSlices, pods and ReplicaSets at
// once), with no sampling gap and no polling load.
//
// Each kind is followed by a client-go Reflector (list, then watch,
// resumed from the last resourceVersion when a watch breaks), so the
// recording survives a restarted kube-apiserver. When the API server can no
// longer serve the changes since the last one seen (410 Gone), the kind is
// listed again: the recording then holds the whole new list at the list's
// resourceVersion, and a Gap says which changes of that kind were not seen
// one by one.
package history

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
)

// Source is one kind to record.
type Source struct {
	// Kind names the kind in states and changes, e.g. "pods".
	Kind string
	// ListerWatcher lists and watches the objects (one namespace, a
	// label selector: whatever it is built with).
	ListerWatcher cache.ListerWatcher
	// Object is an empty object of the kind (&corev1.Pod{}, or an
	// *unstructured.Unstructured for a dynamic client).
	Object runtime.Object
	// Fact reduces an object to what is kept of it; nil keeps the
	// object itself. A long recording keeps only small facts.
	Fact func(runtime.Object) any
	// Notify, if set, is called (from the recording goroutine) with each
	// change as it arrives: a live trigger for whoever drives the test.
	Notify func(Change)
}

// Change is one write as the recorder saw it, or a new list of the kind.
type Change struct {
	Kind string
	// RV is the write's resourceVersion (etcd revision), or the list's.
	RV int64
	// At is when the recorder received it.
	At time.Time
	// Name is the object's namespace/name ("" for a list).
	Name    string
	Deleted bool
	// Fact is the object after the change (before it, for a deletion).
	Fact any
	// List, for a new list of the kind, is every object in it by name; it
	// replaces the kind's state.
	List map[string]any
}

// IsList is a change that replaces the whole kind.
func (c *Change) IsList() bool { return c.List != nil }

// Gap is a span of one kind's history the recorder could not follow
// change by change: the watch had broken and the API server could not
// resume it, so the kind was listed again at ToRV.
type Gap struct {
	Kind           string    `json:"kind"`
	FromRV         int64     `json:"fromResourceVersion"`
	ToRV           int64     `json:"toResourceVersion"`
	LastSeen       time.Time `json:"lastSeen"`
	Listed         time.Time `json:"listed"`
	ChangedObjects int       `json:"changedObjects"`
}

// State is every recorded kind's objects (facts) by name at one moment.
// A visitor must not keep or change it: it moves on with the replay.
type State map[string]map[string]any

// Get is the fact of kind's object name, or nil.
func (s State) Get(kind, name string) any { return s[kind][name] }

// Recorder records Sources until stopped.
type Recorder struct {
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	streams []*stream
}

type stream struct {
	src Source

	mu sync.Mutex
	// listed is set once the first list arrived.
	listed  bool
	startRV int64
	changes []Change
	// lastRV is the highest resourceVersion seen, per object and overall.
	latest map[string]int64
	lastRV int64
	lastAt time.Time
	// present are the names currently existing, as far as the stream knows.
	present map[string]bool
	gaps    []Gap
}

// New returns a recorder; Record adds kinds to it.
func New(ctx context.Context) *Recorder {
	ctx, cancel := context.WithCancel(ctx)
	return &Recorder{ctx: ctx, cancel: cancel}
}

// Record starts following src and returns once its first list is in.
func (r *Recorder) Record(ctx context.Context, src Source) error {
	s := &stream{src: src, latest: map[string]int64{}, present: map[string]bool{}}
	refl := cache.NewReflectorWithOptions(src.ListerWatcher, src.Object, s, cache.ReflectorOptions{Name: "history/" + src.Kind})
	r.streams = append(r.streams, s)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		refl.RunWithContext(r.ctx)
	}()
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.listed, nil
	})
}

// Stop ends the recording.
func (r *Recorder) Stop() {
	r.cancel()
	r.wg.Wait()
}

// Gaps are the spans some kind was not followed change by change.
func (r *Recorder) Gaps() []Gap {
	var out []Gap
	for _, s := range r.streams {
		s.mu.Lock()
		out = append(out, s.gaps...)
		s.mu.Unlock()
	}
	return out
}

// Changes is how many changes have been recorded.
func (r *Recorder) Changes() int {
	n := 0
	for _, s := range r.streams {
		s.mu.Lock()
		n += len(s.changes)
		s.mu.Unlock()
	}
	return n
}

// Settle waits until every stream has received the writes a fresh list of
// its kind shows, and returns the resourceVersion up to which every kind
// is then known: Replay's end. Streams are checked every 100ms until
// timeout.
func (r *Recorder) Settle(ctx context.Context, timeout time.Duration) (int64, error) {
	cutoff := int64(-1)
	for _, s := range r.streams {
		obj, err := cache.ToListerWatcherWithContext(s.src.ListerWatcher).ListWithContext(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", s.src.Kind, err)
		}
		listRV, items, err := listed(obj)
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", s.src.Kind, err)
		}
		if cutoff < 0 || listRV < cutoff {
			cutoff = listRV
		}
		var behind string
		err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			for name, rv := range items {
				if s.latest[name] < rv {
					behind = fmt.Sprintf("%s %s: seen up to %d, listed at %d", s.src.Kind, name, s.latest[name], rv)
					return false, nil
				}
			}
			for name := range s.present {
				if _, ok := items[name]; !ok && s.latest[name] <= listRV {
					behind = fmt.Sprintf("%s %s: deletion not seen yet", s.src.Kind, name)
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			return 0, fmt.Errorf("settle: %s: %w", behind, err)
		}
	}
	return cutoff, nil
}

// Replay calls visit with each state from the moment every kind was first
// listed (once for the starting state, with a nil change), then after every
// change in commit order, up to and including resourceVersion cutoff
// (Settle's result; a negative cutoff replays everything recorded).
func (r *Recorder) Replay(cutoff int64, visit func(st State, c *Change)) {
	st := State{}
	var all []Change
	start := int64(0)
	for _, s := range r.streams {
		s.mu.Lock()
		st[s.src.Kind] = map[string]any{}
		start = max(start, s.startRV)
		all = append(all, s.changes...)
		s.mu.Unlock()
	}
	// A list at resourceVersion L holds the write at L: it goes after it.
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].RV != all[j].RV {
			return all[i].RV < all[j].RV
		}
		return !all[i].IsList() && all[j].IsList()
	})
	apply := func(c *Change) {
		switch {
		case c.IsList():
			st[c.Kind] = make(map[string]any, len(c.List))
			for k, v := range c.List {
				st[c.Kind][k] = v
			}
		case c.Deleted:
			delete(st[c.Kind], c.Name)
		default:
			st[c.Kind][c.Name] = c.Fact
		}
	}
	// Up to the last of the first lists the kinds are not all known: bring
	// them to that point, then visit every state after it.
	i := 0
	for ; i < len(all) && all[i].RV <= start; i++ {
		apply(&all[i])
	}
	visit(st, nil)
	for ; i < len(all) && (cutoff < 0 || all[i].RV <= cutoff); i++ {
		apply(&all[i])
		visit(st, &all[i])
	}
}

// The stream is the Reflector's store: it records instead of storing.

func (s *stream) Add(obj any) error    { return s.record(obj, false) }
func (s *stream) Update(obj any) error { return s.record(obj, false) }
func (s *stream) Delete(obj any) error { return s.record(obj, true) }
func (s *stream) Resync() error        { return nil }

func (s *stream) fact(obj runtime.Object) any {
	if s.src.Fact == nil {
		return obj
	}
	return s.src.Fact(obj)
}

func (s *stream) record(obj any, deleted bool) error {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = t.Obj, true
	}
	ro, ok := obj.(runtime.Object)
	if !ok {
		return fmt.Errorf("history: %T is not an object", obj)
	}
	m, err := meta.Accessor(ro)
	if err != nil {
		return err
	}
	rv, err := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	if err != nil {
		return fmt.Errorf("history: %s resourceVersion %q: %w", s.src.Kind, m.GetResourceVersion(), err)
	}
	name := key(m)
	c := Change{Kind: s.src.Kind, RV: rv, At: time.Now(), Name: name, Deleted: deleted, Fact: s.fact(ro)}
	s.mu.Lock()
	s.changes = append(s.changes, c)
	s.latest[name] = max(s.latest[name], rv)
	s.lastRV, s.lastAt = max(s.lastRV, rv), c.At
	if deleted {
		delete(s.present, name)
	} else {
		s.present[name] = true
	}
	s.mu.Unlock()
	if s.src.Notify != nil {
		s.src.Notify(c)
	}
	return nil
}

func (s *stream) Replace(items []any, rvString string) error {
	rv, err := strconv.ParseInt(rvString, 10, 64)
	if err != nil {
		return fmt.Errorf("history: %s list resourceVersion %q: %w", s.src.Kind, rvString, err)
	}
	now := time.Now()
	list := make(map[string]any, len(items))
	rvs := make(map[string]int64, len(items))
	for _, obj := range items {
		ro, ok := obj.(runtime.Object)
		if !ok {
			return fmt.Errorf("history: %T is not an object", obj)
		}
		m, err := meta.Accessor(ro)
		if err != nil {
			return err
		}
		orv, _ := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
		list[key(m)] = s.fact(ro)
		rvs[key(m)] = orv
	}
	c := Change{Kind: s.src.Kind, RV: rv, At: now, List: list}
	s.mu.Lock()
	if s.listed {
		// Not the first list: what happened since the last change seen
		// was not followed one change at a time.
		changed := 0
		for name, orv := range rvs {
			if orv > s.latest[name] {
				changed++
			}
		}
		for name := range s.present {
			if _, ok := rvs[name]; !ok {
				changed++
			}
		}
		s.gaps = append(s.gaps, Gap{Kind: s.src.Kind, FromRV: s.lastRV, ToRV: rv, LastSeen: s.lastAt, Listed: now, ChangedObjects: changed})
	} else {
		s.listed, s.startRV = true, rv
	}
	s.changes = append(s.changes, c)
	s.present = map[string]bool{}
	for name, orv := range rvs {
		s.present[name] = true
		s.latest[name] = max(s.latest[name], orv)
	}
	s.lastRV, s.lastAt = max(s.lastRV, rv), now
	s.mu.Unlock()
	if s.src.Notify != nil {
		s.src.Notify(c)
	}
	return nil
}

func key(m metav1.Object) string {
	if m.GetNamespace() == "" {
		return m.GetName()
	}
	return m.GetNamespace() + "/" + m.GetName()
}

// listed reads a list's resourceVersion and its items' resourceVersions.
func listed(obj runtime.Object) (int64, map[string]int64, error) {
	lm, err := meta.ListAccessor(obj)
	if err != nil {
		return 0, nil, err
	}
	listRV, err := strconv.ParseInt(lm.GetResourceVersion(), 10, 64)
	if err != nil {
		return 0, nil, err
	}
	objs, err := meta.ExtractList(obj)
	if err != nil {
		return 0, nil, err
	}
	items := make(map[string]int64, len(objs))
	for _, o := range objs {
		m, err := meta.Accessor(o)
		if err != nil {
			return 0, nil, err
		}
		rv, _ := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
		items[key(m)] = rv
	}
	return listRV, items, nil
}
