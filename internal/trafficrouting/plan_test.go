package trafficrouting_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
)

func TestPlanPass(t *testing.T) {
	header := v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "preview",
		Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}}
	mirror := v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "copy", Percentage: ptr.To[int32](50)}}
	tests := []struct {
		name  string
		ro    func() *v1alpha1.Rollout
		sets  []tr.ReplicaSet
		newH  string
		gated bool
		want  []string
	}{
		{
			name: "a step: hash, weight, verify",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 1, setWeight(30), pause()) },
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 3)},
			want: []string{"UpdateHash(v2hash,v1hash)", "SetWeight(30)", "VerifyWeight(30)"},
		},
		{
			name:  "the stable cannot carry 70% yet (6 of the 7 pods): nothing",
			ro:    func() *v1alpha1.Rollout { return rollout(10, 1, setWeight(30), pause()) },
			sets:  []tr.ReplicaSet{rsa(v1, 10, 6), rs(v2, 3)},
			gated: true,
		},
		{
			name:  "no stable ReplicaSet (first deploy): nothing",
			ro:    func() *v1alpha1.Rollout { ro := rollout(10, 0, setWeight(30)); ro.Status.StableRS = ""; return ro },
			sets:  []tr.ReplicaSet{rsa(v2, 10, 3)},
			gated: true,
		},
		{
			name: "replicaProgressThreshold lets a short stable through the gate",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 1, setWeight(30), pause())
				ro.Spec.Strategy.Canary.ReplicaProgressThreshold = &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePercentage, Value: 50}
				return ro
			},
			sets: []tr.ReplicaSet{rsa(v1, 10, 6), rs(v2, 3)},
			want: []string{"UpdateHash(v2hash,v1hash)", "SetWeight(30)", "VerifyWeight(30)"},
		},
		{
			name: "V3 arrives while V2 has 30%: weight back to 0 before the hash moves to V3",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, setWeight(30), pause())
				ro.Status.Canary.Weights = weights(30, v2, 70)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 3), rsa(v3, 3, 0)},
			newH: v3,
			want: []string{"RemoveManagedRoutes", "SetWeight(0)", "UpdateHash(v3hash,v1hash)", "SetWeight(0)", "VerifyWeight(0)"},
		},
		{
			name: "the canary lost its pods: weight to 0 first",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 1, setWeight(30), pause())
				ro.Status.Canary.Weights = weights(30, v2, 70)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10), rsa(v2, 3, 0)},
			want: []string{"RemoveManagedRoutes", "SetWeight(0)", "UpdateHash(v2hash,v1hash)", "SetWeight(0)", "VerifyWeight(0)"},
		},
		{
			name: "a header route step past the first revision",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 1, setWeight(10), header, pause()) },
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 1)},
			want: []string{"SetHeaderRoute(preview)", "UpdateHash(v2hash,v1hash)", "SetWeight(10)", "VerifyWeight(10)"},
		},
		{
			name: "a mirror route step",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 1, setWeight(10), mirror, pause()) },
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 1)},
			want: []string{"SetMirrorRoute(copy)", "UpdateHash(v2hash,v1hash)", "SetWeight(10)", "VerifyWeight(10)"},
		},
		{
			name: "no header route at the first revision",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 1, setWeight(10), header, pause())
				ro.Annotations[v1alpha1.RevisionAnnotation] = "1"
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 1)},
			want: []string{"UpdateHash(v2hash,v1hash)", "SetWeight(10)", "VerifyWeight(10)"},
		},
		{
			name: "no header route once aborted, even on the header step: routes removed, all traffic back",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 0, header, setWeight(10), pause())
				ro.Status.Abort = true
				ro.Status.Canary.Weights = weights(10, v2, 90)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 1)},
			want: []string{"RemoveManagedRoutes", "UpdateHash(v2hash,v1hash)", "SetWeight(0,ended)", "VerifyWeight(0,ended)"},
		},
		{
			name: "fully promoted: routes removed, both hashes the new one, the canary ended",
			ro: func() *v1alpha1.Rollout {
				ro := rollout(10, 2, setWeight(10), pause())
				ro.Status.StableRS = v2
				ro.Status.Canary.Weights = weights(100, v2, 0)
				return ro
			},
			sets: []tr.ReplicaSet{rs(v2, 10), rs(v1, 10)},
			want: []string{"RemoveManagedRoutes", "UpdateHash(v2hash,v2hash)", "SetWeight(0,ended)", "VerifyWeight(0,ended)"},
		},
		{
			name: "past the last step with the canary full: max",
			ro:   func() *v1alpha1.Rollout { return rollout(10, 2, setWeight(10), pause()) },
			sets: []tr.ReplicaSet{rs(v1, 10), rs(v2, 10)},
			want: []string{"UpdateHash(v2hash,v1hash)", "SetWeight(100)", "VerifyWeight(100)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := in(tt.ro(), tt.sets...)
			if tt.newH != "" {
				input.NewHash = tt.newH
			}
			p := tr.PlanPass(input)
			if p.Gated != tt.gated {
				t.Fatalf("Gated = %v, want %v (%+v)", p.Gated, tt.gated, p.Desired)
			}
			var got []string
			for _, a := range p.Actions {
				got = append(got, a.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("actions\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	ro := rollout(10, 0, setWeight(30))
	exp := []v1alpha1.WeightDestination{{ServiceName: "exp", PodTemplateHash: "e1", Weight: 10}}
	got := tr.Weights(ro, tr.Desired{Weight: 30, CanaryHash: v2, StableHash: v1, Additional: exp})
	want := &v1alpha1.TrafficWeights{
		Canary:     v1alpha1.WeightDestination{Weight: 30, PodTemplateHash: v2, ServiceName: "canary"},
		Stable:     v1alpha1.WeightDestination{Weight: 60, PodTemplateHash: v1, ServiceName: "stable"},
		Additional: exp,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Weights = %+v, want %+v", got, want)
	}

	// After promotion: canary 0, stable max, same hashes.
	ro.Spec.Strategy.Canary.TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000)
	got = tr.Weights(ro, tr.Desired{CanaryHash: v2, StableHash: v2})
	if got.Canary.Weight != 0 || got.Stable.Weight != 1000 || got.Canary.PodTemplateHash != got.Stable.PodTemplateHash {
		t.Errorf("promoted Weights = %+v", got)
	}
	// Names come from the spec, even with ping-pong.
	ro.Spec.Strategy.Canary.PingPong = &v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}
	if got := tr.Weights(ro, tr.Desired{}); got.Canary.ServiceName != "canary" || got.Stable.ServiceName != "stable" {
		t.Errorf("ping-pong Weights names = %q/%q", got.Canary.ServiceName, got.Stable.ServiceName)
	}
	// Experiment weights beyond the rest leave the stable at 0, never below.
	got = tr.Weights(rollout(10, 0), tr.Desired{Weight: 95, Additional: exp})
	if got.Stable.Weight != 0 {
		t.Errorf("stable weight %d, want 0", got.Stable.Weight)
	}
}

func TestWeightsChangedAndMessage(t *testing.T) {
	a, b := weights(10, v2, 90), weights(30, v2, 70)
	if !tr.WeightsChanged(nil, a) || tr.WeightsChanged(a, weights(10, v2, 90)) || !tr.WeightsChanged(a, b) {
		t.Fatal("WeightsChanged compares the splits")
	}
	verified := weights(10, v2, 90)
	verified.Verified = ptr.To(true)
	if tr.WeightsChanged(a, verified) {
		t.Fatal("Verified alone is not a change")
	}
	if got := tr.WeightsMessage(a, b); got != "canary weight changed from 10 to 30" {
		t.Errorf("message %q", got)
	}
	if got := tr.WeightsMessage(nil, a); got != "canary weight set to 10" {
		t.Errorf("message %q", got)
	}
}

func TestStepComplete(t *testing.T) {
	ro := rollout(10, 0, setWeight(30), scaleReplicas(2), pause())
	at := in(ro, rs(v1, 10), rs(v2, 3))
	if !tr.StepComplete(at, nil) {
		t.Error("setWeight at its counts is complete")
	}
	if tr.StepComplete(at, &v1alpha1.TrafficWeights{Verified: ptr.To(false)}) {
		t.Error("setWeight with an unverified weight is not complete")
	}
	if tr.StepComplete(in(ro, rs(v1, 10), rsa(v2, 3, 2)), nil) {
		t.Error("setWeight with a canary pod not available is not complete")
	}
	if tr.StepComplete(in(ro, rsa(v1, 9, 9), rs(v2, 3)), nil) {
		t.Error("setWeight with the stable below R is not complete")
	}
	scale := rollout(10, 1, setWeight(30), scaleReplicas(2), pause())
	if !tr.StepComplete(in(scale, rs(v1, 10), rs(v2, 2)), &v1alpha1.TrafficWeights{Verified: ptr.To(false)}) {
		t.Error("setCanaryScale does not wait for verification")
	}
	if tr.StepComplete(in(rollout(10, 2, setWeight(30), scaleReplicas(2), pause()), rs(v1, 10), rs(v2, 2)), nil) {
		t.Error("a pause is not judged here")
	}
	dynamic := rollout(10, 0, setWeight(30), pause())
	dynamic.Spec.Strategy.Canary.DynamicStableScale = true
	if !tr.StepComplete(in(dynamic, rsa(v1, 10, 10), rs(v2, 3)), nil) {
		t.Error("with dynamicStableScale the stable's size is not waited for")
	}
}

func TestAfterVerify(t *testing.T) {
	split := tr.Split{Canary: 30, Max: 100}
	if d, err := tr.AfterVerify(split, nil, 10*time.Second); d != 0 || err != nil {
		t.Errorf("nil: %v %v", d, err)
	}
	if d, err := tr.AfterVerify(split, ptr.To(false), 10*time.Second); d != 10*time.Second || err != nil {
		t.Errorf("false mid-update: %v %v", d, err)
	}
	split.Canary = 100
	if _, err := tr.AfterVerify(split, ptr.To(false), 10*time.Second); !errors.Is(err, tr.ErrWeightNotVerified) {
		t.Errorf("false at max: %v", err)
	}
	if d, err := tr.AfterVerify(split, ptr.To(true), 10*time.Second); d != 0 || err != nil {
		t.Errorf("true: %v %v", d, err)
	}
}

func TestVerifyRetryInterval(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want time.Duration
		err  bool
	}{{"", 10 * time.Second, false}, {"3s", 3 * time.Second, false}, {"0s", 0, true}, {"-1s", 0, true}, {"ten", 0, true}} {
		got, err := tr.VerifyRetryInterval(func(string) string { return tt.env })
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("%q: %v, %v", tt.env, got, err)
		}
	}
}

func TestServiceTargets(t *testing.T) {
	steps := []v1alpha1.CanaryStep{setWeight(30), pause()}
	check := func(name string, input tr.Input, canary, stable string) {
		t.Helper()
		c, s := tr.ServiceTargets(input, tr.Desire(input))
		if c != canary || s != stable {
			t.Errorf("%s: canary %s stable %s, want %s %s", name, c, s, canary, stable)
		}
	}
	check("canary without pods stays on stable", in(rollout(10, 0, steps...), rs(v1, 10), rsa(v2, 3, 0)), v1, v1)
	check("canary with a pod", in(rollout(10, 0, steps...), rs(v1, 10), rsa(v2, 3, 1)), v2, v1)
	aborted := rollout(10, 0, steps...)
	aborted.Status.Abort = true
	check("abort returns the canary Service at once", in(aborted, rs(v1, 10), rs(v2, 3)), v1, v1)
	dyn := rollout(10, 0, setWeight(10), setWeight(30), setWeight(60))
	dyn.Spec.Strategy.Canary.DynamicStableScale = true
	dyn.Status.Abort = true
	dyn.Status.Canary.Weights = weights(60, v2, 40)
	check("a dynamic abort keeps it while the canary has traffic", in(dyn, rsa(v1, 7, 4), rs(v2, 6)), v2, v1)
	back := rollout(10, 0, setWeight(10), setWeight(30), setWeight(60))
	back.Spec.Strategy.Canary.DynamicStableScale = true
	back.Status.Canary.Weights = weights(60, v2, 40)
	rollback := in(back, rsa(v1, 10, 7), rs(v2, 6))
	rollback.NewHash = v1
	check("a rollback keeps it on the previous canary while it has traffic", rollback, v2, v1)
	first := rollout(10, 0, steps...)
	first.Status.StableRS = ""
	check("first deploy: both on the new ReplicaSet", in(first, rsa(v2, 10, 1)), v2, v2)
}

// recorder is a Router that records its calls.
type recorder struct {
	name     string
	calls    *[]string
	verified *bool
	failOn   tr.ActionKind
}

func (r recorder) record(kind tr.ActionKind, s string) error {
	*r.calls = append(*r.calls, r.name+":"+s)
	if kind == r.failOn {
		return fmt.Errorf("object ns/x is gone")
	}
	return nil
}
func (r recorder) Type() string { return r.name }
func (r recorder) UpdateHash(_ context.Context, c, s string, _ []v1alpha1.WeightDestination) error {
	return r.record(tr.ActionUpdateHash, "hash "+c+" "+s)
}
func (r recorder) SetWeight(_ context.Context, s tr.Split) error {
	return r.record(tr.ActionSetWeight, fmt.Sprintf("weight %d/%d", s.Canary, s.Stable()))
}
func (r recorder) SetHeaderRoute(_ context.Context, h *v1alpha1.SetHeaderRoute) error {
	return r.record(tr.ActionSetHeaderRoute, "header "+h.Name)
}
func (r recorder) SetMirrorRoute(_ context.Context, m *v1alpha1.SetMirrorRoute) error {
	return r.record(tr.ActionSetMirrorRoute, "mirror "+m.Name)
}
func (r recorder) VerifyWeight(_ context.Context, s tr.Split) (*bool, error) {
	return r.verified, r.record(tr.ActionVerifyWeight, fmt.Sprintf("verify %d", s.Canary))
}
func (r recorder) RemoveManagedRoutes(context.Context) error {
	return r.record(tr.ActionRemoveManagedRoutes, "remove")
}

func TestExecute(t *testing.T) {
	ro := rollout(10, 1, setWeight(30), pause())
	plan := tr.PlanPass(in(ro, rs(v1, 10), rs(v2, 3)))
	var calls []string
	out, err := tr.Execute(context.Background(), []tr.Router{
		recorder{name: "Istio", calls: &calls},
		recorder{name: "ALB", calls: &calls, verified: ptr.To(true)},
	}, plan)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Istio:hash v2hash v1hash", "Istio:weight 30/70", "Istio:verify 30",
		"ALB:hash v2hash v1hash", "ALB:weight 30/70", "ALB:verify 30",
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls\n got %v\nwant %v", calls, want)
	}
	if out.Verified == nil || !*out.Verified {
		t.Errorf("Verified = %v, want true", out.Verified)
	}

	calls = nil
	out, _ = tr.Execute(context.Background(), []tr.Router{
		recorder{name: "A", calls: &calls, verified: ptr.To(true)},
		recorder{name: "B", calls: &calls, verified: ptr.To(false)},
	}, plan)
	if out.Verified == nil || *out.Verified {
		t.Errorf("one false makes Verified false, got %v", out.Verified)
	}

	calls = nil
	_, err = tr.Execute(context.Background(), []tr.Router{recorder{name: "Nginx", calls: &calls, failOn: tr.ActionSetWeight}}, plan)
	if err == nil || !strings.Contains(err.Error(), "Nginx: SetWeight(30): object ns/x is gone") {
		t.Errorf("error %v does not name the router, the call and the object", err)
	}

	calls = nil
	out, err = tr.Execute(context.Background(), []tr.Router{recorder{name: "G", calls: &calls, failOn: tr.ActionVerifyWeight}}, plan)
	if err != nil || out.VerifyErr == nil || out.Verified != nil {
		t.Errorf("a verify error is reported, not failed: %v %+v", err, out)
	}

	calls = nil
	gated := tr.PlanPass(in(ro, rsa(v1, 10, 2), rs(v2, 3)))
	if _, err := tr.Execute(context.Background(), []tr.Router{recorder{name: "A", calls: &calls}}, gated); err != nil || len(calls) != 0 {
		t.Errorf("a gated plan calls nothing: %v %v", calls, err)
	}
}
