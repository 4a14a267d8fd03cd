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

// The metrics of argocd-image-updater.argoproj.io ImageUpdaters, with
// argocd-image-updater's names and labels.
var (
	appLabels   = []string{"image_updater_cr_name", "image_updater_cr_namespace"}
	appsWatched = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "argocd_image_updater_applications_watched_total",
		Help: "Applications matched by the ImageUpdater at its last check.",
	}, appLabels)
	imagesWatched = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "argocd_image_updater_images_watched_total",
		Help: "Images checked at the ImageUpdater's last check.",
	}, appLabels)
	imagesUpdated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argocd_image_updater_images_updated_total",
		Help: "Images written back.",
	}, appLabels)
	imagesErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argocd_image_updater_images_errors_total",
		Help: "Errors while checking or writing back images.",
	}, appLabels)
)

func init() {
	metrics.Registry.MustRegister(pollsTotal, changesTotal, writeBacksTotal, errorsTotal,
		appsWatched, imagesWatched, imagesUpdated, imagesErrors)
}

// forgetAppMetrics drops the series of a deleted argocd-image-updater
// ImageUpdater.
func forgetAppMetrics(namespace, name string) {
	l := prometheus.Labels{"image_updater_cr_name": name, "image_updater_cr_namespace": namespace}
	for _, v := range []*prometheus.MetricVec{appsWatched.MetricVec, imagesWatched.MetricVec, imagesUpdated.MetricVec, imagesErrors.MetricVec} {
		v.DeletePartialMatch(l)
	}
}

// forgetMetrics drops the series of a deleted ImageUpdater.
func forgetMetrics(namespace, name string) {
	l := prometheus.Labels{"namespace": namespace, "name": name}
	pollsTotal.DeletePartialMatch(l)
	changesTotal.DeletePartialMatch(l)
	writeBacksTotal.DeletePartialMatch(l)
	errorsTotal.DeletePartialMatch(l)
}
