package trafficrouting_test

import (
	"reflect"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
)

func TestPlanScaleDown(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	later := now.Add(20 * time.Second)
	earlier := now.Add(-time.Second)
	promoted := func(mod ...func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
		ro := rollout(10, 2, setWeight(30), pause())
		ro.Status.StableRS = v2
		for _, m := range mod {
			m(ro)
		}
		return ro
	}
	at := func(d time.Time) *time.Time { return &d }
	tests := []struct {
		name    string
		in      tr.ScaleDownInput
		want    []tr.ScaleDownChange
		requeue time.Duration
	}{
		{
			name: "after promotion the old stable waits 30s behind a deadline",
			in: tr.ScaleDownInput{Rollout: promoted(), NewHash: v2, TotalAvailable: 20,
				Old: []tr.OldReplicaSet{{Hash: v1, Replicas: 10, Available: 10}}},
			want:    []tr.ScaleDownChange{{Hash: v1, Replicas: 10, SetDeadline: at(now.Add(30 * time.Second))}},
			requeue: 30 * time.Second,
		},
		{
			name: "before its deadline it stays, and the pass comes back at the deadline",
			in: tr.ScaleDownInput{Rollout: promoted(), NewHash: v2, TotalAvailable: 20,
				Old: []tr.OldReplicaSet{{Hash: v1, Replicas: 10, Available: 10, Deadline: &later}}},
			requeue: 20 * time.Second,
		},
		{
			name: "past its deadline it goes to 0",
			in: tr.ScaleDownInput{Rollout: promoted(), NewHash: v2, TotalAvailable: 20,
				Old: []tr.OldReplicaSet{{Hash: v1, Replicas: 10, Available: 10, Deadline: &earlier}}},
			want: []tr.ScaleDownChange{{Hash: v1, Replicas: 0}},
		},
		{
			name: "maxUnavailable caps the cut: 12 available, R 10, maxUnavailable 0: 2 pods this pass",
			in: tr.ScaleDownInput{Rollout: promoted(), NewHash: v2, TotalAvailable: 12,
				Old: []tr.OldReplicaSet{{Hash: v1, Replicas: 10, Available: 2, Deadline: &earlier}}},
			want: []tr.ScaleDownChange{{Hash: v1, Replicas: 8}},
		},
		{
			name: "scaleDownDelayRevisionLimit 1: the newest old ReplicaSet waits, the rest go at once",
			in: tr.ScaleDownInput{Rollout: promoted(func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.ScaleDownDelayRevisionLimit = ptr.To[int32](1)
			}), NewHash: v2, TotalAvailable: 25, MaxUnavailable: 0,
				Old: []tr.OldReplicaSet{{Hash: v1, Replicas: 10, Available: 10, Deadline: &later}, {Hash: "v0", Replicas: 5, Available: 5}}},
			want:    []tr.ScaleDownChange{{Hash: "v0", Replicas: 0}},
			requeue: 20 * time.Second,
		},
		{
			name: "scaleDownDelaySeconds 0 scales down at once",
			in: tr.ScaleDownInput{Rollout: promoted(func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](0)
			}), NewHash: v2, TotalAvailable: 20,
				Old: []tr.OldReplicaSet{{Hash: v1, Replicas: 10, Available: 10}}},
			want: []tr.ScaleDownChange{{Hash: v1, Replicas: 0}},
		},
		{
			name: "dynamicStableScale: the old stable goes at once",
			in: tr.ScaleDownInput{Rollout: promoted(func(ro *v1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.DynamicStableScale = true
			}), NewHash: v2, TotalAvailable: 11,
				Old: []tr.OldReplicaSet{{Hash: v1, Replicas: 1, Available: 1}}},
			want: []tr.ScaleDownChange{{Hash: v1, Replicas: 0}},
		},
		{
			name: "an intermediate ReplicaSet (V2 when V3 arrives) goes at once",
			in: tr.ScaleDownInput{Rollout: rollout(10, 0, setWeight(30), pause()), NewHash: v3, TotalAvailable: 13,
				Old: []tr.OldReplicaSet{{Hash: v2, Replicas: 3, Available: 3}}},
			want: []tr.ScaleDownChange{{Hash: v2, Replicas: 0}},
		},
		{
			name: "a referenced ReplicaSet (an Istio subset, weights, a Service) stays",
			in: tr.ScaleDownInput{Rollout: rollout(10, 0, setWeight(30), pause()), NewHash: v3, TotalAvailable: 13,
				Referenced: map[string]bool{v2: true},
				Old:        []tr.OldReplicaSet{{Hash: v2, Replicas: 3, Available: 3}}},
		},
		{
			name: "a stale deadline on the new and the stable ReplicaSets is removed",
			in: tr.ScaleDownInput{Rollout: rollout(10, 0, setWeight(30), pause()), NewHash: v2, TotalAvailable: 13,
				NewDeadline: true, StableDeadline: true},
			want: []tr.ScaleDownChange{{Hash: v2, Replicas: -1, RemoveDeadline: true}, {Hash: v1, Replicas: -1, RemoveDeadline: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			got := tr.PlanScaleDown(tt.in)
			if !reflect.DeepEqual(got.Changes, tt.want) || got.RequeueAfter != tt.requeue {
				t.Errorf("PlanScaleDown\n got %+v requeue %v\nwant %+v requeue %v", got.Changes, got.RequeueAfter, tt.want, tt.requeue)
			}
		})
	}
}

func TestReferencedHashes(t *testing.T) {
	ro := rollout(10, 0)
	ro.Status.Canary.Weights = weights(30, v2, 70)
	ro.Status.Canary.Weights.Additional = []v1alpha1.WeightDestination{{PodTemplateHash: "e1"}}
	got := tr.ReferencedHashes(ro, []string{v3, ""}, []string{"dr1"})
	want := map[string]bool{v1: true, v2: true, v3: true, "e1": true, "dr1": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReferencedHashes = %v, want %v", got, want)
	}
}

func TestPlanAbortedCanary(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	aborted := func(mod ...func(*v1alpha1.CanaryStrategy)) *v1alpha1.Rollout {
		ro := rollout(10, 0, setWeight(30), pause())
		ro.Status.Abort = true
		for _, m := range mod {
			m(ro.Spec.Strategy.Canary)
		}
		return ro
	}
	drained := weights(0, v2, 100)
	tests := []struct {
		name string
		in   tr.AbortedCanaryInput
		want tr.AbortedCanary
	}{
		{
			name: "kept while the stable is short",
			in:   tr.AbortedCanaryInput{Rollout: aborted(), Canary: tr.OldReplicaSet{Hash: v2, Replicas: 3}, StableAvailable: 9, Weights: drained},
			want: tr.AbortedCanary{Handled: true, Replicas: 3},
		},
		{
			name: "stable full and traffic gone: deadline in 30s",
			in:   tr.AbortedCanaryInput{Rollout: aborted(), Canary: tr.OldReplicaSet{Hash: v2, Replicas: 3}, StableAvailable: 10, Weights: drained},
			want: tr.AbortedCanary{Handled: true, Replicas: 3, SetDeadline: ptr.To(now.Add(30 * time.Second)), RequeueAfter: 30 * time.Second},
		},
		{
			name: "no deadline while the routers still send it traffic",
			in:   tr.AbortedCanaryInput{Rollout: aborted(), Canary: tr.OldReplicaSet{Hash: v2, Replicas: 3}, StableAvailable: 10, Weights: weights(30, v2, 70)},
			want: tr.AbortedCanary{Handled: true, Replicas: 3},
		},
		{
			name: "past the deadline: 0",
			in: tr.AbortedCanaryInput{Rollout: aborted(), Canary: tr.OldReplicaSet{Hash: v2, Replicas: 3, Deadline: ptr.To(now.Add(-time.Second))},
				StableAvailable: 10, Weights: drained},
			want: tr.AbortedCanary{Handled: true, Replicas: 0},
		},
		{
			name: "abortScaleDownDelaySeconds 0: never",
			in: tr.AbortedCanaryInput{Rollout: aborted(func(c *v1alpha1.CanaryStrategy) { c.AbortScaleDownDelaySeconds = ptr.To[int32](0) }),
				Canary: tr.OldReplicaSet{Hash: v2, Replicas: 3}, StableAvailable: 10, Weights: drained},
			want: tr.AbortedCanary{Handled: true, Replicas: 3},
		},
		{
			name: "dynamicStableScale without an explicit delay: the counts shrink the canary",
			in: tr.AbortedCanaryInput{Rollout: aborted(func(c *v1alpha1.CanaryStrategy) { c.DynamicStableScale = true }),
				Canary: tr.OldReplicaSet{Hash: v2, Replicas: 3}, StableAvailable: 10, Weights: drained},
			want: tr.AbortedCanary{},
		},
		{
			name: "dynamicStableScale with an explicit delay uses the deadline",
			in: tr.AbortedCanaryInput{Rollout: aborted(func(c *v1alpha1.CanaryStrategy) {
				c.DynamicStableScale, c.AbortScaleDownDelaySeconds = true, ptr.To[int32](5)
			}), Canary: tr.OldReplicaSet{Hash: v2, Replicas: 3}, StableAvailable: 10, Weights: drained},
			want: tr.AbortedCanary{Handled: true, Replicas: 3, SetDeadline: ptr.To(now.Add(5 * time.Second)), RequeueAfter: 5 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			if got := tr.PlanAbortedCanary(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PlanAbortedCanary = %+v, want %+v", got, tt.want)
			}
		})
	}
}
