// Package notifications sends the reference's notifications (Argo Rollouts'
// notifications-engine model) for Rollout events: a Rollout event's reason
// names a trigger (on-<kebab reason>), the Rollout's subscription
// annotations and the ConfigMap's global subscriptions name the
// destinations, and notifications-engine renders the templates and sends.
//
// Sending is off the reconcile path: the event recorder only enqueues into
// a bounded queue; a worker sends with retries and backoff, and records what
// it sent on the Rollout (annotation notified.notifications.argoproj.io) so
// a transition whose event is recorded again (a pass re-run after a
// conflict, a controller restart) is not announced twice.
package notifications

import (
	"strings"
	"unicode"
)

// Trigger is the notification trigger an event reason fires, as in the
// reference: "on-" and the reason in kebab case (RolloutStepCompleted →
// on-rollout-step-completed, AnalysisRunFailed → on-analysis-run-failed).
// An empty reason fires nothing.
func Trigger(reason string) string {
	if reason == "" {
		return ""
	}
	return "on-" + kebab(reason)
}

// kebab turns a CamelCase word into kebab case; a run of capitals is one
// word (HTTPRoute → http-route).
func kebab(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prev := r[i-1]
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
