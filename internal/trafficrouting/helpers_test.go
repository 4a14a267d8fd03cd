package trafficrouting_test

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	tr "github.com/switchyard-dev/switchyard/internal/trafficrouting"
)

// The hashes used throughout: v1 is the stable revision, v2 the canary, v3
// a revision that arrives mid-update.
const (
	v1 = "v1hash"
	v2 = "v2hash"
	v3 = "v3hash"
)

// rollout builds a traffic-routed canary of r replicas with the given
// steps, stable at v1, at step index.
func rollout(r int32, index int32, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "ro", Namespace: "ns", Annotations: map[string]string{v1alpha1.RevisionAnnotation: "2"}},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(r),
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				CanaryService: "canary", StableService: "stable",
				Steps:          steps,
				TrafficRouting: &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "ing"}},
			}},
		},
		Status: v1alpha1.RolloutStatus{StableRS: v1, CurrentPodHash: v2, CurrentStepIndex: ptr.To(index)},
	}
}

func setWeight(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: ptr.To(w)} }

func pause() v1alpha1.CanaryStep { return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}} }

func scaleReplicas(n int32) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr.To(n)}}
}

func scaleWeight(w int32) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{SetCanaryScale: &v1alpha1.SetCanaryScale{Weight: ptr.To(w)}}
}

func matchTraffic() v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{SetCanaryScale: &v1alpha1.SetCanaryScale{MatchTrafficWeight: true}}
}

// rs is a settled ReplicaSet: spec, available and created all n.
func rs(hash string, n int32) tr.ReplicaSet {
	return tr.ReplicaSet{Hash: hash, Replicas: n, Available: n, Created: n}
}

// rsa is a ReplicaSet with spec n of which avail are available.
func rsa(hash string, n, avail int32) tr.ReplicaSet {
	return tr.ReplicaSet{Hash: hash, Replicas: n, Available: avail, Created: n}
}

func weights(canary int32, canaryHash string, stable int32) *v1alpha1.TrafficWeights {
	return &v1alpha1.TrafficWeights{
		Canary: v1alpha1.WeightDestination{Weight: canary, PodTemplateHash: canaryHash, ServiceName: "canary"},
		Stable: v1alpha1.WeightDestination{Weight: stable, PodTemplateHash: v1, ServiceName: "stable"},
	}
}

func in(ro *v1alpha1.Rollout, sets ...tr.ReplicaSet) tr.Input {
	return tr.Input{Rollout: ro, NewHash: v2, ReplicaSets: sets}
}
