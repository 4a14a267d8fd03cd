package webhook

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// received drains what the queue has sent to the controller.
func received(q *Queue) []types.NamespacedName {
	var out []types.NamespacedName
	for {
		select {
		case ev := <-q.ch:
			out = append(out, types.NamespacedName{Namespace: ev.Object.GetNamespace(), Name: ev.Object.GetName()})
		default:
			return out
		}
	}
}

// step advances the fake clock and waits until the timers that fired have
// run (the fake clock runs AfterFunc callbacks in goroutines).
func step(t *testing.T, clk *clocktesting.FakeClock, q *Queue, d time.Duration, wantSent int) []types.NamespacedName {
	t.Helper()
	clk.Step(d)
	var got []types.NamespacedName
	_ = wait.PollUntilContextTimeout(t.Context(), time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		got = append(got, received(q)...)
		return len(got) >= wantSent, nil
	})
	return append(got, received(q)...)
}

func TestQueueCoalesces(t *testing.T) {
	a := types.NamespacedName{Namespace: "ns", Name: "a"}
	b := types.NamespacedName{Namespace: "ns", Name: "b"}
	tests := []struct {
		name string
		run  func(t *testing.T, clk *clocktesting.FakeClock, q *Queue)
	}{
		{"a burst is sent once, after the quiet time", func(t *testing.T, clk *clocktesting.FakeClock, q *Queue) {
			for range 5 {
				q.Add(a, "backend")
				if got := step(t, clk, q, 400*time.Millisecond, 0); len(got) != 0 {
					t.Fatalf("sent %v during the burst", got)
				}
			}
			if got := step(t, clk, q, 100*time.Millisecond, 1); len(got) != 1 || got[0] != a {
				t.Fatalf("sent %v after the burst, want [%s]", got, a)
			}
			if got := q.Take(a); !got["backend"] || len(got) != 1 {
				t.Fatalf("Take = %v, want backend", got)
			}
			if got := q.Take(a); len(got) != 0 {
				t.Fatalf("second Take = %v, want nothing", got)
			}
		}},
		{"a steady stream is sent after the max delay", func(t *testing.T, clk *clocktesting.FakeClock, q *Queue) {
			var sent []types.NamespacedName
			for range 12 { // 12 x 400ms = 4.8s of pushes, then one more at 4.8s
				q.Add(a, "backend")
				sent = append(sent, step(t, clk, q, 400*time.Millisecond, 0)...)
			}
			if len(sent) != 0 {
				t.Fatalf("sent %v before the max delay", sent)
			}
			q.Add(a, "frontend")
			if got := step(t, clk, q, 200*time.Millisecond, 1); len(got) != 1 {
				t.Fatalf("sent %v at the max delay, want one", got)
			}
			if got := q.Take(a); !got["backend"] || !got["frontend"] {
				t.Fatalf("Take = %v, want backend and frontend", got)
			}
		}},
		{"objects wait apart", func(t *testing.T, clk *clocktesting.FakeClock, q *Queue) {
			q.Add(a, "x")
			step(t, clk, q, 300*time.Millisecond, 0)
			q.Add(b, "y")
			if got := step(t, clk, q, 200*time.Millisecond, 1); len(got) != 1 || got[0] != a {
				t.Fatalf("sent %v, want [%s]", got, a)
			}
			if got := step(t, clk, q, 300*time.Millisecond, 1); len(got) != 1 || got[0] != b {
				t.Fatalf("sent %v, want [%s]", got, b)
			}
			if got := q.Take(b); !got["y"] || got["x"] {
				t.Fatalf("Take(b) = %v, want y only", got)
			}
		}},
		{"images pushed after the send wait for the next one", func(t *testing.T, clk *clocktesting.FakeClock, q *Queue) {
			q.Add(a, "x")
			step(t, clk, q, 500*time.Millisecond, 1)
			q.Add(a, "y")
			if got := q.Take(a); !got["x"] || got["y"] {
				t.Fatalf("Take = %v, want x only (y is not sent yet)", got)
			}
			step(t, clk, q, 500*time.Millisecond, 1)
			if got := q.Take(a); !got["y"] {
				t.Fatalf("Take = %v, want y", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
			q := NewQueue(clk, 500*time.Millisecond, 5*time.Second)
			tt.run(t, clk, q)
		})
	}
}

func TestQueueFull(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	q := NewQueue(clk, time.Millisecond, time.Millisecond)
	q.ch = make(chan event.GenericEvent) // nobody reads it
	a := types.NamespacedName{Namespace: "ns", Name: "a"}
	q.Add(a, "x")
	clk.Step(time.Millisecond)
	_ = wait.PollUntilContextTimeout(t.Context(), time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return q.Dropped() > 0, nil
	})
	if q.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", q.Dropped())
	}
	// The images stay marked for the next reconcile.
	if got := q.Take(a); !got["x"] {
		t.Fatalf("Take = %v, want x", got)
	}
}

func TestNilQueueTake(t *testing.T) {
	var q *Queue
	if got := q.Take(types.NamespacedName{Name: "a"}); got != nil {
		t.Fatalf("Take of a nil queue = %v", got)
	}
}
