package rollout

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/conditions"
)

// scope is the state of one reconcile pass. It lives only for the pass.
type scope struct {
	ro       *v1alpha1.Rollout
	original *v1alpha1.Rollout
	now      time.Time
	// replaced are the Rollout's versions this pass's writes replaced.
	replaced []string

	// replicaSets are the Rollout's ReplicaSets, kept current as the pass
	// scales them. newRS is the one of the current pod template.
	replicaSets []*appsv1.ReplicaSet
	newRS       *appsv1.ReplicaSet
	newHash     string

	// services are the Services the strategy names, by name.
	services map[string]*corev1.Service
	// workload is the object spec.workloadRef names, once resolved.
	workload client.Object
	// runs are the AnalysisRuns the Rollout controls (from the cache);
	// terminated names those this pass terminated.
	runs       []*v1alpha1.AnalysisRun
	terminated map[string]bool
	// experiments are the Experiments the Rollout controls (from the
	// cache); terminatedExperiments names those this pass terminated;
	// stepExperiment is the current experiment step's Experiment while
	// the step waits on it.
	experiments           []*v1alpha1.Experiment
	terminatedExperiments map[string]bool
	stepExperiment        *v1alpha1.Experiment

	// invalid is the InvalidSpec message, if the spec cannot be acted on.
	invalid string
	// createError is the API server's refusal of the new ReplicaSet
	// (createErrorRS), if this pass's create failed.
	createError   error
	createErrorRS string
	// abortMessage says why this pass (or an earlier one) aborted on its
	// own, for the RolloutAborted condition; "" for a person's abort.
	abortMessage string

	// stop ends the pass after the current phase (the status is still
	// written); skipStatus leaves the status as it was.
	stop       bool
	skipStatus bool
	// statusComputed: computeStatus ran (once a pass).
	statusComputed bool
	// statusEvents are the events of the status's transitions (Paused,
	// Completed, ...), recorded once the status they announce is written:
	// a pass whose write conflicts records none, and the pass that
	// follows records them once.
	statusEvents []conditions.Event

	// trafficError is why the traffic routers could not be written this
	// pass; routersWritten says they were (TrafficRouting condition).
	trafficError   string
	routersWritten bool
}

func newScope(ro *v1alpha1.Rollout, now time.Time) *scope {
	return &scope{ro: ro, original: ro.DeepCopy(), now: now, services: map[string]*corev1.Service{}}
}

// replicaSetByHash returns the Rollout's ReplicaSet with the given
// pod-template hash, or nil.
func (s *scope) replicaSetByHash(hash string) *appsv1.ReplicaSet {
	if hash == "" {
		return nil
	}
	for _, rs := range s.replicaSets {
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == hash {
			return rs
		}
	}
	return nil
}

// olderReplicaSets are all but the new ReplicaSet.
func (s *scope) olderReplicaSets() []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range s.replicaSets {
		if rs != s.newRS {
			out = append(out, rs)
		}
	}
	return out
}

func revision(rs *appsv1.ReplicaSet) int64 {
	v, _ := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
	return v
}

func specReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

func hashOf(rs *appsv1.ReplicaSet) string {
	if rs == nil {
		return ""
	}
	return rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
}

// pauseStart is when the pause condition with reason began, or nil.
func pauseStart(st *v1alpha1.RolloutStatus, reason v1alpha1.PauseReason) *time.Time {
	for _, pc := range st.PauseConditions {
		if pc.Reason == reason {
			return &pc.StartTime.Time
		}
	}
	return nil
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
