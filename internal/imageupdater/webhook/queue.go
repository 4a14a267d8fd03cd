package webhook

import (
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Defaults of a Queue.
const (
	// DefaultDebounce is how long a Queue waits after an object's last
	// event before it tells the controller: a CI job pushing several tags
	// or platforms in a row then causes one reconcile.
	DefaultDebounce = 500 * time.Millisecond
	// DefaultMaxDelay bounds the wait under a steady stream of events.
	DefaultMaxDelay = 5 * time.Second
	// queueBuffer is the capacity of the channel to the controller.
	queueBuffer = 1024
)

// Queue coalesces the events of one kind of object (an ImageUpdater kind)
// and hands them to its controller through a controller-runtime channel
// source. Add marks images of an object as pushed; once no Add came for
// the object for Debounce (or MaxDelay after the first), the object is
// sent to the controller, whose reconcile calls Take to learn which images
// to poll now. The reconcile reads the registry when it runs, so a burst of
// pushes ends in one reconcile that sees the last one.
type Queue struct {
	clock    clock.WithDelayedExecution
	debounce time.Duration
	maxDelay time.Duration
	ch       chan event.GenericEvent

	mu      sync.Mutex
	waiting map[types.NamespacedName]*waitingObject
	fired   map[types.NamespacedName]map[string]bool
	dropped int
}

type waitingObject struct {
	images map[string]bool
	first  time.Time
	timer  clock.Timer
	// gen tells a timer that fired after it was replaced to do nothing.
	gen int
}

// NewQueue returns a Queue; a zero debounce or maxDelay takes the default.
func NewQueue(clk clock.WithDelayedExecution, debounce, maxDelay time.Duration) *Queue {
	if clk == nil {
		clk = clock.RealClock{}
	}
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	return &Queue{
		clock: clk, debounce: debounce, maxDelay: max(maxDelay, debounce),
		ch:      make(chan event.GenericEvent, queueBuffer),
		waiting: map[types.NamespacedName]*waitingObject{},
		fired:   map[types.NamespacedName]map[string]bool{},
	}
}

// Add records that images (aliases) of the object key were pushed.
func (q *Queue) Add(key types.NamespacedName, images ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	w := q.waiting[key]
	if w == nil {
		w = &waitingObject{images: map[string]bool{}, first: now}
		q.waiting[key] = w
	}
	for _, im := range images {
		w.images[im] = true
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	wait := min(q.debounce, w.first.Add(q.maxDelay).Sub(now))
	w.gen++
	gen := w.gen
	w.timer = q.clock.AfterFunc(max(wait, 0), func() { q.fire(key, gen) })
}

// fire sends key to the controller.
func (q *Queue) fire(key types.NamespacedName, gen int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.waiting[key]
	if w == nil || w.gen != gen {
		return
	}
	delete(q.waiting, key)
	f := q.fired[key]
	if f == nil {
		f = map[string]bool{}
		q.fired[key] = f
	}
	for im := range w.images {
		f[im] = true
	}
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	select {
	case q.ch <- event.GenericEvent{Object: obj}:
	default:
		// The controller is far behind; the images stay marked and are
		// polled at the object's next reconcile.
		q.dropped++
	}
}

// Take returns and forgets the images of key that were pushed and sent to
// the controller. A nil Queue has none.
func (q *Queue) Take(key types.NamespacedName) map[string]bool {
	if q == nil {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.fired[key]
	delete(q.fired, key)
	return f
}

// Source is the controller-runtime source to watch: it enqueues each
// object the Queue sends.
func (q *Queue) Source() source.Source {
	return source.Channel(q.ch, &handler.EnqueueRequestForObject{})
}

// Dropped is how many sends found the channel full.
func (q *Queue) Dropped() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
