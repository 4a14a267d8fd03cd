package trafficrouting_test

import (
	"math"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
)

func TestDesire(t *testing.T) {
	steps := []v1alpha1.CanaryStep{setWeight(30), pause(), setWeight(60), pause()}
	exp := []v1alpha1.WeightDestination{{ServiceName: "exp", PodTemplateHash: "e1", Weight: 10}}
	tests := []struct {
		name   string
		ro     func() *v1alpha1.Rollout
		sets   []tr.ReplicaSet
		newH   string
		add    []v1alpha1.WeightDestination
		want   tr.Desired
		ignore bool
	}{
		{
			name: "row 2: fully promoted: 0, routes removed, canary hash is the stable's",
			ro:   func() *v1alpha1.Rollout { ro := rollout(10, 4, steps...); ro.Status.StableRS = v2; return ro },
			sets: []tr.ReplicaSet{rs(v2, 10), rs(v1, 0)},
			want: tr.Desired{Situation: tr.FullyPromoted, CanaryHash: v2, StableHash: v2, RemoveManagedRoutes: true, Ended: true},
		},
		{
			name: "row 2 wins over an abort: aborting a promoted Rollout moves no traffic",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 4, steps...)
				ro.Status.StableRS, ro.Status.Abort = v2, true
				return ro
			},
			sets: []tr.ReplicaSet{rs(v2, 10)},
			want: tr.Desired{Situation: tr.FullyPromoted, CanaryHash: v2, StableHash: v2, RemoveManagedRoutes: true, Ended: true},
		},
		{
			name: "row 3: aborted without dynamic scaling: 0 at once, canary Service back to stable",
			ro:   func() *v1alpha1.Rollout { ro := rollout(10, 0, steps...); ro.Status.Abort = true; return ro },
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 6)},
			want: tr.Desired{Situation: tr.Aborted, CanaryHash: v2, StableHash: v1, RemoveManagedRoutes: true, Ended: true, CanaryServiceToStable: true},
		},
		{
			name: "row 3: aborted with dynamic scaling: weight held while the stable grows",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(10), setWeight(30), setWeight(60))
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				ro.Status.Abort = true
				ro.Status.Canary.Weights = weights(60, v2, 40)
				return ro
			},
			sets: []tr.ReplicaSet{rsa(v1, 7, 4), rs(v2, 6)},
			want: tr.Desired{Situation: tr.Aborted, Weight: 60, CanaryHash: v2, StableHash: v1, RemoveManagedRoutes: true},
		},
		{
			name: "row 4: canary without available pods: 0 plus experiment weights",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 2, steps...) },
			sets: []tr.ReplicaSet{rs(v1, 10), rsa(v2, 6, 0)},
			add:  exp,
			want: tr.Desired{Situation: tr.NoCanaryPods, CanaryHash: v2, StableHash: v1, Additional: exp, RemoveManagedRoutes: true},
		},
		{
			name: "row 4: no new ReplicaSet yet: no canary hash",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 0, steps...) },
			sets: []tr.ReplicaSet{rs(v1, 10)},
			want: tr.Desired{Situation: tr.NoCanaryPods, StableHash: v1, RemoveManagedRoutes: true},
		},
		{
			name: "row 5: promoteFull with dynamic scaling follows the canary's available pods",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 4, steps...)
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				ro.Status.PromoteFull = true
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10), rsa(v2, 10, 4)},
			want: tr.Desired{Situation: tr.PromotingFully, Weight: 40, CanaryHash: v2, StableHash: v1, RemoveManagedRoutes: true},
		},
		{
			name: "row 5: promoteFull with dynamic scaling and maxTrafficWeight 1000",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 4, steps...)
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				ro.Spec.Strategy.Canary.TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000)
				ro.Status.PromoteFull = true
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10), rsa(v2, 10, 4)},
			want: tr.Desired{Situation: tr.PromotingFully, Weight: 400, CanaryHash: v2, StableHash: v1, RemoveManagedRoutes: true},
		},
		{
			name: "row 5: promoteFull without dynamic scaling keeps the weight in status",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 1, steps...)
				ro.Status.PromoteFull = true
				ro.Status.Canary.Weights = weights(30, v2, 70)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10), rsa(v2, 10, 5)},
			want: tr.Desired{Situation: tr.PromotingFully, Weight: 30, CanaryHash: v2, StableHash: v1, RemoveManagedRoutes: true},
		},
		{
			name: "row 6a: the canary is not at the step's 6 pods yet: the previous setWeight",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 2, steps...) },
			sets: []tr.ReplicaSet{rs(v1, 10), rsa(v2, 6, 3)},
			add:  exp,
			want: tr.Desired{Situation: tr.BelowStepCounts, Weight: 30, CanaryHash: v2, StableHash: v1, Additional: exp},
		},
		{
			name: "row 6a on the first step: nothing before it, so 0",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 0, steps...) },
			sets: []tr.ReplicaSet{rs(v1, 10), rsa(v2, 3, 1)},
			want: tr.Desired{Situation: tr.BelowStepCounts, CanaryHash: v2, StableHash: v1},
		},
		{
			name: "row 6b: at the step's counts: its setWeight, with experiment weights",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 2, steps...) },
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 6)},
			add:  exp,
			want: tr.Desired{Situation: tr.AtStep, Weight: 60, CanaryHash: v2, StableHash: v1, Additional: exp},
		},
		{
			name: "row 6b on a pause: the last setWeight before it",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 1, steps...) },
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 3)},
			want: tr.Desired{Situation: tr.AtStep, Weight: 30, CanaryHash: v2, StableHash: v1},
		},
		{
			name: "row 6a past the last step: traffic stays at the last setWeight while the canary grows to R",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 4, steps...) },
			sets: []tr.ReplicaSet{rs(v1, 10), rsa(v2, 10, 6)},
			want: tr.Desired{Situation: tr.BelowStepCounts, Weight: 60, CanaryHash: v2, StableHash: v1},
		},
		{
			name: "row 6c: every step done and the canary full: max",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 4, steps...) },
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 10)},
			want: tr.Desired{Situation: tr.PastLastStep, Weight: 100, CanaryHash: v2, StableHash: v1},
		},
		{
			name: "row 7: no steps: 0 (traffic moves with the stable Service)",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 0) },
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 10)},
			want: tr.Desired{Situation: tr.NoSteps, CanaryHash: v2, StableHash: v1},
		},
		{
			name: "row 1: back to the stable template during a dynamic canary: steps down from the previous canary",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(10), setWeight(30), setWeight(60))
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				ro.Status.Canary.Weights = weights(60, v2, 40)
				return ro
			},
			newH: v1,
			sets: []tr.ReplicaSet{rsa(v1, 10, 7), rs(v2, 6)},
			want: tr.Desired{Situation: tr.RollingBackToStable, Weight: 30, CanaryHash: v2, StableHash: v1},
		},
		{
			name: "row 1 ends when the stable is fully available: row 2",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(10), setWeight(30), setWeight(60))
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				ro.Status.Canary.Weights = weights(10, v2, 90)
				return ro
			},
			newH: v1,
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 1)},
			want: tr.Desired{Situation: tr.FullyPromoted, CanaryHash: v1, StableHash: v1, RemoveManagedRoutes: true, Ended: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := in(tt.ro(), tt.sets...)
			input.Additional = tt.add
			if tt.newH != "" {
				input.NewHash = tt.newH
			}
			got := tr.Desire(input)
			if !equalDesired(got, tt.want) {
				t.Errorf("Desire:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalDesired(a, b tr.Desired) bool {
	if len(a.Additional) != len(b.Additional) {
		return false
	}
	for i := range a.Additional {
		if a.Additional[i] != b.Additional[i] {
			return false
		}
	}
	a.Additional, b.Additional = nil, nil
	return a.Situation == b.Situation && a.Weight == b.Weight && a.CanaryHash == b.CanaryHash &&
		a.StableHash == b.StableHash && a.RemoveManagedRoutes == b.RemoveManagedRoutes &&
		a.Ended == b.Ended && a.CanaryServiceToStable == b.CanaryServiceToStable
}

func TestReplicaCounts(t *testing.T) {
	tests := []struct {
		name               string
		ro                 func() *v1alpha1.Rollout
		sets               []tr.ReplicaSet
		newH               string
		canary, stable     int32
		scaleWeightPercent int32
	}{
		{
			name: "setWeight 30 of 10: 3 canary pods, the stable stays full",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 0, setWeight(30), pause()) },
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 3, stable: 10, scaleWeightPercent: 30,
		},
		{
			name: "a 5% step on 10 pods rounds up to 1 pod",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 0, setWeight(5), pause()) },
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 1, stable: 10, scaleWeightPercent: 5,
		},
		{
			name: "setCanaryScale replicas 15 on 10: 25 pods in total (the docs' example)",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 1, setWeight(10), scaleReplicas(15), pause()) },
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 15, stable: 10, scaleWeightPercent: -1,
		},
		{
			name: "2 canary pods at 5%: setCanaryScale replicas 2 stays in force over setWeight 5",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 1, scaleReplicas(2), setWeight(5), pause()) },
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 2, stable: 10, scaleWeightPercent: -1,
		},
		{
			name: "setCanaryScale weight 50 sizes the canary at 5 of 10",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 1, setWeight(10), scaleWeight(50), pause()) },
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 5, stable: 10, scaleWeightPercent: 50,
		},
		{
			name: "matchTrafficWeight ends setCanaryScale: the setWeight sizes again",
			ro: func() *v1alpha1.Rollout {
				return rollout(10, 4, scaleReplicas(2), setWeight(5), setWeight(20), matchTraffic(), setWeight(40))
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 4, stable: 10, scaleWeightPercent: 40,
		},
		{
			name: "setCanaryScale is ignored past the last step: the canary goes to R",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 2, scaleReplicas(2), setWeight(5)) },
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 10, stable: 10, scaleWeightPercent: 100,
		},
		{
			name: "promoteFull ignores setCanaryScale",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 1, scaleReplicas(2), setWeight(5), pause())
				ro.Status.PromoteFull = true
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 10, stable: 10, scaleWeightPercent: 100,
		},
		{
			name: "aborted: the canary's wanted count is 0",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, scaleReplicas(2), setWeight(5), pause())
				ro.Status.Abort = true
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 0, stable: 10,
		},
		{
			name: "aborted with abortScaleDownDelaySeconds 0: setCanaryScale stays in force",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, scaleReplicas(2), setWeight(5), pause())
				ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = ptr.To[int32](0)
				ro.Status.Abort = true
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 2, stable: 10, scaleWeightPercent: -1,
		},
		{
			name: "dynamicStableScale: the stable shrinks to carry 70%",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(30), pause())
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				ro.Status.Canary.Weights = weights(30, v2, 70)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 3, stable: 7, scaleWeightPercent: 30,
		},
		{
			name: "dynamicStableScale: the stable keeps the pods for the traffic it still has",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(30), pause())
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				ro.Status.Canary.Weights = weights(0, v2, 100)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 3, stable: 10, scaleWeightPercent: 30,
		},
		{
			name: "dynamicStableScale with setCanaryScale replicas: no traffic moved, the stable stays full",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, scaleReplicas(4), pause())
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				ro.Status.Canary.Weights = weights(0, v2, 100)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 4, stable: 10, scaleWeightPercent: -1,
		},
		{
			name: "dynamic abort: the canary keeps the pods for the 60% it still receives",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(10), setWeight(30), setWeight(60))
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				ro.Status.Abort = true
				ro.Status.Canary.Weights = weights(60, v2, 40)
				return ro
			},
			sets: []tr.ReplicaSet{rsa(v1, 4, 4), rs(v2, 6)}, canary: 6, stable: 7, scaleWeightPercent: 30,
		},
		{
			name: "minPodsPerReplicaSet 2 raises a 1-pod canary",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(5), pause())
				ro.Spec.Strategy.Canary.MinPodsPerReplicaSet = ptr.To[int32](2)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 2, stable: 10, scaleWeightPercent: 5,
		},
		{
			name: "minPodsPerReplicaSet above R is capped at R",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(3, 0, setWeight(5), pause())
				ro.Spec.Strategy.Canary.MinPodsPerReplicaSet = ptr.To[int32](20)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 3)}, canary: 3, stable: 3, scaleWeightPercent: 5,
		},
		{
			name: "minPodsPerReplicaSet leaves a 0 count at 0",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(0), pause())
				ro.Spec.Strategy.Canary.MinPodsPerReplicaSet = ptr.To[int32](2)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 0, stable: 10,
		},
		{
			name: "maxTrafficWeight 1000: 50 of 1000 on 10 pods is 1 pod",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(50), pause())
				ro.Spec.Strategy.Canary.TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10)}, canary: 1, stable: 10, scaleWeightPercent: 50,
		},
		{
			name: "no stable ReplicaSet (first deploy): the new one goes to R",
			ro:   func() *v1alpha1.Rollout { ro := rollout(10, 0, setWeight(30)); ro.Status.StableRS = ""; return ro },
			sets: nil, canary: 10, stable: 0, scaleWeightPercent: 100,
		},
		{
			name: "fully promoted: the new ReplicaSet is the stable one, both counts R",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 2, setWeight(30), pause())
				ro.Status.StableRS = v2
				return ro
			},
			sets: []tr.ReplicaSet{rs(v2, 10)}, canary: 10, stable: 10, scaleWeightPercent: 100,
		},
		{
			name: "the largest Rollout does not overflow",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(math.MaxInt32, 0, setWeight(99), pause())
				ro.Spec.Strategy.Canary.DynamicStableScale = true
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, math.MaxInt32)}, canary: 2126008811, stable: 21474837, scaleWeightPercent: 99,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := in(tt.ro(), tt.sets...)
			if tt.newH != "" {
				input.NewHash = tt.newH
			}
			got := tr.ReplicaCounts(input)
			if got.Canary != tt.canary || got.Stable != tt.stable || got.ScaleWeight != tt.scaleWeightPercent {
				t.Errorf("ReplicaCounts = %+v, want canary %d stable %d scale weight %d", got, tt.canary, tt.stable, tt.scaleWeightPercent)
			}
		})
	}
}

func TestStepDown(t *testing.T) {
	ladder := []v1alpha1.CanaryStep{setWeight(10), pause(), setWeight(30), setWeight(60)}
	tests := []struct {
		name string
		in   tr.StepDownInput
		want tr.StepDownResult
	}{
		{
			name: "stable 4 of 10, canary 6 at 60: size for 30, hold 60 while the stable grows",
			in:   tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 4, CanaryAvailable: 6, Current: ptr.To[int32](60)},
			want: tr.StepDownResult{ScaleWeight: 30, RouterWeight: 60},
		},
		{
			name: "stable at the 7 pods 70% needs: traffic steps down to 30",
			in:   tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 7, CanaryAvailable: 6, Current: ptr.To[int32](60)},
			want: tr.StepDownResult{ScaleWeight: 30, RouterWeight: 30},
		},
		{
			name: "canary down to 3: size for 10, hold 30 until the stable has 9",
			in:   tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 7, CanaryAvailable: 3, Current: ptr.To[int32](30)},
			want: tr.StepDownResult{ScaleWeight: 10, RouterWeight: 30},
		},
		{
			name: "stable at 9: traffic steps down to 10",
			in:   tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 9, CanaryAvailable: 3, Current: ptr.To[int32](30)},
			want: tr.StepDownResult{ScaleWeight: 10, RouterWeight: 10},
		},
		{
			name: "canary down to 1: no step below, size for 0, hold 10 until the stable is full",
			in:   tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 9, CanaryAvailable: 1, Current: ptr.To[int32](10)},
			want: tr.StepDownResult{ScaleWeight: 0, RouterWeight: 10},
		},
		{
			name: "stable full: everything back, whatever the canary still runs",
			in:   tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 10, CanaryAvailable: 1, Current: ptr.To[int32](10)},
			want: tr.StepDownResult{},
		},
		{
			name: "minPodsPerReplicaSet holds 3 canary pods: a full stable still takes all traffic back (#4841)",
			in: tr.StepDownInput{Replicas: 10, Max: 100, Steps: []v1alpha1.CanaryStep{setWeight(5), pause(), setWeight(50)},
				StableAvailable: 10, CanaryAvailable: 3, Current: ptr.To[int32](5), MinPods: ptr.To[int32](3)},
			want: tr.StepDownResult{},
		},
		{
			name: "explicit abortScaleDownDelaySeconds: canary pods do not hold the ladder up (#4898)",
			in: tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 9, CanaryAvailable: 6,
				Current: ptr.To[int32](60), ExplicitAbortDelay: true},
			want: tr.StepDownResult{ScaleWeight: 0, RouterWeight: 60},
		},
		{
			name: "never above the weight the routers have",
			in:   tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 7, CanaryAvailable: 6, Current: ptr.To[int32](20)},
			want: tr.StepDownResult{ScaleWeight: 30, RouterWeight: 20},
		},
		{
			name: "no weights in status: the ladder weight",
			in:   tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 2, CanaryAvailable: 8},
			want: tr.StepDownResult{ScaleWeight: 60, RouterWeight: 60},
		},
		{
			name: "maxTrafficWeight 1000",
			in: tr.StepDownInput{Replicas: 10, Max: 1000, Steps: []v1alpha1.CanaryStep{setWeight(100), setWeight(500)},
				StableAvailable: 5, CanaryAvailable: 5, Current: ptr.To[int32](500)},
			want: tr.StepDownResult{ScaleWeight: 100, RouterWeight: 500},
		},
		{
			name: "a current weight above max is clamped",
			in:   tr.StepDownInput{Replicas: 10, Max: 100, Steps: ladder, StableAvailable: 0, CanaryAvailable: 10, Current: ptr.To[int32](500)},
			want: tr.StepDownResult{ScaleWeight: 60, RouterWeight: 100},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tr.StepDown(tt.in); got != tt.want {
				t.Errorf("StepDown = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestAbortWalksBackDown drives a dynamicStableScale abort from 60% to the
// end: each pass computes the counts and the weight, the ReplicaSets reach
// the counts, the routers take the weight. Traffic must only go down, the
// stable must always have the pods for its share, and it must end at 0.
func TestAbortWalksBackDown(t *testing.T) {
	ro := rollout(10, 0, setWeight(10), pause(), setWeight(30), setWeight(60))
	ro.Spec.Strategy.Canary.DynamicStableScale = true
	ro.Status.Abort = true
	ro.Status.Canary.Weights = weights(60, v2, 40)
	stable, canary := rs(v1, 4), rs(v2, 6)
	var seen []int32
	for pass := 0; pass < 50; pass++ {
		// Both decisions read the status as it was at the start of the pass.
		input := in(ro.DeepCopy(), stable, canary)
		plan := tr.PlanPass(input)
		counts := tr.ReplicaCounts(input)
		if !plan.Gated {
			w := plan.Desired.Weight
			if cur := ro.Status.Canary.Weights.Canary.Weight; w > cur {
				t.Fatalf("pass %d: weight rose from %d to %d", pass, cur, w)
			}
			if need := int32(int64(100-w) * 10 / 100); stable.Available < need {
				t.Fatalf("pass %d: stable has %d pods for %d%%", pass, stable.Available, 100-w)
			}
			if len(seen) == 0 || seen[len(seen)-1] != w {
				seen = append(seen, w)
			}
			ro.Status.Canary.Weights = tr.Weights(ro, plan.Desired)
		}
		if counts.Canary < canary.Replicas && int64(counts.Canary)*100 < int64(ro.Status.Canary.Weights.Canary.Weight)*10 {
			t.Fatalf("pass %d: canary cut to %d pods while it still has %d%%", pass, counts.Canary, ro.Status.Canary.Weights.Canary.Weight)
		}
		stable, canary = rs(v1, counts.Stable), rs(v2, counts.Canary)
		if ro.Status.Canary.Weights.Canary.Weight == 0 && canary.Replicas == 0 {
			break
		}
	}
	want := []int32{60, 30, 10, 0}
	if len(seen) != len(want) {
		t.Fatalf("weights %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("weights %v, want %v", seen, want)
		}
	}
	if canary.Replicas != 0 || stable.Replicas != 10 {
		t.Fatalf("ended with canary %d stable %d, want 0 and 10", canary.Replicas, stable.Replicas)
	}
}
