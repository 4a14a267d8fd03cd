package replicas

import "testing"

func TestWithinPods(t *testing.T) {
	withPods := func(name string, spec, available, created int32) *ReplicaSetState {
		return &ReplicaSetState{Name: name, Replicas: spec, Available: available, Created: created}
	}
	tests := []struct {
		name string
		in   Input
		plan Plan
		want Plan
	}{
		{
			name: "maxSurge 0: the canary waits until the stable's surplus pods are gone",
			in: Input{Replicas: 5, Weight: 40, MaxSurge: intOrPct("0"), MaxUnavailable: intOrPct("2"),
				Canary: withPods("canary", 0, 0, 0), Stable: withPods("stable", 3, 5, 5)},
			plan: Plan{Canary: 2, Stable: 3},
			want: Plan{Canary: 0, Stable: 3},
		},
		{
			name: "maxSurge 0: grows once the stable's status says the pods went",
			in: Input{Replicas: 5, Weight: 40, MaxSurge: intOrPct("0"), MaxUnavailable: intOrPct("2"),
				Canary: withPods("canary", 0, 0, 0), Stable: withPods("stable", 3, 3, 3)},
			plan: Plan{Canary: 2, Stable: 3},
			want: Plan{Canary: 2, Stable: 3},
		},
		{
			name: "only the growth that does not fit waits",
			in: Input{Replicas: 10, Weight: 60, MaxSurge: intOrPct("3"), MaxUnavailable: intOrPct("0"),
				Canary: withPods("canary", 3, 3, 3), Stable: withPods("stable", 7, 7, 9)},
			plan: Plan{Canary: 6, Stable: 7},
			want: Plan{Canary: 4, Stable: 7},
		},
		{
			name: "an older ReplicaSet's pods count until they are gone",
			in: Input{Replicas: 4, Weight: 100, MaxSurge: intOrPct("1"), MaxUnavailable: intOrPct("0"),
				Canary: withPods("canary", 2, 2, 2), Stable: withPods("stable", 2, 2, 2),
				Older: []ReplicaSetState{*withPods("older", 0, 1, 1)}},
			plan: Plan{Canary: 3, Stable: 2, Older: map[string]int32{"older": 0}},
			want: Plan{Canary: 2, Stable: 2, Older: map[string]int32{"older": 0}},
		},
		{
			name: "shrinking is never held back",
			in: Input{Replicas: 4, Weight: 25, MaxSurge: intOrPct("1"), MaxUnavailable: intOrPct("1"),
				Canary: withPods("canary", 2, 2, 2), Stable: withPods("stable", 3, 3, 4)},
			plan: Plan{Canary: 1, Stable: 3},
			want: Plan{Canary: 1, Stable: 3},
		},
		{
			name: "the stable grows back on an abort only into room free of pods",
			in: Input{Replicas: 4, Weight: 0, MaxSurge: intOrPct("1"), MaxUnavailable: intOrPct("0"),
				Canary: withPods("canary", 1, 1, 2), Stable: withPods("stable", 3, 3, 3)},
			plan: Plan{Canary: 1, Stable: 4},
			want: Plan{Canary: 1, Stable: 3},
		},
		{
			name: "no separate stable: the stable repeats the canary",
			in: Input{Replicas: 3, Weight: 100, MaxSurge: intOrPct("1"), MaxUnavailable: intOrPct("0"),
				Canary: withPods("canary", 1, 1, 1), Stable: withPods("canary", 1, 1, 1),
				Older: []ReplicaSetState{*withPods("older", 2, 2, 3)}},
			plan: Plan{Canary: 2, Stable: 2, Older: map[string]int32{"older": 2}},
			want: Plan{Canary: 1, Stable: 1, Older: map[string]int32{"older": 2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := WithinPods(tc.in, tc.plan)
			if err != nil {
				t.Fatal(err)
			}
			if got.Canary != tc.want.Canary || got.Stable != tc.want.Stable || len(got.Older) != len(tc.want.Older) {
				t.Fatalf("WithinPods = %+v, want %+v", got, tc.want)
			}
			for k, v := range tc.want.Older {
				if got.Older[k] != v {
					t.Fatalf("WithinPods = %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}
