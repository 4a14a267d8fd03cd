package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// waiter follows one kind through the bench's informer cache and records,
// for each named object, when it (last) came to satisfy a condition. It is
// registered before the writes that start a phase, so every transition is
// seen as a watch event, timestamped on arrival; nothing sleeps or polls.
type waiter struct {
	inf   cache.Informer
	reg   toolscache.ResourceEventHandlerRegistration
	check func(client.Object) bool
	// gone waits for deletion instead of a condition.
	gone bool

	mu     sync.Mutex
	want   map[string]bool
	ok     map[string]time.Time
	last   map[string]client.Object
	done   chan struct{}
	doneAt time.Time
	closed bool
}

// watchFor starts following the objects of proto's kind named names.
func (b *bench) watchFor(ctx context.Context, proto client.Object, names []string, check func(client.Object) bool) (*waiter, error) {
	return b.follow(ctx, proto, names, check, false)
}

// watchGone starts following the named objects until they are deleted.
func (b *bench) watchGone(ctx context.Context, proto client.Object, names []string) (*waiter, error) {
	return b.follow(ctx, proto, names, nil, true)
}

func (b *bench) follow(ctx context.Context, proto client.Object, names []string, check func(client.Object) bool, gone bool) (*waiter, error) {
	inf, err := b.cache.GetInformer(ctx, proto)
	if err != nil {
		return nil, fmt.Errorf("informer for %T: %w", proto, err)
	}
	w := &waiter{
		inf: inf, check: check, gone: gone,
		want: make(map[string]bool, len(names)),
		ok:   make(map[string]time.Time, len(names)),
		last: make(map[string]client.Object, len(names)),
		done: make(chan struct{}),
	}
	for _, n := range names {
		w.want[n] = true
	}
	w.reg, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.observe(obj, false) },
		UpdateFunc: func(_, obj any) { w.observe(obj, false) },
		DeleteFunc: func(obj any) { w.observe(obj, true) },
	})
	if err != nil {
		return nil, err
	}
	if gone {
		// Objects already gone produce no event: look them up once the
		// handler has seen the initial state.
		if !toolscache.WaitForCacheSync(ctx.Done(), w.reg.HasSynced) {
			return nil, ctx.Err()
		}
		for _, n := range names {
			obj := proto.DeepCopyObject().(client.Object)
			err := b.cache.Get(ctx, client.ObjectKey{Namespace: b.ns, Name: n}, obj)
			if apierrors.IsNotFound(err) {
				w.mark(n, true, time.Now())
			}
		}
	}
	if len(names) == 0 {
		w.mu.Lock()
		w.finish(time.Now())
		w.mu.Unlock()
	}
	return w, nil
}

func (w *waiter) observe(obj any, deleted bool) {
	now := time.Now()
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj, deleted = t.Obj, true
	}
	o, ok := obj.(client.Object)
	if !ok {
		return
	}
	name := o.GetName()
	var sat bool
	if deleted {
		sat = w.gone
	} else {
		sat = !w.gone && w.check(o)
	}
	w.mu.Lock()
	if w.want[name] && !deleted && !w.closed {
		w.last[name] = o
	}
	w.mu.Unlock()
	w.mark(name, sat, now)
}

func (w *waiter) mark(name string, sat bool, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || !w.want[name] {
		return
	}
	if !sat {
		delete(w.ok, name)
		return
	}
	if _, had := w.ok[name]; !had {
		w.ok[name] = now
	}
	if len(w.ok) == len(w.want) {
		w.finish(now)
	}
}

// finish is called with mu held.
func (w *waiter) finish(now time.Time) {
	if !w.closed {
		w.closed, w.doneAt = true, now
		close(w.done)
	}
}

// waitResult is when every object was done and when each one was.
type waitResult struct {
	Done time.Time
	At   map[string]time.Time
	Last map[string]client.Object
}

// since are the per-object times from start.
func (r waitResult) since(start time.Time) []time.Duration {
	out := make([]time.Duration, 0, len(r.At))
	for _, t := range r.At {
		out = append(out, t.Sub(start))
	}
	return out
}

// wait blocks until every object is done or timeout, and unregisters the
// handler. On timeout the error names a few stragglers, described by desc.
func (w *waiter) wait(ctx context.Context, timeout time.Duration, what string, desc func(client.Object) string) (waitResult, error) {
	defer func() { _ = w.inf.RemoveEventHandler(w.reg) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case <-w.done:
	case <-timer.C:
		err = fmt.Errorf("timed out after %s", timeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	res := waitResult{Done: w.doneAt, At: w.ok, Last: w.last}
	if err == nil {
		return res, nil
	}
	var missing []string
	for n := range w.want {
		if _, ok := w.ok[n]; !ok {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	var detail []string
	for _, n := range missing[:min(5, len(missing))] {
		s := n
		if o := w.last[n]; o != nil && desc != nil {
			s += " (" + desc(o) + ")"
		}
		detail = append(detail, s)
	}
	return res, fmt.Errorf("%s: %d of %d done: %w; waiting for %s", what, len(w.ok), len(w.want), err, strings.Join(detail, ", "))
}

// waitUntil waits until cond, re-evaluated on every event of proto's kind,
// holds. cond reads the cache; it is for conditions over a whole kind
// ("no rig pods left") rather than over named objects.
func (b *bench) waitUntil(ctx context.Context, proto client.Object, timeout time.Duration, what string, cond func(context.Context) (bool, error)) error {
	inf, err := b.cache.GetInformer(ctx, proto)
	if err != nil {
		return err
	}
	poke := make(chan struct{}, 1)
	notify := func() {
		select {
		case poke <- struct{}{}:
		default:
		}
	}
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(_, _ any) { notify() },
		DeleteFunc: func(any) { notify() },
	})
	if err != nil {
		return err
	}
	defer func() { _ = inf.RemoveEventHandler(reg) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	notify()
	for {
		select {
		case <-poke:
			ok, err := cond(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if ok {
				return nil
			}
		case <-timer.C:
			return fmt.Errorf("%s: timed out after %s", what, timeout)
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
	}
}
