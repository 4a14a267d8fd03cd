package eventrecorder

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"sync"
	"time"
	"unique"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	typedeventsv1 "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/utils/clock"

	"github.com/switchyard-dev/switchyard/internal/mapshrink"
)

const (
	// Window is how long after its last sighting an Event (or series)
	// is remembered: an isomorphic Event within it joins the series.
	Window = 6 * time.Minute
	// RefreshPeriod is how often an ongoing series gets its count written.
	RefreshPeriod = 30 * time.Minute
	// DefaultWorkers write Events in parallel. Enough that the REST
	// client's rate limiter (--qps) paces them, not the API server's
	// latency: with 4, a busy API server answering in 150 ms held a
	// 1,000-Rollout release's Events to 27 a second, half the limit.
	DefaultWorkers = 16
	// DefaultSweepPeriod is how often entries past the Window are
	// forgotten (series get their final count written first).
	DefaultSweepPeriod = time.Minute
	// DefaultDrainTimeout bounds how long pending writes are still sent
	// after the Broadcaster is stopped.
	DefaultDrainTimeout = 5 * time.Second
	// DefaultRetryDelay is the mean wait before a write that failed on the
	// way to the server is tried again (jittered by up to a quarter).
	DefaultRetryDelay = 10 * time.Second
	// maxTries bounds the attempts at one write (client-go's limit).
	maxTries = 12
)

// Options configure a Broadcaster.
type Options struct {
	// Client writes the Events (required).
	Client typedeventsv1.EventsGetter
	// Scheme resolves the kinds of the objects Events are about (required).
	Scheme *runtime.Scheme
	// Log receives write failures, and each Event at V(1).
	Log logr.Logger
	// Clock stamps Events and runs the series window. Default: real time.
	Clock clock.WithTicker
	// Hostname completes reporting instances. Default: os.Hostname().
	Hostname string
	// Workers, SweepPeriod, DrainTimeout and RetryDelay default to the
	// Default* constants.
	Workers      int
	SweepPeriod  time.Duration
	DrainTimeout time.Duration
	RetryDelay   time.Duration
}

// Broadcaster writes the Events of its Recorders. It is a manager
// Runnable: writes start with Start and end (after a bounded drain) when
// its context ends. Events recorded before Start wait in the queue; Events
// recorded after the end are dropped.
type Broadcaster struct {
	client       typedeventsv1.EventsGetter
	scheme       *runtime.Scheme
	log          logr.Logger
	clock        clock.WithTicker
	hostname     string
	workers      int
	sweepPeriod  time.Duration
	drainTimeout time.Duration
	retryDelay   time.Duration

	mu    sync.Mutex
	cache map[key]entry
	// cachePeak lets sweep give back the room of a burst's Events.
	cachePeak mapshrink.Peak
	queue     []write
	// inFlight are the Events being written.
	inFlight map[types.NamespacedName]struct{}
	stopped  bool
	wake     chan struct{}
}

// key is a 128-bit hash of the fields that make two Events isomorphic
// (client-go's getKey: type, action, reason, reporting controller and
// instance, regarding and related).
type key [16]byte

// entry is what a later repeat of an Event needs: where the Event is, how
// many times it was seen, and when last (for a singleton: when sent).
// The namespace is interned: few namespaces hold many Events.
type entry struct {
	name      string
	namespace unique.Handle[string]
	at        int64 // unix nanoseconds
	count     int32
}

type writeKind uint8

const (
	// create writes a new Event.
	create writeKind = iota
	// seriesStart turns an Event into a series (count 2); if the Event is
	// gone, it is created with its series.
	seriesStart
	// seriesCount writes a series' count (refresh, or final count); an
	// Event that is gone stays gone.
	seriesCount
)

// write is one pending API write.
type write struct {
	kind      writeKind
	event     *eventsv1.Event // create, seriesStart
	namespace string          // seriesCount
	name      string          // seriesCount
	series    eventsv1.EventSeries
}

// New returns a Broadcaster; add it to the manager (mgr.Add) to run it.
func New(opts Options) *Broadcaster {
	b := &Broadcaster{
		client:       opts.Client,
		scheme:       opts.Scheme,
		log:          opts.Log,
		clock:        opts.Clock,
		hostname:     opts.Hostname,
		workers:      opts.Workers,
		sweepPeriod:  opts.SweepPeriod,
		drainTimeout: opts.DrainTimeout,
		retryDelay:   opts.RetryDelay,
		cache:        map[key]entry{},
		inFlight:     map[types.NamespacedName]struct{}{},
		wake:         make(chan struct{}, 1),
	}
	if b.clock == nil {
		b.clock = clock.RealClock{}
	}
	if b.workers <= 0 {
		b.workers = DefaultWorkers
	}
	if b.sweepPeriod <= 0 {
		b.sweepPeriod = DefaultSweepPeriod
	}
	if b.drainTimeout <= 0 {
		b.drainTimeout = DefaultDrainTimeout
	}
	if b.retryDelay <= 0 {
		b.retryDelay = DefaultRetryDelay
	}
	return b
}

// NeedLeaderElection is false: every replica records its own Events.
func (b *Broadcaster) NeedLeaderElection() bool { return false }

// record decides what ev means for the series it may belong to and queues
// the write that follows, if any. It never blocks on the API.
func (b *Broadcaster) record(ev *eventsv1.Event) {
	logEvent(b.log, ev)
	k := keyOf(ev)
	now := ev.EventTime.Time
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		b.log.V(1).Info("Event dropped: the recorder has stopped", "reason", ev.Reason, "object", ev.Regarding.Name)
		return
	}
	e, seen := b.cache[k]
	if seen && b.expired(e, now) {
		b.forget(k, e)
		seen = false
	}
	switch {
	case !seen:
		b.cache[k] = entry{name: ev.Name, namespace: unique.Make(ev.Namespace), at: now.UnixNano(), count: 1}
		b.cachePeak.Grew(len(b.cache))
		b.push(write{kind: create, event: ev})
	case e.count == 1:
		// The second sighting: the first Event becomes a series. Should it
		// be gone, it is created again from this one under its own name
		// and time.
		ev.Name, ev.EventTime.Time = e.name, time.Unix(0, e.at)
		e.count, e.at = 2, now.UnixNano()
		ev.Series = &eventsv1.EventSeries{Count: 2}
		ev.Series.LastObservedTime.Time = now
		b.cache[k] = e
		b.push(write{kind: seriesStart, event: ev})
	default:
		e.count++
		e.at = now.UnixNano()
		b.cache[k] = e
	}
}

// expired reports whether e is past the window at now: a singleton sent,
// or a series last seen, more than Window ago.
func (b *Broadcaster) expired(e entry, now time.Time) bool {
	return now.Sub(time.Unix(0, e.at)) > Window
}

// forget drops e; a series gets its final count written first. Called
// with b.mu held.
func (b *Broadcaster) forget(k key, e entry) {
	delete(b.cache, k)
	if e.count > 1 {
		b.push(seriesWrite(e))
	}
}

func seriesWrite(e entry) write {
	w := write{kind: seriesCount, namespace: e.namespace.Value(), name: e.name, series: eventsv1.EventSeries{Count: e.count}}
	w.series.LastObservedTime.Time = time.Unix(0, e.at)
	return w
}

// sweep forgets what is past the window at now and, when refresh is set,
// writes the count of every ongoing series.
func (b *Broadcaster) sweep(now time.Time, refresh bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, e := range b.cache {
		switch {
		case b.expired(e, now):
			b.forget(k, e)
		case refresh && e.count > 1:
			b.push(seriesWrite(e))
		}
	}
	b.cache = mapshrink.Shrunk(b.cache, &b.cachePeak)
}

// push appends w to the FIFO and wakes a worker. Called with b.mu held.
func (b *Broadcaster) push(w write) {
	b.queue = append(b.queue, w)
	b.signal()
}

// pop takes the oldest pending write whose Event no other worker is
// writing: the writes of one Event (create, series, counts) go in order.
func (b *Broadcaster) pop() (write, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, w := range b.queue {
		id := w.target()
		if _, busy := b.inFlight[id]; busy {
			continue
		}
		b.inFlight[id] = struct{}{}
		if i == 0 {
			// The usual case, without moving the rest of the queue.
			b.queue[0] = write{}
			b.queue = b.queue[1:]
		} else {
			b.queue = slices.Delete(b.queue, i, i+1)
		}
		if len(b.queue) == 0 {
			b.queue = nil
		} else {
			b.signal()
		}
		return w, true
	}
	return write{}, false
}

// done marks w's Event free for its next write.
func (b *Broadcaster) done(w write) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.inFlight, w.target())
	if len(b.queue) > 0 {
		b.signal()
	}
}

// signal wakes a waiting worker. Called with b.mu held.
func (b *Broadcaster) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// target is the Event a write is about.
func (w write) target() types.NamespacedName {
	if w.event != nil {
		return types.NamespacedName{Namespace: w.event.Namespace, Name: w.event.Name}
	}
	return types.NamespacedName{Namespace: w.namespace, Name: w.name}
}

// Start runs the workers and the sweep until ctx ends, then sends what is
// pending for at most the drain timeout.
func (b *Broadcaster) Start(ctx context.Context) error {
	// Writes outlive ctx by the drain timeout.
	writeCtx, cancelWrites := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWrites()
	var wg sync.WaitGroup
	for range b.workers {
		wg.Go(func() { b.work(ctx, writeCtx) })
	}
	wg.Go(func() { b.sweepLoop(ctx) })
	<-ctx.Done()
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// The drain and retry waits are bounded in real time, whatever the
	// clock: they pace the API, not the series window.
	timer := time.NewTimer(b.drainTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		cancelWrites()
		<-done
	}
	b.mu.Lock()
	if n := len(b.queue); n > 0 {
		b.log.Info("Events not written: the recorder stopped before they were sent", "count", n)
	}
	b.queue = nil
	b.mu.Unlock()
	return nil
}

// work sends writes until ctx ends and the queue is empty, or writeCtx
// ends (drain timeout).
func (b *Broadcaster) work(ctx, writeCtx context.Context) {
	for {
		if writeCtx.Err() != nil {
			return
		}
		if w, ok := b.pop(); ok {
			b.send(writeCtx, w)
			b.done(w)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case <-b.wake:
		case <-ctx.Done():
		}
	}
}

func (b *Broadcaster) sweepLoop(ctx context.Context) {
	// Read before the ticker exists: no tick predates it.
	lastRefresh := b.clock.Now()
	t := b.clock.NewTicker(b.sweepPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			// The clock, not the tick: a tick that waited sees the time
			// it is served.
			now := b.clock.Now()
			refresh := now.Sub(lastRefresh) >= RefreshPeriod
			if refresh {
				lastRefresh = now
			}
			b.sweep(now, refresh)
		}
	}
}

// keyOf hashes the isomorphic fields of ev; a nil related object counts as
// an empty one, as in client-go.
func keyOf(ev *eventsv1.Event) key {
	h := fnv.New128a()
	var n [4]byte
	str := func(s string) {
		binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
		_, _ = h.Write(n[:])
		_, _ = h.Write([]byte(s))
	}
	ref := func(r *corev1.ObjectReference) {
		str(r.Kind)
		str(r.Namespace)
		str(r.Name)
		str(string(r.UID))
		str(r.APIVersion)
		str(r.ResourceVersion)
		str(r.FieldPath)
	}
	str(ev.Type)
	str(ev.Action)
	str(ev.Reason)
	str(ev.ReportingController)
	str(ev.ReportingInstance)
	ref(&ev.Regarding)
	related := corev1.ObjectReference{}
	if ev.Related != nil {
		related = *ev.Related
	}
	ref(&related)
	var k key
	h.Sum(k[:0])
	return k
}
