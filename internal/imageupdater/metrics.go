package imageupdater

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics, registered with controller-runtime's registry so the manager's
// metrics endpoint serves them. Labels identify the ImageUpdater and the
// image alias; cardinality is bounded by the number of watched images.
var (
	pollsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchyard", Subsystem: "image_updater", Name: "polls_total",
		Help: "Registry polls per image, by result (success or error).",
	}, []string{"namespace", "name", "image", "result"})
	changesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchyard", Subsystem: "image_updater", Name: "changes_total",
		Help: "New tags or digests seen in the registry per image.",
	}, []string{"namespace", "name", "image"})
	writeBacksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchyard", Subsystem: "image_updater", Name: "write_backs_total",
		Help: "Write-backs per image, by method and result (changed, unchanged or error).",
	}, []string{"namespace", "name", "image", "method", "result"})
	errorsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchyard", Subsystem: "image_updater", Name: "errors_total",
		Help: "Failures per image, by condition reason.",
	}, []string{"namespace", "name", "image", "reason"})
)

func init() {
	metrics.Registry.MustRegister(pollsTotal, changesTotal, writeBacksTotal, errorsTotal)
}

// forgetMetrics drops the series of a deleted ImageUpdater.
func forgetMetrics(namespace, name string) {
	l := prometheus.Labels{"namespace": namespace, "name": name}
	pollsTotal.DeletePartialMatch(l)
	changesTotal.DeletePartialMatch(l)
	writeBacksTotal.DeletePartialMatch(l)
	errorsTotal.DeletePartialMatch(l)
}
