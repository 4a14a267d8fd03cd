package main

import (
	"testing"
	"time"
)

// TestWalkPromotes walks a made-up promote: the socket wakes the HTTP/2
// reader, which wakes the watch decoder, which wakes the worker, which
// patches the Service from a request goroutine of its own. Each step's wait
// and run, and the way's length, are read from the transitions.
func TestWalkPromotes(t *testing.T) {
	const (
		reader, decoder, worker, request, bystander = 10, 11, 12, 13, 14
	)
	us := func(n int) time.Duration { return time.Duration(n) * time.Microsecond }
	readerStack := []string{"runtime.gopark", "golang.org/x/net/http2.(*ClientConn).readLoop"}
	decoderStack := []string{"runtime.gopark", "k8s.io/apimachinery/pkg/watch.(*StreamWatcher).receive"}
	workerStack := []string{"runtime.gopark", "sigs.k8s.io/controller-runtime/pkg/internal/controller.(*Controller[...]).processNextWorkItem"}
	patchStack := []string{"runtime.selectgo", "github.com/switchyard-dev/switchyard/internal/rollout.(*Reconciler).pointService",
		"sigs.k8s.io/controller-runtime/pkg/internal/controller.(*Controller[...]).processNextWorkItem"}
	promote := func(at time.Duration) []traceTransition {
		return []traceTransition{
			// The reader returns from its read: the way's start.
			{at: at, actor: reader, g: reader, from: "Syscall", to: "Running", tstack: readerStack},
			{at: at + us(40), actor: reader, g: decoder, from: "Waiting", to: "Runnable", tstack: decoderStack},
			{at: at + us(50), actor: reader, g: reader, from: "Running", to: "Waiting", tstack: readerStack},
			{at: at + us(60), actor: decoder, g: decoder, from: "Runnable", to: "Running"},
			// Preempted once: 30 µs waiting for a core mid-run.
			{at: at + us(100), actor: decoder, g: decoder, from: "Running", to: "Runnable"},
			{at: at + us(130), actor: decoder, g: decoder, from: "Runnable", to: "Running"},
			{at: at + us(200), actor: decoder, g: worker, from: "Waiting", to: "Runnable", tstack: workerStack},
			// Something else the decoder woke is not on the way.
			{at: at + us(205), actor: decoder, g: bystander, from: "Waiting", to: "Runnable"},
			{at: at + us(210), actor: worker, g: worker, from: "Runnable", to: "Running"},
			{at: at + us(700), actor: worker, g: request, from: "NotExist", to: "Runnable", tstack: []string{"golang.org/x/net/http2.(*clientStream).doRequest"}},
			{at: at + us(710), actor: worker, g: worker, from: "Running", to: "Waiting", tstack: patchStack},
			{at: at + us(720), actor: request, g: request, from: "Runnable", to: "Running"},
			{at: at + us(760), actor: request, g: request, from: "Running", to: "Syscall"},
			// The same pass's second Service patch is not a promote.
			{at: at + us(900), actor: worker, g: worker, from: "Running", to: "Waiting", tstack: patchStack},
		}
	}
	var ts []traceTransition
	ts = append(ts, promote(time.Second)...)
	ts = append(ts, promote(2*time.Second)...)

	way := walkPromotes(ts)
	if way == nil {
		t.Fatal("no promote found")
	}
	if way.Promotes != 2 {
		t.Errorf("promotes %d, want 2", way.Promotes)
	}
	want := []struct {
		role      string
		wait, run float64 // ms
	}{
		{"HTTP/2 connection reader (frames off the socket)", 0, 0.040},
		{"watch decoder (the event's JSON into a Rollout)", 0.050, 0.110},
		{"reconcile worker: the pass, to its Service patch", 0.010, 0.500},
		{requestRole, 0.020, 0.040},
	}
	if len(way.Steps) != len(want) {
		t.Fatalf("steps %+v, want %d", way.Steps, len(want))
	}
	for i, w := range want {
		got := way.Steps[i]
		if got.Goroutine != w.role || got.Wait.P50 != w.wait || got.Run.P50 != w.run || got.Wait.N != 2 {
			t.Errorf("step %d: %s wait %.3f run %.3f (n %d), want %s wait %.3f run %.3f (n 2)",
				i, got.Goroutine, got.Wait.P50, got.Run.P50, got.Wait.N, w.role, w.wait, w.run)
		}
	}
	// From the reader's return to the request's write.
	if way.Total.P50 != 0.760 {
		t.Errorf("the way %.3f ms, want 0.760", way.Total.P50)
	}
}
