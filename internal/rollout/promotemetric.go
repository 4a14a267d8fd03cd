package rollout

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// A pending promote, for switchyard_promote_to_service_switch_seconds: the
// start of the first pass that saw a person's promote of revision hash at
// step (-1 without steps). Kept in memory only: a controller restart
// between the promote and the switch records nothing.
type pendingPromote struct {
	hash string
	step int32
	at   time.Time
}

// notePromote remembers when a pass first sees a person's promote: the
// pause conditions the controller set cleared while controllerPause is
// still set (kubectl argo rollouts promote), or status.promoteFull set
// (promote --full). A promote the controller has already acted on is not
// seen again, so repeated passes keep the first sighting.
func (r *Reconciler) notePromote(s *scope) {
	if r.Metrics == nil {
		return
	}
	st := &s.original.Status
	promoted := st.ControllerPause && len(st.PauseConditions) == 0 || st.PromoteFull
	if !promoted || st.CurrentPodHash == "" || st.CurrentPodHash == st.StableRS || st.Abort {
		return
	}
	step := int32(-1)
	if st.CurrentStepIndex != nil {
		step = *st.CurrentStepIndex
	}
	key := types.NamespacedName{Namespace: s.ro.Namespace, Name: s.ro.Name}
	if v, ok := r.promotes.Load(key); ok {
		if p := v.(pendingPromote); p.hash == st.CurrentPodHash && p.step == step {
			return
		}
	}
	r.promotes.Store(key, pendingPromote{hash: st.CurrentPodHash, step: step, at: s.now})
}

// observeSwitch records the promote-to-switch time when svc, the active
// (blue-green) or stable (canary) Service, has just been pointed at the
// promoted revision.
func (r *Reconciler) observeSwitch(s *scope, svc *corev1.Service, podHash string) {
	if r.Metrics == nil || !switchService(s.ro, svc) {
		return
	}
	key := types.NamespacedName{Namespace: s.ro.Namespace, Name: s.ro.Name}
	v, ok := r.promotes.Load(key)
	if !ok {
		return
	}
	if p := v.(pendingPromote); p.hash == podHash {
		r.promotes.Delete(key)
		r.Metrics.ObservePromoteToSwitch(s.ro, r.Clock.Since(p.at))
	}
}

// switchService: svc is the Service whose switch makes a revision live.
func switchService(ro *v1alpha1.Rollout, svc *corev1.Service) bool {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		return svc.Name == bg.ActiveService
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		return c.StableService != "" && svc.Name == c.StableService
	}
	return false
}
