package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Rejection reasons, the values of the reason label.
const (
	rejectUnknownType  = "unknown_type"
	rejectDisabled     = "disabled"
	rejectMethod       = "method"
	rejectTooLarge     = "too_large"
	rejectUnauthorized = "unauthorized"
	rejectMalformed    = "malformed"
	rejectInternal     = "internal"
)

// Metrics, registered with controller-runtime's registry like the image
// updater's others. The type label takes only the known types (and
// "unknown"), so a caller cannot grow it.
var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchyard", Subsystem: "image_updater", Name: "webhook_requests_total",
		Help: "Webhook requests received, by type.",
	}, []string{"type"})
	rejectedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchyard", Subsystem: "image_updater", Name: "webhook_requests_rejected_total",
		Help: "Webhook requests rejected, by type and reason (unknown_type, disabled, method, too_large, unauthorized, malformed, internal).",
	}, []string{"type", "reason"})
	eventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchyard", Subsystem: "image_updater", Name: "webhook_events_total",
		Help: "Push events read from accepted webhook requests, by type.",
	}, []string{"type"})
	triggersTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchyard", Subsystem: "image_updater", Name: "webhook_triggers_total",
		Help: "Image updaters triggered by webhook events, by type.",
	}, []string{"type"})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, rejectedTotal, eventsTotal, triggersTotal)
}
