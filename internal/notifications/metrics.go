package notifications

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the reference's notification metrics.
type Metrics struct {
	// Success counts notifications delivered, Error failed send attempts
	// and notifications dropped (queue full, retries exhausted, a
	// malformed template or trigger); both by the event's namespace, name,
	// type and reason.
	Success, Error *prometheus.CounterVec
	// Duration observes each send's duration, by namespace and name.
	Duration *prometheus.HistogramVec
}

// NewMetrics registers the metrics on reg. Registered already (several
// managers in one process, as in tests), the registered ones are reused.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	labels := []string{"namespace", "name", "type", "reason"}
	m := &Metrics{
		Success: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notification_send_success",
			Help: "Notifications delivered.",
		}, labels),
		Error: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notification_send_error",
			Help: "Failed notification send attempts and dropped notifications.",
		}, labels),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "notification_send",
			Help:    "Notification send performance.",
			Buckets: []float64{0.01, 0.15, 0.25, 0.5, 1},
		}, []string{"namespace", "name"}),
	}
	var err error
	if m.Success, err = register(reg, m.Success); err != nil {
		return nil, err
	}
	if m.Error, err = register(reg, m.Error); err != nil {
		return nil, err
	}
	if m.Duration, err = register(reg, m.Duration); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
