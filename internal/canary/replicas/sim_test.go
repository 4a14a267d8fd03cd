package replicas

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// cluster is a toy ReplicaSet controller for driving the planner through many reconciles: a
// plan takes effect at once (pods are created or deleted immediately, unready ones deleted
// first), while pods become available only when the test says so.
type cluster struct {
	replicas                 int32
	maxSurge, maxUnavailable *intstr.IntOrString
	canary, stable           ReplicaSetState
	older                    []ReplicaSetState
}

func (c *cluster) input(weight int32) Input {
	canary, stable := c.canary, c.stable
	return Input{
		Replicas:       c.replicas,
		Weight:         weight,
		MaxSurge:       c.maxSurge,
		MaxUnavailable: c.maxUnavailable,
		Canary:         &canary,
		Stable:         &stable,
		Older:          append([]ReplicaSetState(nil), c.older...),
	}
}

// apply scales every ReplicaSet to the plan. Scaling down removes unavailable pods first, as
// the ReplicaSet controller does, so availability only drops when there are no unready pods
// left to delete.
func (c *cluster) apply(p Plan) {
	scale := func(rs *ReplicaSetState, n int32) {
		rs.Replicas = n
		rs.Created = n
		rs.Available = min(rs.Available, n)
	}
	scale(&c.canary, p.Canary)
	scale(&c.stable, p.Stable)
	for i := range c.older {
		scale(&c.older[i], p.Older[c.older[i].Name])
	}
}

// each visits every ReplicaSet, canary and stable first.
func (c *cluster) each(fn func(rs *ReplicaSetState)) {
	fn(&c.canary)
	fn(&c.stable)
	for i := range c.older {
		fn(&c.older[i])
	}
}

// becomeAvailable makes every pod available.
func (c *cluster) becomeAvailable() {
	c.each(func(rs *ReplicaSetState) { rs.Available = rs.Replicas })
}

// settled reports whether p changes nothing and every pod is available: the end of a step.
func (c *cluster) settled(p Plan) bool {
	if p.Canary != c.canary.Replicas || p.Stable != c.stable.Replicas {
		return false
	}
	ok := true
	for _, rs := range c.older {
		ok = ok && p.Older[rs.Name] == rs.Replicas
	}
	c.each(func(rs *ReplicaSetState) { ok = ok && rs.Available == rs.Replicas })
	return ok
}

// olderHaveSpec reports whether any older ReplicaSet still has pods in its spec.
func (c *cluster) olderHaveSpec() bool {
	for _, rs := range c.older {
		if rs.Replicas > 0 {
			return true
		}
	}
	return false
}

func (c *cluster) totals() (spec, available int32) {
	c.each(func(rs *ReplicaSetState) {
		spec += rs.Replicas
		available += rs.Available
	})
	return spec, available
}

func (c *cluster) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "canary %d/%d stable %d/%d", c.canary.Replicas, c.canary.Available, c.stable.Replicas, c.stable.Available)
	for _, rs := range c.older {
		fmt.Fprintf(&b, " %s %d/%d", rs.Name, rs.Replicas, rs.Available)
	}
	return b.String()
}
