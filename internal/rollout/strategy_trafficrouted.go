package rollout

import (
	"context"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/canary"
	"github.com/switchyard-dev/switchyard/internal/conditions"
	"github.com/switchyard-dev/switchyard/internal/requeue"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/routers"
)

// What the traffic routers read and write (the router packages carry the
// same markers; they are repeated here so the reconciler's permissions can
// be read in one place).
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes;tcproutes;tlsroutes,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices;destinationrules,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;update;patch;delete

// Events of a traffic-routed canary, with the reference's reasons.
const (
	EventTrafficWeightUpdated = "TrafficWeightUpdated"
	EventTrafficRoutingError  = "TrafficRoutingError"
	EventWeightVerifyError    = "WeightVerifyError"
)

const (
	// routingErrorRetry is how soon a pass whose routers failed comes
	// back: router objects are not all watched (Ingresses are not), so
	// fixing one is noticed by looking again.
	routingErrorRetry = 5 * time.Second
	// endpointsRetry is how soon a pass that waits for a Service's
	// endpoints comes back at the latest (a slice changing brings it
	// back sooner).
	endpointsRetry = 250 * time.Millisecond
)

// runTrafficRouted runs a canary whose weight a traffic router carries.
// Each pass, after the step index is adjusted (a new template restarts the
// steps, an abort goes back to the first, a full promotion skips them):
//
//  1. the planner (internal/trafficrouting) decides the weight and the
//     router calls from the status as read;
//  2. each Service is pointed once: those that will carry weight before the
//     routers are written, and only once their new pods are ready
//     endpoints; those that will not, after the routers have moved their
//     traffic away;
//  3. the routers are written, status.canary.weights recorded;
//  4. the ReplicaSets are sized (up before down) from the weights as read,
//     so a ReplicaSet shrinks only after its traffic has left;
//  5. the step machine advances on what has taken effect, and a canary
//     whose routers carry the full weight is promoted.
func (r *Reconciler) runTrafficRouted(ctx context.Context, s *scope) (ctrl.Result, error) {
	spec := s.ro.Spec.Strategy.Canary
	st := &s.ro.Status
	log := ctrl.LoggerFrom(ctx)
	st.Canary.ReplicaWeights = nil
	if spec.PingPong == nil {
		st.Canary.StablePingPong = ""
	}

	r.watchRouterObjects(ctx, s.ro)
	r.resetStepsIfChanged(s)
	stableBefore := st.StableRS
	stableRS, stableMissing := r.canaryStable(ctx, s)
	flipPingPong(s, stableBefore)
	inFlight := st.StableRS != s.newHash
	withinWindow := inFlight && withinRollbackWindow(s)
	if inFlight && (st.PromoteFull || withinWindow) {
		clearPause(s)
		st.Abort, st.AbortedAt = false, nil
		st.CurrentStepIndex = stepsDone(spec)
	}
	exp, err := r.canaryExperiment(ctx, s, stableRS)
	if err != nil {
		return ctrl.Result{}, err
	}
	gate, err := r.canaryAnalysis(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	gate.ExperimentPassed, gate.Held = exp.Passed, gate.Held || exp.Held
	if inFlight && st.Abort {
		st.CurrentStepIndex = stepStart(spec)
		clearPause(s)
	}

	in := routedInput(s)
	in.Additional = experimentDestinations(s)
	if stableMissing {
		// The stable ReplicaSet was deleted and nothing else serves: plan as
		// if it were there at zero. The routers are then held (the stable
		// cannot carry its weight), the canary grows only to what the step
		// asks, and no Service moves; promote --full or undo decides.
		in.ReplicaSets = append(in.ReplicaSets, tr.ReplicaSet{Hash: st.StableRS})
		r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventStableMissing, "Hold",
			"Stable ReplicaSet %s-%s is gone: the update holds at step %d; promote --full or undo to go on", s.ro.Name, st.StableRS, ptr.Deref(st.CurrentStepIndex, 0))
	}
	plan := tr.PlanPass(in)
	d := plan.Desired
	log.V(1).Info("traffic plan", "situation", d.Situation, "weight", d.Weight, "gated", plan.Gated, "actions", fmt.Sprint(plan.Actions))
	canaryHash, stableHash := tr.ServiceTargets(in, d)
	roles := serviceRoles(s)
	rs, err := routers.For(r.routerClient(), tr.Target{Rollout: in.Rollout, CanaryService: roles.canary, StableService: roles.stable}, r.traffic.options)
	if err != nil {
		return r.routingFailed(ctx, s, err)
	}

	// The split the routers hold (status as read) and the one this pass
	// gives them; a gated pass leaves them as they are.
	total := tr.MaxWeight(s.ro)
	prev := tr.Split{Max: total}
	if w := in.Rollout.Status.Canary.Weights; w != nil {
		prev.Canary, prev.Additional = w.Canary.Weight, w.Additional
	}
	next := tr.Split{Canary: d.Weight, Additional: d.Additional, Max: total}
	if plan.Gated {
		next = prev
	}
	var services []routedService
	if !stableMissing {
		services = r.routedServices(s, roles, canaryHash, stableHash, prev, next)
	}

	// Services that will carry weight select their pods first.
	repointed := false
	for _, rsv := range services {
		if rsv.weight > 0 && rsv.moves() {
			if err := r.pointService(ctx, s, rsv.svc, rsv.hash); err != nil {
				return ctrl.Result{}, err
			}
			repointed = true
		}
	}
	result := ctrl.Result{}
	ran, unverified := false, false
	var out tr.Outcome
	if !plan.Gated {
		weights := tr.Weights(s.ro, d)
		hold := ""
		if repointed || tr.WeightsChanged(in.Rollout.Status.Canary.Weights, weights) {
			if hold, err = r.unservedService(ctx, s, services); err != nil {
				return ctrl.Result{}, err
			}
		}
		if hold != "" {
			// Never send weight to pods that are not ready endpoints.
			log.V(1).Info("waiting for ready endpoints before moving traffic", "service", hold)
			result = requeue.After(endpointsRetry)
		} else {
			if out, err = tr.Execute(ctx, rs, plan); err != nil {
				return r.routingFailed(ctx, s, err)
			}
			ran = true
			s.routersWritten = true
			weights.Verified = out.Verified
			if prevW := in.Rollout.Status.Canary.Weights; weightMoved(prevW, weights) {
				r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventTrafficWeightUpdated, "SetWeight", "%s", tr.WeightsMessage(prevW, weights))
			}
			st.Canary.Weights = weights
			if out.VerifyErr != nil {
				r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventWeightVerifyError, "VerifyWeight", "%s", out.VerifyErr.Error())
			}
			retry, verr := tr.AfterVerify(next, out.Verified, r.traffic.verifyRetry)
			result = requeue.Sooner(result, requeueAt0(retry))
			if verr != nil {
				// Promotion waits until the full weight is confirmed.
				log.Info("traffic weight not verified yet", "weight", next.Canary)
				unverified = true
			}
		}
	}
	// Services that carry no weight now move once their traffic has left.
	for _, rsv := range services {
		if rsv.weight == 0 && rsv.moves() && (ran || rsv.heldWeight == 0 || d.CanaryServiceToStable && rsv.canaryRole) {
			if err := r.pointService(ctx, s, rsv.svc, rsv.hash); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	if unverified {
		return result, nil
	}

	if !s.ro.Spec.Paused {
		res, err := r.scaleRouted(ctx, s, in, stableRS, rs)
		if err != nil {
			return ctrl.Result{}, err
		}
		if s.stop {
			return result, nil
		}
		result = requeue.Sooner(result, res)
	}

	index := ptr.Deref(st.CurrentStepIndex, 0)
	if !s.ro.Spec.Paused && !st.Abort && inFlight && int(index) < len(spec.Steps) {
		step := spec.Steps[index]
		reached := false
		switch {
		case !ran:
		case step.SetWeight != nil || step.SetCanaryScale != nil:
			reached = tr.StepComplete(in, st.Canary.Weights)
		case step.SetHeaderRoute != nil || step.SetMirrorRoute != nil:
			reached = planWrites(plan, step)
		}
		sd := canary.Advance(canary.StepState{
			Steps:            spec.Steps,
			Index:            index,
			PauseStart:       pauseStart(st, v1alpha1.PauseReasonCanaryPauseStep),
			ControllerPause:  st.ControllerPause,
			WeightReached:    reached,
			TrafficRouted:    true,
			Now:              s.now,
			AnalysisPassed:   gate.StepPassed,
			ExperimentPassed: gate.ExperimentPassed,
			Held:             gate.Held,
		})
		if sd.Completed {
			r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventStepCompleted, "Step",
				"Rollout step %d/%d completed (%s)", sd.Index, len(spec.Steps), stepString(step))
			experimentStepDone(s, step)
		}
		if sd.ClearPause {
			clearPause(s)
		}
		if sd.AddPause {
			addPause(s, v1alpha1.PauseReasonCanaryPauseStep)
		}
		st.CurrentStepIndex = ptr.To(sd.Index)
		index = sd.Index
		if sd.RequeueAfter > 0 {
			result = requeue.Sooner(result, requeue.After(sd.RequeueAfter))
		}
	}

	// Promote a full canary once the routers carry everything to it (past
	// the last step), or as asked (promote --full, no steps: the weight
	// moves with the stable Service). The stable Service then moves to the
	// new pods (next pass) before the old ones are scaled down.
	switch d.Situation {
	case tr.PastLastStep, tr.PromotingFully, tr.NoSteps:
		if inFlight && (ran || d.Situation != tr.PastLastStep) && !st.Abort && !gate.Held && int(index) >= len(spec.Steps) && newReplicaSetFull(s) {
			reason := promotedCanary(len(spec.Steps))
			switch {
			case st.PromoteFull:
				reason = promotedFull
			case withinWindow:
				reason = promotedWithinWindow
			}
			before := st.StableRS
			r.promote(ctx, s, reason)
			flipPingPong(s, before)
		}
	}
	if st.StableRS == s.newHash {
		st.CurrentStepIndex = stepsDone(spec)
	}
	return result, nil
}

// routingFailed records a router failure: a Warning event (once per
// distinct error), the TrafficRouting condition, and a pass that stops
// here, so no ReplicaSet is resized and no step taken while the routers
// do not carry what the plan says. Traffic stays where the routers hold it.
func (r *Reconciler) routingFailed(ctx context.Context, s *scope, err error) (ctrl.Result, error) {
	msg := err.Error()
	s.trafficError = msg
	if c := s.original.Status.GetCondition(v1alpha1.RolloutTrafficRoutingCondition); c == nil || c.Message != msg {
		r.Recorder.Eventf(s.ro, nil, corev1.EventTypeWarning, EventTrafficRoutingError, "SetWeight", "%s", msg)
	}
	ctrl.LoggerFrom(ctx).Info("traffic routing failed", "error", msg)
	s.stop = true
	return requeue.After(routingErrorRetry), nil
}

// routedInput is what the traffic planner reads: the Rollout with the step
// index as adjusted for this pass and the rest of the status as read, and
// every ReplicaSet as observed.
func routedInput(s *scope) tr.Input {
	in := tr.Input{Rollout: s.ro.DeepCopy(), NewHash: s.newHash}
	for _, rs := range s.replicaSets {
		if h := hashOf(rs); h != "" {
			in.ReplicaSets = append(in.ReplicaSets, tr.ReplicaSet{
				Hash: h, Replicas: specReplicas(rs), Available: rs.Status.AvailableReplicas, Created: rs.Status.Replicas,
			})
		}
	}
	return in
}

// roles names the Services in their roles: the stable and canary Services
// the routers send weight to, and any spec Service besides. With pingPong
// the routers use the ping-pong pair (by status.stablePingPong), except
// that without ALB (which always does) canaryService and stableService,
// when both are set, keep the weight, as the reference's Istio router does.
type roles struct {
	canary, stable string
	// also are canaryService/stableService when ping-pong routes instead.
	alsoCanary, alsoStable string
}

func serviceRoles(s *scope) roles {
	c := s.ro.Spec.Strategy.Canary
	if c.PingPong == nil || c.TrafficRouting.ALB == nil && c.CanaryService != "" && c.StableService != "" {
		return roles{canary: c.CanaryService, stable: c.StableService}
	}
	ping, pong := c.PingPong.PingService, c.PingPong.PongService
	out := roles{canary: ping, stable: pong, alsoCanary: c.CanaryService, alsoStable: c.StableService}
	if s.ro.Status.Canary.StablePingPong == v1alpha1.PPPing {
		out.canary, out.stable = pong, ping
	}
	return out
}

// flipPingPong swaps the ping-pong roles when this pass promoted: the
// Service that carried the canary is the stable one now, so no selector
// has to change at promotion. The first revision makes ping the stable.
func flipPingPong(s *scope, stableBefore string) {
	st := &s.ro.Status
	if s.ro.Spec.Strategy.Canary.PingPong == nil || st.StableRS == stableBefore {
		return
	}
	if st.Canary.StablePingPong == v1alpha1.PPPing {
		st.Canary.StablePingPong = v1alpha1.PPPong
	} else {
		st.Canary.StablePingPong = v1alpha1.PPPing
	}
}

// routedService is one Service of a traffic-routed canary this pass.
type routedService struct {
	svc *corev1.Service
	// hash is the pod-template hash it must select.
	hash string
	// canaryRole: it receives the canary weight.
	canaryRole bool
	// weight is what the routers send it once this pass has run;
	// heldWeight what they send it now.
	weight, heldWeight int32
}

// moves: the Service does not select hash yet (or is not marked managed).
func (rsv routedService) moves() bool {
	return selectedHash(rsv.svc) != rsv.hash || rsv.svc.Annotations[v1alpha1.ManagedByRolloutsKey] == ""
}

func (r *Reconciler) routedServices(s *scope, ro roles, canaryHash, stableHash string, prev, next tr.Split) []routedService {
	var out []routedService
	add := func(name, hash string, canaryRole bool) {
		svc := s.services[name]
		if name == "" || svc == nil {
			return
		}
		for _, o := range out {
			if o.svc == svc {
				return
			}
		}
		rsv := routedService{svc: svc, hash: hash, canaryRole: canaryRole, weight: next.Stable(), heldWeight: prev.Stable()}
		if canaryRole {
			rsv.weight, rsv.heldWeight = next.Canary, prev.Canary
		}
		out = append(out, rsv)
	}
	add(ro.stable, stableHash, false)
	add(ro.canary, canaryHash, true)
	add(ro.alsoStable, stableHash, false)
	add(ro.alsoCanary, canaryHash, true)
	return out
}

// unservedService names the first Service that is about to carry weight
// while no pod of the ReplicaSet it selects is a ready endpoint of it, or
// returns "". EndpointSlices are read only when the weights or a
// selector change.
func (r *Reconciler) unservedService(ctx context.Context, s *scope, services []routedService) (string, error) {
	for _, rsv := range services {
		if rsv.weight <= 0 {
			continue
		}
		target := s.replicaSetByHash(rsv.hash)
		if target == nil {
			return rsv.svc.Name, nil
		}
		n, err := r.readyEndpoints(ctx, rsv.svc, target)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return rsv.svc.Name, nil
		}
	}
	return "", nil
}

// planWrites: the plan writes the current step's header or mirror route.
func planWrites(plan tr.Plan, step v1alpha1.CanaryStep) bool {
	for _, a := range plan.Actions {
		if step.SetHeaderRoute != nil && a.Kind == tr.ActionSetHeaderRoute && a.HeaderRoute.Name == step.SetHeaderRoute.Name ||
			step.SetMirrorRoute != nil && a.Kind == tr.ActionSetMirrorRoute && a.MirrorRoute.Name == step.SetMirrorRoute.Name {
			return true
		}
	}
	return false
}

// newReplicaSetFull: the new ReplicaSet is sized for the Rollout and has
// its pods available (or meets replicaProgressThreshold).
func newReplicaSetFull(s *scope) bool {
	want := s.ro.ReplicasOrDefault()
	if specReplicas(s.newRS) != want {
		return false
	}
	avail := s.newRS.Status.AvailableReplicas
	if avail >= want {
		return true
	}
	t := s.ro.Spec.Strategy.Canary.ReplicaProgressThreshold
	switch {
	case t == nil:
		return false
	case t.Type == v1alpha1.ProgressTypePercentage:
		return want <= 0 || int64(avail)*100 >= int64(t.Value)*int64(want)
	default:
		return avail >= t.Value
	}
}

// scaleRouted sizes the ReplicaSets of a traffic-routed canary: the new
// and stable ones by the replica counts (from the weights as read), an
// aborted canary by its scale-down deadline, the older ones by
// PlanScaleDown. Scale-ups come first, then deadlines, then scale-downs.
func (r *Reconciler) scaleRouted(ctx context.Context, s *scope, in tr.Input, stableRS *appsv1.ReplicaSet, rts []tr.Router) (ctrl.Result, error) {
	result := ctrl.Result{}
	counts := tr.ReplicaCounts(in)
	want := map[*appsv1.ReplicaSet]int32{s.newRS: counts.Canary}
	deadlines := map[*appsv1.ReplicaSet]time.Time{}
	if stableRS != nil && stableRS != s.newRS {
		want[stableRS] = counts.Stable
	}
	stableAvailable := int32(0)
	if stableRS != nil {
		stableAvailable = stableRS.Status.AvailableReplicas
	}
	ac := tr.PlanAbortedCanary(tr.AbortedCanaryInput{
		Rollout:         s.ro,
		Canary:          tr.OldReplicaSet{Hash: s.newHash, Replicas: specReplicas(s.newRS), Available: s.newRS.Status.AvailableReplicas, Deadline: scaleDownDeadline(s.newRS)},
		StableAvailable: stableAvailable,
		Weights:         s.ro.Status.Canary.Weights,
		Now:             s.now,
	})
	if ac.Handled && stableRS != s.newRS {
		want[s.newRS] = ac.Replicas
		if ac.SetDeadline != nil {
			deadlines[s.newRS] = *ac.SetDeadline
		}
		if ac.RequeueAfter > 0 {
			result = requeue.Sooner(result, requeue.After(ac.RequeueAfter+time.Second))
		}
	}

	// Older ReplicaSets, newest first.
	var old []*appsv1.ReplicaSet
	for _, rs := range s.olderReplicaSets() {
		if rs != stableRS {
			old = append(old, rs)
		}
	}
	sort.SliceStable(old, func(i, j int) bool { return revision(old[i]) > revision(old[j]) })
	sdIn := tr.ScaleDownInput{
		Rollout:        s.ro,
		NewHash:        s.newHash,
		MaxUnavailable: maxUnavailablePods(s.ro),
		NewDeadline:    scaleDownDeadline(s.newRS) != nil,
		StableDeadline: stableRS != nil && scaleDownDeadline(stableRS) != nil,
		Now:            s.now,
	}
	busy := false
	for _, rs := range s.replicaSets {
		sdIn.TotalAvailable += rs.Status.AvailableReplicas
	}
	for _, rs := range old {
		sdIn.Old = append(sdIn.Old, tr.OldReplicaSet{Hash: hashOf(rs), Replicas: specReplicas(rs), Available: rs.Status.AvailableReplicas, Deadline: scaleDownDeadline(rs)})
		busy = busy || specReplicas(rs) > 0
	}
	if busy {
		// What still receives traffic, or may: the weights as read and as
		// written, every Service's selector, the routers' own references.
		var svcHashes, routerHashes []string
		if w := in.Rollout.Status.Canary.Weights; w != nil {
			svcHashes = append(svcHashes, w.Canary.PodTemplateHash, w.Stable.PodTemplateHash)
		}
		for _, svc := range s.services {
			svcHashes = append(svcHashes, selectedHash(svc))
		}
		for _, rt := range rts {
			if hr, ok := rt.(tr.HashReferencer); ok {
				hashes, err := hr.ReferencedHashes(ctx)
				if err != nil {
					_, _ = r.routingFailed(ctx, s, fmt.Errorf("%s: read referenced ReplicaSets: %w", rt.Type(), err))
					return requeue.After(routingErrorRetry), nil
				}
				routerHashes = append(routerHashes, hashes...)
			}
		}
		sdIn.Referenced = tr.ReferencedHashes(s.ro, svcHashes, routerHashes)
	}
	plan := tr.PlanScaleDown(sdIn)
	if plan.RequeueAfter > 0 {
		result = requeue.Sooner(result, requeue.After(plan.RequeueAfter+time.Second))
	}
	clear := map[*appsv1.ReplicaSet]bool{}
	for _, ch := range plan.Changes {
		rs := s.replicaSetByHash(ch.Hash)
		if rs == nil {
			continue
		}
		if ch.Replicas >= 0 && rs != s.newRS && rs != stableRS {
			want[rs] = ch.Replicas
		}
		if ch.SetDeadline != nil {
			deadlines[rs] = *ch.SetDeadline
		}
		if ch.RemoveDeadline {
			clear[rs] = true
		}
	}

	for rs := range clear {
		if err := r.setScaleDownDeadline(ctx, rs, time.Time{}); err != nil {
			return ctrl.Result{}, err
		}
	}
	for _, rs := range s.replicaSets {
		if n, ok := want[rs]; ok && n > specReplicas(rs) {
			if err := r.scale(ctx, s, rs, n); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	for _, rs := range s.replicaSets {
		if at, ok := deadlines[rs]; ok {
			if err := r.setScaleDownDeadline(ctx, rs, at); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	for _, rs := range s.replicaSets {
		if n, ok := want[rs]; ok && n < specReplicas(rs) {
			if err := r.scale(ctx, s, rs, n); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	return result, nil
}

// maxUnavailablePods is strategy.canary.maxUnavailable in pods (rounded
// down, as the reference resolves it).
func maxUnavailablePods(ro *v1alpha1.Rollout) int32 {
	v := ro.Spec.Strategy.Canary.MaxUnavailableOrDefault()
	n, err := intstr.GetScaledValueFromIntOrPercent(&v, int(ro.ReplicasOrDefault()), false)
	if err != nil {
		return 0
	}
	return int32(n)
}

// initialRoutedReplicas is the size the new ReplicaSet of a traffic-routed
// canary is created at: the planner's count for the first step.
func initialRoutedReplicas(s *scope) int32 {
	ro := s.ro.DeepCopy()
	stableRS, _ := resolveStable(s)
	ro.Status.StableRS = hashOf(stableRS)
	missing := stableRS == nil && s.ro.Status.StableRS != "" && s.ro.Status.StableRS != s.newHash
	// A new template restarts the steps and ends an abort or a full
	// promotion of the previous one (resetStepsIfChanged).
	ro.Status.CurrentStepIndex = stepStart(ro.Spec.Strategy.Canary)
	ro.Status.Abort, ro.Status.PromoteFull = false, false
	in := tr.Input{Rollout: ro, NewHash: s.newHash}
	for _, rs := range s.replicaSets {
		in.ReplicaSets = append(in.ReplicaSets, tr.ReplicaSet{Hash: hashOf(rs), Replicas: specReplicas(rs), Available: rs.Status.AvailableReplicas, Created: rs.Status.Replicas})
	}
	in.ReplicaSets = append(in.ReplicaSets, tr.ReplicaSet{Hash: s.newHash})
	if missing {
		// As runTrafficRouted plans it: the deleted stable at zero.
		ro.Status.StableRS = s.ro.Status.StableRS
		in.ReplicaSets = append(in.ReplicaSets, tr.ReplicaSet{Hash: ro.Status.StableRS})
	}
	return tr.ReplicaCounts(in).Canary
}

// trafficRoutingStatus keeps the TrafficRouting condition: set (False,
// naming the object) while the routers fail, removed once a pass has
// written them, and never on a Rollout without a router. internal/phase
// puts it in status.message.
func (r *Reconciler) trafficRoutingStatus(s *scope) {
	st := &s.ro.Status
	c := s.ro.Spec.Strategy.Canary
	switch {
	case c == nil || c.TrafficRouting == nil, s.trafficError == "" && s.routersWritten:
		conditions.Remove(st, v1alpha1.RolloutTrafficRoutingCondition)
	case s.trafficError != "":
		now := metav1.NewTime(s.now)
		cond := v1alpha1.RolloutCondition{
			Type: v1alpha1.RolloutTrafficRoutingCondition, Status: corev1.ConditionFalse, Reason: v1alpha1.TrafficRoutingErrorReason,
			Message: s.trafficError, LastUpdateTime: now, LastTransitionTime: now,
		}
		if old := s.original.Status.GetCondition(v1alpha1.RolloutTrafficRoutingCondition); old != nil {
			cond.LastTransitionTime = old.LastTransitionTime
			if old.Message == cond.Message {
				cond.LastUpdateTime = old.LastUpdateTime
			}
		}
		conditions.Remove(st, v1alpha1.RolloutTrafficRoutingCondition)
		st.Conditions = append(st.Conditions, cond)
	}
}

// weightMoved: a weight changed (not only a hash): what
// TrafficWeightUpdated announces.
func weightMoved(prev, next *v1alpha1.TrafficWeights) bool {
	if prev == nil || next == nil {
		return prev != next
	}
	if prev.Canary.Weight != next.Canary.Weight || prev.Stable.Weight != next.Stable.Weight || len(prev.Additional) != len(next.Additional) {
		return true
	}
	for i := range prev.Additional {
		if prev.Additional[i].Weight != next.Additional[i].Weight || prev.Additional[i].ServiceName != next.Additional[i].ServiceName {
			return true
		}
	}
	return false
}

// requeueAt0 is requeue.After, except that 0 means no requeue.
func requeueAt0(d time.Duration) ctrl.Result {
	if d <= 0 {
		return ctrl.Result{}
	}
	return requeue.After(d)
}
