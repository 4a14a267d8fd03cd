package invariant

import (
	"testing"
	"time"

	"github.com/switchyard-dev/switchyard/test/history"
)

const ns = "chaos"

// sim applies changes to a state and shows each new state to a Checker, as
// a replay does.
type sim struct {
	st history.State
	k  *Checker
	rv int64
	t  time.Time
}

func newSim() *sim {
	s := &sim{st: history.State{}, k: NewChecker(), t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, kind := range []string{Pods, ReplicaSets, EndpointSlices, Services, Rollouts} {
		s.st[kind] = map[string]any{}
	}
	s.k.Visit(s.st, nil)
	return s
}

func (s *sim) change(kind, name string, fact any, deleted bool) {
	s.rv++
	s.t = s.t.Add(100 * time.Millisecond)
	k := key(ns, name)
	if deleted {
		fact = s.st[kind][k]
		delete(s.st[kind], k)
	} else {
		s.st[kind][k] = fact
	}
	s.k.Visit(s.st, &history.Change{Kind: kind, RV: s.rv, At: s.t, Name: k, Deleted: deleted, Fact: fact})
}

func (s *sim) set(kind, name string, fact any) { s.change(kind, name, fact, false) }
func (s *sim) del(kind, name string)           { s.change(kind, name, nil, true) }

func (s *sim) rollout(ro Rollout) {
	ro.Namespace = ns
	s.set(Rollouts, ro.Name, ro)
}

func (s *sim) rs(ro, hash, image string, replicas int32) {
	name := ro + "-" + hash
	s.set(ReplicaSets, name, ReplicaSet{Namespace: ns, Name: name, UID: name + "-uid", Rollout: ro, Hash: hash, Image: image, Replicas: replicas})
}

func (s *sim) pod(ro, hash, name string, ready, terminating bool) {
	s.set(Pods, name, Pod{Namespace: ns, Name: name, ReplicaSet: ro + "-" + hash, Hash: hash, Ready: ready, Terminating: terminating})
}

func (s *sim) slice(svc string, ready int) {
	s.set(EndpointSlices, svc+"-x", EndpointSlice{Namespace: ns, Name: svc + "-x", Service: svc, Ready: ready})
}

func blueGreen(stable string) Rollout {
	return Rollout{Name: "bg", BlueGreen: true, Replicas: 2, PreviewReplicas: 2, ProductionService: "active", StableRS: stable}
}

func canary(stable string) Rollout {
	return Rollout{Name: "c", Replicas: 4, MaxSurge: 1, MaxUnavailable: 1, ProductionService: "stable", StableRS: stable}
}

// healthyBlueGreen: bg at revision a, two ready pods behind "active".
func healthyBlueGreen() *sim {
	s := newSim()
	s.rollout(blueGreen("a"))
	s.rs("bg", "a", "v1", 2)
	s.pod("bg", "a", "a1", true, false)
	s.pod("bg", "a", "a2", true, false)
	s.slice("active", 2)
	return s
}

// healthyCanary: canary at revision a, four ready pods behind "stable".
func healthyCanary() *sim {
	s := newSim()
	s.rollout(canary("a"))
	s.rs("c", "a", "v1", 4)
	for _, p := range []string{"a1", "a2", "a3", "a4"} {
		s.pod("c", "a", p, true, false)
	}
	s.slice("stable", 4)
	return s
}

func TestChecker(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func() *sim
		want []string // the checks violated, in order
	}{
		{
			name: "blue-green update switched on ready pods: clean",
			run: func() *sim {
				s := healthyBlueGreen()
				s.rs("bg", "b", "v2", 2)
				s.pod("bg", "b", "b1", true, false)
				s.pod("bg", "b", "b2", true, false)
				s.slice("active", 2) // now the b pods
				s.rollout(blueGreen("b"))
				s.rs("bg", "a", "v1", 0)
				s.pod("bg", "a", "a1", true, true)
				s.pod("bg", "a", "a2", true, true)
				s.del(Pods, "a1")
				s.del(Pods, "a2")
				return s
			},
		},
		{
			name: "the active Service empty for a moment",
			run: func() *sim {
				s := healthyBlueGreen()
				s.slice("active", 0)
				s.slice("active", 2)
				return s
			},
			want: []string{TooFewReady, NoReadyEndpoint}, // same state: by name
		},
		{
			name: "a Service that never had an endpoint is not a violation yet",
			run: func() *sim {
				s := newSim()
				s.rollout(blueGreen(""))
				s.slice("active", 0)
				s.rs("bg", "a", "v1", 2)
				s.pod("bg", "a", "a1", false, false)
				return s
			},
		},
		{
			name: "blue-green with three full sets of pods",
			run: func() *sim {
				s := healthyBlueGreen()
				s.rs("bg", "b", "v2", 2)
				s.pod("bg", "b", "b1", false, false)
				s.pod("bg", "b", "b2", false, false)
				s.rs("bg", "c", "v3", 1)
				s.pod("bg", "c", "c1", false, false)
				return s
			},
			want: []string{TooManyPods},
		},
		{
			name: "a pod the ReplicaSet controller made beyond its spec is not the Rollout's",
			run: func() *sim {
				s := healthyBlueGreen()
				s.rs("bg", "b", "v2", 2)
				s.pod("bg", "b", "b1", false, false)
				s.pod("bg", "b", "b2", false, false)
				s.pod("bg", "b", "b3", false, false) // spec 2: kube-controller-manager's extra
				s.del(Pods, "b3")
				return s
			},
		},
		{
			name: "a pod made while its ReplicaSet wanted it counts, whatever the spec later",
			run: func() *sim {
				s := healthyBlueGreen()
				s.rs("bg", "b", "v2", 3)
				s.pod("bg", "b", "b1", false, false)
				s.pod("bg", "b", "b2", false, false)
				s.pod("bg", "b", "b3", false, false) // 5 pods, at most 4
				s.rs("bg", "b", "v2", 2)
				return s
			},
			want: []string{TooManyPods},
		},
		{
			name: "canary within maxSurge and maxUnavailable: clean",
			run: func() *sim {
				s := healthyCanary()
				s.rs("c", "b", "v2", 1)
				s.pod("c", "b", "b1", false, false) // 5 pods = 4 + maxSurge 1
				s.pod("c", "b", "b1", true, false)
				s.rs("c", "a", "v1", 3)
				s.pod("c", "a", "a4", true, true) // scale-down: 3 ready + 1 = 4
				s.del(Pods, "a4")
				return s
			},
		},
		{
			name: "canary above maxSurge",
			run: func() *sim {
				s := healthyCanary()
				s.rs("c", "b", "v2", 2)
				s.pod("c", "b", "b1", false, false)
				s.pod("c", "b", "b2", false, false)
				s.del(Pods, "b2")
				return s
			},
			want: []string{TooManyPods},
		},
		{
			name: "canary below maxUnavailable after it was fully ready",
			run: func() *sim {
				s := healthyCanary()
				s.rs("c", "a", "v1", 2)
				s.pod("c", "a", "a1", true, true)
				s.pod("c", "a", "a2", true, true)
				return s
			},
			want: []string{TooFewReady},
		},
		{
			name: "canary not yet fully ready is not below its minimum",
			run: func() *sim {
				s := newSim()
				s.rollout(canary(""))
				s.rs("c", "a", "v1", 4)
				s.pod("c", "a", "a1", true, false)
				return s
			},
		},
		{
			name: "a second ReplicaSet for the same template",
			run: func() *sim {
				s := healthyCanary()
				s.rs("c", "x", "v1", 0)
				return s
			},
			want: []string{ExtraReplicaSet},
		},
		{
			name: "a stable pod deleted while its ReplicaSet wants it",
			run: func() *sim {
				s := healthyCanary()
				s.del(Pods, "a3")
				s.pod("c", "a", "a5", true, false)
				return s
			},
			want: []string{PodLost}, // 3 ready of 4 is within maxUnavailable 1
		},
		{
			name: "a blue-green stable ReplicaSet scaled down while stable",
			run: func() *sim {
				s := healthyBlueGreen()
				s.rs("bg", "a", "v1", 1)
				s.pod("bg", "a", "a2", true, true)
				return s
			},
			want: []string{PodLost},
		},
		{
			name: "the stable ReplicaSet deleted",
			run: func() *sim {
				s := healthyCanary()
				s.del(ReplicaSets, "c-a")
				s.pod("c", "a", "a1", true, true)
				return s
			},
			want: []string{PodLost},
		},
		{
			name: "pods of a revision that is not stable may go",
			run: func() *sim {
				s := healthyCanary()
				s.rs("c", "b", "v2", 1)
				s.pod("c", "b", "b1", true, false)
				s.pod("c", "b", "b1", true, true)
				return s
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.run()
			var got []string
			for _, v := range s.k.Violations() {
				got = append(got, v.Check)
				t.Log(v)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("violations %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("violations %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// TestSpans: a bound broken over several states is one violation, from
// the state that broke it to the one that mended it.
func TestSpans(t *testing.T) {
	s := healthyBlueGreen()
	s.slice("active", 0)
	from := s.t
	s.rs("bg", "b", "v2", 2)
	s.slice("active", 1)
	to := s.t
	s.slice("active", 0)
	vs := s.k.Violations()
	var gaps []Violation
	for _, v := range vs {
		if v.Check == NoReadyEndpoint {
			gaps = append(gaps, v)
		}
	}
	if len(gaps) != 2 {
		t.Fatalf("got %d spans without an endpoint, want 2: %v", len(gaps), vs)
	}
	if !gaps[0].From.Equal(from) || gaps[0].To == nil || !gaps[0].To.Equal(to) {
		t.Errorf("first span %s..%v, want %s..%s", gaps[0].From, gaps[0].To, from, to)
	}
	if gaps[1].To != nil {
		t.Errorf("second span should be open at the end: %v", gaps[1])
	}
}

func TestOverCreatedPodsAreCounted(t *testing.T) {
	s := healthyBlueGreen()
	s.rs("bg", "b", "v2", 1)
	s.pod("bg", "b", "b1", false, false)
	s.pod("bg", "b", "b2", false, false)
	if s.k.OverCreated != 1 {
		t.Fatalf("OverCreated = %d, want 1 (b2 is beyond spec.replicas 1)", s.k.OverCreated)
	}
	s.del(Pods, "b2")
	s.pod("bg", "b", "b2", false, false)
	if s.k.OverCreated != 2 {
		t.Fatalf("OverCreated = %d, want 2 after a second pod beyond the spec", s.k.OverCreated)
	}
}
