package trafficrouting

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Router is one traffic router serving one Rollout (built per pass with
// the Rollout as read). Every method finishes all the objects it manages
// and returns every error; none sleeps or retries beyond a write conflict.
type Router interface {
	// Type names the router in logs, events and errors ("GatewayAPI",
	// "ALB", "Nginx", "Istio").
	Type() string
	// UpdateHash points hash-labelled destinations (Istio DestinationRule
	// subsets) at the canary and stable ReplicaSets. Routers that select by
	// Service do nothing.
	UpdateHash(ctx context.Context, canaryHash, stableHash string, additional []v1alpha1.WeightDestination) error
	// SetWeight writes the split into the router's objects.
	SetWeight(ctx context.Context, split Split) error
	// SetHeaderRoute creates, updates or (without match) removes a header route.
	SetHeaderRoute(ctx context.Context, route *v1alpha1.SetHeaderRoute) error
	// SetMirrorRoute creates, updates or (without match) removes a mirror route.
	SetMirrorRoute(ctx context.Context, route *v1alpha1.SetMirrorRoute) error
	// VerifyWeight reports whether the data plane applies the split; nil
	// when the router cannot tell.
	VerifyWeight(ctx context.Context, split Split) (*bool, error)
	// RemoveManagedRoutes removes every header and mirror route the Rollout
	// created (trafficRouting.managedRoutes and every route a step names).
	RemoveManagedRoutes(ctx context.Context) error
}

// HashReferencer is implemented by routers whose objects select
// ReplicaSets by pod-template hash (Istio DestinationRule subsets): a
// ReplicaSet they still reference must not be scaled down.
type HashReferencer interface {
	ReferencedHashes(ctx context.Context) ([]string, error)
}

// Target is what a router needs to know about the Rollout it serves.
type Target struct {
	// Rollout is the Rollout as read this pass (spec, status, identity).
	Rollout *v1alpha1.Rollout
	// CanaryService and StableService are the Services the canary and
	// stable weights go to: spec.canaryService and spec.stableService, or
	// the ping-pong pair in their current roles.
	CanaryService, StableService string
}

// ManagedRouteNames are the names of every header and mirror route the
// Rollout may have created: trafficRouting.managedRoutes and every route a
// setHeaderRoute or setMirrorRoute step names, deduplicated, in that order.
func (t Target) ManagedRouteNames() []string {
	c := t.Rollout.Spec.Strategy.Canary
	if c == nil {
		return nil
	}
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if c.TrafficRouting != nil {
		for _, m := range c.TrafficRouting.ManagedRoutes {
			add(m.Name)
		}
	}
	for _, s := range c.Steps {
		if s.SetHeaderRoute != nil {
			add(s.SetHeaderRoute.Name)
		}
		if s.SetMirrorRoute != nil {
			add(s.SetMirrorRoute.Name)
		}
	}
	return names
}

// Outcome is what running a plan observed.
type Outcome struct {
	// Verified combines the routers' VerifyWeight: false if any said false,
	// true if every router answered true, nil if none could tell.
	Verified *bool
	// VerifyErr joins VerifyWeight errors: they are reported (a Warning
	// event) but do not fail the pass.
	VerifyErr error
}

// Execute runs the plan's actions against each router in turn, in the
// plan's order. The first failing call stops the pass with an error naming
// the router and the call; routers before it keep what they wrote, which is
// safe because every plan is a valid state on its own.
func Execute(ctx context.Context, routers []Router, plan Plan) (Outcome, error) {
	var out Outcome
	if plan.Gated {
		return out, nil
	}
	var verifyErrs []error
	answered, all := 0, true
	for _, r := range routers {
		for _, a := range plan.Actions {
			var err error
			switch a.Kind {
			case ActionRemoveManagedRoutes:
				err = r.RemoveManagedRoutes(ctx)
			case ActionSetHeaderRoute:
				err = r.SetHeaderRoute(ctx, a.HeaderRoute)
			case ActionSetMirrorRoute:
				err = r.SetMirrorRoute(ctx, a.MirrorRoute)
			case ActionUpdateHash:
				err = r.UpdateHash(ctx, a.CanaryHash, a.StableHash, a.Additional)
			case ActionSetWeight:
				err = r.SetWeight(ctx, a.Split)
			case ActionVerifyWeight:
				v, verr := r.VerifyWeight(ctx, a.Split)
				if verr != nil {
					verifyErrs = append(verifyErrs, fmt.Errorf("%s: verify weight %d: %w", r.Type(), a.Split.Canary, verr))
					all = false
					continue
				}
				if v != nil {
					answered++
					if !*v {
						f := false
						out.Verified = &f
					}
				}
			default:
				err = fmt.Errorf("unknown action %q", a.Kind)
			}
			if err != nil {
				return out, fmt.Errorf("%s: %s: %w", r.Type(), a, err)
			}
		}
	}
	if out.Verified == nil && answered > 0 && all {
		t := true
		out.Verified = &t
	}
	out.VerifyErr = errors.Join(verifyErrs...)
	return out, nil
}
