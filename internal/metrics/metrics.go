// Package metrics exports the controller's Prometheus metrics under the
// names, types and labels Argo Rollouts uses, so that dashboards and alerts
// written for it keep working, plus Switchyard's own under a switchyard_
// prefix.
//
// The info and phase gauges are computed at scrape time from the manager's
// cache, never kept between scrapes: a deleted object's series go with it.
// Reconcile durations and errors, events and API requests are counted as
// they happen by the recorders this package hands to the reconcilers, the
// event recorder and the REST client's transport.
package metrics

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Names of the reference's metrics.
const (
	RolloutInfo                = "rollout_info"
	RolloutInfoReplicasAvail   = "rollout_info_replicas_available"
	RolloutInfoReplicasUnavail = "rollout_info_replicas_unavailable"
	RolloutInfoReplicasDesired = "rollout_info_replicas_desired"
	RolloutInfoReplicasUpdated = "rollout_info_replicas_updated"
	RolloutCreatedTime         = "rollout_created_time"
	RolloutPhase               = "rollout_phase"
	RolloutReconcile           = "rollout_reconcile"
	RolloutReconcileError      = "rollout_reconcile_error"
	RolloutEventsTotal         = "rollout_events_total"

	ExperimentInfo           = "experiment_info"
	ExperimentPhase          = "experiment_phase"
	ExperimentReconcile      = "experiment_reconcile"
	ExperimentReconcileError = "experiment_reconcile_error"

	AnalysisRunInfo            = "analysis_run_info"
	AnalysisRunPhase           = "analysis_run_phase"
	AnalysisRunMetricType      = "analysis_run_metric_type"
	AnalysisRunMetricPhase     = "analysis_run_metric_phase"
	AnalysisRunReconcile       = "analysis_run_reconcile"
	AnalysisRunReconcileError  = "analysis_run_reconcile_error"
	AnalysisTemplateInfo       = "analysis_template_info"
	AnalysisTemplateMetricInfo = "analysis_template_metric_info"

	K8sRequestTotal = "controller_clientset_k8s_request_total"
	ControllerInfo  = "argo_rollouts_controller_info"
	BuildInfo       = "build_info"
)

// Switchyard's own.
const (
	// PromoteToServiceSwitch is the time from the pass that sees a person's
	// promote to the write that points the active (blue-green) or stable
	// (canary) Service at the promoted pods.
	PromoteToServiceSwitch = "switchyard_promote_to_service_switch_seconds"
)

// ReconcileBuckets are the reference's reconcile histogram buckets, in
// seconds.
var reconcileBuckets = []float64{0.01, 0.15, 0.25, 0.5, 1}

// promoteBuckets are the promote-to-switch histogram's buckets, in seconds:
// from a same-pass switch to a canary with minutes of steps left.
var promoteBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}

// Options say what the scrape-time gauges may list.
type Options struct {
	// Reader lists the objects (the manager's cached client).
	Reader client.Reader
	// Requests counts API requests (nil: a counter nothing feeds).
	Requests *RequestCounter
	// AnalysisRuns and Experiments: the API server serves those kinds
	// (their gauges are empty otherwise). ClusterTemplates: the
	// controller may read ClusterAnalysisTemplates.
	AnalysisRuns, Experiments, ClusterTemplates bool
	// Version is the controller's version label; "" reads it from the
	// binary's build information.
	Version string
	// Log receives scrape-time listing errors.
	Log logr.Logger
	// ScrapeTimeout bounds the cache reads of one scrape (default 10s).
	ScrapeTimeout time.Duration
}

// Metrics holds every metric the controller exports. It is a
// prometheus.Collector: register it once per process (Register, or the
// manager Runnable of Runnable).
type Metrics struct {
	opts Options

	// Per-object series, kept compact (compact.go).
	rolloutReconcile      *compactHistogram
	rolloutReconcileError *compactCounter
	rolloutEvents         *compactCounter

	analysisRunReconcile      *compactHistogram
	analysisRunReconcileError *compactCounter
	experimentReconcile       *compactHistogram
	experimentReconcileError  *compactCounter

	requests *RequestCounter

	promoteToSwitch *compactHistogram

	controllerInfo prometheus.Gauge
	buildInfo      prometheus.Gauge

	objects *objectCollector
}

// New builds the metrics; nothing is registered yet.
func New(opts Options) *Metrics {
	if opts.Requests == nil {
		opts.Requests = NewRequestCounter()
	}
	if opts.ScrapeTimeout <= 0 {
		opts.ScrapeTimeout = 10 * time.Second
	}
	version, commit := buildVersion()
	if opts.Version != "" {
		version = opts.Version
	}
	histogram := func(name, help string) *compactHistogram {
		return newCompactHistogram(name, help, reconcileBuckets, "namespace", "name")
	}
	counter := func(name, help string) *compactCounter {
		return newCompactCounter(name, help, "namespace", "name")
	}
	m := &Metrics{
		opts:                      opts,
		rolloutReconcile:          histogram(RolloutReconcile, "Rollout reconciliation performance."),
		rolloutReconcileError:     counter(RolloutReconcileError, "Errors occurring during the rollout reconciliation."),
		rolloutEvents:             newCompactCounter(RolloutEventsTotal, "Events recorded for Rollouts, by type and reason.", "namespace", "name", "type", "reason"),
		analysisRunReconcile:      histogram(AnalysisRunReconcile, "AnalysisRun reconciliation performance."),
		analysisRunReconcileError: counter(AnalysisRunReconcileError, "Errors occurring during the AnalysisRun reconciliation."),
		experimentReconcile:       histogram(ExperimentReconcile, "Experiment reconciliation performance."),
		experimentReconcileError:  counter(ExperimentReconcileError, "Errors occurring during the Experiment reconciliation."),
		requests:                  opts.Requests,
		promoteToSwitch: newCompactHistogram(PromoteToServiceSwitch,
			"Seconds from the reconcile pass that sees a person's promote to the write that points the active (blue-green) or stable (canary) Service at the promoted pods.",
			promoteBuckets, "namespace", "name", "strategy"),
		controllerInfo: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        ControllerInfo,
			Help:        "Running controller's version (Argo Rollouts' name, kept for dashboards).",
			ConstLabels: prometheus.Labels{"version": version},
		}),
		buildInfo: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: BuildInfo,
			Help: "The controller's build.",
			ConstLabels: prometheus.Labels{
				"version": version, "goversion": runtime.Version(), "goarch": runtime.GOARCH, "commit": commit,
			},
		}),
		objects: newObjectCollector(opts),
	}
	m.controllerInfo.Set(1)
	m.buildInfo.Set(1)
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.rolloutReconcile, m.rolloutReconcileError, m.rolloutEvents,
		m.analysisRunReconcile, m.analysisRunReconcileError,
		m.experimentReconcile, m.experimentReconcileError,
		m.requests.counter, m.promoteToSwitch, m.controllerInfo, m.buildInfo,
		m.objects,
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

// Runnable registers m on reg while the manager runs, and unregisters it
// when the manager stops, so that managers started one after another in a
// process (tests) each export their own. It runs on every replica, leader
// or not, as the metrics endpoint does.
func (m *Metrics) Runnable(reg prometheus.Registerer) Registration {
	return Registration{m: m, reg: reg}
}

// Registration is the manager Runnable of Runnable.
type Registration struct {
	m   *Metrics
	reg prometheus.Registerer
}

// Start registers the metrics and unregisters them when ctx ends.
func (r Registration) Start(ctx context.Context) error {
	if err := r.reg.Register(r.m); err != nil {
		if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
			return errors.New("register metrics: another controller in this process already exports them")
		}
		return err
	}
	<-ctx.Done()
	r.reg.Unregister(r.m)
	return nil
}

// NeedLeaderElection is false: every replica serves its metrics.
func (Registration) NeedLeaderElection() bool { return false }

// buildVersion reads the main module's version and VCS revision.
func buildVersion() (version, commit string) {
	version, commit = "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, commit
	}
	if v := bi.Main.Version; v != "" {
		version = v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			commit = s.Value
		}
	}
	return version, commit
}
