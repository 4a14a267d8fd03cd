package replicas

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// ReplicaSetState is what the planner needs to know about one ReplicaSet of the Rollout.
type ReplicaSetState struct {
	// Name identifies the ReplicaSet; the canary and stable are told apart from each other by
	// it, and Plan.Older is keyed by it.
	Name string
	// Replicas is spec.replicas: what the ReplicaSet controller is working towards.
	Replicas int32
	// Available is status.availableReplicas. Scale-downs are paced by it so the Rollout keeps
	// spec.replicas - maxUnavailable pods serving.
	Available int32
	// Created is status.replicas: pods that exist, ready or not. Only StepComplete reads it, for
	// the stable ReplicaSet, because Argo only waits for the stable's pods to exist (or be gone),
	// not to be available.
	Created int32
}

// Input is the observed state of a basic-canary Rollout at one reconcile.
type Input struct {
	// Replicas is the Rollout's spec.replicas, already defaulted (Argo defaults nil to 1).
	Replicas int32
	// Weight is the canary percentage the current step asks for, 0..100. Use EffectiveWeight to
	// derive it from the steps and status: it is 0 while aborted (which scales the canary back
	// down and the stable back to full, within maxSurge/maxUnavailable) and 100 once all steps
	// are done or on a full promotion.
	Weight int32
	// MaxSurge and MaxUnavailable are strategy.canary.maxSurge and maxUnavailable; nil means
	// unset (25%).
	MaxSurge, MaxUnavailable *intstr.IntOrString
	// Stable is the ReplicaSet status.stableRS names. When it is nil or the same ReplicaSet as
	// Canary the Rollout is not stepping (first deploy, or a rollback to the stable template)
	// and the canary is simply taken to Replicas.
	Stable *ReplicaSetState
	// Canary is the ReplicaSet of the current pod template; nil if not created yet.
	Canary *ReplicaSetState
	// Older are the Rollout's other ReplicaSets, e.g. an unfinished revision abandoned for a newer
	// one, in ascending revision order (oldest first). They must all go to 0: without a traffic
	// router every running pod takes traffic. Scaled-down ones may be included; they cost nothing.
	Older []ReplicaSetState
	// Threshold is strategy.canary.replicaProgressThreshold: when set, a step completes once
	// enough of the canary's pods are available rather than all of them.
	Threshold *Threshold
}

// Threshold is replicaProgressThreshold: Percent reads Value as a percentage of the desired
// pods, any other type as a pod count (the reference's docs say Pod, its code Pods).
type Threshold struct {
	Percent bool
	Value   int32
}

// Met reports whether available pods of desired meet the threshold. A nil threshold is met
// only when every desired pod is available; a percentage of nothing is met.
func (t *Threshold) Met(available, desired int32) bool {
	switch {
	case t == nil:
		return available >= desired
	case t.Percent:
		return desired == 0 || int64(available)*100 >= int64(t.Value)*int64(desired)
	default:
		return available >= t.Value
	}
}

// Plan is the spec.replicas each ReplicaSet should have after this reconcile.
type Plan struct {
	// Canary is for Input.Canary; 0 if there is none (creating it is the caller's business).
	Canary int32
	// Stable is for Input.Stable. When Stable is the same ReplicaSet as Canary it repeats Canary,
	// so applying both is harmless; when there is no stable ReplicaSet it is 0.
	Stable int32
	// Older has an entry for every Input.Older ReplicaSet, changed or not.
	Older map[string]int32
}

// bounds are the Rollout-wide limits every plan respects.
type bounds struct {
	surge        int32 // resolved maxSurge: how far above Replicas the total spec may go
	maxTotal     int32 // Replicas + surge
	minAvailable int32 // Replicas - resolved maxUnavailable (capped at Replicas)
}

// Compute decides the next spec.replicas for the canary, stable and older ReplicaSets of a basic
// canary, the way Argo Rollouts' CalculateReplicaCountsForBasicCanary (canary and stable) and
// scaleDownOldReplicaSetsForCanary (older) do:
//
//  1. Targets come from DesiredCounts(Replicas, Weight, surge).
//  2. Scale-up is paced by spec: the total spec.replicas of all ReplicaSets may reach
//     Replicas+maxSurge. The stable is topped up first, then the canary, so availability is
//     restored before more new pods are added.
//  3. While older ReplicaSets still have pods in their spec, the canary and stable are not
//     scaled down; older ReplicaSets first lose their unavailable pods, then as many available
//     pods as keep the Rollout at Replicas-maxUnavailable available, newest revision first.
//  4. Otherwise scale-down is paced by availability: the side that is shrinking (stable while the
//     canary grows, canary while it shrinks, e.g. on abort) loses as many pods as keep
//     Replicas-maxUnavailable available. The growing side counts with its available pods, the
//     shrinking side with its spec, so that its own pods that never become ready (a
//     crash-looping stable) cannot stall the rollout. Finally the pair is trimmed back under
//     Replicas+maxSurge without giving up availability.
//
// Argo applies these results one group per reconcile (stable, then canary, then older) and
// requeues; the plan is the same numbers computed from one observation. Applying it all at once
// keeps the same bounds, because older ReplicaSets only shrink in plans where the canary and
// stable do not; FuzzPlanInvariants checks this on whole plans.
//
// Errors are for inputs validation would reject: negative counts, a weight outside 0..100,
// unparsable fenceposts, duplicate ReplicaSet names.
func Compute(in Input) (Plan, error) {
	b, err := prepare(in)
	if err != nil {
		return Plan{}, err
	}
	canary, stable := canaryAndStable(in, b)
	p := Plan{Canary: canary, Stable: stable, Older: olderReplicas(in, b)}
	if !separateStable(in) && in.Stable != nil {
		p.Stable = p.Canary
	}
	return p, nil
}

// StepComplete reports whether the current step's replica counts have been reached, i.e.
// Argo's AtDesiredReplicaCountsForCanary for a basic canary: the planner wants no change to the
// canary and stable, every canary pod is available, every stable pod exists (the stable's
// readiness is not waited for), and no older ReplicaSet has available pods left serving traffic.
//
// It compares against what Compute would do now, not against DesiredCounts: a plan that can no
// longer move is, for Argo, a completed step. So an older ReplicaSet whose pods are all unready
// does not hold a step back even while it still blocks the canary and stable from moving (see
// FuzzPlanInvariants); reconciling in the next step finishes the job. With no separate stable
// ReplicaSet the Rollout is not stepping and this is false (except for the degenerate all-zero
// Rollout, as in Argo).
func StepComplete(in Input) (bool, error) {
	b, err := prepare(in)
	if err != nil {
		return false, err
	}
	canary, stable := canaryAndStable(in, b)
	if in.Canary == nil || canary != in.Canary.Replicas {
		return false, nil
	}
	if canary != in.Canary.Available && (in.Threshold == nil || !in.Threshold.Met(in.Canary.Available, canary)) {
		return false, nil
	}
	// Argo checks the stable against the raw count, which is 0 when the stable is the canary.
	if in.Stable == nil || stable != in.Stable.Replicas || stable != in.Stable.Created {
		return false, nil
	}
	for _, rs := range in.Older {
		if rs.Available != 0 {
			return false, nil
		}
	}
	return true, nil
}

// prepare validates in and resolves the Rollout-wide bounds.
func prepare(in Input) (bounds, error) {
	if err := validate(in); err != nil {
		return bounds{}, err
	}
	surge, unavailable, err := ResolveFenceposts(in.MaxSurge, in.MaxUnavailable, in.Replicas)
	if err != nil {
		return bounds{}, err
	}
	// As Argo's MaxUnavailable: a Rollout cannot be more unavailable than its size, and an empty
	// one has nothing to lose (so the both-zero fallback of 1 does not apply).
	unavailable = min(unavailable, in.Replicas)
	return bounds{surge: surge, maxTotal: in.Replicas + surge, minAvailable: in.Replicas - unavailable}, nil
}

func validate(in Input) error {
	if in.Replicas < 0 {
		return fmt.Errorf("spec.replicas %d is negative", in.Replicas)
	}
	if in.Weight < 0 || in.Weight > 100 {
		return fmt.Errorf("canary weight %d is outside 0..100", in.Weight)
	}
	seen := make(map[string]bool, len(in.Older)+2)
	check := func(role string, rs *ReplicaSetState) error {
		if rs.Replicas < 0 || rs.Available < 0 || rs.Created < 0 {
			return fmt.Errorf("%s ReplicaSet %q has negative counts (spec %d, available %d, created %d)",
				role, rs.Name, rs.Replicas, rs.Available, rs.Created)
		}
		if seen[rs.Name] {
			return fmt.Errorf("%s ReplicaSet %q is listed twice", role, rs.Name)
		}
		seen[rs.Name] = true
		return nil
	}
	var errs []error
	if in.Canary != nil {
		errs = append(errs, check("canary", in.Canary))
	}
	// The stable may legitimately be the canary (a Rollout back on its stable template).
	if in.Stable != nil && (in.Canary == nil || in.Stable.Name != in.Canary.Name) {
		errs = append(errs, check("stable", in.Stable))
	}
	for i := range in.Older {
		errs = append(errs, check("older", &in.Older[i]))
	}
	return errors.Join(errs...)
}

// separateStable reports whether there is a stable ReplicaSet to step away from. Without one
// (first deploy, or the template is back to the stable's) Argo skips the steps and takes the
// canary straight to full size.
func separateStable(in Input) bool {
	return in.Stable != nil && (in.Canary == nil || in.Canary.Name != in.Stable.Name)
}

func specOf(rs *ReplicaSetState) int32 {
	if rs == nil {
		return 0
	}
	return rs.Replicas
}

// occupiedBy is how many pods rs has or will have: its spec, or the pods
// that still exist if it was just scaled down.
func occupiedBy(rs *ReplicaSetState) int32 {
	if rs == nil {
		return 0
	}
	return max(rs.Replicas, rs.Created)
}

func olderOccupied(in Input) int32 {
	var n int32
	for i := range in.Older {
		n += occupiedBy(&in.Older[i])
	}
	return n
}

func olderSpec(in Input) int32 {
	var n int32
	for _, rs := range in.Older {
		n += rs.Replicas
	}
	return n
}

// canaryAndStable returns the next spec.replicas of the canary and stable. stable is 0 when
// there is no separate stable ReplicaSet, as in Argo; Compute hides that from callers.
func canaryAndStable(in Input, b bounds) (canary, stable int32) {
	wantCanary, wantStable := DesiredCounts(in.Replicas, in.Weight, b.surge)
	separate := separateStable(in)
	if !separate {
		wantCanary, wantStable = in.Replicas, 0
	}

	canary = specOf(in.Canary)
	occupied := olderOccupied(in) + occupiedBy(in.Canary)
	if separate {
		stable = in.Stable.Replicas
		occupied += occupiedBy(in.Stable)
	}

	// Grow into whatever room maxSurge leaves, stable first. A ReplicaSet
	// just scaled down still has its pods until its controller removes
	// them: they take room too, or pods would overshoot maxSurge while a
	// busy ReplicaSet controller catches up (the reference counts spec
	// only; with Created = spec, as in its inputs, this is the same).
	room := b.maxTotal - occupied
	if separate && stable < wantStable && room > 0 {
		grow := min(wantStable-stable, room)
		stable += grow
		room -= grow
	}
	if in.Canary != nil && canary < wantCanary && room > 0 {
		canary += min(wantCanary-canary, room)
	}

	// Older ReplicaSets are drained (by olderReplicas) before the canary or stable may shrink.
	if olderSpec(in) > 0 {
		return canary, stable
	}

	// growing: the canary is heading up (or is not there yet), so the stable is the side that
	// shrinks; otherwise the canary shrinks (lower weight, abort). The shrinking side is counted
	// at its spec, the other at what is actually available. Argo counts Input.Stable here even
	// when it is the canary itself; kept for identical results.
	growing := in.Canary == nil || wantCanary >= in.Canary.Replicas
	counted := countForScaleDown(in.Canary, !growing) + countForScaleDown(in.Stable, growing)
	if counted <= b.minAvailable {
		return canary, stable
	}
	excess := counted - b.minAvailable

	switch {
	case !growing:
		canary = shrinkToward(in.Canary, wantCanary, excess, canary)
		canary, stable = trimToSurge(in.Canary, in.Stable, canary, stable, b)
	case separate:
		stable = shrinkToward(in.Stable, wantStable, excess, stable)
		stable, canary = trimToSurge(in.Stable, in.Canary, stable, canary, b)
	}
	return canary, stable
}

// countForScaleDown is how many of rs's pods the scale-down budget may count on. A ReplicaSet
// already above its spec in availability is counted at its spec, since the extra pods are about
// to go. The shrinking side is counted at its spec (ignoreReadiness) so its own unready pods do
// not block removing them; otherwise only available pods count.
func countForScaleDown(rs *ReplicaSetState, ignoreReadiness bool) int32 {
	switch {
	case rs == nil:
		return 0
	case rs.Replicas < rs.Available, ignoreReadiness:
		return rs.Replicas
	default:
		return rs.Available
	}
}

// shrinkToward lowers rs, if it is above want, by up to excess pods but not below want. next is
// returned unchanged when rs is not above want.
func shrinkToward(rs *ReplicaSetState, want, excess, next int32) int32 {
	if rs == nil || rs.Replicas <= want {
		return next
	}
	return max(want, rs.Replicas-excess)
}

// trimToSurge brings the pair back under b.maxTotal after a shrink decision, and returns the new
// (shrinking, other) counts. shrinking is the side that was just lowered; other is the side
// whose availability the budget relied on.
//
// The surplus comes off other first, but only down to what keeps b.minAvailable pods
// available; whatever surplus remains comes off shrinking. This is Argo's
// adjustReplicaWithinLimits, step for step, including its use of the live availability of both
// ReplicaSets.
func trimToSurge(shrinkRS, otherRS *ReplicaSetState, shrinking, other int32, b bounds) (int32, int32) {
	if otherRS == nil {
		return shrinking, other
	}
	over := max(0, shrinking+other-b.maxTotal)
	other -= over

	var available int32
	if shrinkRS != nil {
		available += min(shrinkRS.Available, shrinking)
	}
	available += min(otherRS.Available, other)
	// Give back to other the available pods the trim cost it, as far as needed to stay at
	// minAvailable; the surge surplus that creates is taken from the shrinking side instead.
	lostAvailable := max(0, otherRS.Available-other)
	shortfall := max(0, b.minAvailable-available)
	other += min(lostAvailable, shortfall)

	shrinking -= max(0, shrinking+other-b.maxTotal)
	return shrinking, other
}

// olderReplicas plans the older ReplicaSets, as Argo's scaleDownOldReplicaSetsForCanary does for
// a basic canary:
//
//  1. Every older ReplicaSet with unavailable pods is cut to its available count. Those pods
//     serve nothing, and waiting for them would stall the rollout (kubernetes#16737).
//  2. Then available pods are removed, newest revision first, as long as the Rollout keeps
//     Replicas-maxUnavailable available pods across all its ReplicaSets.
//
// A ReplicaSet reporting more available pods than its spec (briefly true after a scale-down)
// makes Argo give up on older ReplicaSets for this reconcile after the cleanups already done
// before it in the list; the plan mirrors that by leaving it and all later work untouched.
func olderReplicas(in Input, b bounds) map[string]int32 {
	out := make(map[string]int32, len(in.Older))
	for _, rs := range in.Older {
		out[rs.Name] = rs.Replicas
	}

	for _, rs := range in.Older {
		if rs.Replicas == 0 || rs.Replicas == rs.Available {
			continue
		}
		if rs.Available > rs.Replicas {
			return out
		}
		out[rs.Name] = rs.Available
	}

	budget := availableTotal(in) - b.minAvailable
	for i := len(in.Older) - 1; i >= 0 && budget > 0; i-- {
		name := in.Older[i].Name
		n := out[name]
		if n == 0 {
			continue
		}
		keep := max(0, n-budget)
		out[name] = keep
		budget -= n - keep
	}
	return out
}

// availableTotal counts the available pods of every ReplicaSet of the Rollout once.
func availableTotal(in Input) int32 {
	var n int32
	if in.Canary != nil {
		n += in.Canary.Available
	}
	if separateStable(in) {
		n += in.Stable.Available
	}
	for _, rs := range in.Older {
		n += rs.Available
	}
	return n
}
