package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Reasons a revision is promoted to stable, as the RolloutCompleted event
// gives them.
const (
	promotedInitialDeploy = "Initial deploy"
	promotedFull          = "Full promotion requested"
	promotedWithinWindow  = "Rollback within window"
	promotedBlueGreen     = "Completed blue-green update"
	promotedCanaryFormat  = "Completed all %d canary steps"
)

// addPause adds a pause condition (once) and remembers that the controller
// paused, so a client clearing the conditions reads as a promote.
func addPause(s *scope, reason v1alpha1.PauseReason) {
	st := &s.ro.Status
	for _, pc := range st.PauseConditions {
		if pc.Reason == reason {
			return
		}
	}
	st.PauseConditions = append(st.PauseConditions, v1alpha1.PauseCondition{Reason: reason, StartTime: metav1.NewTime(s.now)})
	st.ControllerPause = true
}

// clearPause removes every pause condition and controllerPause.
func clearPause(s *scope) {
	s.ro.Status.PauseConditions = nil
	s.ro.Status.ControllerPause = false
}

// promote makes the new ReplicaSet the stable one. Pauses, an abort and a
// full-promotion request end with it; a canary's step index moves past the
// last step (nil without steps, as the reference writes it).
func (r *Reconciler) promote(ctx context.Context, s *scope, reason string) {
	st := &s.ro.Status
	if st.StableRS == s.newHash {
		return
	}
	clearPause(s)
	st.Abort, st.AbortedAt, st.PromoteFull = false, nil, false
	st.BlueGreen.ScaleUpPreviewCheckPoint = false
	if c := s.ro.Spec.Strategy.Canary; c != nil {
		st.CurrentStepIndex = stepsDone(c)
	}
	st.StableRS = s.newHash
	r.Recorder.Eventf(s.ro, nil, corev1.EventTypeNormal, EventCompleted, "Promote",
		"Rollout completed update to revision %s (%s): %s", currentRevision(s), s.newHash, reason)
	ctrl.LoggerFrom(ctx).Info("promoted", "stableRS", s.newHash, "reason", reason)
}

// stepsDone is the step index of a canary past its last step.
func stepsDone(c *v1alpha1.CanaryStrategy) *int32 {
	if len(c.Steps) == 0 {
		return nil
	}
	return ptr.To(int32(len(c.Steps)))
}

// initialDeploy: no revision has ever been stable and no other ReplicaSet
// runs pods, so the first one goes live without steps or pauses.
func initialDeploy(s *scope) bool {
	if s.original.Status.StableRS != "" {
		return false
	}
	for _, rs := range s.olderReplicaSets() {
		if specReplicas(rs) > 0 || rs.Status.Replicas > 0 {
			return false
		}
	}
	return true
}

// standInStable picks the ReplicaSet that serves in place of a stable one
// that is not recorded (status lost) or was deleted by hand: the one with
// the most available pods, the newest on a tie. Treating the new revision
// as stable instead would move the whole fleet in one step.
func standInStable(s *scope) *appsv1.ReplicaSet {
	var best *appsv1.ReplicaSet
	for _, rs := range s.olderReplicaSets() {
		if specReplicas(rs) == 0 && rs.Status.AvailableReplicas == 0 {
			continue
		}
		if best == nil || rs.Status.AvailableReplicas > best.Status.AvailableReplicas ||
			rs.Status.AvailableReplicas == best.Status.AvailableReplicas && revision(rs) > revision(best) {
			best = rs
		}
	}
	return best
}

// withinRollbackWindow: the new ReplicaSet is an older revision than the
// stable one, and fewer than rollbackWindow.revisions ReplicaSets were
// created between the two. Such a rollback skips steps, pauses and analysis.
func withinRollbackWindow(s *scope) bool {
	w := s.ro.Spec.RollbackWindow
	stable := s.replicaSetByHash(s.ro.Status.StableRS)
	if w == nil || w.Revisions <= 0 || stable == nil || s.newRS == nil || stable == s.newRS {
		return false
	}
	if !s.newRS.CreationTimestamp.Before(&stable.CreationTimestamp) {
		return false
	}
	between := int32(0)
	for _, rs := range s.replicaSets {
		if rs.Annotations[v1alpha1.ExperimentNameAnnotationKey] != "" {
			continue
		}
		if s.newRS.CreationTimestamp.Before(&rs.CreationTimestamp) && rs.CreationTimestamp.Before(&stable.CreationTimestamp) {
			between++
		}
	}
	return between < w.Revisions
}

func promotedCanary(steps int) string { return fmt.Sprintf(promotedCanaryFormat, steps) }
