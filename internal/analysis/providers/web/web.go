// Package web is the web metric provider: it calls an HTTP endpoint and
// reads one value from the JSON answer with a client-go JSONPath.
package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"k8s.io/client-go/util/jsonpath"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
)

const (
	// DefaultTimeout applies when timeoutSeconds is unset or not positive.
	DefaultTimeout = 10 * time.Second
	// DefaultJSONPath selects the whole document.
	DefaultJSONPath = "{$}"
	// maxBody caps how much of an answer is read.
	maxBody = 10 << 20
)

// Provider measures web metrics.
type Provider struct {
	provider.Synchronous
}

// New returns the web provider.
func New() *Provider { return &Provider{} }

// Measure calls the endpoint once.
func (p *Provider) Measure(ctx context.Context, req provider.Request) (provider.Result, error) {
	m := req.Metric.Provider.Web
	if m == nil {
		return provider.Result{}, errors.New("metric has no web provider")
	}
	if m.URL == "" {
		return provider.Result{}, errors.New("web metric url is required")
	}
	method := m.Method
	if method == "" {
		method = v1alpha1.WebMetricMethodGet
	}
	var body io.Reader
	switch {
	case m.Body != "" && m.JSONBody != nil:
		return provider.Result{}, errors.New("use either Body or JSONBody; both cannot exists for WebMetric payload")
	case (m.Body != "" || m.JSONBody != nil) && method != v1alpha1.WebMetricMethodPost && method != v1alpha1.WebMetricMethodPut:
		return provider.Result{}, errors.New("Body/JSONBody can only be used with POST or PUT WebMetric Method types")
	case m.Body != "":
		body = bytes.NewBufferString(m.Body)
	case m.JSONBody != nil:
		body = bytes.NewReader(m.JSONBody.Raw)
	}
	timeout := DefaultTimeout
	if m.TimeoutSeconds > 0 {
		timeout = time.Duration(m.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	httpReq, err := http.NewRequestWithContext(ctx, string(method), m.URL, body)
	if err != nil {
		return provider.Result{}, err
	}
	if m.JSONBody != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	for _, h := range m.Headers {
		httpReq.Header.Set(h.Key, h.Value)
	}
	resp, err := client(ctx, m).Do(httpReq)
	if err != nil {
		return provider.Result{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return provider.Result{}, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return provider.Result{}, fmt.Errorf("received non 2xx response code: %d", resp.StatusCode)
	}
	return parse(data, m.JSONPath)
}

func client(ctx context.Context, m *v1alpha1.WebMetric) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if m.Insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	c := &http.Client{Transport: transport}
	if o := m.Authentication.OAuth2; o.TokenURL != "" {
		cfg := clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenURL: o.TokenURL, Scopes: o.Scopes}
		c = cfg.Client(context.WithValue(ctx, oauth2.HTTPClient, c))
	}
	return c
}

// parse picks the value: a body that is not JSON is the result as a
// string; otherwise the first JSONPath match, as generic JSON.
func parse(data []byte, path string) (provider.Result, error) {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return provider.Result{Value: string(data), Text: string(data)}, nil
	}
	if path == "" {
		path = DefaultJSONPath
	}
	jp := jsonpath.New("metric")
	if err := jp.Parse(path); err != nil {
		return provider.Result{}, fmt.Errorf("parse jsonPath %q: %w", path, err)
	}
	found, err := jp.FindResults(doc)
	if err != nil {
		//lint:ignore ST1005 the reference's text
		return provider.Result{}, fmt.Errorf("Could not find JSONPath in body: %w", err)
	}
	if len(found) == 0 || len(found[0]) == 0 {
		return provider.Result{}, errors.New("result of web metric produced no value")
	}
	v := found[0][0].Interface()
	text, err := json.Marshal(v)
	if err != nil {
		return provider.Result{}, err
	}
	return provider.Result{Value: v, Text: string(text)}, nil
}
