package compactcache

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
)

type cachedReplicaSet = Object[appsv1.ReplicaSet, *appsv1.ReplicaSet]

func transformReplicaSet(t *testing.T, c *Compactor[appsv1.ReplicaSet, *appsv1.ReplicaSet], name string) *cachedReplicaSet {
	t.Helper()
	out, err := c.Transform(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	return out.(*cachedReplicaSet)
}

// TestCompactorKeepsTheLastDecoded checks that only the last keep objects
// hold their decoded form, whichever was encoded when.
func TestCompactorKeepsTheLastDecoded(t *testing.T) {
	const keep = 3
	c := NewCompactor[appsv1.ReplicaSet](keep, 0, nil)
	var objs []*cachedReplicaSet
	for i := range 7 {
		objs = append(objs, transformReplicaSet(t, c, fmt.Sprintf("rs-%d", i)))
		for j, o := range objs {
			if want, got := j > i-keep, o.decoded.Load() != nil; got != want {
				t.Fatalf("after %d objects, object %d keeps its decoded form: %v, want %v", i+1, j, got, want)
			}
		}
	}
	// Without room, nothing is kept.
	if transformReplicaSet(t, NewCompactor[appsv1.ReplicaSet](0, time.Second, nil), "rs").decoded.Load() != nil {
		t.Error("a Compactor with no room kept a decoded form")
	}
}

// TestCompactorKeepsOnlyTheLatestVersion checks that a new version of an
// object drops the decoded form of the one it replaces, and that the
// replaced version leaving the ring leaves the new one decoded.
func TestCompactorKeepsOnlyTheLatestVersion(t *testing.T) {
	c := NewCompactor[appsv1.ReplicaSet](2, 0, nil)
	a1 := transformReplicaSet(t, c, "a")
	a2 := transformReplicaSet(t, c, "a")
	if a1.decoded.Load() != nil || a2.decoded.Load() == nil {
		t.Fatalf("after a second version: first decoded %v, second %v; want false, true", a1.decoded.Load() != nil, a2.decoded.Load() != nil)
	}
	// b takes a1's place in the ring; a2 is still a's latest.
	b := transformReplicaSet(t, c, "b")
	if a2.decoded.Load() == nil || b.decoded.Load() == nil {
		t.Fatal("the latest versions lost their decoded form when a replaced one left the ring")
	}
	// c takes a2's place: a is no longer remembered.
	transformReplicaSet(t, c, "c")
	if a2.decoded.Load() != nil {
		t.Error("an object out of the ring kept its decoded form")
	}
	if _, ok := c.latest[objectKey{"ns", "a"}]; ok || len(c.latest) != 2 {
		t.Errorf("latest holds %d objects (a among them: %v), want b and c", len(c.latest), ok)
	}
}

// TestCompactorDropsDecodedAfterHold checks that a decoded form is kept
// for at least the hold and at most one and a half, and that a Compactor
// left alone ends up holding none.
func TestCompactorDropsDecodedAfterHold(t *testing.T) {
	const hold = 10 * time.Second
	clk := clocktesting.NewFakeClock(time.Now())
	c := NewCompactor[appsv1.ReplicaSet](8, hold, nil)
	c.clock = ownGoroutineClock{clk}
	// Under the Compactor's lock, which expire holds until it has armed
	// its next timer: a drop seen is a pass done.
	isDecoded := func(o *cachedReplicaSet) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return o.decoded.Load() != nil
	}
	// A timer's function runs in its own goroutine: wait for it.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		err := wait.PollUntilContextTimeout(t.Context(), time.Millisecond, 5*time.Second, true,
			func(context.Context) (bool, error) { return cond(), nil })
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	first := transformReplicaSet(t, c, "first")
	clk.Step(hold / 2)
	second := transformReplicaSet(t, c, "second")
	if !isDecoded(first) || !isDecoded(second) {
		t.Fatal("a decoded form was dropped before its hold")
	}
	// At the hold the first goes; the second, encoded half a hold later,
	// stays.
	clk.Step(hold / 2)
	eventually("the first object's decoded form dropped at its hold", func() bool { return !isDecoded(first) })
	if !isDecoded(second) {
		t.Fatal("the second object's decoded form was dropped half a hold early")
	}
	// The Compactor comes back half a hold later for the second.
	clk.Step(hold / 2)
	eventually("the second object's decoded form dropped at its hold", func() bool { return !isDecoded(second) })
	c.mu.Lock()
	armed := c.expiry != nil
	c.mu.Unlock()
	if armed {
		t.Error("the expiry timer is still armed with nothing held")
	}
	if clk.HasWaiters() {
		t.Error("a timer is waiting with nothing held")
	}
	if len(c.latest) != 0 {
		t.Errorf("%d objects still remembered with nothing held", len(c.latest))
	}

	// Once empty, a new object arms it again.
	third := transformReplicaSet(t, c, "third")
	clk.Step(hold)
	eventually("a later object's decoded form dropped at its hold", func() bool { return !isDecoded(third) })
}

// ownGoroutineClock runs AfterFunc's function in its own goroutine, as the
// real clock does; the fake clock runs it while stepping, under its lock.
type ownGoroutineClock struct{ *clocktesting.FakeClock }

func (c ownGoroutineClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return c.FakeClock.AfterFunc(d, func() { go f() })
}

// TestCompactorMemo checks that the memo is computed from the object as it
// is encoded, and kept with the encoded object after its decoded form is
// gone.
func TestCompactorMemo(t *testing.T) {
	c := NewCompactor(1, 0, func(rs *appsv1.ReplicaSet) any { return "memo of " + rs.Name })
	first := transformReplicaSet(t, c, "first")
	transformReplicaSet(t, c, "second")
	if first.decoded.Load() != nil {
		t.Fatal("the first object is still decoded")
	}
	if got := first.Memo(); got != "memo of first" {
		t.Errorf("Memo() = %v, want %q", got, "memo of first")
	}
	if got := transformReplicaSet(t, NewCompactor[appsv1.ReplicaSet](1, 0, nil), "x").Memo(); got != nil {
		t.Errorf("Memo() without a memo function = %v, want nil", got)
	}
}
