package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"text/tabwriter"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// The analysis phase: a fleet of canary Rollouts, each with one analysis
// step (a web metric measured -analysis-measurements times, 1 s apart,
// against an HTTP server of the bench), all updated at once. The
// controller's cost is divided by the measurements the server answered:
// CPU seconds and API requests per AnalysisRun measurement.

const (
	phaseAnalysis    = "analysis: image changed → analysis passed → Healthy"
	analysisTemplate = "bench-check"
	roleAnalysis     = "analysis"
)

type analysisResult struct {
	Rollouts int `json:"rollouts"`
	// MeasurementsPerRun is the metric's count; Measurements what the
	// bench's server answered during the phase, Runs the AnalysisRuns
	// that ended Successful.
	MeasurementsPerRun int `json:"measurementsPerRun"`
	Measurements       int `json:"measurements"`
	Runs               int `json:"runs"`
	timing
	Controller cost         `json:"controller"`
	Requests   requestStats `json:"requests"`
	// Per measurement and per run, the controller's CPU and API requests.
	CPUPerMeasurementMs  float64            `json:"cpuMsPerMeasurement"`
	RequestsPerMeasure   float64            `json:"requestsPerMeasurement"`
	RequestsPerRun       float64            `json:"requestsPerRun"`
	RequestsPerRunByVerb map[string]float64 `json:"requestsPerRunByVerbResource"`
}

// analysisCanary is a one-replica canary whose only step is the analysis.
func analysisCanary(ns, name, url string) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout"},
		ObjectMeta: objectMeta(ns, name, roleAnalysis),
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, roleAnalysis, image(1)),
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				MaxSurge:       ptr.To(intstr.FromInt32(1)),
				MaxUnavailable: ptr.To(intstr.FromInt32(0)),
				Steps: []v1alpha1.CanaryStep{{Analysis: &v1alpha1.RolloutAnalysis{
					Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: analysisTemplate}},
					Args:      []v1alpha1.AnalysisRunArgument{{Name: "url", Value: url}},
				}}},
			}},
		},
	}
}

// analysisFleet runs the analysis phase (skipped with -analysis-rollouts 0).
func (b *bench) analysisFleet(ctx context.Context) error {
	n, count := b.cfg.AnalysisRollouts, b.cfg.AnalysisMeasurements
	if n == 0 {
		return nil
	}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"healthy": true}`)
	}))
	defer srv.Close()

	b.openWindow("analysis: template and Rollouts created → Healthy")
	tmpl := &v1alpha1.AnalysisTemplate{
		ObjectMeta: objectMeta(b.ns, analysisTemplate, roleAnalysis),
		Spec: v1alpha1.AnalysisTemplateSpec{
			Args: []v1alpha1.Argument{{Name: "url"}},
			Metrics: []v1alpha1.Metric{{
				Name:             "healthy",
				Interval:         "1s",
				Count:            ptr.To(intstr.FromInt(count)),
				SuccessCondition: "result == true",
				Provider:         v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "{{args.url}}", JSONPath: "{$.healthy}"}},
			}},
		},
	}
	if err := b.cl.Create(ctx, tmpl); err != nil {
		return fmt.Errorf("create AnalysisTemplate: %w", err)
	}
	ros := names("an", n)
	_, _, err := b.runStep(ctx, step{
		name: "analysis fleet created", proto: &v1alpha1.Rollout{}, names: ros, count: n, desc: describeRollout,
		check: healthyOn(image(1)),
		write: func(ctx context.Context, i int) error {
			return b.cl.Create(ctx, analysisCanary(b.ns, ros[i], srv.URL))
		},
	})
	if err != nil {
		return err
	}
	if err := b.settle(ctx); err != nil {
		return err
	}

	b.openWindow(phaseAnalysis)
	before := calls.Load()
	img := image(2)
	t, _, err := b.runStep(ctx, step{
		name: phaseAnalysis, proto: &v1alpha1.Rollout{}, names: ros, count: n, desc: describeRollout,
		check: healthyOn(img),
		write: func(ctx context.Context, i int) error {
			return b.cl.Patch(ctx, rolloutRef(b.ns, ros[i]), imagePatch(img))
		},
	})
	if err != nil {
		return err
	}
	// Late requests (the runs' last status writes, events) belong here.
	if err := b.settle(ctx); err != nil {
		return err
	}
	measured := int(calls.Load() - before)
	var runs v1alpha1.AnalysisRunList
	if err := b.cl.List(ctx, &runs, client.InNamespace(b.ns)); err != nil {
		return fmt.Errorf("list AnalysisRuns: %w", err)
	}
	successful := 0
	for _, r := range runs.Items {
		if r.Status.Phase == v1alpha1.AnalysisPhaseSuccessful {
			successful++
		}
	}
	logf("%s: %d Rollouts, %d AnalysisRuns Successful, %d measurements, in %.2fs", phaseAnalysis, n, successful, measured, t.Seconds)
	b.res.Analysis = &analysisResult{Rollouts: n, MeasurementsPerRun: count, Measurements: measured, Runs: successful, timing: t}
	return nil
}

// fillAnalysis divides the phase's controller cost by its measurements.
func (r *results) fillAnalysis(b *bench, stats map[string]*requestStats) {
	a := r.Analysis
	if a == nil {
		return
	}
	a.Controller = b.costs[phaseAnalysis]
	if s := stats[phaseAnalysis]; s != nil {
		a.Requests = *s
	}
	if a.Measurements > 0 {
		a.CPUPerMeasurementMs = a.Controller.CPUSeconds * 1000 / float64(a.Measurements)
		a.RequestsPerMeasure = float64(a.Requests.Total) / float64(a.Measurements)
	}
	if a.Runs > 0 {
		a.RequestsPerRun = float64(a.Requests.Total) / float64(a.Runs)
		a.RequestsPerRunByVerb = map[string]float64{}
		for k, v := range a.Requests.ByVerb {
			a.RequestsPerRunByVerb[k] = float64(v) / float64(a.Runs)
		}
	}
}

func (r *results) printAnalysis(out io.Writer) {
	a := r.Analysis
	if a == nil {
		return
	}
	fmt.Fprintf(out, "\nANALYSIS (%d canary Rollouts, one analysis step each: a web metric measured %d times, 1 s apart, against the bench's server)\n",
		a.Rollouts, a.MeasurementsPerRun)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  all Healthy\tper Rollout p50/p95\truns Successful\tmeasurements\tctrl CPU\tctrl CPU/measurement\treq/measurement\treq/run\tpeak RSS")
	fmt.Fprintf(tw, "  %.2fs\t%.0f/%.0fms\t%d\t%d\t%.2fs\t%.2fms\t%.2f\t%.1f\t%.1f MiB\n",
		a.Seconds, a.PerObject.P50, a.PerObject.P95, a.Runs, a.Measurements, a.Controller.CPUSeconds,
		a.CPUPerMeasurementMs, a.RequestsPerMeasure, a.RequestsPerRun, a.Controller.PeakRSSMiB)
	tw.Flush()
	fmt.Fprintf(out, "  requests per run (Rollout and AnalysisRun controllers together, update included):\n")
	for _, k := range sortedKeys(a.RequestsPerRunByVerb) {
		fmt.Fprintf(tw, "    %s\t%.2f\n", k, a.RequestsPerRunByVerb[k])
	}
	tw.Flush()
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
