package replicas

import "testing"

// TestComputeCountsLingeringPods: a ReplicaSet whose spec was just lowered
// keeps its pods until the ReplicaSet controller removes them, and growth
// into that room would run more pods than maxSurge allows while the two
// controllers race (found by the chaos harness: 6 pods of a 5-replica
// canary with maxSurge 0). Compute counts each ReplicaSet at the larger of
// its spec and its pods, so growth waits for a later pass.
func TestComputeCountsLingeringPods(t *testing.T) {
	withPods := func(name string, spec, available, created int32) *ReplicaSetState {
		return &ReplicaSetState{Name: name, Replicas: spec, Available: available, Created: created}
	}
	tests := []struct {
		name       string
		in         Input
		wantCanary int32
		wantStable int32
	}{
		{
			name: "maxSurge 0: the canary waits until the stable's surplus pods are gone",
			in: Input{Replicas: 5, Weight: 40, MaxSurge: intOrPct("0"), MaxUnavailable: intOrPct("2"),
				Canary: withPods("canary", 0, 0, 0), Stable: withPods("stable", 3, 5, 5)},
			wantCanary: 0, wantStable: 3,
		},
		{
			name: "maxSurge 0: grows once the stable's status says the pods went",
			in: Input{Replicas: 5, Weight: 40, MaxSurge: intOrPct("0"), MaxUnavailable: intOrPct("2"),
				Canary: withPods("canary", 0, 0, 0), Stable: withPods("stable", 3, 3, 3)},
			wantCanary: 2, wantStable: 3,
		},
		{
			name: "only the growth that fits is done",
			in: Input{Replicas: 10, Weight: 60, MaxSurge: intOrPct("3"), MaxUnavailable: intOrPct("0"),
				Canary: withPods("canary", 3, 3, 3), Stable: withPods("stable", 7, 7, 9)},
			wantCanary: 4, wantStable: 7,
		},
		{
			name: "an older ReplicaSet's pods count until they are gone",
			in: Input{Replicas: 4, Weight: 100, MaxSurge: intOrPct("1"), MaxUnavailable: intOrPct("0"),
				Canary: withPods("canary", 2, 2, 2), Stable: withPods("stable", 2, 2, 2),
				Older: []ReplicaSetState{*withPods("older", 0, 1, 1)}},
			wantCanary: 2, wantStable: 2,
		},
		{
			name: "the stable grows back on an abort only into room free of pods",
			in: Input{Replicas: 4, Weight: 0, MaxSurge: intOrPct("1"), MaxUnavailable: intOrPct("0"),
				Canary: withPods("canary", 1, 1, 2), Stable: withPods("stable", 3, 3, 3)},
			wantCanary: 1, wantStable: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Compute(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Canary != tc.wantCanary || got.Stable != tc.wantStable {
				t.Fatalf("Compute = canary %d stable %d, want %d %d", got.Canary, got.Stable, tc.wantCanary, tc.wantStable)
			}
			b, err := prepare(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			pods := max(got.Canary, tc.in.Canary.Created) + max(got.Stable, tc.in.Stable.Created)
			for _, rs := range tc.in.Older {
				pods += max(got.Older[rs.Name], rs.Created)
			}
			if pods > b.maxTotal {
				t.Fatalf("plan may run %d pods, more than %d", pods, b.maxTotal)
			}
		})
	}
}
