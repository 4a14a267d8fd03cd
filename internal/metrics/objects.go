package metrics

import (
	"context"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
	"github.com/switchyard-dev/switchyard/internal/phase"
)

// Values of rollout_info's and rollout_phase's phase label: the reference's
// vocabulary, which names a Degraded Rollout by its cause.
const (
	PhaseCompleted   = "Completed"
	PhaseProgressing = "Progressing"
	PhasePaused      = "Paused"
	PhaseTimeout     = "Timeout"
	PhaseError       = "Error"
	PhaseAbort       = "Abort"
	PhaseInvalidSpec = "InvalidSpec"
)

// rolloutPhases are the values rollout_phase has one series for each.
var rolloutPhases = []string{PhaseCompleted, PhaseProgressing, PhasePaused, PhaseTimeout, PhaseError, PhaseAbort, PhaseInvalidSpec}

// analysisPhases are the values analysis_run_phase, experiment_phase and
// analysis_run_metric_phase have one series for each.
var analysisPhases = []v1alpha1.AnalysisPhase{
	v1alpha1.AnalysisPhasePending, v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhaseSuccessful,
	v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive,
}

// Phase is rollout_info's phase label: the phase Switchyard writes to
// status.phase (internal/phase), in the reference's words. Healthy is
// Completed; Degraded is named by its cause.
func Phase(ro *v1alpha1.Rollout) string {
	p, _ := phase.Compute(ro)
	if c := ro.Status.GetCondition(v1alpha1.RolloutProgressing); p != v1alpha1.RolloutPhaseDegraded &&
		c != nil && c.Status == corev1.ConditionFalse && c.Reason == v1alpha1.FailedRSCreateReason {
		// status.phase stays Progressing, as the reference's does; its
		// metric names the refused ReplicaSet an Error.
		return PhaseError
	}
	switch p {
	case v1alpha1.RolloutPhaseHealthy:
		return PhaseCompleted
	case v1alpha1.RolloutPhasePaused:
		return PhasePaused
	case v1alpha1.RolloutPhaseProgressing:
		return PhaseProgressing
	}
	switch reason, _ := phase.DegradedBy(ro); reason {
	case v1alpha1.InvalidSpecReason:
		return PhaseInvalidSpec
	case v1alpha1.RolloutAbortedReason:
		return PhaseAbort
	case v1alpha1.TimedOutReason:
		return PhaseTimeout
	}
	return PhaseError
}

// Strategy is the strategy label: blueGreen, canary or none.
func Strategy(ro *v1alpha1.Rollout) string {
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		return "blueGreen"
	case ro.Spec.Strategy.Canary != nil:
		return "canary"
	}
	return "none"
}

// TrafficRouter is the traffic_router label. Where the reference names a
// router (ALB, Ambassador, Istio, Nginx, SMI, AppMesh; the last set in that
// order wins) it is the same; where the reference leaves it empty,
// Switchyard names the router: Traefik, APISIX, or the plugin's name.
func TrafficRouter(ro *v1alpha1.Rollout) string {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return ""
	}
	tr := c.TrafficRouting
	name := ""
	plugins := make([]string, 0, len(tr.Plugins))
	for p := range tr.Plugins {
		plugins = append(plugins, p)
	}
	slices.Sort(plugins)
	for _, p := range plugins {
		name = p
	}
	for _, r := range []struct {
		name string
		set  bool
	}{
		{"APISIX", tr.Apisix != nil},
		{"Traefik", tr.Traefik != nil},
		{"ALB", tr.ALB != nil},
		{"Ambassador", tr.Ambassador != nil},
		{"Istio", tr.Istio != nil},
		{"Nginx", tr.Nginx != nil},
		{"SMI", tr.SMI != nil},
		{"AppMesh", tr.AppMesh != nil},
	} {
		if r.set {
			name = r.name
		}
	}
	return name
}

// MetricType is the type label of an analysis metric: its provider, as the
// reference spells it ("Unknown" with none).
func MetricType(p *v1alpha1.MetricProvider) string {
	types := provider.TypeOf(p)
	if len(types) == 0 {
		return "Unknown"
	}
	switch t := types[0]; t {
	case provider.Prometheus:
		return "Prometheus"
	case provider.Web:
		return "Web"
	case provider.Job:
		return "Job"
	case "kayenta":
		return "Kayenta"
	case "datadog":
		return "Datadog"
	case "wavefront":
		return "Wavefront"
	case "newRelic":
		return "NewRelic"
	case "cloudWatch":
		return "CloudWatch"
	case "graphite":
		return "Graphite"
	case "influxdb":
		return "Influxdb"
	case "skywalking":
		return "SkyWalking"
	case "plugin":
		return "Plugin"
	default:
		return t
	}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// objectCollector computes the info and phase gauges from the cache at
// each scrape.
type objectCollector struct {
	opts Options

	rolloutInfo, replicasAvailable, replicasUnavailable, replicasDesired, replicasUpdated *prometheus.Desc
	rolloutCreated, rolloutPhase                                                          *prometheus.Desc
	experimentInfo, experimentPhase                                                       *prometheus.Desc
	runInfo, runPhase, runMetricType, runMetricPhase                                      *prometheus.Desc
	templateInfo, templateMetricInfo                                                      *prometheus.Desc
}

func newObjectCollector(opts Options) *objectCollector {
	nn := []string{"namespace", "name"}
	return &objectCollector{
		opts:                opts,
		rolloutInfo:         desc(RolloutInfo, "Information about a Rollout.", "namespace", "name", "strategy", "traffic_router", "phase"),
		replicasAvailable:   desc(RolloutInfoReplicasAvail, "Available replicas of a Rollout.", nn...),
		replicasUnavailable: desc(RolloutInfoReplicasUnavail, "Replicas of a Rollout not available (status.replicas - status.availableReplicas).", nn...),
		replicasDesired:     desc(RolloutInfoReplicasDesired, "Replicas a Rollout asks for (spec.replicas, default 1).", nn...),
		replicasUpdated:     desc(RolloutInfoReplicasUpdated, "Replicas of a Rollout running its current template.", nn...),
		rolloutCreated:      desc(RolloutCreatedTime, "Creation time of a Rollout, in Unix seconds.", nn...),
		rolloutPhase:        desc(RolloutPhase, "Deprecated (use rollout_info): 1 for a Rollout's phase, 0 for the others.", "namespace", "name", "strategy", "phase"),
		experimentInfo:      desc(ExperimentInfo, "Information about an Experiment.", "namespace", "name", "phase"),
		experimentPhase:     desc(ExperimentPhase, "Deprecated (use experiment_info): 1 for an Experiment's phase, 0 for the others.", "namespace", "name", "phase"),
		runInfo:             desc(AnalysisRunInfo, "Information about an AnalysisRun.", "namespace", "name", "phase"),
		runPhase:            desc(AnalysisRunPhase, "Deprecated (use analysis_run_info): 1 for an AnalysisRun's phase, 0 for the others.", "namespace", "name", "phase"),
		runMetricType:       desc(AnalysisRunMetricType, "The provider type of each metric of an AnalysisRun.", "namespace", "name", "metric", "type"),
		runMetricPhase:      desc(AnalysisRunMetricPhase, "1 for the phase of each metric of an AnalysisRun, 0 for the others.", "namespace", "name", "metric", "type", "dry_run", "phase"),
		templateInfo:        desc(AnalysisTemplateInfo, "Information about an AnalysisTemplate or ClusterAnalysisTemplate (namespace empty).", nn...),
		templateMetricInfo:  desc(AnalysisTemplateMetricInfo, "The metrics of an AnalysisTemplate or ClusterAnalysisTemplate, with their provider type.", "namespace", "name", "type", "metric"),
	}
}

func (c *objectCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.rolloutInfo, c.replicasAvailable, c.replicasUnavailable, c.replicasDesired, c.replicasUpdated,
		c.rolloutCreated, c.rolloutPhase, c.experimentInfo, c.experimentPhase,
		c.runInfo, c.runPhase, c.runMetricType, c.runMetricPhase, c.templateInfo, c.templateMetricInfo,
	} {
		ch <- d
	}
}

func (c *objectCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.ScrapeTimeout)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	list := func(l client.ObjectList, what string) bool {
		if err := c.opts.Reader.List(ctx, l); err != nil {
			c.opts.Log.Error(err, "metrics: list from the cache", "kind", what)
			return false
		}
		return true
	}

	var rollouts v1alpha1.RolloutList
	if list(&rollouts, "Rollout") {
		for i := range rollouts.Items {
			ro := &rollouts.Items[i]
			ns, name := ro.Namespace, ro.Name
			strategy, p := Strategy(ro), Phase(ro)
			gauge(c.rolloutInfo, 1, ns, name, strategy, TrafficRouter(ro), p)
			st := ro.Status
			gauge(c.replicasAvailable, float64(st.AvailableReplicas), ns, name)
			gauge(c.replicasUnavailable, float64(max(st.Replicas-st.AvailableReplicas, 0)), ns, name)
			gauge(c.replicasDesired, float64(ro.ReplicasOrDefault()), ns, name)
			gauge(c.replicasUpdated, float64(st.UpdatedReplicas), ns, name)
			gauge(c.rolloutCreated, float64(ro.CreationTimestamp.Unix()), ns, name)
			for _, v := range rolloutPhases {
				gauge(c.rolloutPhase, boolValue(v == p), ns, name, strategy, v)
			}
		}
	}
	if c.opts.Experiments {
		var exps v1alpha1.ExperimentList
		if list(&exps, "Experiment") {
			for _, ex := range exps.Items {
				p := orPending(ex.Status.Phase)
				gauge(c.experimentInfo, 1, ex.Namespace, ex.Name, string(p))
				for _, v := range analysisPhases {
					gauge(c.experimentPhase, boolValue(v == p), ex.Namespace, ex.Name, string(v))
				}
			}
		}
	}
	if !c.opts.AnalysisRuns {
		return
	}
	var runs v1alpha1.AnalysisRunList
	if list(&runs, "AnalysisRun") {
		for _, run := range runs.Items {
			c.collectRun(&run, gauge)
		}
	}
	var templates v1alpha1.AnalysisTemplateList
	if list(&templates, "AnalysisTemplate") {
		for _, t := range templates.Items {
			c.collectTemplate(t.Namespace, t.Name, t.Spec.Metrics, gauge)
		}
	}
	if c.opts.ClusterTemplates {
		var cluster v1alpha1.ClusterAnalysisTemplateList
		if list(&cluster, "ClusterAnalysisTemplate") {
			for _, t := range cluster.Items {
				c.collectTemplate("", t.Name, t.Spec.Metrics, gauge)
			}
		}
	}
}

func (c *objectCollector) collectRun(run *v1alpha1.AnalysisRun, gauge func(*prometheus.Desc, float64, ...string)) {
	ns, name := run.Namespace, run.Name
	p := orPending(run.Status.Phase)
	gauge(c.runInfo, 1, ns, name, string(p))
	for _, v := range analysisPhases {
		gauge(c.runPhase, boolValue(v == p), ns, name, string(v))
	}
	results := make(map[string]*v1alpha1.MetricResult, len(run.Status.MetricResults))
	for i := range run.Status.MetricResults {
		results[run.Status.MetricResults[i].Name] = &run.Status.MetricResults[i]
	}
	for _, m := range run.Spec.Metrics {
		t := MetricType(&m.Provider)
		gauge(c.runMetricType, 1, ns, name, m.Name, t)
		mp, dryRun := v1alpha1.AnalysisPhasePending, false
		if r := results[m.Name]; r != nil {
			mp, dryRun = orPending(r.Phase), r.DryRun
		}
		for _, v := range analysisPhases {
			gauge(c.runMetricPhase, boolValue(v == mp), ns, name, m.Name, t, strconv.FormatBool(dryRun), string(v))
		}
	}
}

func (c *objectCollector) collectTemplate(ns, name string, metrics []v1alpha1.Metric, gauge func(*prometheus.Desc, float64, ...string)) {
	gauge(c.templateInfo, 1, ns, name)
	for _, m := range metrics {
		gauge(c.templateMetricInfo, 1, ns, name, MetricType(&m.Provider), m.Name)
	}
}

func orPending(p v1alpha1.AnalysisPhase) v1alpha1.AnalysisPhase {
	if p == "" {
		return v1alpha1.AnalysisPhasePending
	}
	return p
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
