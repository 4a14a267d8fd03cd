// Package prometheus is the Prometheus metric provider: an instant or range
// query over Prometheus' HTTP API (client_golang's client, which POSTs and
// falls back to GET), with the result shaped as the reference's conditions
// expect: a scalar is a float64, a vector or matrix a []float64.
package prometheus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
)

const (
	// AddressEnv is the default address when a metric names none.
	AddressEnv = "ARGO_ROLLOUTS_PROMETHEUS_ADDRESS"
	// DefaultTimeout is the query timeout when the metric sets none.
	DefaultTimeout = 30 * time.Second
	// ResolvedQueryKey is the metric metadata key holding the query as run.
	ResolvedQueryKey = "ResolvedPrometheusQuery"
)

// Provider measures Prometheus metrics.
type Provider struct {
	provider.Synchronous
	// DefaultAddress is used by metrics without an address (the controller
	// reads it from $ARGO_ROLLOUTS_PROMETHEUS_ADDRESS).
	DefaultAddress string
}

// New returns the provider with a default address ("" for none).
func New(defaultAddress string) *Provider { return &Provider{DefaultAddress: defaultAddress} }

// Measure runs the query once.
func (p *Provider) Measure(ctx context.Context, req provider.Request) (provider.Result, error) {
	m := req.Metric.Provider.Prometheus
	if m == nil {
		return provider.Result{}, errors.New("metric has no prometheus provider")
	}
	meta := map[string]string{ResolvedQueryKey: m.Query}
	address := m.Address
	if address == "" {
		address = p.DefaultAddress
	}
	if address == "" {
		return provider.Result{MetricMetadata: meta}, errors.New("prometheus address is not configured")
	}
	if u, err := url.Parse(address); err != nil || u.Scheme == "" || u.Host == "" {
		// The reference's text, typo included.
		return provider.Result{MetricMetadata: meta}, errors.New("prometheus address is not is url format")
	}
	timeout := DefaultTimeout
	if m.Timeout != nil {
		if *m.Timeout < 0 {
			return provider.Result{MetricMetadata: meta}, fmt.Errorf("prometheus timeout should not be negative: %d", *m.Timeout)
		}
		if *m.Timeout > 0 {
			timeout = time.Duration(*m.Timeout) * time.Second
		}
	}
	rt, err := roundTripper(ctx, address, m)
	if err != nil {
		return provider.Result{MetricMetadata: meta}, err
	}
	client, err := promapi.NewClient(promapi.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return provider.Result{MetricMetadata: meta}, err
	}
	api := promv1.NewAPI(client)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var value model.Value
	var warnings promv1.Warnings
	if m.RangeQuery != nil {
		r, err := queryRange(m.RangeQuery, req.Now)
		if err != nil {
			return provider.Result{MetricMetadata: meta}, err
		}
		value, warnings, err = api.QueryRange(ctx, m.Query, r)
		if err != nil {
			return provider.Result{MetricMetadata: meta}, err
		}
	} else {
		value, warnings, err = api.Query(ctx, m.Query, req.Now)
		if err != nil {
			return provider.Result{MetricMetadata: meta}, err
		}
	}
	res, err := shape(value)
	if err != nil {
		return provider.Result{MetricMetadata: meta}, err
	}
	res.MetricMetadata = meta
	if len(warnings) > 0 {
		quoted := make([]string, 0, len(warnings))
		for _, w := range warnings {
			quoted = append(quoted, fmt.Sprintf("%q", w))
		}
		res.Metadata = map[string]string{"warnings": strings.Join(quoted, ", ")}
	}
	return res, nil
}

// shape turns a query result into the condition's `result` and the
// measurement's value.
func shape(v model.Value) (provider.Result, error) {
	switch v := v.(type) {
	case *model.Scalar:
		return provider.Result{Value: float64(v.Value), Text: v.Value.String()}, nil
	case model.Vector:
		values := make([]float64, 0, len(v))
		for _, s := range v {
			values = append(values, float64(s.Value))
		}
		return provider.Result{Value: values, Text: list(values)}, nil
	case model.Matrix:
		values := []float64{}
		for _, series := range v {
			for _, s := range series.Values {
				values = append(values, float64(s.Value))
			}
		}
		return provider.Result{Value: values, Text: list(values)}, nil
	}
	//lint:ignore ST1005 the reference's text
	return provider.Result{}, errors.New("Prometheus metric type not supported")
}

// list formats values as Prometheus does (0.95, NaN, +Inf) in brackets.
func list(values []float64) string {
	parts := make([]string, 0, len(values))
	for _, f := range values {
		parts = append(parts, model.SampleValue(f).String())
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// queryRange evaluates start and end (expr expressions returning a time,
// such as `now() - duration("5m")`) and parses step.
func queryRange(q *v1alpha1.PrometheusRangeQueryArgs, now time.Time) (promv1.Range, error) {
	env := map[string]any{"now": func() time.Time { return now }}
	eval := func(name, src string) (time.Time, error) {
		if src == "" {
			return now, nil
		}
		out, err := expr.Eval(src, env)
		if err != nil {
			return time.Time{}, fmt.Errorf("rangeQuery.%s %q: %w", name, src, err)
		}
		t, ok := out.(time.Time)
		if !ok {
			return time.Time{}, fmt.Errorf("rangeQuery.%s %q: expected a time, got %T", name, src, out)
		}
		return t, nil
	}
	start, err := eval("start", q.Start)
	if err != nil {
		return promv1.Range{}, err
	}
	end, err := eval("end", q.End)
	if err != nil {
		return promv1.Range{}, err
	}
	step, err := time.ParseDuration(q.Step)
	if err != nil {
		return promv1.Range{}, fmt.Errorf("rangeQuery.step %q: %w", q.Step, err)
	}
	return promv1.Range{Start: start, End: end, Step: step}, nil
}

// roundTripper sets the metric's headers and authentication on every
// request.
func roundTripper(ctx context.Context, address string, m *v1alpha1.PrometheusMetric) (http.RoundTripper, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if m.Insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	var rt http.RoundTripper = transport
	auth := m.Authentication
	if auth.Sigv4 != (v1alpha1.Sigv4Config{}) && strings.Contains(address, "aps-workspaces") {
		return nil, errors.New("sigv4 authentication (Amazon Managed Prometheus) is not supported by Switchyard")
	}
	if o := auth.OAuth2; o.TokenURL != "" {
		if o.ClientID == "" || o.ClientSecret == "" {
			return nil, errors.New("oauth2 authentication needs clientId and clientSecret")
		}
		cfg := clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenURL: o.TokenURL, Scopes: o.Scopes}
		rt = &oauth2.Transport{Source: cfg.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: transport})), Base: rt}
	}
	basic := auth.BasicAuth
	if (basic.Username == "") != (basic.Password == "") {
		return nil, errors.New("basicAuth needs both username and password")
	}
	return &headers{base: rt, headers: m.Headers, basic: basic}, nil
}

type headers struct {
	base    http.RoundTripper
	headers []v1alpha1.WebMetricHeader
	basic   v1alpha1.BasicAuth
}

func (h *headers) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if h.basic.Username != "" {
		req.SetBasicAuth(h.basic.Username, h.basic.Password)
	}
	for _, hd := range h.headers {
		req.Header.Set(hd.Key, hd.Value)
	}
	return h.base.RoundTrip(req)
}
