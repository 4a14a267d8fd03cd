package rollout

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
)

func TestWeightMoved(t *testing.T) {
	w := func(canary, stable int32, canaryHash string) *v1alpha1.TrafficWeights {
		return &v1alpha1.TrafficWeights{
			Canary: v1alpha1.WeightDestination{Weight: canary, PodTemplateHash: canaryHash},
			Stable: v1alpha1.WeightDestination{Weight: stable, PodTemplateHash: "s"},
		}
	}
	withAdd := w(10, 80, "c")
	withAdd.Additional = []v1alpha1.WeightDestination{{ServiceName: "exp", Weight: 10}}
	for _, tc := range []struct {
		name       string
		prev, next *v1alpha1.TrafficWeights
		want       bool
	}{
		{"first split", nil, w(0, 100, "c"), true},
		{"same", w(30, 70, "c"), w(30, 70, "c"), false},
		{"only the canary's hash moved", w(0, 100, "c"), w(0, 100, "d"), false},
		{"weight moved", w(0, 100, "c"), w(30, 70, "c"), true},
		{"experiment weight added", w(10, 90, "c"), withAdd, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := weightMoved(tc.prev, tc.next); got != tc.want {
				t.Errorf("weightMoved() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanWrites(t *testing.T) {
	header := v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "h"}}
	mirror := v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m"}}
	plan := tr.Plan{Actions: []tr.Action{{Kind: tr.ActionSetHeaderRoute, HeaderRoute: header.SetHeaderRoute}, {Kind: tr.ActionSetWeight}}}
	if !planWrites(plan, header) {
		t.Error("the plan writes the header route")
	}
	if planWrites(plan, mirror) {
		t.Error("the plan does not write the mirror route")
	}
	if planWrites(tr.Plan{Gated: true}, header) {
		t.Error("a gated plan writes nothing")
	}
}

func TestPingPongRoles(t *testing.T) {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{
		PingPong:       &v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"},
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "i"}},
	}
	s := newScope(ro, time.Now())
	if r := serviceRoles(s); r.stable != "pong" || r.canary != "ping" {
		t.Errorf("no stablePingPong: pong counts as stable, got %+v", r)
	}
	ro.Status.StableRS = "v1"
	flipPingPong(s, "")
	if got := ro.Status.Canary.StablePingPong; got != v1alpha1.PPPing {
		t.Errorf("the first promotion makes ping stable, got %q", got)
	}
	if r := serviceRoles(s); r.stable != "ping" || r.canary != "pong" {
		t.Errorf("ping stable: %+v", r)
	}
	flipPingPong(s, "v1")
	if got := ro.Status.Canary.StablePingPong; got != v1alpha1.PPPing {
		t.Errorf("no promotion, no flip: %q", got)
	}
	ro.Status.StableRS = "v2"
	flipPingPong(s, "v1")
	if got := ro.Status.Canary.StablePingPong; got != v1alpha1.PPPong {
		t.Errorf("a promotion flips the roles: %q", got)
	}

	// Istio with both spec Services keeps them (the reference's #3628).
	c := ro.Spec.Strategy.Canary
	c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{}}
	c.CanaryService, c.StableService = "canary", "stable"
	if r := serviceRoles(s); r.stable != "stable" || r.canary != "canary" {
		t.Errorf("istio with canaryService/stableService: %+v", r)
	}
}

func TestNewReplicaSetFull(t *testing.T) {
	rs := func(spec, avail int32) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{}
		r.Spec.Replicas = ptr.To(spec)
		r.Status.AvailableReplicas = avail
		return r
	}
	for _, tc := range []struct {
		name      string
		rs        *appsv1.ReplicaSet
		threshold *v1alpha1.ReplicaProgressThreshold
		want      bool
	}{
		{"full", rs(4, 4), nil, true},
		{"pods starting", rs(4, 3), nil, false},
		{"not sized yet", rs(3, 3), nil, false},
		{"75% meets a 70% threshold", rs(4, 3), &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePercentage, Value: 70}, true},
		{"3 pods meet a 3-pod threshold", rs(4, 3), &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePod, Value: 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{}
			ro.Spec.Replicas = ptr.To[int32](4)
			ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{ReplicaProgressThreshold: tc.threshold}
			s := newScope(ro, time.Now())
			s.newRS = tc.rs
			if got := newReplicaSetFull(s); got != tc.want {
				t.Errorf("newReplicaSetFull() = %v, want %v", got, tc.want)
			}
		})
	}
}
