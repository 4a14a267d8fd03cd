package rollout

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
)

func (r *Reconciler) runCanary(ctx context.Context, s *scope) (ctrl.Result, error) {
	return ctrl.Result{}, nil
}
