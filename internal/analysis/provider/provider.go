// Package provider is the contract between the AnalysisRun controller and
// the metric providers (internal/analysis/providers/...): the controller
// decides when to measure and judges results; a provider only talks to its
// metric source.
package provider

import (
	"context"
	"time"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Request is one measurement to take, continue or stop.
type Request struct {
	// Run is the AnalysisRun; providers read its name, namespace and UID.
	Run *v1alpha1.AnalysisRun
	// Metric has its {{args.*}} resolved, secrets included.
	Metric *v1alpha1.Metric
	// InFlight is the unfinished measurement to continue or stop; nil when
	// a new measurement starts.
	InFlight *v1alpha1.Measurement
	// Index numbers the measurements of a metric from 1.
	Index int32
	// Now is the controller's clock at the start of the pass.
	Now time.Time
}

// Result is what a provider observed.
type Result struct {
	// Value is what the metric's conditions see as `result`.
	Value any
	// Text is written to measurement.value.
	Text string
	// Metadata is written to measurement.metadata; MetricMetadata to the
	// metric result's metadata.
	Metadata       map[string]string
	MetricMetadata map[string]string
	// Phase, when set, is the provider's own verdict (a Job's outcome);
	// the metric's conditions are then not evaluated.
	Phase   v1alpha1.AnalysisPhase
	Message string
	// ResumeAt, when set, means the measurement is still in flight: the
	// controller calls Measure again (with InFlight) at that time.
	ResumeAt time.Time
}

// Provider measures metrics of one provider type. Errors become Error
// measurements whose message is the error text.
type Provider interface {
	// Measure takes a measurement, starts one (returning ResumeAt), or
	// continues the in-flight one.
	Measure(ctx context.Context, req Request) (Result, error)
	// Terminate stops an in-flight measurement because the run ends.
	Terminate(ctx context.Context, req Request) (Result, error)
	// GarbageCollect removes what the provider created for measurements of
	// metric beyond the newest keep.
	GarbageCollect(ctx context.Context, run *v1alpha1.AnalysisRun, metric string, keep int) error
}

// Synchronous is embedded by providers whose measurements finish within
// Measure: there is never anything to stop or collect.
type Synchronous struct{}

// Terminate has nothing to stop.
func (Synchronous) Terminate(context.Context, Request) (Result, error) {
	return Result{Phase: v1alpha1.AnalysisPhaseSuccessful}, nil
}

// GarbageCollect has nothing to collect.
func (Synchronous) GarbageCollect(context.Context, *v1alpha1.AnalysisRun, string, int) error {
	return nil
}

// Type names of the providers, as the keys of a metric's provider block.
const (
	Prometheus = "prometheus"
	Web        = "web"
	Job        = "job"
)

// TypeOf returns the key of each provider block set on p, in the order of
// the API's fields.
func TypeOf(p *v1alpha1.MetricProvider) []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{Prometheus, p.Prometheus != nil},
		{"kayenta", p.Kayenta != nil},
		{Web, p.Web != nil},
		{"datadog", p.Datadog != nil},
		{"wavefront", p.Wavefront != nil},
		{"newRelic", p.NewRelic != nil},
		{Job, p.Job != nil},
		{"cloudWatch", p.CloudWatch != nil},
		{"graphite", p.Graphite != nil},
		{"influxdb", p.Influxdb != nil},
		{"skywalking", p.SkyWalking != nil},
		{"plugin", p.Plugin != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}
