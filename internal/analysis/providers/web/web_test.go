package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
)

// seen is what the test server received.
type seen struct {
	mu      sync.Mutex
	method  string
	headers http.Header
	body    string
}

func (s *seen) get() (string, http.Header, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.method, s.headers, s.body
}

// server answers each path with a fixed status and body, and records the
// last request.
func server(t *testing.T, tls bool) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	mux := http.NewServeMux()
	record := func(r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.method, s.headers, s.body = r.Method, r.Header.Clone(), string(b)
		s.mu.Unlock()
	}
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		_, _ = io.WriteString(w, `{"status":"ok","rate":0.97,"pods":[{"name":"a","ready":true},{"name":"b","ready":false}]}`)
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		_, _ = io.WriteString(w, "all good")
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) { record(r) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		http.Error(w, "nope", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		<-r.Context().Done() // answers only when the client gives up
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "client_credentials" {
			http.Error(w, "bad grant", http.StatusBadRequest)
			return
		}
		id, secret, _ := r.BasicAuth()
		if id != "rollouts" || secret != "s3cret" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"tok-123","token_type":"bearer","expires_in":3600}`)
	})
	mux.HandleFunc("/protected", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(srv.Close)
	return srv, s
}

func measure(m *v1alpha1.WebMetric) (provider.Result, error) {
	return New().Measure(context.Background(), provider.Request{Metric: &v1alpha1.Metric{Name: "web", Provider: v1alpha1.MetricProvider{Web: m}}})
}

func TestWebMeasure(t *testing.T) {
	srv, _ := server(t, false)
	tests := []struct {
		name      string
		metric    v1alpha1.WebMetric
		wantValue any
		wantText  string
		wantErr   string
	}{
		{name: "whole document by default", metric: v1alpha1.WebMetric{URL: srv.URL + "/text"}, wantValue: "all good", wantText: "all good"},
		{name: "string field keeps its quotes in value", metric: v1alpha1.WebMetric{URL: srv.URL + "/status", JSONPath: "{$.status}"}, wantValue: "ok", wantText: `"ok"`},
		{name: "number", metric: v1alpha1.WebMetric{URL: srv.URL + "/status", JSONPath: "{$.rate}"}, wantValue: 0.97, wantText: "0.97"},
		{name: "filter", metric: v1alpha1.WebMetric{URL: srv.URL + "/status", JSONPath: "{$.pods[?(@.ready==false)].name}"}, wantValue: "b", wantText: `"b"`},
		{name: "object", metric: v1alpha1.WebMetric{URL: srv.URL + "/status", JSONPath: "{$.pods[0]}"}, wantValue: map[string]any{"name": "a", "ready": true}, wantText: `{"name":"a","ready":true}`},
		{name: "empty body is the empty string", metric: v1alpha1.WebMetric{URL: srv.URL + "/empty"}, wantValue: "", wantText: ""},
		{name: "no match", metric: v1alpha1.WebMetric{URL: srv.URL + "/status", JSONPath: "{$.missing}"}, wantErr: "Could not find JSONPath in body: missing is not found"},
		{name: "non-2xx", metric: v1alpha1.WebMetric{URL: srv.URL + "/down"}, wantErr: "received non 2xx response code: 503"},
		{name: "both bodies", metric: v1alpha1.WebMetric{URL: srv.URL + "/status", Method: "POST", Body: "x", JSONBody: &apiextensionsv1.JSON{Raw: []byte(`{}`)}}, wantErr: "use either Body or JSONBody; both cannot exists for WebMetric payload"},
		{name: "body with GET", metric: v1alpha1.WebMetric{URL: srv.URL + "/status", Body: "x"}, wantErr: "Body/JSONBody can only be used with POST or PUT WebMetric Method types"},
		{name: "no url", metric: v1alpha1.WebMetric{}, wantErr: "web metric url is required"},
		{name: "unreachable", metric: v1alpha1.WebMetric{URL: "http://127.0.0.1:1/x"}, wantErr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := measure(&tt.metric)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantValue, got.Value); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
			if got.Text != tt.wantText {
				t.Errorf("text %q, want %q", got.Text, tt.wantText)
			}
		})
	}
}

func TestWebRequest(t *testing.T) {
	srv, seen := server(t, false)
	t.Run("GET with headers in order, last one wins", func(t *testing.T) {
		_, err := measure(&v1alpha1.WebMetric{URL: srv.URL + "/status", Headers: []v1alpha1.WebMetricHeader{
			{Key: "X-Scope", Value: "canary"}, {Key: "Authorization", Value: "Bearer a"}, {Key: "Authorization", Value: "Bearer b"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		method, h, body := seen.get()
		if method != "GET" || h.Get("X-Scope") != "canary" || h.Values("Authorization")[0] != "Bearer b" || len(h.Values("Authorization")) != 1 || body != "" {
			t.Errorf("method %s headers %v body %q", method, h, body)
		}
	})
	t.Run("POST body", func(t *testing.T) {
		if _, err := measure(&v1alpha1.WebMetric{URL: srv.URL + "/status", Method: "POST", Body: "service=checkout"}); err != nil {
			t.Fatal(err)
		}
		method, h, body := seen.get()
		if method != "POST" || body != "service=checkout" || h.Get("Content-Type") == "application/json" {
			t.Errorf("method %s body %q content-type %q", method, body, h.Get("Content-Type"))
		}
	})
	t.Run("PUT jsonBody", func(t *testing.T) {
		if _, err := measure(&v1alpha1.WebMetric{URL: srv.URL + "/status", Method: "PUT", JSONBody: &apiextensionsv1.JSON{Raw: []byte(`{"service":"checkout","depth":2}`)}}); err != nil {
			t.Fatal(err)
		}
		method, h, body := seen.get()
		var got map[string]any
		if err := json.Unmarshal([]byte(body), &got); err != nil || got["service"] != "checkout" {
			t.Errorf("body %q: %v", body, err)
		}
		if method != "PUT" || h.Get("Content-Type") != "application/json" {
			t.Errorf("method %s content-type %q", method, h.Get("Content-Type"))
		}
	})
	t.Run("timeout", func(t *testing.T) {
		_, err := measure(&v1alpha1.WebMetric{URL: srv.URL + "/slow", TimeoutSeconds: 1})
		if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
			t.Errorf("error %v, want a deadline", err)
		}
	})
	t.Run("oauth2 client credentials", func(t *testing.T) {
		m := &v1alpha1.WebMetric{URL: srv.URL + "/protected", JSONPath: "{$.ok}"}
		m.Authentication.OAuth2 = v1alpha1.OAuth2Config{TokenURL: srv.URL + "/token", ClientID: "rollouts", ClientSecret: "s3cret"}
		got, err := measure(m)
		if err != nil || got.Value != true {
			t.Fatalf("got %v, %v", got.Value, err)
		}
		m.Authentication.OAuth2.ClientSecret = "wrong"
		if _, err := measure(m); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("bad client secret: %v", err)
		}
	})
}

func TestWebInsecureTLS(t *testing.T) {
	srv, _ := server(t, true)
	_, err := measure(&v1alpha1.WebMetric{URL: srv.URL + "/status", JSONPath: "{$.status}"})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an unknown certificate must be refused: %v", err)
	}
	got, err := measure(&v1alpha1.WebMetric{URL: srv.URL + "/status", JSONPath: "{$.status}", Insecure: true})
	if err != nil || got.Value != "ok" {
		t.Fatalf("insecure: %v, %v", got.Value, err)
	}
}

// TestWebWithConditions: the provider's result shapes are what the
// reference's conditions expect.
func TestWebWithConditions(t *testing.T) {
	srv, _ := server(t, false)
	for path, cond := range map[string]string{
		"{$.status}": `result == "ok"`,
		"{$.rate}":   "result >= 0.95",
		"{$}":        `result.status == "ok" && len(result.pods) == 2 && any(result.pods, {!.ready})`,
	} {
		got, err := measure(&v1alpha1.WebMetric{URL: srv.URL + "/status", JSONPath: path})
		if err != nil {
			t.Fatal(err)
		}
		if phase, err := analysis.EvaluateConditions(got.Value, cond, ""); phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Errorf("%s with %s: %s %v", path, cond, phase, err)
		}
	}
}
