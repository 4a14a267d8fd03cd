package trafficrouting

import (
	"strconv"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// DefaultMaxWeight is the total weight when trafficRouting.maxTrafficWeight is unset.
const DefaultMaxWeight int32 = 100

// ReplicaSet is what the planner needs to know about one ReplicaSet of the Rollout.
type ReplicaSet struct {
	// Hash is the value of the rollouts-pod-template-hash label.
	Hash string
	// Replicas is spec.replicas.
	Replicas int32
	// Available is status.availableReplicas.
	Available int32
	// Created is status.replicas: pods that exist, ready or not.
	Created int32
}

// Input is the observed state of a traffic-routed canary at the start of a pass.
type Input struct {
	// Rollout holds the spec and the status as read at the start of the pass:
	// status.canary.weights is the split the routers were last given.
	Rollout *v1alpha1.Rollout
	// NewHash is the pod-template hash of the current template. The
	// ReplicaSet with this hash is "the new ReplicaSet", absent from
	// ReplicaSets until it is created.
	NewHash string
	// ReplicaSets are the Rollout's ReplicaSets, in any order.
	ReplicaSets []ReplicaSet
	// Additional are the experiment destinations (one per experiment
	// template with a weight), to be passed only while the current step's
	// experiment is Running.
	Additional []v1alpha1.WeightDestination
}

func (in Input) canary() *v1alpha1.CanaryStrategy {
	if in.Rollout.Spec.Strategy.Canary == nil {
		return &v1alpha1.CanaryStrategy{}
	}
	return in.Rollout.Spec.Strategy.Canary
}

func (in Input) steps() []v1alpha1.CanaryStep { return in.canary().Steps }

// replicas is spec.replicas (default 1), never negative.
func (in Input) replicas() int64 { return int64(max(in.Rollout.ReplicasOrDefault(), 0)) }

func (in Input) max() int64 { return int64(MaxWeight(in.Rollout)) }

func (in Input) find(hash string) *ReplicaSet {
	if hash == "" {
		return nil
	}
	for i := range in.ReplicaSets {
		if in.ReplicaSets[i].Hash == hash {
			return &in.ReplicaSets[i]
		}
	}
	return nil
}

// newRS is the ReplicaSet of the current template, nil until it is created.
func (in Input) newRS() *ReplicaSet { return in.find(in.NewHash) }

// stableRS is the ReplicaSet status.stableRS names, nil if there is none.
func (in Input) stableRS() *ReplicaSet { return in.find(in.Rollout.Status.StableRS) }

// fullyPromoted: the current template is the stable one.
func (in Input) fullyPromoted() bool {
	st := in.Rollout.Status.StableRS
	return st != "" && st == in.NewHash
}

// index is status.currentStepIndex clamped to 0..len(steps).
func (in Input) index() int {
	i := 0
	if p := in.Rollout.Status.CurrentStepIndex; p != nil {
		i = int(*p)
	}
	return min(max(i, 0), len(in.steps()))
}

// currentStep is the step at the index, nil past the last step.
func (in Input) currentStep() *v1alpha1.CanaryStep {
	i := in.index()
	if i >= len(in.steps()) {
		return nil
	}
	return &in.steps()[i]
}

// statusWeights is status.canary.weights as read at the start of the pass.
func (in Input) statusWeights() *v1alpha1.TrafficWeights { return in.Rollout.Status.Canary.Weights }

// revision is the Rollout's rollout.argoproj.io/revision annotation, 0 if absent.
func (in Input) revision() int64 {
	n, err := strconv.ParseInt(in.Rollout.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// MaxWeight is trafficRouting.maxTrafficWeight, or 100. A non-positive value
// (refused by Validate) counts as 100 so no division by zero can follow.
func MaxWeight(ro *v1alpha1.Rollout) int32 {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.MaxTrafficWeight == nil || *c.TrafficRouting.MaxTrafficWeight <= 0 {
		return DefaultMaxWeight
	}
	return *c.TrafficRouting.MaxTrafficWeight
}

// clamp bounds v to lo..hi and narrows it to int32.
func clamp(v, lo, hi int64) int32 {
	return int32(min(max(v, lo), hi))
}

// ceilDiv is ceil(a/b) for a >= 0, b > 0.
func ceilDiv(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// podsFor is the number of pods that carries weight out of total for a
// Rollout of r replicas: ceil(r*weight/total), weight clamped to 0..total.
func podsFor(r, weight, total int64) int64 {
	weight = min(max(weight, 0), total)
	return ceilDiv(r*weight, total)
}

// sumWeights adds the weights of the destinations, each clamped at 0.
func sumWeights(ds []v1alpha1.WeightDestination) int64 {
	var s int64
	for _, d := range ds {
		s += int64(max(d.Weight, 0))
	}
	return s
}
