// Package requeue combines the requeue requests of a reconcile pass's
// phases into the one result the pass returns. The Rollout, AnalysisRun
// and Experiment reconcilers share it.
package requeue

import (
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Sooner is whichever of a and b comes back first; a result without a
// RequeueAfter never comes back on its own.
func Sooner(a, b ctrl.Result) ctrl.Result {
	switch {
	case a.RequeueAfter == 0:
		return ctrl.Result{RequeueAfter: b.RequeueAfter}
	case b.RequeueAfter == 0:
		return ctrl.Result{RequeueAfter: a.RequeueAfter}
	}
	return ctrl.Result{RequeueAfter: min(a.RequeueAfter, b.RequeueAfter)}
}

// After comes back after d, never sooner than a millisecond (a zero
// RequeueAfter would mean "no requeue").
func After(d time.Duration) ctrl.Result {
	return ctrl.Result{RequeueAfter: max(d, time.Millisecond)}
}

// At comes back at t (never sooner than a millisecond); a zero t is no
// requeue.
func At(t, now time.Time) ctrl.Result {
	if t.IsZero() {
		return ctrl.Result{}
	}
	return After(t.Sub(now))
}
