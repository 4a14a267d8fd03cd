package rollout

import (
	"testing"
	"time"
)

// TestStaleDeadline: a scale-down to zero planned on a cached ReplicaSet
// without a scale-down deadline is confirmed against the live copy.
func TestStaleDeadline(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ahead, past := now.Add(30*time.Second), now.Add(-time.Second)
	for _, tc := range []struct {
		name         string
		cached, live *time.Time
		wait         bool
	}{
		{name: "no deadline anywhere: it never served production, down at once", cached: nil, live: nil},
		{name: "the cache has not seen the deadline just written: wait", cached: nil, live: &ahead, wait: true},
		{name: "the live deadline has passed: down now", cached: nil, live: &past},
		{name: "the cache shows the deadline: the plan knew it", cached: &ahead, live: &ahead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := plannedOnStaleDeadline(tc.cached, tc.live, now); got != tc.wait {
				t.Errorf("plannedOnStaleDeadline = %v, want %v", got, tc.wait)
			}
		})
	}
}
