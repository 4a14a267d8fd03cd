package eventrecorder

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/heapsize"
)

// benchEvents is how many distinct Events (one per Rollout) each
// measurement caches.
const benchEvents = 10000

// BenchmarkCachedEvent reports the heap each recorder retains per Event it
// remembers for the series window (B/cached-event), after the writes are
// done: ours and client-go's events broadcaster, the same Events.
func BenchmarkCachedEvent(b *testing.B) {
	scheme := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	rollouts := make([]*v1alpha1.Rollout, benchEvents)
	for i := range rollouts {
		rollouts[i] = &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("checkout-%05d", i), Namespace: "team-payments",
			UID: types.UID(fmt.Sprintf("5f0c1a2e-8d3b-4c6f-9a7e-%012d", i)), ResourceVersion: fmt.Sprint(100000 + i),
		}}
	}
	emit := func(rec events.EventRecorder, ro *v1alpha1.Rollout, i int) {
		rec.Eventf(ro, nil, corev1.EventTypeNormal, "RolloutStepCompleted", "Step", "Rollout step %d/%d completed (setWeight: %d)", i%8+1, 8, 10*(i%8+1))
	}

	b.Run("eventrecorder", func(b *testing.B) {
		var per float64
		for b.Loop() {
			bc := New(Options{Scheme: scheme, Log: logr.Discard(), Hostname: "switchyard-7d9f8c6b5-x2x4q"})
			rec := bc.Recorder("switchyard")
			before := heapsize.Live()
			for i, ro := range rollouts {
				emit(rec, ro, i)
			}
			// As if every write was sent: only the cache remains.
			bc.mu.Lock()
			bc.queue = nil
			bc.mu.Unlock()
			per = float64(heapsize.Live()-before) / benchEvents
			if n := bc.cached(); n != benchEvents {
				b.Fatalf("%d Events cached, want %d", n, benchEvents)
			}
			runtime.KeepAlive(bc)
		}
		b.ReportMetric(per, "B/cached-event")
	})

	b.Run("client-go", func(b *testing.B) {
		var per float64
		for b.Loop() {
			sink := &countingSink{}
			bc := events.NewBroadcaster(sink)
			ctx, cancel := context.WithCancel(context.Background())
			if err := bc.StartRecordingToSinkWithContext(ctx); err != nil {
				b.Fatal(err)
			}
			rec := bc.NewRecorder(scheme, "switchyard")
			before := heapsize.Live()
			// In batches its watch queue (1,000) does not drop.
			for start := 0; start < benchEvents; start += 500 {
				for i := start; i < start+500; i++ {
					emit(rec, rollouts[i], i)
				}
				for sink.created.Load() < int64(start+500) {
					runtime.Gosched()
				}
			}
			per = float64(heapsize.Live()-before) / benchEvents
			cancel()
			bc.Shutdown()
		}
		b.ReportMetric(per, "B/cached-event")
	})
	runtime.KeepAlive(rollouts)
}

// countingSink accepts every write at once.
type countingSink struct{ created atomic.Int64 }

func (s *countingSink) Create(_ context.Context, ev *eventsv1.Event) (*eventsv1.Event, error) {
	s.created.Add(1)
	return ev, nil
}

func (s *countingSink) Update(_ context.Context, ev *eventsv1.Event) (*eventsv1.Event, error) {
	return ev, nil
}

func (s *countingSink) Patch(_ context.Context, ev *eventsv1.Event, _ []byte) (*eventsv1.Event, error) {
	return ev, nil
}
