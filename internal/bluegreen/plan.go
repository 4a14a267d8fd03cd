// Package bluegreen decides, from the observed state of a blue-green Rollout,
// what each ReplicaSet's size should be, what the active and preview Services
// select, and when to pause, promote and scale down. It does no I/O: the
// rollout reconciler gathers the inputs and applies the plan.
package bluegreen

import (
	"sort"
	"time"
)

// ReplicaSet is the part of a ReplicaSet the decisions depend on.
type ReplicaSet struct {
	Hash      string
	Revision  int64
	Replicas  int32 // spec.replicas
	Available int32
	// ScaleDownAt is the scale-down-deadline annotation, if any.
	ScaleDownAt *time.Time
}

// Observed is everything the planner reads.
type Observed struct {
	// Replicas is spec.replicas; PreviewReplicas is previewReplicaCount
	// defaulted to Replicas.
	Replicas, PreviewReplicas int32
	// New is the ReplicaSet of the current pod template.
	New ReplicaSet
	// Stable is status.stableRS's ReplicaSet, nil before the first promotion
	// or when it no longer exists. Without a recorded stableRS it is the
	// ReplicaSet the active Service selects, and StableRecorded is false.
	Stable         *ReplicaSet
	StableRecorded bool
	// Others are every other ReplicaSet of the Rollout.
	Others []ReplicaSet

	// ActiveSelector and PreviewSelector are the pod-template hashes the
	// live Services select ("" when a Service has no hash selector yet).
	ActiveSelector, PreviewSelector string
	HasPreview                      bool
	// NewReadyEndpoints counts the new ReplicaSet's pods that are ready
	// endpoints of the preview Service (or ready pods without a preview
	// Service): the active switch waits for them, not only for the
	// ReplicaSet's status.
	NewReadyEndpoints int32
	// ActiveEndpoints counts, per ReplicaSet hash, the pods the active
	// Service's EndpointSlices list as ready: where production traffic
	// goes now. The slices follow a switch of the Service's selector only
	// as fast as the endpoint controller does, seconds late when it lost
	// its watch. Read for the ReplicaSets a plan retires (Retiring); nil
	// before.
	ActiveEndpoints map[string]int32

	AutoPromotionEnabled bool
	AutoPromotionSeconds int32
	ScaleDownDelay       time.Duration
	// AbortScaleDownDelay of 0 keeps an aborted new ReplicaSet running.
	AbortScaleDownDelay time.Duration
	// ScaleDownRevisionLimit caps how many old ReplicaSets wait out their
	// delay; nil keeps them all.
	ScaleDownRevisionLimit *int32

	// PauseStart is the BlueGreenPause pause condition's start, if present.
	PauseStart      *time.Time
	ControllerPause bool
	PromoteFull     bool
	// WithinWindow is a rollback within spec.rollbackWindow; FastRollback
	// a return to a revision still inside its scale-down delay. Both skip
	// the pause, as a full promotion does.
	WithinWindow, FastRollback bool
	Abort                      bool
	SpecPaused                 bool
	Now                        time.Time

	// PrePromotionAnalysis gates the active switch, PostPromotionAnalysis
	// the promotion (stableRS) after it.
	PrePromotionAnalysis, PostPromotionAnalysis Gate
	// ScaleDownDelayExplicit: spec.scaleDownDelaySeconds is set. Without
	// it, a post-promotion analysis keeps the previous ReplicaSet at full
	// size until the analysis succeeds.
	ScaleDownDelayExplicit bool
	// InconclusivePause: an analysis ended Inconclusive and a person has
	// not decided yet: nothing switches, promotes or scales down.
	InconclusivePause bool
}

// Gate is the state of an analysis a step of the update waits on.
type Gate int

// Gates.
const (
	// GateNone: no analysis gates this step (none configured, or skipped
	// by a full promotion or a rollback).
	GateNone Gate = iota
	// GatePending: the analysis has not succeeded yet (its run is not
	// created yet, or still measures).
	GatePending
	// GatePassed: the analysis succeeded.
	GatePassed
)

// Plan is what the reconciler should make true. Maps are keyed by hash and
// list only ReplicaSets whose state must be set.
type Plan struct {
	Scale map[string]int32
	// ScaleDownAt annotates ReplicaSets with a scale-down deadline;
	// ClearScaleDownAt removes it (a retried or re-promoted revision).
	ScaleDownAt      map[string]time.Time
	ClearScaleDownAt []string
	// ActiveSelector and PreviewSelector are the hashes the Services must
	// select; "" leaves a Service as it is.
	ActiveSelector, PreviewSelector string
	// AddPause adds the BlueGreenPause condition; ClearPause removes pause
	// conditions and controllerPause.
	AddPause, ClearPause bool
	// Promoted makes the new ReplicaSet the stable one.
	Promoted bool
	// Waiting says what the rollout waits for (for logs and tests).
	Waiting string
	// RequeueAfter is when time alone changes the plan (a delay ends).
	RequeueAfter time.Duration
}

// Reasons a plan waits.
const (
	WaitNewAvailable    = "new ReplicaSet to become available"
	WaitNewEndpoints    = "new pods to be ready endpoints"
	WaitPromotion       = "promotion"
	WaitAutoPromotion   = "auto-promotion delay"
	WaitManualPause     = "spec.paused to be cleared"
	WaitAbortScaleDown  = "abort scale-down delay"
	WaitPrePromotion    = "pre-promotion analysis"
	WaitPostPromotion   = "post-promotion analysis"
	WaitInconclusive    = "a person to decide on an inconclusive analysis"
	WaitStableAvailable = "stable ReplicaSet to be available again"
	WaitActiveEndpoints = "the active Service's endpoints to leave the pods to scale down"
	endpointRecheckTime = 500 * time.Millisecond
)

// Decide computes the plan for one reconcile.
func Decide(o Observed) Plan {
	p := Plan{Scale: map[string]int32{}, ScaleDownAt: map[string]time.Time{}}
	// "First deploy" is decided from the recorded stable revision (or the
	// ReplicaSet the active Service runs), never from a missing hash in the
	// active Service's selector: a Service re-applied without it must not
	// let a pending revision skip its pause.
	switch {
	case o.Stable == nil:
		// Nothing serves: go live once the new pods are ready endpoints.
		p.goLive(o)
		p.Promoted = p.ActiveSelector != ""
	case o.Stable.Hash == o.New.Hash:
		p.steady(o)
	case o.ActiveSelector == o.New.Hash && o.Abort:
		// The switch happened, the promotion is not recorded, and an abort
		// came in between: honour it, back to the stable pods.
		p.abort(o)
	case o.ActiveSelector == o.New.Hash:
		// Switched, not yet promoted: a post-promotion analysis holds the
		// promotion, or the status did not record it (e.g. the controller
		// stopped in between).
		p.afterSwitch(o)
	case o.Abort:
		p.abort(o)
	default:
		p.update(o)
	}
	p.scaleDownOthers(o)
	p.holdServing(o)
	return p
}

// Retiring lists, by hash, the ReplicaSets the plan scales down that the
// active Service does not select once the plan is applied: their pods may
// still be its endpoints.
func (p Plan) Retiring(o Observed) []string {
	selected := p.ActiveSelector
	if selected == "" {
		selected = o.ActiveSelector
	}
	var out []string
	for h, n := range p.Scale {
		if rs, ok := o.replicaSet(h); ok && n < rs.Replicas && h != selected {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

// holdServing keeps a retiring ReplicaSet at its size while the active
// Service's endpoints still list its pods as ready: its delay may be over,
// but the endpoint controller has not caught up with the switch, and
// scaling it down now would take pods out from under production traffic.
func (p *Plan) holdServing(o Observed) {
	for _, h := range p.Retiring(o) {
		if o.ActiveEndpoints[h] == 0 {
			continue
		}
		rs, _ := o.replicaSet(h)
		p.Scale[h] = rs.Replicas
		if p.Waiting == "" {
			p.Waiting = WaitActiveEndpoints
		}
		p.requeue(endpointRecheckTime)
	}
}

// replicaSet finds the observed ReplicaSet with hash h.
func (o Observed) replicaSet(h string) (ReplicaSet, bool) {
	if o.New.Hash == h {
		return o.New, true
	}
	if o.Stable != nil && o.Stable.Hash == h {
		return *o.Stable, true
	}
	for _, rs := range o.Others {
		if rs.Hash == h {
			return rs, true
		}
	}
	return ReplicaSet{}, false
}

// goLive points the Services at the new revision, which is (or becomes)
// the stable one, once all its pods are available and ready endpoints. No
// pause: nothing else was serving.
func (p *Plan) goLive(o Observed) {
	p.Scale[o.New.Hash] = o.Replicas
	if o.New.ScaleDownAt != nil {
		p.ClearScaleDownAt = append(p.ClearScaleDownAt, o.New.Hash)
	}
	p.ClearPause = o.ControllerPause || o.PauseStart != nil
	if o.ActiveSelector == o.New.Hash && (!o.HasPreview || o.PreviewSelector == o.New.Hash) {
		return
	}
	if o.New.Available < o.Replicas || o.New.Replicas < o.Replicas {
		p.Waiting = WaitNewAvailable
		return
	}
	if o.ActiveSelector != o.New.Hash && o.NewReadyEndpoints < o.Replicas {
		p.Waiting = WaitNewEndpoints
		p.requeue(endpointRecheckTime)
		return
	}
	p.ActiveSelector = o.New.Hash
	if o.HasPreview {
		p.PreviewSelector = o.New.Hash
	}
}

// steady: the new revision is the stable one. The Services are put (back)
// on it if they are not, with the same checks as any switch.
func (p *Plan) steady(o Observed) {
	p.goLive(o)
	if !o.StableRecorded && p.Waiting == "" {
		// The Services were switched but the status write recording it was
		// lost (a conflict, a crash): record the promotion now.
		p.Promoted = true
	}
}

func (p *Plan) abort(o Observed) {
	// Production stays on (or returns to) the stable pods.
	p.Scale[o.Stable.Hash] = o.Replicas
	if o.ActiveSelector == o.New.Hash && (o.Stable.Available < o.Replicas || o.Stable.Replicas < o.Replicas) {
		// Switched already (a post-promotion analysis failed) and the
		// stable pods were scaled down meanwhile: the new pods keep
		// serving until the stable ones are back.
		p.ClearPause = o.ControllerPause || o.PauseStart != nil
		p.Waiting = WaitStableAvailable
		return
	}
	p.ActiveSelector = o.Stable.Hash
	if o.HasPreview && o.Stable.Available > 0 {
		p.PreviewSelector = o.Stable.Hash
	}
	p.ClearPause = o.ControllerPause || o.PauseStart != nil
	if o.AbortScaleDownDelay == 0 || o.New.Replicas == 0 {
		return
	}
	if o.New.ScaleDownAt == nil {
		p.ScaleDownAt[o.New.Hash] = o.Now.Add(o.AbortScaleDownDelay)
		p.requeue(o.AbortScaleDownDelay)
		p.Waiting = WaitAbortScaleDown
		return
	}
	if !o.Now.Before(*o.New.ScaleDownAt) {
		p.Scale[o.New.Hash] = 0
		return
	}
	p.requeue(o.New.ScaleDownAt.Sub(o.Now))
	p.Waiting = WaitAbortScaleDown
}

func (p *Plan) update(o Observed) {
	// Production keeps its full size until the switch, and the active
	// Service stays on it (or goes back to it, if someone re-applied the
	// Service without the hash selector).
	p.Scale[o.Stable.Hash] = o.Replicas
	if o.Stable.ScaleDownAt != nil {
		p.ClearScaleDownAt = append(p.ClearScaleDownAt, o.Stable.Hash)
	}
	if o.ActiveSelector == "" && o.Stable.Available > 0 {
		// Without the hash the Service would send traffic to the new pods
		// too, before any pause or check.
		p.ActiveSelector = o.Stable.Hash
	}
	if o.SpecPaused {
		p.Waiting = WaitManualPause
		return
	}
	if o.New.ScaleDownAt != nil {
		// A retried abort: the new ReplicaSet is wanted again.
		p.ClearScaleDownAt = append(p.ClearScaleDownAt, o.New.Hash)
	}

	promote := o.PromoteFull || o.WithinWindow || o.FastRollback
	target := o.PreviewReplicas
	if promote {
		target = o.Replicas
	}
	p.Scale[o.New.Hash] = max(target, o.New.Replicas)
	if o.New.Available < target || o.New.Replicas < target {
		p.Scale[o.New.Hash] = target
		p.Waiting = WaitNewAvailable
		return
	}
	// The preview Service moves only to pods that are ready.
	if o.HasPreview && o.PreviewSelector != o.New.Hash && o.New.Available > 0 {
		p.PreviewSelector = o.New.Hash
	}

	if !promote {
		switch {
		case o.PrePromotionAnalysis == GatePending:
			// The pause (and its autoPromotionSeconds clock) starts only
			// once the analysis succeeded.
			p.Waiting = WaitPrePromotion
			return
		case o.InconclusivePause:
			p.Waiting = WaitInconclusive
			return
		}
		var wait bool
		promote, wait = o.promotionDue(p)
		if wait {
			return
		}
	}
	if !promote {
		return
	}

	p.Scale[o.New.Hash] = o.Replicas
	if o.New.Available < o.Replicas || o.New.Replicas < o.Replicas {
		p.Waiting = WaitNewAvailable
		return
	}
	if o.NewReadyEndpoints < o.Replicas {
		p.Waiting = WaitNewEndpoints
		p.requeue(endpointRecheckTime)
		return
	}
	p.ActiveSelector = o.New.Hash
	p.ClearPause = true
	if o.PostPromotionAnalysis != GateNone {
		// Promoted (stableRS) only once the post-promotion analysis
		// succeeds; the previous pods stay for a rollback meanwhile.
		p.Waiting = WaitPostPromotion
		p.keepPreviousDuringAnalysis(o)
		return
	}
	p.Promoted = true
	p.scaleDownAfterDelay(o, *o.Stable)
}

// afterSwitch: the active Service selects the new pods and the promotion
// is not recorded. It is recorded now, unless a post-promotion analysis has
// not passed (or ended Inconclusive and waits for a person).
func (p *Plan) afterSwitch(o Observed) {
	p.Scale[o.New.Hash] = o.Replicas
	switch {
	case o.InconclusivePause:
		p.Waiting = WaitInconclusive
		p.keepPreviousDuringAnalysis(o)
	case o.PostPromotionAnalysis == GatePending:
		p.Waiting = WaitPostPromotion
		p.keepPreviousDuringAnalysis(o)
	default:
		p.Promoted, p.ClearPause = true, true
		p.scaleDownAfterDelay(o, *o.Stable)
	}
}

// keepPreviousDuringAnalysis decides the previous production ReplicaSet's
// fate while a post-promotion analysis runs: kept at full size (a failure
// switches back to it), unless spec.scaleDownDelaySeconds is set, whose
// delay then runs from the switch as in the reference.
func (p *Plan) keepPreviousDuringAnalysis(o Observed) {
	rs := *o.Stable
	if !o.ScaleDownDelayExplicit || rs.Replicas == 0 {
		return
	}
	if rs.ScaleDownAt == nil {
		p.scaleDownAfterDelay(o, rs)
		return
	}
	if left := rs.ScaleDownAt.Sub(o.Now); left > 0 {
		p.requeue(left)
		return
	}
	p.Scale[rs.Hash] = 0
}

// PrePromotionDue reports whether a pre-promotion analysis starts now: an
// update is in flight, the active Service selects the previous pods, and
// the new ReplicaSet is at its preview size, every pod available, with the
// preview Service (if any) on it.
func PrePromotionDue(o Observed) bool {
	return o.Stable != nil && o.Stable.Hash != o.New.Hash &&
		o.ActiveSelector != "" && o.ActiveSelector != o.New.Hash &&
		o.New.Replicas >= o.PreviewReplicas && o.New.Available >= o.PreviewReplicas &&
		(!o.HasPreview || o.PreviewSelector == o.New.Hash)
}

// PostPromotionDue reports whether a post-promotion analysis starts now:
// the active Service was switched to the new pods, which are all
// available, and the promotion is not recorded yet.
func PostPromotionDue(o Observed) bool {
	return o.Stable != nil && o.Stable.Hash != o.New.Hash && o.ActiveSelector == o.New.Hash &&
		o.New.Replicas >= o.Replicas && o.New.Available >= o.Replicas
}

// promotionDue applies the pause rules once the preview is fully available.
// It reports whether to promote now, and whether the plan must wait.
func (o Observed) promotionDue(p *Plan) (promote, wait bool) {
	paused := o.PauseStart != nil
	// A client promotes by clearing the pause conditions; controllerPause
	// remembers that the controller had paused.
	resumed := o.ControllerPause && !paused
	switch {
	case resumed:
		return true, false
	case !o.AutoPromotionEnabled:
		if !paused {
			p.AddPause = true
		}
		p.Waiting = WaitPromotion
		return false, true
	case o.AutoPromotionSeconds > 0:
		delay := time.Duration(o.AutoPromotionSeconds) * time.Second
		if !paused {
			p.AddPause = true
			p.requeue(delay)
			p.Waiting = WaitAutoPromotion
			return false, true
		}
		if left := o.PauseStart.Add(delay).Sub(o.Now); left > 0 {
			p.requeue(left)
			p.Waiting = WaitAutoPromotion
			return false, true
		}
		return true, false
	default:
		return true, false
	}
}

// scaleDownAfterDelay gives the previous production ReplicaSet its deadline.
func (p *Plan) scaleDownAfterDelay(o Observed, rs ReplicaSet) {
	if rs.Replicas == 0 || rs.ScaleDownAt != nil {
		return
	}
	p.ScaleDownAt[rs.Hash] = o.Now.Add(o.ScaleDownDelay)
	p.requeue(o.ScaleDownDelay)
}

// scaleDownOthers shrinks ReplicaSets that serve neither the active Service
// nor the update in flight: immediately when they never served production or
// exceed the revision limit, after their deadline otherwise. The ReplicaSet
// the live active Service selects is never scaled down here.
func (p *Plan) scaleDownOthers(o Observed) {
	others := append([]ReplicaSet(nil), o.Others...)
	sort.Slice(others, func(i, j int) bool { return others[i].Revision > others[j].Revision })
	delayed := int32(0)
	for _, rs := range others {
		if rs.Hash == o.ActiveSelector || rs.Hash == p.ActiveSelector || rs.Replicas == 0 {
			continue
		}
		if o.HasPreview && rs.Hash == o.PreviewSelector && p.PreviewSelector == "" {
			// The preview Service shows pods about to go: move it back to
			// stable (which has ready pods) first.
			if o.Stable != nil && o.Stable.Hash != o.New.Hash && o.Stable.Available > 0 {
				p.PreviewSelector = o.Stable.Hash
			}
		}
		deadline, pending := p.ScaleDownAt[rs.Hash]
		if !pending && rs.ScaleDownAt != nil {
			deadline, pending = *rs.ScaleDownAt, true
		}
		withinLimit := o.ScaleDownRevisionLimit == nil || delayed < *o.ScaleDownRevisionLimit
		if pending && withinLimit && o.Now.Before(deadline) {
			delayed++
			p.requeue(deadline.Sub(o.Now))
			continue
		}
		p.Scale[rs.Hash] = 0
		delete(p.ScaleDownAt, rs.Hash)
	}
}

func (p *Plan) requeue(d time.Duration) {
	if d <= 0 {
		return
	}
	if p.RequeueAfter == 0 || d < p.RequeueAfter {
		p.RequeueAfter = d
	}
}
