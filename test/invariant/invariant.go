// Package invariant checks the safety properties of Rollouts over the
// committed history of their namespace (test/history replays it state by
// state, in etcd order):
//
//   - a production Service (a blue-green Rollout's activeService, a
//     canary's stableService) never has zero ready endpoints once it had
//     one;
//   - a canary never has more pods than spec.replicas + maxSurge nor fewer
//     ready pods than spec.replicas - maxUnavailable (once it had that
//     many); a blue-green Rollout never has more pods than two full sets
//     (replicas + max(replicas, previewReplicaCount)) nor fewer ready
//     endpoints behind its active Service than spec.replicas (once it had
//     that many);
//   - a Rollout has one ReplicaSet per pod template: no second ReplicaSet
//     for a template that already has one;
//   - no pod of the stable revision is lost: a pod whose pod-template hash
//     is the Rollout's status.stableRS at the moment it is deleted (its
//     deletionTimestamp set, or removed) must be the ReplicaSet
//     controller's answer to a lower spec.replicas of its ReplicaSet, and
//     only a canary's strategy lowers the stable ReplicaSet while it is
//     stable (a blue-green Rollout never does); a stable pod deleted while
//     its ReplicaSet still wanted it, or whose ReplicaSet was deleted, is
//     lost.
//
// Pods count when they exist and are not terminating; pods are ready when
// their Ready condition is True. A pod the ReplicaSet controller created
// beyond its ReplicaSet's spec.replicas at that moment (kube-controller-
// manager acting on a stale cache, seen after kube-apiserver restarts) is
// not the Rollout controller's doing: it is left out of the bounds and
// counted in OverCreated. A broken bound is one violation per span
// of consecutive states in which it stays broken.
package invariant

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchyard-dev/switchyard/test/history"
)

// The checks.
const (
	NoReadyEndpoint = "production Service without a ready endpoint"
	TooManyPods     = "more pods than maxSurge allows"
	TooFewReady     = "fewer ready pods than maxUnavailable allows"
	ExtraReplicaSet = "extra ReplicaSet"
	PodLost         = "stable pod lost"
)

// Checks are every check the Checker runs, in report order.
var Checks = []string{NoReadyEndpoint, TooManyPods, TooFewReady, ExtraReplicaSet, PodLost}

// Violation is one broken property: a span of states for a bound, one
// state for an event (an extra ReplicaSet, a lost pod).
type Violation struct {
	Check string `json:"check"`
	// Subject is the Rollout (or the Service) as namespace/name.
	Subject string    `json:"subject"`
	From    time.Time `json:"from"`
	// To is when the bound held again; nil if it was still broken when
	// the recording ended. Equal to From for an event.
	To       *time.Time `json:"to,omitempty"`
	FromRV   int64      `json:"fromResourceVersion"`
	ToRV     int64      `json:"toResourceVersion,omitempty"`
	Message  string     `json:"message"`
	Evidence string     `json:"evidence"`
}

func (v Violation) String() string {
	span := "until the end"
	if v.To != nil {
		span = fmt.Sprintf("for %s", v.To.Sub(v.From).Round(time.Millisecond))
	}
	return fmt.Sprintf("%s: %s at %s (resourceVersion %d) %s: %s [%s]", v.Check, v.Subject,
		v.From.Format("15:04:05.000"), v.FromRV, span, v.Message, v.Evidence)
}

// Checker follows a replay; Visit is history.Recorder.Replay's visitor.
type Checker struct {
	// States counts the states checked.
	States int

	open map[string]*Violation
	done []Violation
	// hadEndpoint: a Service had a ready endpoint; reached: a Rollout had
	// its minimum of ready pods.
	hadEndpoint map[string]bool
	reached     map[string]bool
	// rolloutOf maps a ReplicaSet (namespace/name) to its Rollout's key.
	rolloutOf map[string]string
	// templates maps a Rollout's key and an image to the ReplicaSet made
	// for it; seenRS are the ReplicaSets (by UID) already looked at.
	templates map[string]map[string]string
	seenRS    map[string]bool
	// pods are the pods as the previous state had them.
	pods map[string]Pod
	// overCreated are the pods (namespace/name) their ReplicaSet's
	// controller created beyond its spec.replicas; OverCreated counts them.
	overCreated map[string]bool
	OverCreated int
}

// NewChecker returns a checker with nothing seen.
func NewChecker() *Checker {
	return &Checker{
		open:        map[string]*Violation{},
		hadEndpoint: map[string]bool{},
		reached:     map[string]bool{},
		rolloutOf:   map[string]string{},
		templates:   map[string]map[string]string{},
		seenRS:      map[string]bool{},
		pods:        map[string]Pod{},
		overCreated: map[string]bool{},
	}
}

// Violations are the violations found so far, ordered by time; bounds
// still broken are included, open-ended.
func (k *Checker) Violations() []Violation {
	out := append([]Violation(nil), k.done...)
	for _, v := range k.open {
		out = append(out, *v)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].FromRV != out[j].FromRV {
			return out[i].FromRV < out[j].FromRV
		}
		return out[i].Check < out[j].Check
	})
	return out
}

func key(ns, name string) string { return ns + "/" + name }

// Visit checks one state; c is the change that led to it (nil for the
// first).
func (k *Checker) Visit(st history.State, c *history.Change) {
	k.States++
	at := moment{rv: 0}
	if c != nil {
		at = moment{rv: c.RV, t: c.At}
	}
	affected := map[string]bool{}
	all := c == nil || c.IsList()
	if all {
		for name := range st[Rollouts] {
			affected[name] = true
		}
	}

	// ReplicaSets: who owns them, and one per template.
	visitRS := func(rs ReplicaSet) {
		if rs.Rollout == "" {
			return
		}
		ro := key(rs.Namespace, rs.Rollout)
		k.rolloutOf[key(rs.Namespace, rs.Name)] = ro
		affected[ro] = true
		if k.seenRS[rs.UID] {
			return
		}
		k.seenRS[rs.UID] = true
		if k.templates[ro] == nil {
			k.templates[ro] = map[string]string{}
		}
		if first, ok := k.templates[ro][rs.Image]; ok && first != rs.Name {
			k.event(ExtraReplicaSet, ro, at,
				fmt.Sprintf("ReplicaSet %s created for the pod template of %s (image %s)", rs.Name, first, rs.Image),
				k.describeRollout(st, ro))
			return
		}
		k.templates[ro][rs.Image] = rs.Name
	}
	switch {
	case all || c.Kind == ReplicaSets:
		if !all && !c.Deleted {
			visitRS(c.Fact.(ReplicaSet))
		} else if !all {
			affected[k.rolloutOf[c.Name]] = true
		} else {
			for _, name := range sortedKeys(st[ReplicaSets]) {
				visitRS(st[ReplicaSets][name].(ReplicaSet))
			}
		}
	}

	// Pods: the ones deleted since the previous state.
	if all || c.Kind == Pods {
		names := map[string]bool{}
		if all {
			for n := range k.pods {
				names[n] = true
			}
			for n := range st[Pods] {
				names[n] = true
			}
		} else {
			names[c.Name] = true
		}
		for _, n := range sortedKeys(names) {
			prev, known := k.pods[n]
			cur, exists := st[Pods][n].(Pod)
			// A deletion found by a new list (after a watch broke) is not
			// judged: when it happened, against which state, is unknown.
			if known && !prev.Terminating && (!exists || cur.Terminating) && !all {
				k.podGone(st, at, prev)
			}
			if exists && !known && !cur.Terminating && !all {
				k.judgeCreation(st, n, cur)
			}
			if exists {
				k.pods[n] = cur
				affected[k.rolloutOf[key(cur.Namespace, cur.ReplicaSet)]] = true
			} else {
				delete(k.pods, n)
				delete(k.overCreated, n)
				if known {
					affected[k.rolloutOf[key(prev.Namespace, prev.ReplicaSet)]] = true
				}
			}
		}
	}

	// Services and their EndpointSlices: the Rollouts they serve.
	if !all && (c.Kind == EndpointSlices || c.Kind == Services) {
		var svc string
		switch f := c.Fact.(type) {
		case EndpointSlice:
			svc = key(f.Namespace, f.Service)
		case Service:
			svc = key(f.Namespace, f.Name)
		}
		for name, v := range st[Rollouts] {
			ro := v.(Rollout)
			if ro.ProductionService != "" && key(ro.Namespace, ro.ProductionService) == svc {
				affected[name] = true
			}
		}
	}
	if !all && c.Kind == Rollouts {
		affected[c.Name] = true
	}

	for _, name := range sortedKeys(affected) {
		if ro, ok := st[Rollouts][name].(Rollout); ok {
			k.bounds(st, at, ro)
		}
	}
}

// moment is where in the history a state is.
type moment struct {
	rv int64
	t  time.Time
}

// bounds checks a Rollout's pod counts and its production Service.
func (k *Checker) bounds(st history.State, at moment, ro Rollout) {
	name := key(ro.Namespace, ro.Name)
	total, ready := k.podsOf(st, name)
	if ro.ProductionService != "" {
		svc := key(ro.Namespace, ro.ProductionService)
		endpoints := readyEndpoints(st, svc)
		if endpoints > 0 {
			k.hadEndpoint[svc] = true
		}
		k.hold(NoReadyEndpoint, svc, at, k.hadEndpoint[svc] && endpoints == 0,
			fmt.Sprintf("%s Service of %s %s has no ready endpoint", serviceRole(ro), ro.strategy(), ro.Name),
			func() string { return k.describeService(st, svc) + "; " + k.describeRollout(st, name) })
		if ro.BlueGreen {
			if endpoints >= int(ro.Replicas) {
				k.reached[name] = true
			}
			k.hold(TooFewReady, name, at, k.reached[name] && endpoints < int(ro.Replicas),
				fmt.Sprintf("%d ready endpoints behind the active Service, at least %d (replicas)", endpoints, ro.Replicas),
				func() string { return k.describeService(st, svc) + "; " + k.describeRollout(st, name) })
		}
	}
	if ro.BlueGreen {
		most := ro.Replicas + max(ro.Replicas, ro.PreviewReplicas)
		k.hold(TooManyPods, name, at, total > int(most),
			fmt.Sprintf("%d pods, at most %d (replicas %d + max(replicas, previewReplicaCount %d))", total, most, ro.Replicas, ro.PreviewReplicas),
			func() string { return k.describeRollout(st, name) })
		return
	}
	most, least := ro.Replicas+ro.MaxSurge, ro.Replicas-ro.MaxUnavailable
	if ready >= int(least) {
		k.reached[name] = true
	}
	k.hold(TooManyPods, name, at, total > int(most),
		fmt.Sprintf("%d pods, at most %d (replicas %d + maxSurge %d)", total, most, ro.Replicas, ro.MaxSurge),
		func() string { return k.describeRollout(st, name) })
	k.hold(TooFewReady, name, at, k.reached[name] && ready < int(least),
		fmt.Sprintf("%d ready pods, at least %d (replicas %d - maxUnavailable %d)", ready, least, ro.Replicas, ro.MaxUnavailable),
		func() string { return k.describeRollout(st, name) })
}

func serviceRole(ro Rollout) string {
	if ro.BlueGreen {
		return "active"
	}
	return "stable"
}

// podGone judges the deletion of prev, a pod that was not terminating in
// the previous state.
func (k *Checker) podGone(st history.State, at moment, prev Pod) {
	rsKey := key(prev.Namespace, prev.ReplicaSet)
	roKey, ok := k.rolloutOf[rsKey]
	if !ok {
		return
	}
	ro, ok := st[Rollouts][roKey].(Rollout)
	if !ok || ro.StableRS == "" || ro.StableRS != prev.Hash {
		return
	}
	rs, ok := st[ReplicaSets][rsKey].(ReplicaSet)
	var why string
	switch {
	case !ok:
		why = fmt.Sprintf("its ReplicaSet %s was deleted", prev.ReplicaSet)
	default:
		before := k.podsOfReplicaSet(st, rsKey) + 1
		switch {
		case rs.Replicas >= int32(before):
			why = fmt.Sprintf("deleted while its ReplicaSet %s wanted %d pods and had %d", rs.Name, rs.Replicas, before)
		case ro.BlueGreen:
			why = fmt.Sprintf("the stable ReplicaSet %s of a blue-green Rollout was scaled down to %d while stable", rs.Name, rs.Replicas)
		default:
			return // the canary's stable ReplicaSet scaled down by its steps
		}
	}
	k.event(PodLost, roKey, at, fmt.Sprintf("pod %s of the stable revision %s: %s", prev.Name, prev.Hash, why), k.describeRollout(st, roKey))
}

// hold opens a span when broken first holds, closes it when it stops.
func (k *Checker) hold(check, subject string, at moment, broken bool, msg string, evidence func() string) {
	id := check + "|" + subject
	v, open := k.open[id]
	switch {
	case broken && !open:
		k.open[id] = &Violation{Check: check, Subject: subject, From: at.t, FromRV: at.rv, Message: msg, Evidence: evidence()}
	case !broken && open:
		t := at.t
		v.To, v.ToRV = &t, at.rv
		k.done = append(k.done, *v)
		delete(k.open, id)
	}
}

func (k *Checker) event(check, subject string, at moment, msg, evidence string) {
	t := at.t
	k.done = append(k.done, Violation{Check: check, Subject: subject, From: t, To: &t, FromRV: at.rv, ToRV: at.rv, Message: msg, Evidence: evidence})
}

// podsOf counts a Rollout's pods that are not terminating, and the ready
// ones among them.
// judgeCreation notes a new pod its ReplicaSet did not ask for: more pods
// than the ReplicaSet's spec.replicas in the state that has it.
func (k *Checker) judgeCreation(st history.State, name string, p Pod) {
	rsKey := key(p.Namespace, p.ReplicaSet)
	rs, ok := st[ReplicaSets][rsKey].(ReplicaSet)
	if !ok {
		return
	}
	if k.podsOfReplicaSet(st, rsKey) > int(rs.Replicas) {
		k.overCreated[name] = true
		k.OverCreated++
	}
}

func (k *Checker) podsOf(st history.State, ro string) (total, ready int) {
	for n, v := range st[Pods] {
		p := v.(Pod)
		if p.Terminating || k.overCreated[n] || k.rolloutOf[key(p.Namespace, p.ReplicaSet)] != ro {
			continue
		}
		total++
		if p.Ready {
			ready++
		}
	}
	return total, ready
}

func (k *Checker) podsOfReplicaSet(st history.State, rs string) int {
	n := 0
	for _, v := range st[Pods] {
		if p := v.(Pod); !p.Terminating && key(p.Namespace, p.ReplicaSet) == rs {
			n++
		}
	}
	return n
}

func readyEndpoints(st history.State, svc string) int {
	n := 0
	for _, v := range st[EndpointSlices] {
		if s := v.(EndpointSlice); key(s.Namespace, s.Service) == svc {
			n += s.Ready
		}
	}
	return n
}

// describeRollout is the evidence of a state: the Rollout's status and
// each of its ReplicaSets with its pods.
func (k *Checker) describeRollout(st history.State, roKey string) string {
	var b strings.Builder
	if ro, ok := st[Rollouts][roKey].(Rollout); ok {
		fmt.Fprintf(&b, "rollout %s phase %q stable %q current %q", ro.Name, ro.Phase, ro.StableRS, ro.CurrentPodHash)
	}
	for _, name := range sortedKeys(st[ReplicaSets]) {
		rs := st[ReplicaSets][name].(ReplicaSet)
		if k.rolloutOf[name] != roKey {
			continue
		}
		pods, ready, terminating := 0, 0, 0
		for _, v := range st[Pods] {
			p := v.(Pod)
			if key(p.Namespace, p.ReplicaSet) != name {
				continue
			}
			switch {
			case p.Terminating:
				terminating++
			case p.Ready:
				pods++
				ready++
			default:
				pods++
			}
		}
		fmt.Fprintf(&b, "; rs %s wants %d, has %d pods (%d ready, %d terminating)", rs.Hash, rs.Replicas, pods, ready, terminating)
	}
	return b.String()
}

func (k *Checker) describeService(st history.State, svc string) string {
	s, _ := st[Services][svc].(Service)
	var slices []string
	for _, name := range sortedKeys(st[EndpointSlices]) {
		if e := st[EndpointSlices][name].(EndpointSlice); key(e.Namespace, e.Service) == svc {
			slices = append(slices, fmt.Sprintf("%s: %d ready", e.Name, e.Ready))
		}
	}
	return fmt.Sprintf("service %s selects hash %q, slices [%s]", svc, s.Hash, strings.Join(slices, ", "))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
